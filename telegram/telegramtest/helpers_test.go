package telegramtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/mymmrac/telego/telegoapi"
)

// hook is a webhook receiver that records what the fake delivers.
type hook struct {
	srv *httptest.Server

	mu     sync.Mutex
	got    []received
	status int
}

type received struct {
	secret string
	body   []byte
	update telego.Update
}

func newHook(t *testing.T) *hook {
	t.Helper()
	h := &hook{status: http.StatusOK}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var u telego.Update
	_ = json.Unmarshal(body, &u)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got = append(h.got, received{secret: r.Header.Get(SecretHeader), body: body, update: u})
	w.WriteHeader(h.status)
}

func (h *hook) setStatus(code int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status = code
}

func (h *hook) received() []received {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]received(nil), h.got...)
}

func (h *hook) last(t *testing.T) received {
	t.Helper()
	got := h.received()
	if len(got) == 0 {
		t.Fatal("webhook received nothing")
	}
	return got[len(got)-1]
}

// world is a fake with one bot (with a telego client and a webhook) and
// one user.
type world struct {
	fake  *Server
	token string
	bot   User
	api   *telego.Bot
	hook  *hook
	user  User
}

func newWorld(t *testing.T, allowed ...string) *world {
	t.Helper()
	fake := NewServer()
	t.Cleanup(fake.Close)
	token, bot := fake.AddBot("gatekey_test_bot")
	w := &world{fake: fake, token: token, bot: bot, api: newClient(t, fake, token), hook: newHook(t), user: fake.AddUser("Ann", "ann")}
	err := w.api.SetWebhook(ctx(t), &telego.SetWebhookParams{URL: w.hook.srv.URL, SecretToken: "s3cret", AllowedUpdates: allowed})
	if err != nil {
		t.Fatalf("setWebhook: %v", err)
	}
	return w
}

func newClient(t *testing.T, fake *Server, token string) *telego.Bot {
	t.Helper()
	api, err := telego.NewBot(token, telego.WithAPIServer(fake.URL()), telego.WithDiscardLogger())
	if err != nil {
		t.Fatalf("telego.NewBot: %v", err)
	}
	return api
}

// supergroup makes a chat where the bot is an administrator with rights.
func (w *world) supergroup(t *testing.T, rights AdminRights) Chat {
	t.Helper()
	chat := w.fake.AddChat("supergroup", "Members")
	if _, err := w.fake.AddBotToChat(w.bot.ID, chat.ID, rights); err != nil && !errors.Is(err, ErrNotSubscribed) {
		t.Fatalf("AddBotToChat: %v", err)
	}
	return chat
}

func (w *world) link(t *testing.T, params *telego.CreateChatInviteLinkParams) string {
	t.Helper()
	l, err := w.api.CreateChatInviteLink(ctx(t), params)
	if err != nil {
		t.Fatalf("createChatInviteLink: %v", err)
	}
	return l.InviteLink
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// apiErr asserts err is Telegram's error answer with this code and text.
func apiErr(t *testing.T, err error, code int, desc string) *telegoapi.Error {
	t.Helper()
	var e *telegoapi.Error
	if !errors.As(err, &e) {
		t.Fatalf("want API error %d %q, got %v", code, desc, err)
	}
	if e.ErrorCode != code || e.Description != desc {
		t.Fatalf("want %d %q, got %d %q", code, desc, e.ErrorCode, e.Description)
	}
	return e
}

// post sends a raw JSON call and returns status and body.
func post(t *testing.T, fake *Server, token, method string, params any) (int, string) {
	t.Helper()
	body, _ := json.Marshal(params)
	resp, err := http.Post(fake.URL()+"/bot"+token+"/"+method, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// httptestOK is a webhook that accepts everything.
func httptestOK() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
}
