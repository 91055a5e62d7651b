package membership

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// FastForward moves an active membership through time, for the sandbox
// that lets an owner watch a reminder and a removal without waiting for
// them: its start and end shift together so that it ends at `to`, as if
// that much time had passed. Nothing is sent here; the caller lets the
// reconciler job find what is now due, so the reminder and the removal
// come through the same workers as on any other day.
//
// A reminder already sent is forgotten when the end moves to a time still
// ahead: it was the reminder for the old end, and the new end deserves its
// own; but not for a membership of a day or less, whose confirmation named
// its end and was its reminder. `to` may not be later than the current
// end: fast-forward only brings the end nearer.
func FastForward(ctx context.Context, tx pgx.Tx, membershipID int64, to time.Time) (Membership, error) {
	var m Membership
	err := tx.QueryRow(ctx, `SELECT id, member_id, plan_id, status, starts_at, ends_at
		FROM memberships WHERE id = $1 FOR UPDATE`, membershipID).
		Scan(&m.ID, &m.MemberID, &m.PlanID, &m.Status, &m.StartsAt, &m.EndsAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, ErrNotFound
	}
	if err != nil {
		return m, fmt.Errorf("membership: fast-forward: %w", err)
	}
	switch {
	case m.Status != "active":
		return m, invalid("This membership has already ended (%s), so there is no end left to move.", m.Status)
	case m.EndsAt == nil:
		return m, invalid("This is lifetime access: it has no end to move to.")
	case to.IsZero():
		return m, invalid("Say when the membership should end.")
	case to.After(*m.EndsAt):
		return m, invalid("Fast-forward only brings the end nearer: this membership already ends on %s.", FormatDate(*m.EndsAt))
	case to.Equal(*m.EndsAt):
		return m, nil
	}
	err = tx.QueryRow(ctx, `UPDATE memberships
		SET starts_at = starts_at + ($2::timestamptz - ends_at), ends_at = $2,
			reminded_at = CASE WHEN $2 > now() AND ends_at - starts_at > $3::interval THEN NULL ELSE reminded_at END
		WHERE id = $1 RETURNING starts_at, ends_at`, m.ID, to, ReminderLead).Scan(&m.StartsAt, &m.EndsAt)
	if err != nil {
		return m, fmt.Errorf("membership: fast-forward: %w", err)
	}
	return m, nil
}
