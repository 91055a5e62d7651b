package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/sandbox"
	"github.com/gatekey/gatekey/telegram"
	"github.com/gatekey/gatekey/telegram/telegramtest"
)

// call makes a request to the sandbox as its page does (with the page's
// header when page is true) and returns the status and body.
func call(t *testing.T, method, u string, form url.Values, page bool) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if page {
		req.Header.Set("X-Gatekey-Sandbox", "1")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestRefusedWithRealBotAPI: a server that talks to another Bot API than
// the fake (here the real one) gets no sandbox: Start refuses before
// seeding anything, and every sandbox route answers 404.
func TestRefusedWithRealBotAPI(t *testing.T) {
	fake := telegramtest.NewServer()
	t.Cleanup(fake.Close)
	sb := sandbox.New(fake)
	env := apptest.Start(t, apptest.Options{Work: false, Fake: fake, Configure: func(c *app.Config) {
		c.TelegramAPIURL = telegram.DefaultAPIURL
		c.Routes = sb.Register
	}})
	if _, err := sb.Start(context.Background(), env.App, "owner@demo.example", "correct horse battery"); !errors.Is(err, sandbox.ErrRealTelegram) {
		t.Fatalf("Start with the real Bot API: err = %v, want ErrRealTelegram", err)
	}
	if n := env.Count(t, "SELECT count(*) FROM tenants"); n != 0 {
		t.Errorf("Start made %d tenants before refusing", n)
	}
	for _, r := range []struct{ method, path string }{
		{"GET", "/sandbox"}, {"GET", "/sandbox/"}, {"GET", "/sandbox/state"}, {"GET", "/sandbox/static/sandbox.js"},
		{"POST", "/sandbox/people"}, {"POST", "/sandbox/people/1/send"}, {"POST", "/sandbox/people/1/open"},
		{"POST", "/sandbox/people/1/press"}, {"GET", "/sandbox/people/1/files/1"}, {"POST", "/sandbox/memberships/1/fast-forward"},
		{"POST", "/sandbox/botfather/bots"}, {"POST", "/sandbox/botfather/chats"},
	} {
		if status, _ := call(t, r.method, env.URL+r.path, url.Values{"text": {"/start"}, "name": {"Eve"}, "to": {"end"}, "username": {"eve_bot"}}, true); status != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404", r.method, r.path, status)
		}
	}
	if len(fake.Calls()) != 0 || len(sb.People()) != 0 || len(fake.Bots()) != 0 {
		t.Errorf("the refused sandbox touched the fake: %d calls, %d people, %d bots", len(fake.Calls()), len(sb.People()), len(fake.Bots()))
	}
}

// TestBadInput: each mistake gets a clear message and changes nothing,
// and a request without the page's header (a form on another site) is
// refused.
func TestBadInput(t *testing.T) {
	s := start(t)
	s.env.Idle(t) // the owner's welcome is sent
	alice := s.person(t, "alice")
	base := s.env.URL + "/sandbox"
	me := base + "/people/" + strconv.FormatInt(alice.ID, 10)
	calls := len(s.env.Fake.Calls())
	deliveries := len(s.env.Fake.Deliveries())
	for _, c := range []struct {
		path   string
		form   url.Values
		status int
		says   string
	}{
		{me + "/send", url.Values{"text": {"   "}}, 400, "Type a message first"},
		{me + "/send", url.Values{"text": {strings.Repeat("x", 4097)}}, 400, "at most 4096 characters"},
		{base + "/people/42/send", url.Values{"text": {"/start"}}, 404, "no such person"},
		{me + "/open", url.Values{"link": {"https://example.com/x"}}, 400, "Paste a t.me link"},
		{me + "/open", url.Values{"link": {""}}, 400, "Paste a t.me link"},
		{me + "/open", url.Values{"link": {"https://t.me/someone_else_bot?start=ABC"}}, 400, "There is no bot @someone_else_bot"},
		{me + "/send", url.Values{"text": {"/start"}, "bot": {"42"}}, 400, "does not know this bot"},
		{me + "/send", url.Values{"text": {"/start"}, "bot": {"x"}}, 400, "does not know this bot"},
		{me + "/open", url.Values{"link": {"https://t.me/gatekey_demo_bot?start=no%20spaces"}}, 400, "up to 64 letters"},
		{me + "/press", url.Values{"message": {"99"}, "data": {"a:m"}}, 400, "not there any more"},
		{me + "/press", url.Values{"message": {"x"}}, 400, "not there any more"},
		{me + "/files/99", nil, 404, "not in this chat"},
		{base + "/people", url.Values{"name": {""}}, 400, "first name"},
		{base + "/people", url.Values{"name": {"<script>"}}, 400, "letters, digits"},
		{base + "/people", url.Values{"name": {strings.Repeat("n", 33)}}, 400, "32 characters"},
		{base + "/memberships/1/fast-forward", url.Values{"to": {"tomorrow"}}, 400, `"to reminder" or "to end"`},
		{base + "/memberships/999999/fast-forward", url.Values{"to": {"end"}}, 404, "no such membership"},
	} {
		method := "POST"
		if strings.Contains(c.path, "/files/") {
			method = "GET"
		}
		status, body := call(t, method, c.path, c.form, true)
		var answer struct{ Error string }
		_ = json.Unmarshal([]byte(body), &answer)
		if status != c.status || !strings.Contains(answer.Error, c.says) {
			t.Errorf("%s %v: %d %s; want %d saying %q", c.path, c.form, status, body, c.status, c.says)
		}
	}
	if status, body := call(t, "POST", me+"/send", url.Values{"text": {"/start"}}, false); status != http.StatusForbidden {
		t.Errorf("an action without the page's header: %d %s, want 403", status, body)
	}
	if n := len(s.sb.People()); n != 2 {
		t.Errorf("%d people after bad input, want the owner and Alice", n)
	}
	if len(s.env.Fake.Deliveries()) != deliveries {
		t.Errorf("bad input reached the bot: %d updates delivered", len(s.env.Fake.Deliveries())-deliveries)
	}
	for _, c := range s.env.Fake.Calls()[calls:] {
		if c.Method != "answerCallbackQuery" && c.Method != "sendMessage" {
			continue
		}
		t.Errorf("bad input made the bot call %s", c.Method)
	}
}

// TestLiveState: the state answers at once when the page's version is
// old, and as soon as the bot answers when the page waits on the current
// one, with the person's side of the chat in order.
func TestLiveState(t *testing.T) {
	s := start(t)
	alice := s.person(t, "alice")
	stateURL := s.env.URL + "/sandbox/state?person=" + strconv.FormatInt(alice.ID, 10)
	first := state(t, stateURL+"&v=")
	if first.Person != alice.ID || len(first.Messages) != 0 || len(first.People) != 2 || !first.People[0].Owner {
		t.Fatalf("first state: %+v", first)
	}
	done := make(chan stateAnswer, 1)
	go func() { done <- state(t, stateURL+"&v="+first.Version) }()
	if status, body := call(t, "POST", s.env.URL+"/sandbox/people/"+strconv.FormatInt(alice.ID, 10)+"/send", url.Values{"text": {"/start"}}, true); status != 200 {
		t.Fatalf("send: %d %s", status, body)
	}
	next := <-done
	for i := 0; i < 5 && len(next.Messages) < 2; i++ { // the bot's answer comes through a job, after the message
		next = state(t, stateURL+"&v="+next.Version)
	}
	if next.Messages[0].Kind != "me" || next.Messages[0].Text != "/start" || next.Messages[1].Kind != "bot" ||
		!strings.Contains(next.Messages[1].Text, "Welcome! This is @gatekey_demo_bot.") {
		t.Fatalf("chat after /start: %+v", next.Messages)
	}
	if len(next.Messages[1].Buttons) == 0 || next.Messages[1].Buttons[len(next.Messages[1].Buttons)-1][0].Text != "I have a code" {
		t.Errorf("the welcome's buttons: %+v", next.Messages[1].Buttons)
	}
}

type stateAnswer struct {
	Version string
	Bot     string
	BotID   int64
	Bots    []botAnswer
	Person  int64
	People  []struct {
		ID           int64
		Owner, Admin bool
	}
	Messages []struct {
		Kind, Text string
		Buttons    [][]struct{ Text, Data, URL string }
	}
	Chats []struct {
		Title   string
		Members []struct{ Name, Role string }
	}
	Memberships []struct {
		ID           int64
		Plan, Status string
	}
}

type botAnswer struct {
	ID              int64
	Username, Token string
	Connected       bool
}

func state(t *testing.T, u string) stateAnswer {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Error(err)
		return stateAnswer{}
	}
	defer resp.Body.Close()
	var s stateAnswer
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.StatusCode != 200 {
		t.Errorf("state: %d %v", resp.StatusCode, err)
	}
	return s
}
