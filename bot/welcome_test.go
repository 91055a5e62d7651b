package bot_test

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/mymmrac/telego"

	"github.com/gatekey/gatekey/bot"
)

// A plain /start has its welcome read in the webhook's first round trip
// (bot.ReadAhead); "/start@thisbot" is read by the bot itself, which alone
// knows its username. Both must answer alike, a newcomer's first
// "/start@thisbot" must make them a member, and a /start for another bot
// is not taken for one.
func TestStartAddressedToTheBotGetsTheSameWelcome(t *testing.T) {
	w := newWorld(t)
	bot := w.demo.Bot

	newcomer := w.Fake.AddUser("Nina", "nina")
	addressed := w.say(t, newcomer, "/start@"+strings.ToUpper(bot.Username))
	if !strings.HasPrefix(addressed.Text, "Welcome!") || !strings.Contains(addressed.Text, w.demo.Plan.Name) {
		t.Fatalf("/start@%s answered %q, want the welcome with plan %q", bot.Username, addressed.Text, w.demo.Plan.Name)
	}
	if n := w.Count(t, "SELECT count(*) FROM members WHERE bot_id = $1 AND telegram_user_id = $2", bot.ID, newcomer.ID); n != 1 {
		t.Fatalf("after /start@%s the newcomer has %d member rows, want 1", bot.Username, n)
	}

	plain := w.say(t, newcomer, "/start")
	if plain.Text != addressed.Text {
		t.Errorf("/start answered\n%q\nbut /start@%s answered\n%q", plain.Text, bot.Username, addressed.Text)
	}
	if got, want := callbackButtons(plain), callbackButtons(addressed); len(got) != len(want) || len(got) == 0 {
		t.Errorf("/start's buttons %v, /start@%s's %v", got, bot.Username, want)
	}

	other := w.say(t, newcomer, "/start@some_other_bot")
	if strings.HasPrefix(other.Text, "Welcome!") {
		t.Errorf("/start@some_other_bot answered with the welcome: %q", other.Text)
	}
}

// ReadAhead queues the welcome's reads (the member's row and their offer)
// for a plain /start in a private chat, and nothing for anything else:
// without it, a /start would still be answered, one round trip later.
func TestReadAheadQueuesOnlyAPlainStartsWelcome(t *testing.T) {
	private := telego.Chat{ID: 42, Type: telego.ChatTypePrivate}
	from := &telego.User{ID: 42, FirstName: "Nina"}
	for _, c := range []struct {
		name string
		msg  *telego.Message
		want int // statements queued
	}{
		{"plain /start", &telego.Message{Chat: private, From: from, Text: "/start"}, 2},
		{"/START with spaces", &telego.Message{Chat: private, From: from, Text: "  /START "}, 2},
		{"/start with a payload", &telego.Message{Chat: private, From: from, Text: "/start ABCD-1234"}, 0},
		{"/start@somebot", &telego.Message{Chat: private, From: from, Text: "/start@somebot"}, 0},
		{"a code", &telego.Message{Chat: private, From: from, Text: "ABCD-1234"}, 0},
		{"in a group", &telego.Message{Chat: telego.Chat{ID: -100, Type: telego.ChatTypeGroup}, From: from, Text: "/start"}, 0},
		{"without a sender", &telego.Message{Chat: private, Text: "/start"}, 0},
		{"no message", nil, 0},
	} {
		var batch pgx.Batch
		ahead := bot.ReadAhead(&batch, 1, telego.Update{UpdateID: 1, Message: c.msg})
		if batch.Len() != c.want || (ahead != nil) != (c.want > 0) {
			t.Errorf("%s: %d statements queued, Ahead %v; want %d", c.name, batch.Len(), ahead, c.want)
		}
	}
}
