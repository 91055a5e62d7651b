package telegram

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatekey/gatekey/internal/pgtx"
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
// the next free time of its keys (the generic cell rate algorithm), moved
// on under a row lock. Several processes therefore never exceed the limit
// together, whatever their number.
//
// A process takes its workers' slots in batches: the requests that arrive
// while one batch is with the database go together in the next, in one
// transaction. Under load that is one transaction for tens of messages
// instead of one each (BenchmarkLimiterWait/parallel, 64 workers: 14–15
// µs a message). A lone request waits for company (gather, 5 ms) and then
// takes three round trips where a plain statement takes one (BEGIN with
// the lock, the update, COMMIT): 6.1–6.4 ms in BenchmarkLimiterWait/
// sequential, which is little beside the Bot API call that follows it.
type Limiter struct {
	pool      *pgxpool.Pool
	bot, chat time.Duration
	gather    time.Duration // see gather; tests of the order lengthen it

	mu      sync.Mutex
	queue   []*slotRequest // waiting for the next batch
	running bool           // a goroutine is taking batches
}

// slotRequest asks for one message's slot.
type slotRequest struct {
	bot, chat string // keys; chat is "" for a message to no chat
	job       int64  // the sending job's id, which orders requests that arrive together (0: none)
	priority  int    // the sending job's priority (1 first), which orders them before the id
	done      chan slotAnswer
}

// slotAnswer is how long until the slot, or, with tooSoon, until the
// caller should come back, no slot taken.
type slotAnswer struct {
	wait    time.Duration
	tooSoon bool
	err     error
}

// maxBatch bounds the requests taken in one transaction (a process runs
// 256 Telegram jobs at once by default, so this is rarely reached).
const maxBatch = 256

// gather is how long the first request to an idle limiter waits for others
// to join its batch. Jobs that River fetches together start at once, but
// not in order: Go runs the goroutine started last first. Without the
// wait, the last of a chat's messages could take the first slot alone,
// and the earlier ones the slots after it; gathered, a batch's requests
// take their slots in job order. It delays a message by no more than this
// when the limiter was idle, which nobody reading it can tell.
const gather = 5 * time.Millisecond

// NewLimiter uses pool's telegram_rate table to space each bot's messages
// by BotInterval and each chat's by ChatInterval.
func NewLimiter(pool *pgxpool.Pool) *Limiter { return NewLimiterWith(pool, BotInterval, ChatInterval) }

// NewLimiterWith spaces messages by other intervals (tests that are not
// about the limits use short ones, to run fast).
func NewLimiterWith(pool *pgxpool.Pool, bot, chat time.Duration) *Limiter {
	return &Limiter{pool: pool, bot: bot, chat: chat, gather: gather}
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

// TooSoonError says a slot is further away than MaxWait, or that an
// earlier message to the chat is still to come back: come back in about
// Wait.
type TooSoonError struct{ Wait time.Duration }

func (e *TooSoonError) Error() string { return fmt.Sprintf("telegram: next send slot in %s", e.Wait) }

// Wait takes a slot for one message from botID to chatID (0: no chat
// limit) and sleeps until it. If the slot is more than MaxWait away it
// takes nothing and returns *TooSoonError, so the caller can come back.
func (l *Limiter) Wait(ctx context.Context, botID, chatID int64) error {
	return l.WaitTurn(ctx, Turn{}, botID, chatID)
}

// Turn is the job a message is sent for: its River id and priority.
type Turn struct {
	Job      int64
	Priority int
}

// WaitTurn is Wait for the message that a job sends. Requests that arrive
// together take their slots in job order (inJobOrder), and a message told
// to come back keeps its place in its chat until it does (assignSlots), so
// a chat's messages, queued one after another, go out in that order.
func (l *Limiter) WaitTurn(ctx context.Context, turn Turn, botID, chatID int64) error {
	if l == nil {
		return nil
	}
	r := slotRequest{bot: fmt.Sprintf("b:%d", botID), job: turn.Job, priority: turn.Priority}
	if chatID != 0 {
		r.chat = fmt.Sprintf("c:%d:%d", botID, chatID)
	}
	for range 5 {
		slot, err := l.take(ctx, r)
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

// take queues the request for the next batch, and returns its slot's time
// or *TooSoonError. A caller that gives up (ctx) may still have its slot
// taken: one slot wasted, which only spaces later messages a little more.
func (l *Limiter) take(ctx context.Context, r slotRequest) (time.Time, error) {
	r.done = make(chan slotAnswer, 1)
	l.mu.Lock()
	l.queue = append(l.queue, &r)
	if !l.running {
		l.running = true
		go l.takeBatches()
	}
	l.mu.Unlock()
	select {
	case a := <-r.done:
		if a.err != nil {
			return time.Time{}, a.err
		}
		if a.tooSoon {
			return time.Time{}, &TooSoonError{Wait: max(a.wait, MaxWait)}
		}
		return time.Now().Add(a.wait), nil
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	}
}

// takeBatches answers the queued requests, a batch at a time, until none
// are left. Each batch's requests are taken in job order.
func (l *Limiter) takeBatches() {
	time.Sleep(l.gather)
	for {
		l.mu.Lock()
		batch := l.queue
		if len(batch) > maxBatch {
			batch = batch[:maxBatch:maxBatch]
		}
		l.queue = l.queue[len(batch):]
		if len(batch) == 0 {
			l.queue, l.running = nil, false
			l.mu.Unlock()
			return
		}
		inJobOrder(batch)
		l.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		waits, err := l.takeSlots(ctx, batch)
		cancel()
		if err != nil {
			err = fmt.Errorf("telegram: rate limit: %w", err)
		}
		for i, r := range batch {
			a := slotAnswer{err: err}
			if err == nil {
				a = waits[i]
			}
			r.done <- a
		}
	}
}

// inJobOrder orders a batch as River orders jobs: by priority, then by
// id, so that a reply to someone talking to the bot takes a slot before
// the end-of-access messages of a bulk removal gathered with it. A chat's
// own requests still go in id order, into the places the chat holds: a
// chat's messages go out as they were queued, whatever their priority.
func inJobOrder(batch []*slotRequest) {
	slices.SortStableFunc(batch, func(a, b *slotRequest) int {
		return cmp.Or(cmp.Compare(a.priority, b.priority), cmp.Compare(a.job, b.job))
	})
	places := map[string][]int{}
	for i, r := range batch {
		if r.chat != "" {
			places[r.chat] = append(places[r.chat], i)
		}
	}
	for _, at := range places {
		if len(at) < 2 {
			continue
		}
		chat := make([]*slotRequest, len(at))
		for k, i := range at {
			chat[k] = batch[i]
		}
		slices.SortStableFunc(chat, func(a, b *slotRequest) int { return cmp.Compare(a.job, b.job) })
		for k, i := range at {
			batch[i] = chat[k]
		}
	}
}

// batchTimeout bounds one batch's time with the database.
const batchTimeout = 10 * time.Second

// takeSlots takes the batch's slots, making the rows of keys that have
// none (a bot's or a chat's first message) first.
func (l *Limiter) takeSlots(ctx context.Context, batch []*slotRequest) ([]slotAnswer, error) {
	keys := batchKeys(batch)
	for range 2 {
		waits, missing, err := l.takeKnownSlots(ctx, batch, keys)
		if err != nil || len(missing) == 0 {
			return waits, err
		}
		if _, err := l.pool.Exec(ctx, addKeys, missing); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("a key's row vanished as it was made")
}

// batchKeys is the batch's keys, each once, in order: the order their rows
// are locked in, so that two processes' batches never deadlock.
func batchKeys(batch []*slotRequest) []string {
	keys := make([]string, 0, 2*len(batch))
	for _, r := range batch {
		keys = append(keys, r.bot)
		if r.chat != "" {
			keys = append(keys, r.chat)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// keyState is a key's row: its next free time and, for a chat, the jobs
// whose messages were told to come back, which keep their places in it.
type keyState struct {
	tat     time.Time
	waiting []waiter // in job order
}

// waiter is a job whose message to a chat was told to come back, and when
// it is expected back. Until it has its slot, later jobs' messages to the
// chat are told to come back after it.
type waiter struct {
	Job   int64     `json:"job"`
	Until time.Time `json:"until"`
}

// holdSlack is how long past its expected return a waiting job keeps its
// place (River runs a snoozed job a little late; a job cancelled
// meanwhile never comes back), before later ones go ahead.
const holdSlack = 10 * time.Second

// maxWaiting bounds a chat's queue of waiting jobs. A private chat rarely
// holds more than a few; past the bound a job is still told to come back,
// only without a place kept.
const maxWaiting = 64

// takeKnownSlots locks the keys' rows, gives each request its slot
// (assignSlots) and stores the keys' new state, in one transaction, whose
// BEGIN travels with the lock (pgtx): three round trips. If some keys have
// no row it takes nothing and returns them.
func (l *Limiter) takeKnownSlots(ctx context.Context, batch []*slotRequest, keys []string) (answers []slotAnswer, missing []string, err error) {
	state := make(map[string]*keyState, len(keys))
	var now time.Time
	var lock pgx.Batch
	lock.Queue("SELECT key, tat, waiting, now() FROM telegram_rate WHERE key = ANY($1) ORDER BY key FOR UPDATE", keys).
		Query(func(rows pgx.Rows) error {
			var key string
			var k keyState
			_, err := pgx.ForEachRow(rows, []any{&key, &k.tat, &k.waiting, &now}, func() error {
				state[key] = &keyState{tat: k.tat, waiting: k.waiting}
				return nil
			})
			return err
		})
	err = pgtx.BatchFunc(ctx, l.pool, &lock, func(tx pgx.Tx) error {
		if len(state) < len(keys) {
			for _, k := range keys {
				if _, ok := state[k]; !ok {
					missing = append(missing, k)
				}
			}
			return nil // nothing taken; the locks go with the transaction
		}
		answers = l.assignSlots(batch, state, now)
		tats, waiting := make([]time.Time, len(keys)), make([][]waiter, len(keys))
		for i, k := range keys {
			tats[i], waiting[i] = state[k].tat, state[k].waiting
			if waiting[i] == nil {
				waiting[i] = []waiter{} // stored as [], not null
			}
		}
		_, err := tx.Exec(ctx, `UPDATE telegram_rate r SET tat = v.tat, waiting = v.waiting
			FROM unnest($1::text[], $2::timestamptz[], $3::jsonb[]) AS v(key, tat, waiting)
			WHERE r.key = v.key AND (r.tat, r.waiting) IS DISTINCT FROM (v.tat, v.waiting)`,
			keys, tats, waiting)
		return err
	})
	return answers, missing, err
}

// assignSlots gives each request, in turn (the batch is in job order), the
// first time free on all its keys (now at the earliest), and moves those
// keys' next free times on by their intervals. A request whose slot is
// more than MaxWait away takes nothing and is told to come back; and so
// that a message coming back keeps its place in its chat, its job joins
// the chat's queue of waiting jobs: a later job's message to the chat is
// told to come back after them, even when its slot would be near, until
// they have their slots (or lapse, holdSlack past their expected return).
// state holds every key's row, and is updated.
func (l *Limiter) assignSlots(batch []*slotRequest, state map[string]*keyState, now time.Time) []slotAnswer {
	answers := make([]slotAnswer, len(batch))
	for i, r := range batch {
		var chat *keyState
		if r.chat != "" {
			chat = state[r.chat]
			chat.dropLapsed(now)
		}
		if back, ok := chat.aheadOf(r.job); ok {
			wait := max(back.Sub(now), 0) + l.chat
			answers[i] = slotAnswer{wait: wait, tooSoon: true}
			chat.queue(r.job, now.Add(wait))
			continue
		}
		at := laterOf(now, state[r.bot].tat)
		if chat != nil {
			at = laterOf(at, chat.tat)
		}
		if wait := at.Sub(now); wait > MaxWait {
			answers[i] = slotAnswer{wait: wait, tooSoon: true}
			chat.queue(r.job, at)
			continue
		}
		answers[i] = slotAnswer{wait: at.Sub(now)}
		state[r.bot].tat = at.Add(l.bot)
		if chat != nil {
			chat.tat = at.Add(l.chat)
			chat.leave(r.job)
		}
	}
	return answers
}

// dropLapsed forgets the waiting jobs that did not come back in time.
func (k *keyState) dropLapsed(now time.Time) {
	k.waiting = slices.DeleteFunc(k.waiting, func(w waiter) bool { return now.After(w.Until.Add(holdSlack)) })
}

// aheadOf reports whether jobs before job wait for their slots in the
// chat, and when the last of them is expected back. A message sent for no
// job (0) waits for nobody.
func (k *keyState) aheadOf(job int64) (back time.Time, ok bool) {
	if k == nil || job == 0 {
		return time.Time{}, false
	}
	for _, w := range k.waiting {
		if w.Job >= job {
			break
		}
		back, ok = laterOf(back, w.Until), true
	}
	return back, ok
}

// queue keeps job's place in the chat, expected back at until.
func (k *keyState) queue(job int64, until time.Time) {
	if k == nil || job == 0 {
		return
	}
	i, found := slices.BinarySearchFunc(k.waiting, job, func(w waiter, job int64) int { return cmp.Compare(w.Job, job) })
	switch {
	case found:
		k.waiting[i].Until = until
	case len(k.waiting) < maxWaiting:
		k.waiting = slices.Insert(k.waiting, i, waiter{Job: job, Until: until})
	}
}

// leave takes job out of the chat's queue: its message has its slot.
func (k *keyState) leave(job int64) {
	k.waiting = slices.DeleteFunc(k.waiting, func(w waiter) bool { return w.Job == job })
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
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

// addKeys makes the rows of keys that have none, free at once, in key
// order. Two processes' first messages to one new chat at the same moment
// both run it (the second waits for the first's row, then does nothing)
// and then take their slots through the row locks, one after the other.
const addKeys = `INSERT INTO telegram_rate (key, tat) SELECT k, now() FROM unnest($1::text[]) AS k ORDER BY k ON CONFLICT DO NOTHING`
