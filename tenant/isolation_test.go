package tenant_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/internal/pgtest"
	"github.com/gatekey/gatekey/tenant"
)

func openDB(t *testing.T) *tenant.DB {
	t.Helper()
	db, err := tenant.Open(context.Background(), pgtest.NewDatabase(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

func testKeys(t *testing.T) *tenant.Keyring {
	k, err := tenant.NewKeyring(strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// seedTenant makes a tenant with one bot and returns both ids.
func seedTenant(t *testing.T, db *tenant.DB, email string, telegramID int64) (tenantID, botID int64) {
	t.Helper()
	ctx := context.Background()
	tenantID, err := db.SignUp(ctx, email, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	err = db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		b, err := tenant.AddBot(ctx, tx, testKeys(t), telegramID, "bot"+email[:1], "1:token")
		botID = b.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tenantID, botID
}

func TestApplicationRoleIsNotPrivileged(t *testing.T) {
	db := openDB(t)
	var user string
	var super, bypass bool
	err := db.Pool().QueryRow(context.Background(),
		"SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user").Scan(&user, &super, &bypass)
	if err != nil {
		t.Fatal(err)
	}
	if user != "gatekey_app" || super || bypass {
		t.Fatalf("application works as %s (superuser %v, bypassrls %v); want gatekey_app, neither", user, super, bypass)
	}
}

func TestTenantCannotSeeAnotherTenantsRows(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	a, _ := seedTenant(t, db, "a@example.com", 1001)
	b, botB := seedTenant(t, db, "b@example.com", 1002)

	err := db.Tx(ctx, a, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM bots").Scan(&n); err != nil {
			return err
		}
		if n != 1 {
			t.Errorf("tenant A sees %d bots, want only its own 1", n)
		}
		if _, err := tenant.GetBot(ctx, tx, botB); err != tenant.ErrNotFound {
			t.Errorf("tenant A reading tenant B's bot: err = %v, want ErrNotFound", err)
		}
		tag, err := tx.Exec(ctx, "UPDATE bots SET username = 'stolen' WHERE id = $1", botB)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 0 {
			t.Errorf("tenant A updated %d of tenant B's bots", tag.RowsAffected())
		}
		tag, err = tx.Exec(ctx, "DELETE FROM tenants WHERE id = $1", b)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 0 {
			t.Errorf("tenant A deleted tenant B")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Writing a row for another tenant is refused by the policy's check.
	err = db.Tx(ctx, a, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO audit_log (tenant_id, actor, action) VALUES ($1, 'x', 'y')", b)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "row-level security") {
		t.Fatalf("inserting a row for another tenant: err = %v, want a row-level security violation", err)
	}

	err = db.Tx(ctx, b, func(tx pgx.Tx) error {
		bot, err := tenant.GetBot(ctx, tx, botB)
		if err == nil && bot.Username != "botb" {
			t.Errorf("tenant B's bot was changed to %q", bot.Username)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestQueryWithoutTenantFails(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	seedTenant(t, db, "a@example.com", 1001)
	for _, q := range []string{"SELECT count(*) FROM bots", "SELECT count(*) FROM tenants"} {
		var n int
		err := db.Pool().QueryRow(ctx, q).Scan(&n)
		if err == nil {
			t.Errorf("%s with no tenant set returned %d rows, want an error", q, n)
		}
	}
	// After a tenant transaction on the same connection (begun as Tx
	// begins one), the setting is empty again, and a query still fails
	// rather than seeing everything.
	conn, err := db.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "BEGIN; SET LOCAL gatekey.tenant_id = '1'; COMMIT"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM bots").Scan(&n); err == nil {
		t.Errorf("query after a finished tenant transaction returned %d rows, want an error", n)
	}
}

func TestCrossTenantIsReadOnly(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	seedTenant(t, db, "a@example.com", 1001)
	seedTenant(t, db, "b@example.com", 1002)
	err := db.CrossTenant(ctx, "test", func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM bots").Scan(&n); err != nil {
			return err
		}
		if n != 2 {
			t.Errorf("cross-tenant read sees %d bots, want 2", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.CrossTenant(ctx, "test", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE bots SET username = 'x'")
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("cross-tenant update: err = %v, want a read-only refusal", err)
	}
}

func TestBotTokenIsEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	keys := testKeys(t)
	id, err := db.SignUp(ctx, "a@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	const token = "123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	err = db.Tx(ctx, id, func(tx pgx.Tx) error {
		b, err := tenant.AddBot(ctx, tx, keys, 123456, "shopbot", token)
		if err != nil {
			return err
		}
		var raw []byte
		if err := tx.QueryRow(ctx, "SELECT token_ciphertext FROM bots WHERE id = $1", b.ID).Scan(&raw); err != nil {
			return err
		}
		if strings.Contains(string(raw), "AAAAAAAAAA") {
			t.Error("the token is stored in clear")
		}
		got, err := tenant.BotToken(ctx, tx, keys, b.ID)
		if got != token {
			t.Errorf("BotToken = %q, want the token back", got)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// The same Telegram bot cannot be connected twice.
	other, _ := db.SignUp(ctx, "b@example.com", "correct horse battery")
	err = db.Tx(ctx, other, func(tx pgx.Tx) error {
		_, err := tenant.AddBot(ctx, tx, keys, 123456, "shopbot", token)
		return err
	})
	if err != tenant.ErrBotTaken {
		t.Fatalf("connecting a taken bot: err = %v, want ErrBotTaken", err)
	}
}

// TxBatch's first batch runs under the tenant, as Tx's statements do, and
// an error in it or in fn takes back everything, the batch's writes too.
func TestTxBatchIsScopedAndAtomic(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a leaked connection blocks, then fails
	defer cancel()
	db := openDB(t) // four connections: a transaction that kept one would soon block the rest
	a, _ := seedTenant(t, db, "a@example.com", 1001)
	_, botB := seedTenant(t, db, "b@example.com", 1002)

	for range 6 {
		var bots, foreign int
		var batch pgx.Batch
		batch.Queue("SELECT count(*) FROM bots").QueryRow(func(r pgx.Row) error { return r.Scan(&bots) })
		batch.Queue("SELECT count(*) FROM bots WHERE id = $1", botB).QueryRow(func(r pgx.Row) error { return r.Scan(&foreign) })
		err := db.TxBatch(ctx, a, &batch, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, "UPDATE bots SET username = 'stolen' WHERE id = $1", botB)
			if err == nil && tag.RowsAffected() != 0 {
				t.Errorf("tenant A updated %d of tenant B's bots", tag.RowsAffected())
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if bots != 1 || foreign != 0 {
			t.Fatalf("tenant A's batch sees %d bots and %d of tenant B's, want 1 and 0", bots, foreign)
		}
	}

	audits := func() (n int) {
		err := db.Tx(ctx, a, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, "SELECT count(*) FROM audit_log WHERE action = 'batch test'").Scan(&n)
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for name, tc := range map[string]struct {
		failing string // a query queued after the write, or ""
		fnErr   error
	}{
		"batch fails": {failing: "SELECT 1/0"},
		"fn fails":    {fnErr: errors.New("refused")},
	} {
		for range 6 {
			var batch pgx.Batch
			batch.Queue("INSERT INTO audit_log (tenant_id, actor, action) VALUES (gatekey_tenant(), 'test', 'batch test')")
			if tc.failing != "" {
				batch.Queue(tc.failing)
			}
			called := false
			err := db.TxBatch(ctx, a, &batch, func(pgx.Tx) error { called = true; return tc.fnErr })
			if err == nil {
				t.Fatalf("%s: TxBatch returned no error", name)
			}
			if called != (tc.failing == "") {
				t.Errorf("%s: fn called = %v", name, called)
			}
		}
		if n := audits(); n != 0 {
			t.Errorf("%s: %d rows written, want none", name, n)
		}
	}

	// The setting ends with the transaction: a query with none set fails.
	var n int
	for range 4 {
		if err := db.Pool().QueryRow(ctx, "SELECT count(*) FROM bots").Scan(&n); err == nil {
			t.Fatalf("a query after TxBatch with no tenant set returned %d rows, want an error", n)
		}
	}
}
