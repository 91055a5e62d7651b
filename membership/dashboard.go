package membership

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// DayStats is one day of the dashboard's chart.
type DayStats struct {
	Day         time.Time // midnight UTC
	Activations int       // code activations not rolled back
	PaidOrders  int       // orders above zero, not refunded
}

// Stats is the owner's dashboard.
type Stats struct {
	ActiveMembers    int // members with at least one active membership
	CodesOutstanding int // codes that can still be activated
	Days             []DayStats
	Activations      int     // over Days
	PaidOrders       int     // over Days
	Revenue          []Money // paid orders over Days, per currency; zero-priced orders are not revenue
}

// Dashboard counts the tenant's figures for the last days days, up to now.
func Dashboard(ctx context.Context, tx pgx.Tx, days int, now time.Time) (Stats, error) {
	var s Stats
	err := tx.QueryRow(ctx, `SELECT
		(SELECT count(DISTINCT member_id) FROM memberships WHERE status = 'active'),
		(SELECT count(*) FROM access_codes WHERE deleted_at IS NULL AND activations < max_activations
			AND (expires_at IS NULL OR expires_at > now()))`).Scan(&s.ActiveMembers, &s.CodesOutstanding)
	if err != nil {
		return s, fmt.Errorf("membership: dashboard: %w", err)
	}
	today := now.UTC().Truncate(24 * time.Hour)
	from := today.AddDate(0, 0, -(days - 1))
	s.Days = make([]DayStats, days)
	for i := range s.Days {
		s.Days[i].Day = from.AddDate(0, 0, i)
	}
	rows, err := tx.Query(ctx, `
		SELECT date_trunc('day', created_at AT TIME ZONE 'UTC'), 'a', count(*) FROM code_activations
			WHERE created_at >= $1 AND rolled_back_at IS NULL GROUP BY 1
		UNION ALL
		SELECT date_trunc('day', created_at AT TIME ZONE 'UTC'), 'o', count(*) FROM orders
			WHERE created_at >= $1 AND amount_minor > 0 AND status = 'paid' GROUP BY 1`, from)
	if err != nil {
		return s, fmt.Errorf("membership: dashboard days: %w", err)
	}
	var day time.Time
	var kind string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&day, &kind, &n}, func() error {
		i := int(day.Sub(from).Hours() / 24)
		if i < 0 || i >= days {
			return nil
		}
		if kind == "a" {
			s.Days[i].Activations += n
			s.Activations += n
		} else {
			s.Days[i].PaidOrders += n
			s.PaidOrders += n
		}
		return nil
	})
	if err != nil {
		return s, fmt.Errorf("membership: dashboard days: %w", err)
	}
	rows, err = tx.Query(ctx, `SELECT currency, sum(amount_minor)::bigint FROM orders
		WHERE created_at >= $1 AND amount_minor > 0 AND status = 'paid' GROUP BY currency ORDER BY 2 DESC`, from)
	if err != nil {
		return s, fmt.Errorf("membership: dashboard revenue: %w", err)
	}
	s.Revenue, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Money, error) {
		var m Money
		err := r.Scan(&m.Currency, &m.Minor)
		return m, err
	})
	if err != nil {
		return s, fmt.Errorf("membership: dashboard revenue: %w", err)
	}
	return s, nil
}

// UnusedCodesOlderThan counts the codes that auto-delete after days would
// delete now: never activated, not deleted, created more than days ago.
func UnusedCodesOlderThan(ctx context.Context, tx pgx.Tx, days int) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM access_codes WHERE activations = 0 AND deleted_at IS NULL
		AND created_at < now() - make_interval(days => $1)`, days).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("membership: unused codes: %w", err)
	}
	return n, nil
}
