-- A chat's turn becomes a queue (telegram/limits.go): waiting holds every
-- job whose message to the chat was told to come back, in job order, each
-- with the time it is expected back ({"job": 7, "until": "…"}). One held
-- turn per chat kept only the first such message's place; the others could
-- come back in any order. The table is UNLOGGED, so nothing is carried over.
ALTER TABLE telegram_rate
  DROP COLUMN held_by,
  DROP COLUMN held_until,
  ADD COLUMN waiting jsonb NOT NULL DEFAULT '[]';
