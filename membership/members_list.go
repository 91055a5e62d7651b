package membership

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// MemberFilter picks memberships for the owners' member list. Zero fields
// match all.
type MemberFilter struct {
	BotID    int64
	PlanID   int64
	MemberID int64
	Status   string // active, expired or revoked
	Search   string // part of a name or @username, or a Telegram user id
	BeforeID int64  // paging: memberships older than this one
	Limit    int    // 0: 50
}

// Membership sources, as the list shows them.
const (
	SourceCode    = "code"
	SourcePayment = "payment"
)

// MemberRow is one membership with its member, as owners list them.
type MemberRow struct {
	Membership
	Member      Member
	PlanName    string
	Source      string // SourceCode or SourcePayment; "" if no order made it
	Code        string // the code that made it, when Source is SourceCode
	CodeUndone  bool   // that code's activation was rolled back since
	Unreachable bool   // the member blocked the bot
	EndedAt     *time.Time
	// TakenBack is "rolled back" or "refunded" for a membership revoked
	// because a code's rollback or a payment's refund took its time back:
	// its EndsAt then no longer says the end it had (no column keeps
	// that), but when the time left ran out, often StartsAt. "" otherwise.
	TakenBack string
}

// AccessEnded is when the member's access ended: when the membership was
// revoked (or rolled back), or its end for an expired one; nil while it
// is active.
func (r MemberRow) AccessEnded() *time.Time {
	switch r.Status {
	case "expired":
		return r.EndsAt
	case "revoked":
		return r.EndedAt
	}
	return nil
}

// memberRowQuery pages first and looks up each row's source after, so
// that the lookups cost one page's rows, never the whole table's.
const memberRowQuery = `SELECT x.ms_id, x.member_id, x.plan_id, x.status, x.starts_at, x.ends_at, x.ended_at,
	x.member_id, x.bot_id, x.telegram_user_id, x.username, x.first_name, x.last_name, x.unreachable, p.name,
	coalesce(first.source, ''), coalesce(first.code, ''), coalesce(first.undone, false), coalesce(taken.how, '')
	FROM (
		SELECT ms.tenant_id, ms.id AS ms_id, ms.member_id, ms.plan_id, ms.status, ms.starts_at, ms.ends_at, ms.ended_at,
			m.bot_id, m.telegram_user_id, m.username, m.first_name, m.last_name, m.unreachable_at IS NOT NULL AS unreachable
		FROM memberships ms JOIN members m ON m.tenant_id = ms.tenant_id AND m.id = ms.member_id
		WHERE %s ORDER BY ms.id DESC LIMIT %s
	) x
	JOIN plans p ON p.tenant_id = x.tenant_id AND p.id = x.plan_id
	LEFT JOIN LATERAL (
		SELECT o.source, act.code, act.undone
		FROM orders o LEFT JOIN LATERAL (
			SELECT ac.code, ca.rolled_back_at IS NOT NULL AS undone FROM code_activations ca
			JOIN access_codes ac ON ac.tenant_id = ca.tenant_id AND ac.id = ca.code_id
			WHERE ca.tenant_id = o.tenant_id AND ca.order_id = o.id) act ON true
		WHERE o.tenant_id = x.tenant_id AND o.membership_id = x.ms_id ORDER BY o.id LIMIT 1
	) first ON true
	-- A takeback that leaves a membership no time moves its end back to when
	-- its time ran out, then revokes it: such an end is not after ended_at.
	LEFT JOIN LATERAL (
		SELECT CASE WHEN bool_or(ca.rolled_back_at IS NOT NULL) THEN 'rolled back'
			WHEN bool_or(o.status = 'refunded') THEN 'refunded' END AS how
		FROM orders o LEFT JOIN code_activations ca ON ca.tenant_id = o.tenant_id AND ca.order_id = o.id
		WHERE x.status = 'revoked' AND x.ends_at <= x.ended_at AND o.tenant_id = x.tenant_id AND o.membership_id = x.ms_id
	) taken ON true
	ORDER BY x.ms_id DESC`

func scanMemberRow(r pgx.Row) (MemberRow, error) {
	var x MemberRow
	var source string
	err := r.Scan(&x.ID, &x.MemberID, &x.PlanID, &x.Status, &x.StartsAt, &x.EndsAt, &x.EndedAt,
		&x.Member.ID, &x.Member.BotID, &x.Member.TelegramUserID, &x.Member.Username, &x.Member.FirstName, &x.Member.LastName,
		&x.Unreachable, &x.PlanName, &source, &x.Code, &x.CodeUndone, &x.TakenBack)
	switch source {
	case "access_code":
		x.Source = SourceCode
	case "":
	default:
		x.Source = SourcePayment
	}
	return x, err
}

// ListMembers returns the memberships f picks, newest first, one page.
// Paging is by key (BeforeID), so a page costs the same at any depth.
func ListMembers(ctx context.Context, tx pgx.Tx, f MemberFilter) ([]MemberRow, error) {
	where := []string{"true"}
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if f.BotID != 0 {
		where = append(where, "m.bot_id = "+arg(f.BotID))
	}
	if f.PlanID != 0 {
		where = append(where, "ms.plan_id = "+arg(f.PlanID))
	}
	if f.MemberID != 0 {
		where = append(where, "ms.member_id = "+arg(f.MemberID))
	}
	if f.BeforeID != 0 {
		where = append(where, "ms.id < "+arg(f.BeforeID))
	}
	switch f.Status {
	case "":
	case "active", "expired", "revoked":
		where = append(where, "ms.status = "+arg(f.Status))
	default:
		return nil, invalid("unknown status %q: use active, expired or revoked", f.Status)
	}
	if s := strings.TrimPrefix(strings.TrimSpace(f.Search), "@"); s != "" {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil {
			where = append(where, "m.telegram_user_id = "+arg(id))
		} else {
			p := arg("%" + escapeLike(s) + "%")
			where = append(where, "(m.username ILIKE "+p+" OR (m.first_name || ' ' || m.last_name) ILIKE "+p+")")
		}
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	q := fmt.Sprintf(memberRowQuery, strings.Join(where, " AND "), arg(f.Limit))
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("membership: list members: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (MemberRow, error) { return scanMemberRow(r) })
	if err != nil {
		return nil, fmt.Errorf("membership: list members: %w", err)
	}
	return list, nil
}

// MemberDetail is one member with everything the owner sees about them.
type MemberDetail struct {
	Member
	Unreachable bool
	CreatedAt   time.Time
	Memberships []MemberRow // newest first
	Chats       []MemberChat
	Activations []MemberActivation
}

// MemberChat is whether a member is in one of the bot's chats.
type MemberChat struct {
	Chat      Chat
	Status    string // joined, left, removed
	UpdatedAt time.Time
}

// MemberActivation is a code a member activated.
type MemberActivation struct {
	CodeID       int64
	Code         string
	PlanName     string
	At           time.Time
	RolledBackAt *time.Time
}

// GetMember reads a member with their memberships, chats and activations.
func GetMember(ctx context.Context, tx pgx.Tx, memberID int64) (MemberDetail, error) {
	var d MemberDetail
	err := tx.QueryRow(ctx, `SELECT id, bot_id, telegram_user_id, username, first_name, last_name, unreachable_at IS NOT NULL, created_at
		FROM members WHERE id = $1`, memberID).
		Scan(&d.ID, &d.BotID, &d.TelegramUserID, &d.Username, &d.FirstName, &d.LastName, &d.Unreachable, &d.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("membership: get member: %w", err)
	}
	if d.Memberships, err = ListMembers(ctx, tx, MemberFilter{MemberID: memberID, Limit: 1000}); err != nil {
		return d, err
	}
	rows, err := tx.Query(ctx, `SELECT c.id, c.bot_id, c.telegram_chat_id, c.kind, c.title, c.bot_status, c.can_invite_users, c.can_restrict,
			mc.status, mc.updated_at
		FROM member_chats mc JOIN chats c ON c.tenant_id = mc.tenant_id AND c.id = mc.chat_id
		WHERE mc.member_id = $1 ORDER BY c.id`, memberID)
	if err != nil {
		return d, fmt.Errorf("membership: member chats: %w", err)
	}
	d.Chats, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (MemberChat, error) {
		var x MemberChat
		c := &x.Chat
		err := r.Scan(&c.ID, &c.BotID, &c.TelegramChatID, &c.Kind, &c.Title, &c.BotStatus, &c.CanInvite, &c.CanRestrict, &x.Status, &x.UpdatedAt)
		return x, err
	})
	if err != nil {
		return d, fmt.Errorf("membership: member chats: %w", err)
	}
	rows, err = tx.Query(ctx, `SELECT ac.id, ac.code, p.name, ca.created_at, ca.rolled_back_at
		FROM code_activations ca
		JOIN access_codes ac ON ac.tenant_id = ca.tenant_id AND ac.id = ca.code_id
		JOIN plans p ON p.tenant_id = ac.tenant_id AND p.id = ac.plan_id
		WHERE ca.member_id = $1 ORDER BY ca.id DESC LIMIT 1000`, memberID)
	if err != nil {
		return d, fmt.Errorf("membership: member activations: %w", err)
	}
	d.Activations, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (MemberActivation, error) {
		var a MemberActivation
		err := r.Scan(&a.CodeID, &a.Code, &a.PlanName, &a.At, &a.RolledBackAt)
		return a, err
	})
	if err != nil {
		return d, fmt.Errorf("membership: member activations: %w", err)
	}
	return d, nil
}

// People returns what the tenant knows of these Telegram users of a bot
// (those who ever wrote to it), by Telegram user id.
func People(ctx context.Context, tx pgx.Tx, botID int64, telegramUserIDs []int64) (map[int64]Person, error) {
	rows, err := tx.Query(ctx, `SELECT telegram_user_id, username, first_name, last_name FROM members
		WHERE bot_id = $1 AND telegram_user_id = ANY($2)`, botID, telegramUserIDs)
	if err != nil {
		return nil, fmt.Errorf("membership: people: %w", err)
	}
	out := map[int64]Person{}
	var p Person
	_, err = pgx.ForEachRow(rows, []any{&p.TelegramUserID, &p.Username, &p.FirstName, &p.LastName}, func() error {
		out[p.TelegramUserID] = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("membership: people: %w", err)
	}
	return out, nil
}
