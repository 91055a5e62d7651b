package bot_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatekey/gatekey/telegram/telegramtest"
)

func TestNewCodeFlowSurvivesARestart(t *testing.T) {
	w := ownerWorld(t)
	screen := w.newCode(t, "10", askExpiry)

	w.Restart(t) // the draft lives in PostgreSQL only

	screen = w.steps(t, screen, "In 7 days", askCount, "Type a number", "Send how many codes", "type:3", askConfirm)
	if !strings.Contains(screen.Text, "up to 10 activations per code") || !strings.Contains(screen.Text, "How many: 3 codes") {
		t.Errorf("the summary after the restart lost earlier answers: %q", screen.Text)
	}
	w.tap(t, w.owner, screen, "Create 3 codes", "Done: 3 codes")
	rows := csvCodes(t, w.expect(t, w.owner, 0, "3 access codes for Demo membership"))
	if len(rows) != 3 {
		t.Fatalf("the CSV has %d codes, want 3", len(rows))
	}
	if n := w.Count(t, `SELECT count(*) FROM access_codes WHERE max_activations = 10
		AND expires_at BETWEEN now() + interval '6 days 23 hours' AND now() + interval '7 days'`); n != 3 {
		t.Errorf("%d codes with 10 activations expiring in 7 days, want 3", n)
	}
	// A member activates one through the new server.
	u := w.Fake.AddUser("After", "after")
	w.send(t, u, "/start "+payload(t, rows[0][1], w.demo.Bot.Username), "Code accepted")
	w.answeredAll(t)
}

// flowStep is a way into one step of /newcode, with the screen it shows.
type flowStep struct {
	name  string
	pairs []string // after choosing the plan
	want  string
}

func TestCancelLeavesNewCodeFromEveryStep(t *testing.T) {
	w := ownerWorld(t)
	// Priced by default, so that the pricing question is asked too.
	if _, err := w.Owner(t).Exec(context.Background(), "UPDATE tenants SET zero_price_default = false"); err != nil {
		t.Fatal(err)
	}
	steps := []flowStep{
		{"plan", nil, askPlan},
		{"max", []string{}, askMax},
		{"max typed", []string{"Type a number", "Send the number"}, "Send the number"},
		{"expiry", []string{"1", askExpiry}, askExpiry},
		{"expiry typed", []string{"1", askExpiry, "Type a date", "Send the last day"}, "Send the last day"},
		{"count", []string{"1", askExpiry, "No expiry", askCount}, askCount},
		{"count typed", []string{"1", askExpiry, "No expiry", askCount, "Type a number", "Send how many"}, "Send how many"},
		{"price", []string{"1", askExpiry, "No expiry", askCount, "Just one", askPrice}, askPrice},
		{"confirm", []string{"1", askExpiry, "No expiry", askCount, "Just one", askPrice, "Zero-priced", askConfirm}, askConfirm},
	}
	for i, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			var screen telegramtest.Message
			if s.pairs == nil {
				screen = w.send(t, w.owner, "/newcode", askPlan)
			} else {
				screen = w.newCode(t, s.pairs...)
			}
			if !strings.Contains(screen.Text, s.want) {
				t.Fatalf("at %s: %q", s.name, screen.Text)
			}
			if i%2 == 0 {
				w.send(t, w.owner, "/cancel", "Cancelled.")
			} else {
				w.tap(t, w.owner, screen, "Cancel", "Cancelled: no code was created")
			}
			if n := w.Count(t, "SELECT count(*) FROM conversations"); n != 0 {
				t.Errorf("the flow is still open after cancelling at %s", s.name)
			}
			// What was typed next is not taken as an answer, and the old
			// buttons no longer move the draft.
			if reply := w.say(t, w.owner, "7"); !strings.Contains(reply.Text, "Send /start to see what this bot offers") {
				t.Errorf("after cancelling at %s, typing 7: %q", s.name, reply.Text)
			}
			if i%2 == 0 {
				old := w.current(w.owner, screen.MessageID)
				if text := w.toast(t, w.owner, old, "Cancel"); !strings.Contains(text, "This code draft is closed") || !w.unchanged(w.owner, old) {
					t.Errorf("a Cancel of a closed draft: toast %q, message now %q", text, w.current(w.owner, old.MessageID).Text)
				}
			}
		})
	}
	if n := w.Count(t, "SELECT count(*) FROM access_codes"); n != 0 {
		t.Errorf("%d codes created by cancelled flows", n)
	}
	w.answeredAll(t)
}

func TestTypedAnswersAreCheckedAndReasked(t *testing.T) {
	w := ownerWorld(t)
	screen := w.newCode(t, "Type a number", "Send the number of activations")
	for typed, want := range map[string]string{
		"lots":                    `"lots" is not a whole number`,
		"0":                       "must be from 1 to 1,000,000",
		"-3":                      "must be from 1 to",
		"2.5":                     "is not a whole number",
		"1,5":                     `"1,5" is not a whole number. Please send a number from 1 to 1,000,000`,
		"12,34":                   "is not a whole number",
		"1,0000":                  "is not a whole number",
		"1000,000":                "is not a whole number",
		"1,000 000":               "is not a whole number",
		"1000001":                 "must be from 1 to 1,000,000",
		"1,000,001":               "must be from 1 to 1,000,000",
		"99999999999999999999999": "must be from 1 to 1,000,000",
	} {
		reply := w.send(t, w.owner, typed, want)
		if !strings.Contains(reply.Text, "Send the number of activations") || !hasButton(reply, "Cancel") {
			t.Errorf("typing %q: the question is not asked again: %q", typed, reply.Text)
		}
	}
	screen = w.send(t, w.owner, "1,000", askExpiry) // thousands separated by a comma
	screen = w.tap(t, w.owner, screen, "Type a date", "Send the last day")
	today := time.Now().UTC()
	for typed, want := range map[string]string{
		"next friday": `I could not read "next friday" as a date`,
		"2020-02-30":  "There is no 30 February 2020.",
		"2027-13-01":  "There is no month 13.",
		"2020-01-01":  "1 Jan 2020 has already passed",
		today.AddDate(0, 0, -1).Format(time.DateOnly): "has already passed",
		today.AddDate(11, 0, 0).Format(time.DateOnly): "more than ten years away",
	} {
		reply := w.send(t, w.owner, typed, want)
		if !strings.Contains(reply.Text, "YYYY-MM-DD") {
			t.Errorf("typing %q: the question is not asked again: %q", typed, reply.Text)
		}
	}
	// Today is fine: the code works to the end of the day.
	screen = w.send(t, w.owner, today.Format("2.1.2006"), askCount)
	screen = w.tap(t, w.owner, screen, "Type a number", "Send how many codes")
	w.send(t, w.owner, "501", "The number of codes must be from 1 to 500")
	w.send(t, w.owner, "1 5", "is not a whole number") // not 15
	w.send(t, w.owner, "none", "is not a whole number")
	// Tapping where typing is wanted, or typing where tapping is.
	summary := w.send(t, w.owner, "2", askConfirm)
	reply := w.send(t, w.owner, "yes", "Please answer with the buttons below")
	if !hasButton(reply, "Create 2 codes") {
		t.Errorf("the summary is not shown again: %q %v", reply.Text, labels(reply))
	}
	// The older summary's button is of the same draft and step: it works.
	w.tap(t, w.owner, summary, "Create 2 codes", "Done: 2 codes")
	if n := w.Count(t, `SELECT count(*) FROM access_codes WHERE max_activations = 1000
		AND expires_at = date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '1 day' - interval '1 second'`); n != 2 {
		t.Errorf("%d codes as typed (1000 activations, until the end of today), want 2", n)
	}
	w.answeredAll(t)
}

func TestStaleAndTimedOutDraftsChangeNothing(t *testing.T) {
	w := ownerWorld(t)
	old := w.newCode(t, "1", askExpiry)
	// A second /newcode replaces the draft: the first one's buttons are dead.
	fresh := w.newCode(t)
	if text := w.toast(t, w.owner, old, "No expiry"); !strings.Contains(text, "This code draft is closed") || !w.unchanged(w.owner, old) {
		t.Errorf("a button of a replaced draft: toast %q, message now %q", text, w.current(w.owner, old.MessageID).Text)
	}
	// A button of a step already answered does nothing.
	next := w.tap(t, w.owner, fresh, "100", askExpiry)
	before := w.Fake.Messages(w.demo.Bot.TelegramID, w.owner.ID)
	w.forge(t, w.owner, next.MessageID, buttonData(t, fresh, "10"))
	w.Idle(t)
	if after := w.Fake.Messages(w.demo.Bot.TelegramID, w.owner.ID); len(after) != len(before) || w.current(w.owner, next.MessageID).Text != next.Text {
		t.Error("a button of an answered step changed the screen")
	}
	// Left for more than the TTL, the draft is gone.
	if _, err := w.Owner(t).Exec(context.Background(), "UPDATE conversations SET expires_at = now() - interval '1 second'"); err != nil {
		t.Fatal(err)
	}
	if text := w.toast(t, w.owner, next, "No expiry"); !strings.Contains(text, "left for more than 30 minutes") {
		t.Errorf("a button of a lapsed draft answered %q", text)
	}
	if n := w.Count(t, "SELECT count(*) FROM access_codes"); n != 0 {
		t.Errorf("%d codes from stale drafts", n)
	}
	summary := w.newCode(t, "1", askExpiry, "No expiry", askCount, "Just one", askConfirm)
	w.tap(t, w.owner, summary, "Create the code", "Done: a code")
	// Tapping Create again (a double tap) makes no second code.
	w.tap(t, w.owner, w.current(w.owner, summary.MessageID), "New code", askPlan)
	w.forge(t, w.owner, summary.MessageID, buttonData(t, summary, "Create the code"))
	w.Idle(t)
	if n := w.Count(t, "SELECT count(*) FROM access_codes"); n != 1 {
		t.Errorf("%d codes after a double tap on Create, want 1", n)
	}
	w.answeredAll(t)
}

func TestAScreenThatCannotBeEditedComesAsANewMessage(t *testing.T) {
	w := ownerWorld(t)
	menu := w.send(t, w.owner, "/members", "Admin menu")
	before := len(w.Fake.Messages(w.demo.Bot.TelegramID, w.owner.ID))
	// Telegram refuses edits of messages that are gone or too old.
	w.Fake.Fail("editMessageText", 1, telegramtest.Failure{Code: 400, Description: "Bad Request: message to edit not found"})
	settings := w.tap(t, w.owner, menu, "Settings", "Auto-delete unused codes")
	msgs := w.Fake.Messages(w.demo.Bot.TelegramID, w.owner.ID)
	if len(msgs) != before+1 || settings.MessageID != msgs[len(msgs)-1].MessageID || !hasButton(settings, "Change auto-delete") {
		t.Errorf("the settings screen did not come as a new message with its buttons: %q %v", settings.Text, labels(settings))
	}
	// The next tap edits that new message in place.
	w.tap(t, w.owner, settings, "Change auto-delete", "Delete codes nobody has used")
	if n := len(w.Fake.Messages(w.demo.Bot.TelegramID, w.owner.ID)); n != before+1 {
		t.Errorf("%d messages, want %d: the screen was not edited in place", n, before+1)
	}
	w.answeredAll(t)
}

// TestTwoTapsOnCreateAtOnceMakeOneBatch: two taps on Create delivered
// together (Telegram sends a bot's updates on several connections) make
// one batch; the second finds the draft closed, says so in its toast, and
// leaves the first tap's result in view. So do two taps on Cancel.
func TestTwoTapsOnCreateAtOnceMakeOneBatch(t *testing.T) {
	w := ownerWorld(t)
	for round := range 4 {
		label, want := "Create the code", "Done: a code for"
		if round == 3 {
			label, want = "Cancel", "Cancelled: no code was created."
		}
		summary := w.newCode(t, "1", askExpiry, "No expiry", askCount, "Just one", askConfirm)
		data := buttonData(t, summary, label)
		answersBefore := len(w.Fake.CallsTo("answerCallbackQuery"))
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for i := range statuses {
			wg.Go(func() {
				statuses[i], _ = w.Fake.PressButton(w.demo.Bot.TelegramID, w.owner.ID, summary.MessageID, data)
			})
		}
		wg.Wait()
		if statuses[0] != 200 || statuses[1] != 200 {
			t.Fatalf("round %d: the taps were answered %v", round, statuses)
		}
		w.Idle(t)
		if n := w.Count(t, "SELECT count(*) FROM access_codes"); n != min(round+1, 3) {
			t.Fatalf("round %d: %d codes after two taps at once on %s, want %d", round, n, label, min(round+1, 3))
		}
		if cur := w.current(w.owner, summary.MessageID); !strings.Contains(cur.Text, want) || !hasButton(cur, "« Menu") {
			t.Errorf("round %d: after two taps on %s the message says %q %v", round, label, cur.Text, labels(cur))
		}
		closed := 0
		for _, c := range w.Fake.CallsTo("answerCallbackQuery")[answersBefore:] {
			if text, _ := c.Params["text"].(string); strings.Contains(text, "This code draft is closed") {
				closed++
			}
		}
		if closed != 1 {
			t.Errorf("round %d: %d of the two taps were told the draft is closed, want 1", round, closed)
		}
	}
}
