package migrations_test

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatekey/gatekey/internal/pgtest"
	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/migrations"
)

// Up on a database that is already current applies nothing, and drops
// River's GIN indexes again if something made them again (as a River
// migration might): river_tuning.sql.
func TestUpDropsRiversGINIndexes(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	if _, err := pool.Exec(ctx, "CREATE INDEX river_job_args_index ON river_job USING GIN (args)"); err != nil {
		t.Fatal(err)
	}
	var applied []string
	if err := migrations.Up(ctx, pool, func(line string) { applied = append(applied, line) }); err != nil {
		t.Fatal(err)
	}
	if len(applied) > 0 {
		t.Errorf("Up on a current database applied %q, want nothing", applied)
	}
	var left []string
	if err := pool.QueryRow(ctx, `SELECT coalesce(array_agg(indexname::text), '{}') FROM pg_indexes
		WHERE tablename = 'river_job' AND indexdef LIKE '%USING gin%'`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("river_job has GIN indexes %q after Up, want none", left)
	}
}

// River's reindexer is told only of indexes that a migrated database has:
// a River upgrade that renamed one fails here, not with a warning each
// night in production.
func TestRiverReindexesIndexesThatExist(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	names := jobs.ReindexedIndexes()
	var missing []string
	if err := pool.QueryRow(ctx, `SELECT coalesce(array_agg(n), '{}') FROM unnest($1::text[]) n
		WHERE to_regclass(n) IS NULL`, names).Scan(&missing); err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 || len(names) == 0 {
		t.Errorf("River would reindex %q, of which %q do not exist", names, missing)
	}
}

// Status counts every migration of a database never migrated (rather than
// failing on its missing version table), none of a current one, and none
// of one newer than this binary.
func TestStatus(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	if n, err := migrations.Status(ctx, pool); err != nil || n != 0 {
		t.Errorf("a migrated database: %d pending, %v; want 0", n, err)
	}
	if _, err := pool.Exec(ctx, "UPDATE schema_version SET version = version + 5"); err != nil {
		t.Fatal(err)
	}
	if n, err := migrations.Status(ctx, pool); err != nil || n != 0 {
		t.Errorf("a newer schema: %d pending, %v; want 0", n, err)
	}
	empty, err := pgxpool.New(ctx, pgtest.NewEmptyDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	if n, err := migrations.Status(ctx, empty); err != nil || n < 16 {
		t.Errorf("a database never migrated: %d pending, %v; want every migration", n, err)
	}
}

// Up reports a migration as applied only once it has been: one that fails
// is not in the list, those before it are.
func TestUpReportsOnlyWhatWasApplied(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.NewEmptyDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// 002 creates invite_links: made beforehand, 002 fails.
	if _, err := pool.Exec(ctx, "CREATE TABLE invite_links (id int)"); err != nil {
		t.Fatal(err)
	}
	var applied []string
	err = migrations.Up(ctx, pool, func(line string) { applied = append(applied, line) })
	if err == nil || !slices.Equal(applied, []string{"gatekey 001 001_foundation.sql"}) {
		t.Errorf("Up with 002 failing: %v, reported %q; want an error and only 001 applied", err, applied)
	}
}
