package jobs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mymmrac/telego"
	"github.com/riverqueue/river"

	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/telegram"
)

// SendAccessArgs sends a member Text with a Join button for each chat of
// the membership they are not in yet, each a single-use invite link made
// for them. Links are recorded as they are made, so a retry reuses them.
type SendAccessArgs struct {
	TenantID int64 `json:"tenant_id"`
	BotID    int64 `json:"bot_id"`
	// ChatID is the member's private chat, so the job can wait for its
	// turn there before anything else (jobs queued without it, before it
	// was added, read it with the membership first).
	ChatID       int64  `json:"chat_id,omitempty"`
	MembershipID int64  `json:"membership_id"`
	Text         string `json:"text"`
}

func (SendAccessArgs) Kind() string { return "membership.send_access" }

func (SendAccessArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueTelegram, MaxAttempts: 20}
}

// SendAccess is the insert for SendAccessArgs: text to the member in chat
// chatID (their Telegram user id), with Join buttons for membershipID's
// chats that they are not in, and a line asking them to tap one.
func SendAccess(tenantID, botID, chatID, membershipID int64, text string) river.InsertManyParams {
	return river.InsertManyParams{Args: SendAccessArgs{TenantID: tenantID, BotID: botID, ChatID: chatID, MembershipID: membershipID, Text: text}}
}

// SendAccessWorker works SendAccessArgs.
type SendAccessWorker struct {
	river.WorkerDefaults[SendAccessArgs]
	deps Deps
}

// Work waits for the member's turn first, before it reads the membership
// and makes links, so that the message keeps its place among the others
// queued to the member (a later, quicker job would otherwise reach the
// limiter first and be sent first).
func (w *SendAccessWorker) Work(ctx context.Context, job *river.Job[SendAccessArgs]) error {
	a := job.Args
	bot, err := w.deps.Telegram.Bot(ctx, a.TenantID, a.BotID)
	if err != nil {
		return err
	}
	if a.ChatID != 0 {
		if err := w.deps.limit(ctx, telegram.Turn{Job: job.ID, Priority: job.Priority}, a.BotID, a.ChatID); err != nil {
			return err
		}
	}
	var acc membership.Access
	err = w.deps.DB.Tx(ctx, a.TenantID, func(tx pgx.Tx) error {
		var err error
		acc, err = membership.GetAccess(ctx, tx, a.MembershipID)
		return err
	})
	if err != nil {
		return err
	}
	if acc.Membership.Status != "active" {
		return nil // revoked or ended meanwhile: nothing to let them into
	}
	var rows [][]Button
	for _, ca := range acc.Chats {
		if ca.Joined {
			continue
		}
		link, err := w.link(ctx, bot, a, acc, ca)
		if err != nil {
			return err
		}
		if link != "" {
			rows = append(rows, []Button{{Text: "Join " + ca.Chat.Title, URL: link}})
		}
	}
	if a.ChatID == 0 {
		if err := w.deps.limit(ctx, telegram.Turn{Job: job.ID, Priority: job.Priority}, a.BotID, acc.TelegramUserID); err != nil {
			return err
		}
	}
	// Jobs queued before the prompt moved here carry it in their text.
	text := strings.TrimSuffix(a.Text, joinPrompt)
	if len(rows) > 0 {
		text += joinPrompt
	}
	_, err = bot.SendMessage(ctx, textMessage(acc.TelegramUserID, text, rows))
	return w.deps.outcome(ctx, a.TenantID, a.BotID, acc.TelegramUserID, err)
}

// joinPrompt ends an access message that has Join buttons: none when the
// member is in every chat already, or the bot may not make their links.
const joinPrompt = "\n\nTap below to join:"

// link returns the member's usable link to a chat, making and recording
// one if needed. "" means Telegram will not make one (the bot lacks the
// right); the message then goes without that button.
func (w *SendAccessWorker) link(ctx context.Context, bot *telego.Bot, a SendAccessArgs, acc membership.Access, ca membership.ChatAccess) (string, error) {
	if ca.Link != "" {
		return ca.Link, nil
	}
	expires := time.Now().Add(membership.InviteLinkTTL)
	l, err := bot.CreateChatInviteLink(ctx, &telego.CreateChatInviteLinkParams{
		ChatID:      telego.ChatID{ID: ca.Chat.TelegramChatID},
		Name:        fmt.Sprintf("Gatekey member %d", acc.Membership.MemberID),
		ExpireDate:  expires.Unix(),
		MemberLimit: 1,
	})
	if err != nil {
		f := telegram.Classify(err)
		if f.Verdict == telegram.Final || f.Verdict == telegram.Blocked {
			w.deps.Log.WarnContext(ctx, "cannot make an invite link", "tenant", a.TenantID, "chat", ca.Chat.ID, "code", f.Code, "description", f.Description)
			return "", nil
		}
		return "", w.deps.outcome(ctx, a.TenantID, a.BotID, 0, err)
	}
	err = w.deps.DB.Tx(ctx, a.TenantID, func(tx pgx.Tx) error {
		return membership.RecordInviteLink(ctx, tx, acc.Membership.ID, acc.Membership.MemberID, ca.Chat.ID, l.InviteLink, expires)
	})
	return l.InviteLink, err
}

// RevokeLinkArgs revokes an invite link that someone else used.
type RevokeLinkArgs struct {
	TenantID       int64  `json:"tenant_id"`
	BotID          int64  `json:"bot_id"`
	TelegramChatID int64  `json:"telegram_chat_id"`
	Link           string `json:"link"`
}

func (RevokeLinkArgs) Kind() string { return "telegram.revoke_link" }

func (RevokeLinkArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueTelegram, MaxAttempts: 20}
}

// RevokeLinkWorker works RevokeLinkArgs.
type RevokeLinkWorker struct {
	river.WorkerDefaults[RevokeLinkArgs]
	deps Deps
}

func (w *RevokeLinkWorker) Work(ctx context.Context, job *river.Job[RevokeLinkArgs]) error {
	a := job.Args
	bot, err := w.deps.Telegram.Bot(ctx, a.TenantID, a.BotID)
	if err != nil {
		return err
	}
	_, err = bot.RevokeChatInviteLink(ctx, &telego.RevokeChatInviteLinkParams{
		ChatID: telego.ChatID{ID: a.TelegramChatID}, InviteLink: a.Link,
	})
	return w.deps.outcome(ctx, a.TenantID, a.BotID, 0, err)
}
