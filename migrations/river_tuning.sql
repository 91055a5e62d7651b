-- Settings on River's tables, applied after River's migrations by every
-- `gatekey migrate` (they are idempotent). River's migrations make these
-- tables; this file only tunes them. IF EXISTS: should a River upgrade
-- rename an index, a deploy goes on without the setting rather than stop
-- (migrations_test.go fails on that upgrade, so it is seen).

-- River indexes every job's args and metadata with GIN, for finding jobs
-- by them. New entries go to a pending list, and the statement that finds
-- the list over gin_pending_list_limit merges all of it into the index
-- before it returns. At the default 4 MB, a River statement took up to
-- 202–216 ms in the webhook benchmark's open loop (430 updates/s), and an
-- update whose reply it was queueing waited as long. With 256 kB lists the
-- slowest took 29–31 ms, and the mean times did not change. (With no
-- pending list at all, the job insert took about twice as long.)
ALTER INDEX IF EXISTS river_job_args_index SET (gin_pending_list_limit = 256);
ALTER INDEX IF EXISTS river_job_metadata_index SET (gin_pending_list_limit = 256);
