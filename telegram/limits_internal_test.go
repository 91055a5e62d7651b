package telegram

import (
	"testing"
	"time"
)

// A held turn lapses holdSlack past its slot, so a job that never comes
// back (cancelled meanwhile) holds its chat up for no longer.
func TestHeldTurnLapses(t *testing.T) {
	l := &Limiter{bot: time.Millisecond, chat: time.Second}
	now := time.Now()
	held := func() map[string]*keyState {
		return map[string]*keyState{
			"b:1":   {tat: now},
			"c:1:2": {tat: now, heldBy: 5, heldUntil: now.Add(-holdSlack + time.Second)},
		}
	}
	later := []*slotRequest{{bot: "b:1", chat: "c:1:2", job: 6}}
	if a := l.assignSlots(later, held(), now)[0]; !a.tooSoon {
		t.Errorf("job 6 while job 5 holds the turn: %+v, want told to come back", a)
	}
	earlier := []*slotRequest{{bot: "b:1", chat: "c:1:2", job: 4}}
	if a := l.assignSlots(earlier, held(), now)[0]; a.tooSoon || a.wait != 0 {
		t.Errorf("job 4, before the holder: %+v, want its slot now", a)
	}
	state := held()
	if a := l.assignSlots(later, state, now.Add(2*time.Second))[0]; a.tooSoon {
		t.Errorf("job 6 once the hold has lapsed: %+v, want its slot", a)
	}
	if state["c:1:2"].heldBy != 0 {
		t.Errorf("a lapsed hold was kept: held by %d", state["c:1:2"].heldBy)
	}
}
