package sandbox_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/telegram/telegramtest"
	"github.com/gatekey/gatekey/tenant"
)

// answer is an action's JSON answer.
type answer struct {
	Error    string
	Message  string
	Bot      int64
	Username string
	Token    string
}

// act posts a form to the sandbox as its page does and reads the answer.
func act(t *testing.T, u string, form url.Values) (int, answer) {
	t.Helper()
	status, body := call(t, "POST", u, form, true)
	var a answer
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatalf("POST %s: %d %s", u, status, body)
	}
	return status, a
}

// makeBot makes a bot in the BotFather panel.
func (s started) makeBot(t *testing.T, username, name string) answer {
	t.Helper()
	status, a := act(t, s.env.URL+"/sandbox/botfather/bots", url.Values{"username": {username}, "name": {name}})
	if status != 200 || a.Bot == 0 || a.Username != username || !strings.HasPrefix(a.Token, strconv.FormatInt(a.Bot, 10)+":") {
		t.Fatalf("create @%s: %d %+v", username, status, a)
	}
	return a
}

// newOwner signs up a new owner and connects a bot made in the panel
// through the console's own path (app.ConnectBot), as a newcomer does.
func (s started) newOwner(t *testing.T, email, username string) (int64, tenant.Bot) {
	t.Helper()
	made := s.makeBot(t, username, "")
	ctx := context.Background()
	tenantID, err := s.env.App.DB.SignUp(ctx, email, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.env.App.ConnectBot(ctx, tenantID, made.Token)
	if err != nil {
		t.Fatalf("connect @%s: %v", username, err)
	}
	if b.TelegramID != made.Bot {
		t.Fatalf("connected bot %d, made %d", b.TelegramID, made.Bot)
	}
	return tenantID, b
}

// makeChat makes a chat in the panel with the bot as its administrator.
func (s started) makeChat(t *testing.T, b tenant.Bot, kind, title string, ban bool) answer {
	t.Helper()
	form := url.Values{"title": {title}, "kind": {kind}, "bot": {strconv.FormatInt(b.TelegramID, 10)}, "invite": {"on"}}
	if ban {
		form.Set("ban", "on")
	}
	status, a := act(t, s.env.URL+"/sandbox/botfather/chats", form)
	if status != 200 {
		t.Fatalf("create %s: %d %+v", title, status, a)
	}
	return a
}

// TestBotFatherBadInput: each mistake in the BotFather panel gets a clear
// message and makes nothing; a bot that is not connected is not added to
// a chat, since Gatekey would never hear of it; and the panel's actions
// come only from the page.
func TestBotFatherBadInput(t *testing.T) {
	s := start(t)
	s.env.Idle(t)
	loose := s.makeBot(t, "loose_bot", "")
	base := s.env.URL + "/sandbox/botfather"
	demo := strconv.FormatInt(s.demo.Bot.TelegramID, 10)
	bots := len(s.env.Fake.Bots())
	deliveries := len(s.env.Fake.Deliveries())
	for _, c := range []struct {
		path string
		form url.Values
		says string
	}{
		{"/bots", url.Values{"username": {""}}, "Choose a username for the bot"},
		{"/bots", url.Values{"username": {"abot"}}, "5 to 32 characters"},
		{"/bots", url.Values{"username": {strings.Repeat("a", 30) + "bot"}}, "5 to 32 characters"},
		{"/bots", url.Values{"username": {"my-club_bot"}}, "Latin letters, digits and underscores"},
		{"/bots", url.Values{"username": {"1club_bot"}}, "start it with a letter"},
		{"/bots", url.Values{"username": {"my_club"}}, `must end in "bot"`},
		{"/bots", url.Values{"username": {"gatekey_demo_bot"}}, "this username is already taken"},
		{"/bots", url.Values{"username": {"@Gatekey_Demo_BOT"}}, "this username is already taken"},
		{"/bots", url.Values{"username": {"LOOSE_bot"}}, "this username is already taken"},
		{"/bots", url.Values{"username": {"fine_bot"}, "name": {strings.Repeat("n", 65)}}, "64 characters"},
		{"/chats", url.Values{"title": {"  "}, "kind": {"channel"}, "bot": {demo}, "invite": {"on"}}, "Give the channel or group a title"},
		{"/chats", url.Values{"title": {strings.Repeat("t", 129)}, "kind": {"channel"}, "bot": {demo}}, "128 characters"},
		{"/chats", url.Values{"title": {"Club"}, "kind": {"group"}, "bot": {demo}}, "Choose a channel or a group"},
		{"/chats", url.Values{"title": {"Club"}, "kind": {"channel"}, "bot": {"42"}}, "Choose which of the sandbox's bots"},
		{"/chats", url.Values{"title": {"Club"}, "kind": {"channel"}}, "Choose which of the sandbox's bots"},
		{"/chats", url.Values{"title": {"Club"}, "kind": {"channel"}, "bot": {strconv.FormatInt(loose.Bot, 10)}},
			"Connect @loose_bot in the console first"},
	} {
		status, a := act(t, base+c.path, c.form)
		if status != 400 || !strings.Contains(a.Error, c.says) {
			t.Errorf("%s %v: %d %+v; want 400 saying %q", c.path, c.form, status, a, c.says)
		}
	}
	// Nobody talks to a bot that is not connected: Gatekey would not hear.
	me := s.env.URL + "/sandbox/people/" + strconv.FormatInt(s.person(t, "alice").ID, 10)
	for _, c := range []struct {
		path string
		form url.Values
	}{
		{"/send", url.Values{"text": {"/start"}, "bot": {strconv.FormatInt(loose.Bot, 10)}}},
		{"/open", url.Values{"link": {"https://t.me/Loose_Bot?start=ABC"}}},
	} {
		status, a := act(t, me+c.path, c.form)
		if status != 400 || !strings.Contains(a.Error, "@loose_bot is not connected to Gatekey yet") {
			t.Errorf("%s %v: %d %+v; want 400 saying @loose_bot is not connected", c.path, c.form, status, a)
		}
	}
	for _, path := range []string{"/bots", "/chats"} {
		form := url.Values{"username": {"sneaky_bot"}, "title": {"Sneaky"}, "kind": {"channel"}, "bot": {demo}}
		if status, body := call(t, "POST", base+path, form, false); status != 403 {
			t.Errorf("%s without the page's header: %d %s, want 403", path, status, body)
		}
	}
	if n := len(s.env.Fake.Bots()); n != bots {
		t.Errorf("bad input made %d bots", n-bots)
	}
	if n := len(s.env.Fake.Deliveries()); n != deliveries {
		t.Errorf("bad input made Telegram tell a bot %d times", n-deliveries)
	}
	if n := s.env.Count(t, "SELECT count(*) FROM chats"); n != 2 {
		t.Errorf("%d chats in Gatekey, want the demo's two", n)
	}
}

// TestBotFatherChatsReachTheNewOwner: a bot made in the panel connects
// through the console's path, and a channel and a group made in the panel
// with it as administrator arrive at once as chats of the new owner's
// tenant, the group without the right to ban marked so; the page shows
// them for that bot, and the demo bot keeps its own.
func TestBotFatherChatsReachTheNewOwner(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	tenantID, b := s.newOwner(t, "maria@example.com", "maria_club_bot")
	if a := s.makeChat(t, b, "channel", "Maria's Channel", true); !strings.Contains(a.Message, "The console lists it under Bots") {
		t.Errorf("channel made: %q", a.Message)
	}
	if a := s.makeChat(t, b, "supergroup", "Maria's Group", false); !strings.Contains(a.Message, "Without Ban users, the console lists it under Bots as Needs rights") {
		t.Errorf("group made without the right to ban: %q", a.Message)
	}
	var chats []membership.Chat
	s.env.Tx(t, tenantID, func(tx pgx.Tx) (err error) {
		chats, err = membership.ListChats(ctx, tx, b.ID)
		return err
	})
	if len(chats) != 2 {
		t.Fatalf("the new tenant has %d chats: %+v", len(chats), chats)
	}
	byTitle := map[string]membership.Chat{}
	for _, ch := range chats {
		byTitle[ch.Title] = ch
	}
	channel, group := byTitle["Maria's Channel"], byTitle["Maria's Group"]
	if channel.Kind != "channel" || !channel.CanInvite || !channel.CanRestrict || channel.BotStatus != "administrator" {
		t.Errorf("channel: %+v", channel)
	}
	if group.Kind != "supergroup" || !group.CanInvite || group.CanRestrict {
		t.Errorf("group without the right to ban: %+v", group)
	}
	if n := s.env.Count(t, "SELECT count(*) FROM chats WHERE tenant_id = $1", s.demo.TenantID); n != 2 {
		t.Errorf("the demo tenant has %d chats, want its own two", n)
	}

	alice := s.person(t, "alice")
	st := state(t, s.stateURL(b.TelegramID, alice.ID))
	if st.BotID != b.TelegramID || st.Bot != "maria_club_bot" || len(st.Chats) != 2 {
		t.Fatalf("state of @maria_club_bot: bot %d @%s, chats %+v", st.BotID, st.Bot, st.Chats)
	}
	for _, ch := range st.Chats {
		if len(ch.Members) != 1 || ch.Members[0].Name != "@maria_club_bot" {
			t.Errorf("%s's members: %+v", ch.Title, ch.Members)
		}
	}
	var made *botAnswer
	for i, c := range st.Bots {
		if c.ID == b.TelegramID {
			made = &st.Bots[i]
		}
	}
	if made == nil || !made.Connected || made.Token == "" {
		t.Errorf("the page's list of bots: %+v", st.Bots)
	}
	if demo := state(t, s.stateURL(0, alice.ID)); demo.BotID != s.demo.Bot.TelegramID || len(demo.Chats) != 2 || demo.Chats[0].Title != "Demo Channel" {
		t.Errorf("state of the demo bot: %+v", demo.Chats)
	}
}

// TestBotFatherPeopleTalkToTheNewBot: pretend people talk to a bot made in
// the panel once it is connected: the welcome comes from the worker, the
// owner's account becomes its admin through the console's owner link, a
// member activates a code of the new tenant and gets the Join button, the
// membership shows and fast-forwards under the new tenant, and the demo
// bot's chat and memberships stay apart.
func TestBotFatherPeopleTalkToTheNewBot(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	fake := s.env.Fake
	tenantID, b := s.newOwner(t, "maria@example.com", "maria_club_bot")
	s.makeChat(t, b, "channel", "Maria's Channel", true)
	alice, olivia := s.person(t, "alice"), s.person(t, "olivia_owner")
	botParam := strconv.FormatInt(b.TelegramID, 10)
	people := s.env.URL + "/sandbox/people/"

	// /start to the new bot gets its welcome, from the worker.
	if status, a := act(t, people+strconv.FormatInt(alice.ID, 10)+"/send", url.Values{"text": {"/start"}, "bot": {botParam}}); status != 200 {
		t.Fatalf("/start to @maria_club_bot: %d %+v", status, a)
	}
	if msgs := s.env.Messages(t, b.TelegramID, alice.ID, 1); !strings.Contains(msgs[0].Text, "Welcome! This is @maria_club_bot.") {
		t.Fatalf("the new bot's welcome: %q", msgs[0].Text)
	}
	if n := len(fake.Messages(s.demo.Bot.TelegramID, alice.ID)); n != 0 {
		t.Errorf("the demo bot sent Alice %d messages", n)
	}

	// The console's owner link, opened as Olivia while the page plays the
	// demo bot, opens the new bot's chat and makes her its admin.
	var token string
	s.env.Tx(t, tenantID, func(tx pgx.Tx) (err error) {
		token, _, err = tenant.NewOwnerLinkToken(ctx, tx, b.ID)
		return err
	})
	status, a := act(t, people+strconv.FormatInt(olivia.ID, 10)+"/open", url.Values{"link": {tenant.OwnerLink(b.Username, token)}})
	if status != 200 || a.Bot != b.TelegramID {
		t.Fatalf("Olivia opens the owner link: %d %+v", status, a)
	}
	if msgs := s.env.Messages(t, b.TelegramID, olivia.ID, 1); !strings.Contains(msgs[0].Text, "You are now an admin of @maria_club_bot") {
		t.Fatalf("Olivia was told %q", msgs[0].Text)
	}
	st := state(t, s.stateURL(b.TelegramID, olivia.ID))
	if len(st.Messages) != 2 || st.Messages[0].Kind != "me" || !strings.HasPrefix(st.Messages[0].Text, "/start owner-") {
		t.Errorf("Olivia's chat with @maria_club_bot: %+v", st.Messages)
	}
	for _, p := range st.People {
		if p.Admin != (p.ID == olivia.ID) {
			t.Errorf("person %d is an admin of @maria_club_bot: %v", p.ID, p.Admin)
		}
	}

	// A plan and a code of the new tenant; Alice opens the activation link.
	var chats []membership.Chat
	var plan membership.Plan
	s.env.Tx(t, tenantID, func(tx pgx.Tx) (err error) {
		if chats, err = membership.ListChats(ctx, tx, b.ID); err != nil {
			return err
		}
		plan, err = membership.CreatePlan(ctx, tx, membership.NewPlan{BotID: b.ID, Name: "Club", PeriodDays: 30,
			Price: membership.Money{Minor: 500, Currency: "EUR"}, ChatIDs: []int64{chats[0].ID}})
		return err
	})
	code := s.env.Codes(t, tenantID, membership.CodeRequest{PlanID: plan.ID, Count: 1}).Codes[0].Code
	status, a = act(t, people+strconv.FormatInt(alice.ID, 10)+"/open", url.Values{"link": {membership.ActivationLink(b.Username, code)}})
	if status != 200 || a.Bot != b.TelegramID {
		t.Fatalf("Alice opens the activation link: %d %+v", status, a)
	}
	msgs := s.env.Messages(t, b.TelegramID, alice.ID, 2)
	got := msgs[len(msgs)-1]
	if !strings.Contains(got.Text, "Code accepted. Welcome to Club!") || got.ReplyMarkup == nil ||
		got.ReplyMarkup.InlineKeyboard[0][0].Text != "Join Maria's Channel" {
		t.Fatalf("Alice was told %q with %+v", got.Text, got.ReplyMarkup)
	}
	st = state(t, s.stateURL(b.TelegramID, alice.ID))
	if len(st.Memberships) != 1 || st.Memberships[0].Plan != "Club" || st.Memberships[0].Status != "active" {
		t.Fatalf("Alice's memberships of @maria_club_bot: %+v", st.Memberships)
	}
	if demo := state(t, s.stateURL(0, alice.ID)); len(demo.Memberships) != 0 {
		t.Errorf("the demo bot shows Alice's memberships of another tenant: %+v", demo.Memberships)
	}

	// Fast-forward finds the membership only with its own bot.
	ff := s.env.URL + "/sandbox/memberships/" + strconv.FormatInt(st.Memberships[0].ID, 10) + "/fast-forward"
	if status, a := act(t, ff, url.Values{"to": {"end"}}); status != 404 {
		t.Errorf("fast-forward as the demo bot's: %d %+v, want 404", status, a)
	}
	if status, a := act(t, ff, url.Values{"to": {"end"}, "bot": {botParam}}); status != 200 {
		t.Fatalf("fast-forward to end: %d %+v", status, a)
	}
	s.env.Wait(t, "Alice to be told her access ended", func() bool {
		msgs := fake.Messages(b.TelegramID, alice.ID)
		return strings.Contains(msgs[len(msgs)-1].Text, "Your access to Club has ended")
	})
	if st := state(t, s.stateURL(b.TelegramID, alice.ID)); st.Memberships[0].Status != "expired" {
		t.Errorf("after the end: %+v", st.Memberships)
	}
}

// TestBotFatherAfterARestart: the dev database outlives the fake Telegram,
// so a newcomer's bot from an earlier run is still connected when the fake
// starts afresh; the sandbox numbers the fake's bots after it, so that a
// bot made now connects rather than being taken for that one.
func TestBotFatherAfterARestart(t *testing.T) {
	earlier := telegramtest.NewHandlerServer()
	earlier.AddBot("gatekey_demo_bot")
	oldToken, old := earlier.AddBot("maria_club_bot")

	s := startAfter(t, func(env *apptest.Env) {
		ctx := context.Background()
		oldTenant, err := env.App.DB.SignUp(ctx, "maria@example.com", "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		env.Tx(t, oldTenant, func(tx pgx.Tx) error {
			_, err := tenant.AddBot(ctx, tx, env.App.Keys, old.ID, old.Username, oldToken)
			return err
		})
	})
	demo := s.demo
	_, b := s.newOwner(t, "nina@example.com", "nina_club_bot")
	if demo.Bot.TelegramID <= old.ID || b.TelegramID <= demo.Bot.TelegramID {
		t.Errorf("bot ids: earlier %d, demo %d, new %d", old.ID, demo.Bot.TelegramID, b.TelegramID)
	}
}

// stateURL is the page's poll for the bot (0: the demo bot) and person.
func (s started) stateURL(bot, person int64) string {
	return s.env.URL + "/sandbox/state?bot=" + strconv.FormatInt(bot, 10) + "&person=" + strconv.FormatInt(person, 10)
}
