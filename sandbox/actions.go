package sandbox

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/mymmrac/telego"
)

// What a person does, each through the fake Telegram's user actions, which
// reach the bot by its webhook exactly as Telegram's would.

// maxText is Telegram's limit on a message's length.
const maxText = 4096

// sendText sends what the person typed to the bot.
func (s *Sandbox) sendText(c *fiber.Ctx) error {
	w := s.world.Load()
	p, err := s.personParam(c)
	if p == nil {
		return err
	}
	text := strings.TrimSpace(form(c, "text"))
	switch {
	case text == "":
		return fail(c, fiber.StatusBadRequest, "Type a message first.")
	case utf8.RuneCountInString(text) > maxText:
		return fail(c, fiber.StatusBadRequest, fmt.Sprintf("Telegram messages are at most %d characters.", maxText))
	}
	if err := s.send(w, p, text); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"ok": true})
}

// send delivers a message from the person to the bot. A webhook that does
// not answer 200 is shown in the chat: Telegram would deliver it again.
func (s *Sandbox) send(w *world, p *person, text string) error {
	s.record(p, entry{after: s.seen(w, p), kind: entryText, text: text})
	status, err := s.fake.SendText(w.demo.Bot.TelegramID, p.user.ID, text)
	if err != nil || status != fiber.StatusOK {
		s.note(w, p, deliveryProblem(status, err), "bad")
		return fmt.Errorf("sandbox: deliver a message: status %d: %w", status, err)
	}
	return nil
}

func deliveryProblem(status int, err error) string {
	if err != nil {
		return "The bot's server could not be reached: " + err.Error()
	}
	return fmt.Sprintf("The bot's server answered %d to this. Telegram would try again later.", status)
}

// startPayload is what Telegram allows after ?start=.
var startPayload = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// openLink opens a t.me link as the person: the bot's link (with or
// without ?start=), or a chat's invite link.
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
	switch {
	case strings.HasPrefix(name, "+") || strings.HasPrefix(name, "joinchat/"):
		hash := strings.TrimPrefix(strings.TrimPrefix(name, "joinchat/"), "+")
		s.join(w, p, "https://t.me/+"+hash)
		return c.JSON(fiber.Map{"ok": true})
	case !strings.EqualFold(name, w.demo.Bot.Username):
		return fail(c, fiber.StatusBadRequest, fmt.Sprintf("This sandbox has one bot, @%s; that link is for %q.", w.demo.Bot.Username, name))
	}
	text := "/start"
	if payload := u.Query().Get("start"); payload != "" {
		if !startPayload.MatchString(payload) {
			return fail(c, fiber.StatusBadRequest, "Telegram does not open this link: after ?start= it takes up to 64 letters, digits, _ and -.")
		}
		text += " " + payload
	}
	if err := s.send(w, p, text); err != nil {
		w.app.Log.Warn("sandbox: open link", "err", err)
	}
	return c.JSON(fiber.Map{"ok": true})
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
// what Telegram did.
func (s *Sandbox) join(w *world, p *person, link string) {
	title := "the chat"
	for _, ch := range w.demo.Chats {
		for _, l := range s.fake.InviteLinks(ch.TelegramChatID) {
			if l.InviteLink == link {
				title = ch.Title
			}
		}
	}
	joined, reason, err := s.fake.JoinByLink(p.user.ID, link)
	switch {
	case joined:
		s.note(w, p, "You joined "+title+".", "ok")
	case refusals[reason] != "":
		msg := refusals[reason]
		if strings.Contains(msg, "%s") {
			msg = fmt.Sprintf(msg, title)
		}
		s.note(w, p, msg, "bad")
	default:
		s.note(w, p, "Telegram: "+reason+".", "bad")
	}
	if err != nil {
		s.note(w, p, "Telegram could not tell the bot about it: "+err.Error(), "bad")
	}
}

// pressButton taps an inline button under one of the bot's messages.
func (s *Sandbox) pressButton(c *fiber.Ctx) error {
	w := s.world.Load()
	p, err := s.personParam(c)
	if p == nil {
		return err
	}
	msgID, err := strconv.Atoi(form(c, "message"))
	data := form(c, "data")
	if err != nil || data == "" {
		return fail(c, fiber.StatusBadRequest, "That button is not there any more.")
	}
	after := s.seen(w, p)
	status, err := s.fake.PressButton(w.demo.Bot.TelegramID, p.user.ID, msgID, data)
	if status == 0 && err != nil {
		return fail(c, fiber.StatusBadRequest, "That button is not there any more.")
	}
	s.record(p, entry{after: after, kind: entryPress, callback: s.lastCallback(w, p, msgID, data)})
	if err != nil || status != fiber.StatusOK {
		s.note(w, p, deliveryProblem(status, err), "bad")
	}
	return c.JSON(fiber.Map{"ok": true})
}

// lastCallback finds the id of the callback query the person's tap just
// made, so the bot's answer (a short notice) can be shown with it.
func (s *Sandbox) lastCallback(w *world, p *person, msgID int, data string) string {
	ds := s.fake.Deliveries()
	for i := len(ds) - 1; i >= 0; i-- {
		d := ds[i]
		if d.Bot != w.demo.Bot.TelegramID || d.Type != "callback_query" {
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
	id, _ := strconv.Atoi(c.Params("message"))
	for _, m := range s.fake.Messages(w.demo.Bot.TelegramID, p.user.ID) {
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
