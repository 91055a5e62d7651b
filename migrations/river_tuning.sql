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
-- list. In the webhook benchmark (two cores, workers on, six paired runs)
-- dropping both took the closed loop from 1,319–1,451 to 1,472–1,649
-- updates/s, PostgreSQL's CPU per update from 789–861 to 676–762 µs, and
-- p99 at 920/s from 32–42 to 23–33 ms. River's reindexer is told to skip
-- them (jobs.NewClient). A River migration that made them again would
-- see them dropped at the next migrate.
DROP INDEX IF EXISTS river_job_args_index, river_job_metadata_index;
