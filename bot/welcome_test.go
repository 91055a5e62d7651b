package bot_test

import (
	"strings"
	"testing"
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
