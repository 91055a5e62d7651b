package sandbox

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/telegram/telegramtest"
	"github.com/gatekey/gatekey/tenant"
)

// Which bot the page plays: the demo bot unless the page names another of
// the fake's bots by its Telegram id. Another bot can be played once it is
// connected, as a new owner connects the bot made in the BotFather panel;
// its rows are read under its own tenant, which the directory names, as
// the webhook finds it.

// botProblem is why the page cannot play a bot, in words for people.
type botProblem struct{ message string }

func (p *botProblem) Error() string { return "sandbox: " + p.message }

var errNoSuchBot = &botProblem{"The pretend Telegram does not know this bot: it starts empty each time Gatekey starts. " +
	"Make the bot again in the BotFather panel, and connect its new token in the console as a new bot."}

func notConnected(username string) *botProblem {
	return &botProblem{fmt.Sprintf("@%s is not connected to Gatekey yet: paste its token in the console under Bots, then try again.", username)}
}

// botParam is the bot the request names in its query's or form's "bot",
// the demo bot when it names none.
func (s *Sandbox) botParam(c *fiber.Ctx, w *world) (tenant.Bot, error) {
	raw := c.Query("bot")
	if raw == "" {
		raw = c.FormValue("bot")
	}
	if raw == "" || raw == "0" {
		return w.demo.Bot, nil
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return tenant.Bot{}, errNoSuchBot
	}
	return s.connectedBot(c.UserContext(), w, id)
}

// connectedBot is Gatekey's record of the fake's bot with this Telegram id,
// with the tenant it is connected to.
func (s *Sandbox) connectedBot(ctx context.Context, w *world, telegramID int64) (tenant.Bot, error) {
	if telegramID == w.demo.Bot.TelegramID {
		return w.demo.Bot, nil
	}
	u, ok := s.fakeBot(func(b telegramtest.User) bool { return b.ID == telegramID })
	if !ok {
		return tenant.Bot{}, errNoSuchBot
	}
	tenantID, err := w.app.DB.Lookup(ctx, "telegram_bot", strconv.FormatInt(telegramID, 10))
	if errors.Is(err, tenant.ErrNotFound) {
		return tenant.Bot{}, notConnected(u.Username)
	}
	if err != nil {
		return tenant.Bot{}, fmt.Errorf("sandbox: find the bot's tenant: %w", err)
	}
	var found tenant.Bot
	err = w.app.DB.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		bots, err := tenant.ListBots(ctx, tx)
		for _, b := range bots {
			if b.TelegramID == telegramID {
				found = b
			}
		}
		return err
	})
	if err != nil {
		return found, fmt.Errorf("sandbox: read the bot: %w", err)
	}
	if found.ID == 0 {
		return found, notConnected(u.Username)
	}
	return found, nil
}

// fakeBot finds one of the fake's bots.
func (s *Sandbox) fakeBot(match func(telegramtest.User) bool) (telegramtest.User, bool) {
	for _, b := range s.fake.Bots() {
		if match(b) {
			return b, true
		}
	}
	return telegramtest.User{}, false
}

// botNamed finds the fake's bot with this username, in any case.
func (s *Sandbox) botNamed(username string) (telegramtest.User, bool) {
	return s.fakeBot(func(b telegramtest.User) bool { return strings.EqualFold(b.Username, username) })
}

// hasWebhook reports whether Telegram delivers the bot's updates anywhere:
// whether a connected Gatekey hears it.
func (s *Sandbox) hasWebhook(telegramID int64) bool {
	url, _, _, _ := s.fake.Webhook(telegramID)
	return url != ""
}

// botChoice is one of the fake's bots as the page lists it.
type botChoice struct {
	ID        int64  `json:"id"` // Telegram's
	Username  string `json:"username"`
	Name      string `json:"name"`
	Connected bool   `json:"connected"`       // it has a webhook: Gatekey hears it
	Token     string `json:"token,omitempty"` // of a bot made in the BotFather panel
}

// botChoices lists the fake's bots, the demo bot first.
func (s *Sandbox) botChoices() []botChoice {
	tokens := map[int64]string{}
	s.mu.Lock()
	for _, m := range s.made {
		tokens[m.user.ID] = m.token
	}
	s.mu.Unlock()
	var out []botChoice
	for _, b := range s.fake.Bots() {
		out = append(out, botChoice{ID: b.ID, Username: b.Username, Name: b.FirstName,
			Connected: s.hasWebhook(b.ID), Token: tokens[b.ID]})
	}
	return out
}

// problem answers a failure to find the bot: its words, or the error.
func problem(c *fiber.Ctx, err error) error {
	var p *botProblem
	if errors.As(err, &p) {
		return fail(c, fiber.StatusBadRequest, p.message)
	}
	return err
}
