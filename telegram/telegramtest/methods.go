package telegramtest

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/url"
	"path"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/mymmrac/telego"
)

// handler runs one Bot API method under the lock, with parameters already
// checked against the spec. A method in the spec without a handler answers
// "method not supported by the fake", so a test notices at once.
type handler func(r *request) (any, *apiError)

var handlers = map[string]handler{
	"getMe":                  getMe,
	"setWebhook":             setWebhook,
	"deleteWebhook":          deleteWebhook,
	"getWebhookInfo":         getWebhookInfo,
	"sendMessage":            sendMessage,
	"sendDocument":           sendDocument,
	"sendChatAction":         sendChatAction,
	"editMessageText":        editMessageText,
	"editMessageReplyMarkup": editMessageReplyMarkup,
	"deleteMessage":          deleteMessage,
	"deleteMessages":         deleteMessages,
	"answerCallbackQuery":    answerCallbackQuery,
	"createChatInviteLink":   createChatInviteLink,
	"editChatInviteLink":     editChatInviteLink,
	"revokeChatInviteLink":   revokeChatInviteLink,
	"banChatMember":          banChatMember,
	"unbanChatMember":        unbanChatMember,
	"approveChatJoinRequest": approveChatJoinRequest,
	"declineChatJoinRequest": declineChatJoinRequest,
	"getChat":                getChat,
	"getChatMember":          getChatMember,
	"getChatAdministrators":  getChatAdministrators,
	"getChatMemberCount":     getChatMemberCount,
	"leaveChat":              leaveChat,
	"setMyCommands":          setMyCommands,
	"getMyCommands":          getMyCommands,
	"deleteMyCommands":       deleteMyCommands,
}

const (
	linkPrefix      = "https://t.me/+"
	notModified     = "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"
	noInviteRights  = "not enough rights to manage chat invite link"
	noRestrictRight = "not enough rights to restrict/unrestrict chat member"
	maxTextLen      = 4096
	maxCaptionLen   = 1024
	maxCallbackData = 64
	deleteWindow    = 48 * time.Hour
)

func getMe(r *request) (any, *apiError) { return r.bot.user, nil }

// ---- webhook ----

func setWebhook(r *request) (any, *apiError) {
	u := r.str("url")
	if u == "" {
		return deleteWebhook(r)
	}
	if err := checkWebhookURL(u); err != nil {
		return nil, err
	}
	h := webhook{url: u, secret: r.str("secret_token"), maxConn: 40, allowed: r.bot.hook.allowed}
	if err := checkSecret(h.secret); err != nil {
		return nil, err
	}
	if r.has("max_connections") {
		if h.maxConn = int(r.int("max_connections")); h.maxConn < 1 || h.maxConn > 100 {
			return nil, badRequest("max_connections must be between 1 and 100")
		}
	}
	if r.has("allowed_updates") { // absent keeps the previous setting, as on Telegram
		list, err := r.updateTypes()
		if err != nil {
			return nil, err
		}
		h.allowed = list
	}
	r.bot.hook = h
	r.desc = "Webhook was set"
	return true, nil
}

// checkWebhookURL accepts http as well as https: tests listen on loopback
// without TLS.
func checkWebhookURL(raw string) *apiError {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return badRequest("bad webhook: invalid URL %q", raw)
	}
	return nil
}

func checkSecret(secret string) *apiError {
	if len(secret) > 256 {
		return badRequest("secret token is too long")
	}
	for _, c := range secret {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return badRequest("secret token contains unallowed characters")
		}
	}
	return nil
}

// updateTypes reads allowed_updates; an unknown type is refused so that a
// misspelling does not silently cost a bot its updates. Empty means
// Telegram's default set (nil).
func (r *request) updateTypes() ([]string, *apiError) {
	items, _ := r.params["allowed_updates"].([]any)
	var list []string
	for _, it := range items {
		name, ok := it.(string)
		if !ok || !r.s.spec.updateTypes[name] {
			return nil, badRequest("unknown update type %v in allowed_updates", it)
		}
		list = append(list, name)
	}
	return list, nil
}

func deleteWebhook(r *request) (any, *apiError) {
	if r.bot.hook.url == "" {
		r.desc = "Webhook is already deleted"
	} else {
		r.desc = "Webhook was deleted"
	}
	r.bot.hook = webhook{allowed: r.bot.hook.allowed}
	return true, nil
}

func getWebhookInfo(r *request) (any, *apiError) {
	h := r.bot.hook
	info := telego.WebhookInfo{URL: h.url, LastErrorDate: h.lastErrAt, LastErrorMessage: h.lastErrMsg, AllowedUpdates: h.allowed}
	if h.url != "" {
		info.MaxConnections = h.maxConn
	}
	return info, nil
}

// ---- sending ----

func sendMessage(r *request) (any, *apiError) {
	text := r.str("text")
	if err := checkText(text, maxTextLen, "message text is empty", "message is too long"); err != nil {
		return nil, err
	}
	m := &Message{Text: text, ParseMode: r.str("parse_mode")}
	return r.send(m)
}

func sendDocument(r *request) (any, *apiError) {
	caption := r.str("caption")
	if utf16Len(caption) > maxCaptionLen {
		return nil, badRequest("message caption is too long")
	}
	doc, err := r.document()
	if err != nil {
		return nil, err
	}
	return r.send(&Message{Caption: caption, ParseMode: r.str("parse_mode"), Document: doc})
}

// send checks what every send method shares (parse mode, keyboard, the
// right to write to the chat), then keeps the message.
func (r *request) send(m *Message) (any, *apiError) {
	if err := checkParseMode(m.ParseMode); err != nil {
		return nil, err
	}
	kb, err := r.inlineKeyboard()
	if err != nil {
		return nil, err
	}
	chat, err := r.writableChat()
	if err != nil {
		return nil, err
	}
	m.ReplyMarkup = kb
	return r.s.storeMessageLocked(r.bot, chat, m, r.now).toTelego(), nil
}

func checkText(text string, limit int, emptyMsg, longMsg string) *apiError {
	if strings.TrimSpace(text) == "" {
		return badRequest("%s", emptyMsg)
	}
	if utf16Len(text) > limit {
		return badRequest("%s", longMsg)
	}
	return nil
}

func checkParseMode(mode string) *apiError {
	switch strings.ToLower(mode) {
	case "", "html", "markdown", "markdownv2":
		return nil
	}
	return badRequest("unsupported parse_mode")
}

// inlineKeyboard reads reply_markup. Only inline keyboards are kept; the
// other keyboard kinds are accepted and not shown in Messages.
func (r *request) inlineKeyboard() (*telego.InlineKeyboardMarkup, *apiError) {
	obj, ok := r.params["reply_markup"].(map[string]any)
	if !ok || obj["inline_keyboard"] == nil {
		return nil, nil
	}
	var kb telego.InlineKeyboardMarkup
	if err := r.decode("reply_markup", &kb); err != nil {
		return nil, err
	}
	return &kb, checkKeyboard(&kb)
}

// checkKeyboard applies the two button rules a bot most easily breaks.
func checkKeyboard(kb *telego.InlineKeyboardMarkup) *apiError {
	for _, row := range kb.InlineKeyboard {
		for _, b := range row {
			if len(b.CallbackData) > maxCallbackData {
				return badRequest("BUTTON_DATA_INVALID")
			}
			if b.Text == "" {
				return badRequest("BUTTON_TEXT_INVALID")
			}
			if !hasAction(b) {
				return badRequest("text buttons are unallowed in the inline keyboard")
			}
		}
	}
	return nil
}

// hasAction reports whether any optional field besides the label is set.
func hasAction(b telego.InlineKeyboardButton) bool {
	v := reflect.ValueOf(b)
	for i := range v.NumField() {
		switch v.Type().Field(i).Name {
		case "Text", "IconCustomEmojiID", "Style":
		default:
			if !v.Field(i).IsZero() {
				return true
			}
		}
	}
	return false
}

// writableChat is the chat_id a bot may send to: a person who opened the
// chat and did not block the bot, or a chat the bot is in (an
// administrator, for a channel).
func (r *request) writableChat() (Chat, *apiError) {
	id, err := r.chatID()
	if err != nil {
		return Chat{}, err
	}
	if id > 0 {
		return r.privateChat(id, true)
	}
	chat, err := r.memberChat(id)
	if err != nil {
		return Chat{}, err
	}
	if chat.chat.Type == telego.ChatTypeChannel && chat.member(r.bot.user.ID).status != telego.MemberStatusAdministrator {
		return Chat{}, badRequest("need administrator rights in the channel chat")
	}
	return chat.chat, nil
}

// privateChat checks the bot may write to the person; mustBeStarted is
// false for edits, where the conversation exists already.
func (r *request) privateChat(userID int64, mustBeStarted bool) (Chat, *apiError) {
	if r.s.bots[userID] != nil {
		return Chat{}, forbidden("bot can't send messages to bots")
	}
	u := r.s.users[userID]
	switch {
	case u == nil:
		return Chat{}, badRequest("chat not found")
	case r.bot.blocked[userID]:
		return Chat{}, forbidden("bot was blocked by the user")
	case mustBeStarted && !r.bot.started[userID]:
		return Chat{}, forbidden("bot can't initiate conversation with a user")
	}
	return privateChat(*u), nil
}

// memberChat returns a group or channel the bot is in.
func (r *request) memberChat(id int64) (*chatState, *apiError) {
	chat := r.s.chats[id]
	if chat == nil {
		return nil, badRequest("chat not found")
	}
	switch chat.member(r.bot.user.ID).status {
	case telego.MemberStatusAdministrator, telego.MemberStatusMember, telego.MemberStatusCreator:
		return chat, nil
	case telego.MemberStatusBanned:
		return nil, forbidden("bot was kicked from the %s chat", chat.chat.Type)
	}
	return nil, forbidden("bot is not a member of the %s chat", chat.chat.Type)
}

// document reads the document parameter: an upload becomes a new file with
// a file_id; a known file_id is sent again; an HTTP URL is taken on trust.
func (r *request) document() (*Document, *apiError) {
	switch v := r.params["document"].(type) {
	case File:
		return r.s.storeFileLocked(v), nil
	case string:
		if d := r.s.files[v]; d != nil {
			return d, nil
		}
		if u, err := url.Parse(v); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			return &Document{FileID: "url:" + v, FileUniqueID: randomString(12), FileName: path.Base(u.Path), MimeType: mimeType(u.Path)}, nil
		}
	}
	return nil, badRequest("wrong file identifier/HTTP URL specified")
}

func (s *Server) storeFileLocked(f File) *Document {
	d := &Document{
		FileID:       "BQACAgIAAxk" + randomString(40),
		FileUniqueID: "AgAD" + randomString(12),
		FileName:     f.Name, MimeType: mimeType(f.Name), Data: f.Data,
	}
	s.files[d.FileID] = d
	return d
}

func mimeType(name string) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

var chatActions = []string{"typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice", "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note"}

func sendChatAction(r *request) (any, *apiError) {
	if !slices.Contains(chatActions, r.str("action")) {
		return nil, badRequest("wrong parameter action in request")
	}
	if _, err := r.writableChat(); err != nil {
		return nil, err
	}
	return true, nil
}

// ---- editing and deleting ----

func editMessageText(r *request) (any, *apiError) {
	if err := r.refuseInline(); err != nil {
		return nil, err
	}
	text := r.str("text")
	if err := checkText(text, maxTextLen, "message text is empty", "message is too long"); err != nil {
		return nil, err
	}
	m, err := r.targetMessage("message to edit not found")
	if err != nil {
		return nil, err
	}
	if m.Document != nil {
		return nil, badRequest("there is no text in the message to edit")
	}
	// Without reply_markup Telegram drops the keyboard, so nil is the new markup.
	kb, err := r.inlineKeyboard()
	if err == nil {
		err = checkParseMode(r.str("parse_mode"))
	}
	if err != nil {
		return nil, err
	}
	if m.Text == text && sameKeyboard(m.ReplyMarkup, kb) {
		return nil, badRequest(notModified)
	}
	m.Text, m.ParseMode, m.ReplyMarkup, m.EditDate = text, r.str("parse_mode"), kb, r.now
	return m.toTelego(), nil
}

func editMessageReplyMarkup(r *request) (any, *apiError) {
	if err := r.refuseInline(); err != nil {
		return nil, err
	}
	m, err := r.targetMessage("message to edit not found")
	if err != nil {
		return nil, err
	}
	kb, err := r.inlineKeyboard()
	if err != nil {
		return nil, err
	}
	if sameKeyboard(m.ReplyMarkup, kb) {
		return nil, badRequest(notModified)
	}
	m.ReplyMarkup, m.EditDate = kb, r.now
	return m.toTelego(), nil
}

func (r *request) refuseInline() *apiError {
	for _, p := range []string{"inline_message_id", "business_connection_id", "rich_message"} {
		if r.has(p) {
			return badRequest("method not supported by the fake: %s with %s", "editing", p)
		}
	}
	return nil
}

// targetMessage finds the bot's message named by chat_id and message_id.
func (r *request) targetMessage(notFound string) (*Message, *apiError) {
	if !r.has("chat_id") {
		return nil, badRequest("chat_id is empty")
	}
	if !r.has("message_id") {
		return nil, badRequest("message identifier is not specified")
	}
	id, err := r.chatID()
	if err != nil {
		return nil, err
	}
	if err := r.readableChat(id); err != nil {
		return nil, err
	}
	m := r.s.findMessageLocked(r.bot.user.ID, id, int(r.int("message_id")))
	if m == nil {
		return nil, badRequest("%s", notFound)
	}
	return m, nil
}

// readableChat checks the bot still has access to a chat it wrote to.
func (r *request) readableChat(id int64) *apiError {
	if id > 0 {
		_, err := r.privateChat(id, false)
		return err
	}
	_, err := r.memberChat(id)
	return err
}

func sameKeyboard(a, b *telego.InlineKeyboardMarkup) bool {
	if a == nil || b == nil {
		return a == b
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func deleteMessage(r *request) (any, *apiError) {
	m, err := r.targetMessage("message to delete not found")
	if err != nil {
		return nil, err
	}
	if r.now.Sub(m.Date) > deleteWindow {
		return nil, badRequest("message can't be deleted for everyone")
	}
	m.Deleted = true
	return true, nil
}

// deleteMessages skips messages it cannot find or delete, as Telegram does.
func deleteMessages(r *request) (any, *apiError) {
	id, err := r.chatID()
	if err != nil {
		return nil, err
	}
	if err := r.readableChat(id); err != nil {
		return nil, err
	}
	ids, _ := r.params["message_ids"].([]any)
	if len(ids) == 0 || len(ids) > 100 {
		return nil, badRequest("message_ids must list 1-100 messages")
	}
	for _, v := range ids {
		n, _ := toInt(v)
		msgID, _ := n.(int64)
		if m := r.s.findMessageLocked(r.bot.user.ID, id, int(msgID)); m != nil && r.now.Sub(m.Date) <= deleteWindow {
			m.Deleted = true
		}
	}
	return true, nil
}

func answerCallbackQuery(r *request) (any, *apiError) {
	cb := r.s.callbacks[r.str("callback_query_id")]
	if cb == nil || cb.bot != r.bot.user.ID || cb.answered {
		return nil, badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	if utf16Len(r.str("text")) > 200 {
		return nil, badRequest("MESSAGE_TOO_LONG")
	}
	cb.answered = true
	return true, nil
}

// ---- invite links and join requests ----

func createChatInviteLink(r *request) (any, *apiError) {
	chat, err := r.managedChat(canInvite, noInviteRights)
	if err != nil {
		return nil, err
	}
	l := &linkState{chatID: chat.chat.ID, creator: r.bot.user.ID, link: telego.ChatInviteLink{
		InviteLink: linkPrefix + randomString(16), Creator: r.bot.user,
	}}
	if err := r.applyLinkParams(&l.link); err != nil {
		return nil, err
	}
	r.s.links[l.link.InviteLink] = l
	chat.links = append(chat.links, l)
	return l.link, nil
}

// applyLinkParams sets the optional link fields given in the call.
func (r *request) applyLinkParams(l *telego.ChatInviteLink) *apiError {
	if r.has("name") {
		if l.Name = r.str("name"); utf16Len(l.Name) > 32 {
			return badRequest("invite link name is too long")
		}
	}
	if r.has("expire_date") {
		if l.ExpireDate = r.int("expire_date"); l.ExpireDate != 0 && l.ExpireDate <= r.now.Unix() {
			return badRequest("EXPIRE_DATE_INVALID")
		}
	}
	if r.has("member_limit") {
		if l.MemberLimit = int(r.int("member_limit")); l.MemberLimit < 1 || l.MemberLimit > 99999 {
			return badRequest("member_limit must be between 1 and 99999")
		}
	}
	if r.has("creates_join_request") {
		l.CreatesJoinRequest = r.bool("creates_join_request")
	}
	if l.CreatesJoinRequest && l.MemberLimit > 0 {
		return badRequest("member_limit can't be specified for links requiring administrator approval")
	}
	return nil
}

func editChatInviteLink(r *request) (any, *apiError) {
	l, err := r.ownLink()
	if err != nil {
		return nil, err
	}
	if l.link.IsRevoked {
		return nil, badRequest("INVITE_HASH_EXPIRED")
	}
	edited := l.link
	if err := r.applyLinkParams(&edited); err != nil {
		return nil, err
	}
	l.link = edited
	return l.link, nil
}

func revokeChatInviteLink(r *request) (any, *apiError) {
	l, err := r.ownLink()
	if err != nil {
		return nil, err
	}
	l.link.IsRevoked = true
	return l.link, nil
}

// ownLink finds invite_link in the chat the bot manages links of.
func (r *request) ownLink() (*linkState, *apiError) {
	chat, err := r.managedChat(canInvite, noInviteRights)
	if err != nil {
		return nil, err
	}
	l := r.s.links[r.str("invite_link")]
	if l == nil || l.chatID != chat.chat.ID {
		return nil, badRequest("invite link not found")
	}
	return l, nil
}

func canInvite(a AdminRights) bool   { return a.CanInviteUsers }
func canRestrict(a AdminRights) bool { return a.CanRestrictMembers }

// managedChat returns a group or channel where the bot is an administrator
// with the right the method needs.
func (r *request) managedChat(need func(AdminRights) bool, noRight string) (*chatState, *apiError) {
	id, err := r.chatID()
	if err != nil {
		return nil, err
	}
	if id > 0 {
		return nil, badRequest("method is available for supergroup and channel chats only")
	}
	chat, err := r.memberChat(id)
	if err != nil {
		return nil, err
	}
	if m := chat.member(r.bot.user.ID); m.status != telego.MemberStatusAdministrator || !need(m.rights) {
		return nil, badRequest("%s", noRight)
	}
	return chat, nil
}

func approveChatJoinRequest(r *request) (any, *apiError) {
	chat, user, l, err := r.joinRequest()
	if err != nil {
		return nil, err
	}
	if isIn(chat.member(user.ID).status) {
		return nil, badRequest("USER_ALREADY_PARTICIPANT")
	}
	r.outbox = append(r.outbox, r.s.admitLocked(chat, l, user, r.bot.user)...)
	return true, nil
}

func declineChatJoinRequest(r *request) (any, *apiError) {
	if _, _, _, err := r.joinRequest(); err != nil {
		return nil, err
	}
	return true, nil
}

// joinRequest takes the user's pending request off the chat.
func (r *request) joinRequest() (*chatState, User, *linkState, *apiError) {
	chat, err := r.managedChat(canInvite, noInviteRights)
	if err != nil {
		return nil, User{}, nil, err
	}
	uid := r.int("user_id")
	l := chat.requests[uid]
	if l == nil {
		return nil, User{}, nil, badRequest("HIDE_REQUESTER_MISSING")
	}
	delete(chat.requests, uid)
	l.link.PendingJoinRequestCount--
	user, _ := r.s.userLocked(uid)
	return chat, user, l, nil
}

// ---- members ----

func banChatMember(r *request) (any, *apiError) {
	chat, user, err := r.restrictTarget()
	if err != nil {
		return nil, err
	}
	old := chat.member(user.ID)
	chat.setStatus(user.ID, telego.MemberStatusBanned)
	chat.members[user.ID].until = r.int("until_date")
	r.outbox = append(r.outbox, r.s.memberChangeLocked(chat, user, r.bot.user, old, nil)...)
	return true, nil
}

// unbanChatMember leaves the user "left", free to join again; without
// only_if_banned it also removes a member, as Telegram does.
func unbanChatMember(r *request) (any, *apiError) {
	chat, user, err := r.restrictTarget()
	if err != nil {
		return nil, err
	}
	old := chat.member(user.ID)
	if old.status == telego.MemberStatusLeft || (r.bool("only_if_banned") && old.status != telego.MemberStatusBanned) {
		return true, nil
	}
	chat.setStatus(user.ID, telego.MemberStatusLeft)
	r.outbox = append(r.outbox, r.s.memberChangeLocked(chat, user, r.bot.user, old, nil)...)
	return true, nil
}

// restrictTarget checks the bot may ban or unban user_id in the chat.
func (r *request) restrictTarget() (*chatState, User, *apiError) {
	chat, err := r.managedChat(canRestrict, noRestrictRight)
	if err != nil {
		return nil, User{}, err
	}
	user, ok := r.s.userLocked(r.int("user_id"))
	switch st := chat.member(user.ID).status; {
	case !ok:
		return nil, User{}, badRequest("user not found")
	case user.ID == r.bot.user.ID:
		return nil, User{}, badRequest("can't restrict self")
	case st == telego.MemberStatusCreator:
		return nil, User{}, badRequest("can't remove chat owner")
	case st == telego.MemberStatusAdministrator:
		return nil, User{}, badRequest("user is an administrator of the chat")
	}
	return chat, user, nil
}

func getChat(r *request) (any, *apiError) {
	id, err := r.chatID()
	if err != nil {
		return nil, err
	}
	var c Chat
	if id > 0 {
		if !r.bot.started[id] {
			return nil, badRequest("chat not found")
		}
		c, err = r.privateChat(id, false)
	} else {
		var chat *chatState
		chat, err = r.memberChat(id)
		if chat != nil {
			c = chat.chat
		}
	}
	if err != nil {
		return nil, err
	}
	return telego.ChatFullInfo{ID: c.ID, Type: c.Type, Title: c.Title, Username: c.Username, FirstName: c.FirstName, LastName: c.LastName, MaxReactionCount: 11}, nil
}

// viewedChat returns a group or channel whose members the bot may list:
// any chat it is in, but only as an administrator for a channel.
func (r *request) viewedChat() (*chatState, *apiError) {
	id, err := r.chatID()
	if err != nil {
		return nil, err
	}
	if id > 0 {
		return nil, badRequest("method not supported by the fake: member lists of private chats")
	}
	chat, err := r.memberChat(id)
	if err != nil {
		return nil, err
	}
	if chat.chat.Type == telego.ChatTypeChannel && chat.member(r.bot.user.ID).status != telego.MemberStatusAdministrator {
		return nil, badRequest("member list is inaccessible")
	}
	return chat, nil
}

func getChatMember(r *request) (any, *apiError) {
	chat, err := r.viewedChat()
	if err != nil {
		return nil, err
	}
	user, ok := r.s.userLocked(r.int("user_id"))
	if !ok {
		return nil, badRequest("user not found")
	}
	return chatMember(user, chat, chat.member(user.ID)), nil
}

// getChatAdministrators lists the owner and administrators by id; other
// bots only with return_bots, per Bot API 10.1.
func getChatAdministrators(r *request) (any, *apiError) {
	chat, err := r.viewedChat()
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(chat.members))
	for id, m := range chat.members {
		if m.status == telego.MemberStatusCreator || m.status == telego.MemberStatusAdministrator {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := []telego.ChatMember{}
	for _, id := range ids {
		user, _ := r.s.userLocked(id)
		if user.IsBot && id != r.bot.user.ID && !r.bool("return_bots") {
			continue
		}
		out = append(out, chatMember(user, chat, chat.member(id)))
	}
	return out, nil
}

func getChatMemberCount(r *request) (any, *apiError) {
	chat, err := r.viewedChat()
	if err != nil {
		return nil, err
	}
	n := 0
	for _, m := range chat.members {
		if isIn(m.status) {
			n++
		}
	}
	return n, nil
}

func leaveChat(r *request) (any, *apiError) {
	id, err := r.chatID()
	if err != nil {
		return nil, err
	}
	chat, err := r.memberChat(id)
	if err != nil {
		return nil, err
	}
	chat.setStatus(r.bot.user.ID, telego.MemberStatusLeft)
	return true, nil
}

// ---- commands ----

func setMyCommands(r *request) (any, *apiError) {
	var cmds []telego.BotCommand
	if err := r.decode("commands", &cmds); err != nil {
		return nil, err
	}
	if len(cmds) > 100 {
		return nil, badRequest("too many commands")
	}
	for _, c := range cmds {
		if err := checkCommand(c); err != nil {
			return nil, err
		}
	}
	key, err := r.commandsKey()
	if err != nil {
		return nil, err
	}
	r.bot.commands[key] = cmds
	return true, nil
}

func checkCommand(c telego.BotCommand) *apiError {
	if c.Command == "" || len(c.Command) > 32 || strings.Trim(c.Command, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
		return badRequest("BOT_COMMAND_INVALID")
	}
	if n := utf16Len(c.Description); n == 0 || n > 256 {
		return badRequest("command description is empty or too long")
	}
	return nil
}

func getMyCommands(r *request) (any, *apiError) {
	key, err := r.commandsKey()
	if err != nil {
		return nil, err
	}
	cmds := r.bot.commands[key]
	if cmds == nil {
		cmds = []telego.BotCommand{}
	}
	return cmds, nil
}

func deleteMyCommands(r *request) (any, *apiError) {
	key, err := r.commandsKey()
	if err != nil {
		return nil, err
	}
	delete(r.bot.commands, key)
	return true, nil
}

func (r *request) commandsKey() (string, *apiError) {
	key, err := commandsKey(r.params["scope"], r.str("language_code"))
	if err != nil {
		return "", badRequest("can't parse scope: %v", err)
	}
	return key, nil
}

// commandsKey identifies a scope and language: the scope as canonical JSON
// (encoding/json sorts map keys), so equal scopes match however they came.
func commandsKey(scope any, lang string) (string, error) {
	var obj map[string]any
	if scope != nil && !reflect.ValueOf(scope).IsZero() {
		data, err := json.Marshal(scope)
		if err != nil {
			return "", err
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber() // chat ids stay exact
		if err := dec.Decode(&obj); err != nil {
			return "", err
		}
	}
	if len(obj) == 0 {
		obj = map[string]any{"type": "default"}
	}
	data, err := json.Marshal(obj)
	return string(data) + "|" + lang, err
}
