-- A chat's turn kept for a message told to come back later (telegram/
-- limits.go): held_by is the job whose message is next in that chat, and
-- held_until that message's slot. Until it comes back (or the hold lapses)
-- later jobs' messages to the chat wait too, so a chat's messages go out
-- in the order they were queued. The table is UNLOGGED: what it loses in
-- a crash is a few seconds' order and spacing.
ALTER TABLE telegram_rate
  ADD COLUMN held_by bigint NOT NULL DEFAULT 0,
  ADD COLUMN held_until timestamptz NOT NULL DEFAULT 'epoch';
