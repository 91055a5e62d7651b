package sandbox

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/mymmrac/telego"

	"github.com/gatekey/gatekey/telegram/telegramtest"
)

// The BotFather panel: what a new owner does in Telegram before Gatekey
// knows them. It makes a bot with its token, as @BotFather's /newbot does,
// and a channel or group with a bot as its administrator, as an owner does
// in the chat's settings; both in the fake, whose Bot API then answers for
// them as for any bot. So a newcomer who signs up in the console can
// connect a bot of their own and walk the whole path of a real owner.

// madeBot is a bot the panel made, with the token it showed.
type madeBot struct {
	user  telegramtest.User
	token string
}

// Bounds on what one sandbox makes.
const (
	maxBots  = 20
	maxChats = 50
)

// Telegram's limits.
const (
	maxBotName   = 64  // a bot's name, as BotFather takes it
	maxChatTitle = 128 // a chat's title
)

// botUsername is Telegram's form of a username: 5 to 32 Latin letters,
// digits and underscores, starting with a letter.
var botUsername = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{4,31}$`)

// badBotUsername says what is wrong with a new bot's username, or "".
func badBotUsername(u string) string {
	switch {
	case u == "":
		return "Choose a username for the bot, such as my_club_bot."
	case len(u) < 5 || len(u) > 32:
		return "A bot's username is 5 to 32 characters long."
	case !botUsername.MatchString(u):
		return "Use Latin letters, digits and underscores in the username, and start it with a letter."
	case !strings.HasSuffix(strings.ToLower(u), "bot"):
		return `A bot's username must end in "bot", such as my_club_bot or MyClubBot.`
	}
	return ""
}

// badBotName says what is wrong with a new bot's name, or "".
func badBotName(name string) string {
	switch {
	case utf8.RuneCountInString(name) > maxBotName:
		return fmt.Sprintf("Keep the bot's name to %d characters.", maxBotName)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "The bot's name cannot hold control characters."
	}
	return ""
}

// createBot makes a bot as @BotFather does and answers its token.
func (s *Sandbox) createBot(c *fiber.Ctx) error {
	username := strings.TrimPrefix(strings.TrimSpace(form(c, "username")), "@")
	name := strings.Join(strings.Fields(form(c, "name")), " ")
	if msg := badBotUsername(username); msg != "" {
		return fail(c, fiber.StatusBadRequest, msg)
	}
	if msg := badBotName(name); msg != "" {
		return fail(c, fiber.StatusBadRequest, msg)
	}
	if name == "" {
		name = username
	}
	s.mu.Lock()
	full := len(s.made) >= maxBots
	s.mu.Unlock()
	if full {
		return fail(c, fiber.StatusBadRequest, fmt.Sprintf("The sandbox makes up to %d bots: restart it to begin afresh.", maxBots))
	}
	token, bot, err := s.fake.NewBot(name, username)
	if errors.Is(err, telegramtest.ErrUsernameTaken) {
		return fail(c, fiber.StatusBadRequest, "Sorry, this username is already taken. Try something different.")
	}
	if err != nil {
		return fmt.Errorf("sandbox: create bot: %w", err)
	}
	s.mu.Lock()
	s.made = append(s.made, madeBot{user: bot, token: token})
	s.mu.Unlock()
	return c.JSON(fiber.Map{"bot": bot.ID, "username": bot.Username, "token": token})
}

// createChat makes a channel or supergroup and a bot its administrator.
// Telegram then tells the bot (my_chat_member), which is how Gatekey learns
// of a chat: with no webhook to tell, the console would never show it, so
// a bot that is not connected is refused before anything is made.
func (s *Sandbox) createChat(c *fiber.Ctx) error {
	title := strings.Join(strings.Fields(form(c, "title")), " ")
	kind := form(c, "kind")
	botID, _ := strconv.ParseInt(form(c, "bot"), 10, 64)
	rights := telegramtest.AdminRights{CanInviteUsers: form(c, "invite") == "on", CanRestrictMembers: form(c, "ban") == "on"}
	switch {
	case title == "":
		return fail(c, fiber.StatusBadRequest, "Give the channel or group a title.")
	case utf8.RuneCountInString(title) > maxChatTitle:
		return fail(c, fiber.StatusBadRequest, fmt.Sprintf("Telegram keeps a title to %d characters.", maxChatTitle))
	case strings.IndexFunc(title, unicode.IsControl) >= 0:
		return fail(c, fiber.StatusBadRequest, "A title cannot hold control characters.")
	case kind != telego.ChatTypeChannel && kind != telego.ChatTypeSupergroup:
		return fail(c, fiber.StatusBadRequest, "Choose a channel or a group.")
	}
	bot, ok := s.fakeBot(func(b telegramtest.User) bool { return b.ID == botID })
	if !ok {
		return fail(c, fiber.StatusBadRequest, "Choose which of the sandbox's bots to make the administrator.")
	}
	if !s.hasWebhook(bot.ID) {
		return fail(c, fiber.StatusBadRequest, fmt.Sprintf("Connect @%s in the console first (Bots: paste its token), then add it to a chat: "+
			"Gatekey learns of a chat when Telegram tells the connected bot it was added.", bot.Username))
	}
	s.mu.Lock()
	s.chatsMade++
	full := s.chatsMade > maxChats
	s.mu.Unlock()
	if full {
		return fail(c, fiber.StatusBadRequest, fmt.Sprintf("The sandbox makes up to %d chats: restart it to begin afresh.", maxChats))
	}
	chat := s.fake.AddChat(kind, title)
	status, err := s.fake.AddBotToChat(bot.ID, chat.ID, rights)
	if err != nil || status != fiber.StatusOK {
		return fail(c, fiber.StatusBadGateway, fmt.Sprintf("%q is made and @%s is its administrator, but: %s", title, bot.Username, deliveryProblem(status, err)))
	}
	return c.JSON(fiber.Map{"chat": chat.ID, "message": chatMade(title, kind, bot.Username, rights)})
}

// chatMade says what createChat made and where the console shows it.
func chatMade(title, kind, bot string, r telegramtest.AdminRights) string {
	what := "group"
	if kind == telego.ChatTypeChannel {
		what = "channel"
	}
	var missing []string
	if !r.CanInviteUsers {
		missing = append(missing, "Invite users via link")
	}
	if !r.CanRestrictMembers {
		missing = append(missing, "Ban users")
	}
	done := fmt.Sprintf("Made the %s “%s” with @%s as its administrator.", what, title, bot)
	if len(missing) > 0 {
		return done + " Without " + strings.Join(missing, " and ") + ", the console lists it under Bots as Needs rights."
	}
	return done + " The console lists it under Bots; choose it for a plan under Plans."
}
