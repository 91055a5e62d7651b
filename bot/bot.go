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
	ctx   context.Context
	tx    pgx.Tx
	bot   tenant.Bot
	ahead *Ahead
	out   []river.InsertManyParams
}

// Ahead holds reads that ReadAhead queued for an update.
type Ahead struct {
	welcome *membership.WelcomeReads
}

// ReadAhead queues on batch the reads that handling u will begin with, so
// that the caller can send them with its own first statement: today, a
// plain /start's welcome (membership.QueueWelcome). The batch must run
// in the transaction that then passes the Ahead to Handle. Given a nil
// Ahead, Handle reads what it needs itself.
func ReadAhead(batch *pgx.Batch, botID int64, u telego.Update) *Ahead {
	m := u.Message
	if m == nil || m.Chat.Type != telego.ChatTypePrivate || m.From == nil {
		return nil
	}
	// Without the bot's username, "/start@name" is not taken for a /start
	// here; Handle, which has it, then reads the welcome itself.
	if command, payload := splitCommand(m.Text, ""); command != "/start" || payload != "" {
		return nil
	}
	return &Ahead{welcome: membership.QueueWelcome(batch, botID, person(m.From))}
}

// Handle decides what the bot does with an update and returns the jobs
// that carry it out. ahead, if not nil, holds what ReadAhead read for u.
func Handle(ctx context.Context, tx pgx.Tx, b tenant.Bot, u telego.Update, ahead *Ahead) ([]river.InsertManyParams, error) {
	t := &turn{ctx: ctx, tx: tx, bot: b, ahead: ahead}
	var err error
	switch {
	case u.Message != nil && u.Message.Chat.Type == telego.ChatTypePrivate && u.Message.From != nil:
		err = t.onPrivateMessage(u.Message)
	case u.CallbackQuery != nil:
		err = t.onCallback(u.CallbackQuery)
	case u.ChatMember != nil:
		err = t.onChatMember(u.ChatMember)
	case u.MyChatMember != nil:
		err = t.onMyChatMember(u.MyChatMember)
	}
	if err != nil {
		return nil, fmt.Errorf("bot: update %d: %w", u.UpdateID, err)
	}
	return t.out, nil
}

func (t *turn) queue(p ...river.InsertManyParams) { t.out = append(t.out, p...) }

func (t *turn) send(chatID int64, text string, buttons ...[]jobs.Button) {
	t.queue(jobs.SendMessage(jobs.SendMessageArgs{
		TenantID: t.bot.TenantID, BotID: t.bot.ID, ChatID: chatID, Text: text, Buttons: buttons,
	}))
}

func person(u *telego.User) membership.Person {
	return membership.Person{TelegramUserID: u.ID, Username: u.Username, FirstName: u.FirstName, LastName: u.LastName}
}

func (t *turn) onPrivateMessage(m *telego.Message) error {
	text := m.Text
	if text == "" {
		text = m.Caption // a photo of a code, with the code written under it
	}
	command, payload := splitCommand(text, t.bot.Username)
	if command == "/start" && payload == "" {
		return t.welcome(person(m.From)) // records the member too
	}
	member, err := membership.UpsertMember(t.ctx, t.tx, t.bot.ID, person(m.From))
	if err != nil {
		return err
	}
	// Only plain text goes on with a flow, and an admin command checks
	// for an admin flow left open; every other command stands alone, so
	// a /start, the most common update, reads no conversation.
	var conv conversation
	if command == "" || isAdminCommand(command) {
		if conv, err = loadConversation(t.ctx, t.tx, t.bot.ID, m.From.ID); err != nil {
			return err
		}
	}
	if done, err := t.onAdminMessage(member, conv, command, payload, text); done || err != nil {
		return err // an owner link, or an admin's command or flow (admin.go)
	}
	switch {
	case command == "/start" && !membership.CodeShaped(payload):
		return t.welcome(person(m.From)) // a link with a tag of the owner's, not a code
	case command == "/start":
		return t.activate(member, payload)
	case command == "/cancel":
		return t.cancel(m.From.ID)
	case command != "":
		t.send(m.From.ID, helpText)
		return nil
	}
	if conv.Flow == flowAwaitCode || membership.CodeShaped(text) {
		return t.activate(member, text)
	}
	if isAdminFlow(conv.Lapsed) {
		return t.lateAnswer(m.From.ID)
	}
	t.send(m.From.ID, helpText)
	return nil
}

// cancel answers /cancel: it closes whatever step was open, or says
// there was none, so that nobody thinks something was undone.
func (t *turn) cancel(userID int64) error {
	open, err := cancelConversation(t.ctx, t.tx, t.bot.ID, userID)
	switch {
	case err != nil:
		return err
	case open:
		t.send(userID, "Cancelled.")
	default:
		t.send(userID, "There was nothing to cancel. "+helpText)
	}
	return nil
}

// lateAnswer tells an admin that what they typed came after their open
// step timed out, once: the conversation is cleared, so later text is
// answered as any member's.
func (t *turn) lateAnswer(userID int64) error {
	admin, err := t.isAdmin(userID)
	if err != nil || !admin {
		t.send(userID, helpText)
		return err
	}
	t.send(userID, fmt.Sprintf("That came after the step it answers had closed: a step waits %d minutes for an answer. "+
		"Nothing was changed. Send /newcode to make codes, or /menu for the admin menu.", int(conversationTTL.Minutes())))
	return clearConversation(t.ctx, t.tx, t.bot.ID, userID)
}

const helpText = "Send /start to see what this bot offers. " +
	"If you were given an access code, send it here as it is, or open the activation link that came with it."

// Callback data: short, because Telegram allows 64 bytes.
const cbHaveCode = "code"

const flowAwaitCode = "await_code"

func (t *turn) onCallback(q *telego.CallbackQuery) error {
	if strings.HasPrefix(q.Data, adminPrefix) {
		return t.onAdminCallback(q) // answers the query itself (admin.go)
	}
	t.queue(river.InsertManyParams{Args: jobs.AnswerCallbackArgs{TenantID: t.bot.TenantID, BotID: t.bot.ID, CallbackQueryID: q.ID}})
	if strings.HasPrefix(q.Data, cbPay) {
		return t.pay(q) // pay.go
	}
	switch q.Data {
	case cbHaveCode:
		t.send(q.From.ID, "Send me your access code: 16 letters and digits, with or without dashes.")
		return saveConversation(t.ctx, t.tx, t.bot.ID, q.From.ID, conversation{Flow: flowAwaitCode})
	}
	return nil
}

// welcome answers /start: the plans, the member's access, and buttons to
// pay or to enter a code. Every /start comes here, so the member's row and
// what the welcome shows are read in one round trip (membership.Welcome),
// or in none of their own when the webhook read them ahead (ReadAhead).
func (t *turn) welcome(from membership.Person) error {
	var offer membership.Offer
	var err error
	if t.ahead != nil && t.ahead.welcome != nil {
		_, offer, err = t.ahead.welcome.Finish(t.ctx, t.tx)
	} else {
		_, offer, err = membership.Welcome(t.ctx, t.tx, t.bot.ID, from)
	}
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Welcome! This is @%s.\n", t.bot.Username)
	if len(offer.Plans) == 0 {
		b.WriteString("\nThere is nothing on offer yet.")
	} else {
		b.WriteString("\nPlans:\n")
		for _, p := range offer.Plans {
			fmt.Fprintf(&b, "• %s: %s, %s\n", p.Name, p.PeriodText(), p.Price)
		}
	}
	yourAccess(offer.Access, &b)
	if !offer.Payable && hasPrice(offer.Plans) { // sold outside the bot, for a code
		b.WriteString("\nPayments are not taken here: for a plan with a price, ask whoever runs this bot for an access code.\n")
	}
	b.WriteString("\nHave an access code? Send it here, or open the activation link you were given.")
	pay := payButtons(offer) // pay.go
	t.send(from.TelegramUserID, b.String(), append(pay, []jobs.Button{{Text: "I have a code", Data: cbHaveCode}})...)
	t.joinButtons(from.TelegramUserID, offer.Access)
	return nil
}

func hasPrice(plans []membership.Plan) bool {
	for _, p := range plans {
		if p.Price.Minor > 0 {
			return true
		}
	}
	return false
}

// yourAccess adds the member's current memberships to the welcome.
func yourAccess(access []membership.Holding, b *strings.Builder) {
	if len(access) == 0 {
		return
	}
	b.WriteString("\nYour access:\n")
	for _, h := range access {
		fmt.Fprintf(b, "• %s: %s\n", h.PlanName, untilText(h.Membership))
	}
}

// joinButtons queues, after the welcome, fresh Join buttons for the chats
// the member has not joined yet.
func (t *turn) joinButtons(chatID int64, access []membership.Holding) {
	for _, h := range access {
		if !h.AllJoined {
			t.queue(jobs.SendAccess(t.bot.TenantID, t.bot.ID, chatID, h.Membership.ID,
				fmt.Sprintf("You have not joined every chat of %s yet.", h.PlanName)))
		}
	}
}

func untilText(m membership.Membership) string {
	if m.EndsAt == nil {
		return "for life"
	}
	return "until " + membership.FormatDate(*m.EndsAt)
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
