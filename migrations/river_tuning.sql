-- Changes to River's tables, applied after River's migrations by every
-- `gatekey migrate` (they are idempotent). River's migrations make these
-- tables; this file only tunes them. IF EXISTS: should a River upgrade
-- rename an index, a deploy goes on rather than stop (migrations_test.go
-- fails on that upgrade, so it is seen).

-- River indexes every job's args and metadata with GIN, for finding jobs
-- by their contents (River UI's search). Gatekey never searches them: the
-- ops API filters jobs by args->>'tenant_id', which GIN cannot serve. Yet
-- every job paid for them three times, at insert, when it was fetched and
-- when it completed, and all inserters queue on each index's pending
-- list. In the webhook benchmark's closed loop (two cores, workers on),
-- four runs with them alternated with four without: without was ahead in
-- three pairs, 1,472–1,649 updates/s against 1,319–1,451 (the fourth:
-- 1,415 against 1,589), PostgreSQL's CPU per update 676–762 µs against
-- 789–861; at 920 updates/s, p99 23 and 33 ms against 32 and 42. River's
-- reindexer is told to skip them (jobs.ReindexedIndexes). A River
-- migration that made them again would see them dropped at the next
-- migrate.
DROP INDEX IF EXISTS river_job_args_index, river_job_metadata_index;
