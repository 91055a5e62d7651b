// Package migrations owns Gatekey's database schema: the SQL files beside
// this one, embedded in the binary and applied in order with tern, followed
// by River's own tables through River's migrator, and river_tuning.sql's
// changes to them.
package migrations

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed *.sql
var files embed.FS

// FS returns the embedded SQL migrations.
func FS() fs.FS { return files }

const versionTable = "schema_version"

// AppRole is the role the application works as; the migrations create it.
const AppRole = "gatekey_app"

// Up applies every pending migration, Gatekey's and River's, and calls
// applied with a line for each one it ran. It must run as the database
// owner (the role in DATABASE_URL), never as AppRole.
func Up(ctx context.Context, pool *pgxpool.Pool, applied func(string)) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrations: connect: %w", err)
	}
	defer conn.Release()
	m, err := newMigrator(ctx, conn.Conn())
	if err != nil {
		return err
	}
	// tern says when a migration starts, each in a transaction of its own:
	// one has been applied once the next starts, or once all are done, so
	// a migration that fails is not reported as applied.
	started := ""
	m.OnStart = func(seq int32, name, _, _ string) {
		if started != "" {
			applied(started)
		}
		started = fmt.Sprintf("gatekey %03d %s", seq, name)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrations: gatekey: %w", err)
	}
	if started != "" {
		applied(started)
	}

	rm, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("migrations: river: %w", err)
	}
	res, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("migrations: river: %w", err)
	}
	for _, v := range res.Versions {
		applied(fmt.Sprintf("river %03d %s", v.Version, v.Name))
	}
	if err := tuneRiver(ctx, conn.Conn()); err != nil {
		return err
	}
	return grantApp(ctx, conn.Conn())
}

// tuneRiver applies river_tuning.sql: changes to River's tables, which
// River's migrations make. It runs at every Up, so a River migration that
// remakes a table or index has them made again.
func tuneRiver(ctx context.Context, conn *pgx.Conn) error {
	sql, err := files.ReadFile("river_tuning.sql")
	if err == nil {
		_, err = conn.Exec(ctx, string(sql))
	}
	if err != nil {
		return fmt.Errorf("migrations: tune river: %w", err)
	}
	return nil
}

// grantApp gives the application role what it needs on every table,
// including River's, whose migrations we do not write. Row-level security
// still decides which rows it sees.
func grantApp(ctx context.Context, conn *pgx.Conn) error {
	_, err := conn.Exec(ctx, `
		GRANT USAGE ON SCHEMA public TO gatekey_app;
		GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO gatekey_app;
		GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO gatekey_app;
		GRANT SELECT ON ALL TABLES IN SCHEMA public TO gatekey_crosstenant;`)
	if err != nil {
		return fmt.Errorf("migrations: grant app role: %w", err)
	}
	return nil
}

// Status tells how many of Gatekey's and River's migrations are not yet
// applied. It only reads, so the application role may call it.
func Status(ctx context.Context, pool *pgxpool.Pool) (pending int, err error) {
	names, err := migrate.FindMigrations(files)
	if err != nil {
		return 0, fmt.Errorf("migrations: list: %w", err)
	}
	rm, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return 0, fmt.Errorf("migrations: river: %w", err)
	}
	var current int
	err = pool.QueryRow(ctx, "SELECT version FROM "+versionTable).Scan(&current)
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "42P01": // undefined_table: never migrated, so everything is pending
		return len(names) + len(rm.AllVersions()), nil
	case err != nil:
		return 0, fmt.Errorf("migrations: current version: %w", err)
	}
	existing, err := rm.ExistingVersions(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrations: river versions: %w", err)
	}
	// A schema newer than this binary (a release migrated it ahead of the
	// machines still running the old one) counts as current, so that those
	// stay in service until they are replaced.
	return max(0, len(names)-current) + max(0, len(rm.AllVersions())-len(existing)), nil
}

func newMigrator(ctx context.Context, conn *pgx.Conn) (*migrate.Migrator, error) {
	m, err := migrate.NewMigratorEx(ctx, conn, versionTable, &migrate.MigratorOptions{})
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	if err := m.LoadMigrations(files); err != nil {
		return nil, fmt.Errorf("migrations: load: %w", err)
	}
	return m, nil
}

// RiverVersion names the newest River migration, for tests that cache a
// migrated database.
func RiverVersion() string {
	rm, err := rivermigrate.New(riverpgxv5.New(nil), nil)
	if err != nil {
		return "unknown"
	}
	all := rm.AllVersions()
	return fmt.Sprint(all[len(all)-1].Version)
}
