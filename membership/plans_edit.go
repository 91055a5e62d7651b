package membership

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// UpdatePlan changes a plan's name, description, period, price and chats.
// The plan stays with its bot. A new period or price applies to what is
// granted from now on; memberships already running keep their end. Chats
// added reach current members as Join buttons the next time they open the
// bot; members stay in chats taken out of the plan until their end.
func UpdatePlan(ctx context.Context, tx pgx.Tx, planID int64, in NewPlan) (Plan, error) {
	old, err := GetPlan(ctx, tx, planID)
	if err != nil {
		return old, err
	}
	in.Name = strings.TrimSpace(in.Name)
	if err := in.check(); err != nil {
		return old, err
	}
	_, err = tx.Exec(ctx, `UPDATE plans SET name = $2, description = $3, period_days = nullif($4, 0),
		price_minor = $5, currency = $6 WHERE id = $1`,
		planID, in.Name, in.Description, in.PeriodDays, in.Price.Minor, in.Price.Currency)
	if err != nil {
		return old, fmt.Errorf("membership: update plan: %w", err)
	}
	if _, err := tx.Exec(ctx, "DELETE FROM plan_chats WHERE plan_id = $1 AND NOT chat_id = ANY($2)", planID, in.ChatIDs); err != nil {
		return old, fmt.Errorf("membership: update plan chats: %w", err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO plan_chats (tenant_id, plan_id, chat_id)
		SELECT gatekey_tenant(), $1, id FROM chats WHERE bot_id = $2 AND id = ANY($3) ON CONFLICT DO NOTHING`,
		planID, old.BotID, in.ChatIDs)
	if err != nil {
		return old, fmt.Errorf("membership: update plan chats: %w", err)
	}
	p, err := GetPlan(ctx, tx, planID)
	if err != nil {
		return p, err
	}
	if len(p.ChatIDs) != len(uniqueIDs(in.ChatIDs)) {
		return p, invalid("every chat of a plan must be one the bot administers")
	}
	return p, nil
}

// check is the validation CreatePlan and UpdatePlan do. Lengths are in
// characters, as the form counts them, not bytes.
func (in NewPlan) check() error {
	switch {
	case in.Name == "" || utf8.RuneCountInString(in.Name) > 100:
		return invalid("a plan needs a name of 1 to 100 characters")
	case strings.ContainsFunc(in.Name, unicode.IsControl):
		return invalid("a plan's name cannot hold control characters, such as line breaks or tabs")
	case utf8.RuneCountInString(in.Description) > 2000:
		return invalid("the description can be at most 2000 characters")
	case strings.ContainsFunc(in.Description, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }):
		return invalid("the description cannot hold control characters other than line breaks and tabs")
	case in.PeriodDays < 0 || in.PeriodDays > 36500:
		return invalid("the period must be 1 to 36500 days, or lifetime")
	case in.Price.Minor < 0:
		return invalid("the price cannot be negative")
	}
	return in.Price.validate()
}

func uniqueIDs(ids []int64) map[int64]bool {
	m := make(map[int64]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// ArchivePlan takes a plan off sale: no new codes for it, and the bot no
// longer offers it. Memberships and codes already made keep working.
func ArchivePlan(ctx context.Context, tx pgx.Tx, planID int64) error {
	tag, err := tx.Exec(ctx, "UPDATE plans SET archived_at = coalesce(archived_at, now()) WHERE id = $1", planID)
	if err != nil {
		return fmt.Errorf("membership: archive plan: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// LiveCodes counts a plan's codes that can still be activated: archiving
// a plan leaves them working (they may have been sold or given), so the
// owner is told how many there are.
func LiveCodes(ctx context.Context, tx pgx.Tx, planID int64) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM access_codes WHERE plan_id = $1 AND deleted_at IS NULL
		AND (expires_at IS NULL OR expires_at > now()) AND activations < max_activations`, planID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("membership: live codes: %w", err)
	}
	return n, nil
}

// AllPlans returns the plans of every bot of the tenant, current ones
// first, then archived ones if asked for; oldest first within each.
func AllPlans(ctx context.Context, tx pgx.Tx, withArchived bool) ([]Plan, error) {
	rows, err := tx.Query(ctx, "SELECT "+planColumns+` FROM plans p
		WHERE $1 OR p.archived_at IS NULL ORDER BY p.archived_at IS NOT NULL, p.id`, withArchived)
	if err != nil {
		return nil, fmt.Errorf("membership: all plans: %w", err)
	}
	plans, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Plan, error) { return scanPlan(r) })
	if err != nil {
		return nil, fmt.Errorf("membership: all plans: %w", err)
	}
	return plans, nil
}
