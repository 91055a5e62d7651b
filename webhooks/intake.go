package webhooks

import (
	"context"
	"sync"
	"time"
)

// Per-bot intake limits. Telegram already delivers at most
// max_connections (20) of one bot's updates at once; this keeps one busy
// or flooding bot from holding more than a few of the process's database
// connections, so every other bot's updates keep moving. An update over
// the limit waits briefly for a turn, then is answered 429, and Telegram
// delivers it again later.
const (
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
		in.bots = map[int64]*botTurns{}
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
