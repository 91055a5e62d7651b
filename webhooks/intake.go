package webhooks

import (
	"context"
	"sync"
	"time"
)

// Per-bot intake limits. Telegram already delivers at most
// max_connections (20) of one bot's updates at once; this keeps one busy
// or flooding bot from holding more than a few of the process's database
// connections, and from taking more than its share of the CPU, so every
// other bot's updates keep moving. An update over the rate is answered 429
// at once; one over the concurrency waits briefly for a turn, then is
// answered 429; Telegram delivers either again later.
const (
	// PerBotRate is how many of one bot's updates a process takes a
	// second, with bursts of PerBotBurst: about what one bot can answer
	// (Telegram lets a bot send some 30 messages a second). Taking more
	// would only queue replies, and the queue's churn costs every bot;
	// Telegram keeps the rest and delivers them again.
	PerBotRate  = 30
	PerBotBurst = 50
	// PerBotConcurrency is how many of one bot's updates a process handles at once.
	PerBotConcurrency = 2
	// IntakeWait is how long an update waits for its bot's turn.
	IntakeWait = 2 * time.Second
)

// intake is a counting semaphore per bot, made when a bot's update
// arrives and dropped when the bot has none in flight, so unknown or idle
// bots cost nothing.
type intake struct {
	mu   sync.Mutex
	bots map[int64]*botTurns
	// next is when each bot's next update is due at PerBotRate (the
	// generic cell rate algorithm); bots idle for a second are forgotten.
	next      map[int64]time.Time
	lastPrune time.Time
}

type botTurns struct {
	slots chan struct{}
	refs  int // updates holding or awaiting a slot
}

// acquire waits up to IntakeWait for one of the bot's slots. ok false
// means the bot is over its limit (or ctx ended); release must be called
// only when ok.
func (in *intake) acquire(ctx context.Context, botID int64, limit int) (release func(), ok bool) {
	in.mu.Lock()
	if in.bots == nil {
		in.bots, in.next = map[int64]*botTurns{}, map[int64]time.Time{}
	}
	if !in.takeRate(botID, time.Now()) {
		in.mu.Unlock()
		return nil, false
	}
	t := in.bots[botID]
	if t == nil {
		t = &botTurns{slots: make(chan struct{}, limit)}
		in.bots[botID] = t
	}
	t.refs++
	in.mu.Unlock()

	timer := time.NewTimer(IntakeWait)
	defer timer.Stop()
	select {
	case t.slots <- struct{}{}:
		return func() { <-t.slots; in.unref(botID, t) }, true
	case <-timer.C:
	case <-ctx.Done():
	}
	in.unref(botID, t)
	return nil, false
}

func (in *intake) unref(botID int64, t *botTurns) {
	in.mu.Lock()
	t.refs--
	if t.refs == 0 {
		delete(in.bots, botID)
	}
	in.mu.Unlock()
}

// takeRate counts one update against the bot's rate; false means it is
// over. Called with mu held.
func (in *intake) takeRate(botID int64, now time.Time) bool {
	const interval = time.Second / PerBotRate
	if now.Sub(in.lastPrune) > time.Second {
		for id, t := range in.next {
			if now.Sub(t) > time.Second {
				delete(in.next, id)
			}
		}
		in.lastPrune = now
	}
	next := in.next[botID]
	if next.Before(now) {
		next = now
	}
	if next.Sub(now) > PerBotBurst*interval {
		return false
	}
	in.next[botID] = next.Add(interval)
	return true
}
