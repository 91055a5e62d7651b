package telegramtest

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	tu "github.com/mymmrac/telego/telegoutil"
)

func TestEmbeddedSpecMatchesShared(t *testing.T) {
	for _, name := range []string{"bot-api.json", "bot-api.LICENSE"} {
		shared, err := os.ReadFile("../../../shared/telegram/" + name)
		if err != nil {
			t.Fatalf("cannot read the shared %s to compare the package's copy with: %v", name, err)
		}
		local, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(shared, local) {
			t.Errorf("telegram/telegramtest/%s differs from shared/telegram/%s: copy it again", name, name)
		}
	}
	if !bytes.Equal(specJSON, mustRead(t, "bot-api.json")) {
		t.Error("embedded spec differs from bot-api.json")
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHandlersAreSpecMethods(t *testing.T) {
	spec := mustSpec()
	if !strings.HasPrefix(APIVersion(), "Bot API ") {
		t.Errorf("APIVersion() = %q", APIVersion())
	}
	for name := range handlers {
		if m := spec.method(name); m == nil || m.Name != name {
			t.Errorf("handler %q is not a method of %s", name, spec.version)
		}
	}
}

func TestGetMe(t *testing.T) {
	w := newWorld(t)
	me, err := w.api.GetMe(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if me.ID != w.bot.ID || me.Username != "gatekey_test_bot" || !me.IsBot {
		t.Fatalf("getMe = %+v, want bot %d", me, w.bot.ID)
	}
	if !strings.HasPrefix(w.token, fmt.Sprint(w.bot.ID)+":") {
		t.Fatalf("token %q does not start with the bot id", w.token)
	}
}

func TestSendMessageToStartedUser(t *testing.T) {
	w := newWorld(t)
	if _, err := w.fake.Start(w.bot.ID, w.user.ID, ""); err != nil {
		t.Fatal(err)
	}
	kb := tu.InlineKeyboard(tu.InlineKeyboardRow(tu.InlineKeyboardButton("Plans").WithCallbackData("plans")))
	sent, err := w.api.SendMessage(ctx(t), tu.Message(tu.ID(w.user.ID), "Welcome").WithReplyMarkup(kb).WithParseMode("HTML"))
	if err != nil {
		t.Fatal(err)
	}
	if sent.Chat.ID != w.user.ID || sent.From == nil || sent.From.ID != w.bot.ID || sent.Text != "Welcome" {
		t.Fatalf("sendMessage returned %+v", sent)
	}
	msgs := w.fake.Messages(w.bot.ID, w.user.ID)
	if len(msgs) != 1 {
		t.Fatalf("Messages = %d, want 1", len(msgs))
	}
	m := msgs[0]
	if m.MessageID != sent.MessageID || m.MessageID != 2 { // the user's /start was message 1
		t.Errorf("message id = %d (returned %d), want 2", m.MessageID, sent.MessageID)
	}
	if m.Text != "Welcome" || m.ParseMode != "HTML" || m.ReplyMarkup == nil || m.ReplyMarkup.InlineKeyboard[0][0].CallbackData != "plans" {
		t.Errorf("stored message = %+v", m)
	}
}

func TestSendMessageRefusals(t *testing.T) {
	w := newWorld(t)
	send := func(chatID int64) error {
		_, err := w.api.SendMessage(ctx(t), tu.Message(tu.ID(chatID), "hi"))
		return err
	}
	apiErr(t, send(w.user.ID), 403, "Forbidden: bot can't initiate conversation with a user")
	apiErr(t, send(999), 400, "Bad Request: chat not found")
	apiErr(t, send(-1001234567890), 400, "Bad Request: chat not found")
	channel := w.fake.AddChat("channel", "News")
	apiErr(t, send(channel.ID), 403, "Forbidden: bot is not a member of the channel chat")

	if _, err := w.fake.Start(w.bot.ID, w.user.ID, ""); err != nil {
		t.Fatal(err)
	}
	if err := send(w.user.ID); err != nil {
		t.Fatalf("after /start: %v", err)
	}
	w.fake.BlockBot(w.user.ID, w.bot.ID)
	apiErr(t, send(w.user.ID), 403, "Forbidden: bot was blocked by the user")
	if _, err := w.fake.SendText(w.bot.ID, w.user.ID, "hello again"); err != nil {
		t.Fatal(err)
	}
	if err := send(w.user.ID); err != nil {
		t.Fatalf("after the user wrote again: %v", err)
	}
}

func TestRawProtocol(t *testing.T) {
	w := newWorld(t)
	if _, err := w.fake.Start(w.bot.ID, w.user.ID, ""); err != nil {
		t.Fatal(err)
	}
	_, other := w.fake.AddBot("other_bot")
	forged := fmt.Sprintf("%d:%s", other.ID, strings.Repeat("A", 35))
	cases := []struct {
		name, token, method string
		params              any
		status              int
		body                string
	}{
		{"missing text", w.token, "sendMessage", map[string]any{"chat_id": w.user.ID}, 400,
			`{"ok":false,"error_code":400,"description":"Bad Request: message text is empty"}`},
		{"missing chat_id", w.token, "sendMessage", map[string]any{"text": "hi"}, 400,
			`{"ok":false,"error_code":400,"description":"Bad Request: chat_id is empty"}`},
		{"generic missing", w.token, "banChatMember", map[string]any{"chat_id": -1}, 400,
			`{"ok":false,"error_code":400,"description":"Bad Request: user_id is empty"}`},
		{"unknown method", w.token, "sendMesage", map[string]any{}, 404,
			`{"ok":false,"error_code":404,"description":"Not Found"}`},
		{"bad token", forged, "getMe", map[string]any{}, 401,
			`{"ok":false,"error_code":401,"description":"Unauthorized"}`},
		{"unknown parameter", w.token, "sendMessage", map[string]any{"chat_id": w.user.ID, "text": "hi", "parse_mod": "HTML"}, 400,
			`{"ok":false,"error_code":400,"description":"Bad Request: unknown parameter \"parse_mod\""}`},
		{"not implemented", w.token, "sendPhoto", map[string]any{"chat_id": w.user.ID, "photo": "x"}, 400,
			`{"ok":false,"error_code":400,"description":"Bad Request: method not supported by the fake: sendPhoto"}`},
		{"bad integer", w.token, "getChatMember", map[string]any{"chat_id": -1, "user_id": "ten"}, 400,
			`{"ok":false,"error_code":400,"description":"Bad Request: invalid user_id specified"}`},
		{"webhook", w.token, "setWebhook", map[string]any{"url": ""}, 200,
			`{"ok":true,"result":true,"description":"Webhook was deleted"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := post(t, w.fake, c.token, c.method, c.params)
			if status != c.status || body != c.body {
				t.Fatalf("got %d %s\nwant %d %s", status, body, c.status, c.body)
			}
		})
	}
	calls := w.fake.CallsTo("sendMessage")
	if len(calls) != 3 || calls[0].Status != 400 || calls[2].Status != 400 || calls[0].Bot != w.bot.ID {
		t.Fatalf("recorded sendMessage calls = %+v", calls)
	}
	if got := w.fake.CallsTo("getMe"); len(got) != 1 || got[0].Bot != 0 || got[0].Status != 401 {
		t.Fatalf("recorded unauthorized call = %+v", got)
	}
}

func TestOtherEncodings(t *testing.T) {
	w := newWorld(t)
	if _, err := w.fake.Start(w.bot.ID, w.user.ID, ""); err != nil {
		t.Fatal(err)
	}
	base := w.fake.URL() + "/bot" + w.token
	form := url.Values{"chat_id": {fmt.Sprint(w.user.ID)}, "text": {"by form"}, "reply_markup": {`{"inline_keyboard":[[{"text":"A","callback_data":"a"}]]}`}}
	resp, err := http.PostForm(base+"/SENDMESSAGE", form) // method names ignore case
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("form post: %d", resp.StatusCode)
	}
	resp, err = http.Get(base + "/sendMessage?chat_id=" + fmt.Sprint(w.user.ID) + "&text=by+query")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("query get: %d", resp.StatusCode)
	}
	msgs := w.fake.Messages(w.bot.ID, w.user.ID)
	if len(msgs) != 2 || msgs[0].Text != "by form" || msgs[0].ReplyMarkup == nil || msgs[1].Text != "by query" {
		t.Fatalf("messages = %+v", msgs)
	}
	call := w.fake.CallsTo("sendmessage")[0]
	if call.Method != "sendMessage" || call.Params["chat_id"] != w.user.ID {
		t.Fatalf("call = %+v; chat_id should be normalised to int64", call)
	}
}

func TestSendDocumentUploadAndReuse(t *testing.T) {
	w := newWorld(t)
	if _, err := w.fake.Start(w.bot.ID, w.user.ID, ""); err != nil {
		t.Fatal(err)
	}
	data := []byte("id,name\n1,Ann\n")
	sent, err := w.api.SendDocument(ctx(t), tu.Document(tu.ID(w.user.ID), tu.FileFromBytes(data, "members.csv")).WithCaption("export"))
	if err != nil {
		t.Fatal(err)
	}
	if sent.Document == nil || sent.Document.FileName != "members.csv" || sent.Document.FileSize != int64(len(data)) || sent.Caption != "export" {
		t.Fatalf("sendDocument returned %+v", sent)
	}
	again, err := w.api.SendDocument(ctx(t), tu.Document(tu.ID(w.user.ID), tu.FileFromID(sent.Document.FileID)))
	if err != nil {
		t.Fatal(err)
	}
	msgs := w.fake.Messages(w.bot.ID, w.user.ID)
	if len(msgs) != 2 || again.Document.FileID != sent.Document.FileID {
		t.Fatalf("messages = %+v", msgs)
	}
	for _, m := range msgs {
		if m.Document == nil || m.Document.FileName != "members.csv" || !bytes.Equal(m.Document.Data, data) || m.Document.MimeType != "text/csv; charset=utf-8" {
			t.Fatalf("stored document = %+v", m.Document)
		}
	}
	_, err = w.api.SendDocument(ctx(t), tu.Document(tu.ID(w.user.ID), tu.FileFromID("nope")))
	apiErr(t, err, 400, "Bad Request: wrong file identifier/HTTP URL specified")
}

func TestWebhookDelivery(t *testing.T) {
	w := newWorld(t)
	if url, secret, maxConn, allowed := w.fake.Webhook(w.bot.ID); url != w.hook.srv.URL || secret != "s3cret" || maxConn != 40 || allowed != nil {
		t.Fatalf("Webhook() = %q %q %d %v", url, secret, maxConn, allowed)
	}
	status, err := w.fake.Start(w.bot.ID, w.user.ID, "CODE123")
	if err != nil || status != 200 {
		t.Fatalf("Start = %d, %v", status, err)
	}
	got := w.hook.last(t)
	if got.secret != "s3cret" {
		t.Errorf("secret header = %q", got.secret)
	}
	msg := got.update.Message
	if msg == nil || msg.Text != "/start CODE123" || msg.From.ID != w.user.ID || msg.Chat.ID != w.user.ID || msg.Chat.Type != "private" {
		t.Fatalf("update = %s", got.body)
	}
	if len(msg.Entities) != 1 || msg.Entities[0].Type != "bot_command" || msg.Entities[0].Offset != 0 || msg.Entities[0].Length != 6 {
		t.Errorf("entities = %+v", msg.Entities)
	}

	w.hook.setStatus(500)
	if status, err := w.fake.SendText(w.bot.ID, w.user.ID, "hello"); err != nil || status != 500 {
		t.Fatalf("SendText to failing webhook = %d, %v", status, err)
	}
	failed := w.hook.last(t).update
	w.hook.setStatus(200)
	if status, err := w.fake.Deliver(w.bot.ID, failed); err != nil || status != 200 {
		t.Fatalf("redelivery = %d, %v", status, err)
	}
	if _, err := w.fake.SendText(w.bot.ID, w.user.ID, "third"); err != nil {
		t.Fatal(err)
	}
	ids := []int{}
	for _, r := range w.hook.received() {
		ids = append(ids, r.update.UpdateID)
	}
	if len(ids) != 4 || !(ids[0] < ids[1] && ids[1] == ids[2] && ids[2] < ids[3]) {
		t.Fatalf("update ids = %v, want increasing with the redelivery repeating its id", ids)
	}
	ds := w.fake.Deliveries()
	if len(ds) != 4 || ds[1].Status != 500 || ds[2].Status != 200 || ds[1].UpdateID != ds[2].UpdateID || ds[0].Type != "message" {
		t.Fatalf("deliveries = %+v", ds)
	}
	info, err := w.api.GetWebhookInfo(ctx(t))
	if err != nil || info.URL != w.hook.srv.URL || !strings.Contains(info.LastErrorMessage, "500") {
		t.Fatalf("getWebhookInfo = %+v, %v", info, err)
	}
}

func TestRecordOffKeepsOnlyCounts(t *testing.T) {
	w := newWorld(t)
	w.fake.Record(false)
	if _, err := w.fake.Start(w.bot.ID, w.user.ID, ""); err != nil {
		t.Fatal(err)
	}
	send := func(text string) {
		t.Helper()
		if _, err := w.api.SendMessage(ctx(t), tu.Message(tu.ID(w.user.ID), text)); err != nil {
			t.Fatal(err)
		}
	}
	send("not kept")
	post(t, w.fake, w.token, "sendMessage", map[string]any{"chat_id": w.user.ID}) // refused: no text
	if n := len(w.fake.CallsTo("sendMessage")); n != 0 {
		t.Errorf("with Record(false), CallsTo kept %d calls", n)
	}
	if n := len(w.fake.Deliveries()); n != 0 {
		t.Errorf("with Record(false), Deliveries kept %d", n)
	}
	if n := w.fake.CallCount("SENDMESSAGE"); n != 2 {
		t.Errorf("CallCount(sendMessage) = %d, want 2 (one sent, one refused)", n)
	}
	if msgs := w.fake.Messages(w.bot.ID, w.user.ID); len(msgs) != 1 || msgs[0].Text != "not kept" {
		t.Errorf("the chat holds %+v: Record(false) must not change what Telegram keeps", msgs)
	}

	w.fake.Record(true)
	send("kept")
	calls := w.fake.CallsTo("sendMessage")
	if len(calls) != 1 || calls[0].Params["text"] != "kept" {
		t.Errorf("after Record(true), CallsTo = %+v, want the one call since", calls)
	}
	if n := w.fake.CallCount("sendMessage"); n != 3 {
		t.Errorf("CallCount(sendMessage) = %d, want 3", n)
	}
}

func TestKeepMessagesKeepsEachChatsLatest(t *testing.T) {
	w := newWorld(t)
	if _, err := w.fake.Start(w.bot.ID, w.user.ID, ""); err != nil {
		t.Fatal(err)
	}
	w.fake.KeepMessages(2)
	var ids []int
	for _, text := range []string{"one", "two", "three"} {
		m, err := w.api.SendMessage(ctx(t), tu.Message(tu.ID(w.user.ID), text))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.MessageID)
	}
	var texts []string
	for _, m := range w.fake.Messages(w.bot.ID, w.user.ID) {
		texts = append(texts, m.Text)
	}
	if fmt.Sprint(texts) != "[two three]" {
		t.Fatalf("with KeepMessages(2), the chat holds %q, want the latest two", texts)
	}
	edit := func(id int) error {
		_, err := w.api.EditMessageText(ctx(t), &telego.EditMessageTextParams{ChatID: tu.ID(w.user.ID), MessageID: id, Text: "edited"})
		return err
	}
	apiErr(t, edit(ids[0]), 400, "Bad Request: message to edit not found")
	if err := edit(ids[2]); err != nil {
		t.Fatalf("editing a kept message: %v", err)
	}

	w.fake.KeepMessages(0)
	for _, text := range []string{"four", "five"} {
		if _, err := w.api.SendMessage(ctx(t), tu.Message(tu.ID(w.user.ID), text)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(w.fake.Messages(w.bot.ID, w.user.ID)); n != 4 {
		t.Fatalf("after KeepMessages(0), the chat holds %d messages, want 4 (every one since)", n)
	}
}

func TestDeliverRefusals(t *testing.T) {
	fake := NewServer()
	defer fake.Close()
	_, bot := fake.AddBot("quiet_bot")
	user := fake.AddUser("Bo", "")
	if _, err := fake.SendText(bot.ID, user.ID, "hi"); !errors.Is(err, ErrNoWebhook) {
		t.Fatalf("no webhook: err = %v", err)
	}
	w := newWorld(t, "callback_query")
	if _, err := w.fake.SendText(w.bot.ID, w.user.ID, "hi"); !errors.Is(err, ErrNotSubscribed) {
		t.Fatalf("unsubscribed type: err = %v", err)
	}
	status, err := w.fake.DeliverRaw(w.bot.ID, []byte(`{"update_id":`), "forged")
	if err != nil || status != 200 || w.hook.last(t).secret != "forged" || string(w.hook.last(t).body) != `{"update_id":` {
		t.Fatalf("DeliverRaw = %d, %v", status, err)
	}
}

func TestButtonsAndEdits(t *testing.T) {
	w := newWorld(t)
	if _, err := w.fake.Start(w.bot.ID, w.user.ID, ""); err != nil {
		t.Fatal(err)
	}
	kb := tu.InlineKeyboard(tu.InlineKeyboardRow(tu.InlineKeyboardButton("Yes").WithCallbackData("yes")))
	sent, err := w.api.SendMessage(ctx(t), tu.Message(tu.ID(w.user.ID), "Sure?").WithReplyMarkup(kb))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.fake.PressButton(w.bot.ID, w.user.ID, sent.MessageID, "no"); err == nil {
		t.Fatal("pressing a button the message does not have should fail")
	}
	if status, err := w.fake.PressButton(w.bot.ID, w.user.ID, sent.MessageID, "yes"); err != nil || status != 200 {
		t.Fatalf("PressButton = %d, %v", status, err)
	}
	q := w.hook.last(t).update.CallbackQuery
	if q == nil || q.Data != "yes" || q.From.ID != w.user.ID || q.Message == nil || q.Message.GetMessageID() != sent.MessageID {
		t.Fatalf("callback update = %s", w.hook.last(t).body)
	}
	if err := w.api.AnswerCallbackQuery(ctx(t), tu.CallbackQuery(q.ID).WithText("ok")); err != nil {
		t.Fatal(err)
	}
	apiErr(t, w.api.AnswerCallbackQuery(ctx(t), tu.CallbackQuery(q.ID)), 400,
		"Bad Request: query is too old and response timeout expired or query ID is invalid")

	edit := &telego.EditMessageTextParams{ChatID: tu.ID(w.user.ID), MessageID: sent.MessageID, Text: "Sure?", ReplyMarkup: kb}
	_, err = w.api.EditMessageText(ctx(t), edit)
	apiErr(t, err, 400, "Bad Request: "+notModified)
	edit.Text, edit.ReplyMarkup = "Done", nil
	if _, err := w.api.EditMessageText(ctx(t), edit); err != nil {
		t.Fatal(err)
	}
	m := w.fake.Messages(w.bot.ID, w.user.ID)[0]
	if m.Text != "Done" || m.ReplyMarkup != nil || m.EditDate.IsZero() {
		t.Fatalf("after edit: %+v (an edit without reply_markup drops the keyboard)", m)
	}
	_, err = w.api.EditMessageText(ctx(t), &telego.EditMessageTextParams{ChatID: tu.ID(w.user.ID), MessageID: 99, Text: "x"})
	apiErr(t, err, 400, "Bad Request: message to edit not found")

	w.fake.SetNow(func() time.Time { return time.Now().Add(49 * time.Hour) })
	err = w.api.DeleteMessage(ctx(t), tu.Delete(tu.ID(w.user.ID), sent.MessageID))
	apiErr(t, err, 400, "Bad Request: message can't be deleted for everyone")
	w.fake.SetNow(nil)
	if err := w.api.DeleteMessage(ctx(t), tu.Delete(tu.ID(w.user.ID), sent.MessageID)); err != nil {
		t.Fatal(err)
	}
	if !w.fake.Messages(w.bot.ID, w.user.ID)[0].Deleted {
		t.Fatal("message not marked deleted")
	}
}

func TestInviteLinkMemberLimitOne(t *testing.T) {
	w := newWorld(t, "message", "chat_member")
	chat := w.supergroup(t, AdminRights{CanInviteUsers: true})
	bob := w.fake.AddUser("Bob", "bob")
	link := w.link(t, &telego.CreateChatInviteLinkParams{ChatID: tu.ID(chat.ID), MemberLimit: 1, ExpireDate: time.Now().Add(time.Hour).Unix(), Name: "ann"})
	if !strings.HasPrefix(link, "https://t.me/+") {
		t.Fatalf("link = %q", link)
	}

	joined, reason, err := w.fake.JoinByLink(w.user.ID, link)
	if err != nil || !joined {
		t.Fatalf("first join = %v %q %v", joined, reason, err)
	}
	joined, reason, err = w.fake.JoinByLink(bob.ID, link)
	if err != nil || joined || reason != "invite link used up" {
		t.Fatalf("second join = %v %q %v", joined, reason, err)
	}
	if !w.fake.IsMember(chat.ID, w.user.ID) || w.fake.IsMember(chat.ID, bob.ID) {
		t.Fatal("membership wrong after joins")
	}
	links := w.fake.InviteLinks(chat.ID)
	if len(links) != 1 || links[0].Uses != 1 || len(links[0].JoinedBy) != 1 || links[0].JoinedBy[0] != w.user.ID || links[0].Creator.ID != w.bot.ID {
		t.Fatalf("links = %+v", links)
	}

	cm := w.hook.last(t).update.ChatMember
	if cm == nil {
		t.Fatalf("last update = %s, want chat_member", w.hook.last(t).body)
	}
	if cm.Chat.ID != chat.ID || cm.From.ID != w.user.ID || cm.OldChatMember.MemberStatus() != "left" ||
		cm.NewChatMember.MemberStatus() != "member" || cm.NewChatMember.MemberUser().ID != w.user.ID ||
		cm.InviteLink == nil || cm.InviteLink.InviteLink != link || cm.InviteLink.MemberLimit != 1 {
		t.Fatalf("chat_member update = %s", w.hook.last(t).body)
	}
}

func TestChatMemberNeedsSubscription(t *testing.T) {
	w := newWorld(t) // default allowed_updates leave chat_member out
	chat := w.supergroup(t, AdminRights{CanInviteUsers: true})
	link := w.link(t, &telego.CreateChatInviteLinkParams{ChatID: tu.ID(chat.ID)})
	before := len(w.hook.received())
	if joined, _, err := w.fake.JoinByLink(w.user.ID, link); !joined || err != nil {
		t.Fatalf("join = %v, %v", joined, err)
	}
	if after := len(w.hook.received()); after != before {
		t.Fatalf("a bot without chat_member in allowed_updates got %d updates", after-before)
	}
}

func TestBanUnbanAndRejoin(t *testing.T) {
	w := newWorld(t)
	chat := w.supergroup(t, AdminRights{CanInviteUsers: true, CanRestrictMembers: true})
	stays := w.fake.AddUser("Cy", "")
	for _, u := range []int64{w.user.ID, stays.ID} {
		l := w.link(t, &telego.CreateChatInviteLinkParams{ChatID: tu.ID(chat.ID), MemberLimit: 1})
		if joined, reason, err := w.fake.JoinByLink(u, l); !joined || err != nil {
			t.Fatalf("join %d = %q %v", u, reason, err)
		}
	}
	if err := w.api.BanChatMember(ctx(t), &telego.BanChatMemberParams{ChatID: tu.ID(chat.ID), UserID: w.user.ID}); err != nil {
		t.Fatal(err)
	}
	if st := w.fake.MemberStatus(chat.ID, w.user.ID); st != "kicked" {
		t.Fatalf("after ban status = %q", st)
	}
	l2 := w.link(t, &telego.CreateChatInviteLinkParams{ChatID: tu.ID(chat.ID), MemberLimit: 1})
	if joined, reason, _ := w.fake.JoinByLink(w.user.ID, l2); joined || reason != "user is banned" {
		t.Fatalf("banned join = %v %q", joined, reason)
	}
	unban := &telego.UnbanChatMemberParams{ChatID: tu.ID(chat.ID), UserID: w.user.ID, OnlyIfBanned: true}
	if err := w.api.UnbanChatMember(ctx(t), unban); err != nil {
		t.Fatal(err)
	}
	if st := w.fake.MemberStatus(chat.ID, w.user.ID); st != "left" {
		t.Fatalf("after unban status = %q", st)
	}
	if err := w.api.UnbanChatMember(ctx(t), &telego.UnbanChatMemberParams{ChatID: tu.ID(chat.ID), UserID: stays.ID, OnlyIfBanned: true}); err != nil {
		t.Fatal(err)
	}
	if !w.fake.IsMember(chat.ID, stays.ID) {
		t.Fatal("only_if_banned removed a member who was not banned")
	}
	if joined, reason, err := w.fake.JoinByLink(w.user.ID, l2); !joined || err != nil {
		t.Fatalf("rejoin after unban = %v %q %v", joined, reason, err)
	}

	weak := w.fake.AddChat("channel", "No rights")
	if _, err := w.fake.AddBotToChat(w.bot.ID, weak.ID, AdminRights{}); err != nil {
		t.Fatal(err)
	}
	apiErr(t, w.api.BanChatMember(ctx(t), &telego.BanChatMemberParams{ChatID: tu.ID(weak.ID), UserID: w.user.ID}), 400,
		"Bad Request: not enough rights to restrict/unrestrict chat member")
	_, err := w.api.CreateChatInviteLink(ctx(t), &telego.CreateChatInviteLinkParams{ChatID: tu.ID(weak.ID)})
	apiErr(t, err, 400, "Bad Request: not enough rights to manage chat invite link")
}

func TestBanDeliversChatMember(t *testing.T) {
	w := newWorld(t, "chat_member")
	chat := w.supergroup(t, AdminRights{CanInviteUsers: true, CanRestrictMembers: true})
	link := w.link(t, &telego.CreateChatInviteLinkParams{ChatID: tu.ID(chat.ID)})
	if joined, _, err := w.fake.JoinByLink(w.user.ID, link); !joined || err != nil {
		t.Fatalf("join: %v", err)
	}
	if err := w.api.BanChatMember(ctx(t), &telego.BanChatMemberParams{ChatID: tu.ID(chat.ID), UserID: w.user.ID}); err != nil {
		t.Fatal(err)
	}
	cm := w.hook.last(t).update.ChatMember // delivered before banChatMember answered
	if cm == nil || cm.From.ID != w.bot.ID || cm.OldChatMember.MemberStatus() != "member" || cm.NewChatMember.MemberStatus() != "kicked" || cm.InviteLink != nil {
		t.Fatalf("update after ban = %s", w.hook.last(t).body)
	}
}

func TestInviteLinkRefusals(t *testing.T) {
	w := newWorld(t)
	chat := w.supergroup(t, AdminRights{CanInviteUsers: true})
	start := time.Now()
	w.fake.SetNow(func() time.Time { return start })
	expiring := w.link(t, &telego.CreateChatInviteLinkParams{ChatID: tu.ID(chat.ID), ExpireDate: start.Add(time.Hour).Unix()})
	revoked := w.link(t, &telego.CreateChatInviteLinkParams{ChatID: tu.ID(chat.ID)})
	got, err := w.api.RevokeChatInviteLink(ctx(t), &telego.RevokeChatInviteLinkParams{ChatID: tu.ID(chat.ID), InviteLink: revoked})
	if err != nil || !got.IsRevoked {
		t.Fatalf("revoke = %+v, %v", got, err)
	}
	w.fake.SetNow(func() time.Time { return start.Add(2 * time.Hour) })
	for link, want := range map[string]string{
		expiring:                   "invite link expired",
		revoked:                    "invite link revoked",
		"https://t.me/+notalink00": "invite link not found",
	} {
		if joined, reason, err := w.fake.JoinByLink(w.user.ID, link); joined || reason != want || err != nil {
			t.Errorf("join %s = %v %q %v, want %q", link, joined, reason, err, want)
		}
	}
}

func TestJoinRequestApproval(t *testing.T) {
	w := newWorld(t, "chat_join_request", "chat_member")
	chat := w.supergroup(t, AdminRights{CanInviteUsers: true})
	link := w.link(t, &telego.CreateChatInviteLinkParams{ChatID: tu.ID(chat.ID), CreatesJoinRequest: true})
	joined, reason, err := w.fake.JoinByLink(w.user.ID, link)
	if joined || reason != "join request sent" || err != nil {
		t.Fatalf("join = %v %q %v", joined, reason, err)
	}
	req := w.hook.last(t).update.ChatJoinRequest
	if req == nil || req.From.ID != w.user.ID || req.InviteLink == nil || req.InviteLink.InviteLink != link {
		t.Fatalf("update = %s", w.hook.last(t).body)
	}
	if err := w.api.ApproveChatJoinRequest(ctx(t), &telego.ApproveChatJoinRequestParams{ChatID: tu.ID(chat.ID), UserID: w.user.ID}); err != nil {
		t.Fatal(err)
	}
	if !w.fake.IsMember(chat.ID, w.user.ID) || len(w.fake.PendingJoinRequests(chat.ID)) != 0 {
		t.Fatal("approval did not admit the user")
	}
	if cm := w.hook.last(t).update.ChatMember; cm == nil || cm.NewChatMember.MemberStatus() != "member" {
		t.Fatalf("update after approval = %s", w.hook.last(t).body)
	}
	apiErr(t, w.api.DeclineChatJoinRequest(ctx(t), &telego.DeclineChatJoinRequestParams{ChatID: tu.ID(chat.ID), UserID: w.user.ID}), 400, "Bad Request: HIDE_REQUESTER_MISSING")
}

func TestChatMemberVariants(t *testing.T) {
	w := newWorld(t)
	chat := w.supergroup(t, AdminRights{CanInviteUsers: true, CanRestrictMembers: true})
	owner, banned := w.fake.AddUser("Owner", "own"), w.fake.AddUser("Dee", "")
	if err := w.fake.SetMemberStatus(chat.ID, owner.ID, "creator"); err != nil {
		t.Fatal(err)
	}
	if err := w.fake.SetMemberStatus(chat.ID, w.user.ID, "member"); err != nil {
		t.Fatal(err)
	}
	if err := w.api.BanChatMember(ctx(t), &telego.BanChatMemberParams{ChatID: tu.ID(chat.ID), UserID: banned.ID}); err != nil {
		t.Fatal(err)
	}
	stranger := w.fake.AddUser("Eve", "")
	want := map[int64]string{owner.ID: "creator", w.bot.ID: "administrator", w.user.ID: "member", banned.ID: "kicked", stranger.ID: "left"}
	for id, status := range want {
		m, err := w.api.GetChatMember(ctx(t), &telego.GetChatMemberParams{ChatID: tu.ID(chat.ID), UserID: id})
		if err != nil {
			t.Fatal(err)
		}
		if m.MemberStatus() != status || m.MemberUser().ID != id {
			t.Errorf("member %d = %s, want %s", id, m.MemberStatus(), status)
		}
		if admin, ok := m.(*telego.ChatMemberAdministrator); ok && (!admin.CanInviteUsers || !admin.CanRestrictMembers) {
			t.Errorf("bot rights = %+v", admin)
		}
	}
	admins, err := w.api.GetChatAdministrators(ctx(t), &telego.GetChatAdministratorsParams{ChatID: tu.ID(chat.ID)})
	if err != nil || len(admins) != 2 {
		t.Fatalf("admins = %v, %v", admins, err)
	}
	full, err := w.api.GetChat(ctx(t), &telego.GetChatParams{ChatID: tu.ID(chat.ID)})
	if err != nil || full.Title != "Members" || full.Type != "supergroup" || !strings.HasPrefix(fmt.Sprint(full.ID), "-100") {
		t.Fatalf("getChat = %+v, %v", full, err)
	}
}

func TestFailureInjection(t *testing.T) {
	w := newWorld(t)
	if _, err := w.fake.Start(w.bot.ID, w.user.ID, ""); err != nil {
		t.Fatal(err)
	}
	w.fake.Fail("sendMessage", 1, Fail429(7))
	_, err := w.api.SendMessage(ctx(t), tu.Message(tu.ID(w.user.ID), "hi"))
	e := apiErr(t, err, 429, "Too Many Requests: retry after 7")
	if e.Parameters == nil || e.Parameters.RetryAfter != 7 {
		t.Fatalf("parameters = %+v", e.Parameters)
	}
	if _, err := w.api.SendMessage(ctx(t), tu.Message(tu.ID(w.user.ID), "hi")); err != nil {
		t.Fatalf("the failure should be used up: %v", err)
	}
	if n := len(w.fake.Messages(w.bot.ID, w.user.ID)); n != 1 {
		t.Fatalf("a failed call must change nothing: %d messages", n)
	}

	w.fake.Fail("", 2, Fail5xx())
	if _, err := w.api.GetMe(ctx(t)); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("getMe with 5xx = %v", err)
	}
	w.fake.Fail("sendMessage", 1, Fail403Blocked())
	_, err = w.api.SendMessage(ctx(t), tu.Message(tu.ID(w.user.ID), "hi")) // the 5xx still has one left, for any method
	if err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("second 5xx = %v", err)
	}
	_, err = w.api.SendMessage(ctx(t), tu.Message(tu.ID(w.user.ID), "hi"))
	apiErr(t, err, 403, "Forbidden: bot was blocked by the user")

	w.fake.Fail("getMe", -1, Fail5xx())
	for range 3 {
		if _, err := w.api.GetMe(ctx(t)); err == nil {
			t.Fatal("a standing failure stopped")
		}
	}
	w.fake.ClearFailures()
	if _, err := w.api.GetMe(ctx(t)); err != nil {
		t.Fatal(err)
	}
	statuses := []int{}
	for _, c := range w.fake.CallsTo("sendMessage") {
		statuses = append(statuses, c.Status)
	}
	if fmt.Sprint(statuses) != "[429 200 500 403]" {
		t.Fatalf("sendMessage statuses = %v", statuses)
	}
}

func TestCommands(t *testing.T) {
	w := newWorld(t)
	owner := tu.ScopeChat(tu.ID(w.user.ID))
	cmds := []telego.BotCommand{{Command: "newcode", Description: "Make a code"}, {Command: "members", Description: "Members"}}
	if err := w.api.SetMyCommands(ctx(t), &telego.SetMyCommandsParams{Commands: cmds, Scope: owner}); err != nil {
		t.Fatal(err)
	}
	if got := w.fake.Commands(w.bot.ID, owner, ""); len(got) != 2 || got[0].Command != "newcode" {
		t.Fatalf("Commands = %+v", got)
	}
	if got := w.fake.Commands(w.bot.ID, nil, ""); len(got) != 0 {
		t.Fatalf("default scope = %+v", got)
	}
	err := w.api.SetMyCommands(ctx(t), &telego.SetMyCommandsParams{Commands: []telego.BotCommand{{Command: "New-Code", Description: "x"}}})
	apiErr(t, err, 400, "Bad Request: BOT_COMMAND_INVALID")
}

type convPair struct{ bot, user int64 }

// TestConcurrentUse runs bots and users in parallel, each talking and
// joining a shared chat by link, while a reader keeps observing; -race
// catches any access outside the lock.
func TestConcurrentUse(t *testing.T) {
	fake := NewServer()
	defer fake.Close()
	hook := newHook(t)
	chat := fake.AddChat("supergroup", "Shared")
	const bots, users, perUser = 4, 5, 10
	var wg sync.WaitGroup
	var pairs []convPair
	for range bots {
		token, bot := fake.AddBot("load_bot")
		api := newClient(t, fake, token)
		if err := api.SetWebhook(ctx(t), &telego.SetWebhookParams{URL: hook.srv.URL, AllowedUpdates: []string{"message"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := fake.AddBotToChat(bot.ID, chat.ID, AdminRights{CanInviteUsers: true}); !errors.Is(err, ErrNotSubscribed) {
			t.Fatalf("AddBotToChat: %v", err)
		}
		for range users {
			p := convPair{bot.ID, fake.AddUser("U", "").ID}
			pairs = append(pairs, p)
			wg.Go(func() { converseAndJoin(t, fake, api, p, chat.ID, perUser) })
		}
	}
	stop := keepReading(fake, pairs, chat.ID)
	wg.Wait()
	stop()

	if n := len(fake.CallsTo("sendMessage")); n != bots*users*perUser {
		t.Fatalf("sendMessage calls = %d, want %d", n, bots*users*perUser)
	}
	for _, p := range pairs {
		checkConversation(t, fake.Messages(p.bot, p.user), perUser)
		if !fake.IsMember(chat.ID, p.user) {
			t.Fatalf("user %d did not join", p.user)
		}
	}
	if n := len(fake.InviteLinks(chat.ID)); n != bots*users {
		t.Fatalf("invite links = %d", n)
	}
	if n := len(hook.received()); n != bots*users {
		t.Fatalf("webhook got %d updates, want %d", n, bots*users)
	}
}

func converseAndJoin(t *testing.T, fake *Server, api *telego.Bot, p convPair, chatID int64, n int) {
	if _, err := fake.Start(p.bot, p.user, ""); err != nil {
		t.Error(err)
		return
	}
	for i := range n {
		if _, err := api.SendMessage(ctx(t), tu.Message(tu.ID(p.user), fmt.Sprint(i))); err != nil {
			t.Error(err)
		}
	}
	link, err := api.CreateChatInviteLink(ctx(t), &telego.CreateChatInviteLinkParams{ChatID: tu.ID(chatID), MemberLimit: 1})
	if err != nil {
		t.Error(err)
		return
	}
	if joined, reason, err := fake.JoinByLink(p.user, link.InviteLink); !joined || err != nil {
		t.Errorf("join = %q, %v", reason, err)
	}
}

// keepReading observes the fake from another goroutine until stopped.
func keepReading(fake *Server, pairs []convPair, chatID int64) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-quit:
				return
			default:
			}
			p := pairs[i%len(pairs)]
			_ = fake.Messages(p.bot, p.user)
			_ = fake.CallsTo("sendMessage")
			_ = fake.Deliveries()
			_ = fake.InviteLinks(chatID)
			_ = fake.MemberStatus(chatID, p.user)
		}
	}()
	return func() { close(quit); <-done }
}

func checkConversation(t *testing.T, msgs []Message, n int) {
	t.Helper()
	if len(msgs) != n {
		t.Fatalf("%d messages, want %d", len(msgs), n)
	}
	for i, m := range msgs {
		if m.Text != fmt.Sprint(i) || m.MessageID != i+2 { // the user's /start was message 1
			t.Fatalf("message %d = %q id %d", i, m.Text, m.MessageID)
		}
	}
}

func BenchmarkSendMessage(b *testing.B) {
	fake := NewServer()
	defer fake.Close()
	token, bot := fake.AddBot("bench_bot")
	user := fake.AddUser("B", "")
	hook := httptestOK()
	defer hook.Close()
	api, err := telego.NewBot(token, telego.WithAPIServer(fake.URL()), telego.WithDiscardLogger())
	if err != nil {
		b.Fatal(err)
	}
	if err := api.SetWebhook(b.Context(), &telego.SetWebhookParams{URL: hook.URL}); err != nil {
		b.Fatal(err)
	}
	if _, err := fake.Start(bot.ID, user.ID, ""); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := api.SendMessage(b.Context(), tu.Message(tu.ID(user.ID), "hi")); err != nil {
			b.Fatal(err)
		}
	}
}

// TestNewBot: a bot made as @BotFather makes one has its name, answers
// getMe, and keeps its username to itself whatever the case, against
// bots and people alike.
func TestNewBot(t *testing.T) {
	fake := NewServer()
	t.Cleanup(fake.Close)
	fake.AddUser("Robot", "robot")
	_, demo := fake.AddBot("demo_bot")
	token, bot, err := fake.NewBot("My Club", "my_club_bot")
	if err != nil {
		t.Fatal(err)
	}
	me, err := newClient(t, fake, token).GetMe(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if me.ID != bot.ID || me.FirstName != "My Club" || me.Username != "my_club_bot" || !me.IsBot {
		t.Fatalf("getMe = %+v", me)
	}
	for _, taken := range []string{"my_club_bot", "MY_Club_Bot", "Demo_Bot", "ROBOT"} {
		if _, _, err := fake.NewBot("Another", taken); !errors.Is(err, ErrUsernameTaken) {
			t.Errorf("NewBot(%q): err = %v, want ErrUsernameTaken", taken, err)
		}
	}
	if got := fake.Bots(); len(got) != 2 || got[0].ID != demo.ID || got[1].ID != bot.ID {
		t.Fatalf("Bots() = %+v, want the demo bot then @my_club_bot", got)
	}
}

// TestNumberBotsAfter: bots registered after NumberBotsAfter(id) take ids
// above id, and a lower id never numbers bots backwards.
func TestNumberBotsAfter(t *testing.T) {
	fake := NewHandlerServer()
	_, first := fake.AddBot("first_bot")
	fake.NumberBotsAfter(first.ID + 10)
	_, second := fake.AddBot("second_bot")
	fake.NumberBotsAfter(1)
	_, third, err := fake.NewBot("Third", "third_bot")
	if err != nil {
		t.Fatal(err)
	}
	if second.ID != first.ID+11 || third.ID != second.ID+1 {
		t.Fatalf("ids %d, %d, %d; want %d, %d after the first", first.ID, second.ID, third.ID, first.ID+11, first.ID+12)
	}
}
