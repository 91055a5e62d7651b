package membership

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The welcome reads a member's memberships with GetOffer; the test of
// GetOffer checks it against this plain read, which nothing else needs.

// ActiveMemberships returns the member's active memberships, soonest end first.
func ActiveMemberships(ctx context.Context, tx pgx.Tx, memberID int64) ([]Membership, error) {
	rows, err := tx.Query(ctx, `SELECT id, member_id, plan_id, status, starts_at, ends_at FROM memberships
		WHERE member_id = $1 AND status = 'active' ORDER BY ends_at NULLS LAST, id`, memberID)
	if err != nil {
		return nil, fmt.Errorf("membership: active memberships: %w", err)
	}
	ms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Membership, error) {
		var m Membership
		err := r.Scan(&m.ID, &m.MemberID, &m.PlanID, &m.Status, &m.StartsAt, &m.EndsAt)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("membership: active memberships: %w", err)
	}
	return ms, nil
}
