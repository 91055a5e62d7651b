package bot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/telegram/telegramtest"
)

// joined has a new member activate code and join every chat it opens.
func (w world) joined(t *testing.T, name, code string) telegramtest.User {
	t.Helper()
	u := w.member(t, name)
	confirmation := w.say(t, u, code)
	for title, link := range joinButtons(confirmation) {
		if ok, reason, err := w.Fake.JoinByLink(u.ID, link); !ok {
			t.Fatalf("%s joining %s: %s %v", name, title, reason, err)
		}
	}
	return u
}

// inChats says in how many of the demo chats u is.
func (w world) inChats(u telegramtest.User) int {
	n := 0
	for _, c := range w.demo.Chats {
		if w.Fake.IsMember(c.TelegramChatID, u.ID) {
			n++
		}
	}
	return n
}

// codeState is what deleting or rolling back a code changes, described
// the same way for any code, so that two codes can be compared.
func (w world) codeState(t *testing.T, code string) string {
	t.Helper()
	var s string
	err := w.Owner(t).QueryRow(context.Background(), `SELECT concat_ws(' ',
			c.deleted_at IS NOT NULL, c.activations,
			(SELECT count(*) FROM code_activations a WHERE a.code_id = c.id AND a.rolled_back_at IS NOT NULL),
			(SELECT string_agg(ms.status, ',' ORDER BY a.id) FROM code_activations a JOIN memberships ms ON ms.id = a.membership_id WHERE a.code_id = c.id),
			(SELECT string_agg(o.status, ',' ORDER BY a.id) FROM code_activations a JOIN orders o ON o.id = a.order_id WHERE a.code_id = c.id),
			(SELECT concat_ws('/', r.status, r.undone, r.removed, r.shortened) FROM code_rollbacks r WHERE r.code_id = c.id))
		FROM access_codes c WHERE c.code = $1`, code).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// openCode finds a code in the owner's /codes list and opens it.
func (w world) openCode(t *testing.T, code string) telegramtest.Message {
	t.Helper()
	list := w.send(t, w.owner, "/codes", "Access codes, newest first")
	return w.tap(t, w.owner, list, membership.FormatCode(code), "Code "+membership.FormatCode(code)+"\n")
}

// A code's screen says what deleted it: auto-delete, or a rollback (of
// its batch, say) that found nothing to undo and only deleted it.
func TestCodeScreenSaysWhatDeletedIt(t *testing.T) {
	w := ownerWorld(t)
	one := membership.CodeRequest{PlanID: w.demo.Plan.ID, Count: 1}
	codes := []membership.Code{w.Codes(t, w.demo.TenantID, one).Codes[0], w.Codes(t, w.demo.TenantID, one).Codes[0]}
	w.rollBack(t, codes[0].Code)
	w.Idle(t)
	if _, err := w.Owner(t).Exec(context.Background(), "UPDATE access_codes SET deleted_at = now(), auto_deleted = true WHERE id = $1", codes[1].ID); err != nil {
		t.Fatal(err)
	}
	rolled := w.openCode(t, codes[0].Code)
	if !strings.Contains(rolled.Text, ", by a rollback\n") || strings.Contains(rolled.Text, "undone") {
		t.Errorf("an unused code a rollback deleted: %q", rolled.Text)
	}
	auto := w.openCode(t, codes[1].Code)
	if !strings.Contains(auto.Text, ", by auto-delete: nobody had used it\n") {
		t.Errorf("an auto-deleted code: %q", auto.Text)
	}
}

func TestDeleteAndRollBackFromTheBotDoWhatTheConsoleDoes(t *testing.T) {
	w := ownerWorld(t)
	ctx := context.Background()
	code := func(max int) string {
		return w.Codes(t, w.demo.TenantID, membership.CodeRequest{PlanID: w.demo.Plan.ID, Count: 1, MaxActivations: max}).Codes[0].Code
	}

	// Delete: one code from the bot, its twin with membership.DeleteCode.
	fromBot, fromConsole := code(3), code(3)
	alice, bob := w.joined(t, "Alice", fromBot), w.joined(t, "Bob", fromConsole)
	screen := w.openCode(t, fromBot)
	if !strings.Contains(screen.Text, "@alice") || !strings.Contains(screen.Text, "used 1 of 3") {
		t.Errorf("the code's screen does not show Alice's activation: %q", screen.Text)
	}
	screen = w.tap(t, w.owner, screen, "Delete", "Delete code")
	screen = w.tap(t, w.owner, screen, "Yes, delete it", "no longer works")
	if !strings.Contains(screen.Text, "Status: deleted") || hasButton(screen, "Delete") {
		t.Errorf("after deleting: %q %v", screen.Text, labels(screen))
	}
	w.Tx(t, w.demo.TenantID, func(tx pgx.Tx) error {
		c, err := membership.ListCodes(ctx, tx, membership.CodeFilter{Search: fromConsole})
		if err == nil {
			_, err = membership.DeleteCode(ctx, tx, c[0].ID)
		}
		return err
	})
	w.Idle(t)
	if a, b := w.codeState(t, fromBot), w.codeState(t, fromConsole); a != b || !strings.HasPrefix(a, "t 1 0 active paid") {
		t.Errorf("deleted from the bot: %q; with DeleteCode: %q; want the same, deleted, membership kept", a, b)
	}
	if w.inChats(alice) != 2 || w.inChats(bob) != 2 {
		t.Errorf("deleting took members out of the chats (Alice in %d, Bob in %d, want 2)", w.inChats(alice), w.inChats(bob))
	}
	carol := w.member(t, "Carol")
	if reply := w.say(t, carol, fromBot); !strings.Contains(reply.Text, "no longer valid") {
		t.Errorf("a deleted code activated: %q", reply.Text)
	}

	// The owner turns their activation notifications off; they still
	// hear the result of a rollback they asked for.
	// An admin's /help lists the admin commands; /admin opens the menu.
	w.send(t, w.owner, "/help", "/newcode — create an access code")
	w.send(t, w.owner, "/admin", "Admin menu")
	menu := w.send(t, w.owner, "/members", "Admin menu")
	w.tap(t, w.owner, menu, "Notifications: on", "Notifications off")
	if n := w.Count(t, "SELECT count(*) FROM bot_admins WHERE NOT notify"); n != 1 {
		t.Fatalf("%d admins with notifications off, want 1", n)
	}

	// Rollback: one code from the bot, its twin with StartRollback and the
	// job. Each has a member who loses access and one who keeps time
	// from a second code.
	rbBot, rbConsole := code(5), code(5)
	dan, erin := w.joined(t, "Dan", rbBot), w.joined(t, "Erin", rbConsole)
	keeps1, keeps2 := w.joined(t, "Keeps1", code(1)), w.joined(t, "Keeps2", code(1))
	w.say(t, keeps1, rbBot)
	w.say(t, keeps2, rbConsole)
	w.Idle(t)
	ownerBefore := len(w.Fake.Messages(w.demo.Bot.TelegramID, w.owner.ID))
	notes := w.Count(t, "SELECT count(*) FROM notifications WHERE kind = 'code_activated'")
	if notes < 6 {
		t.Errorf("%d activations recorded for the console, want them all", notes)
	}
	for _, m := range w.Fake.Messages(w.demo.Bot.TelegramID, w.owner.ID) {
		if strings.Contains(m.Text, "@dan activated") {
			t.Error("the owner was told of an activation with notifications off")
		}
	}

	screen = w.openCode(t, rbBot)
	screen = w.tap(t, w.owner, screen, "Roll back", "Roll back code")
	if !strings.Contains(screen.Text, "2 activations") {
		t.Errorf("the confirmation does not say what will be undone: %q", screen.Text)
	}
	screen = w.tap(t, w.owner, screen, "Yes, roll it back", "Rolling back code")
	summary := w.expect(t, w.owner, ownerBefore, "Rollback of code "+membership.FormatCode(rbBot)+" finished")
	if !strings.Contains(summary.Text, "2 activations undone") || !strings.Contains(summary.Text, "1 member lost access; 1 member kept the access they had otherwise, less the code's time") {
		t.Errorf("summary = %q", summary.Text)
	}
	// The screen said "in progress"; Refresh shows it done, and offers no
	// Refresh once there is nothing more to see.
	screen = w.tap(t, w.owner, screen, "Refresh", "Rolled back on")
	if hasButton(screen, "Refresh") {
		t.Errorf("a finished rollback's screen offers %v", labels(screen))
	}
	w.rollBack(t, rbConsole)
	w.Wait(t, "the console's rollback", func() bool {
		return w.Count(t, "SELECT count(*) FROM code_rollbacks WHERE status = 'done'") == 2
	})
	w.Idle(t)
	if a, b := w.codeState(t, rbBot), w.codeState(t, rbConsole); a != b || a != "t 2 2 revoked,active refunded,refunded done/2/1/1" {
		t.Errorf("rolled back from the bot: %q; with StartRollback: %q; want the same, %q", a, b, "t 2 2 revoked,active refunded,refunded done/2/1/1")
	}
	w.Wait(t, "Dan and Erin removed", func() bool { return w.inChats(dan) == 0 && w.inChats(erin) == 0 })
	if w.inChats(keeps1) != 2 || w.inChats(keeps2) != 2 {
		t.Error("members with time from another code were removed")
	}
	for _, u := range []telegramtest.User{keeps1, keeps2} {
		w.expect(t, u, 0, "your access to "+w.demo.Plan.Name+" was cancelled by its owner, so that time is taken back. Your access now lasts until")
	}
	// The code's screen now shows the finished rollback.
	screen = w.tap(t, w.owner, screen, "« Access codes", "Access codes, newest first")
	screen = w.tap(t, w.owner, screen, membership.FormatCode(rbBot), "Rolled back on")
	if !strings.Contains(screen.Text, "2 activations undone; 1 member lost access; 1 member kept the access they had otherwise") {
		t.Errorf("the rolled-back code's screen says %q", screen.Text)
	}
	if hasButton(screen, "Roll back") || hasButton(screen, "Delete") {
		t.Errorf("a rolled-back code still offers %v", labels(screen))
	}
	w.answeredAll(t)
}

func TestMembersFindAndRevoke(t *testing.T) {
	w := ownerWorld(t)
	c := w.Codes(t, w.demo.TenantID, membership.CodeRequest{PlanID: w.demo.Plan.ID, Count: 1, MaxActivations: 5}).Codes[0].Code
	alice, alina := w.joined(t, "Alice", c), w.joined(t, "Alina", c)
	w.Idle(t)

	// An admin's /help lists the admin commands; /admin opens the menu.
	w.send(t, w.owner, "/help", "/newcode — create an access code")
	w.send(t, w.owner, "/admin", "Admin menu")
	menu := w.send(t, w.owner, "/members", "Admin menu")
	if !strings.Contains(menu.Text, "Members with access: 2") {
		t.Errorf("menu = %q", menu.Text)
	}
	screen := w.tap(t, w.owner, menu, "Members", "With access now: 2")
	screen = w.tap(t, w.owner, screen, "Find a member", "@username or Telegram user id")
	screen = w.send(t, w.owner, "@nobody_here", "No one who has had access")
	// A NUL, which PostgreSQL cannot store or search for, finds no one:
	// the update is not refused (Telegram would deliver it for ever).
	screen = w.send(t, w.owner, "ali\x00", "No one who has had access")
	screen = w.send(t, w.owner, "ali", "2 members match")
	screen = w.tap(t, w.owner, screen, "Alina", "Telegram user id: "+fmt.Sprint(alina.ID))
	if !strings.Contains(screen.Text, "Demo membership: active until") {
		t.Errorf("Alina's screen = %q", screen.Text)
	}
	// By id, then revoke.
	screen = w.tap(t, w.owner, screen, "« Members", "With access now")
	screen = w.tap(t, w.owner, screen, "Find a member", "@username or Telegram user id")
	screen = w.send(t, w.owner, fmt.Sprint(alice.ID), "Telegram user id: "+fmt.Sprint(alice.ID))
	screen = w.tap(t, w.owner, screen, "End access to Demo membership", "End Demo membership for Alice (@alice) now?")
	screen = w.tap(t, w.owner, screen, "Yes, end access", "their access to Demo membership has ended, and they are being removed from its chats.")
	if hasButton(screen, "End access") || !strings.Contains(screen.Text, "Demo membership: revoked on") {
		t.Errorf("after revoking: %q %v", screen.Text, labels(screen))
	}
	w.Wait(t, "Alice removed", func() bool { return w.inChats(alice) == 0 })
	w.expect(t, alice, 0, "Your access to Demo membership was ended by its owner. You have been removed from its chats.")
	if w.inChats(alina) != 2 {
		t.Error("Alina was removed too")
	}
	// A member who never joined a chat is not said to be removed from any.
	bea := w.member(t, "Bea")
	w.say(t, bea, w.code(t, membership.CodeRequest{}))
	screen = w.tap(t, w.owner, screen, "« Members", "With access now")
	screen = w.tap(t, w.owner, screen, "Find a member", "@username or Telegram user id")
	screen = w.send(t, w.owner, fmt.Sprint(bea.ID), "Telegram user id: "+fmt.Sprint(bea.ID))
	screen = w.tap(t, w.owner, screen, "End access to Demo membership", "End Demo membership for Bea (@bea) now?")
	screen = w.tap(t, w.owner, screen, "Yes, end access", "their access to Demo membership has ended")
	if strings.Contains(screen.Text, "removed") {
		t.Errorf("ending Bea's access, who joined no chat: %q", screen.Text)
	}
	// /cancel leaves the search.
	screen = w.send(t, w.owner, "/members", "Admin menu")
	screen = w.tap(t, w.owner, screen, "Members", "With access now: 1")
	w.tap(t, w.owner, screen, "Find a member", "@username")
	w.send(t, w.owner, "/cancel", "Cancelled.")
	if n := w.Count(t, "SELECT count(*) FROM conversations"); n != 0 {
		t.Errorf("%d conversations open after /cancel", n)
	}
	// A second /cancel does not pretend to undo anything.
	if m := w.send(t, w.owner, "/cancel", "nothing to cancel"); strings.Contains(m.Text, "Cancelled") {
		t.Errorf("/cancel with nothing open says %q", m.Text)
	}
	w.answeredAll(t)
}

func TestSettingsAndFairUseFromTheBot(t *testing.T) {
	w := ownerWorld(t)
	// An admin's /help lists the admin commands; /admin opens the menu.
	w.send(t, w.owner, "/help", "/newcode — create an access code")
	w.send(t, w.owner, "/admin", "Admin menu")
	menu := w.send(t, w.owner, "/members", "Admin menu")
	screen := w.tap(t, w.owner, menu, "Settings", "Auto-delete unused codes: off")
	screen = w.tap(t, w.owner, screen, "Change auto-delete", "Delete codes nobody has used")
	screen = w.tap(t, w.owner, screen, "30 days", "Saved: unused codes are deleted 30 days after")
	if n := w.Count(t, "SELECT count(*) FROM tenants WHERE code_autodelete_days = 30"); n != 1 {
		t.Error("auto-delete was not saved as 30 days")
	}
	screen = w.tap(t, w.owner, screen, "Change auto-delete", "Delete codes nobody has used")
	screen = w.tap(t, w.owner, screen, "Type a number", "Send the number of days")
	w.send(t, w.owner, "soon", `"soon" is not a whole number`)
	w.send(t, w.owner, "99999", "must be from 0 to 3,650")
	screen = w.send(t, w.owner, "14", "Saved: unused codes are deleted 14 days after")
	if n := w.Count(t, "SELECT count(*) FROM tenants WHERE code_autodelete_days = 14"); n != 1 {
		t.Error("auto-delete was not saved as 14 days")
	}
	screen = w.tap(t, w.owner, screen, "Make codes priced by default", "New codes are priced")
	if n := w.Count(t, "SELECT count(*) FROM tenants WHERE NOT zero_price_default"); n != 1 {
		t.Error("the pricing default was not saved")
	}
	screen = w.tap(t, w.owner, screen, "Change auto-delete", "Delete codes nobody has used")
	screen = w.tap(t, w.owner, screen, "Off", "Saved: auto-delete is off")
	if n := w.Count(t, "SELECT count(*) FROM tenants WHERE code_autodelete_days IS NULL"); n != 1 {
		t.Error("auto-delete was not turned off")
	}

	// Fair use: the standing, then its limit as billing words it.
	if _, err := w.Owner(t).Exec(context.Background(), "UPDATE tenants SET fairuse_floor = 5, fairuse_ratio_pct = 100, zero_price_default = true"); err != nil {
		t.Fatal(err)
	}
	screen = w.tap(t, w.owner, screen, "« Menu", "Admin menu")
	screen = w.tap(t, w.owner, screen, "Fair use", "Zero-priced activations in the last 30 days: 0 of 5.\nFree codes already given out can be activated 0 more times, so new ones may give out 5 more.")
	summary := w.newCode(t, "1", askExpiry, "No expiry", askCount, "10", askConfirm)
	refused := w.tap(t, w.owner, summary, "Create 10 codes", "These codes allow 10 free activations, but only 5")
	if n := w.Count(t, "SELECT count(*) FROM access_codes"); n != 0 {
		t.Errorf("%d codes created past the fair-use limit", n)
	}
	priced := w.tap(t, w.owner, refused, "Advanced: make them priced", "Orders: priced (an activation records an order of 9.99 USD)")
	w.tap(t, w.owner, priced, "Create 10 codes", "Done: 10 codes")
	w.expect(t, w.owner, 0, "10 access codes for Demo membership")
	if n := w.Count(t, "SELECT count(*) FROM access_codes WHERE NOT zero_priced"); n != 10 {
		t.Errorf("%d priced codes, want 10", n)
	}
	// With no free activations left, /newcode says so at its first step.
	if s := w.send(t, w.owner, "/newcode", askPlan); strings.Contains(s.Text, "allowance is used up") {
		t.Errorf("with free codes left, /newcode begins %q", s.Text)
	}
	if _, err := w.Owner(t).Exec(context.Background(), "UPDATE tenants SET fairuse_floor = 0"); err != nil {
		t.Fatal(err)
	}
	if s := w.send(t, w.owner, "/newcode", askPlan); !strings.HasPrefix(s.Text, "Your free-code allowance is used up for now") {
		t.Errorf("with no free codes left, /newcode begins %q", s.Text)
	}
	w.answeredAll(t)
}

func TestCodesListPagesAndBatches(t *testing.T) {
	w := ownerWorld(t)
	for range 8 {
		w.Codes(t, w.demo.TenantID, membership.CodeRequest{PlanID: w.demo.Plan.ID, Count: 1})
	}
	batch := w.Codes(t, w.demo.TenantID, membership.CodeRequest{PlanID: w.demo.Plan.ID, Count: 20, MaxActivations: 2})
	u := w.member(t, "User")
	w.say(t, u, batch.Codes[3].Code)

	list := w.send(t, w.owner, "/codes", "Access codes, newest first (page 1)")
	if !strings.Contains(list.Text, "Batch of 20") || !strings.Contains(list.Text, "20 active") || hasButton(list, "‹ Newer") {
		t.Errorf("page 1 = %q %v", list.Text, labels(list))
	}
	page2 := w.tap(t, w.owner, list, "Older ›", "(page 2)")
	if strings.Count(page2.Text, "\n") != 4 || hasButton(page2, "Older ›") { // a heading and 3 codes
		t.Errorf("page 2 = %q %v", page2.Text, labels(page2))
	}
	list = w.tap(t, w.owner, page2, "‹ Newer", "(page 1)")
	view := w.tap(t, w.owner, list, "1. Batch of 20", "Batch of 20 codes for Demo membership")
	if !strings.Contains(view.Text, "Page 1 of 3") || !hasButton(view, "Older ›") {
		t.Errorf("batch view = %q %v", view.Text, labels(view))
	}
	view = w.tap(t, w.owner, view, "Older ›", "Page 2 of 3")
	view = w.tap(t, w.owner, view, "Older ›", "Page 3 of 3")
	if hasButton(view, "Older ›") {
		t.Error("the last page offers older codes")
	}
	used := w.tap(t, w.owner, view, membership.FormatCode(batch.Codes[3].Code), "used 1 of 2")
	if !strings.Contains(used.Text, "@user") || !hasButton(used, "« Batch") {
		t.Errorf("code view = %q %v", used.Text, labels(used))
	}
	before := len(w.Fake.CallsTo("sendDocument"))
	back := w.tap(t, w.owner, used, "« Batch", "Batch of 20 codes")
	doc := w.tap(t, w.owner, back, "Send the CSV file again", "as it stands now")
	rows := csvCodes(t, doc)
	if len(rows) != 20 || len(w.Fake.CallsTo("sendDocument")) != before+1 {
		t.Fatalf("the CSV again has %d rows, want 20", len(rows))
	}
	w.answeredAll(t)
}

func TestStaleDeleteAfterRollbackSaysWhatHappened(t *testing.T) {
	w := ownerWorld(t)
	ctx := context.Background()
	code := w.Codes(t, w.demo.TenantID, membership.CodeRequest{PlanID: w.demo.Plan.ID, Count: 1}).Codes[0]
	screen := w.tap(t, w.owner, w.openCode(t, code.Code), "Delete", "Delete code")
	// Meanwhile the code is rolled back from the console.
	w.Tx(t, w.demo.TenantID, func(tx pgx.Tx) error {
		_, err := membership.StartRollback(ctx, tx, code.ID, "test")
		return err
	})
	screen = w.tap(t, w.owner, screen, "Yes, delete it", "Code "+membership.FormatCode(code.Code))
	if !strings.Contains(screen.Text, "was rolled back, which deleted it") || strings.Contains(screen.Text, "granted stay") {
		t.Errorf("a stale delete after a rollback says %q", screen.Text)
	}
	// The toast does not claim this tap deleted it.
	w.Idle(t)
	calls := w.Fake.CallsTo("answerCallbackQuery")
	if text, _ := calls[len(calls)-1].Params["text"].(string); text != "Already rolled back." {
		t.Errorf("a stale delete after a rollback toasts %q", text)
	}
	// Nor does a second Yes after a delete.
	code2 := w.Codes(t, w.demo.TenantID, membership.CodeRequest{PlanID: w.demo.Plan.ID, Count: 1}).Codes[0]
	confirm := w.tap(t, w.owner, w.openCode(t, code2.Code), "Delete", "Delete code")
	w.tap(t, w.owner, confirm, "Yes, delete it", "Deleted: code")
	if text := w.forgedToast(t, w.owner, confirm.MessageID, buttonData(t, confirm, "Yes, delete it")); text != "Already deleted." {
		t.Errorf("a second Yes, delete it toasts %q", text)
	}
}
