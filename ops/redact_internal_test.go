package ops

import (
	"encoding/json"
	"testing"
)

func TestRedactArgs(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"a code in a message, with its link button",
			`{"tenant_id":7,"chat_id":9007199254740993,"text":"Your code: ABCD-EFGH","buttons":[[{"text":"Open","url":"https://t.me/x?start=ABCD"}]]}`,
			`{"buttons":[[{"text":"[redacted: 4 characters]","url":"[redacted: 25 characters]"}]],"chat_id":9007199254740993,"tenant_id":7,"text":"[redacted: 20 characters]"}`},
		{"Join links to revoke",
			`{"links":["https://t.me/+abc","https://t.me/+de"],"flag":true,"none":null,"empty":""}`,
			`{"empty":"","flag":true,"links":["[redacted: 17 characters]","[redacted: 16 characters]"],"none":null}`},
		{"the bot's commands stay readable",
			`{"commands":[{"command":"start","description":"See the plans"}]}`,
			`{"commands":[{"command":"start","description":"See the plans"}]}`},
		{"no args", ``, `{}`},
		{"not JSON", `{"text":`, `{"redacted":"args that are not JSON"}`},
	} {
		got, err := json.Marshal(redactArgs([]byte(c.in)))
		if err != nil || string(got) != c.want {
			t.Errorf("%s: %s (%v), want %s", c.name, got, err, c.want)
		}
	}
}
