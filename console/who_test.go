package console

import "testing"

func TestWho(t *testing.T) {
	for by, want := range map[string]string{
		"telegram:100000001":         "an admin in Telegram (user id 100000001)",
		"console: owner@example.com": "console: owner@example.com",
		"bot: @olga_owner":           "bot: @olga_owner",
	} {
		if got := who(by); got != want {
			t.Errorf("who(%q) = %q, want %q", by, got, want)
		}
	}
}
