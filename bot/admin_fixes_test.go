package bot_test

import (
	"strings"
	"testing"

	"github.com/gatekey/gatekey/telegram/telegramtest"
)

// toast has u tap the button labelled label on m and returns the short
// notice the tap was answered with.
func (w world) toast(t *testing.T, u telegramtest.User, m telegramtest.Message, label string) string {
	t.Helper()
	data := buttonData(t, m, label)
	before := len(w.Fake.CallsTo("answerCallbackQuery"))
	if status, err := w.Fake.PressButton(w.demo.Bot.TelegramID, u.ID, m.MessageID, data); err != nil || status != 200 {
		t.Fatalf("tap %q: %d %v", label, status, err)
	}
	w.Wait(t, "the answer to "+label, func() bool { return len(w.Fake.CallsTo("answerCallbackQuery")) > before })
	w.Idle(t)
	calls := w.Fake.CallsTo("answerCallbackQuery")
	text, _ := calls[len(calls)-1].Params["text"].(string)
	return text
}

// unchanged reports whether message m still stands as it was.
func (w world) unchanged(u telegramtest.User, m telegramtest.Message) bool {
	cur := w.current(u, m.MessageID)
	return cur.Text == m.Text && sameKeyboard(cur, m)
}

// TestAnOldCancelLeavesANewerFlowAlone: the Cancel under an answered
// auto-delete prompt does not cancel a /newcode draft opened since.
func TestAnOldCancelLeavesANewerFlowAlone(t *testing.T) {
	w := ownerWorld(t)
	menu := w.send(t, w.owner, "/members", "Admin menu")
	screen := w.steps(t, menu, "Settings", "Auto-delete unused codes", "Change auto-delete", "Delete codes nobody has used")
	prompt := w.tap(t, w.owner, screen, "Type a number", "Send the number of days")
	w.send(t, w.owner, "3", "Saved: unused codes are deleted 3 days after")
	prompt = w.current(w.owner, prompt.MessageID)

	w.newCode(t, "Type a number", "Send the number of activations")
	if text := w.toast(t, w.owner, prompt, "Cancel"); !strings.Contains(text, "That step is over") {
		t.Errorf("the old Cancel answered %q", text)
	}
	if !w.unchanged(w.owner, prompt) {
		t.Errorf("the old prompt was changed to %q", w.current(w.owner, prompt.MessageID).Text)
	}
	w.send(t, w.owner, "5", askExpiry) // the draft is still open

	// The Cancel of the prompt open now still cancels it, also after a
	// wrong answer asked the question again.
	members := w.send(t, w.owner, "/members", "Admin menu")
	find := w.steps(t, members, "Members", "Find a member", "Find a member", "Send the member's @username")
	w.send(t, w.owner, "@nobody_here", "No one who has had access")
	w.tap(t, w.owner, find, "Cancel", "Cancelled.")
	if n := w.Count(t, "SELECT count(*) FROM conversations"); n != 0 {
		t.Errorf("%d conversations open after Cancel", n)
	}
	w.answeredAll(t)
}
