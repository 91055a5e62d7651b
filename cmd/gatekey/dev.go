package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/sandbox"
	"github.com/gatekey/gatekey/telegram/telegramtest"
)

// devSecretKey encrypts bot tokens in development mode only; serve refuses
// to start without a key of its own.
const devSecretKey = "ZGV2ZWxvcG1lbnQta2V5LW5vdC1mb3ItcHJvZC11c2U="

const (
	demoEmail    = "owner@demo.gatekey.dev"
	demoPassword = "gatekey-demo"
)

// fakeTelegram is the TELEGRAM_API_URL value that asks serve for the
// in-process fake Telegram (and the sandbox) instead of a Bot API server.
const fakeTelegram = "fake"

// dev runs Gatekey against an in-process fake Telegram with a demo tenant.
// The fake keeps its world in memory, so the demo tenant is made afresh
// at each start.
func dev(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	if done, err := parseArgs(fs, args, "gatekey dev", stdout); done || err != nil {
		return err
	}
	cfg, err := loadConfig()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	app.TuneGC()
	if cfg.SecretKey == "" {
		cfg.SecretKey = devSecretKey
	}
	// Before the migrations too: they would change a real database as well.
	if err := claimDevDatabase(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	if err := migrateDatabase(ctx, cfg.DatabaseURL, io.Discard); err != nil {
		return err
	}
	return runWithFake(ctx, cfg, stdout)
}

// runWithFake runs the web tier and the workers in one process against an
// in-process fake Telegram, with the demo tenant and the sandbox page:
// `gatekey dev`, and `gatekey serve` with TELEGRAM_API_URL=fake. The
// sandbox is mounted here and nowhere else, so a server that talks to a
// real Bot API never has it.
func runWithFake(ctx context.Context, cfg config, stdout io.Writer) error {
	if err := claimDevDatabase(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	if err := resetDemo(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	if err := disconnectEarlierBots(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	fake := telegramtest.NewServer()
	defer fake.Close()
	cfg.TelegramAPIURL = fake.URL()

	sb := sandbox.New(fake)
	ac := appConfig(cfg, true, true)
	ac.DevMode = true
	ac.Routes = sb.Register
	return runApp(ctx, cfg, ac, func(a *app.App) error {
		demo, err := sb.Start(ctx, a, demoEmail, demoPassword)
		if err != nil {
			return err
		}
		printWelcome(stdout, cfg, demo)
		return nil
	})
}

func printWelcome(w io.Writer, cfg config, d app.Demo) {
	fmt.Fprintf(w, `
Gatekey is running with a fake Telegram and a demo tenant.

  Sandbox:        %[1]s%[9]s
                  start here: play the demo bot's members and its owner in your browser
  Console:        %[1]s/   (sign in as %[2]s / %[3]s)
  Demo bot:       @%[4]s, plan "%[5]s" opening "%[6]s" and "%[7]s"
  Owner's phone:  %[8]s, a pretend Telegram account linked as the bot's admin (/newcode, /members)
  Your own bot:   sign up in the console and make it in the sandbox's BotFather panel (%[1]s%[9]s#botfather)
  Server:         %[1]s   (health %[1]s/healthz, metrics %[1]s/metrics)

The demo tenant is made afresh at each start. Stop with Ctrl-C.
`, cfg.PublicURL, d.Email, d.Password, d.Bot.Username, d.Plan.Name, d.Chats[0].Title, d.Chats[1].Title,
		sandbox.OwnerName, sandbox.Path)
}

// devMarkTable marks a database as one the fake Telegram's runs own: the
// tenants owners sign up in the console there are theirs to play with too,
// so the next run may still reset the demo tenant and disconnect bots.
const devMarkTable = "gatekey_dev_database"

// claimDevDatabase makes sure the database is one dev may change, and marks
// it so; else it says why it refuses, having changed nothing. Dev's own
// database is empty at its first run, marked at later ones, or (made before
// the mark) holds the demo tenant alone. Anything else may be a real
// Gatekey's: there dev would disconnect every bot and add a tenant whose
// password is public.
func claimDevDatabase(ctx context.Context, databaseURL string) error {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("dev: check the database: %w", err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("dev: check the database: %w", err)
	}
	defer tx.Rollback(ctx)
	var marked, migrated bool
	var name string
	if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL, to_regclass('tenants') IS NOT NULL, current_database()",
		devMarkTable).Scan(&marked, &migrated, &name); err != nil {
		return fmt.Errorf("dev: check the database: %w", err)
	}
	if marked {
		return nil
	}
	if migrated {
		// The demo tenant is the one whose owner's email is the demo
		// address, on Gatekey's own domain; nobody else signs up with it.
		var demoID int64
		err := tx.QueryRow(ctx, "SELECT tenant_id FROM tenant_directory WHERE kind = 'email' AND key = $1", demoEmail).Scan(&demoID)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("dev: check the database: %w", err)
		}
		// tenants forces row-level security even on its owner, so only
		// the cross-tenant role is sure to count them all.
		var others int64
		if _, err := tx.Exec(ctx, "SET LOCAL ROLE gatekey_crosstenant"); err != nil {
			return fmt.Errorf("dev: check the database: %w", err)
		}
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM tenants WHERE id <> $1", demoID).Scan(&others); err != nil {
			return fmt.Errorf("dev: check the database: %w", err)
		}
		if _, err := tx.Exec(ctx, "RESET ROLE"); err != nil {
			return fmt.Errorf("dev: check the database: %w", err)
		}
		if others > 0 {
			return fmt.Errorf(`dev: refusing database %q: it holds %d tenant(s) besides the demo tenant, and gatekey dev did not make it, so it may be a real Gatekey's.
With the fake Telegram (gatekey dev, or serve with TELEGRAM_API_URL=fake) Gatekey marks every bot in the database disconnected and adds a demo tenant whose password is public.
Give it a database of its own: unset DATABASE_URL to use the one make run starts under ./.data, or point DATABASE_URL at a new, empty database`, name, others)
		}
	}
	if _, err := tx.Exec(ctx, "CREATE TABLE "+devMarkTable+" (marked_at timestamptz NOT NULL DEFAULT now())"); err != nil {
		return fmt.Errorf("dev: mark the database: %w", err)
	}
	return tx.Commit(ctx)
}

// resetDemo removes the previous run's demo tenant: its bot and chats
// lived in the fake Telegram, which starts empty.
func resetDemo(ctx context.Context, databaseURL string) error {
	pool, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("dev: reset demo tenant: %w", err)
	}
	defer tx.Rollback(ctx)
	var id int64
	err = tx.QueryRow(ctx, "SELECT tenant_id FROM tenant_directory WHERE kind = 'email' AND key = $1", demoEmail).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dev: reset demo tenant: %w", err)
	}
	// Not every table cascades from the tenant (code batches hang off a
	// plan, with no action on delete), so each of its tables is emptied
	// in turn, children before the parents they reference.
	tables, err := tenantTables(ctx, tx)
	if err != nil {
		return fmt.Errorf("dev: reset demo tenant: %w", err)
	}
	for _, table := range tables {
		if _, err := tx.Exec(ctx, "DELETE FROM "+pgx.Identifier{table}.Sanitize()+" WHERE tenant_id = $1", id); err != nil {
			return fmt.Errorf("dev: reset demo tenant: %s: %w", table, err)
		}
	}
	if _, err := tx.Exec(ctx, "DELETE FROM tenants WHERE id = $1", id); err != nil {
		return fmt.Errorf("dev: reset demo tenant: %w", err)
	}
	if _, err := tx.Exec(ctx, "DELETE FROM river_job WHERE (args->>'tenant_id')::bigint = $1", id); err != nil {
		return fmt.Errorf("dev: reset demo tenant: jobs: %w", err)
	}
	return tx.Commit(ctx)
}

// disconnectEarlierBots marks disconnected the bots that owners connected
// in earlier runs: they lived in the fake Telegram, which starts empty, so
// the console should not call them connected.
func disconnectEarlierBots(ctx context.Context, databaseURL string) error {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("dev: disconnect earlier bots: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "UPDATE bots SET status = 'disconnected' WHERE status = 'connected'"); err != nil {
		return fmt.Errorf("dev: disconnect earlier bots: %w", err)
	}
	return nil
}

// tenantTables lists the tables with a tenant_id column, each before any
// table it references; but not the staff's audit log, which is
// append-only and outlives the tenants it names.
func tenantTables(ctx context.Context, tx pgx.Tx) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT table_name::text FROM information_schema.columns
		WHERE table_schema = current_schema() AND column_name = 'tenant_id' AND table_name <> 'ops_audit' ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	left, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, `SELECT c.relname::text, p.relname::text FROM pg_constraint k
		JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
		WHERE k.contype = 'f' AND k.conrelid <> k.confrelid AND c.relnamespace = current_schema()::regnamespace`)
	if err != nil {
		return nil, err
	}
	type ref struct{ Child, Parent string }
	refs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ref])
	if err != nil {
		return nil, err
	}
	var order []string
	for len(left) > 0 {
		next := slices.IndexFunc(left, func(t string) bool {
			return !slices.ContainsFunc(refs, func(r ref) bool { return r.Parent == t && slices.Contains(left, r.Child) })
		})
		if next < 0 {
			return nil, fmt.Errorf("foreign keys form a cycle among %v", left)
		}
		order = append(order, left[next])
		left = slices.Delete(left, next, next+1)
	}
	return order, nil
}
