-- The rate limiter takes its send slots in batches, in Go under row locks
-- (telegram/limits.go), and no longer calls gatekey_take_slots, which did
-- one slot per call. Nothing else uses it.
DROP FUNCTION IF EXISTS gatekey_take_slots(text[], interval[], interval);
