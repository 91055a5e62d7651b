package membership_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/membership"
)

// UpsertMember makes the member once, refreshes the name and clears
// "unreachable" when they change, and leaves an unchanged row unwritten.
func TestUpsertMember(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	f := newFixture(t, db, "upsert@example.com", "Gold", 7201)
	ann := membership.Person{TelegramUserID: 42, Username: "ann", FirstName: "Ann"}
	// upsert returns the member's id and whether the row was written (its
	// xmin is then this transaction's id).
	upsert := func(p membership.Person) (id int64, written bool) {
		t.Helper()
		err := db.Tx(ctx, f.tenant, func(tx pgx.Tx) error {
			m, err := membership.UpsertMember(ctx, tx, f.bot.ID, p)
			if err != nil {
				return err
			}
			id = m.ID
			return tx.QueryRow(ctx, "SELECT xmin::text = txid_current()::text FROM members WHERE id = $1", m.ID).Scan(&written)
		})
		if err != nil {
			t.Fatal(err)
		}
		return id, written
	}
	first, written := upsert(ann)
	if !written {
		t.Error("a new member was not written")
	}
	if id, written := upsert(ann); id != first || written {
		t.Errorf("unchanged: id %d (want %d), written %v (want false)", id, first, written)
	}
	ann.LastName = "Lee"
	if id, written := upsert(ann); id != first || !written {
		t.Errorf("new name: id %d (want %d), written %v (want true)", id, first, written)
	}
	err := db.Tx(ctx, f.tenant, func(tx pgx.Tx) error {
		return membership.MarkUnreachable(ctx, tx, f.bot.ID, ann.TelegramUserID)
	})
	if err != nil {
		t.Fatal(err)
	}
	if id, written := upsert(ann); id != first || !written {
		t.Errorf("unreachable: id %d (want %d), written %v (want true)", id, first, written)
	}
	var names string
	var unreachable int
	err = db.Tx(ctx, f.tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT string_agg(username || ' ' || first_name || ' ' || last_name, ','),
			count(*) FILTER (WHERE unreachable_at IS NOT NULL) FROM members`).Scan(&names, &unreachable)
	})
	if err != nil {
		t.Fatal(err)
	}
	if names != "ann Ann Lee" || unreachable != 0 {
		t.Errorf("members %q, %d unreachable; want one, ann Ann Lee, reachable", names, unreachable)
	}
}
