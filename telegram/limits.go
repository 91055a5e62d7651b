package telegram

import (
	"context"
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
	err := l.pool.QueryRow(ctx, takeSlots, keys, intervals, MaxWait).Scan(&wait)
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

// takeSlots calls the migration's gatekey_take_slots: one round trip.
const takeSlots = `SELECT gatekey_take_slots($1::text[], $2::interval[], $3::interval)`
