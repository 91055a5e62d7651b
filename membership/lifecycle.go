package membership

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Ending is a membership that just ended, and the chats its member must
// leave: those of its plan that no other active membership of theirs opens.
type Ending struct {
	Membership     Membership
	Plan           Plan
	TelegramUserID int64
	RemoveFrom     []Chat
}

// Expire ends a membership whose time is up. ok is false when there was
// nothing to do: already ended, lifetime, or extended past now.
func Expire(ctx context.Context, tx pgx.Tx, membershipID int64) (e Ending, ok bool, err error) {
	return end(ctx, tx, membershipID, "expired", "AND ends_at IS NOT NULL AND ends_at <= now()")
}

// Revoke ends an active membership now (an owner's decision, a rollback,
// a refund). ok is false when it was not active.
func Revoke(ctx context.Context, tx pgx.Tx, membershipID int64) (e Ending, ok bool, err error) {
	return end(ctx, tx, membershipID, "revoked", "")
}

func end(ctx context.Context, tx pgx.Tx, membershipID int64, status, cond string) (Ending, bool, error) {
	var e Ending
	m := &e.Membership
	err := tx.QueryRow(ctx, `UPDATE memberships SET status = $2, ended_at = now()
		WHERE id = $1 AND status = 'active' `+cond+`
		RETURNING id, member_id, plan_id, status, starts_at, ends_at,
			(SELECT telegram_user_id FROM members WHERE members.tenant_id = memberships.tenant_id AND members.id = memberships.member_id)`,
		membershipID, status).Scan(&m.ID, &m.MemberID, &m.PlanID, &m.Status, &m.StartsAt, &m.EndsAt, &e.TelegramUserID)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, false, nil
	}
	if err != nil {
		return e, false, fmt.Errorf("membership: end membership: %w", err)
	}
	if e.Plan, err = GetPlan(ctx, tx, m.PlanID); err != nil {
		return e, false, err
	}
	e.RemoveFrom, err = chatsToLeave(ctx, tx, m.MemberID, m.PlanID)
	return e, err == nil, err
}

// chatsToLeave lists the plan's chats that none of the member's active
// memberships still opens, and marks the member as removed from them.
func chatsToLeave(ctx context.Context, tx pgx.Tx, memberID, planID int64) ([]Chat, error) {
	rows, err := tx.Query(ctx, `
		WITH leave AS (
			SELECT pc.chat_id FROM plan_chats pc WHERE pc.plan_id = $2
			EXCEPT
			SELECT opc.chat_id FROM memberships o JOIN plan_chats opc ON opc.tenant_id = o.tenant_id AND opc.plan_id = o.plan_id
			WHERE o.member_id = $1 AND o.status = 'active'
		), marked AS (
			INSERT INTO member_chats (tenant_id, member_id, chat_id, status)
			SELECT gatekey_tenant(), $1, chat_id, 'removed' FROM leave
			ON CONFLICT (tenant_id, member_id, chat_id) DO UPDATE SET status = 'removed', updated_at = now()
		)
		SELECT c.id, c.bot_id, c.telegram_chat_id, c.kind, c.title, c.bot_status, c.can_invite_users, c.can_restrict
		FROM chats c JOIN leave ON leave.chat_id = c.id ORDER BY c.id`, memberID, planID)
	if err != nil {
		return nil, fmt.Errorf("membership: chats to leave: %w", err)
	}
	chats, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Chat, error) {
		var c Chat
		err := r.Scan(&c.ID, &c.BotID, &c.TelegramChatID, &c.Kind, &c.Title, &c.BotStatus, &c.CanInvite, &c.CanRestrict)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("membership: chats to leave: %w", err)
	}
	return chats, nil
}

// Reminder is a membership whose renewal reminder is due.
type Reminder struct {
	Membership     Membership
	Plan           Plan
	TelegramUserID int64
}

// ReminderLead is how long before the end a member is reminded.
const ReminderLead = 24 * time.Hour

// TakeReminder marks the reminder for a membership ending at endsAt as
// sent, and returns it; ok is false if it was sent already, or the
// membership was renewed (its end moved) or ended meanwhile.
func TakeReminder(ctx context.Context, tx pgx.Tx, membershipID int64, endsAt time.Time) (r Reminder, ok bool, err error) {
	m := &r.Membership
	err = tx.QueryRow(ctx, `UPDATE memberships SET reminded_at = now()
		WHERE id = $1 AND status = 'active' AND ends_at = $2 AND reminded_at IS NULL AND ends_at - $3::interval <= now()
		RETURNING id, member_id, plan_id, status, starts_at, ends_at,
			(SELECT telegram_user_id FROM members WHERE members.tenant_id = memberships.tenant_id AND members.id = memberships.member_id)`,
		membershipID, endsAt, ReminderLead).Scan(&m.ID, &m.MemberID, &m.PlanID, &m.Status, &m.StartsAt, &m.EndsAt, &r.TelegramUserID)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("membership: take reminder: %w", err)
	}
	r.Plan, err = GetPlan(ctx, tx, m.PlanID)
	return r, err == nil, err
}
