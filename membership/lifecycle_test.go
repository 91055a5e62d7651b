package membership_test

import (
	"context"
	"fmt"
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

// TestADayOrLessIsNotReminded grants a 1-day plan and a 2-day plan: the
// first's confirmation names its end, so no reminder is due right behind
// it; the second's reminder waits a day. Extending the 1-day membership
// by another day leaves more than a day, and its reminder waits again.
func TestADayOrLessIsNotReminded(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, openDB(t), "remind@example.com", "Gold", 9004)
	tx := func(fn func(tx pgx.Tx) error) {
		t.Helper()
		if err := f.db.Tx(ctx, f.tenant, fn); err != nil {
			t.Fatal(err)
		}
	}
	due := func() (ids []int64) {
		t.Helper()
		tx(func(tx pgx.Tx) error {
			rs, err := membership.DueReminders(ctx, tx, time.Time{}, 10)
			for _, r := range rs {
				ids = append(ids, r.Membership.ID)
			}
			return err
		})
		return ids
	}
	grant := func(days int, userID int64) (m membership.Membership) {
		t.Helper()
		tx(func(tx pgx.Tx) error {
			plan, err := membership.CreatePlan(ctx, tx, membership.NewPlan{BotID: f.bot.ID, Name: fmt.Sprintf("%d-day", days),
				PeriodDays: days, Price: membership.Money{Currency: "EUR"}})
			if err != nil {
				return err
			}
			member, err := membership.UpsertMember(ctx, tx, f.bot.ID, membership.Person{TelegramUserID: userID, FirstName: "M"})
			if err != nil {
				return err
			}
			g, err := membership.Grant(ctx, tx, member.ID, plan)
			m = g.Membership
			return err
		})
		return m
	}
	oneDay := grant(1, 700)
	grant(2, 701)
	if ids := due(); len(ids) != 0 {
		t.Fatalf("reminders due right after granting 1 and 2 days: %v; want none", ids)
	}

	// Moved nearer its end (the sandbox's fast-forward), a day's access
	// is still not reminded: its confirmation was its reminder.
	tx(func(tx pgx.Tx) error {
		_, err := membership.FastForward(ctx, tx, oneDay.ID, time.Now().Add(time.Hour))
		return err
	})
	if ids := due(); len(ids) != 0 {
		t.Fatalf("reminders due after moving the 1-day end an hour ahead: %v; want none", ids)
	}
	tx(func(tx pgx.Tx) error {
		plan, err := membership.GetPlan(ctx, tx, oneDay.PlanID)
		if err != nil {
			return err
		}
		g, err := membership.Grant(ctx, tx, oneDay.MemberID, plan)
		if err != nil {
			return err
		}
		if !g.Extended || g.Membership.EndsAt.Sub(time.Now()) < membership.ReminderLead {
			t.Errorf("extension: %+v; want the same membership ending more than a day ahead", g)
		}
		var waiting bool
		err = tx.QueryRow(ctx, "SELECT reminded_at IS NULL FROM memberships WHERE id = $1", oneDay.ID).Scan(&waiting)
		if err == nil && !waiting {
			t.Error("after extending by a day, the new end's reminder is marked sent")
		}
		return err
	})
}

// TestTakeBackToADayIsNotReminded: a member told that a cancelled code or
// refund leaves them a day needs no reminder right behind that message.
func TestTakeBackToADayIsNotReminded(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, openDB(t), "takeback@example.com", "Gold", 9005)
	err := f.db.Tx(ctx, f.tenant, func(tx pgx.Tx) error {
		plan, err := membership.CreatePlan(ctx, tx, membership.NewPlan{BotID: f.bot.ID, Name: "Day", PeriodDays: 1,
			Price: membership.Money{Currency: "EUR"}})
		if err != nil {
			return err
		}
		member, err := membership.UpsertMember(ctx, tx, f.bot.ID, membership.Person{TelegramUserID: 710, FirstName: "M"})
		if err != nil {
			return err
		}
		if _, err := membership.Grant(ctx, tx, member.ID, plan); err != nil {
			return err
		}
		second, err := membership.Grant(ctx, tx, member.ID, plan)
		if err != nil {
			return err
		}
		tb, err := membership.TakeBack(ctx, tx, second.Membership.ID, second.AddedFrom, second.AddedUntil)
		if err != nil {
			return err
		}
		if tb.Shortened == nil || tb.Ended != nil || tb.Shortened.PlanName != "Day" || tb.Shortened.TelegramUserID != 710 {
			t.Fatalf("take back = %+v; want the membership shortened", tb)
		}
		if left := time.Until(*tb.Shortened.Membership.EndsAt); left > membership.ReminderLead || left < membership.ReminderLead-time.Minute {
			t.Errorf("after the take-back %v is left; want a day", left)
		}
		due, err := membership.DueReminders(ctx, tx, time.Time{}, 10)
		if len(due) != 0 {
			t.Errorf("reminders due after the take-back: %d; want none", len(due))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
