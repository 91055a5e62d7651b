package webhooks_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mymmrac/telego"

	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/telegram/telegramtest"
)

// startDemo runs Gatekey with the demo tenant and returns it, with an
// owner-role pool for looking behind the application's back.
func startDemo(t *testing.T) (*apptest.Env, app.Demo, *pgxpool.Pool) {
	t.Helper()
	env := apptest.New(t)
	demo, err := env.App.SeedDemo(context.Background(), env.Fake, "owner@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	owner, err := pgxpool.New(context.Background(), env.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(owner.Close)
	return env, demo, owner
}

func count(t *testing.T, db *pgxpool.Pool, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func startUpdate(updateID int, user telegramtest.User) telego.Update {
	return telego.Update{UpdateID: updateID, Message: &telego.Message{
		MessageID: updateID, Date: 1, Text: "/start",
		Chat:     telego.Chat{ID: user.ID, Type: telego.ChatTypePrivate},
		From:     &telego.User{ID: user.ID, FirstName: user.FirstName},
		Entities: []telego.MessageEntity{{Type: "bot_command", Offset: 0, Length: 6}},
	}}
}

func TestStartListsTheTenantsPlans(t *testing.T) {
	env, demo, _ := startDemo(t)
	alice := env.Fake.AddUser("Alice", "alice")
	status, err := env.Fake.Start(demo.Bot.TelegramID, alice.ID, "")
	if err != nil || status != http.StatusOK {
		t.Fatalf("/start: status %d, err %v", status, err)
	}
	var reply string
	env.Wait(t, "the welcome", func() bool {
		msgs := env.Fake.Messages(demo.Bot.TelegramID, alice.ID)
		if len(msgs) > 0 {
			reply = msgs[0].Text
		}
		return len(msgs) > 0
	})
	for _, want := range []string{"@gatekey_demo_bot", "Demo membership", "1 month", "9.99 USD"} {
		if !strings.Contains(reply, want) {
			t.Errorf("welcome %q does not mention %q", reply, want)
		}
	}
}

func TestRedeliveredUpdateIsHandledOnce(t *testing.T) {
	env, demo, owner := startDemo(t)
	bob := env.Fake.AddUser("Bob", "bob")
	if _, err := env.Fake.Start(demo.Bot.TelegramID, bob.ID, ""); err != nil { // opens the chat
		t.Fatal(err)
	}
	u := startUpdate(900001, bob)
	for range 2 {
		if status, err := env.Fake.Deliver(demo.Bot.TelegramID, u); err != nil || status != 200 {
			t.Fatalf("delivery: %d %v", status, err)
		}
	}
	// And the same update again, ten times at once.
	u2 := startUpdate(900002, bob)
	var wg sync.WaitGroup
	statuses := make(chan int, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, _ := env.Fake.Deliver(demo.Bot.TelegramID, u2)
			statuses <- s
		}()
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 200 {
			t.Errorf("concurrent redelivery answered %d, want 200", s)
		}
	}
	// One welcome for the Start, one for each distinct update: 3 in all.
	env.Wait(t, "three welcomes", func() bool { return len(env.Fake.Messages(demo.Bot.TelegramID, bob.ID)) >= 3 })
	if n := count(t, owner, "SELECT count(*) FROM river_job WHERE kind = 'telegram.send_message' AND args->>'chat_id' = $1", fmt.Sprint(bob.ID)); n != 3 {
		t.Errorf("%d reply jobs for Bob, want 3 (one per distinct update)", n)
	}
	env.Wait(t, "jobs done", func() bool {
		return count(t, owner, "SELECT count(*) FROM river_job WHERE state <> 'completed'") == 0
	})
	if n := len(env.Fake.Messages(demo.Bot.TelegramID, bob.ID)); n != 3 {
		t.Errorf("Bob got %d messages, want 3", n)
	}
}

func TestRejectedDeliveriesChangeNothing(t *testing.T) {
	env, demo, owner := startDemo(t)
	carol := env.Fake.AddUser("Carol", "carol")
	before := count(t, owner, "SELECT count(*) FROM processed_updates")
	// The periodic jobs (run on start, by whichever moment the leader is
	// elected) are no delivery's doing.
	const deliveryJobs = "SELECT count(*) FROM river_job WHERE kind NOT IN ('membership.reconcile', 'maintenance.sweep', 'billing.invoice_sweep')"
	jobsBefore := count(t, owner, deliveryJobs)
	body := []byte(`{"update_id": 777, "message": {"message_id": 1, "date": 1, "chat": {"id": 5, "type": "private"}, "from": {"id": 5, "is_bot": false, "first_name": "X"}, "text": "/start"}}`)

	_, secret, _, _ := env.Fake.Webhook(demo.Bot.TelegramID)
	post := func(path, secret string, body []byte) int { return postUpdate(t, env.URL+path, secret, body) }
	path := fmt.Sprintf("/telegram/%d", demo.Bot.ID)
	cases := []struct {
		name   string
		path   string
		secret string
		body   []byte
		want   int
	}{
		{"forged secret", path, "not-the-secret", body, 401},
		{"no secret", path, "", body, 401},
		{"unknown bot", "/telegram/999999", secret, body, 404},
		{"not a number", "/telegram/abc", secret, body, 404},
		{"not JSON", path, secret, []byte("hello"), 400},
		{"not an update", path, secret, []byte(`{"message": {}}`), 400},
		{"too large", path, secret, []byte(`{"update_id": 1, "x": "` + strings.Repeat("a", 1<<20) + `"}`), 413},
	}
	for _, c := range cases {
		if got := post(c.path, c.secret, c.body); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
	if n := count(t, owner, "SELECT count(*) FROM processed_updates"); n != before {
		t.Errorf("processed_updates went from %d to %d", before, n)
	}
	if n := count(t, owner, deliveryJobs); n != jobsBefore {
		t.Errorf("river_job went from %d to %d", jobsBefore, n)
	}
	if n := len(env.Fake.Messages(demo.Bot.TelegramID, carol.ID)); n != 0 {
		t.Errorf("Carol got %d messages", n)
	}
}

func TestDatabaseFailureAnswers500AndLeavesNothing(t *testing.T) {
	env, demo, owner := startDemo(t)
	ctx := context.Background()
	dave := env.Fake.AddUser("Dave", "dave")
	if _, err := env.Fake.Start(demo.Bot.TelegramID, dave.ID, ""); err != nil {
		t.Fatal(err)
	}
	env.Wait(t, "the first welcome", func() bool { return len(env.Fake.Messages(demo.Bot.TelegramID, dave.ID)) == 1 })

	// Make the members table refuse Dave's next write, halfway through handling.
	if _, err := owner.Exec(ctx, "ALTER TABLE members ADD CONSTRAINT fail_dave CHECK (first_name <> 'Dave (failing)')"); err != nil {
		t.Fatal(err)
	}
	u := startUpdate(424242, dave)
	u.Message.From.FirstName = "Dave (failing)"
	status, err := env.Fake.Deliver(demo.Bot.TelegramID, u)
	if err != nil || status != 500 {
		t.Fatalf("delivery during a database failure: %d %v, want 500", status, err)
	}
	if n := count(t, owner, "SELECT count(*) FROM processed_updates WHERE update_id = 424242"); n != 0 {
		t.Errorf("the failed update was recorded as processed")
	}
	if n := count(t, owner, "SELECT count(*) FROM river_job WHERE args->>'chat_id' = $1", fmt.Sprint(dave.ID)); n != 1 {
		t.Errorf("%d jobs for Dave, want only the first welcome's", n)
	}

	// Telegram delivers again once the database is well: handled, once.
	if _, err := owner.Exec(ctx, "ALTER TABLE members DROP CONSTRAINT fail_dave"); err != nil {
		t.Fatal(err)
	}
	if status, err := env.Fake.Deliver(demo.Bot.TelegramID, u); err != nil || status != 200 {
		t.Fatalf("redelivery: %d %v", status, err)
	}
	env.Wait(t, "the second welcome", func() bool { return len(env.Fake.Messages(demo.Bot.TelegramID, dave.ID)) == 2 })
}

// The chat_member updates that Telegram sends about the bot's own removals
// (and about unbans, which change nothing) are answered 200 without being
// recorded: nothing is written for them. A member who leaves by themselves
// is recorded as before.
func TestOwnRemovalUpdatesAreNotRecorded(t *testing.T) {
	env, demo, owner := startDemo(t)
	mia := env.Fake.AddUser("Mia", "mia")
	if status, err := env.Fake.Start(demo.Bot.TelegramID, mia.ID, ""); err != nil || status != http.StatusOK {
		t.Fatalf("/start: %d %v", status, err)
	}
	chat := demo.Chats[0]
	self := telego.User{ID: demo.Bot.TelegramID, IsBot: true, FirstName: "Demo"}
	user := telego.User{ID: mia.ID, FirstName: mia.FirstName}
	member := &telego.ChatMemberMember{Status: telego.MemberStatusMember, User: user}
	kicked := &telego.ChatMemberBanned{Status: telego.MemberStatusBanned, User: user}
	left := &telego.ChatMemberLeft{Status: telego.MemberStatusLeft, User: user}
	change := func(id int, from telego.User, old, new telego.ChatMember) telego.Update {
		return telego.Update{UpdateID: id, ChatMember: &telego.ChatMemberUpdated{
			Chat: telego.Chat{ID: chat.TelegramChatID, Type: telego.ChatTypeChannel}, From: from, Date: 1,
			OldChatMember: old, NewChatMember: new,
		}}
	}
	recorded := func(id int) bool {
		return count(t, owner, "SELECT count(*) FROM processed_updates WHERE update_id = $1", id) == 1
	}
	status := func() string {
		var s string
		err := owner.QueryRow(context.Background(), `SELECT coalesce(max(mc.status), 'none') FROM member_chats mc
			JOIN members m ON m.tenant_id = mc.tenant_id AND m.id = mc.member_id
			WHERE m.telegram_user_id = $1 AND mc.chat_id = $2`, mia.ID, chat.ID).Scan(&s)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	for _, u := range []telego.Update{change(9001, self, member, kicked), change(9002, self, kicked, left)} {
		if s, err := env.Fake.Deliver(demo.Bot.TelegramID, u); err != nil || s != http.StatusOK {
			t.Fatalf("update %d: %d %v", u.UpdateID, s, err)
		}
		if recorded(u.UpdateID) {
			t.Errorf("update %d, about the bot's own removal, was recorded", u.UpdateID)
		}
	}
	if s := status(); s != "none" {
		t.Errorf("the bot's own removal wrote %q for Mia", s)
	}

	if s, err := env.Fake.Deliver(demo.Bot.TelegramID, change(9003, user, member, left)); err != nil || s != http.StatusOK {
		t.Fatalf("Mia leaving: %d %v", s, err)
	}
	if !recorded(9003) {
		t.Error("Mia leaving by herself was not recorded")
	}
	if s := status(); s != "left" {
		t.Errorf("Mia is %q after leaving, want left", s)
	}
}

// A member's update too large to be parsed before its secret is checked
// goes the long way round, with the same answers: handled once with the
// secret, refused without it.
func TestLargeMemberUpdateIsHandledAsAnyOther(t *testing.T) {
	env, demo, owner := startDemo(t)
	erin := env.Fake.AddUser("Erin", "erin")
	if _, err := env.Fake.Start(demo.Bot.TelegramID, erin.ID, ""); err != nil { // opens the chat
		t.Fatal(err)
	}
	env.Wait(t, "the first welcome", func() bool { return len(env.Fake.Messages(demo.Bot.TelegramID, erin.ID)) == 1 })
	_, secret, _, _ := env.Fake.Webhook(demo.Bot.TelegramID)
	body := fmt.Appendf(nil, `{"update_id": 900100, "padding": %q, "message": {"message_id": 1, "date": 1,
		"chat": {"id": %d, "type": "private"}, "from": {"id": %d, "is_bot": false, "first_name": "Erin"}, "text": "/start"}}`,
		strings.Repeat("x", 20<<10), erin.ID, erin.ID)
	post := func(secret string) int {
		return postUpdate(t, fmt.Sprintf("%s/telegram/%d", env.URL, demo.Bot.ID), secret, body)
	}
	if got := post("not-the-secret"); got != http.StatusUnauthorized {
		t.Errorf("forged secret: status %d, want 401", got)
	}
	if n := count(t, owner, "SELECT count(*) FROM processed_updates WHERE update_id = 900100"); n != 0 {
		t.Errorf("a forged update was recorded")
	}
	for range 2 {
		if got := post(secret); got != http.StatusOK {
			t.Errorf("with the secret: status %d, want 200", got)
		}
	}
	env.Wait(t, "the second welcome", func() bool { return len(env.Fake.Messages(demo.Bot.TelegramID, erin.ID)) >= 2 })
	if n := count(t, owner, "SELECT count(*) FROM processed_updates WHERE update_id = 900100"); n != 1 {
		t.Errorf("the update was recorded %d times, want once", n)
	}
}

// An update whose text is not UTF-8 (Telegram sends UTF-8; a sender that
// does not) is answered 200 with the bytes made U+FFFD, not a 500 that
// Telegram would deliver again for ever.
func TestUpdateNotUTF8IsStoredReplaced(t *testing.T) {
	env, demo, owner := startDemo(t)
	_, secret, _, _ := env.Fake.Webhook(demo.Bot.TelegramID)
	body := []byte("{\"update_id\": 900200, \"message\": {\"message_id\": 1, \"date\": 1, " +
		"\"chat\": {\"id\": 4242, \"type\": \"private\"}, \"from\": {\"id\": 4242, \"is_bot\": false, \"first_name\": \"An\xffya\"}, \"text\": \"/start\"}}")
	if status := postUpdate(t, fmt.Sprintf("%s/telegram/%d", env.URL, demo.Bot.ID), secret, body); status != http.StatusOK {
		t.Fatalf("update with a name not UTF-8: status %d, want 200", status)
	}
	if n := count(t, owner, "SELECT count(*) FROM members WHERE telegram_user_id = 4242 AND first_name = 'An\uFFFDya'"); n != 1 {
		t.Errorf("%d members named An\uFFFDya, want 1", n)
	}
}

// postUpdate posts body to a webhook url as Telegram would, with the
// secret header (none when secret is ""), and returns the answer's status.
func postUpdate(t testing.TB, url, secret string, body []byte) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
