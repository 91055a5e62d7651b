package bot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mymmrac/telego"

	"github.com/gatekey/gatekey/membership"
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

// forgedToast delivers a tap with data under message messageID, as an
// old button still in the chat would, and returns the notice it got.
func (w world) forgedToast(t *testing.T, u telegramtest.User, messageID int, data string) string {
	t.Helper()
	id := w.forge(t, u, messageID, data)
	var text string
	w.Wait(t, "the answer to "+data, func() bool {
		for _, c := range w.Fake.CallsTo("answerCallbackQuery") {
			if c.Params["callback_query_id"] == id {
				text, _ = c.Params["text"].(string)
				return true
			}
		}
		return false
	})
	w.Idle(t)
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

// TestNoRollbackOfACodeNobodyActivated: as in the console, the bot offers
// to roll back only a code with activations, and an old Roll back button
// of an unused code says there is nothing to take back.
func TestNoRollbackOfACodeNobodyActivated(t *testing.T) {
	w := ownerWorld(t)
	c := w.Codes(t, w.demo.TenantID, membership.CodeRequest{PlanID: w.demo.Plan.ID, Count: 1, MaxActivations: 2}).Codes[0]
	screen := w.openCode(t, c.Code)
	if hasButton(screen, "Roll back") || !hasButton(screen, "Delete") {
		t.Errorf("an unused code offers %v", labels(screen))
	}
	for _, data := range []string{fmt.Sprintf("a:cr:%d", c.ID), fmt.Sprintf("a:cry:%d", c.ID)} {
		if text := w.forgedToast(t, w.owner, screen.MessageID, data); !strings.Contains(text, "Nothing to take back") {
			t.Errorf("%s answered %q", data, text)
		}
		if cur := w.current(w.owner, screen.MessageID); !strings.Contains(cur.Text, "there is nothing to take back") || hasButton(cur, "Roll back") {
			t.Errorf("after %s the code's screen says %q %v", data, cur.Text, labels(cur))
		}
	}
	if n := w.Count(t, "SELECT count(*) FROM code_rollbacks"); n != 0 {
		t.Errorf("%d rollbacks of an unused code", n)
	}
	if n := w.Count(t, "SELECT count(*) FROM access_codes WHERE deleted_at IS NULL"); n != 1 {
		t.Error("the unused code was deleted")
	}
	// Once activated, it can be rolled back.
	w.joined(t, "Alice", c.Code)
	screen = w.openCode(t, c.Code)
	w.tap(t, w.owner, screen, "Roll back", "Roll back code")
	w.answeredAll(t)
}

// TestCreateForAPlanArchivedMeanwhileOffersAnotherPlan: the plan of a
// draft at its summary is archived; Create says so as a sentence and asks
// for another plan, keeping the other answers, instead of offering the
// same Create again.
func TestCreateForAPlanArchivedMeanwhileOffersAnotherPlan(t *testing.T) {
	w := ownerWorld(t)
	ctx := context.Background()
	var temp membership.Plan
	w.Tx(t, w.demo.TenantID, func(tx pgx.Tx) (err error) {
		temp, err = membership.CreatePlan(ctx, tx, membership.NewPlan{BotID: w.demo.Bot.ID, Name: "Temp plan", PeriodDays: 7,
			Price: membership.Money{Currency: "USD"}, ChatIDs: []int64{w.demo.Chats[0].ID}})
		return err
	})
	screen := w.send(t, w.owner, "/newcode", askPlan)
	screen = w.steps(t, screen, "Temp plan", askMax, "10", askExpiry, "No expiry", askCount, "Just one", askConfirm)
	w.Tx(t, w.demo.TenantID, func(tx pgx.Tx) error { return membership.ArchivePlan(ctx, tx, temp.ID) })

	screen = w.tap(t, w.owner, screen, "Create the code", "was archived")
	if !strings.HasPrefix(screen.Text, `The plan "Temp plan" was archived after you chose it`) || !strings.Contains(screen.Text, "Pick another plan below") {
		t.Errorf("Create for an archived plan says %q", screen.Text)
	}
	if hasButton(screen, "Create the code") || hasButton(screen, "Temp plan") || !hasButton(screen, "Demo membership") || !hasButton(screen, "Cancel") {
		t.Errorf("Create for an archived plan offers %v", labels(screen))
	}
	screen = w.tap(t, w.owner, screen, "Demo membership", askConfirm)
	if !strings.Contains(screen.Text, "Plan: Demo membership") || !strings.Contains(screen.Text, "up to 10 activations") {
		t.Errorf("the summary after picking another plan: %q", screen.Text)
	}
	w.tap(t, w.owner, screen, "Create the code", "Done: a code for Demo membership")
	w.answeredAll(t)
}

// TestOneCodeAndSingleUseAreWordedSo: the summary, the result and the
// batch view speak of one code as "it" and of one activation as single
// use, not "up to 1 activation per code".
func TestOneCodeAndSingleUseAreWordedSo(t *testing.T) {
	w := ownerWorld(t)
	one := w.newCode(t, "1", askExpiry, "No expiry", askCount, "Just one", askConfirm)
	if !strings.Contains(one.Text, "Activations: single use\n") || !hasButton(one, "Advanced: make it priced") {
		t.Errorf("the summary of one single-use code: %q %v", one.Text, labels(one))
	}
	one = w.tap(t, w.owner, one, "Advanced: make it priced", "Orders: priced")
	if !hasButton(one, "Advanced: make it zero-priced") {
		t.Errorf("after making it priced: %v", labels(one))
	}
	w.tap(t, w.owner, one, "Create the code", "Done: a code for Demo membership, single use, no expiry.")

	ten := w.newCode(t, "10", askExpiry, "No expiry", askCount, "Just one", askConfirm)
	if !strings.Contains(ten.Text, "Activations: up to 10 activations\n") || !hasButton(ten, "Advanced: make it priced") {
		t.Errorf("the summary of one code of 10 activations: %q %v", ten.Text, labels(ten))
	}
	w.tap(t, w.owner, ten, "Create the code", "Done: a code for Demo membership, up to 10 activations, no expiry.")

	batch := w.newCode(t, "1", askExpiry, "No expiry", askCount, "10", askConfirm)
	if !strings.Contains(batch.Text, "Activations: single use\n") || !hasButton(batch, "Advanced: make them priced") {
		t.Errorf("the summary of 10 single-use codes: %q %v", batch.Text, labels(batch))
	}
	w.tap(t, w.owner, batch, "Create 10 codes", "Done: 10 codes")
	doc := w.expect(t, w.owner, 0, "10 access codes for Demo membership: each single use, no expiry, zero-priced.")
	view := w.tap(t, w.owner, doc, "See this batch", "Batch of 10 codes")
	if !strings.Contains(view.Text, "Each single use · no expiry · zero-priced") || strings.Contains(view.Text, "1 activation") {
		t.Errorf("the batch view says %q", view.Text)
	}
	w.answeredAll(t)
}

// TestAFreePlansCodesAreNotAskedAboutPricing: for a plan whose price is 0
// an order is of 0 either way, so /newcode neither asks whether its codes
// are priced nor offers to change it, even where codes are priced by
// default.
func TestAFreePlansCodesAreNotAskedAboutPricing(t *testing.T) {
	w := ownerWorld(t)
	if _, err := w.Owner(t).Exec(context.Background(), "UPDATE tenants SET zero_price_default = false"); err != nil {
		t.Fatal(err)
	}
	w.Tx(t, w.demo.TenantID, func(tx pgx.Tx) error {
		_, err := membership.CreatePlan(context.Background(), tx, membership.NewPlan{BotID: w.demo.Bot.ID, Name: "Free taster",
			PeriodDays: 1, Price: membership.Money{Currency: "USD"}, ChatIDs: []int64{w.demo.Chats[0].ID}})
		return err
	})
	screen := w.send(t, w.owner, "/newcode", askPlan)
	summary := w.steps(t, screen, "Free taster", askMax, "1", askExpiry, "No expiry", askCount, "Just one", askConfirm)
	if !strings.Contains(summary.Text, "Orders: the plan is free (an activation records an order of 0)") || strings.Contains(summary.Text, "priced") {
		t.Errorf("the summary for a free plan says %q", summary.Text)
	}
	if hasButton(summary, "Advanced") {
		t.Errorf("the summary for a free plan offers %v", labels(summary))
	}
	w.tap(t, w.owner, summary, "Create the code", "Done: a code for Free taster")
	// A priced plan is still asked about.
	w.newCode(t, "1", askExpiry, "No expiry", askCount, "Just one", askPrice)
	w.answeredAll(t)
}

// A code that no longer works shows no activation link, nor an expiry
// that reads as if it worked; a live one shows both.
func TestCodeViewOfADeadCodeOffersNoLink(t *testing.T) {
	w := ownerWorld(t)
	until := time.Now().AddDate(0, 1, 0)
	code := w.Codes(t, w.demo.TenantID, membership.CodeRequest{PlanID: w.demo.Plan.ID, Count: 1, ExpiresAt: &until}).Codes[0]
	live := w.openCode(t, code.Code)
	if !strings.Contains(live.Text, "Activation link: ") || !strings.Contains(live.Text, "Expiry: works until ") {
		t.Errorf("a live code's view: %q", live.Text)
	}
	confirm := w.tap(t, w.owner, live, "Delete", "Delete code")
	if deleted := w.tap(t, w.owner, confirm, "Yes, delete it", "Deleted: code"); strings.Contains(deleted.Text, "Memberships it granted stay") {
		t.Errorf("deleting a code nobody used speaks of its memberships: %q", deleted.Text)
	}
	dead := w.openCode(t, code.Code)
	if strings.Contains(dead.Text, "Activation link") || strings.Contains(dead.Text, "works until") || !strings.Contains(dead.Text, "Status: deleted") {
		t.Errorf("a deleted code's view: %q", dead.Text)
	}
}

// An admin's answer after their step timed out is told so, once, rather
// than answered with the members' help.
func TestALateAnswerIsToldTheStepClosed(t *testing.T) {
	w := ownerWorld(t)
	w.newCode(t, "Type a number", "Send the number of activations")
	if _, err := w.Owner(t).Exec(context.Background(), "UPDATE conversations SET expires_at = now() - interval '1 minute'"); err != nil {
		t.Fatal(err)
	}
	w.send(t, w.owner, "5", "That came after the step it answers had closed")
	w.send(t, w.owner, "5", "Send /start to see what this bot offers")
	// A member never hears of the admins' steps.
	stranger := w.member(t, "Stranger")
	if _, err := w.Owner(t).Exec(context.Background(), `INSERT INTO conversations (tenant_id, bot_id, telegram_user_id, flow, step, data, expires_at)
		VALUES ($1, $2, $3, 'admin_newcode', '', '{}', now() - interval '1 minute')`, w.demo.TenantID, w.demo.Bot.ID, stranger.ID); err != nil {
		t.Fatal(err)
	}
	if reply := w.say(t, stranger, "5"); !strings.HasPrefix(reply.Text, "Send /start to see what this bot offers") {
		t.Errorf("a member's text after a lapsed admin step: %q", reply.Text)
	}
}

// deliverMessage delivers a private message from u that is not text
// alone, as Telegram would: a sticker, or a photo with a caption.
func (w world) deliverMessage(t *testing.T, u telegramtest.User, m telego.Message) {
	t.Helper()
	m.Date, m.Chat = time.Now().Unix(), telego.Chat{ID: u.ID, Type: telego.ChatTypePrivate}
	m.From = &telego.User{ID: u.ID, FirstName: u.FirstName, Username: u.Username}
	if status, err := w.Fake.Deliver(w.demo.Bot.TelegramID, telego.Update{Message: &m}); err != nil || status != 200 {
		t.Fatalf("deliver a message: %d %v", status, err)
	}
}

// A sticker sent at a typed step is asked to be typed, and the step stays
// open; a code written under a photo is read.
func TestNonTextMessages(t *testing.T) {
	w := ownerWorld(t)
	w.newCode(t, "Type a number", "Send the number of activations")
	before := len(w.Fake.Messages(w.demo.Bot.TelegramID, w.owner.ID))
	w.deliverMessage(t, w.owner, telego.Message{Sticker: &telego.Sticker{FileID: "s1", FileUniqueID: "s1", Type: "regular", Width: 512, Height: 512}})
	if got := w.Messages(t, w.demo.Bot.TelegramID, w.owner.ID, before+1)[before]; !strings.HasPrefix(got.Text, "Please type the number as text") {
		t.Errorf("a sticker at a typed step: %q", got.Text)
	}
	w.send(t, w.owner, "5", askExpiry) // the step is still open
	// At a step answered with buttons, it is asked for the buttons.
	before = len(w.Fake.Messages(w.demo.Bot.TelegramID, w.owner.ID))
	w.deliverMessage(t, w.owner, telego.Message{Sticker: &telego.Sticker{FileID: "s2", FileUniqueID: "s2", Type: "regular", Width: 512, Height: 512}})
	if got := w.Messages(t, w.demo.Bot.TelegramID, w.owner.ID, before+1)[before]; !strings.Contains(got.Text, "answer with the buttons") {
		t.Errorf("a sticker at a button step: %q", got.Text)
	}

	code := w.Codes(t, w.demo.TenantID, membership.CodeRequest{PlanID: w.demo.Plan.ID, Count: 1}).Codes[0].Code
	pia := w.member(t, "Pia")
	before = len(w.Fake.Messages(w.demo.Bot.TelegramID, pia.ID))
	w.deliverMessage(t, pia, telego.Message{Photo: []telego.PhotoSize{{FileID: "p1", FileUniqueID: "p1", Width: 90, Height: 90}},
		Caption: membership.FormatCode(code)})
	if got := w.Messages(t, w.demo.Bot.TelegramID, pia.ID, before+1)[before]; !strings.Contains(got.Text, "Code accepted") {
		t.Errorf("a code under a photo: %q", got.Text)
	}
}
