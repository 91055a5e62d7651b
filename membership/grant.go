package membership

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

var errAlreadyLifetime = errors.New("membership: already lifetime")

// Granted is what a grant did to a member's access.
type Granted struct {
	Membership Membership
	Extended   bool
	// Returning is a new membership of a member who had the plan before.
	Returning bool
	// The period the grant added, so it can be taken back exactly.
	AddedFrom  time.Time
	AddedUntil *time.Time // nil: lifetime
}

// Grant gives a member a plan for the plan's period: a new membership from
// now, or, if one is active, the same one extended from its current end.
// Codes and payments both come through here.
func Grant(ctx context.Context, tx pgx.Tx, memberID int64, plan Plan) (Granted, error) {
	var days *int
	if !plan.Lifetime() {
		days = &plan.PeriodDays
	}
	g := Granted{}
	m := &g.Membership
	var oldEnd *time.Time
	err := tx.QueryRow(ctx, `SELECT id, member_id, plan_id, status, starts_at, ends_at FROM memberships
		WHERE member_id = $1 AND plan_id = $2 AND status = 'active' FOR UPDATE`, memberID, plan.ID).
		Scan(&m.ID, &m.MemberID, &m.PlanID, &m.Status, &m.StartsAt, &oldEnd)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		err = tx.QueryRow(ctx, `INSERT INTO memberships (tenant_id, member_id, plan_id, starts_at, ends_at, reminded_at)
			SELECT gatekey_tenant(), $1, $2, now(), e, `+remindedNow+` FROM (SELECT now() + make_interval(days => $3) AS e) ends
			RETURNING id, member_id, plan_id, status, starts_at, ends_at,
				EXISTS (SELECT FROM memberships WHERE member_id = $1 AND plan_id = $2)`, memberID, plan.ID, days, ReminderLead).
			Scan(&m.ID, &m.MemberID, &m.PlanID, &m.Status, &m.StartsAt, &m.EndsAt, &g.Returning)
		g.AddedFrom, g.AddedUntil = m.StartsAt, m.EndsAt
	case err != nil:
	case oldEnd == nil:
		return g, errAlreadyLifetime
	default:
		g.Extended = true
		err = tx.QueryRow(ctx, `UPDATE memberships SET reminded_at = `+remindedNow+`, ends_at = e
			FROM (SELECT greatest($3::timestamptz, now()) + make_interval(days => $2) AS e) ends
			WHERE id = $1 RETURNING greatest($3::timestamptz, now()), ends_at`, m.ID, days, oldEnd, ReminderLead).
			Scan(&g.AddedFrom, &m.EndsAt)
		g.AddedUntil = m.EndsAt
	}
	if err != nil {
		return g, fmt.Errorf("membership: grant: %w", err)
	}
	return g, nil
}

// Greeting greets a member new to a plan ("Welcome to"), or back after an
// earlier membership of it ended ("Welcome back to").
func Greeting(returning bool) string {
	if returning {
		return "Welcome back to"
	}
	return "Welcome to"
}

// GrantNote tells an owner, in a few words, what a grant did for a member.
func GrantNote(extended, returning bool) string {
	switch {
	case extended:
		return "extended"
	case returning:
		return "back after an earlier membership"
	}
	return "new to this plan"
}

// remindedNow is a grant's reminded_at for its new end e, with the lead as
// the last parameter: a grant that leaves a day or less is its own
// reminder, since its confirmation names the end, and a renewal reminder
// right behind it would only repeat it.
const remindedNow = `CASE WHEN e - $4::interval <= now() THEN now() END`

func createOrder(ctx context.Context, tx pgx.Tx, memberID, planID, membershipID int64, source string, price Money) (Order, error) {
	o := Order{Amount: price, Source: source}
	err := tx.QueryRow(ctx, `INSERT INTO orders (tenant_id, member_id, plan_id, membership_id, source, amount_minor, currency)
		VALUES (gatekey_tenant(), $1, $2, $3, $4, $5, $6) RETURNING id`,
		memberID, planID, membershipID, source, price.Minor, price.Currency).Scan(&o.ID)
	if err != nil {
		return o, fmt.Errorf("membership: create order: %w", err)
	}
	return o, nil
}
