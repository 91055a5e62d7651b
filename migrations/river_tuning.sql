-- Settings on River's tables, applied after River's migrations by every
-- `gatekey migrate` (they are idempotent). River's migrations make these
-- tables; this file only tunes them.

-- River indexes every job's args and metadata with GIN, for finding jobs
-- by them. New entries go to a pending list, and the statement that finds
-- the list over gin_pending_list_limit merges all of it into the index
-- before it returns. At the default 4 MB that merge took up to 240 ms in
-- the webhook benchmark, every few seconds, and an update whose reply was
-- being queued (or a batch of replies being fetched or completed) waited
-- as long. A 256 kB list is merged sixteen times as often, in a sixteenth
-- of the time. (Without a pending list, each job's entries cost more to
-- put in place than the merges do: the insert took twice as long.)
ALTER INDEX river_job_args_index SET (gin_pending_list_limit = 256);
ALTER INDEX river_job_metadata_index SET (gin_pending_list_limit = 256);
