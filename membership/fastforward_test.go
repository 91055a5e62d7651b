package membership_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/membership"
)

// TestFastForward moves a 30-day membership to a day before its end, where
// the reconciler's query finds its reminder due, again after the reminder
// went (the new end gets a reminder of its own), then past its end, where
// the expiry sweep ends it; bad requests change nothing.
func TestFastForward(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, openDB(t), "ff@example.com", "Gold", 9001)
	var m membership.Membership
	tx := func(fn func(tx pgx.Tx) error) {
		t.Helper()
		if err := f.db.Tx(ctx, f.tenant, fn); err != nil {
			t.Fatal(err)
		}
	}
	tx(func(tx pgx.Tx) error {
		member, err := membership.UpsertMember(ctx, tx, f.bot.ID, membership.Person{TelegramUserID: 555, FirstName: "Ana"})
		if err != nil {
			return err
		}
		g, err := membership.Grant(ctx, tx, member.ID, f.plan)
		m = g.Membership
		return err
	})
	length := m.EndsAt.Sub(m.StartsAt)

	// Close to the end: the reminder is due, and nothing has ended.
	soon := time.Now().Add(membership.ReminderLead - time.Minute).Truncate(time.Microsecond)
	tx(func(tx pgx.Tx) error {
		got, err := membership.FastForward(ctx, tx, m.ID, soon)
		if err != nil {
			return err
		}
		if !got.EndsAt.Equal(soon) || got.EndsAt.Sub(got.StartsAt) != length {
			t.Errorf("after fast-forward: %v .. %v, want the end at %v and the length %v kept", got.StartsAt, got.EndsAt, soon, length)
		}
		due, err := membership.DueReminders(ctx, tx, time.Time{}, 10)
		if err != nil || len(due) != 1 || due[0].Membership.ID != m.ID {
			t.Errorf("due reminders = %+v, %v; want membership %d", due, err, m.ID)
		}
		ended, err := membership.ExpireDue(ctx, tx, time.Time{}, 10)
		if err != nil || len(ended) != 0 {
			t.Errorf("expired = %+v, %v; want none yet", ended, err)
		}
		return nil
	})

	// Moving it again forgets the reminder sent for the old end.
	tx(func(tx pgx.Tx) error {
		if _, err := membership.FastForward(ctx, tx, m.ID, soon.Add(-time.Hour)); err != nil {
			return err
		}
		due, err := membership.DueReminders(ctx, tx, time.Time{}, 10)
		if err != nil || len(due) != 1 {
			t.Errorf("due reminders after a second move = %d, %v; want 1", len(due), err)
		}
		return nil
	})

	// A move to the current end changes nothing, and a later end is refused.
	tx(func(tx pgx.Tx) error {
		got, err := membership.FastForward(ctx, tx, m.ID, soon.Add(-time.Hour))
		if err != nil || !got.EndsAt.Equal(soon.Add(-time.Hour)) {
			t.Errorf("fast-forward to the current end = %v, %v", got.EndsAt, err)
		}
		due, _ := membership.DueReminders(ctx, tx, time.Time{}, 10)
		if len(due) != 0 {
			t.Errorf("a move to the same end brought the reminder back")
		}
		var bad *membership.ValidationError
		if _, err := membership.FastForward(ctx, tx, m.ID, soon.Add(time.Hour)); !errors.As(err, &bad) {
			t.Errorf("fast-forward to a later end: err = %v, want a ValidationError", err)
		}
		return nil
	})

	// Past the end: the sweep ends it, and then it cannot be moved.
	tx(func(tx pgx.Tx) error {
		if _, err := membership.FastForward(ctx, tx, m.ID, time.Now().Add(-time.Second)); err != nil {
			return err
		}
		ended, err := membership.ExpireDue(ctx, tx, time.Time{}, 10)
		if err != nil || len(ended) != 1 || ended[0].Membership.ID != m.ID {
			t.Errorf("expired = %+v, %v; want membership %d", ended, err, m.ID)
		}
		var bad *membership.ValidationError
		if _, err := membership.FastForward(ctx, tx, m.ID, time.Now().Add(-time.Hour)); !errors.As(err, &bad) {
			t.Errorf("fast-forward of an ended membership: err = %v, want a ValidationError", err)
		}
		if _, err := membership.FastForward(ctx, tx, m.ID+1000, time.Now()); !errors.Is(err, membership.ErrNotFound) {
			t.Errorf("fast-forward of no membership: err = %v, want ErrNotFound", err)
		}
		return nil
	})
}

// TestFastForwardLifetime refuses a membership without an end.
func TestFastForwardLifetime(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, openDB(t), "ff-life@example.com", "Gold", 9002)
	err := f.db.Tx(ctx, f.tenant, func(tx pgx.Tx) error {
		plan, err := membership.CreatePlan(ctx, tx, membership.NewPlan{BotID: f.bot.ID, Name: "Forever",
			Price: membership.Money{Minor: 100, Currency: "EUR"}})
		if err != nil {
			return err
		}
		member, err := membership.UpsertMember(ctx, tx, f.bot.ID, membership.Person{TelegramUserID: 556, FirstName: "Bo"})
		if err != nil {
			return err
		}
		g, err := membership.Grant(ctx, tx, member.ID, plan)
		if err != nil {
			return err
		}
		_, err = membership.FastForward(ctx, tx, g.Membership.ID, time.Now())
		var bad *membership.ValidationError
		if !errors.As(err, &bad) {
			t.Errorf("fast-forward of lifetime access: err = %v, want a ValidationError", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A membership of a day or less was its own reminder: moved nearer its
// end, it is not reminded again.
func TestFastForwardADayIsNotReminded(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, openDB(t), "ff-day@example.com", "Gold", 9003)
	err := f.db.Tx(ctx, f.tenant, func(tx pgx.Tx) error {
		plan, err := membership.CreatePlan(ctx, tx, membership.NewPlan{BotID: f.bot.ID, Name: "Day pass", PeriodDays: 1,
			Price: membership.Money{Minor: 100, Currency: "EUR"}})
		if err != nil {
			return err
		}
		member, err := membership.UpsertMember(ctx, tx, f.bot.ID, membership.Person{TelegramUserID: 557, FirstName: "Cy"})
		if err != nil {
			return err
		}
		g, err := membership.Grant(ctx, tx, member.ID, plan)
		if err != nil {
			return err
		}
		if _, err := membership.FastForward(ctx, tx, g.Membership.ID, time.Now().Add(membership.ReminderLead-time.Minute)); err != nil {
			return err
		}
		due, err := membership.DueReminders(ctx, tx, time.Time{}, 10)
		if err != nil || len(due) != 0 {
			t.Errorf("due reminders after moving a day pass = %+v, %v; want none", due, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
