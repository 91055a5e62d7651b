package telegram

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Telegram's limits on sending, kept with a margin: the limiter spaces
// messages, and a message reaches Telegram a little later than its slot
// (the worker wakes late, the request takes time), so slots are spaced
// wider than the limit: a send may arrive up to 200 ms late and no second
// holds more than 30 of one bot's messages.
const (
	BotInterval  = time.Second / 25      // at most 30 messages a second per bot, kept to 25
	ChatInterval = time.Second * 11 / 10 // at most 1 message a second per chat
	// LateTolerance is how late a worker may wake for its slot and still
	// use it. A worker the scheduler kept waiting longer takes a new slot
	// instead, so late messages never bunch up with punctual ones.
	LateTolerance = 50 * time.Millisecond
	// MaxWait is how far ahead a worker may reserve a slot and sleep for
	// it; past that the job is put back (snoozed) to free the worker.
	MaxWait = 2 * time.Second
)

// Limiter hands out send slots. Its state is in PostgreSQL, so every
// worker of every process shares one count per bot and per chat: a slot is
// taken by one UPDATE, which moves the key's next free time (the generic
// cell rate algorithm). Several processes therefore never exceed the limit
// together, whatever their number.
type Limiter struct {
	pool      *pgxpool.Pool
	bot, chat time.Duration
}

// NewLimiter uses pool's telegram_rate table to space each bot's messages
// by BotInterval and each chat's by ChatInterval.
func NewLimiter(pool *pgxpool.Pool) *Limiter { return NewLimiterWith(pool, BotInterval, ChatInterval) }

// NewLimiterWith spaces messages by other intervals (tests that are not
// about the limits use short ones, to run fast).
func NewLimiterWith(pool *pgxpool.Pool, bot, chat time.Duration) *Limiter {
	return &Limiter{pool: pool, bot: bot, chat: chat}
}

// Forget deletes the state of keys idle for longer than idle, so the table
// keeps the bots and chats messaged lately, not every one ever messaged.
// A key whose next free slot has passed limits nothing, so forgetting it
// changes no limit; its next message only takes the first-message path.
func (l *Limiter) Forget(ctx context.Context, idle time.Duration) (int64, error) {
	if l == nil {
		return 0, nil
	}
	tag, err := l.pool.Exec(ctx, "DELETE FROM telegram_rate WHERE tat < now() - $1::interval", idle)
	if err != nil {
		return 0, fmt.Errorf("telegram: forget idle send slots: %w", err)
	}
	return tag.RowsAffected(), nil
}

// TooSoonError says a slot is further away than MaxWait.
type TooSoonError struct{ Wait time.Duration }

func (e *TooSoonError) Error() string { return fmt.Sprintf("telegram: next send slot in %s", e.Wait) }

// Wait takes a slot for one message from botID to chatID (0: no chat
// limit) and sleeps until it. If the slot is more than MaxWait away it
// takes nothing and returns *TooSoonError, so the caller can come back.
func (l *Limiter) Wait(ctx context.Context, botID, chatID int64) error {
	if l == nil {
		return nil
	}
	keys := []string{fmt.Sprintf("b:%d", botID)}
	intervals := []time.Duration{l.bot}
	if chatID != 0 {
		keys = append(keys, fmt.Sprintf("c:%d:%d", botID, chatID))
		intervals = append(intervals, l.chat)
	}
	for range 5 {
		slot, err := l.take(ctx, keys, intervals)
		if err != nil {
			return err
		}
		if err := sleepUntil(ctx, slot); err != nil {
			return err
		}
		if time.Since(slot) <= LateTolerance {
			return nil
		}
	}
	return &TooSoonError{Wait: MaxWait} // the process is too busy to keep time
}

// take reserves the slot and returns its time, or *TooSoonError.
func (l *Limiter) take(ctx context.Context, keys []string, intervals []time.Duration) (time.Time, error) {
	var wait time.Duration
	var all bool
	botKey, chatKey, chatInterval := keys[0], (*string)(nil), time.Duration(0)
	if len(keys) > 1 {
		chatKey, chatInterval = &keys[1], intervals[1]
	}
	err := l.pool.QueryRow(ctx, takeKnownSlots, botKey, chatKey, intervals[0], chatInterval, MaxWait).Scan(&wait, &all)
	if err == nil && !all { // a key's first message: make its row, then take as usual
		if _, err = l.pool.Exec(ctx, addKeys, keys); err == nil {
			err = l.pool.QueryRow(ctx, takeKnownSlots, botKey, chatKey, intervals[0], chatInterval, MaxWait).Scan(&wait, &all)
		}
		if err == nil && !all {
			err = errors.New("a key's row vanished as it was made")
		}
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("telegram: rate limit: %w", err)
	}
	if wait > MaxWait {
		return time.Time{}, &TooSoonError{Wait: wait}
	}
	return time.Now().Add(wait), nil
}

func sleepUntil(ctx context.Context, at time.Time) error {
	d := time.Until(at)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// takeKnownSlots takes a slot when the keys have their rows, which is
// nearly always: it locks the rows in key order, takes the latest of their
// next free times, and moves the bot's ($1) and the chat's ($2, NULL for
// none) on by their intervals ($3, $4), all or none, and none when the
// slot is more than $5 away. The keys are separate parameters rather than
// an array so that the cached plan expects two rows, and is reused.
// The second column is false when a key has no row yet: then nothing was
// reserved, and addKeys makes the rows.
const takeKnownSlots = `WITH locked AS (
		SELECT tat FROM telegram_rate WHERE key IN ($1, $2) ORDER BY key FOR UPDATE
	), slot AS (
		SELECT greatest(max(tat), now()) AS at, count(*) = CASE WHEN $2::text IS NULL THEN 1 ELSE 2 END AS all_keys
		FROM locked
	), taken AS (
		UPDATE telegram_rate r SET tat = slot.at + CASE WHEN r.key = $1 THEN $3::interval ELSE $4::interval END
		FROM slot WHERE r.key IN ($1, $2) AND slot.all_keys AND slot.at - now() <= $5::interval
	)
	SELECT slot.at - now(), slot.all_keys FROM slot`

// addKeys makes the rows of keys that have none, free at once, in key
// order. Two first messages to one new chat at the same moment both run
// it (the second waits for the first's row, then does nothing) and then
// both take their slot through the row locks, one after the other.
// (Migration 003's gatekey_take_slots, no longer called, did this in one
// round trip but cost PostgreSQL more: 410 µs a call, against 145 µs for
// addKeys and the second takeKnownSlots, under the webhook benchmark.)
const addKeys = `INSERT INTO telegram_rate (key, tat) SELECT k, now() FROM unnest($1::text[]) AS k ORDER BY k ON CONFLICT DO NOTHING`
