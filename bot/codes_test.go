package bot_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	demo  app.Demo
	owner telegramtest.User
}

// newWorld starts Gatekey with the demo tenant, and an owner who has
// linked their Telegram account to the bot.
func newWorld(t *testing.T) world {
	env := apptest.New(t)
	w := world{Env: env, demo: env.Demo(t), owner: env.Fake.AddUser("Olga", "olga_owner")}
	if _, err := env.Fake.Start(w.demo.Bot.TelegramID, w.owner.ID, ""); err != nil {
		t.Fatal(err)
	}
	// The owner's welcome comes first, so that tests counting what the
	// owner receives later do not count it.
	env.Messages(t, w.demo.Bot.TelegramID, w.owner.ID, 1)
	env.Tx(t, w.demo.TenantID, func(tx pgx.Tx) error {
		return tenant.AddBotAdmin(context.Background(), tx, w.demo.Bot.ID, w.owner.ID)
	})
	return w
}

func (w world) code(t *testing.T, req membership.CodeRequest) string {
	t.Helper()
	if req.PlanID == 0 {
		req.PlanID = w.demo.Plan.ID
	}
	if req.Count == 0 {
		req.Count = 1
	}
	return w.Codes(t, w.demo.TenantID, req).Codes[0].Code
}

// rollBack starts the rollback of a code as the console does: the record
// and its job in one transaction.
func (w world) rollBack(t *testing.T, code string) {
	t.Helper()
	ctx := context.Background()
	w.Tx(t, w.demo.TenantID, func(tx pgx.Tx) error {
		c, err := membership.ListCodes(ctx, tx, membership.CodeFilter{Search: code})
		if err != nil {
			return err
		}
		r, err := membership.StartRollback(ctx, tx, c[0].ID, "test")
		if err != nil {
			return err
		}
		return jobs.Insert(ctx, w.App.River, tx, []river.InsertManyParams{jobs.RollbackCode(w.demo.TenantID, w.demo.Bot.ID, r.ID)})
	})
}

// member is a person who has opened the bot.
func (w world) member(t *testing.T, name string) telegramtest.User {
	u := w.Fake.AddUser(name, strings.ToLower(name))
	if status, err := w.Fake.Start(w.demo.Bot.TelegramID, u.ID, ""); err != nil || status != 200 {
		t.Fatalf("%s /start: %d %v", name, status, err)
	}
	w.Messages(t, w.demo.Bot.TelegramID, u.ID, 1)
	return u
}

// say sends text as u and returns the bot's next message.
func (w world) say(t *testing.T, u telegramtest.User, text string) telegramtest.Message {
	t.Helper()
	before := len(w.Fake.Messages(w.demo.Bot.TelegramID, u.ID))
	if status, err := w.Fake.SendText(w.demo.Bot.TelegramID, u.ID, text); err != nil || status != 200 {
		t.Fatalf("send %q: %d %v", text, status, err)
	}
	return w.Messages(t, w.demo.Bot.TelegramID, u.ID, before+1)[before]
}

func (w world) snapshot(t *testing.T) string {
	return fmt.Sprint(
		w.Count(t, "SELECT count(*) FROM memberships"),
		w.Count(t, "SELECT count(*) FROM orders"),
		w.Count(t, "SELECT count(*) FROM code_activations"),
		w.Count(t, "SELECT coalesce(sum(activations), 0) FROM access_codes"),
	)
}

func joinButtons(m telegramtest.Message) map[string]string {
	out := map[string]string{}
	if m.ReplyMarkup != nil {
		for _, row := range m.ReplyMarkup.InlineKeyboard {
			for _, b := range row {
				if b.URL != "" {
					out[b.Text] = b.URL
				}
			}
		}
	}
	return out
}

func TestActivationLinkGrantsAccessAndNotifiesOwner(t *testing.T) {
	w := newWorld(t)
	code := w.code(t, membership.CodeRequest{})
	alice := w.Fake.AddUser("Alice", "alice")
	if status, err := w.Fake.Start(w.demo.Bot.TelegramID, alice.ID, code); err != nil || status != 200 {
		t.Fatalf("/start %s: %d %v", code, status, err)
	}
	msg := w.Messages(t, w.demo.Bot.TelegramID, alice.ID, 1)[0]
	if !strings.Contains(msg.Text, "Welcome to Demo membership") {
		t.Errorf("confirmation = %q", msg.Text)
	}
	buttons := joinButtons(msg)
	if len(buttons) != 2 {
		t.Fatalf("confirmation has %d Join buttons, want 2: %+v", len(buttons), msg.ReplyMarkup)
	}
	for _, chat := range w.demo.Chats {
		link := buttons["Join "+chat.Title]
		if joined, reason, err := w.Fake.JoinByLink(alice.ID, link); !joined {
			t.Fatalf("Alice joining %s: %s %v", chat.Title, reason, err)
		}
		if !w.Fake.IsMember(chat.TelegramChatID, alice.ID) {
			t.Errorf("Alice is not in %s", chat.Title)
		}
	}
	w.Idle(t)
	if n := w.Count(t, "SELECT count(*) FROM member_chats WHERE status = 'joined'"); n != 2 {
		t.Errorf("%d chats recorded as joined, want 2", n)
	}
	// The owner has the welcome of their own /start and the notification,
	// in either order: their two jobs are sent by whichever worker is free.
	var note telegramtest.Message
	w.Wait(t, "the owner's notification", func() bool {
		for _, m := range w.Fake.Messages(w.demo.Bot.TelegramID, w.owner.ID) {
			if strings.Contains(m.Text, "new to this plan") {
				note = m
				return true
			}
		}
		return false
	})
	w.Idle(t)
	if got := len(w.Fake.Messages(w.demo.Bot.TelegramID, w.owner.ID)); got != 2 {
		t.Errorf("the owner has %d messages, want 2 (the welcome and the notification)", got)
	}
	for _, want := range []string{"@alice", membership.FormatCode(code), "Demo membership", "new to this plan"} {
		if !strings.Contains(note.Text, want) {
			t.Errorf("owner notification %q lacks %q", note.Text, want)
		}
	}
	if n := w.Count(t, "SELECT count(*) FROM notifications WHERE kind = 'code_activated'"); n != 1 {
		t.Errorf("%d notifications recorded, want 1", n)
	}
	// The membership ends after the plan's 30 days; reminder and expiry are queued for then.
	if n := w.Count(t, `SELECT count(*) FROM memberships WHERE ends_at BETWEEN now() + interval '29 days 23 hours' AND now() + interval '30 days'`); n != 1 {
		t.Errorf("no membership ending in 30 days")
	}
	if n := w.Count(t, "SELECT count(*) FROM river_job WHERE kind IN ('membership.remind', 'membership.expire') AND state = 'scheduled'"); n != 2 {
		t.Errorf("%d reminder/expiry jobs scheduled, want 2", n)
	}
}

func TestTypedCodesInEveryAcceptedSpelling(t *testing.T) {
	w := newWorld(t)
	spellings := map[string]func(string) string{
		"as is":       func(c string) string { return c },
		"grouped":     membership.FormatCode,
		"lower case":  strings.ToLower,
		"spaces":      func(c string) string { return strings.ReplaceAll(membership.FormatCode(c), "-", " ") },
		"O, I and L":  func(c string) string { return strings.NewReplacer("0", "O", "1", "l").Replace(strings.ToLower(c)) },
		"padded mess": func(c string) string { return "  " + strings.ReplaceAll(membership.FormatCode(c), "1", "I") + " " },
	}
	for name, spell := range spellings {
		code := w.code(t, membership.CodeRequest{})
		u := w.member(t, "M"+strings.ReplaceAll(name, " ", ""))
		reply := w.say(t, u, spell(code))
		if !strings.Contains(reply.Text, "Code accepted") {
			t.Errorf("%s (%q): reply %q", name, spell(code), reply.Text)
		}
	}
	// "I have a code" from the menu, then the code.
	code := w.code(t, membership.CodeRequest{})
	u := w.member(t, "Menu")
	welcome := w.Fake.Messages(w.demo.Bot.TelegramID, u.ID)[0]
	if _, err := w.Fake.PressButton(w.demo.Bot.TelegramID, u.ID, welcome.MessageID, "code"); err != nil {
		t.Fatal(err)
	}
	if prompt := w.Messages(t, w.demo.Bot.TelegramID, u.ID, 2)[1]; !strings.Contains(prompt.Text, "Send me your access code") {
		t.Errorf("prompt = %q", prompt.Text)
	}
	if reply := w.say(t, u, code); !strings.Contains(reply.Text, "Code accepted") {
		t.Errorf("code after the menu: %q", reply.Text)
	}
}

func TestRefusalsEachSayWhyAndChangeNothing(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	single := w.code(t, membership.CodeRequest{})
	multi := w.code(t, membership.CodeRequest{MaxActivations: 5})
	soon := time.Now().Add(time.Hour)
	expired := w.code(t, membership.CodeRequest{ExpiresAt: &soon})
	if _, err := w.Owner(t).Exec(ctx, "UPDATE access_codes SET expires_at = now() - interval '1 hour' WHERE code = $1", expired); err != nil {
		t.Fatal(err)
	}
	first, second := w.member(t, "First"), w.member(t, "Second")
	w.say(t, first, single)
	w.say(t, first, multi)
	w.Idle(t)

	cases := []struct {
		who  telegramtest.User
		text string
		want string
	}{
		{second, "ABCD-EFGH-JKMN-PQRS", "not valid for this bot"},
		{second, "ABCD-EFGH-JKMN-PQ5", "not valid for this bot"},        // a character short
		{second, "Code: ABCD–EFGH–JKMN–PQ5.", "not valid for this bot"}, // pasted, with a label, en dashes and a full stop
		{second, "hello there, how are you", "Send /start to see what this bot offers"},
		{second, expired, "expired on"},
		{second, single, "already been used as many times"},
		{first, multi, "already activated this code"},
	}
	for _, c := range cases {
		before := w.snapshot(t)
		reply := w.say(t, c.who, c.text)
		if !strings.Contains(reply.Text, c.want) {
			t.Errorf("%q: reply %q, want it to say %q", c.text, reply.Text, c.want)
		}
		if after := w.snapshot(t); after != before {
			t.Errorf("%q changed memberships/orders/activations from %s to %s", c.text, before, after)
		}
	}
}

func TestConcurrentActivationsNeverExceedTheLimit(t *testing.T) {
	w := newWorld(t)
	code := w.code(t, membership.CodeRequest{MaxActivations: 10})
	users := make([]telegramtest.User, 200)
	for i := range users {
		users[i] = w.Fake.AddUser(fmt.Sprintf("U%d", i), fmt.Sprintf("u%d", i))
	}
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				status, err := w.Fake.Start(w.demo.Bot.TelegramID, u.ID, code)
				if err == nil && status == 200 {
					return
				}
				time.Sleep(10 * time.Millisecond) // Telegram redelivers after a failure
			}
		}()
	}
	wg.Wait()
	w.Idle(t)
	if n := w.Count(t, "SELECT count(*) FROM memberships"); n != 10 {
		t.Errorf("%d memberships, want exactly 10", n)
	}
	if n := w.Count(t, "SELECT activations FROM access_codes WHERE code = $1", code); n != 10 {
		t.Errorf("code counts %d activations, want 10", n)
	}
	accepted, refused := 0, 0
	for _, u := range users {
		msgs := w.Messages(t, w.demo.Bot.TelegramID, u.ID, 1)
		switch {
		case strings.Contains(msgs[0].Text, "Code accepted"):
			accepted++
		case strings.Contains(msgs[0].Text, "already been used as many times"):
			refused++
		}
	}
	if accepted != 10 || refused != 190 {
		t.Errorf("%d accepted and %d refused, want 10 and 190", accepted, refused)
	}
}

func TestSecondCodeExtendsTheMembership(t *testing.T) {
	w := newWorld(t)
	u := w.member(t, "Ext")
	w.say(t, u, w.code(t, membership.CodeRequest{}))
	reply := w.say(t, u, w.code(t, membership.CodeRequest{}))
	if !strings.Contains(reply.Text, "now lasts until") {
		t.Errorf("second code's reply = %q", reply.Text)
	}
	if n := w.Count(t, "SELECT count(*) FROM memberships"); n != 1 {
		t.Fatalf("%d memberships, want 1 extended", n)
	}
	if n := w.Count(t, "SELECT count(*) FROM memberships WHERE ends_at - starts_at = interval '60 days'"); n != 1 {
		t.Errorf("the membership does not last 60 days")
	}
	extended := w.Count(t, "SELECT count(*) FROM code_activations WHERE extended")
	if extended != 1 {
		t.Errorf("%d activations recorded as extensions, want 1", extended)
	}
}

// A member whose access to a plan ended, back with a new code, is
// welcomed back, and the owner told they had the plan before.
func TestReturningMemberIsWelcomedBack(t *testing.T) {
	w := newWorld(t)
	u := w.member(t, "Ret")
	if reply := w.say(t, u, w.code(t, membership.CodeRequest{})); !strings.Contains(reply.Text, "Welcome to Demo membership!") {
		t.Fatalf("first code's reply = %q", reply.Text)
	}
	if _, err := w.Owner(t).Exec(context.Background(),
		"UPDATE memberships SET status = 'expired', ends_at = now() - interval '1 day'"); err != nil {
		t.Fatal(err)
	}
	code := w.code(t, membership.CodeRequest{})
	if reply := w.say(t, u, code); !strings.Contains(reply.Text, "Welcome back to Demo membership!") {
		t.Errorf("the returning member's reply = %q", reply.Text)
	}
	want := fmt.Sprintf("activated code %s for Demo membership (back after an earlier membership, ", membership.FormatCode(code))
	w.Wait(t, "the owner's notification", func() bool {
		for _, m := range w.Fake.Messages(w.demo.Bot.TelegramID, w.owner.ID) {
			if strings.Contains(m.Text, want) {
				return true
			}
		}
		return false
	})
	if n := w.Count(t, "SELECT count(*) FROM memberships"); n != 2 {
		t.Errorf("%d memberships, want the old one and a new one", n)
	}
}

// A member who has not joined every chat of their plan gets fresh Join
// buttons after the welcome of a /start, asked once to tap them.
func TestStartOffersJoinButtonsOnce(t *testing.T) {
	w := newWorld(t)
	u := w.member(t, "Lag")
	w.say(t, u, w.code(t, membership.CodeRequest{}))
	before := len(w.Fake.Messages(w.demo.Bot.TelegramID, u.ID))
	if status, err := w.Fake.SendText(w.demo.Bot.TelegramID, u.ID, "/start"); err != nil || status != 200 {
		t.Fatalf("/start: %d %v", status, err)
	}
	msgs := w.Messages(t, w.demo.Bot.TelegramID, u.ID, before+2)[before:]
	nudge := msgs[0]
	if !strings.Contains(nudge.Text, "not joined every chat") {
		nudge = msgs[1]
	}
	const want = "You have not joined every chat of Demo membership yet.\n\nTap below to join:"
	if nudge.Text != want || len(joinButtons(nudge)) != 2 {
		t.Errorf("after /start the member read %q with %d Join buttons, want %q with 2", nudge.Text, len(joinButtons(nudge)), want)
	}
}

func TestZeroPricedAndPricedOrders(t *testing.T) {
	w := newWorld(t)
	priced, zero := false, true
	u := w.member(t, "Buyer")
	w.say(t, u, w.code(t, membership.CodeRequest{ZeroPriced: &zero}))
	w.say(t, u, w.code(t, membership.CodeRequest{ZeroPriced: &priced}))
	if n := w.Count(t, "SELECT count(*) FROM orders WHERE source = 'access_code' AND amount_minor = 0 AND currency = 'USD'"); n != 1 {
		t.Errorf("%d zero-priced orders, want 1", n)
	}
	if n := w.Count(t, "SELECT count(*) FROM orders WHERE source = 'access_code' AND amount_minor = 999 AND currency = 'USD'"); n != 1 {
		t.Errorf("%d orders at the plan's price, want 1", n)
	}
	// The tenant's default decides when the request does not.
	if _, err := w.Owner(t).Exec(context.Background(), "UPDATE tenants SET zero_price_default = false"); err != nil {
		t.Fatal(err)
	}
	w.say(t, u, w.code(t, membership.CodeRequest{}))
	if n := w.Count(t, "SELECT count(*) FROM orders WHERE amount_minor = 999"); n != 2 {
		t.Errorf("with a priced default, %d priced orders, want 2", n)
	}
}

func TestStrangerWithSomeoneElsesLinkIsRemoved(t *testing.T) {
	w := newWorld(t)
	alice, mallory := w.member(t, "Alice"), w.member(t, "Mallory")
	confirmation := w.say(t, alice, w.code(t, membership.CodeRequest{}))
	chat := w.demo.Chats[0]
	link := joinButtons(confirmation)["Join "+chat.Title]
	if joined, reason, _ := w.Fake.JoinByLink(mallory.ID, link); !joined {
		t.Fatalf("Mallory could not even try: %s", reason)
	}
	w.Wait(t, "Mallory removed", func() bool { return !w.Fake.IsMember(chat.TelegramChatID, mallory.ID) })
	w.Idle(t)
	if msgs := w.Fake.Messages(w.demo.Bot.TelegramID, mallory.ID); len(msgs) == 0 ||
		!strings.Contains(msgs[len(msgs)-1].Text, "made for someone else") {
		t.Errorf("Mallory was not told why she was taken out: %+v", msgs)
	}
	if s := w.Fake.MemberStatus(chat.TelegramChatID, mallory.ID); s != "left" {
		t.Errorf("Mallory's status = %q, want left (free to come back with her own membership)", s)
	}
	// The demo's first chat is a channel: one unban without only_if_banned
	// takes her out.
	var calls []string
	for _, c := range w.Fake.Calls() {
		if c.Params["user_id"] == mallory.ID && strings.Contains(c.Method, "ban") {
			calls = append(calls, fmt.Sprint(c.Method, " only_if_banned=", c.Params["only_if_banned"] == true))
		}
	}
	if want := []string{"unbanChatMember only_if_banned=false"}; !slices.Equal(calls, want) {
		t.Errorf("calls to remove Mallory %v, want %v", calls, want)
	}
	revoked := false
	for _, l := range w.Fake.InviteLinks(chat.TelegramChatID) {
		if l.InviteLink == link {
			revoked = l.IsRevoked
		}
	}
	if !revoked {
		t.Error("the misused link was not revoked")
	}
	// Alice asks again and gets a fresh link that admits her.
	fresh := w.say(t, alice, "/start")
	w.Wait(t, "fresh Join buttons", func() bool {
		msgs := w.Fake.Messages(w.demo.Bot.TelegramID, alice.ID)
		return len(joinButtons(msgs[len(msgs)-1])) > 0
	})
	msgs := w.Fake.Messages(w.demo.Bot.TelegramID, alice.ID)
	again := joinButtons(msgs[len(msgs)-1])["Join "+chat.Title]
	if again == "" || again == link {
		t.Fatalf("no fresh link for %s after /start (welcome %q)", chat.Title, fresh.Text)
	}
	if joined, reason, _ := w.Fake.JoinByLink(alice.ID, again); !joined {
		t.Errorf("Alice with her fresh link: %s", reason)
	}
}

// When access ends, the member's unused Join links are revoked on
// Telegram; and should one still admit them (the revoke failed, or raced
// the join), they are taken out at once.
func TestOwnLinkAfterAccessEndedDoesNotLetIn(t *testing.T) {
	w := newWorld(t)
	alice, bob, carol := w.member(t, "Alice"), w.member(t, "Bob"), w.member(t, "Carol")
	code := w.code(t, membership.CodeRequest{})
	links := joinButtons(w.say(t, alice, code))
	carolsCode := w.code(t, membership.CodeRequest{})
	carolsLinks := joinButtons(w.say(t, carol, carolsCode))
	bobsLinks := joinButtons(w.say(t, bob, w.code(t, membership.CodeRequest{})))
	chat := w.demo.Chats[0]
	link, carolsLink := links["Join "+chat.Title], carolsLinks["Join "+chat.Title]
	if link == "" || carolsLink == "" || bobsLinks["Join "+chat.Title] == "" {
		t.Fatalf("no Join buttons: Alice %v, Carol %v, Bob %v", links, carolsLinks, bobsLinks)
	}
	revoked := func(l string) bool {
		for _, il := range w.Fake.InviteLinks(chat.TelegramChatID) {
			if il.InviteLink == l {
				return il.IsRevoked
			}
		}
		return false
	}

	// Alice's code is rolled back before she has used her links: they are
	// revoked, and Telegram no longer lets her in.
	w.rollBack(t, code)
	w.Wait(t, "the rollback", func() bool {
		return w.Count(t, "SELECT count(*) FROM code_rollbacks WHERE status = 'done'") == 1
	})
	w.Idle(t)
	if !revoked(link) {
		t.Errorf("Alice's unused link to %s was not revoked", chat.Title)
	}
	if joined, _, _ := w.Fake.JoinByLink(alice.ID, link); joined || w.Fake.IsMember(chat.TelegramChatID, alice.ID) {
		t.Error("Alice got in with a revoked link")
	}
	if reply := w.say(t, alice, code); !strings.Contains(reply.Text, "no longer valid") {
		t.Errorf("the rolled-back code sent again: %q, want it called no longer valid", reply.Text)
	}

	// Carol's code too, but Telegram refuses to revoke her links: one
	// still admits her, and Gatekey takes her out.
	w.Fake.Fail("revokeChatInviteLink", -1, telegramtest.Failure{Code: 400, Description: "Bad Request: some refusal"})
	w.rollBack(t, carolsCode)
	w.Wait(t, "the second rollback", func() bool {
		return w.Count(t, "SELECT count(*) FROM code_rollbacks WHERE status = 'done'") == 2
	})
	w.Idle(t)
	w.Fake.ClearFailures()
	before := len(w.Fake.Messages(w.demo.Bot.TelegramID, carol.ID))
	if joined, reason, _ := w.Fake.JoinByLink(carol.ID, carolsLink); !joined {
		t.Fatalf("the fake refused the link itself (%s): the test needs Telegram to admit her", reason)
	}
	w.Wait(t, "Carol removed", func() bool { return !w.Fake.IsMember(chat.TelegramChatID, carol.ID) })
	told := w.Messages(t, w.demo.Bot.TelegramID, carol.ID, before+1)[before]
	if !strings.Contains(told.Text, "Your access to "+chat.Title+" has ended") {
		t.Errorf("Carol was told %q", told.Text)
	}
	w.Idle(t)
	if s := w.Fake.MemberStatus(chat.TelegramChatID, carol.ID); s != "left" {
		t.Errorf("Carol's status = %q, want left (free to come back with a new membership)", s)
	}
	if !revoked(carolsLink) {
		t.Error("the link she came through was not revoked")
	}
	if n := w.Count(t, "SELECT count(*) FROM member_chats WHERE status = 'joined'"); n != 0 {
		t.Errorf("%d member_chats rows say joined, want none (nobody with access has joined yet)", n)
	}

	// Bob, whose membership is active, comes in through his link and stays.
	if joined, reason, _ := w.Fake.JoinByLink(bob.ID, bobsLinks["Join "+chat.Title]); !joined {
		t.Fatalf("Bob with his own link: %s", reason)
	}
	w.Idle(t)
	if !w.Fake.IsMember(chat.TelegramChatID, bob.ID) {
		t.Error("Bob, whose access is active, was removed")
	}
}

func TestLifetimeCodeSaysForLife(t *testing.T) {
	w := newWorld(t)
	if _, err := w.Owner(t).Exec(context.Background(), "UPDATE plans SET period_days = NULL WHERE id = $1", w.demo.Plan.ID); err != nil {
		t.Fatal(err)
	}
	alice := w.member(t, "Alice")
	ownerBefore := len(w.Fake.Messages(w.demo.Bot.TelegramID, w.owner.ID))
	if reply := w.say(t, alice, w.code(t, membership.CodeRequest{})); !strings.Contains(reply.Text, "You have access for life.") {
		t.Errorf("confirmation = %q, want it to say the access is for life", reply.Text)
	}
	told := w.Messages(t, w.demo.Bot.TelegramID, w.owner.ID, ownerBefore+1)[ownerBefore]
	if !strings.Contains(told.Text, "(new to this plan, for life)") {
		t.Errorf("owner told %q", told.Text)
	}
	if welcome := w.say(t, alice, "/start"); !strings.Contains(welcome.Text, w.demo.Plan.Name+": for life") {
		t.Errorf("welcome = %q, want her access listed as for life", welcome.Text)
	}
}

// A code for a plan whose chats a lifetime membership opens already is
// refused and left unused: it would spend an activation on nothing. A plan
// with a chat more is granted.
func TestACodeThatWouldAddNothingIsLeftUnused(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if _, err := w.Owner(t).Exec(ctx, "UPDATE plans SET period_days = NULL WHERE id = $1", w.demo.Plan.ID); err != nil {
		t.Fatal(err)
	}
	var week, more membership.Plan
	w.Tx(t, w.demo.TenantID, func(tx pgx.Tx) (err error) {
		channel := []int64{w.demo.Chats[0].ID}
		if week, err = membership.CreatePlan(ctx, tx, membership.NewPlan{BotID: w.demo.Bot.ID, Name: "Channel week", PeriodDays: 7,
			Price: membership.Money{Currency: "USD"}, ChatIDs: channel}); err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, "DELETE FROM plan_chats WHERE plan_id = $1 AND chat_id <> $2", w.demo.Plan.ID, channel[0]); err != nil {
			return err
		}
		more, err = membership.CreatePlan(ctx, tx, membership.NewPlan{BotID: w.demo.Bot.ID, Name: "Both chats", PeriodDays: 7,
			Price: membership.Money{Currency: "USD"}, ChatIDs: []int64{w.demo.Chats[0].ID, w.demo.Chats[1].ID}})
		return err
	})
	alice := w.member(t, "Alice")
	w.say(t, alice, w.code(t, membership.CodeRequest{})) // the demo plan, for life, over the channel
	before := w.snapshot(t)
	reply := w.say(t, alice, w.code(t, membership.CodeRequest{PlanID: week.ID}))
	if want := "Your lifetime access to " + w.demo.Plan.Name + " already opens every chat of Channel week"; !strings.HasPrefix(reply.Text, want) {
		t.Errorf("a code that adds nothing: %q, want %q", reply.Text, want)
	}
	if after := w.snapshot(t); after != before {
		t.Errorf("a code that adds nothing was used: %s -> %s", before, after)
	}
	if reply := w.say(t, alice, w.code(t, membership.CodeRequest{PlanID: more.ID})); !strings.Contains(reply.Text, "Code accepted") {
		t.Errorf("a code for a plan with another chat: %q", reply.Text)
	}
}

// Only text meant as a code is answered as one and counts toward the
// brake on guessing: a question that happens to be sixteen letters of the
// code alphabet, a /start tag that is not a code, or a word sent after
// "I have a code" does not; a code inside a sentence is found.
func TestOnlyCodeShapedTextCountsAsACode(t *testing.T) {
	w := newWorld(t)
	u := w.member(t, "Wendy")
	failures := func() int {
		return w.Count(t, "SELECT code_failures FROM members WHERE telegram_user_id = "+strconv.FormatInt(u.ID, 10))
	}
	for _, c := range []struct{ text, want string }{
		{"where is my channel", "Send /start to see what this bot offers"},
		{"what does this mean", "That is not an access code"}, // four words of four letters: looked up, not counted
		{"/start hello", "Welcome! This is @"},
	} {
		if reply := w.say(t, u, c.text); !strings.HasPrefix(reply.Text, c.want) {
			t.Errorf("%q: reply %q, want %q", c.text, reply.Text, c.want)
		}
	}
	welcome := w.say(t, u, "/start")
	w.press(t, u, welcome, "code", "Send me your access code")
	if reply := w.say(t, u, "hello"); !strings.HasPrefix(reply.Text, "That is not an access code") {
		t.Errorf("a word after I have a code: %q", reply.Text)
	}
	for _, text := range []string{"I paid 25 dollars", "My order number is 4471"} {
		if reply := w.say(t, u, text); !strings.HasPrefix(reply.Text, "Send /start to see what this bot offers") {
			t.Errorf("%q: reply %q, want the help", text, reply.Text)
		}
	}
	if n := failures(); n != 0 {
		t.Errorf("%d wrong codes counted for text that was not meant as a code", n)
	}
	// A four-letter word before a code written in groups reads as a code
	// too; the real one after it is still found.
	code := w.code(t, membership.CodeRequest{})
	for !strings.ContainsAny(code, "0123456789") { // one in 400: not looked for in a sentence
		code = w.code(t, membership.CodeRequest{})
	}
	if reply := w.say(t, u, "code "+strings.ReplaceAll(membership.FormatCode(code), "-", " ")); !strings.Contains(reply.Text, "Code accepted") {
		t.Errorf("a code after the word code: %q", reply.Text)
	}
	for _, text := range []string{"my code is %s 🙏", "%s please"} {
		code := w.code(t, membership.CodeRequest{})
		for !strings.ContainsAny(code, "0123456789") { // one in 400: not looked for in a sentence
			code = w.code(t, membership.CodeRequest{})
		}
		sent := fmt.Sprintf(text, strings.ReplaceAll(membership.FormatCode(code), "-", " "))
		if reply := w.say(t, u, sent); !strings.Contains(reply.Text, "Code accepted") {
			t.Errorf("%q: reply %q, want the code read", sent, reply.Text)
		}
	}
	// An activation link pasted instead of opened, as the CSV gives it.
	link := membership.ActivationLink(w.demo.Bot.Username, w.code(t, membership.CodeRequest{}))
	if reply := w.say(t, u, link); !strings.Contains(reply.Text, "Code accepted") {
		t.Errorf("a pasted activation link %q: reply %q, want the code read", link, reply.Text)
	}
}

func TestGuessingCodesIsSlowed(t *testing.T) {
	w := newWorld(t)
	good := w.code(t, membership.CodeRequest{})
	u := w.member(t, "Guesser")
	for i := range membership.MaxCodeFailures {
		reply := w.say(t, u, fmt.Sprintf("ZZZZ-ZZZZ-ZZZZ-ZZ%02d", i))
		if !strings.Contains(reply.Text, "not valid") {
			t.Fatalf("guess %d: %q", i, reply.Text)
		}
		// The one before last warns; the last says to wait, not to send again.
		warned, wait := strings.Contains(reply.Text, "after one more wrong code"), strings.Contains(reply.Text, "please wait 10 minutes")
		if warned != (i == membership.MaxCodeFailures-2) || wait != (i == membership.MaxCodeFailures-1) {
			t.Errorf("guess %d: %q", i+1, reply.Text)
		}
	}
	before := w.snapshot(t)
	reply := w.say(t, u, good)
	if !strings.Contains(reply.Text, "Too many wrong codes") || !strings.Contains(reply.Text, "minutes") {
		t.Errorf("sixth try: %q, want to be told to wait", reply.Text)
	}
	if after := w.snapshot(t); after != before {
		t.Errorf("a code sent while locked out was looked up: %s -> %s", before, after)
	}
	// When the window has passed, the good code works.
	if _, err := w.Owner(t).Exec(context.Background(), "UPDATE members SET code_failures_since = now() - interval '11 minutes'"); err != nil {
		t.Fatal(err)
	}
	if reply := w.say(t, u, good); !strings.Contains(reply.Text, "Code accepted") {
		t.Errorf("after the wait: %q", reply.Text)
	}
}
