package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mymmrac/telego"
	"github.com/riverqueue/river"

	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/telegram"
	"github.com/gatekey/gatekey/tenant"
)

// Removal is what an ended membership leaves to do on Telegram: revoke
// its unused Join links, take the member out of each chat no other
// membership of theirs opens, chat by chat, and then, if Text is set, tell
// them. The member is removed so that they may come back later with a new
// membership (see removeFromChat); the message goes only once they are
// out, so it never says they were removed before they were.
type Removal struct {
	TelegramUserID  int64   `json:"telegram_user_id"`
	TelegramChatIDs []int64 `json:"telegram_chat_ids"`
	// KickByUnban lists the chats among TelegramChatIDs that are channels
	// or supergroups, where one unbanChatMember removes the member. The
	// others (basic groups, and every chat of a job queued before this
	// field existed) are removed the long way.
	KickByUnban []int64 `json:"kick_by_unban,omitempty"`
	// Links are the unused Join links to revoke, first (a job queued before
	// this field existed has none, and its steps keep their numbers).
	Links []membership.UnusedLink `json:"links,omitempty"`
	Text  string                  `json:"text,omitempty"`
}

// removalOf is the Removal an ending leaves, told with text.
func removalOf(e membership.Ending, text string) Removal {
	r := Removal{TelegramUserID: e.TelegramUserID, TelegramChatIDs: make([]int64, 0, len(e.RemoveFrom)), Links: e.UnusedLinks, Text: text}
	for _, c := range e.RemoveFrom {
		r.TelegramChatIDs = append(r.TelegramChatIDs, c.TelegramChatID)
		if kicksByUnban(c) {
			r.KickByUnban = append(r.KickByUnban, c.TelegramChatID)
		}
	}
	return r
}

// steps is how many resumable steps carrying r out takes: one a link, one
// a chat, and the message.
func (r Removal) steps() int { return len(r.Links) + len(r.TelegramChatIDs) + 1 }

// RemoveMemberArgs carries out one Removal: an ending one at a time (its
// own expiry job, an owner ending it, a refund).
type RemoveMemberArgs struct {
	TenantID int64 `json:"tenant_id"`
	BotID    int64 `json:"bot_id"`
	Removal
}

func (RemoveMemberArgs) Kind() string { return "telegram.remove_member" }

func (RemoveMemberArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueTelegram, MaxAttempts: 25, Priority: PriorityBulk}
}

// RemoveMember is the job that carries out what ending e leaves to do,
// telling the member text.
func RemoveMember(tenantID, botID int64, e membership.Ending, text string) river.InsertManyParams {
	return river.InsertManyParams{Args: RemoveMemberArgs{TenantID: tenantID, BotID: botID, Removal: removalOf(e, text)}}
}

// RemoveMemberWorker works RemoveMemberArgs.
type RemoveMemberWorker struct {
	river.WorkerDefaults[RemoveMemberArgs]
	deps Deps
}

// Work runs the steps of carryOut under the step names this kind had
// before batches came, so that a job queued then and retried now goes on
// from where it stopped: a cursor over the links (none in such a job), a
// cursor over the chats, then the message.
func (w *RemoveMemberWorker) Work(ctx context.Context, job *river.Job[RemoveMemberArgs]) error {
	a := job.Args
	bot, err := w.deps.Telegram.Bot(ctx, a.TenantID, a.BotID)
	if err != nil {
		return err
	}
	// cursor works n of the removal's steps from first on, as one named
	// resumable step with a cursor.
	cursor := func(name string, first, n int) {
		river.ResumableStepCursor(ctx, name, nil, func(ctx context.Context, done int) error {
			for s := done; s < n; s++ {
				if err := w.deps.removalStep(ctx, bot, job.ID, a.TenantID, a.BotID, a.Removal, first+s); err != nil {
					return err
				}
				if err := river.ResumableSetCursor(ctx, s+1); err != nil {
					return err
				}
			}
			return nil
		})
	}
	links, chats := len(a.Links), len(a.TelegramChatIDs)
	cursor("revoke", 0, links)
	cursor("remove", links, chats)
	river.ResumableStep(ctx, "tell", nil, func(ctx context.Context) error {
		return w.deps.removalStep(ctx, bot, job.ID, a.TenantID, a.BotID, a.Removal, links+chats)
	})
	return nil
}

// RemoveMembersArgs carries out many Removals of one bot, one after the
// other: what the reconciler queues when it ends memberships in bulk.
// Each job costs River an insert and three updates of its row, about as
// much database work as the removal itself, so a thousand endings go as
// forty jobs rather than a thousand. The bot sends one message at a time
// anyway (telegram.BotInterval apart), so working a bot's removals in turn
// loses nothing.
type RemoveMembersArgs struct {
	TenantID int64     `json:"tenant_id"`
	BotID    int64     `json:"bot_id"`
	Members  []Removal `json:"members"`
}

func (RemoveMembersArgs) Kind() string { return "telegram.remove_members" }

func (RemoveMembersArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueTelegram, MaxAttempts: 25, Priority: PriorityBulk}
}

// RemovalBatch is how many members one RemoveMembersArgs carries: a
// second of one bot's messages. A job killed midway (its process died)
// is run again from its last recorded step, which may repeat up to a
// batch's messages; a batch this small keeps that rare repeat small.
const RemovalBatch = 25

// RemoveMembersWorker works RemoveMembersArgs.
type RemoveMembersWorker struct {
	river.WorkerDefaults[RemoveMembersArgs]
	deps Deps
}

func (w *RemoveMembersWorker) Work(ctx context.Context, job *river.Job[RemoveMembersArgs]) error {
	return w.deps.carryOut(ctx, job.ID, job.Args.TenantID, job.Args.BotID, job.Args.Members)
}

// carryOut works the steps of removals in order, numbered across all of
// them. It records each step done in the job's metadata as a resumable
// cursor, and an attempt that ends early (a 5xx, a 429, the message's turn
// not yet come) goes on next time from where it stopped: chats already
// done are not called again, and no message is sent twice. An attempt
// that got somewhere before it failed is snoozed rather than failed, so
// that trouble spread over a batch's many calls does not use up the
// attempts that one member's trouble would be given.
func (d Deps) carryOut(ctx context.Context, jobID, tenantID, botID int64, removals []Removal) error {
	bot, err := d.Telegram.Bot(ctx, tenantID, botID)
	if err != nil {
		return err
	}
	river.ResumableStepCursor(ctx, "removals", nil, func(ctx context.Context, done int) error {
		first := 0 // number of r's first step
		for _, r := range removals {
			for s := max(done-first, 0); s < r.steps(); s++ {
				if err := d.removalStep(ctx, bot, jobID, tenantID, botID, r, s); err != nil {
					return retryAfterProgress(err, first+s > done)
				}
				if err := river.ResumableSetCursor(ctx, first+s+1); err != nil {
					return err
				}
			}
			first += r.steps()
		}
		return nil
	})
	return nil
}

// retryAfterProgress turns the failure of an attempt that made progress
// into a short snooze, which River does not count as an attempt.
func retryAfterProgress(err error, progressed bool) error {
	var snooze *river.JobSnoozeError
	if !progressed || errors.As(err, &snooze) {
		return err
	}
	return river.JobSnooze(progressRetry)
}

// progressRetry is how soon a batch that failed after some progress runs
// again.
const progressRetry = 5 * time.Second

// removalStep does step s of r: a link, a chat, or, after the last chat,
// the message. Telegram's refusal for good (the member blocked the bot, the
// bot lost its rights, the chat is gone) ends that step with a warning, so
// that it holds up neither the rest of this member's removal nor the
// other members of the job.
func (d Deps) removalStep(ctx context.Context, bot *telego.Bot, jobID, tenantID, botID int64, r Removal, s int) error {
	var err error
	chat := s - len(r.Links) // the chat's index, for a chat's step
	if s < len(r.Links) {
		l := r.Links[s]
		_, err = bot.RevokeChatInviteLink(ctx, &telego.RevokeChatInviteLinkParams{ChatID: telego.ChatID{ID: l.TelegramChatID}, InviteLink: l.Link})
		err = d.outcome(ctx, tenantID, botID, 0, err)
	} else if chat < len(r.TelegramChatIDs) {
		chatID := r.TelegramChatIDs[chat]
		called := removeFromChat(ctx, bot, chatID, r.TelegramUserID, slices.Contains(r.KickByUnban, chatID))
		err = d.outcome(ctx, tenantID, botID, 0, called)
		var refused *river.JobCancelError
		if errors.As(err, &refused) {
			if err := d.removalRefused(ctx, tenantID, botID, chatID, r.TelegramUserID, telegram.Classify(called).Description); err != nil {
				return err
			}
		}
	} else if r.Text != "" {
		if err := d.limit(ctx, telegram.Turn{Job: jobID, Priority: PriorityBulk}, botID, r.TelegramUserID); err != nil {
			return err
		}
		_, err = bot.SendMessage(ctx, textMessage(r.TelegramUserID, r.Text, nil))
		err = d.outcome(ctx, tenantID, botID, r.TelegramUserID, err)
	}
	var refused *river.JobCancelError
	if errors.As(err, &refused) {
		d.Log.WarnContext(ctx, "cannot carry out a step of a member's removal", "tenant", tenantID, "bot", botID,
			"user", r.TelegramUserID, "step", s, "error", refused.Unwrap())
		return nil
	}
	return err
}

// removalRefused records that Telegram would not take a member whose
// access ended out of a chat (mostly: the bot may not ban there), so they
// count as still in it, and tells the bot's admins, who must act: only
// they can give the bot the right, or remove the member themselves.
func (d Deps) removalRefused(ctx context.Context, tenantID, botID, chatID, userID int64, why string) error {
	return d.DB.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		var who membership.Person
		var title, bot string
		var in bool // Gatekey saw them in the chat; else there is likely no one to remove
		err := tx.QueryRow(ctx, `WITH kept AS (
				UPDATE member_chats mc SET status = 'joined', updated_at = now() FROM members m, chats c
				WHERE m.tenant_id = mc.tenant_id AND m.id = mc.member_id AND m.bot_id = $1 AND m.telegram_user_id = $3
				AND c.tenant_id = mc.tenant_id AND c.id = mc.chat_id AND c.bot_id = $1 AND c.telegram_chat_id = $2
				AND mc.status = 'removed')
			SELECT m.username, m.first_name, m.last_name, c.title, b.username,
				EXISTS (SELECT FROM member_chats mc WHERE mc.tenant_id = m.tenant_id AND mc.member_id = m.id
					AND mc.chat_id = c.id AND mc.status IN ('joined', 'removed'))
			FROM members m, chats c, bots b WHERE m.bot_id = $1 AND m.telegram_user_id = $3
			AND c.bot_id = $1 AND c.telegram_chat_id = $2 AND b.id = $1`, botID, chatID, userID).
			Scan(&who.Username, &who.FirstName, &who.LastName, &title, &bot, &in)
		if err != nil {
			return fmt.Errorf("jobs: removal refused: %w", err)
		}
		if !in {
			return nil // never seen joining: the removal was only in case, and nobody need act
		}
		text := fmt.Sprintf("%s no longer has access to %s, but Telegram would not let @%s remove them (%q). "+
			"Remove them yourself, and give @%s the right to ban users there so that it can next time.", who.DisplayName(), title, bot, why, bot)
		// Every refusal goes on the dashboard; the admins' Telegram hears of
		// the first in an hour, not of each member of a whole day's endings.
		// It goes to every admin, whether they asked for notifications or
		// not: those announce activations, while this is something to act
		// on, and one left unsaid would let the hour pass with nobody told.
		var told bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM notifications WHERE bot_id = $1
			AND kind = 'removal_refused' AND created_at > now() - interval '1 hour')`, botID).Scan(&told); err != nil {
			return fmt.Errorf("jobs: removal refused: %w", err)
		}
		if _, err := tenant.Notify(ctx, tx, botID, "removal_refused", text); err != nil || told {
			return err
		}
		admins, err := tenant.BotAdmins(ctx, tx, botID)
		if err != nil {
			return err
		}
		var out []river.InsertManyParams
		for _, a := range admins {
			out = append(out, SendMessage(SendMessageArgs{TenantID: tenantID, BotID: botID, ChatID: a.TelegramUserID, Text: text}))
		}
		return insertTx(ctx, tx, out...)
	})
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
