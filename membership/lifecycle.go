package membership

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Ending is a membership that just ended, and the chats its member must
// leave: those it opened (its plan's, and any it gave them a Join link to
// before the chat was taken out of the plan) that no other active
// membership of theirs opens.
type Ending struct {
	Membership     Membership
	Plan           Plan
	TelegramUserID int64
	RemoveFrom     []Chat
	// Removed are the chats of RemoveFrom the member was in, as far as
	// Gatekey saw them join, and the bot can take them out of: the rest
	// are left all the same, in case they came in unseen.
	Removed []Chat
	// Kept are the chats of RemoveFrom the member was in but the bot
	// cannot take them out of (it is not an administrator there with the
	// right to ban): they stay recorded as in, and the owner is to be told.
	Kept []Chat
	// UnusedLinks are the membership's Join links to those chats that were
	// never used: revoked here in the database, and to be revoked on
	// Telegram too, so that they admit nobody (ObserveJoin would take out
	// whoever came in through one anyway, but only after they got in).
	UnusedLinks []UnusedLink
	// Stays is true when the member's other access keeps some chat of the
	// plan open to them. A chat two endings of one member share is left
	// by one of them only (in its RemoveFrom), and keeps neither open.
	Stays bool
}

// UnusedLink is a Join link an ended membership leaves behind. Removal
// jobs carry it as it is, hence the JSON names.
type UnusedLink struct {
	TelegramChatID int64  `json:"telegram_chat_id"`
	Link           string `json:"link"`
}

// Expire ends a membership whose time is up. ok is false when there was
// nothing to do: already ended, lifetime, or extended past now.
func Expire(ctx context.Context, tx pgx.Tx, membershipID int64) (e Ending, ok bool, err error) {
	return endOne(ctx, tx, "expired", `SELECT id FROM memberships
		WHERE id = $1 AND status = 'active' AND ends_at <= now() FOR UPDATE`, membershipID)
}

// Revoke ends an active membership now (an owner's decision, a rollback,
// a refund). ok is false when it was not active.
func Revoke(ctx context.Context, tx pgx.Tx, membershipID int64) (e Ending, ok bool, err error) {
	return endOne(ctx, tx, "revoked", `SELECT id FROM memberships WHERE id = $1 AND status = 'active' FOR UPDATE`, membershipID)
}

// ExpireDue ends up to limit memberships whose time is up, oldest end
// first, in one pass: the sweep that catches what a lost or late expiry
// job left behind. Rows another transaction holds are skipped, not waited for.
//
// Only memberships ending at or after from are looked at. A sweep through
// a backlog, batch after batch, passes the latest end of its last batch
// (LatestEnd): the index on active memberships' ends, which every tenant
// shares, still holds the entries of those just ended (until a vacuum)
// and other tenants' earlier ones, and each batch would otherwise walk
// them all again from the start.
func ExpireDue(ctx context.Context, tx pgx.Tx, from time.Time, limit int) ([]Ending, error) {
	return endMemberships(ctx, tx, "expired", `SELECT id FROM memberships
		WHERE status = 'active' AND ends_at <= now() AND ends_at >= $2 ORDER BY ends_at LIMIT $1 FOR UPDATE SKIP LOCKED`, limit, from)
}

// LatestEnd is the latest end among ms, or from if there is none later:
// where a sweep goes on from.
func LatestEnd(from time.Time, ms ...Membership) time.Time {
	for _, m := range ms {
		if m.EndsAt != nil && m.EndsAt.After(from) {
			from = *m.EndsAt
		}
	}
	return from
}

func endOne(ctx context.Context, tx pgx.Tx, status, pick string, id int64) (Ending, bool, error) {
	es, err := endMemberships(ctx, tx, status, pick, id)
	if err != nil || len(es) == 0 {
		return Ending{}, false, err
	}
	return es[0], true, nil
}

// endMemberships ends the memberships pick selects (locking them) with
// status, and works out which chats each member must now leave.
func endMemberships(ctx context.Context, tx pgx.Tx, status, pick string, args ...any) ([]Ending, error) {
	rows, err := tx.Query(ctx, `WITH picked AS (`+pick+`)
		UPDATE memberships m SET status = '`+status+`', ended_at = now()
		FROM picked, members mb WHERE m.id = picked.id AND mb.tenant_id = m.tenant_id AND mb.id = m.member_id
		RETURNING m.id, m.member_id, m.plan_id, m.status, m.starts_at, m.ends_at, mb.telegram_user_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("membership: end memberships: %w", err)
	}
	endings, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Ending, error) {
		var e Ending
		m := &e.Membership
		err := r.Scan(&m.ID, &m.MemberID, &m.PlanID, &m.Status, &m.StartsAt, &m.EndsAt, &e.TelegramUserID)
		return e, err
	})
	if err != nil || len(endings) == 0 {
		return nil, err
	}
	return endings, fillEndings(ctx, tx, endings)
}

// fillEndings adds each ending's plan and the chats its member leaves:
// those of its plan that none of their active memberships still opens.
// The members are marked as removed from those chats.
func fillEndings(ctx context.Context, tx pgx.Tx, endings []Ending) error {
	plans := map[int64]Plan{}
	ids, members, planIDs := make([]int64, len(endings)), make([]int64, len(endings)), make([]int64, len(endings))
	index := map[int64]int{}
	for i, e := range endings {
		ids[i], members[i], planIDs[i] = e.Membership.ID, e.Membership.MemberID, e.Membership.PlanID
		index[e.Membership.ID] = i
		if _, ok := plans[e.Membership.PlanID]; !ok {
			p, err := GetPlan(ctx, tx, e.Membership.PlanID)
			if err != nil {
				return err
			}
			plans[p.ID] = p
		}
		endings[i].Plan = plans[e.Membership.PlanID]
	}
	rows, err := tx.Query(ctx, leaveQuery, ids, members, planIDs)
	if err != nil {
		return fmt.Errorf("membership: chats to leave: %w", err)
	}
	var membershipID int64
	var c Chat
	var links []string
	var joined bool
	_, err = pgx.ForEachRow(rows, []any{&membershipID, &c.ID, &c.BotID, &c.TelegramChatID, &c.Kind, &c.Title, &c.BotStatus, &c.CanInvite, &c.CanRestrict, &links, &joined}, func() error {
		i := index[membershipID]
		endings[i].RemoveFrom = append(endings[i].RemoveFrom, c)
		switch {
		case joined && c.CanRemove():
			endings[i].Removed = append(endings[i].Removed, c)
		case joined:
			endings[i].Kept = append(endings[i].Kept, c)
		}
		for _, l := range links {
			endings[i].UnusedLinks = append(endings[i].UnusedLinks, UnusedLink{TelegramChatID: c.TelegramChatID, Link: l})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("membership: chats to leave: %w", err)
	}
	markStays(endings)
	return nil
}

// markStays sets each ending's Stays: whether a chat of its plan is left
// by none of its member's endings.
func markStays(endings []Ending) {
	type memberChat struct{ member, chat int64 }
	left := map[memberChat]bool{}
	for _, e := range endings {
		for _, c := range e.RemoveFrom {
			left[memberChat{e.Membership.MemberID, c.ID}] = true
		}
	}
	for i, e := range endings {
		endings[i].Stays = slices.ContainsFunc(e.Plan.ChatIDs, func(id int64) bool {
			return !left[memberChat{e.Membership.MemberID, id}]
		})
	}
}

// leaveQuery finds, for ended memberships ($1, of members $2, plans $3),
// the chats no other active membership of the member opens, marks the
// member removed from those they had joined and the bot can remove them
// from (one who never joined, or left, stays so), and revokes the
// member's unused links to them (returned with each chat).
const leaveQuery = `
WITH ended AS (
	SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS e(membership_id, member_id, plan_id)
), leave AS (
	-- A membership opens its plan's chats and every chat it made the
	-- member a Join link to: a chat taken out of the plan since stays open
	-- to them until their access ends, and is then left like the others
	-- (ObserveJoin holds to the same rule).
	SELECT DISTINCT ON (e.member_id, opened.chat_id) e.membership_id, e.member_id, opened.chat_id
	FROM ended e CROSS JOIN LATERAL (
		SELECT pc.chat_id FROM plan_chats pc WHERE pc.tenant_id = gatekey_tenant() AND pc.plan_id = e.plan_id
		UNION
		SELECT l.chat_id FROM invite_links l WHERE l.tenant_id = gatekey_tenant() AND l.membership_id = e.membership_id
	) opened
	WHERE NOT EXISTS (
		SELECT FROM memberships o JOIN plan_chats opc ON opc.tenant_id = o.tenant_id AND opc.plan_id = o.plan_id
		WHERE o.tenant_id = gatekey_tenant() AND o.member_id = e.member_id AND o.status = 'active' AND opc.chat_id = opened.chat_id)
	AND NOT EXISTS (
		SELECT FROM memberships o JOIN invite_links ol ON ol.tenant_id = o.tenant_id AND ol.membership_id = o.id
		WHERE o.tenant_id = gatekey_tenant() AND o.member_id = e.member_id AND o.status = 'active'
		AND ol.chat_id = opened.chat_id)
), marked AS (
	UPDATE member_chats mc SET status = 'removed', updated_at = now()
	FROM leave, chats c WHERE mc.tenant_id = gatekey_tenant() AND mc.member_id = leave.member_id AND mc.chat_id = leave.chat_id
	AND mc.status = 'joined' AND c.tenant_id = gatekey_tenant() AND c.id = leave.chat_id
	AND c.bot_status = 'administrator' AND c.can_restrict -- Chat.CanRemove: elsewhere the member stays in
), revoked AS (
	-- Every unused link of the member's to a chat they leave, from any of
	-- their memberships: one that ended earlier, while this one still
	-- opened the chat, left its links for now.
	UPDATE invite_links l SET revoked_at = now()
	FROM leave JOIN memberships om ON om.tenant_id = gatekey_tenant() AND om.member_id = leave.member_id
	WHERE l.tenant_id = gatekey_tenant() AND l.membership_id = om.id AND l.chat_id = leave.chat_id
	AND l.revoked_at IS NULL AND l.used_at IS NULL AND l.expires_at > now()
	RETURNING leave.membership_id, l.chat_id, l.invite_link
)
SELECT leave.membership_id, c.id, c.bot_id, c.telegram_chat_id, c.kind, c.title, c.bot_status, c.can_invite_users, c.can_restrict,
	coalesce((SELECT array_agg(r.invite_link ORDER BY r.invite_link) FROM revoked r
		WHERE r.membership_id = leave.membership_id AND r.chat_id = c.id), '{}'),
	EXISTS (SELECT FROM member_chats mc WHERE mc.tenant_id = gatekey_tenant() AND mc.member_id = leave.member_id
		AND mc.chat_id = leave.chat_id AND mc.status = 'joined') -- as it was: marked's update is not seen here
FROM leave JOIN chats c ON c.tenant_id = gatekey_tenant() AND c.id = leave.chat_id
ORDER BY leave.membership_id, c.id`

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

// DueReminders marks and returns up to limit reminders that are due and
// were not sent: the sweep behind the scheduled reminder jobs. Like
// ExpireDue, it looks only at memberships ending at or after from.
func DueReminders(ctx context.Context, tx pgx.Tx, from time.Time, limit int) ([]Reminder, error) {
	rows, err := tx.Query(ctx, `WITH picked AS (
			SELECT id FROM memberships WHERE status = 'active' AND reminded_at IS NULL
			AND ends_at - $2::interval <= now() AND ends_at > now() AND ends_at >= $3 ORDER BY ends_at LIMIT $1 FOR UPDATE SKIP LOCKED)
		UPDATE memberships m SET reminded_at = now() FROM picked, members mb
		WHERE m.id = picked.id AND mb.tenant_id = m.tenant_id AND mb.id = m.member_id
		RETURNING m.id, m.member_id, m.plan_id, m.status, m.starts_at, m.ends_at, mb.telegram_user_id`, limit, ReminderLead, from)
	if err != nil {
		return nil, fmt.Errorf("membership: due reminders: %w", err)
	}
	rs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Reminder, error) {
		var rm Reminder
		m := &rm.Membership
		err := r.Scan(&m.ID, &m.MemberID, &m.PlanID, &m.Status, &m.StartsAt, &m.EndsAt, &rm.TelegramUserID)
		return rm, err
	})
	if err != nil {
		return nil, fmt.Errorf("membership: due reminders: %w", err)
	}
	for i := range rs {
		if rs[i].Plan, err = GetPlan(ctx, tx, rs[i].Membership.PlanID); err != nil {
			return nil, err
		}
	}
	return rs, nil
}
