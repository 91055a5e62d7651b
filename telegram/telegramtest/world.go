package telegramtest

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mymmrac/telego"
)

// User and Chat are telego's types, so values from the fake can be compared
// with what telego returns.
type (
	User = telego.User
	Chat = telego.Chat
)

// AdminRights are the administrator rights the fake checks; they map onto
// telego.ChatMemberAdministrator's CanInviteUsers and CanRestrictMembers.
type AdminRights struct {
	CanInviteUsers     bool
	CanRestrictMembers bool
}

// Message is a message a bot sent, as it stands now: edits are applied and a
// deleted message stays, marked Deleted, so a test can check the deletion.
// Treat the pointers as read-only.
type Message struct {
	MessageID   int
	Chat        Chat
	From        User // the bot
	Date        time.Time
	Text        string
	Caption     string
	ParseMode   string
	ReplyMarkup *telego.InlineKeyboardMarkup // nil without an inline keyboard
	Document    *Document
	EditDate    time.Time // zero until edited
	Deleted     bool
}

// Document is a file sent with sendDocument; Data is empty when it was sent
// by HTTP URL, which the fake does not fetch.
type Document struct {
	FileID       string
	FileUniqueID string
	FileName     string
	MimeType     string
	Data         []byte
}

// InviteLink is an invite link with its usage, as the fake tracks it.
type InviteLink struct {
	telego.ChatInviteLink
	ChatID   int64
	Uses     int     // joins through the link
	JoinedBy []int64 // who joined through it, in order
}

type botState struct {
	user       User
	token      string
	hook       webhook
	lastUpdate int
	started    map[int64]bool // users who opened the private chat
	blocked    map[int64]bool
	commands   map[string][]telego.BotCommand // by scope and language
}

type webhook struct {
	url        string
	secret     string
	maxConn    int
	allowed    []string // nil: Telegram's default set
	lastErrAt  int64
	lastErrMsg string
}

type chatState struct {
	chat      Chat
	members   map[int64]*memberState
	adminBots map[int64]bool // bots that are administrators: who gets chat_member updates
	owner     *User
	links     []*linkState
	requests  map[int64]*linkState // pending join requests, by user
	nextMsg   int                  // message ids are per chat in groups and channels
}

type memberState struct {
	status string // telego.MemberStatus*
	rights AdminRights
	until  int64
}

type linkState struct {
	link     telego.ChatInviteLink
	chatID   int64
	creator  int64
	uses     int
	joinedBy []int64
}

// convKey names one bot's messages in one chat.
type convKey struct{ bot, chat int64 }

type conversation struct {
	msgs    []*Message
	byID    map[int]*Message
	nextMsg int // message ids are per conversation in private chats
}

type callbackState struct {
	bot      int64
	answered bool
}

// randomString returns n characters of [A-Za-z0-9_-], the alphabet of both
// bot tokens and invite-link hashes.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// AddBot registers a bot. The token has the shape telego checks
// (^\d+:[\w-]{35}$) and its number is the bot's user id.
func (s *Server) AddBot(username string) (token string, bot User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addBotLocked(username, username)
}

// ErrUsernameTaken is NewBot's answer for a username that a bot or a
// person of the fake already has.
var ErrUsernameTaken = errors.New("telegramtest: username already taken")

// NewBot registers a bot as @BotFather's /newbot does: with a name (the
// bot's first name) and a username nobody else in the fake has, compared
// without regard to case, as Telegram compares usernames. The username's
// form is the caller's to check; AddBot, for tests, checks nothing.
func (s *Server) NewBot(name, username string) (token string, bot User, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.usernameTakenLocked(username) {
		return "", User{}, ErrUsernameTaken
	}
	token, bot = s.addBotLocked(name, username)
	return token, bot, nil
}

func (s *Server) addBotLocked(name, username string) (token string, bot User) {
	s.seq.bot++
	bot = User{ID: s.seq.bot, IsBot: true, FirstName: name, Username: username, CanJoinGroups: true}
	token = fmt.Sprintf("%d:%s", bot.ID, randomString(35))
	b := &botState{user: bot, token: token, started: map[int64]bool{}, blocked: map[int64]bool{}, commands: map[string][]telego.BotCommand{}}
	s.bots[bot.ID] = b
	s.byToken[token] = b
	return token, bot
}

func (s *Server) usernameTakenLocked(username string) bool {
	for _, b := range s.bots {
		if strings.EqualFold(b.user.Username, username) {
			return true
		}
	}
	for _, u := range s.users {
		if strings.EqualFold(u.Username, username) {
			return true
		}
	}
	return false
}

// NumberBotsAfter makes the bots registered from now on take ids above
// id. A fake starts afresh, while the database beside it (the dev mode's)
// may remember bots of an earlier fake: their ids must not come again.
func (s *Server) NumberBotsAfter(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq.bot = max(s.seq.bot, id)
}

// Bots returns the bots, in the order they were registered.
func (s *Server) Bots() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.bots))
	for _, b := range s.bots {
		out = append(out, b.user)
	}
	slices.SortFunc(out, func(a, b User) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// AddUser registers a person.
func (s *Server) AddUser(firstName, username string) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq.user++
	u := &User{ID: s.seq.user, FirstName: firstName, Username: username}
	s.users[u.ID] = u
	return *u
}

// AddChat creates a chat of kind "channel", "supergroup" or "group" with no
// members. Channels and supergroups get ids like -100xxxxxxxxxx, basic
// groups small negative ids, as on Telegram. Another kind panics: it is a
// mistake in the test.
func (s *Server) AddChat(kind, title string) Chat {
	s.mu.Lock()
	defer s.mu.Unlock()
	var id int64
	switch kind {
	case telego.ChatTypeChannel, telego.ChatTypeSupergroup:
		s.seq.chat++
		id = -1_000_000_000_000 - s.seq.chat
	case telego.ChatTypeGroup:
		s.seq.group++
		id = -s.seq.group
	default:
		panic(fmt.Sprintf("telegramtest: AddChat: unsupported chat kind %q", kind))
	}
	c := &chatState{chat: Chat{ID: id, Type: kind, Title: title}, members: map[int64]*memberState{}, adminBots: map[int64]bool{}, requests: map[int64]*linkState{}}
	s.chats[id] = c
	return c.chat
}

// SetMemberStatus puts a person into a chat with the given status
// ("creator", "administrator", "member", "left", "kicked") without any
// update: it builds the world as a test starts. Bots join with AddBotToChat.
func (s *Server) SetMemberStatus(chatID, userID int64, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	chat, user := s.chats[chatID], s.users[userID]
	if chat == nil || user == nil {
		return fmt.Errorf("telegramtest: SetMemberStatus: unknown chat %d or user %d", chatID, userID)
	}
	switch status {
	case telego.MemberStatusCreator, telego.MemberStatusAdministrator, telego.MemberStatusMember, telego.MemberStatusLeft, telego.MemberStatusBanned:
	default:
		return fmt.Errorf("telegramtest: SetMemberStatus: unsupported status %q", status)
	}
	if chat.owner != nil && chat.owner.ID == userID {
		chat.owner = nil
	}
	if status == telego.MemberStatusCreator { // a chat has one owner
		if chat.owner != nil {
			chat.members[chat.owner.ID].status = telego.MemberStatusAdministrator
		}
		chat.owner = user
	}
	chat.members[userID] = &memberState{status: status}
	return nil
}

// AddBotToChat makes the bot an administrator of the chat with the given
// rights and delivers the my_chat_member update Telegram sends then. The
// bot is an administrator even when the delivery fails (ErrNoWebhook, say).
func (s *Server) AddBotToChat(botID, chatID int64, rights AdminRights) (status int, err error) {
	s.mu.Lock()
	o, err := s.promoteBotLocked(botID, chatID, rights)
	s.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return s.post(o)
}

func (s *Server) promoteBotLocked(botID, chatID int64, rights AdminRights) (outbound, error) {
	bot, chat := s.bots[botID], s.chats[chatID]
	if bot == nil || chat == nil {
		return outbound{}, fmt.Errorf("telegramtest: AddBotToChat: unknown bot %d or chat %d", botID, chatID)
	}
	old := chat.member(botID)
	now := &memberState{status: telego.MemberStatusAdministrator, rights: rights}
	chat.members[botID] = now
	chat.adminBots[botID] = true
	from := bot.user
	if chat.owner != nil {
		from = *chat.owner // the person who promoted the bot
	}
	upd := telego.Update{MyChatMember: &telego.ChatMemberUpdated{
		Chat: chat.chat, From: from, Date: s.now().Unix(),
		OldChatMember: chatMember(bot.user, chat, old), NewChatMember: chatMember(bot.user, chat, *now),
	}}
	return s.prepareLocked(botID, upd)
}

// member returns the user's state in the chat; someone never seen has left.
func (c *chatState) member(userID int64) memberState {
	if m := c.members[userID]; m != nil {
		return *m
	}
	return memberState{status: telego.MemberStatusLeft}
}

func (c *chatState) setStatus(userID int64, status string) {
	c.members[userID] = &memberState{status: status}
	if status != telego.MemberStatusAdministrator {
		delete(c.adminBots, userID)
	}
}

func isIn(status string) bool {
	switch status {
	case telego.MemberStatusCreator, telego.MemberStatusAdministrator, telego.MemberStatusMember:
		return true
	}
	return false
}

// chatMember renders a member state as the ChatMember variant Telegram
// sends; telego's variants carry no status of their own, so it is set here.
func chatMember(u User, chat *chatState, m memberState) telego.ChatMember {
	switch m.status {
	case telego.MemberStatusCreator:
		return &telego.ChatMemberOwner{Status: m.status, User: u}
	case telego.MemberStatusAdministrator:
		return adminMember(u, chat, m.rights)
	case telego.MemberStatusMember:
		return &telego.ChatMemberMember{Status: m.status, User: u}
	case telego.MemberStatusBanned:
		return &telego.ChatMemberBanned{Status: m.status, User: u, UntilDate: m.until}
	}
	return &telego.ChatMemberLeft{Status: telego.MemberStatusLeft, User: u}
}

func adminMember(u User, chat *chatState, r AdminRights) *telego.ChatMemberAdministrator {
	channel := chat.chat.Type == telego.ChatTypeChannel
	return &telego.ChatMemberAdministrator{
		Status: telego.MemberStatusAdministrator, User: u,
		CanManageChat:  true, // implied by any other right
		CanInviteUsers: r.CanInviteUsers, CanRestrictMembers: r.CanRestrictMembers,
		CanPostMessages: channel, CanEditMessages: channel,
	}
}

// BlockBot makes the user block the bot: sends to that user then answer 403
// "Forbidden: bot was blocked by the user" until the user writes to the bot
// again (SendText or Start). Unknown ids panic: a mistake in the test.
func (s *Server) BlockBot(userID, botID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bot := s.bots[botID]
	if bot == nil || s.users[userID] == nil {
		panic(fmt.Sprintf("telegramtest: BlockBot: unknown user %d or bot %d", userID, botID))
	}
	bot.blocked[userID] = true
}

// SetStarted marks that the user opened the bot's private chat, without
// delivering an update: for tests that set up many members at once.
func (s *Server) SetStarted(botID, userID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bot := s.bots[botID]
	if bot == nil || s.users[userID] == nil {
		panic(fmt.Sprintf("telegramtest: SetStarted: unknown user %d or bot %d", userID, botID))
	}
	bot.started[userID] = true
}

// Messages returns what the bot sent to the chat (a user id for a private
// chat), in order.
func (s *Server) Messages(botID, chatID int64) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	conv := s.convs[convKey{botID, chatID}]
	if conv == nil {
		return nil
	}
	out := make([]Message, len(conv.msgs))
	for i, m := range conv.msgs {
		out[i] = *m
	}
	return out
}

// IsMember reports whether the user is in the chat (member, administrator
// or creator).
func (s *Server) IsMember(chatID, userID int64) bool {
	return isIn(s.MemberStatus(chatID, userID))
}

// MemberStatus returns "creator", "administrator", "member", "left" or
// "kicked"; "left" for anyone never seen in the chat.
func (s *Server) MemberStatus(chatID, userID int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if chat := s.chats[chatID]; chat != nil {
		return chat.member(userID).status
	}
	return telego.MemberStatusLeft
}

// InviteLinks returns the chat's invite links in creation order.
func (s *Server) InviteLinks(chatID int64) []InviteLink {
	s.mu.Lock()
	defer s.mu.Unlock()
	chat := s.chats[chatID]
	if chat == nil {
		return nil
	}
	out := make([]InviteLink, len(chat.links))
	for i, l := range chat.links {
		out[i] = InviteLink{ChatInviteLink: l.link, ChatID: l.chatID, Uses: l.uses, JoinedBy: slices.Clone(l.joinedBy)}
	}
	return out
}

// PendingJoinRequests returns the users waiting for approval in the chat.
func (s *Server) PendingJoinRequests(chatID int64) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int64
	if chat := s.chats[chatID]; chat != nil {
		for id := range chat.requests {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Webhook returns what the bot set with setWebhook; allowedUpdates is nil
// for Telegram's default set.
func (s *Server) Webhook(botID int64) (url, secret string, maxConnections int, allowedUpdates []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bot := s.bots[botID]
	if bot == nil {
		return "", "", 0, nil
	}
	h := bot.hook
	return h.url, h.secret, h.maxConn, slices.Clone(h.allowed)
}

// Commands returns the bot's commands set with setMyCommands for a scope
// (nil for the default scope) and language code.
func (s *Server) Commands(botID int64, scope telego.BotCommandScope, languageCode string) []telego.BotCommand {
	key, err := commandsKey(scope, languageCode)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if bot := s.bots[botID]; bot != nil {
		return slices.Clone(bot.commands[key])
	}
	return nil
}

// WaitFor polls cond every 5 ms until it holds or ctx is done. cond runs
// without the fake's lock, so it may call the fake.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

func (s *Server) userLocked(id int64) (User, bool) {
	if u := s.users[id]; u != nil {
		return *u, true
	}
	if b := s.bots[id]; b != nil {
		return b.user, true
	}
	return User{}, false
}

func privateChat(u User) Chat {
	return Chat{ID: u.ID, Type: telego.ChatTypePrivate, FirstName: u.FirstName, LastName: u.LastName, Username: u.Username}
}

// nextMessageIDLocked numbers messages as Telegram does: per private chat,
// and per chat in groups and channels.
func (s *Server) nextMessageIDLocked(botID, chatID int64) int {
	if chat := s.chats[chatID]; chat != nil {
		chat.nextMsg++
		return chat.nextMsg
	}
	conv := s.convLocked(botID, chatID)
	conv.nextMsg++
	return conv.nextMsg
}

func (s *Server) convLocked(botID, chatID int64) *conversation {
	k := convKey{botID, chatID}
	conv := s.convs[k]
	if conv == nil {
		conv = &conversation{byID: map[int]*Message{}}
		s.convs[k] = conv
	}
	return conv
}

// storeMessageLocked numbers and keeps a message the bot sends.
func (s *Server) storeMessageLocked(bot *botState, chat Chat, m *Message, now time.Time) *Message {
	m.MessageID = s.nextMessageIDLocked(bot.user.ID, chat.ID)
	m.Chat, m.From, m.Date = chat, bot.user, now
	conv := s.convLocked(bot.user.ID, chat.ID)
	if s.keep > 0 && len(conv.msgs) >= s.keep {
		delete(conv.byID, conv.msgs[0].MessageID)
		n := copy(conv.msgs, conv.msgs[1:])
		conv.msgs[n] = nil
		conv.msgs = conv.msgs[:n]
	}
	conv.msgs = append(conv.msgs, m)
	conv.byID[m.MessageID] = m
	return m
}

// findMessageLocked returns a live message the bot sent to the chat.
func (s *Server) findMessageLocked(botID, chatID int64, id int) *Message {
	conv := s.convs[convKey{botID, chatID}]
	if conv == nil {
		return nil
	}
	if m := conv.byID[id]; m != nil && !m.Deleted {
		return m
	}
	return nil
}

// toTelego renders the message as the Bot API returns it.
func (m *Message) toTelego() *telego.Message {
	tm := &telego.Message{
		MessageID: m.MessageID, Date: m.Date.Unix(), Chat: m.Chat,
		Text: m.Text, Caption: m.Caption, ReplyMarkup: m.ReplyMarkup,
	}
	if m.Chat.Type == telego.ChatTypeChannel {
		chat := m.Chat
		tm.SenderChat = &chat // channel posts carry the channel, not the bot
	} else {
		from := m.From
		tm.From = &from
	}
	if !m.EditDate.IsZero() {
		tm.EditDate = m.EditDate.Unix()
	}
	if d := m.Document; d != nil {
		tm.Document = &telego.Document{FileID: d.FileID, FileUniqueID: d.FileUniqueID, FileName: d.FileName, MimeType: d.MimeType, FileSize: int64(len(d.Data))}
	}
	return tm
}
