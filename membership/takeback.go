package membership

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// TakenBack is what taking a grant back did to its membership: it goes on
// with an earlier end (Shortened), or it had no time left and ended
// (Ended). Both are nil when the membership had already ended.
type TakenBack struct {
	Shortened *Shortening
	Ended     *Ending
}

// shortenedEnd is a membership's end without the period [$2, $3) a grant
// added; a lifetime grant ($3 NULL) leaves the end where it was before it.
const shortenedEnd = `(CASE WHEN $3::timestamptz IS NULL THEN $2::timestamptz
	ELSE ends_at - ($3::timestamptz - $2::timestamptz) END)`

// TakeBack removes the period [from, until) that one grant added to a
// membership, for a rolled-back code or a refunded payment. The member is
// told the new end, so an end a day or less away needs no reminder, as
// in Grant.
func TakeBack(ctx context.Context, tx pgx.Tx, membershipID int64, from time.Time, until *time.Time) (TakenBack, error) {
	var tb TakenBack
	var sh Shortening
	m := &sh.Membership
	err := tx.QueryRow(ctx, `UPDATE memberships SET ends_at = `+shortenedEnd+`,
			reminded_at = CASE WHEN `+shortenedEnd+` - $4::interval <= now() THEN now() END
		WHERE id = $1 AND status = 'active'
		RETURNING id, member_id, plan_id, status, starts_at, ends_at,
			(SELECT name FROM plans p WHERE p.tenant_id = memberships.tenant_id AND p.id = memberships.plan_id),
			(SELECT telegram_user_id FROM members mb WHERE mb.tenant_id = memberships.tenant_id AND mb.id = memberships.member_id)`,
		membershipID, from, until, ReminderLead).
		Scan(&m.ID, &m.MemberID, &m.PlanID, &m.Status, &m.StartsAt, &m.EndsAt, &sh.PlanName, &sh.TelegramUserID)
	if errors.Is(err, pgx.ErrNoRows) {
		return tb, nil // already ended: nothing left to take back
	}
	if err != nil {
		return tb, fmt.Errorf("membership: take back: %w", err)
	}
	if m.EndsAt == nil || m.EndsAt.After(time.Now()) {
		tb.Shortened = &sh
		return tb, nil
	}
	e, ok, err := Revoke(ctx, tx, m.ID)
	if ok {
		tb.Ended = &e
	}
	return tb, err
}
