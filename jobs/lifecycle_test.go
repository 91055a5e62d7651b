package jobs_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/telegram/telegramtest"
	"github.com/gatekey/gatekey/tenant"
)

type world struct {
	*apptest.Env
	demo app.Demo
}

func newWorld(t *testing.T, opts apptest.Options) world {
	opts.Work = true
	env := apptest.Start(t, opts)
	w := world{Env: env, demo: env.Demo(t)}
	// River's leader runs the reconciler once when it starts. Run later,
	// amid a test's set-up, it would end that test's memberships in its
	// own way: wait until it has run, so that each test chooses the way.
	w.Wait(t, "the start-up reconcile", func() bool {
		return w.Count(t, "SELECT count(*) FROM river_job WHERE kind = 'membership.reconcile' AND state = 'completed'") > 0
	})
	return w
}

func (w world) plan(t *testing.T, name string, days int, chats ...membership.Chat) membership.Plan {
	var p membership.Plan
	ids := []int64{}
	for _, c := range chats {
		ids = append(ids, c.ID)
	}
	w.Tx(t, w.demo.TenantID, func(tx pgx.Tx) error {
		var err error
		p, err = membership.CreatePlan(context.Background(), tx, membership.NewPlan{BotID: w.demo.Bot.ID, Name: name, PeriodDays: days,
			Price: membership.Money{Currency: "USD"}, ChatIDs: ids})
		return err
	})
	return p
}

// activate has a new member open the bot with a fresh code of plan, and
// join every chat through the Join buttons.
func (w world) activate(t *testing.T, name string, plan membership.Plan) telegramtest.User {
	t.Helper()
	code := w.Codes(t, w.demo.TenantID, membership.CodeRequest{PlanID: plan.ID, Count: 1}).Codes[0].Code
	u := w.Fake.AddUser(name, strings.ToLower(name))
	return w.activateAs(t, u, code, len(plan.ChatIDs))
}

func (w world) activateAs(t *testing.T, u telegramtest.User, code string, joins int) telegramtest.User {
	t.Helper()
	before := len(w.Fake.Messages(w.demo.Bot.TelegramID, u.ID))
	if status, err := w.Fake.Start(w.demo.Bot.TelegramID, u.ID, code); err != nil || status != 200 {
		t.Fatalf("activate: %d %v", status, err)
	}
	msg := w.Messages(t, w.demo.Bot.TelegramID, u.ID, before+1)[before]
	n := 0
	if msg.ReplyMarkup != nil {
		for _, row := range msg.ReplyMarkup.InlineKeyboard {
			if joined, reason, _ := w.Fake.JoinByLink(u.ID, row[0].URL); !joined {
				t.Fatalf("join %s: %s", row[0].Text, reason)
			}
			n++
		}
	}
	if n != joins {
		t.Fatalf("%d Join buttons, want %d (message %q)", n, joins, msg.Text)
	}
	if prompt := strings.HasSuffix(msg.Text, "Tap below to join:"); prompt != (joins > 0) {
		t.Errorf("the confirmation %q asks to tap below: %v, with %d Join buttons", msg.Text, prompt, joins)
	}
	return u
}

func (w world) owner(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := w.Owner(t).Exec(context.Background(), sql, args...); err != nil {
		t.Fatal(err)
	}
}

func (w world) reconcile(t *testing.T) {
	t.Helper()
	if _, err := w.App.River.Insert(context.Background(), jobs.ReconcileArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	w.Idle(t)
}

func lastText(w world, t *testing.T, u telegramtest.User) string {
	msgs := w.Fake.Messages(w.demo.Bot.TelegramID, u.ID)
	return msgs[len(msgs)-1].Text
}

// TestMembershipIsRemindedThenRemovedAtTheEnd takes a 2-day membership
// through its last day: the reminder when a day is left, then the removal.
func TestMembershipIsRemindedThenRemovedAtTheEnd(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	pass := w.plan(t, "Weekend pass", 2, w.demo.Chats...)
	u := w.activate(t, "Dana", pass)
	w.Idle(t)
	if text := lastText(w, t, u); strings.Contains(text, "ends on") {
		t.Fatalf("reminded with two days left: %q", text)
	}
	// A day passes: the reconciler finds the reminder due.
	w.owner(t, "UPDATE memberships SET starts_at = starts_at - interval '1 day', ends_at = ends_at - interval '1 day'")
	w.reconcile(t)
	w.Wait(t, "the reminder", func() bool { return strings.Contains(lastText(w, t, u), "ends on") })
	w.Idle(t)
	if n := w.Count(t, "SELECT count(*) FROM memberships WHERE reminded_at IS NOT NULL"); n != 1 {
		t.Errorf("reminder not recorded")
	}
	// The end arrives: move the membership a day back, and its expiry job to now.
	w.owner(t, "UPDATE memberships SET starts_at = starts_at - interval '1 day', ends_at = ends_at - interval '1 day'")
	w.owner(t, "UPDATE river_job SET scheduled_at = now() WHERE kind = 'membership.expire'")
	w.Wait(t, "removal from both chats", func() bool {
		return !w.Fake.IsMember(w.demo.Chats[0].TelegramChatID, u.ID) && !w.Fake.IsMember(w.demo.Chats[1].TelegramChatID, u.ID)
	})
	w.Idle(t)
	if !strings.Contains(lastText(w, t, u), "has ended, and you have been removed from its chats") {
		t.Errorf("the member was not told: %q", lastText(w, t, u))
	}
	for _, c := range w.demo.Chats {
		if s := w.Fake.MemberStatus(c.TelegramChatID, u.ID); s != "left" {
			t.Errorf("status in %s = %q, want left (unbanned, free to come back)", c.Title, s)
		}
	}
	if n := w.Count(t, "SELECT count(*) FROM memberships WHERE status = 'expired'"); n != 1 {
		t.Errorf("membership not expired")
	}
	// Telegram told the bot of its own removals (chat_member):
	// Gatekey's record stays as the removal made it.
	if n := w.Count(t, "SELECT count(*) FROM member_chats WHERE status = 'removed'"); n != 2 {
		t.Errorf("%d chats recorded as removed from, want 2", n)
	}
}

// TestOneDayMembershipIsNotRemindedAtOnce: a day pass's confirmation names
// its end, and a reminder right behind it would only repeat it.
func TestOneDayMembershipIsNotRemindedAtOnce(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	day := w.plan(t, "Day pass", 1, w.demo.Chats...)
	u := w.activate(t, "Dan", day)
	w.reconcile(t)
	for _, m := range w.Fake.Messages(w.demo.Bot.TelegramID, u.ID) {
		if strings.Contains(m.Text, "ends on") {
			t.Errorf("a day pass was reminded at once: %q", m.Text)
		}
	}
	if n := w.Count(t, "SELECT count(*) FROM river_job WHERE kind = 'membership.remind' AND state NOT IN ('completed', 'cancelled', 'discarded')"); n != 0 {
		t.Errorf("%d reminder jobs left to run", n)
	}
}

// TestRemovalRefusedIsToldToTheOwner: the bot lost the right to ban in
// the channel after the member joined. When the access ends the member is
// not told they were removed, stays recorded as in the channel, and the
// bot's admin is told to act.
func TestRemovalRefusedIsToldToTheOwner(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	channel := w.demo.Chats[0]
	bot := w.demo.Bot.TelegramID
	admin := w.Fake.AddUser("Olga", "olga")
	if status, err := w.Fake.Start(bot, admin.ID, ""); err != nil || status != 200 {
		t.Fatalf("admin /start: %d %v", status, err)
	}
	w.Tx(t, w.demo.TenantID, func(tx pgx.Tx) error {
		return tenant.AddBotAdmin(context.Background(), tx, w.demo.Bot.ID, admin.ID)
	})
	// Olga has turned notifications off: they announce activations, and
	// a removal to make by hand is told all the same.
	w.owner(t, "UPDATE bot_admins SET notify = false")
	week := w.plan(t, "Week pass", 7, channel)
	u := w.activate(t, "Nora", week)
	w.activate(t, "Noel", week)
	// Nell never joins: there is no one to remove, and nobody to tell.
	nell := w.Fake.AddUser("Nell", "nell")
	if status, err := w.Fake.Start(bot, nell.ID, w.Codes(t, w.demo.TenantID, membership.CodeRequest{PlanID: week.ID, Count: 1}).Codes[0].Code); err != nil || status != 200 {
		t.Fatalf("Nell's code: %d %v", status, err)
	}
	w.Messages(t, bot, nell.ID, 1)
	if status, err := w.Fake.AddBotToChat(bot, channel.TelegramChatID, telegramtest.AdminRights{CanInviteUsers: true}); err != nil || status != 200 {
		t.Fatalf("take the ban right away: %d %v", status, err)
	}
	w.owner(t, "UPDATE memberships SET ends_at = now() - interval '1 second'")
	w.reconcile(t)
	w.Wait(t, "the admin's notice", func() bool {
		msgs := w.Fake.Messages(bot, admin.ID)
		return len(msgs) > 0 && strings.Contains(msgs[len(msgs)-1].Text, "would not let @gatekey_demo_bot remove them")
	})
	w.Idle(t)
	if !w.Fake.IsMember(channel.TelegramChatID, u.ID) {
		t.Fatal("the fake removed the member without the right")
	}
	if text := lastText(w, t, u); text != "Your access to Week pass has ended.\n\n"+jobs.RenewText(week) {
		t.Errorf("the member was told %q", text)
	}
	if n := w.Count(t, "SELECT count(*) FROM member_chats WHERE status = 'joined'"); n != 2 {
		t.Errorf("%d chats recorded as joined, want the channel still, for both", n)
	}
	if n := w.Count(t, "SELECT count(*) FROM notifications WHERE kind = 'removal_refused' AND text LIKE '%no longer has access to Demo Channel%'"); n != 2 {
		t.Errorf("%d notices on the dashboard, want one for each member", n)
	}
	// In Telegram, the admin hears of the first refusal of the hour alone.
	notices := 0
	for _, m := range w.Fake.Messages(bot, admin.ID) {
		if strings.Contains(m.Text, "would not let @gatekey_demo_bot remove them") {
			notices++
		}
	}
	if notices != 1 {
		t.Errorf("the admin got %d notices in Telegram, want 1", notices)
	}
}

// A member whose other plan keeps them in one of an ended plan's chats is
// told which chats they were removed from, not all of the plan's.
func TestEndingNamesTheChatsLeftWhenAnotherPlanKeepsOne(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	channel, group := w.demo.Chats[0], w.demo.Chats[1]
	both, groupOnly := w.plan(t, "Both chats", 7, channel, group), w.plan(t, "Group only", 30, group)
	u := w.activate(t, "Cora", groupOnly)
	code := w.Codes(t, w.demo.TenantID, membership.CodeRequest{PlanID: both.ID, Count: 1}).Codes[0].Code
	w.activateAs(t, u, code, 1) // the channel: she is in the group already
	w.owner(t, "UPDATE memberships SET ends_at = now() - interval '1 second' WHERE plan_id = $1", both.ID)
	w.reconcile(t)
	w.Wait(t, "removal from the channel", func() bool { return !w.Fake.IsMember(channel.TelegramChatID, u.ID) })
	w.Idle(t)
	if !w.Fake.IsMember(group.TelegramChatID, u.ID) {
		t.Fatal("the member was removed from the group her other plan opens")
	}
	want := "Your access to Both chats has ended, and you have been removed from Demo Channel. You keep its other chats through your other access."
	if text := lastText(w, t, u); !strings.HasPrefix(text, want) {
		t.Errorf("the member was told %q, want %q", text, want)
	}
}

// A chat taken out of a plan stays open to the members it let in until
// their access ends, and they leave it then with the plan's other chats;
// a Join link they had not used yet still lets them in meanwhile.
func TestAChatTakenOutOfAPlanIsLeftAtTheEnd(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	channel, group := w.demo.Chats[0], w.demo.Chats[1]
	plan := w.plan(t, "Week pass", 7, channel, group)
	dora := w.activate(t, "Dora", plan) // in both chats
	code := w.Codes(t, w.demo.TenantID, membership.CodeRequest{PlanID: plan.ID, Count: 1}).Codes[0].Code
	eli := w.Fake.AddUser("Eli", "eli") // has his links, joins nothing yet
	if status, err := w.Fake.Start(w.demo.Bot.TelegramID, eli.ID, code); err != nil || status != 200 {
		t.Fatalf("activate: %d %v", status, err)
	}
	var groupLink string
	for _, row := range w.Messages(t, w.demo.Bot.TelegramID, eli.ID, 1)[0].ReplyMarkup.InlineKeyboard {
		if row[0].Text == "Join "+group.Title {
			groupLink = row[0].URL
		}
	}
	w.Tx(t, w.demo.TenantID, func(tx pgx.Tx) error {
		_, err := membership.UpdatePlan(context.Background(), tx, plan.ID, membership.NewPlan{
			Name: plan.Name, PeriodDays: 7, Price: plan.Price, ChatIDs: []int64{channel.ID}})
		return err
	})
	if joined, reason, _ := w.Fake.JoinByLink(eli.ID, groupLink); !joined {
		t.Fatalf("Eli's own link to the group taken out of his plan: %s", reason)
	}
	w.Idle(t)
	if !w.Fake.IsMember(group.TelegramChatID, eli.ID) {
		t.Fatal("Eli was taken out of the group at once, while his access runs")
	}
	w.owner(t, "UPDATE memberships SET ends_at = now() - interval '1 second' WHERE plan_id = $1", plan.ID)
	w.reconcile(t)
	for _, u := range []telegramtest.User{dora, eli} {
		w.Wait(t, u.FirstName+"'s removal from the group", func() bool { return !w.Fake.IsMember(group.TelegramChatID, u.ID) })
		want := "Your access to Week pass has ended, and you have been removed from Demo Channel and Demo Group."
		if u.ID == eli.ID {
			want = "Your access to Week pass has ended, and you have been removed from Demo Group."
		}
		if text := lastText(w, t, u); !strings.HasPrefix(text, want) {
			t.Errorf("%s was told %q, want %q", u.FirstName, text, want)
		}
	}
}

// TestLinksOfAnEarlierEndingAreRevokedAtTheLast: a member holds two plans
// opening one channel and never joins. The first plan's end leaves its
// Join link alone (the second still opens the channel); the second's end
// revokes the member's links, the first plan's too.
func TestLinksOfAnEarlierEndingAreRevokedAtTheLast(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	channel := w.demo.Chats[0]
	bot := w.demo.Bot.TelegramID
	first, second := w.plan(t, "Day pass", 1, channel), w.plan(t, "Weekend pass", 2, channel)
	u := w.Fake.AddUser("Mia", "mia")
	var links []string
	for _, p := range []membership.Plan{first, second} {
		code := w.Codes(t, w.demo.TenantID, membership.CodeRequest{PlanID: p.ID, Count: 1}).Codes[0].Code
		before := len(w.Fake.Messages(bot, u.ID))
		if status, err := w.Fake.Start(bot, u.ID, code); err != nil || status != 200 {
			t.Fatalf("activate: %d %v", status, err)
		}
		msg := w.Messages(t, bot, u.ID, before+1)[before]
		if msg.ReplyMarkup == nil || len(msg.ReplyMarkup.InlineKeyboard) != 1 {
			t.Fatalf("no Join button: %q", msg.Text)
		}
		links = append(links, msg.ReplyMarkup.InlineKeyboard[0][0].URL)
	}
	revoked := func(link string) bool {
		for _, l := range w.Fake.InviteLinks(channel.TelegramChatID) {
			if l.InviteLink == link {
				return l.IsRevoked
			}
		}
		t.Fatalf("no link %s", link)
		return false
	}
	end := func(p membership.Plan) {
		w.owner(t, "UPDATE memberships SET ends_at = now() - interval '1 second' WHERE plan_id = $1", p.ID)
		w.reconcile(t)
	}
	end(first)
	if revoked(links[0]) || revoked(links[1]) {
		t.Errorf("a link was revoked while the second plan still opens the channel")
	}
	end(second)
	if !revoked(links[0]) || !revoked(links[1]) {
		t.Errorf("after the last end, revoked: first plan's link %v, second's %v; want both", revoked(links[0]), revoked(links[1]))
	}
}

// twoPlansSharingTheGroup gives Sam two plans: Both (the demo's channel
// and group, 30 days) and Group only (90 days), and has him join both chats.
func (w world) twoPlansSharingTheGroup(t *testing.T) (u telegramtest.User, both, groupOnly membership.Plan) {
	t.Helper()
	channel, group := w.demo.Chats[0], w.demo.Chats[1]
	both = w.plan(t, "Both", 30, channel, group)
	groupOnly = w.plan(t, "Group only", 90, group)
	u = w.activate(t, "Sam", both)
	code := w.Codes(t, w.demo.TenantID, membership.CodeRequest{PlanID: groupOnly.ID, Count: 1}).Codes[0].Code
	w.activateAs(t, u, code, 0) // already in the group: no Join button needed
	return u, both, groupOnly
}

func TestSharedChatStaysWhileAnotherPlanGrantsIt(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	channel, group := w.demo.Chats[0], w.demo.Chats[1]
	u, both, _ := w.twoPlansSharingTheGroup(t)
	w.owner(t, "UPDATE memberships SET ends_at = now() - interval '1 second' WHERE plan_id = $1", both.ID)
	w.reconcile(t)
	if w.Fake.IsMember(channel.TelegramChatID, u.ID) {
		t.Error("still in the channel that only the ended plan opened")
	}
	if !w.Fake.IsMember(group.TelegramChatID, u.ID) {
		t.Error("removed from the group that the other plan still opens")
	}
}

// Two plans sharing a chat end in one sweep: the shared chat is left once,
// and neither message says other access keeps it.
func TestSharedChatOfTwoEndingsKeepsNothing(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	channel, group := w.demo.Chats[0], w.demo.Chats[1]
	u, _, _ := w.twoPlansSharingTheGroup(t)
	w.Idle(t)
	before := len(w.Fake.Messages(w.demo.Bot.TelegramID, u.ID))
	w.owner(t, "UPDATE memberships SET ends_at = now() - interval '1 second'")
	w.reconcile(t)
	msgs := w.Messages(t, w.demo.Bot.TelegramID, u.ID, before+2)[before:]
	for _, m := range msgs {
		if strings.Contains(m.Text, "You keep") {
			t.Errorf("both plans ended, yet the member is told %q", m.Text)
		}
	}
	if w.Fake.IsMember(channel.TelegramChatID, u.ID) || w.Fake.IsMember(group.TelegramChatID, u.ID) {
		t.Error("still in a chat after both plans ended")
	}
}

// TestRemovalGoesOnWhereItStopped ends a membership whose removal meets
// trouble at every step: the bot may not remove anyone from the first chat
// (for good), the second chat fails once (a 5xx), and the message meets
// flood control once. Each new attempt goes on from where the last one
// stopped: no chat is called again once done, and the message goes once.
// The membership ends by its own expiry job (a telegram.remove_member
// job) or by the reconciler (a batch, telegram.remove_members).
func TestRemovalGoesOnWhereItStopped(t *testing.T) {
	t.Run("alone", func(t *testing.T) {
		testRemovalGoesOnWhereItStopped(t, "telegram.remove_member", func(w world) {
			w.owner(t, "UPDATE river_job SET scheduled_at = now() WHERE kind = 'membership.expire'")
		})
	})
	t.Run("in a batch", func(t *testing.T) {
		testRemovalGoesOnWhereItStopped(t, "telegram.remove_members", func(w world) { w.reconcile(t) })
	})
}

func testRemovalGoesOnWhereItStopped(t *testing.T, kind string, end func(world)) {
	w := newWorld(t, apptest.Options{})
	u := w.activate(t, "Remy", w.demo.Plan)
	w.Idle(t)
	first, second := w.demo.Chats[0].TelegramChatID, w.demo.Chats[1].TelegramChatID
	in := func(chat int64) func(map[string]any) bool {
		return func(p map[string]any) bool { return p["chat_id"] == chat && p["user_id"] == u.ID }
	}
	// The demo's chats are a channel and a supergroup: one unbanChatMember
	// removes a member from each (TestRemovalFromABasicGroupBansFirst
	// covers the other kind).
	w.Fake.FailWhen("unbanChatMember", -1, telegramtest.Failure{Code: 400, Description: "Bad Request: not enough rights to restrict/unrestrict chat member"}, in(first))
	w.Fake.FailWhen("unbanChatMember", 1, telegramtest.Fail5xx(), in(second))
	w.Fake.Fail("sendMessage", 1, telegramtest.Fail429(1))
	before := len(w.Fake.Calls())

	w.owner(t, "UPDATE memberships SET ends_at = now() - interval '1 second'")
	end(w)
	w.Wait(t, "the removal to finish", func() bool {
		return w.Count(t, "SELECT count(*) FROM river_job WHERE kind = $1 AND state = 'completed'", kind) == 1
	})
	calls := map[string]int{}
	for _, c := range w.Fake.Calls()[before:] {
		if c.Params["user_id"] == u.ID || c.Params["chat_id"] == u.ID {
			calls[fmt.Sprint(c.Method, " ", c.Params["chat_id"], " ", c.Status)]++
		}
	}
	want := map[string]int{
		fmt.Sprint("unbanChatMember ", first, " 400"):  1, // refused for good: left alone after one try
		fmt.Sprint("unbanChatMember ", second, " 500"): 1,
		fmt.Sprint("unbanChatMember ", second, " 200"): 1,
		fmt.Sprint("sendMessage ", u.ID, " 429"):       1,
		fmt.Sprint("sendMessage ", u.ID, " 200"):       1,
	}
	if !maps.Equal(calls, want) {
		t.Errorf("calls %v, want %v", calls, want)
	}
	if !strings.Contains(lastText(w, t, u), "has ended") {
		t.Errorf("the member was not told: %q", lastText(w, t, u))
	}
	if s := w.Fake.MemberStatus(second, u.ID); s != "left" {
		t.Errorf("status in the second chat = %q, want left", s)
	}
	if !w.Fake.IsMember(first, u.ID) {
		t.Error("out of the chat the bot may not remove anyone from")
	}
}

// A basic group has no unban that removes a member, so a member there is
// banned and then unbanned (only if banned), and is free to come back.
func TestRemovalFromABasicGroupBansFirst(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	group, err := w.App.AddFakeChat(context.Background(), w.Fake, w.demo.Bot, "group", "Basic Group")
	if err != nil {
		t.Fatal(err)
	}
	channel := w.demo.Chats[0]
	u := w.activate(t, "Gus", w.plan(t, "Group and channel", 30, group, channel))
	w.Idle(t)
	if !w.Fake.IsMember(group.TelegramChatID, u.ID) || !w.Fake.IsMember(channel.TelegramChatID, u.ID) {
		t.Fatal("the member did not join both chats")
	}
	before := len(w.Fake.Calls())
	w.owner(t, "UPDATE memberships SET ends_at = now() - interval '1 second'")
	w.reconcile(t)
	w.Wait(t, "the removal to finish", func() bool {
		return w.Count(t, "SELECT count(*) FROM river_job WHERE kind = 'telegram.remove_members' AND state = 'completed'") == 1
	})
	var calls []string
	for _, c := range w.Fake.Calls()[before:] {
		if c.Params["user_id"] == u.ID {
			calls = append(calls, fmt.Sprint(c.Method, " ", c.Params["chat_id"], " only_if_banned=", c.Params["only_if_banned"] == true))
		}
	}
	ban := fmt.Sprint("banChatMember ", group.TelegramChatID, " only_if_banned=false")
	unban := fmt.Sprint("unbanChatMember ", group.TelegramChatID, " only_if_banned=true")
	kick := fmt.Sprint("unbanChatMember ", channel.TelegramChatID, " only_if_banned=false")
	got := slices.Sorted(slices.Values(calls))
	if want := []string{ban, kick, unban}; !slices.Equal(got, want) || slices.Index(calls, ban) > slices.Index(calls, unban) {
		t.Errorf("calls %v, want %v, the group's ban before its unban", calls, want)
	}
	for _, c := range []membership.Chat{group, channel} {
		if s := w.Fake.MemberStatus(c.TelegramChatID, u.ID); s != "left" {
			t.Errorf("status in %s = %q, want left (free to come back)", c.Title, s)
		}
	}
}

// ended gives n new members of the demo bot, who have started it, a
// membership of the demo plan that has just ended, and returns their
// Telegram ids and the memberships' ids, in the same order.
func (w world) ended(t *testing.T, n int) (users, memberships []int64) {
	return w.endedOf(t, w.demo.TenantID, w.demo.Bot, w.demo.Plan.ID, n)
}

// endedOf is ended for any tenant's bot and plan.
func (w world) endedOf(t *testing.T, tenantID int64, bot tenant.Bot, planID int64, n int) (users, memberships []int64) {
	t.Helper()
	users = make([]int64, n)
	for i := range users {
		users[i] = w.Fake.AddUser(fmt.Sprintf("E%d", i), "").ID
		w.Fake.SetStarted(bot.TelegramID, users[i])
	}
	w.Tx(t, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(context.Background(), `WITH m AS (
			INSERT INTO members (tenant_id, bot_id, telegram_user_id) SELECT gatekey_tenant(), $1, u FROM unnest($2::bigint[]) WITH ORDINALITY AS x(u, i) ORDER BY i RETURNING id)
			INSERT INTO memberships (tenant_id, member_id, plan_id, starts_at, ends_at)
			SELECT gatekey_tenant(), id, $3, now() - interval '30 days', now() - interval '1 second' FROM m ORDER BY id RETURNING id`,
			bot.ID, users, planID)
		if err == nil {
			memberships, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		}
		return err
	})
	return users, memberships
}

// TestReconcilerTakesTenantsInTurn gives one tenant more endings than the
// reconciler handles in one transaction, and another tenant one: the
// second tenant's removal is queued before the first tenant's last ones,
// not after all of them.
func TestReconcilerTakesTenantsInTurn(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	ctx := context.Background()
	other, bot := w.TenantWithBot(t, "other@example.com", "other_tenant_bot")
	chat, err := w.App.AddFakeChat(ctx, w.Fake, bot, "channel", "Other Channel")
	if err != nil {
		t.Fatal(err)
	}
	var plan membership.Plan
	w.Tx(t, other, func(tx pgx.Tx) error {
		plan, err = membership.CreatePlan(ctx, tx, membership.NewPlan{BotID: bot.ID, Name: "Other", PeriodDays: 30,
			Price: membership.Money{Currency: "USD"}, ChatIDs: []int64{chat.ID}})
		return err
	})
	// The tenant with the lower id comes first in the reconciler's list.
	big, small := w.demo.TenantID, other
	if big > small {
		t.Fatalf("the demo tenant (%d) was made after the other (%d)", big, small)
	}
	w.ended(t, jobs.SweepBatch+jobs.RemovalBatch)
	w.endedOf(t, other, bot, plan.ID, 1)

	w.reconcile(t)
	var smallJob, bigLastJob int64
	if err := w.Owner(t).QueryRow(ctx, `SELECT
		min(id) FILTER (WHERE (args->>'tenant_id')::bigint = $1), max(id) FILTER (WHERE (args->>'tenant_id')::bigint = $2)
		FROM river_job WHERE kind = 'telegram.remove_members'`, small, big).Scan(&smallJob, &bigLastJob); err != nil {
		t.Fatal(err)
	}
	if smallJob > bigLastJob {
		t.Errorf("the small tenant's removal (job %d) was queued after all of the big tenant's (last: job %d)", smallJob, bigLastJob)
	}
}

// TestBulkRemovalsGoInBatchesPastTrouble has the reconciler end
// RemovalBatch + 5 memberships of one bot: they go as two jobs, and
// trouble with one member holds up no other. One member has blocked the
// bot, one message meets flood control, one chat fails once with a 5xx;
// every member is out of both chats, and no call that succeeded or was
// refused for good is made again: each chat once per member (twice for
// the 5xx), each message once (twice for the flood), the blocker's once
// and refused. The blocker is marked unreachable.
func TestBulkRemovalsGoInBatchesPastTrouble(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	users, _ := w.ended(t, jobs.RemovalBatch+5)
	blocker, flooded, failing := users[3], users[7], users[12]
	channel, group := w.demo.Chats[0].TelegramChatID, w.demo.Chats[1].TelegramChatID
	for _, u := range users {
		for _, chat := range []int64{channel, group} {
			if err := w.Fake.SetMemberStatus(chat, u, "member"); err != nil {
				t.Fatal(err)
			}
		}
	}
	to := func(user int64) func(map[string]any) bool {
		return func(p map[string]any) bool { return p["chat_id"] == user }
	}
	w.Fake.FailWhen("sendMessage", -1, telegramtest.Fail403Blocked(), to(blocker))
	w.Fake.FailWhen("sendMessage", 1, telegramtest.Fail429(1), to(flooded))
	w.Fake.FailWhen("unbanChatMember", 1, telegramtest.Fail5xx(), func(p map[string]any) bool {
		return p["chat_id"] == group && p["user_id"] == failing
	})
	before := len(w.Fake.Calls())

	w.reconcile(t)
	w.Wait(t, "both batches to finish", func() bool {
		return w.Count(t, "SELECT count(*) FROM river_job WHERE kind = 'telegram.remove_members' AND state = 'completed'") == 2
	})
	if n := w.Count(t, "SELECT count(*) FROM river_job WHERE kind LIKE 'telegram.remove_member%'"); n != 2 {
		t.Errorf("%d removal jobs, want 2", n)
	}
	// The 5xx came after the batch had got somewhere: a snooze, not a
	// failed attempt.
	if n := w.Count(t, "SELECT count(*) FROM river_job WHERE kind = 'telegram.remove_members' AND cardinality(errors) > 0"); n != 0 {
		t.Errorf("%d batches recorded a failed attempt, want 0", n)
	}
	calls := map[string]int{}
	for _, c := range w.Fake.Calls()[before:] {
		switch c.Method {
		case "unbanChatMember", "banChatMember":
			calls[fmt.Sprint(c.Method, " ", c.Params["chat_id"], " ", c.Params["user_id"], " ", c.Status)]++
		case "sendMessage":
			calls[fmt.Sprint("tell ", c.Params["chat_id"], " ", c.Status)]++
		}
	}
	want := map[string]int{
		fmt.Sprint("unbanChatMember ", group, " ", failing, " 500"): 1,
		fmt.Sprint("tell ", flooded, " 429"):                        1,
		fmt.Sprint("tell ", blocker, " 403"):                        1,
	}
	for _, u := range users {
		want[fmt.Sprint("unbanChatMember ", channel, " ", u, " 200")] = 1
		want[fmt.Sprint("unbanChatMember ", group, " ", u, " 200")] = 1
		if u != blocker {
			want[fmt.Sprint("tell ", u, " 200")] = 1
		}
	}
	if !maps.Equal(calls, want) {
		t.Errorf("calls %v, want %v", calls, want)
	}
	for _, u := range users {
		if w.Fake.IsMember(channel, u) || w.Fake.IsMember(group, u) {
			t.Errorf("user %d is still in a chat", u)
		}
	}
	if n := w.Count(t, "SELECT count(*) FROM members WHERE telegram_user_id = $1 AND unreachable_at IS NOT NULL", blocker); n != 1 {
		t.Error("the member who blocked the bot is not marked unreachable")
	}
}

// TestEndingsYieldToConversations queues the ends of 400 memberships and
// then a reply to someone talking to the bot, all while the Telegram queue
// is paused: once it runs again, the reply goes out among the first, not
// after the removals queued before it.
func TestEndingsYieldToConversations(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	ctx := context.Background()
	const n = 400 // more than the 256 a process works at once
	_, ids := w.ended(t, n)
	if err := w.App.River.QueuePause(ctx, jobs.QueueTelegram, nil); err != nil {
		t.Fatal(err)
	}
	expiries := make([]river.InsertManyParams, len(ids))
	for i, id := range ids {
		expiries[i] = river.InsertManyParams{Args: jobs.ExpireMembershipArgs{TenantID: w.demo.TenantID, BotID: w.demo.Bot.ID, MembershipID: id}}
	}
	if _, err := w.App.River.InsertMany(ctx, expiries); err != nil {
		t.Fatal(err)
	}
	w.Wait(t, "the removals to be queued", func() bool {
		return w.Count(t, "SELECT count(*) FROM river_job WHERE kind = 'telegram.remove_member'") == n
	})
	talker := w.Fake.AddUser("Tess", "tess")
	w.Fake.SetStarted(w.demo.Bot.TelegramID, talker.ID)
	reply := jobs.SendMessageArgs{TenantID: w.demo.TenantID, BotID: w.demo.Bot.ID, ChatID: talker.ID, Text: "Here is your answer."}
	if _, err := w.App.River.Insert(ctx, reply, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.App.River.QueueResume(ctx, jobs.QueueTelegram, nil); err != nil {
		t.Fatal(err)
	}
	w.Wait(t, "every message", func() bool { return len(w.Fake.CallsTo("sendMessage")) >= n+1 })
	after := -1
	for _, c := range w.Fake.CallsTo("sendMessage") {
		if c.Params["chat_id"] == talker.ID {
			after = 0
		} else if after >= 0 {
			after++
		}
	}
	// Queued last, the reply would follow all but the 256 removals a
	// process starts at once.
	if after < n/2 {
		t.Errorf("the reply went out before only %d of the %d end-of-access messages queued before it", after, n)
	}
}

func TestReconcilerCatchesWhatJobsMissed(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	u := w.activate(t, "Rita", w.demo.Plan)
	w.Idle(t)
	before := len(w.Fake.Messages(w.demo.Bot.TelegramID, u.ID))
	// 23 hours left: the reminder is due; its job was for another time.
	w.owner(t, "UPDATE memberships SET ends_at = now() + interval '23 hours'")
	w.reconcile(t)
	if !strings.Contains(lastText(w, t, u), "ends on") {
		t.Fatalf("no reminder from the reconciler: %q", lastText(w, t, u))
	}
	// The expiry job is lost, the end passes: the reconciler removes her.
	w.owner(t, "DELETE FROM river_job WHERE kind = 'membership.expire'")
	w.owner(t, "UPDATE memberships SET ends_at = now() - interval '1 minute'")
	w.reconcile(t)
	w.Wait(t, "removal", func() bool { return !w.Fake.IsMember(w.demo.Chats[0].TelegramChatID, u.ID) })
	if n := len(w.Fake.Messages(w.demo.Bot.TelegramID, u.ID)) - before; n != 2 {
		t.Errorf("%d messages from the reconciler, want 2 (reminder, end)", n)
	}
	// Reconciling again finds nothing more to do.
	calls := len(w.Fake.Calls())
	w.reconcile(t)
	if n := len(w.Fake.Calls()) - calls; n != 0 {
		t.Errorf("a second reconcile made %d Telegram calls", n)
	}
}

func TestAutoDeleteFollowsTheSettingInForceNow(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	b := w.Codes(t, w.demo.TenantID, membership.CodeRequest{PlanID: w.demo.Plan.ID, Count: 3, MaxActivations: 5})
	used := b.Codes[2].Code
	w.activateAs(t, w.Fake.AddUser("Uma", "uma"), used, 2)
	sweep := func() {
		if _, err := w.App.River.Insert(context.Background(), jobs.SweepArgs{}, nil); err != nil {
			t.Fatal(err)
		}
		w.Idle(t)
	}
	w.owner(t, "UPDATE tenants SET code_autodelete_days = 14")
	w.owner(t, "UPDATE access_codes SET created_at = now() - interval '8 days'")
	sweep()
	if n := w.Count(t, "SELECT count(*) FROM access_codes WHERE deleted_at IS NOT NULL"); n != 0 {
		t.Fatalf("%d codes deleted at 8 days old with a 14-day setting", n)
	}
	w.owner(t, "UPDATE tenants SET code_autodelete_days = 2")
	sweep()
	if n := w.Count(t, "SELECT count(*) FROM access_codes WHERE deleted_at IS NOT NULL AND auto_deleted"); n != 2 {
		t.Errorf("%d codes marked auto-deleted after the setting went to 2 days, want the 2 unused ones", n)
	}
	if n := w.Count(t, "SELECT count(*) FROM access_codes WHERE code = $1 AND deleted_at IS NULL", used); n != 1 {
		t.Error("a partly used code was deleted")
	}
}

func TestTelegramFailuresDelayButLoseNothing(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	w.Fake.Fail("sendMessage", 15, telegramtest.Fail429(1))
	users := make([]telegramtest.User, 5)
	for i := range users {
		users[i] = w.Fake.AddUser(fmt.Sprintf("P%d", i), fmt.Sprintf("p%d", i))
		if _, err := w.Fake.Start(w.demo.Bot.TelegramID, users[i].ID, ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range users {
		w.Messages(t, w.demo.Bot.TelegramID, u.ID, 1)
	}
	if n := len(w.Fake.CallsTo("sendMessage")); n < 20 {
		t.Errorf("only %d sendMessage calls: the 429s were not retried", n)
	}

	// A member who blocked the bot is marked, and not retried.
	blocker := w.Fake.AddUser("Blocker", "blocker")
	if _, err := w.Fake.Start(w.demo.Bot.TelegramID, blocker.ID, ""); err != nil {
		t.Fatal(err)
	}
	w.Messages(t, w.demo.Bot.TelegramID, blocker.ID, 1)
	w.Fake.BlockBot(blocker.ID, w.demo.Bot.TelegramID)
	if _, err := w.App.River.Insert(context.Background(), jobs.SendMessageArgs{TenantID: w.demo.TenantID, BotID: w.demo.Bot.ID, ChatID: blocker.ID, Text: "hello?"}, nil); err != nil {
		t.Fatal(err)
	}
	w.Idle(t)
	if n := w.Count(t, "SELECT count(*) FROM members WHERE telegram_user_id = $1 AND unreachable_at IS NOT NULL", blocker.ID); n != 1 {
		t.Error("the member who blocked the bot is not marked unreachable")
	}
	if n := w.Count(t, "SELECT count(*) FROM river_job WHERE kind = 'telegram.send_message' AND state = 'cancelled'"); n != 1 {
		t.Errorf("%d cancelled send jobs, want 1 (the blocked one, not retried)", n)
	}
}

func TestBurstOfRemindersKeepsToTheBotLimit(t *testing.T) {
	w := newWorld(t, apptest.Options{RealTelegramLimits: true})
	ctx := context.Background()
	const n = 1000
	users := make([]int64, n)
	for i := range users {
		u := w.Fake.AddUser(fmt.Sprintf("R%d", i), "")
		users[i] = u.ID
	}
	// The fake accepts messages only to users who opened the bot.
	for _, id := range users {
		w.Fake.SetStarted(w.demo.Bot.TelegramID, id)
	}
	w.Tx(t, w.demo.TenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `WITH m AS (
			INSERT INTO members (tenant_id, bot_id, telegram_user_id) SELECT gatekey_tenant(), $1, u FROM unnest($2::bigint[]) u RETURNING id)
			INSERT INTO memberships (tenant_id, member_id, plan_id, starts_at, ends_at)
			SELECT gatekey_tenant(), id, $3, now() - interval '29 days', now() + interval '12 hours' FROM m`,
			w.demo.Bot.ID, users, w.demo.Plan.ID)
		return err
	})
	start := time.Now()
	if _, err := w.App.River.Insert(ctx, jobs.ReconcileArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := w.Fake.WaitFor(waitCtx, func() bool { return len(w.Fake.CallsTo("sendMessage")) >= n }); err != nil {
		t.Fatalf("%d of %d reminders sent: %v", len(w.Fake.CallsTo("sendMessage")), n, err)
	}
	took := time.Since(start)
	var at []time.Time
	for _, c := range w.Fake.CallsTo("sendMessage") {
		at = append(at, c.At)
	}
	if most := maxInWindow(at, time.Second); most > 30 {
		t.Errorf("%d messages within one second, want at most 30", most)
	}
	t.Logf("1,000 reminders in %s (%.1f messages/s)", took.Round(time.Millisecond), float64(n)/took.Seconds())
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

// A member who sends four codes one after another, as fast as Telegram
// delivers them, reads the four confirmations in that order, each with the
// end its code made: with Telegram's real limits the third and fourth
// wait past MaxWait and are told to come back, and come back together.
func TestOneMembersRepliesKeepTheirOrder(t *testing.T) {
	w := newWorld(t, apptest.Options{RealTelegramLimits: true})
	plan := w.plan(t, "Day pass", 1)
	codes := w.Codes(t, w.demo.TenantID, membership.CodeRequest{PlanID: plan.ID, Count: 4}).Codes
	u := w.Fake.AddUser("Quick", "quick")
	if status, err := w.Fake.Start(w.demo.Bot.TelegramID, u.ID, ""); err != nil || status != 200 {
		t.Fatalf("/start: %d %v", status, err)
	}
	w.Messages(t, w.demo.Bot.TelegramID, u.ID, 1)
	for _, c := range codes {
		if status, err := w.Fake.SendText(w.demo.Bot.TelegramID, u.ID, c.Code); err != nil || status != 200 {
			t.Fatalf("send code: %d %v", status, err)
		}
	}
	msgs := w.Messages(t, w.demo.Bot.TelegramID, u.ID, 5)[1:]
	var ends time.Time
	if err := w.Owner(t).QueryRow(context.Background(), "SELECT ends_at FROM memberships WHERE plan_id = $1", plan.ID).Scan(&ends); err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		want := "until " + membership.FormatDate(ends.AddDate(0, 0, i-3))
		if !strings.Contains(m.Text, want) {
			t.Errorf("confirmation %d of 4 = %q, want %q", i+1, m.Text, want)
		}
	}
}

// A member who never joined the plan's chats is told their access ended,
// not that they were removed from chats they were never in.
func TestEndingWithoutJoiningSaysNothingOfRemoval(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	plan := w.plan(t, "Week pass", 7, w.demo.Chats...)
	code := w.Codes(t, w.demo.TenantID, membership.CodeRequest{PlanID: plan.ID, Count: 1}).Codes[0].Code
	u := w.Fake.AddUser("Nell", "nell")
	if status, err := w.Fake.Start(w.demo.Bot.TelegramID, u.ID, code); err != nil || status != 200 {
		t.Fatalf("activate: %d %v", status, err)
	}
	w.Messages(t, w.demo.Bot.TelegramID, u.ID, 1)
	w.owner(t, "UPDATE memberships SET starts_at = starts_at - interval '7 days', ends_at = now()")
	w.owner(t, "UPDATE river_job SET scheduled_at = now(), args = jsonb_set(args, '{ends_at}', to_jsonb(now())) WHERE kind = 'membership.expire'")
	w.reconcile(t)
	w.Wait(t, "the ending's message", func() bool { return strings.Contains(lastText(w, t, u), "has ended") })
	if text := lastText(w, t, u); strings.Contains(text, "removed") || !strings.Contains(text, "Your access to Week pass has ended.") {
		t.Errorf("a member who never joined was told %q", text)
	}
}

// TestWhileSuspendedMembersAreNotInvitedToRenew: a suspended tenant's bot
// answers every code and /start with "temporarily unavailable", so its
// reminders and endings tell members that renewals are paused instead of
// inviting them to send one, and say nothing of why. Each way a reminder
// or an ending is sent (its own job, the reconciler) is taken, and an
// archived plan too.
func TestWhileSuspendedMembersAreNotInvitedToRenew(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	ctx := context.Background()
	weekend, old := w.plan(t, "Weekend pass", 2, w.demo.Chats...), w.plan(t, "Old pass", 2, w.demo.Chats[0])
	dana, ezra := w.activate(t, "Dana", weekend), w.activate(t, "Ezra", old)
	w.Idle(t)
	w.Tx(t, w.demo.TenantID, func(tx pgx.Tx) error {
		if err := membership.ArchivePlan(ctx, tx, old.ID); err != nil {
			return err
		}
		_, err := tenant.SetStatus(ctx, tx, tenant.StatusSuspended)
		return err
	})
	bot := w.demo.Bot.TelegramID
	seen := map[int64]int{dana.ID: len(w.Fake.Messages(bot, dana.ID)), ezra.ID: len(w.Fake.Messages(bot, ezra.ID))}

	// A day passes. Dana's reminder comes from its job, Ezra's from the
	// reconciler.
	w.owner(t, "UPDATE memberships SET starts_at = starts_at - interval '1 day', ends_at = ends_at - interval '1 day'")
	var danaMembership int64
	var danaEnd time.Time
	err := w.Owner(t).QueryRow(ctx, `SELECT ms.id, ms.ends_at FROM memberships ms JOIN members m ON m.id = ms.member_id
		WHERE m.telegram_user_id = $1`, dana.ID).Scan(&danaMembership, &danaEnd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.App.River.Insert(ctx, jobs.RemindMembershipArgs{TenantID: w.demo.TenantID, BotID: w.demo.Bot.ID,
		MembershipID: danaMembership, EndsAt: danaEnd}, nil); err != nil {
		t.Fatal(err)
	}
	w.Wait(t, "Dana's reminder", func() bool { return strings.Contains(lastText(w, t, dana), "ends on") })
	w.reconcile(t)
	w.Wait(t, "Ezra's reminder", func() bool { return strings.Contains(lastText(w, t, ezra), "ends on") })
	if text := lastText(w, t, dana); !strings.HasSuffix(text, ".\n\nRenewals are paused for the moment. Please check back here later to renew.") {
		t.Errorf("Dana's reminder while suspended: %q", text)
	}
	if text := lastText(w, t, ezra); !strings.HasSuffix(text, ".\n\nThis plan is no longer offered.") {
		t.Errorf("Ezra's reminder (an archived plan) while suspended: %q", text)
	}

	// The end passes. Dana's comes from its job, Ezra's (its job lost)
	// from the reconciler.
	w.owner(t, "UPDATE memberships SET starts_at = starts_at - interval '1 day', ends_at = ends_at - interval '1 day'")
	w.owner(t, "DELETE FROM river_job WHERE kind = 'membership.expire' AND (args->>'membership_id')::bigint <> $1", danaMembership)
	w.owner(t, "UPDATE river_job SET scheduled_at = now() WHERE kind = 'membership.expire'")
	w.Wait(t, "Dana's ending", func() bool { return strings.Contains(lastText(w, t, dana), "has ended") })
	w.reconcile(t)
	w.Wait(t, "Ezra's ending", func() bool { return strings.Contains(lastText(w, t, ezra), "has ended") })
	if text := lastText(w, t, dana); text != "Your access to Weekend pass has ended, and you have been removed from its chats.\n\n"+
		"Renewals are paused for the moment. Please check back here later to renew." {
		t.Errorf("Dana's ending while suspended: %q", text)
	}
	if text := lastText(w, t, ezra); text != "Your access to Old pass has ended, and you have been removed from its chats.\n\nThis plan is no longer offered." {
		t.Errorf("Ezra's ending (an archived plan) while suspended: %q", text)
	}
	// Nothing sent to them while suspended asks for a code or /start, or
	// speaks of the owner's account.
	for _, u := range []telegramtest.User{dana, ezra} {
		msgs := w.Fake.Messages(bot, u.ID)
		if n := len(msgs) - seen[u.ID]; n != 2 {
			t.Errorf("%s got %d messages while suspended, want 2 (reminder, ending)", u.FirstName, n)
		}
		for _, m := range msgs[seen[u.ID]:] {
			if strings.Contains(m.Text, "/start") || strings.Contains(m.Text, "code") || strings.Contains(m.Text, "suspend") || strings.Contains(m.Text, "Gatekey") {
				t.Errorf("%s was told while suspended: %q", u.FirstName, m.Text)
			}
		}
	}
}

// TestAutoDeleteTellsTheOwnerOnceASweep: a sweep that deletes codes leaves
// one line for the dashboard, however many codes, and sends it to the
// bot's admins who take notifications; a sweep that deletes none says
// nothing.
func TestAutoDeleteTellsTheOwnerOnceASweep(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	ctx := context.Background()
	bot := w.demo.Bot.TelegramID
	admins := []telegramtest.User{w.Fake.AddUser("Ada", "ada"), w.Fake.AddUser("Quiet", "quiet")}
	for _, a := range admins {
		if _, err := w.Fake.Start(bot, a.ID, ""); err != nil {
			t.Fatal(err)
		}
		w.Messages(t, bot, a.ID, 1)
	}
	w.Tx(t, w.demo.TenantID, func(tx pgx.Tx) error {
		for _, a := range admins {
			if err := tenant.AddBotAdmin(ctx, tx, w.demo.Bot.ID, a.ID); err != nil {
				return err
			}
		}
		return tenant.SetAdminNotify(ctx, tx, w.demo.Bot.ID, admins[1].ID, false)
	})
	before := []int{len(w.Fake.Messages(bot, admins[0].ID)), len(w.Fake.Messages(bot, admins[1].ID))}
	w.Codes(t, w.demo.TenantID, membership.CodeRequest{PlanID: w.demo.Plan.ID, Count: 3})
	sweep := func() {
		if _, err := w.App.River.Insert(ctx, jobs.SweepArgs{}, nil); err != nil {
			t.Fatal(err)
		}
		w.Idle(t)
	}
	w.owner(t, "UPDATE tenants SET code_autodelete_days = 3")
	sweep() // nothing old enough yet
	if n := w.Count(t, "SELECT count(*) FROM notifications WHERE kind = 'codes_auto_deleted'"); n != 0 {
		t.Fatalf("%d auto-delete notifications from a sweep that deleted nothing", n)
	}
	w.owner(t, "UPDATE access_codes SET created_at = now() - interval '4 days'")
	sweep()
	sweep() // nothing left to delete: nothing more to tell
	want := "Auto-delete removed 3 unused codes (setting: 3 days)."
	var texts []string
	rows, err := w.Owner(t).Query(ctx, "SELECT text FROM notifications WHERE kind = 'codes_auto_deleted'")
	if err != nil {
		t.Fatal(err)
	}
	if texts, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(texts, []string{want}) {
		t.Errorf("notifications %q, want one %q", texts, want)
	}
	var told []string
	for _, m := range w.Messages(t, bot, admins[0].ID, before[0]+1)[before[0]:] {
		told = append(told, m.Text)
	}
	if !slices.Equal(told, []string{want}) {
		t.Errorf("the admin was told %q, want %q once", told, want)
	}
	if n := len(w.Fake.Messages(bot, admins[1].ID)) - before[1]; n != 0 {
		t.Errorf("the admin with notifications off got %d messages", n)
	}
}
