package jobs

import (
	"context"
	"fmt"
	"slices"
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
	TenantID     int64  `json:"tenant_id"`
	BotID        int64  `json:"bot_id"`
	MembershipID int64  `json:"membership_id"`
	Text         string `json:"text"`
}

func (SendAccessArgs) Kind() string { return "membership.send_access" }

func (SendAccessArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueTelegram, MaxAttempts: 20}
}

// SendAccess is the insert for SendAccessArgs.
func SendAccess(tenantID, botID, membershipID int64, text string) river.InsertManyParams {
	return river.InsertManyParams{Args: SendAccessArgs{TenantID: tenantID, BotID: botID, MembershipID: membershipID, Text: text}}
}

// SendAccessWorker works SendAccessArgs.
type SendAccessWorker struct {
	river.WorkerDefaults[SendAccessArgs]
	deps Deps
}

func (w *SendAccessWorker) Work(ctx context.Context, job *river.Job[SendAccessArgs]) error {
	a := job.Args
	var acc membership.Access
	err := w.deps.DB.Tx(ctx, a.TenantID, func(tx pgx.Tx) error {
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
	bot, err := w.deps.Telegram.Bot(ctx, a.TenantID, a.BotID)
	if err != nil {
		return err
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
	if err := w.deps.limit(ctx, a.BotID, acc.TelegramUserID); err != nil {
		return err
	}
	_, err = bot.SendMessage(ctx, textMessage(acc.TelegramUserID, a.Text, rows))
	return w.deps.outcome(ctx, a.TenantID, a.BotID, acc.TelegramUserID, err)
}

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

// RemoveMemberArgs takes a member out of chats, chat by chat, and then, if
// Text is set, tells them: one job for everything an ended membership
// leaves to do on Telegram, however many chats its plan has. The member
// is removed so that they may come back later with a new membership (see
// removeFromChat); the message goes only once they are out, so it never
// says they were removed before they were.
type RemoveMemberArgs struct {
	TenantID        int64   `json:"tenant_id"`
	BotID           int64   `json:"bot_id"`
	TelegramUserID  int64   `json:"telegram_user_id"`
	TelegramChatIDs []int64 `json:"telegram_chat_ids"`
	// KickByUnban lists the chats among TelegramChatIDs that are channels
	// or supergroups, where one unbanChatMember removes the member. The
	// others (basic groups, and every chat of a job queued before this
	// field existed) are removed the long way.
	KickByUnban []int64 `json:"kick_by_unban,omitempty"`
	Text        string  `json:"text,omitempty"`
}

func (RemoveMemberArgs) Kind() string { return "telegram.remove_member" }

func (RemoveMemberArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueTelegram, MaxAttempts: 25, Priority: PriorityBulk}
}

// RemoveMemberWorker works RemoveMemberArgs.
type RemoveMemberWorker struct {
	river.WorkerDefaults[RemoveMemberArgs]
	deps Deps
}

// Work runs two resumable steps. An attempt that ends early (a 5xx, a 429,
// the message's turn not yet come) records how far it got in the job's
// metadata, and the next attempt goes on from there: chats already done
// are not called again, and the message is never sent twice.
func (w *RemoveMemberWorker) Work(ctx context.Context, job *river.Job[RemoveMemberArgs]) error {
	a := job.Args
	bot, err := w.deps.Telegram.Bot(ctx, a.TenantID, a.BotID)
	if err != nil {
		return err
	}
	river.ResumableStepCursor(ctx, "remove", nil, func(ctx context.Context, done int) error {
		for i := done; i < len(a.TelegramChatIDs); i++ {
			if err := w.remove(ctx, bot, a, a.TelegramChatIDs[i]); err != nil {
				return err
			}
			if err := river.ResumableSetCursor(ctx, i+1); err != nil {
				return err
			}
		}
		return nil
	})
	river.ResumableStep(ctx, "tell", nil, func(ctx context.Context) error {
		if a.Text == "" {
			return nil
		}
		if err := w.deps.limit(ctx, a.BotID, a.TelegramUserID); err != nil {
			return err
		}
		_, err := bot.SendMessage(ctx, textMessage(a.TelegramUserID, a.Text, nil))
		return w.deps.outcome(ctx, a.TenantID, a.BotID, a.TelegramUserID, err)
	})
	return nil
}

// remove takes the member out of one chat. A chat where that cannot be
// done (the bot lost its rights, or the chat is gone) is left, with a
// warning, so that it holds up neither the other chats nor the message.
func (w *RemoveMemberWorker) remove(ctx context.Context, bot *telego.Bot, a RemoveMemberArgs, chatID int64) error {
	err := removeFromChat(ctx, bot, chatID, a.TelegramUserID, slices.Contains(a.KickByUnban, chatID))
	if err == nil {
		return nil
	}
	if f := telegram.Classify(err); f.Verdict == telegram.Final || f.Verdict == telegram.Blocked {
		w.deps.Log.WarnContext(ctx, "cannot remove a member from a chat", "tenant", a.TenantID, "bot", a.BotID,
			"chat", chatID, "code", f.Code, "description", f.Description)
		return nil
	}
	return w.deps.outcome(ctx, a.TenantID, a.BotID, 0, err)
}

// removeFromChat takes a person out of a chat and leaves them free to
// join again. In a channel or supergroup (byUnban) that is one
// unbanChatMember without only_if_banned, which Telegram documents as
// removing a member and guaranteeing they may come back: half the calls
// of a ban and an unban, and half the chat_member updates back. Elsewhere
// it is banChatMember, then unbanChatMember with only_if_banned. Every
// call is safe to repeat.
func removeFromChat(ctx context.Context, bot *telego.Bot, chatID, userID int64, byUnban bool) error {
	chat := telego.ChatID{ID: chatID}
	if byUnban {
		return bot.UnbanChatMember(ctx, &telego.UnbanChatMemberParams{ChatID: chat, UserID: userID})
	}
	err := bot.BanChatMember(ctx, &telego.BanChatMemberParams{ChatID: chat, UserID: userID})
	if err == nil {
		err = bot.UnbanChatMember(ctx, &telego.UnbanChatMemberParams{ChatID: chat, UserID: userID, OnlyIfBanned: true})
	}
	return err
}

// RemoveFromChatArgs takes a person out of one chat, without a word: a
// stranger who came in through someone else's link.
type RemoveFromChatArgs struct {
	TenantID       int64 `json:"tenant_id"`
	BotID          int64 `json:"bot_id"`
	TelegramChatID int64 `json:"telegram_chat_id"`
	TelegramUserID int64 `json:"telegram_user_id"`
	// KickByUnban is true for a channel or supergroup (see removeFromChat).
	KickByUnban bool `json:"kick_by_unban,omitempty"`
}

// RemoveFromChat is the job that takes userID out of chat.
func RemoveFromChat(tenantID, botID int64, chat membership.Chat, userID int64) river.InsertManyParams {
	return river.InsertManyParams{Args: RemoveFromChatArgs{TenantID: tenantID, BotID: botID,
		TelegramChatID: chat.TelegramChatID, TelegramUserID: userID, KickByUnban: kicksByUnban(chat)}}
}

// kicksByUnban reports whether one unbanChatMember removes a member from
// chat: Telegram documents it for channels and supergroups.
func kicksByUnban(chat membership.Chat) bool {
	return chat.Kind == "channel" || chat.Kind == "supergroup"
}

func (RemoveFromChatArgs) Kind() string { return "telegram.remove_from_chat" }

func (RemoveFromChatArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueTelegram, MaxAttempts: 25}
}

// RemoveFromChatWorker works RemoveFromChatArgs.
type RemoveFromChatWorker struct {
	river.WorkerDefaults[RemoveFromChatArgs]
	deps Deps
}

func (w *RemoveFromChatWorker) Work(ctx context.Context, job *river.Job[RemoveFromChatArgs]) error {
	a := job.Args
	bot, err := w.deps.Telegram.Bot(ctx, a.TenantID, a.BotID)
	if err != nil {
		return err
	}
	err = removeFromChat(ctx, bot, a.TelegramChatID, a.TelegramUserID, a.KickByUnban)
	return w.deps.outcome(ctx, a.TenantID, a.BotID, 0, err)
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
