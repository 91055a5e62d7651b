package membership_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/membership"
)

// TestExpireDueFrom ends only the memberships ending at or after where
// the sweep has got to: the earlier one is left to a sweep from the start.
func TestExpireDueFrom(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, openDB(t), "sweep@example.com", "Gold", 9003)
	now := time.Now().Truncate(time.Microsecond)
	ends := []time.Time{now.Add(-3 * time.Hour), now.Add(-2 * time.Hour), now.Add(-time.Hour)}
	tx := func(fn func(tx pgx.Tx) error) {
		t.Helper()
		if err := f.db.Tx(ctx, f.tenant, fn); err != nil {
			t.Fatal(err)
		}
	}
	tx(func(tx pgx.Tx) error {
		for i, end := range ends {
			member, err := membership.UpsertMember(ctx, tx, f.bot.ID, membership.Person{TelegramUserID: int64(600 + i), FirstName: "M"})
			if err != nil {
				return err
			}
			g, err := membership.Grant(ctx, tx, member.ID, f.plan)
			if err != nil {
				return err
			}
			if _, err := membership.FastForward(ctx, tx, g.Membership.ID, end); err != nil {
				return err
			}
		}
		return nil
	})
	sweep := func(from time.Time) (latest time.Time, n int) {
		tx(func(tx pgx.Tx) error {
			ended, err := membership.ExpireDue(ctx, tx, from, 10)
			for _, e := range ended {
				latest = membership.LatestEnd(latest, e.Membership)
			}
			n = len(ended)
			return err
		})
		return latest, n
	}
	if latest, n := sweep(ends[1]); n != 2 || !latest.Equal(ends[2]) {
		t.Errorf("from the second end: %d ended, the latest ending %v; want 2, the latest ending %v", n, latest, ends[2])
	}
	if latest, n := sweep(time.Time{}); n != 1 || !latest.Equal(ends[0]) {
		t.Errorf("from the start: %d ended, the latest ending %v; want the first one alone", n, latest)
	}
}
