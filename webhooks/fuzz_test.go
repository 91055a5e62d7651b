package webhooks_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/gatekey/gatekey/internal/apptest"
)

// FuzzTelegramUpdate posts arbitrary bodies, with the right secret, to a
// bot's webhook: decoding and routing must answer 200 (handled) or 400
// (not an update) and never fail (500) or crash, whatever the body holds.
func FuzzTelegramUpdate(f *testing.F) {
	for _, seed := range []string{
		`{"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": {"id": 42, "type": "private"}, "from": {"id": 42, "is_bot": false, "first_name": "A"}, "text": "/start"}}`,
		`{"update_id": 2, "message": {"message_id": 2, "date": 1, "chat": {"id": 42, "type": "private"}, "from": {"id": 42, "is_bot": false, "first_name": "A"}, "text": "/start ABCD-EFGH-JKMN-PQRS"}}`,
		`{"update_id": 3, "message": {"message_id": 3, "date": 1, "chat": {"id": 42, "type": "private"}, "from": {"id": 42, "is_bot": false, "first_name": "A"}, "text": "abcd efgh jkmn pqrs"}}`,
		`{"update_id": 4, "callback_query": {"id": "q", "from": {"id": 42, "is_bot": false, "first_name": "A"}, "chat_instance": "c", "data": "code"}}`,
		`{"update_id": 5, "callback_query": {"id": "q", "from": {"id": 42, "is_bot": false, "first_name": "A"}, "chat_instance": "c", "data": "a:code:99999"}}`,
		`{"update_id": 6, "chat_member": {"chat": {"id": -100, "type": "channel"}, "from": {"id": 42, "is_bot": false, "first_name": "A"}, "date": 1, "old_chat_member": {"status": "left", "user": {"id": 42, "is_bot": false, "first_name": "A"}}, "new_chat_member": {"status": "member", "user": {"id": 42, "is_bot": false, "first_name": "A"}}, "invite_link": {"invite_link": "https://t.me/+x", "creator": {"id": 1, "is_bot": true, "first_name": "B"}, "creates_join_request": false, "is_primary": false, "is_revoked": false}}}`,
		`{"update_id": 7, "my_chat_member": {"chat": {"id": -100, "type": "supergroup", "title": "G"}, "from": {"id": 42, "is_bot": false, "first_name": "A"}, "date": 1, "old_chat_member": {"status": "left", "user": {"id": 1, "is_bot": true, "first_name": "B"}}, "new_chat_member": {"status": "administrator", "user": {"id": 1, "is_bot": true, "first_name": "B"}, "can_invite_users": true, "can_restrict_members": true}}}`,
		`{"update_id": 8, "message": {"message_id": 1, "date": 1, "chat": {"id": -100, "type": "channel"}, "text": "/start"}}`,
		`{"update_id": 9, "chat_member": {"chat": {"id": -100, "type": "channel"}, "date": 1, "old_chat_member": {"status": "weird"}, "new_chat_member": {}}}`,
		`{"update_id": -1}`, `{}`, `[]`, `null`, `{"update_id": 1e400}`, "\x00",
	} {
		f.Add([]byte(seed))
	}
	env := apptest.New(f)
	demo := env.Demo(f)
	_, secret, _, _ := env.Fake.Webhook(demo.Bot.TelegramID)
	url := fmt.Sprintf("%s/telegram/%d", env.URL, demo.Bot.ID)
	f.Fuzz(func(t *testing.T, body []byte) {
		if status := postUpdate(t, url, secret, body); status != http.StatusOK && status != http.StatusBadRequest {
			t.Fatalf("body %q: status %d, want 200 or 400", body, status)
		}
	})
}
