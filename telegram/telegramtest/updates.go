package telegramtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/mymmrac/telego"
)

// SecretHeader carries the secret_token given in setWebhook.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

var (
	// ErrNoWebhook: the bot has not set a webhook, so there is nowhere to
	// deliver the update.
	ErrNoWebhook = errors.New("telegramtest: bot has no webhook")
	// ErrNotSubscribed: the update's type is not in the bot's allowed_updates,
	// so Telegram would not send it.
	ErrNotSubscribed = errors.New("telegramtest: update type not in the bot's allowed_updates")
)

// optInUpdates are left out when allowed_updates is empty (Telegram's
// default): a bot gets them only by naming them.
var optInUpdates = []string{"chat_member", "message_reaction", "message_reaction_count"}

// Delivery is one webhook request the fake made.
type Delivery struct {
	Bot      int64
	UpdateID int // 0 for DeliverRaw
	Type     string
	Body     []byte
	Status   int    // the webhook's HTTP status; 0 if the request failed
	Err      string // transport error, if any
	At       time.Time
}

// outbound is an update ready to POST, prepared under the lock and sent
// without it.
type outbound struct {
	bot      int64
	updateID int
	kind     string
	url      string
	secret   string
	body     []byte
}

// Deliveries returns every webhook request so far, in order.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// SendText delivers a private message from the user to the bot and returns
// the webhook's status. Writing to a bot opens the chat (the bot may then
// message the user) and undoes a block. Text starting with "/" carries a
// bot_command entity for its first word, as Telegram adds.
func (s *Server) SendText(botID, userID int64, text string) (status int, err error) {
	s.mu.Lock()
	o, err := s.userMessageLocked(botID, userID, text)
	s.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return s.post(o)
}

// Start is the user pressing Start, or opening a t.me/<bot>?start=PAYLOAD
// link: "/start" or "/start PAYLOAD".
func (s *Server) Start(botID, userID int64, payload string) (int, error) {
	text := "/start"
	if payload != "" {
		text += " " + payload
	}
	return s.SendText(botID, userID, text)
}

func (s *Server) userMessageLocked(botID, userID int64, text string) (outbound, error) {
	bot, user := s.bots[botID], s.users[userID]
	if bot == nil || user == nil {
		return outbound{}, fmt.Errorf("telegramtest: unknown bot %d or user %d", botID, userID)
	}
	bot.started[userID] = true
	delete(bot.blocked, userID)
	msg := &telego.Message{
		MessageID: s.nextMessageIDLocked(botID, userID),
		From:      user, Date: s.now().Unix(), Chat: privateChat(*user),
		Text: text, Entities: commandEntity(text),
	}
	return s.prepareLocked(botID, telego.Update{Message: msg})
}

func commandEntity(text string) []telego.MessageEntity {
	if !strings.HasPrefix(text, "/") {
		return nil
	}
	cmd, _, _ := strings.Cut(text, " ")
	cmd, _, _ = strings.Cut(cmd, "\n")
	return []telego.MessageEntity{{Type: telego.EntityTypeBotCommand, Offset: 0, Length: utf16Len(cmd)}}
}

// utf16Len measures text the way Telegram does (offsets and limits are in
// UTF-16 code units).
func utf16Len(s string) int { return len(utf16.Encode([]rune(s))) }

// PressButton is the user tapping the inline button with callback data
// `data` under the bot's message messageID in their private chat. The
// button must exist, since a user can only tap what the bot showed; use
// Deliver to forge anything else.
func (s *Server) PressButton(botID, userID int64, messageID int, data string) (int, error) {
	s.mu.Lock()
	o, err := s.pressLocked(botID, userID, messageID, data)
	s.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return s.post(o)
}

func (s *Server) pressLocked(botID, userID int64, messageID int, data string) (outbound, error) {
	user := s.users[userID]
	m := s.findMessageLocked(botID, userID, messageID)
	if user == nil || m == nil {
		return outbound{}, fmt.Errorf("telegramtest: no message %d from bot %d to user %d", messageID, botID, userID)
	}
	if !hasButton(m.ReplyMarkup, data) {
		return outbound{}, fmt.Errorf("telegramtest: message %d has no button with callback_data %q", messageID, data)
	}
	s.seq.callback++
	id := strconv.FormatInt(s.seq.callback, 10)
	s.callbacks[id] = &callbackState{bot: botID}
	q := &telego.CallbackQuery{
		ID: id, From: *user, Message: m.toTelego(), Data: data,
		ChatInstance: strconv.FormatInt(botID*31+userID, 10), // stable per chat, as on Telegram
	}
	return s.prepareLocked(botID, telego.Update{CallbackQuery: q})
}

func hasButton(kb *telego.InlineKeyboardMarkup, data string) bool {
	if kb == nil {
		return false
	}
	for _, row := range kb.InlineKeyboard {
		for _, b := range row {
			if b.CallbackData == data {
				return true
			}
		}
	}
	return false
}

// JoinByLink is the user opening an invite link. It answers whether the
// user joined and, if not, why: "invite link not found", "invite link
// revoked", "invite link expired", "invite link used up", "user is
// banned", "already a member", or, for a creates_join_request link, "join
// request sent" (a chat_join_request update goes to the chat's bots that
// may approve it). On a join the link's usage grows and a chat_member
// update goes to every administrator bot whose allowed_updates include
// chat_member. err reports updates that could not be delivered or that a
// webhook refused (non-2xx); the join itself has happened regardless.
func (s *Server) JoinByLink(userID int64, inviteLink string) (joined bool, reason string, err error) {
	s.mu.Lock()
	joined, reason, out, err := s.joinLocked(userID, inviteLink)
	s.mu.Unlock()
	if err != nil {
		return false, "", err
	}
	return joined, reason, s.deliverAll(out)
}

func (s *Server) joinLocked(userID int64, url string) (bool, string, []outbound, error) {
	user := s.users[userID]
	if user == nil {
		return false, "", nil, fmt.Errorf("telegramtest: JoinByLink: unknown user %d", userID)
	}
	link := s.links[url]
	if link == nil {
		return false, "invite link not found", nil, nil
	}
	chat := s.chats[link.chatID]
	if reason := s.refusalLocked(link, chat.member(userID).status); reason != "" {
		return false, reason, nil, nil
	}
	if link.link.CreatesJoinRequest {
		return false, "join request sent", s.requestJoinLocked(chat, link, *user), nil
	}
	return true, "", s.admitLocked(chat, link, *user, *user), nil
}

// refusalLocked says why the link does not let this user in, or "".
func (s *Server) refusalLocked(l *linkState, status string) string {
	switch {
	case l.link.IsRevoked:
		return "invite link revoked"
	case l.link.ExpireDate != 0 && s.now().Unix() >= l.link.ExpireDate:
		return "invite link expired"
	case l.link.MemberLimit > 0 && l.uses >= l.link.MemberLimit:
		return "invite link used up"
	case status == telego.MemberStatusBanned:
		return "user is banned"
	case isIn(status):
		return "already a member"
	}
	return ""
}

// admitLocked makes the user a member through the link and prepares the
// chat_member updates. from is who caused it: the user, or the approver.
func (s *Server) admitLocked(chat *chatState, link *linkState, user, from User) []outbound {
	old := chat.member(user.ID)
	chat.setStatus(user.ID, telego.MemberStatusMember)
	link.uses++
	link.joinedBy = append(link.joinedBy, user.ID)
	return s.memberChangeLocked(chat, user, from, old, link)
}

// memberChangeLocked prepares the chat_member update for a change of the
// user's status to every administrator bot that asked for chat_member.
func (s *Server) memberChangeLocked(chat *chatState, user, from User, old memberState, link *linkState) []outbound {
	var out []outbound
	for _, botID := range sortedKeys(chat.adminBots) {
		if b := s.bots[botID]; b == nil || b.hook.url == "" || !b.hook.accepts("chat_member") {
			continue // prepareLocked would refuse it: spare building it
		}
		upd := &telego.ChatMemberUpdated{
			Chat: chat.chat, From: from, Date: s.now().Unix(),
			OldChatMember: chatMember(user, chat, old), NewChatMember: chatMember(user, chat, chat.member(user.ID)),
			InviteLink: link.viewedBy(botID),
		}
		if o, err := s.prepareLocked(botID, telego.Update{ChatMember: upd}); err == nil {
			out = append(out, o)
		}
	}
	return out
}

func (s *Server) requestJoinLocked(chat *chatState, link *linkState, user User) []outbound {
	if chat.requests[user.ID] != nil {
		return nil // already waiting; Telegram does not send it again
	}
	chat.requests[user.ID] = link
	link.link.PendingJoinRequestCount++
	var out []outbound
	for _, botID := range sortedKeys(chat.adminBots) {
		if !chat.members[botID].rights.CanInviteUsers {
			continue // only admins who can approve see requests
		}
		req := &telego.ChatJoinRequest{Chat: chat.chat, From: user, UserChatID: user.ID, Date: s.now().Unix(), InviteLink: link.viewedBy(botID)}
		if o, err := s.prepareLocked(botID, telego.Update{ChatJoinRequest: req}); err == nil {
			out = append(out, o)
		}
	}
	return out
}

// viewedBy returns the link as the given bot sees it: Telegram shortens
// links created by another administrator with "…".
func (l *linkState) viewedBy(botID int64) *telego.ChatInviteLink {
	if l == nil {
		return nil
	}
	v := l.link
	if l.creator != botID {
		v.InviteLink = v.InviteLink[:len(linkPrefix)+4] + "…"
	}
	return &v
}

func sortedKeys(m map[int64]bool) []int64 {
	keys := make([]int64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Deliver sends an arbitrary update to the bot's webhook, giving it the
// next update_id when UpdateID is zero (a non-zero id is kept, which is how
// a test redelivers). Like Telegram it delivers only types the bot allowed
// (else ErrNotSubscribed).
func (s *Server) Deliver(botID int64, update telego.Update) (int, error) {
	s.mu.Lock()
	o, err := s.prepareLocked(botID, update)
	s.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return s.post(o)
}

// DeliverRaw POSTs body as-is to the bot's webhook with the given secret
// header (none when empty), for malformed or forged requests.
func (s *Server) DeliverRaw(botID int64, body []byte, secret string) (int, error) {
	s.mu.Lock()
	bot := s.bots[botID]
	var url string
	if bot != nil {
		url = bot.hook.url
	}
	s.mu.Unlock()
	if bot == nil {
		return 0, fmt.Errorf("telegramtest: unknown bot %d", botID)
	}
	if url == "" {
		return 0, ErrNoWebhook
	}
	return s.post(outbound{bot: botID, kind: "raw", url: url, secret: secret, body: body})
}

// prepareLocked checks the bot can receive the update, numbers it and
// encodes it. update_id grows strictly per bot.
func (s *Server) prepareLocked(botID int64, u telego.Update) (outbound, error) {
	bot := s.bots[botID]
	if bot == nil {
		return outbound{}, fmt.Errorf("telegramtest: unknown bot %d", botID)
	}
	kind := updateKind(u)
	switch {
	case kind == "":
		return outbound{}, errors.New("telegramtest: empty update")
	case bot.hook.url == "":
		return outbound{}, fmt.Errorf("%w (bot %d, %s)", ErrNoWebhook, botID, kind)
	case !bot.hook.accepts(kind):
		return outbound{}, fmt.Errorf("%w (bot %d, %s)", ErrNotSubscribed, botID, kind)
	}
	if u.UpdateID == 0 {
		u.UpdateID = bot.lastUpdate + 1
	}
	bot.lastUpdate = max(bot.lastUpdate, u.UpdateID)
	body, err := json.Marshal(u)
	if err != nil {
		return outbound{}, fmt.Errorf("telegramtest: encode update: %w", err)
	}
	return outbound{bot: botID, updateID: u.UpdateID, kind: kind, url: bot.hook.url, secret: bot.hook.secret, body: body}, nil
}

// updateKind names the update's one payload field by its JSON name, as
// allowed_updates does.
func updateKind(u telego.Update) string {
	v := reflect.ValueOf(u)
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Name == "UpdateID" || v.Field(i).IsZero() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		return name
	}
	return ""
}

func (h *webhook) accepts(kind string) bool {
	if len(h.allowed) == 0 {
		return !slices.Contains(optInUpdates, kind)
	}
	return slices.Contains(h.allowed, kind)
}

// post makes one webhook request, without retries: a test redelivers
// explicitly if it wants to.
func (s *Server) post(o outbound) (int, error) {
	req, err := http.NewRequest(http.MethodPost, o.url, bytes.NewReader(o.body))
	if err != nil {
		s.recordDelivery(o, 0, err)
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if o.secret != "" {
		req.Header.Set(SecretHeader, o.secret)
	}
	resp, err := s.client.Do(req)
	status := 0
	if err == nil {
		status = resp.StatusCode
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	s.recordDelivery(o, status, err)
	return status, err
}

func (s *Server) recordDelivery(o outbound, status int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := Delivery{Bot: o.bot, UpdateID: o.updateID, Type: o.kind, Body: o.body, Status: status, At: s.now()}
	if err != nil {
		d.Err = err.Error()
	}
	if !s.forget {
		s.deliveries = append(s.deliveries, d)
	}
	if bot := s.bots[o.bot]; bot != nil && (err != nil || status/100 != 2) {
		bot.hook.lastErrAt = d.At.Unix()
		bot.hook.lastErrMsg = deliveryError(status, err)
	}
}

func deliveryError(status int, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("Wrong response from the webhook: %d %s", status, http.StatusText(status))
}

// deliverAll posts updates in order and reports failures together.
func (s *Server) deliverAll(out []outbound) error {
	var errs []error
	for _, o := range out {
		status, err := s.post(o)
		if err == nil && status/100 != 2 {
			err = fmt.Errorf("webhook answered %d", status)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("telegramtest: bot %d update %d (%s): %w", o.bot, o.updateID, o.kind, err))
		}
	}
	return errors.Join(errs...)
}
