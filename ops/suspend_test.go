package ops_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/telegram/telegramtest"
	"github.com/gatekey/gatekey/tenant"
)

type statusResult struct {
	TenantID int64  `json:"tenant_id"`
	Status   string `json:"status"`
	Changed  bool   `json:"changed"`
}

// say sends text as u to the demo bot and returns the bot's next message.
func say(t *testing.T, w world, botID int64, u telegramtest.User, text string) telegramtest.Message {
	t.Helper()
	before := len(w.Fake.Messages(botID, u.ID))
	if status, err := w.Fake.SendText(botID, u.ID, text); err != nil || status != 200 {
		t.Fatalf("send %q: %d %v", text, status, err)
	}
	return w.Messages(t, botID, u.ID, before+1)[before]
}

func TestSuspendedTenantsBotAnswersUnavailableAndNothingIsDeleted(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	demo := w.Demo(t)
	botID := demo.Bot.TelegramID
	path := "/tenants/" + itoa(demo.TenantID)
	owner := w.Fake.AddUser("Olga", "olga_owner")
	w.Tx(t, demo.TenantID, func(tx pgx.Tx) error { return tenant.AddBotAdmin(ctx, tx, demo.Bot.ID, owner.ID) })
	codes := w.Codes(t, demo.TenantID, membership.CodeRequest{PlanID: demo.Plan.ID, Count: 2}).Codes

	alice := w.Fake.AddUser("Alice", "alice")
	msg := say(t, w, botID, alice, "/start "+codes[0].Code)
	if !strings.Contains(msg.Text, "Welcome to Demo membership") || msg.ReplyMarkup == nil {
		t.Fatalf("activation before the suspension: %q", msg.Text)
	}
	channel, link := demo.Chats[0], ""
	for _, row := range msg.ReplyMarkup.InlineKeyboard {
		if row[0].Text == "Join "+channel.Title {
			link = row[0].URL
		}
	}
	if joined, reason, err := w.Fake.JoinByLink(alice.ID, link); !joined {
		t.Fatalf("Alice joining: %s %v", reason, err)
	}
	bob := w.Fake.AddUser("Bob", "bob")
	welcome := say(t, w, botID, bob, "/start")

	// A suspension needs a reason, and well-formed JSON; refused, it changes nothing.
	w.admin.refused("POST", path+"/suspend", nil, 422, "invalid_request")
	w.admin.refused("POST", path+"/suspend", map[string]string{"reason": "  "}, 422, "invalid_request")
	w.admin.refused("POST", path+"/suspend", map[string]string{"why": "x"}, 400, "bad_json")
	w.admin.refused("POST", path+"/suspend", `{"reason": "x"`, 400, "bad_json")
	w.admin.refused("POST", path+"/suspend", map[string]string{"reason": strings.Repeat("x", 501)}, 422, "invalid_request")
	w.admin.refused("POST", "/tenants/999999/suspend", map[string]string{"reason": "x"}, 404, "not_found")
	if n := w.Count(t, "SELECT count(*) FROM tenants WHERE status = 'suspended'"); n != 0 {
		t.Fatal("a refused suspension suspended a tenant")
	}

	var res statusResult
	if status := w.admin.call("POST", path+"/suspend", map[string]string{"reason": "unpaid invoice 2026-01"}, &res); status != 200 ||
		res != (statusResult{demo.TenantID, "suspended", true}) {
		t.Fatalf("suspend: %d %+v", status, res)
	}
	w.Tx(t, demo.TenantID, func(tx pgx.Tx) error {
		suspended, err := tenant.IsSuspended(ctx, tx)
		if !suspended {
			t.Errorf("tenant.IsSuspended = false after the suspension (%v)", err)
		}
		tn, err := tenant.Get(ctx, tx)
		if !tn.Suspended() {
			t.Errorf("Tenant.Suspended() = false (%v)", err)
		}
		return err
	})
	if n := w.Count(t, `SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND actor = 'staff:alice@gatekey.dev'
		AND action = 'tenant.suspended' AND details->>'reason' = 'unpaid invoice 2026-01'`, demo.TenantID); n != 1 {
		t.Errorf("%d suspension entries in the tenant's audit log", n)
	}
	// Staff read why, when and by whom in the tenant's history; a tenant
	// that does not exist has none.
	var hist struct {
		Data []struct {
			Actor, Action string
			Details       map[string]any
		}
		NextBefore *int64 `json:"next_before"`
	}
	if status := w.reader.call("GET", path+"/history", nil, &hist); status != 200 || len(hist.Data) == 0 ||
		hist.Data[0].Actor != "staff:alice@gatekey.dev" || hist.Data[0].Action != "tenant.suspended" ||
		hist.Data[0].Details["reason"] != "unpaid invoice 2026-01" {
		t.Errorf("the tenant's history: %d %+v", status, hist)
	}
	w.reader.refused("GET", "/tenants/999999/history", nil, 404, "not_found")
	w.reader.refused("GET", path+"/history?limit=0", nil, 422, "invalid_request")
	snapshot := func() string {
		return fmt.Sprint(w.Count(t, "SELECT count(*) FROM members"), w.Count(t, "SELECT count(*) FROM memberships WHERE status = 'active'"),
			w.Count(t, "SELECT count(*) FROM orders"), w.Count(t, "SELECT count(*) FROM code_activations"),
			w.Count(t, "SELECT coalesce(sum(activations), 0) FROM access_codes WHERE deleted_at IS NULL"),
			w.Count(t, "SELECT count(*) FROM conversations"), w.Count(t, "SELECT count(*) FROM plans WHERE archived_at IS NULL"))
	}
	before := snapshot()

	// Members, new and old, are told the bot is unavailable, whatever they send.
	carol := w.Fake.AddUser("Carol", "carol")
	for _, c := range []struct {
		who  telegramtest.User
		text string
	}{{bob, codes[1].Code}, {bob, "/start " + codes[1].Code}, {carol, "/start"}, {alice, "/help"}} {
		if msg := say(t, w, botID, c.who, c.text); msg.Text != "This bot is temporarily unavailable. Please try again later." || msg.ReplyMarkup != nil {
			t.Errorf("%s sends %q while suspended: %q", c.who.FirstName, c.text, msg.Text)
		}
	}
	// A button shows the same as a notice.
	if status, err := w.Fake.PressButton(botID, bob.ID, welcome.MessageID, "code"); err != nil || status != 200 {
		t.Fatalf("press: %d %v", status, err)
	}
	w.Wait(t, "the callback answer", func() bool {
		calls := w.Fake.CallsTo("answerCallbackQuery")
		return len(calls) > 0 && calls[len(calls)-1].Params["text"] == "This bot is temporarily unavailable. Please try again later."
	})
	// The owner is told why.
	if msg := say(t, w, botID, owner, "/start"); !strings.Contains(msg.Text, "Gatekey account is suspended") {
		t.Errorf("owner while suspended: %q", msg.Text)
	}
	w.Idle(t)
	if after := snapshot(); after != before {
		t.Errorf("while suspended, data changed: %s, then %s", before, after)
	}
	if !w.Fake.IsMember(channel.TelegramChatID, alice.ID) {
		t.Errorf("Alice was removed from %s while the tenant was suspended", channel.Title)
	}

	// Suspending again changes nothing, and is not logged for the tenant again.
	if status := w.admin.call("POST", path+"/suspend", map[string]string{"reason": "again"}, &res); status != 200 || res.Changed {
		t.Errorf("second suspend: %d %+v", status, res)
	}
	if n := w.Count(t, "SELECT count(*) FROM audit_log WHERE action = 'tenant.suspended'"); n != 1 {
		t.Errorf("%d suspension entries after suspending twice", n)
	}

	// Resumed, the bot works again, with everything as it was.
	if status := w.admin.call("POST", path+"/resume", nil, &res); status != 200 || res != (statusResult{demo.TenantID, "active", true}) {
		t.Fatalf("resume: %d %+v", status, res)
	}
	if msg := say(t, w, botID, bob, codes[1].Code); !strings.Contains(msg.Text, "Welcome to Demo membership") {
		t.Errorf("activation after resuming: %q", msg.Text)
	}
	if n := w.Count(t, "SELECT count(*) FROM audit_log WHERE action = 'tenant.resumed' AND actor = 'staff:alice@gatekey.dev'"); n != 1 {
		t.Errorf("%d resume entries in the tenant's audit log", n)
	}
}

// TestSuspensionAndResumptionAreToldToTheBotAdmins: the admins of each of
// the tenant's connected bots are told in Telegram, through that bot,
// when staff suspend the account and when they resume it, notifications
// on or off; nobody else is, and a call that changes nothing tells nobody.
func TestSuspensionAndResumptionAreToldToTheBotAdmins(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	demo := w.Demo(t)
	path := "/tenants/" + itoa(demo.TenantID)
	shop, err := w.App.ConnectFakeBot(ctx, w.Fake, demo.TenantID, "gatekey_shop_bot")
	if err != nil {
		t.Fatal(err)
	}
	old, err := w.App.ConnectFakeBot(ctx, w.Fake, demo.TenantID, "gatekey_old_bot")
	if err != nil {
		t.Fatal(err)
	}
	_, other := w.TenantWithBot(t, "other@example.com", "other_tenant_bot")

	// Olga runs two of the bots; Otto turned his notifications off;
	// Oscar's bot is disconnected; Odile is another tenant's admin.
	olga, otto := w.Fake.AddUser("Olga", "olga"), w.Fake.AddUser("Otto", "otto")
	oscar, odile := w.Fake.AddUser("Oscar", "oscar"), w.Fake.AddUser("Odile", "odile")
	type seat struct {
		bot tenant.Bot
		who telegramtest.User
	}
	seats := []seat{{demo.Bot, olga}, {shop, olga}, {demo.Bot, otto}, {old, oscar}, {other, odile}}
	for _, s := range seats {
		w.Fake.SetStarted(s.bot.TelegramID, s.who.ID)
		w.Tx(t, s.bot.TenantID, func(tx pgx.Tx) error { return tenant.AddBotAdmin(ctx, tx, s.bot.ID, s.who.ID) })
	}
	w.Tx(t, demo.TenantID, func(tx pgx.Tx) error {
		if err := tenant.SetAdminNotify(ctx, tx, demo.Bot.ID, otto.ID, false); err != nil {
			return err
		}
		return tenant.SetBotStatus(ctx, tx, old.ID, "disconnected")
	})
	told := func(s seat) []string {
		var texts []string
		for _, m := range w.Fake.Messages(s.bot.TelegramID, s.who.ID) {
			texts = append(texts, m.Text)
		}
		return texts
	}
	// check waits for what each seat is told, want[i] messages in all,
	// the last one containing each of last.
	check := func(when string, want []int, last ...string) {
		t.Helper()
		w.Wait(t, "the admins' notices "+when, func() bool {
			for i, s := range seats {
				if len(told(s)) < want[i] {
					return false
				}
			}
			return true
		})
		w.Idle(t)
		for i, s := range seats {
			texts := told(s)
			if len(texts) != want[i] {
				t.Errorf("%s: %s got %d messages from @%s, want %d: %q", when, s.who.FirstName, len(texts), s.bot.Username, want[i], texts)
				continue
			}
			if want[i] == 0 {
				continue
			}
			for _, part := range append(last, "@"+s.bot.Username) {
				if text := texts[len(texts)-1]; !strings.Contains(text, part) {
					t.Errorf("%s: %s was told by @%s %q, without %q", when, s.who.FirstName, s.bot.Username, text, part)
				}
			}
		}
	}

	// A refused suspension tells nobody.
	w.admin.refused("POST", path+"/suspend", map[string]string{"reason": " "}, 422, "invalid_request")
	var res statusResult
	if status := w.admin.call("POST", path+"/suspend", map[string]string{"reason": "unpaid invoice 2026-01"}, &res); status != 200 || !res.Changed {
		t.Fatalf("suspend: %d %+v", status, res)
	}
	check("after the suspension", []int{1, 1, 1, 0, 0}, "Your Gatekey account has been suspended",
		"is paused", "told it is temporarily unavailable", "contact Gatekey support", "console")
	for _, s := range seats {
		for _, text := range told(s) {
			if strings.Contains(text, "unpaid") {
				t.Errorf("the reason, written for staff, was sent to %s: %q", s.who.FirstName, text)
			}
		}
	}
	// Suspended again, nothing changes, and nobody is told twice.
	if status := w.admin.call("POST", path+"/suspend", map[string]string{"reason": "again"}, &res); status != 200 || res.Changed {
		t.Fatalf("second suspend: %d %+v", status, res)
	}
	check("after suspending again", []int{1, 1, 1, 0, 0})

	if status := w.admin.call("POST", path+"/resume", nil, &res); status != 200 || !res.Changed {
		t.Fatalf("resume: %d %+v", status, res)
	}
	check("after resuming", []int{2, 2, 2, 0, 0}, "Your Gatekey account is active again", "answers members as before")
	if status := w.admin.call("POST", path+"/resume", nil, &res); status != 200 || res.Changed {
		t.Fatalf("second resume: %d %+v", status, res)
	}
	check("after resuming again", []int{2, 2, 2, 0, 0})
}
