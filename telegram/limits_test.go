package telegram_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatekey/gatekey/internal/pgtest"
	"github.com/gatekey/gatekey/telegram"
	"github.com/gatekey/gatekey/tenant"
)

func newLimiter(t *testing.T) *telegram.Limiter {
	db, err := tenant.Open(context.Background(), pgtest.NewDatabase(t), 40)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return telegram.NewLimiter(db.Pool())
}

// maxInWindow is the most events within any window-long span.
func maxInWindow(times []time.Time, window time.Duration) int {
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	best, lo := 0, 0
	for hi := range times {
		for times[hi].Sub(times[lo]) >= window {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

// waitUntilSent waits for a slot as a worker does, coming back when told
// it is too soon, until it may send.
func waitUntilSent(ctx context.Context, l *telegram.Limiter, botID, chatID int64) error {
	for {
		err := l.Wait(ctx, botID, chatID)
		var soon *telegram.TooSoonError
		if !errors.As(err, &soon) {
			return err
		}
		time.Sleep(soon.Wait - telegram.MaxWait/2)
	}
}

// sendTimes runs workers goroutines that each send perWorker messages,
// waiting for each with waitFor(w, i), and returns when each was let go.
func sendTimes(t *testing.T, workers, perWorker int, waitFor func(w, i int) error) []time.Time {
	t.Helper()
	var mu sync.Mutex
	var sent []time.Time
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				if err := waitFor(w, i); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				sent = append(sent, time.Now())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return sent
}

func TestLimiterSpacesABotsMessagesAcrossWorkers(t *testing.T) {
	l := newLimiter(t)
	// 32 workers, 96 messages to different chats of one bot: only the bot limit applies.
	sent := sendTimes(t, 32, 3, func(w, i int) error {
		return waitUntilSent(context.Background(), l, 1, int64(w*100+i))
	})
	if n := maxInWindow(sent, time.Second); n > 30 {
		t.Errorf("%d messages within one second, want at most 30", n)
	}
	if n := maxInWindow(sent, time.Second); n < 20 {
		t.Errorf("only %d messages within the busiest second: the limiter is far too slow", n)
	}
}

func TestLimiterHoldsOneChatToOneMessageASecond(t *testing.T) {
	l := newLimiter(t)
	ctx := context.Background()
	start := time.Now()
	for range 3 {
		if err := l.Wait(ctx, 7, 42); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Errorf("3 messages to one chat took %s, want at least 2s", took)
	}
	// Four more at once: the next slot is a chat's interval away, and the
	// one after it further than MaxWait, so one is sent and three are told
	// to come back, taking nothing.
	answers := make(chan error, 4)
	for range 4 {
		go func() { answers <- l.Wait(ctx, 7, 42) }()
	}
	sent, tooSoon := 0, 0
	for range 4 {
		err := <-answers
		var soon *telegram.TooSoonError
		switch {
		case errors.As(err, &soon):
			tooSoon++
			if soon.Wait <= telegram.MaxWait {
				t.Errorf("TooSoonError with wait %s, want more than %s", soon.Wait, telegram.MaxWait)
			}
		case err != nil:
			t.Fatal(err)
		default:
			sent++
		}
	}
	if sent != 1 || tooSoon != 3 {
		t.Errorf("%d sent and %d told to come back, want 1 and 3", sent, tooSoon)
	}
}

// Three first messages to a new chat at the same moment: its row is made
// once, two messages go at least a chat's interval apart, and the third,
// whose slot would be further away than MaxWait, is told to come back.
func TestLimiterSpacesFirstMessagesToANewChat(t *testing.T) {
	l := newLimiter(t)
	ctx := context.Background()
	var mu sync.Mutex
	var sent []time.Time
	tooSoon := 0
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := l.Wait(ctx, 13, 77)
			mu.Lock()
			defer mu.Unlock()
			var soon *telegram.TooSoonError
			switch {
			case errors.As(err, &soon):
				tooSoon++
			case err != nil:
				t.Error(err)
			default:
				sent = append(sent, time.Now())
			}
		}()
	}
	wg.Wait()
	if len(sent) != 2 || tooSoon != 1 {
		t.Fatalf("%d sent and %d told to come back, want 2 and 1", len(sent), tooSoon)
	}
	sort.Slice(sent, func(i, j int) bool { return sent[i].Before(sent[j]) })
	if gap := sent[1].Sub(sent[0]); gap < telegram.ChatInterval-telegram.LateTolerance {
		t.Errorf("two messages to one new chat %s apart, want at least %s", gap, telegram.ChatInterval)
	}
}

// Messages with no chat (chatID 0) count against the bot's limit alone,
// both for the bot's first message (its row is made) and afterwards.
func TestLimiterSpacesMessagesWithoutAChat(t *testing.T) {
	l := newLimiter(t)
	ctx := context.Background()
	start := time.Now()
	for range 26 {
		if err := l.Wait(ctx, 11, 0); err != nil {
			t.Fatal(err)
		}
	}
	if took, want := time.Since(start), 25*telegram.BotInterval; took < want {
		t.Errorf("26 messages of one bot took %s, want at least %s", took, want)
	}
}

// Forgetting idle keys deletes only those idle for longer than asked, and
// a forgotten key's next message is limited as before.
func TestLimiterForgetsIdleKeys(t *testing.T) {
	l := newLimiter(t)
	ctx := context.Background()
	for _, bot := range []int64{1, 2} {
		if err := l.Wait(ctx, bot, 100+bot); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := l.Forget(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("forgot %d recent keys (%v), want none", n, err)
	}
	// A chat's next slot is ChatInterval after its message.
	time.Sleep(telegram.ChatInterval + 200*time.Millisecond)
	if n, err := l.Forget(ctx, 100*time.Millisecond); err != nil || n != 4 {
		t.Fatalf("forgot %d idle keys (%v), want the 2 bots' and 2 chats'", n, err)
	}
	start := time.Now()
	for range 2 {
		if err := l.Wait(ctx, 1, 101); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took < telegram.ChatInterval {
		t.Errorf("two messages to a forgotten chat took %s, want at least %s", took, telegram.ChatInterval)
	}
}

// Two processes (two Limiters on one database) sending for one bot share
// its limit: together they stay within 30 messages a second.
func TestLimiterSpacesABotsMessagesAcrossProcesses(t *testing.T) {
	url := pgtest.NewDatabase(t)
	var limiters []*telegram.Limiter
	for range 2 {
		db, err := tenant.Open(context.Background(), url, 20)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		limiters = append(limiters, telegram.NewLimiter(db.Pool()))
	}
	sent := sendTimes(t, 40, 2, func(w, i int) error {
		return waitUntilSent(context.Background(), limiters[w%2], 5, int64(w*10+i))
	})
	if len(sent) != 80 {
		t.Fatalf("%d messages sent, want 80", len(sent))
	}
	if n := maxInWindow(sent, time.Second); n > 30 {
		t.Errorf("%d messages within one second, want at most 30", n)
	}
}

// When the database fails, every waiting message is told so, and none is
// let through.
func TestLimiterReportsADatabaseFailure(t *testing.T) {
	db, err := tenant.Open(context.Background(), pgtest.NewDatabase(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	l := telegram.NewLimiter(db.Pool())
	if err := l.Wait(context.Background(), 1, 2); err != nil {
		t.Fatal(err)
	}
	db.Close()
	errs := make(chan error, 8)
	for i := range 8 {
		go func() { errs <- l.Wait(context.Background(), 1, int64(10+i)) }()
	}
	for range 8 {
		if err := <-errs; err == nil || !strings.Contains(err.Error(), "telegram: rate limit") {
			t.Errorf("Wait with the database closed: %v, want a rate limit error", err)
		}
	}
}

// BenchmarkLimiterWait is one message's slot, with no limit to wait for:
// the cost of asking. Sequential is a lone worker (a batch of one each
// time); parallel is many workers at once, whose requests share batches.
func BenchmarkLimiterWait(b *testing.B) {
	db, err := tenant.Open(context.Background(), pgtest.NewDatabase(b), 40)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	l := telegram.NewLimiterWith(db.Pool(), 0, 0)
	ctx := context.Background()
	b.Run("sequential", func(b *testing.B) {
		for b.Loop() {
			if err := l.Wait(ctx, 1, 2); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(32) // 64 workers on 2 cores
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			chat := next.Add(1)
			for pb.Next() {
				if err := l.Wait(ctx, 1, chat); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// More requests at once than one batch holds (300 bots' first messages):
// every one is answered, the last ones in a batch of their own.
func TestLimiterAnswersMoreRequestsThanOneBatchHolds(t *testing.T) {
	l := newLimiter(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errs := make(chan error, 300)
	for bot := range 300 {
		go func() { errs <- l.Wait(ctx, int64(1000+bot), 1) }()
	}
	for range 300 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// Requests that arrive together take their slots in job order, whatever
// order they arrive in: River starts the jobs it fetched together at once,
// and Go runs the goroutine started last first. Here the later job of a
// chat asks first; the earlier one, asking a moment after, still gets the
// first slot.
func TestLimiterLetsAChatsJobsGoInJobOrder(t *testing.T) {
	db, err := tenant.Open(context.Background(), pgtest.NewDatabase(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	l := telegram.NewLimiterWith(db.Pool(), time.Millisecond, 300*time.Millisecond)
	telegram.SetGather(l, 100*time.Millisecond) // 5 ms, under -race on a loaded machine, can split the pair
	ctx := context.Background()
	for round := range 5 {
		chat := int64(500 + round)
		first, later := int64(10*round+1), int64(10*round+2)
		order := make(chan int64, 2)
		go func() {
			if err := l.WaitTurn(ctx, telegram.Turn{Job: later}, 9, chat); err != nil {
				t.Error(err)
			}
			order <- later
		}()
		time.Sleep(time.Millisecond)
		go func() {
			if err := l.WaitTurn(ctx, telegram.Turn{Job: first}, 9, chat); err != nil {
				t.Error(err)
			}
			order <- first
		}()
		if got := <-order; got != first {
			t.Errorf("round %d: job %d went first, want job %d", round, got, first)
		}
		<-order
	}
}

// A message told to come back keeps its chat's turn: a later job's
// message to the chat, whose slot would be near, is told to come back too,
// and the first goes out first when it returns.
func TestLimiterKeepsTheTurnOfAMessageToldToComeBack(t *testing.T) {
	db, err := tenant.Open(context.Background(), pgtest.NewDatabase(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	// A chat interval just past MaxWait: the second message is told to
	// come back, and a third asking a moment later would find its slot
	// within MaxWait, ahead of the second's return.
	l := telegram.NewLimiterWith(db.Pool(), time.Millisecond, telegram.MaxWait+100*time.Millisecond)
	ctx := context.Background()
	var soon *telegram.TooSoonError
	if err := l.WaitTurn(ctx, telegram.Turn{Job: 1}, 9, 42); err != nil {
		t.Fatal(err)
	}
	if err := l.WaitTurn(ctx, telegram.Turn{Job: 2}, 9, 42); !errors.As(err, &soon) {
		t.Fatalf("second message: %v, want to come back later", err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := l.WaitTurn(ctx, telegram.Turn{Job: 3}, 9, 42); !errors.As(err, &soon) {
		t.Fatalf("third message, while the second holds the turn: %v, want to come back later", err)
	}
	if soon.Wait <= telegram.MaxWait {
		t.Errorf("third message told to come back in %s, want more than %s", soon.Wait, telegram.MaxWait)
	}
	if err := l.WaitTurn(ctx, telegram.Turn{Job: 2}, 9, 42); err != nil {
		t.Errorf("second message, back: %v, want its slot", err)
	}
	// Another chat of the bot is not held up.
	if err := l.WaitTurn(ctx, telegram.Turn{Job: 4}, 9, 43); err != nil {
		t.Errorf("a message to another chat: %v", err)
	}
}

// Every message told to come back keeps its place, not only the first:
// once the first of them is sent, the second still goes before a later
// job's message whose slot would be near. (With one held turn per chat,
// the flaky TestOneMembersRepliesKeepTheirOrder sent a member's third and
// fourth confirmations swapped: both had been told to come back behind
// the second, and the fourth came back first.)
func TestLimiterKeepsThePlacesOfEveryMessageToldToComeBack(t *testing.T) {
	db, err := tenant.Open(context.Background(), pgtest.NewDatabase(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	// Chat slots 1.5 s apart, so the third message, two slots ahead, is
	// past MaxWait, and the fourth queues behind it.
	const chatInterval = 1500 * time.Millisecond
	l := telegram.NewLimiterWith(db.Pool(), time.Millisecond, chatInterval)
	ctx := context.Background()
	var soon *telegram.TooSoonError
	if err := l.WaitTurn(ctx, telegram.Turn{Job: 1}, 9, 42); err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() { second <- l.WaitTurn(ctx, telegram.Turn{Job: 2}, 9, 42) }()
	time.Sleep(100 * time.Millisecond) // the second takes its slot, 1.5 s away
	for job := int64(3); job <= 4; job++ {
		if err := l.WaitTurn(ctx, telegram.Turn{Job: job}, 9, 42); !errors.As(err, &soon) {
			t.Fatalf("message %d, two slots ahead: %v, want to come back later", job, err)
		}
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if err := l.WaitTurn(ctx, telegram.Turn{Job: 3}, 9, 42); err != nil {
		t.Fatalf("third message, back: %v, want its slot", err)
	}
	// The fourth has not come back yet; the fifth's slot is 1.5 s away.
	if err := l.WaitTurn(ctx, telegram.Turn{Job: 5}, 9, 42); !errors.As(err, &soon) {
		t.Fatalf("fifth message, while the fourth is still to come back: %v, want to come back later", err)
	}
	if err := l.WaitTurn(ctx, telegram.Turn{Job: 4}, 9, 42); err != nil {
		t.Errorf("fourth message, back: %v, want its slot", err)
	}
}
