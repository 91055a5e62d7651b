package telegram

import (
	"fmt"
	"testing"
)

// A batch is ordered by priority, then id, but each chat keeps its own
// requests in id order: a later reply may overtake a bulk message to
// another chat, never one to its own.
func TestInJobOrder(t *testing.T) {
	batch := []*slotRequest{
		{chat: "a", job: 1, priority: 2},
		{chat: "b", job: 2, priority: 2},
		{chat: "c", job: 3, priority: 1},
		{chat: "a", job: 4, priority: 1},
		{chat: "", job: 5, priority: 1},
		{chat: "", job: 0, priority: 0},
	}
	inJobOrder(batch)
	var got []int64
	for _, r := range batch {
		got = append(got, r.job)
	}
	// By priority then id: 0, 3, 4, 5, 1, 2. Chat a holds places 2 and 4
	// (of 0..5), which take its jobs in id order: 1, then 4.
	if want := "[0 3 1 5 4 2]"; fmt.Sprint(got) != want {
		t.Errorf("order %v, want %s", got, want)
	}
}
