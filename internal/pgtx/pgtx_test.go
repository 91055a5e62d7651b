package pgtx_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatekey/gatekey/internal/pgtest"
	"github.com/gatekey/gatekey/internal/pgtx"
)

// Every way out of BatchFunc leaves the table as it should and gives the
// connection back: the pool has two, and each case runs more times than
// that, so a kept connection blocks the next run until the deadline.
func TestBatchFunc(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, err := pgxpool.ParseConfig(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, "CREATE TABLE pgtx_rows (n int)"); err != nil {
		t.Fatal(err)
	}
	writeTwo := func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO pgtx_rows VALUES (2)")
		return err
	}
	for _, tc := range []struct {
		name    string
		failing bool // the batch's second query fails
		fn      func(pgx.Tx) error
		wantErr string // "" for none
		want    int    // rows in the table after each run
	}{
		{"a query of the batch fails", true, writeTwo, "division by zero", 0},
		{"fn fails", false, func(pgx.Tx) error { return errors.New("refused") }, "refused", 0},
		{"fn panics", false, func(pgx.Tx) error { panic("boom") }, "boom", 0},
		{"both commit", false, writeTwo, "", 2},
	} {
		for range 3 {
			var first pgx.Batch
			first.Queue("INSERT INTO pgtx_rows VALUES (1)")
			if tc.failing {
				first.Queue("SELECT 1/0")
			}
			called := false
			fn := func(tx pgx.Tx) error { called = true; return tc.fn(tx) }
			err := func() (err error) {
				defer func() {
					if p := recover(); p != nil {
						err = errors.New(p.(string))
					}
				}()
				return pgtx.BatchFunc(ctx, pool, &first, fn)
			}()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("%s: err = %v, want %q", tc.name, err, tc.wantErr)
			}
			if called == tc.failing {
				t.Errorf("%s: fn called = %v", tc.name, called)
			}
			var n int
			if err := pool.QueryRow(ctx, "SELECT count(*) FROM pgtx_rows").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != tc.want {
				t.Fatalf("%s: %d rows, want %d", tc.name, n, tc.want)
			}
			if _, err := pool.Exec(ctx, "DELETE FROM pgtx_rows"); err != nil {
				t.Fatal(err)
			}
		}
	}
}
