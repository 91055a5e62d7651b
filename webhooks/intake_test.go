package webhooks

import (
	"context"
	"testing"
	"time"
)

func TestIntakeBoundsEachBotAlone(t *testing.T) {
	var in intake
	ctx := context.Background()
	var releases []func()
	for range PerBotConcurrency {
		r, ok := in.acquire(ctx, 1, PerBotConcurrency)
		if !ok {
			t.Fatal("a bot under its limit was refused")
		}
		releases = append(releases, r)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, ok := in.acquire(short, 1, PerBotConcurrency); ok {
		t.Fatal("a bot over its limit got a slot")
	}
	// Another bot is not held up by the busy one.
	r2, ok := in.acquire(ctx, 2, PerBotConcurrency)
	if !ok {
		t.Fatal("a quiet bot was refused while another was at its limit")
	}
	r2()
	// A waiting update gets the slot the moment one is released.
	got := make(chan bool)
	go func() {
		r, ok := in.acquire(ctx, 1, PerBotConcurrency)
		if ok {
			r()
		}
		got <- ok
	}()
	time.Sleep(20 * time.Millisecond)
	releases[0]()
	if !<-got {
		t.Fatal("a waiting update did not get the released slot")
	}
	for _, r := range releases[1:] {
		r()
	}
	if n := len(in.bots); n != 0 {
		t.Errorf("%d bots still tracked with nothing in flight", n)
	}
}

func TestIntakeHoldsEachBotToItsRate(t *testing.T) {
	var in intake
	in.next = map[int64]time.Time{}
	now := time.Now()
	taken := 0
	for range 2 * PerBotBurst {
		if in.takeRate(1, now) {
			taken++
		}
	}
	if taken < PerBotBurst || taken > PerBotBurst+1 {
		t.Errorf("a burst at one instant took %d updates, want the burst of %d", taken, PerBotBurst)
	}
	if !in.takeRate(2, now) {
		t.Error("another bot was refused while the first was over its rate")
	}
	// A second later the bot has its rate again.
	if !in.takeRate(1, now.Add(time.Second)) {
		t.Error("the bot was still refused a second later")
	}
}
