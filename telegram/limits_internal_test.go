package telegram

import (
	"testing"
	"time"
)

// A waiting job keeps its place holdSlack past its expected return, so a
// job that never comes back (cancelled meanwhile) holds its chat up for no
// longer.
func TestWaitingPlaceLapses(t *testing.T) {
	l := &Limiter{bot: time.Millisecond, chat: time.Second}
	now := time.Now()
	waiting := func() map[string]*keyState {
		return map[string]*keyState{
			"b:1":   {tat: now},
			"c:1:2": {tat: now, waiting: []waiter{{Job: 5, Until: now.Add(-holdSlack + time.Second)}}},
		}
	}
	later := []*slotRequest{{bot: "b:1", chat: "c:1:2", job: 6}}
	state := waiting()
	if a := l.assignSlots(later, state, now)[0]; !a.tooSoon {
		t.Errorf("job 6 while job 5 waits: %+v, want told to come back", a)
	}
	if w := state["c:1:2"].waiting; len(w) != 2 || w[1].Job != 6 || !w[1].Until.After(w[0].Until) {
		t.Errorf("job 6 told to come back: queue %+v, want it after job 5, expected back later", w)
	}
	earlier := []*slotRequest{{bot: "b:1", chat: "c:1:2", job: 4}}
	if a := l.assignSlots(earlier, waiting(), now)[0]; a.tooSoon || a.wait != 0 {
		t.Errorf("job 4, before the waiting job: %+v, want its slot now", a)
	}
	unqueued := []*slotRequest{{bot: "b:1", chat: "c:1:2"}}
	if a := l.assignSlots(unqueued, waiting(), now)[0]; a.tooSoon {
		t.Errorf("a message for no job: %+v, want its slot now", a)
	}
	state = waiting()
	if a := l.assignSlots(later, state, now.Add(2*time.Second))[0]; a.tooSoon {
		t.Errorf("job 6 once job 5's place has lapsed: %+v, want its slot", a)
	}
	if w := state["c:1:2"].waiting; len(w) != 0 {
		t.Errorf("a lapsed place was kept: %+v", w)
	}
}
