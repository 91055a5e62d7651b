package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"
	"github.com/mymmrac/telego"

	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/telegram/telegramtest"
	"github.com/gatekey/gatekey/tenant"
)

// What a person does, each through the fake Telegram's user actions, which
// reach the bot by its webhook exactly as Telegram's would. Each action is
// with the bot the page plays (botParam); a bot's link opens its own chat.

// maxText is Telegram's limit on a message's length.
const maxText = 4096

// sendText sends what the person typed to the bot.
func (s *Sandbox) sendText(c *fiber.Ctx) error {
	w := s.world.Load()
	p, err := s.personParam(c)
	if p == nil {
		return err
	}
	bot, err := s.botParam(c, w)
	if err != nil {
		return problem(c, err)
	}
	text := strings.TrimSpace(form(c, "text"))
	switch {
	case text == "":
		return fail(c, fiber.StatusBadRequest, "Type a message first.")
	case utf8.RuneCountInString(text) > maxText:
		return fail(c, fiber.StatusBadRequest, fmt.Sprintf("Telegram messages are at most %d characters.", maxText))
	}
	if err := s.send(bot, p, text); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"ok": true})
}

// send delivers a message from the person to the bot. A webhook that does
// not answer 200 is shown in the chat: Telegram would deliver it again.
func (s *Sandbox) send(bot tenant.Bot, p *person, text string) error {
	s.record(p, entry{bot: bot.TelegramID, after: s.seen(bot, p), kind: entryText, text: text})
	status, err := s.fake.SendText(bot.TelegramID, p.user.ID, text)
	if err != nil || status != fiber.StatusOK {
		s.note(bot, p, deliveryProblem(status, err), "bad")
		return fmt.Errorf("sandbox: deliver a message: status %d: %w", status, err)
	}
	return nil
}

func deliveryProblem(status int, err error) string {
	switch {
	case errors.Is(err, telegramtest.ErrNoWebhook):
		return "The bot is not connected (it has no webhook), so nobody hears this. Connect it in the console under Bots."
	case err != nil:
		return "The bot's server could not be reached: " + err.Error()
	}
	return fmt.Sprintf("The bot's server answered %d to this. Telegram would try again later.", status)
}

// startPayload is what Telegram allows after ?start=.
var startPayload = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// openLink opens a t.me link as the person: a bot's link (with or without
// ?start=: an activation link, or the console's owner link), which opens
// that bot's chat, or a chat's invite link. It answers the bot whose chat
// the page should show.
func (s *Sandbox) openLink(c *fiber.Ctx) error {
	w := s.world.Load()
	p, err := s.personParam(c)
	if p == nil {
		return err
	}
	raw := strings.TrimSpace(form(c, "link"))
	u, err := url.Parse(raw)
	if err == nil && u.Scheme == "" {
		u, err = url.Parse("https://" + raw)
	}
	if raw == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || (u.Host != "t.me" && u.Host != "telegram.me") {
		return fail(c, fiber.StatusBadRequest, "Paste a t.me link: an activation link (t.me/"+w.demo.Bot.Username+"?start=…) or an invite link (t.me/+…).")
	}
	name := strings.Trim(u.Path, "/")
	if strings.HasPrefix(name, "+") || strings.HasPrefix(name, "joinchat/") {
		bot, err := s.botParam(c, w)
		if err != nil {
			return problem(c, err)
		}
		hash := strings.TrimPrefix(strings.TrimPrefix(name, "joinchat/"), "+")
		s.join(c.UserContext(), w, bot, p, "https://t.me/+"+hash)
		return c.JSON(fiber.Map{"ok": true, "bot": bot.TelegramID})
	}
	found, ok := s.botNamed(name)
	if !ok {
		return fail(c, fiber.StatusBadRequest, fmt.Sprintf("There is no bot @%s in the sandbox's Telegram: make it in the BotFather panel first.", name))
	}
	bot, err := s.connectedBot(c.UserContext(), w, found.ID)
	if err != nil {
		return problem(c, err)
	}
	text := "/start"
	if payload := u.Query().Get("start"); payload != "" {
		if !startPayload.MatchString(payload) {
			return fail(c, fiber.StatusBadRequest, "Telegram does not open this link: after ?start= it takes up to 64 letters, digits, _ and -.")
		}
		text += " " + payload
	}
	if err := s.send(bot, p, text); err != nil {
		w.app.Log.Warn("sandbox: open link", "err", err)
	}
	return c.JSON(fiber.Map{"ok": true, "bot": bot.TelegramID})
}

// refusals are Telegram's reasons for not letting someone in, in words.
var refusals = map[string]string{
	"invite link not found": "Telegram: this invite link does not exist.",
	"invite link revoked":   "Telegram: this invite link was revoked, so it no longer works.",
	"invite link expired":   "Telegram: this invite link has expired.",
	"invite link used up":   "Telegram: this invite link has already been used. Each Join link lets one person in.",
	"user is banned":        "Telegram: you are banned from %s.",
	"already a member":      "You are already in %s.",
	"join request sent":     "Your request to join %s was sent to its admins.",
}

// join opens a chat's invite link as the person and says in their chat
// with the bot what Telegram did.
func (s *Sandbox) join(ctx context.Context, w *world, bot tenant.Bot, p *person, link string) {
	title := s.linkTitle(ctx, w, bot, link)
	joined, reason, err := s.fake.JoinByLink(p.user.ID, link)
	switch {
	case joined:
		s.note(bot, p, "You joined "+title+".", "ok")
	case refusals[reason] != "":
		msg := refusals[reason]
		if strings.Contains(msg, "%s") {
			msg = fmt.Sprintf(msg, title)
		}
		s.note(bot, p, msg, "bad")
	default:
		s.note(bot, p, "Telegram: "+reason+".", "bad")
	}
	if err != nil {
		s.note(bot, p, "Telegram could not tell the bot about it: "+err.Error(), "bad")
	}
}

// linkTitle names the chat of one of the bot's invite links, or says "the
// chat" for a link of a chat it does not know.
func (s *Sandbox) linkTitle(ctx context.Context, w *world, bot tenant.Bot, link string) string {
	var chats []membership.Chat
	err := w.app.DB.Tx(ctx, bot.TenantID, func(tx pgx.Tx) (err error) {
		chats, err = membership.ListChats(ctx, tx, bot.ID)
		return err
	})
	if err != nil {
		w.app.Log.Warn("sandbox: the chats of an invite link", "err", err)
	}
	for _, ch := range chats {
		for _, l := range s.fake.InviteLinks(ch.TelegramChatID) {
			if l.InviteLink == link {
				return ch.Title
			}
		}
	}
	return "the chat"
}

// pressButton taps an inline button under one of the bot's messages.
func (s *Sandbox) pressButton(c *fiber.Ctx) error {
	w := s.world.Load()
	p, err := s.personParam(c)
	if p == nil {
		return err
	}
	bot, err := s.botParam(c, w)
	if err != nil {
		return problem(c, err)
	}
	msgID, err := strconv.Atoi(form(c, "message"))
	data := form(c, "data")
	if err != nil || data == "" {
		return fail(c, fiber.StatusBadRequest, "That button is not there any more.")
	}
	after := s.seen(bot, p)
	status, err := s.fake.PressButton(bot.TelegramID, p.user.ID, msgID, data)
	if status == 0 && err != nil && !errors.Is(err, telegramtest.ErrNoWebhook) {
		return fail(c, fiber.StatusBadRequest, "That button is not there any more.")
	}
	s.record(p, entry{bot: bot.TelegramID, after: after, kind: entryPress, callback: s.lastCallback(bot, p, msgID, data)})
	if err != nil || status != fiber.StatusOK {
		s.note(bot, p, deliveryProblem(status, err), "bad")
	}
	return c.JSON(fiber.Map{"ok": true})
}

// lastCallback finds the id of the callback query the person's tap just
// made, so the bot's answer (a short notice) can be shown with it.
func (s *Sandbox) lastCallback(bot tenant.Bot, p *person, msgID int, data string) string {
	ds := s.fake.Deliveries()
	for i := len(ds) - 1; i >= 0; i-- {
		d := ds[i]
		if d.Bot != bot.TelegramID || d.Type != "callback_query" {
			continue
		}
		var u telego.Update
		if json.Unmarshal(d.Body, &u) != nil || u.CallbackQuery == nil {
			continue
		}
		q := u.CallbackQuery
		if q.From.ID == p.user.ID && q.Data == data && q.Message != nil && q.Message.GetMessageID() == msgID {
			return q.ID
		}
	}
	return ""
}

// download serves a document the bot sent the person (a CSV of codes).
func (s *Sandbox) download(c *fiber.Ctx) error {
	w := s.world.Load()
	p, err := s.personParam(c)
	if p == nil {
		return err
	}
	bot, err := s.botParam(c, w)
	if err != nil {
		return problem(c, err)
	}
	id, _ := strconv.Atoi(c.Params("message"))
	for _, m := range s.fake.Messages(bot.TelegramID, p.user.ID) {
		if m.MessageID == id && m.Document != nil && !m.Deleted {
			d := m.Document
			mime := d.MimeType
			if mime == "" {
				mime = "application/octet-stream"
				if strings.HasSuffix(strings.ToLower(d.FileName), ".csv") {
					mime = "text/csv; charset=utf-8"
				}
			}
			c.Attachment(d.FileName)
			c.Set(fiber.HeaderContentType, mime)
			return c.Send(d.Data)
		}
	}
	return fail(c, fiber.StatusNotFound, "That file is not in this chat.")
}
