package membership

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// InviteLinkTTL is how long a member's join link works.
const InviteLinkTTL = 24 * time.Hour

// ChatAccess is one chat of a membership, from the member's side.
type ChatAccess struct {
	Chat   Chat
	Joined bool
	// Link is a recorded, unrevoked, unused, unexpired invite link for
	// this member and chat, if there is one.
	Link string
}

// Access is what a member needs to get into a membership's chats.
type Access struct {
	Membership     Membership
	Plan           Plan
	TelegramUserID int64
	Chats          []ChatAccess
}

// GetAccess reads a membership with its chats, whether the member is in
// each, and any join link still usable.
func GetAccess(ctx context.Context, tx pgx.Tx, membershipID int64) (Access, error) {
	var a Access
	m := &a.Membership
	err := tx.QueryRow(ctx, `SELECT ms.id, ms.member_id, ms.plan_id, ms.status, ms.starts_at, ms.ends_at, mb.telegram_user_id
		FROM memberships ms JOIN members mb ON mb.tenant_id = ms.tenant_id AND mb.id = ms.member_id WHERE ms.id = $1`, membershipID).
		Scan(&m.ID, &m.MemberID, &m.PlanID, &m.Status, &m.StartsAt, &m.EndsAt, &a.TelegramUserID)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, fmt.Errorf("membership: get access: %w", err)
	}
	if a.Plan, err = GetPlan(ctx, tx, m.PlanID); err != nil {
		return a, err
	}
	rows, err := tx.Query(ctx, `SELECT c.id, c.bot_id, c.telegram_chat_id, c.kind, c.title, c.bot_status, c.can_invite_users, c.can_restrict,
			coalesce(mc.status = 'joined', false),
			coalesce((SELECT l.invite_link FROM invite_links l WHERE l.membership_id = $1 AND l.chat_id = c.id
				AND l.revoked_at IS NULL AND l.used_at IS NULL AND l.expires_at > now() + interval '1 minute'
				ORDER BY l.id DESC LIMIT 1), '')
		FROM plan_chats pc JOIN chats c ON c.tenant_id = pc.tenant_id AND c.id = pc.chat_id
		LEFT JOIN member_chats mc ON mc.tenant_id = pc.tenant_id AND mc.chat_id = c.id AND mc.member_id = $2
		WHERE pc.plan_id = $3 ORDER BY c.id`, m.ID, m.MemberID, m.PlanID)
	if err != nil {
		return a, fmt.Errorf("membership: get access: %w", err)
	}
	a.Chats, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ChatAccess, error) {
		var ca ChatAccess
		c := &ca.Chat
		err := r.Scan(&c.ID, &c.BotID, &c.TelegramChatID, &c.Kind, &c.Title, &c.BotStatus, &c.CanInvite, &c.CanRestrict, &ca.Joined, &ca.Link)
		return ca, err
	})
	if err != nil {
		return a, fmt.Errorf("membership: get access: %w", err)
	}
	return a, nil
}

// RecordInviteLink keeps a link made for a member, so a retried job reuses
// it and a join through it can be checked against whom it was made for.
func RecordInviteLink(ctx context.Context, tx pgx.Tx, membershipID, memberID, chatID int64, link string, expires time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO invite_links (tenant_id, membership_id, member_id, chat_id, invite_link, expires_at)
		VALUES (gatekey_tenant(), $1, $2, $3, $4, $5)`, membershipID, memberID, chatID, link, expires)
	if err != nil {
		return fmt.Errorf("membership: record invite link: %w", err)
	}
	return nil
}

// Join is what Gatekey makes of someone joining one of a bot's chats.
type Join struct {
	Chat Chat
	// Stranger is true when the person used a link made for another member,
	// and Ended when they used their own link but no membership of theirs
	// opens the chat any longer (it ended, or was revoked or rolled back,
	// after the link was made). Either way they must be removed and the
	// link revoked; Refused says so.
	Stranger, Ended bool
	// Link is the Gatekey link they came through, if any.
	Link string
}

// Refused reports whether the person must be removed and the link revoked.
func (j Join) Refused() bool { return j.Stranger || j.Ended }

// ObserveJoin records that a Telegram user joined a chat of the bot through
// inviteLink (empty if Telegram showed none), and tells whether the join
// is refused: a stranger to that link, or its member after their access
// ended (a link outlives the membership it was made for, up to
// InviteLinkTTL). Joins not through Gatekey's links are noted for members
// and otherwise left alone: the owner may have added someone.
func ObserveJoin(ctx context.Context, tx pgx.Tx, botID, telegramChatID, telegramUserID int64, inviteLink string) (Join, error) {
	var j Join
	c := &j.Chat
	err := tx.QueryRow(ctx, `SELECT id, bot_id, telegram_chat_id, kind, title, bot_status, can_invite_users, can_restrict
		FROM chats WHERE bot_id = $1 AND telegram_chat_id = $2`, botID, telegramChatID).
		Scan(&c.ID, &c.BotID, &c.TelegramChatID, &c.Kind, &c.Title, &c.BotStatus, &c.CanInvite, &c.CanRestrict)
	if errors.Is(err, pgx.ErrNoRows) {
		return j, ErrNotFound
	}
	if err != nil {
		return j, fmt.Errorf("membership: observe join: %w", err)
	}
	if inviteLink == "" {
		return j, setMemberChat(ctx, tx, botID, c.ID, telegramUserID, "joined")
	}
	var linkID, ownerTelegramID int64
	// opens: an active membership of the link's member opens the chat,
	// through its plan or, for a chat taken out of the plan since, a Join
	// link it made the member to it (the rule leaveQuery ends by).
	var opens bool
	err = tx.QueryRow(ctx, `SELECT l.id, m.telegram_user_id, EXISTS (
			SELECT FROM memberships ms WHERE ms.tenant_id = l.tenant_id AND ms.member_id = l.member_id AND ms.status = 'active'
			AND (ms.ends_at IS NULL OR ms.ends_at > now())
			AND (EXISTS (SELECT FROM plan_chats pc WHERE pc.tenant_id = ms.tenant_id AND pc.plan_id = ms.plan_id AND pc.chat_id = l.chat_id)
				OR EXISTS (SELECT FROM invite_links ol WHERE ol.tenant_id = ms.tenant_id AND ol.membership_id = ms.id AND ol.chat_id = l.chat_id)))
		FROM invite_links l JOIN members m ON m.tenant_id = l.tenant_id AND m.id = l.member_id
		WHERE l.chat_id = $1 AND l.invite_link = $2`, c.ID, inviteLink).Scan(&linkID, &ownerTelegramID, &opens)
	if errors.Is(err, pgx.ErrNoRows) {
		return j, setMemberChat(ctx, tx, botID, c.ID, telegramUserID, "joined") // not a link Gatekey made
	}
	if err != nil {
		return j, fmt.Errorf("membership: observe join: %w", err)
	}
	j.Link = inviteLink
	j.Stranger = ownerTelegramID != telegramUserID
	j.Ended = !j.Stranger && !opens
	if j.Refused() {
		if _, err := tx.Exec(ctx, "UPDATE invite_links SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1", linkID); err != nil {
			return j, fmt.Errorf("membership: observe join: %w", err)
		}
		return j, nil
	}
	if _, err := tx.Exec(ctx, "UPDATE invite_links SET used_at = coalesce(used_at, now()) WHERE id = $1", linkID); err != nil {
		return j, fmt.Errorf("membership: observe join: %w", err)
	}
	return j, setMemberChat(ctx, tx, botID, c.ID, telegramUserID, "joined")
}

// ObserveLeave records that a Telegram user left or was removed from a chat.
func ObserveLeave(ctx context.Context, tx pgx.Tx, botID, telegramChatID, telegramUserID int64, status string) error {
	var chatID int64
	err := tx.QueryRow(ctx, "SELECT id FROM chats WHERE bot_id = $1 AND telegram_chat_id = $2", botID, telegramChatID).Scan(&chatID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("membership: observe leave: %w", err)
	}
	return setMemberChat(ctx, tx, botID, chatID, telegramUserID, status)
}

func setMemberChat(ctx context.Context, tx pgx.Tx, botID, chatID, telegramUserID int64, status string) error {
	_, err := tx.Exec(ctx, `INSERT INTO member_chats (tenant_id, member_id, chat_id, status)
		SELECT gatekey_tenant(), id, $3, $4 FROM members WHERE bot_id = $1 AND telegram_user_id = $2
		ON CONFLICT (tenant_id, member_id, chat_id) DO UPDATE SET status = excluded.status, updated_at = now()`,
		botID, telegramUserID, chatID, status)
	if err != nil {
		return fmt.Errorf("membership: member chat: %w", err)
	}
	return nil
}
