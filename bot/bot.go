// Package bot is the conversation: what a member or an owner sends to an
// owner's bot, and what the bot answers. It decides inside the webhook's
// transaction and never calls Telegram: every answer is a job, inserted
// by the caller in the same transaction.
package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/mymmrac/telego"
	"github.com/riverqueue/river"

	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

// turn is one update being handled: where it came from and what the bot
// will send back.
type turn struct {
	ctx context.Context
	tx  pgx.Tx
	bot tenant.Bot
	out []river.InsertManyParams
}

// Handle decides what the bot does with an update and returns the jobs
// that carry it out (messages to send, and later, links to make).
func Handle(ctx context.Context, tx pgx.Tx, b tenant.Bot, u telego.Update) ([]river.InsertManyParams, error) {
	t := &turn{ctx: ctx, tx: tx, bot: b}
	var err error
	switch {
	case u.Message != nil && u.Message.Chat.Type == telego.ChatTypePrivate && u.Message.From != nil:
		err = t.onPrivateMessage(u.Message)
	case u.MyChatMember != nil:
		err = t.onMyChatMember(u.MyChatMember)
	}
	if err != nil {
		return nil, fmt.Errorf("bot: update %d: %w", u.UpdateID, err)
	}
	return t.out, nil
}

func (t *turn) send(chatID int64, text string, buttons ...[]jobs.Button) {
	t.out = append(t.out, jobs.SendMessage(jobs.SendMessageArgs{
		TenantID: t.bot.TenantID, BotID: t.bot.ID, ChatID: chatID, Text: text, Buttons: buttons,
	}))
}

func person(u *telego.User) membership.Person {
	return membership.Person{TelegramUserID: u.ID, Username: u.Username, FirstName: u.FirstName, LastName: u.LastName}
}

func (t *turn) onPrivateMessage(m *telego.Message) error {
	if _, err := membership.UpsertMember(t.ctx, t.tx, t.bot.ID, person(m.From)); err != nil {
		return err
	}
	command, payload := splitCommand(m.Text, t.bot.Username)
	switch command {
	case "/start":
		if payload == "" {
			return t.welcome(m.From.ID)
		}
	}
	t.send(m.From.ID, helpText)
	return nil
}

const helpText = "Send /start to see what this bot offers. " +
	"If you were given an access code, send it here as it is, or open the activation link that came with it."

func (t *turn) welcome(chatID int64) error {
	plans, err := membership.ListPlans(t.ctx, t.tx, t.bot.ID)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Welcome! This is @%s.\n", t.bot.Username)
	if len(plans) == 0 {
		b.WriteString("\nThere is nothing on offer yet.")
	} else {
		b.WriteString("\nPlans:\n")
		for _, p := range plans {
			fmt.Fprintf(&b, "• %s: %s, %s\n", p.Name, p.PeriodText(), p.Price)
		}
	}
	b.WriteString("\nHave an access code? Send it here, or open the activation link you were given.")
	t.send(chatID, b.String())
	return nil
}

// splitCommand returns "/cmd" (lower case, without @botname) and the rest
// of the text, or "" when the text is not a command.
func splitCommand(text, botUsername string) (command, payload string) {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "/") {
		return "", text
	}
	command, payload, _ = strings.Cut(text, " ")
	command, at, found := strings.Cut(command, "@")
	if found && !strings.EqualFold(at, botUsername) {
		return "", text // a command for another bot
	}
	return strings.ToLower(command), strings.TrimSpace(payload)
}
