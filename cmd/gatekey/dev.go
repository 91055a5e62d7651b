package main

import (
	"context"
	"fmt"
	"io"

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
func dev(ctx context.Context, stdout io.Writer) error {
	cfg, err := loadConfig()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	if cfg.SecretKey == "" {
		cfg.SecretKey = devSecretKey
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
	if err := resetDemo(ctx, cfg.DatabaseURL); err != nil {
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
  Server:         %[1]s   (health %[1]s/healthz, metrics %[1]s/metrics)

The demo tenant is made afresh at each start. Stop with Ctrl-C.
`, cfg.PublicURL, d.Email, d.Password, d.Bot.Username, d.Plan.Name, d.Chats[0].Title, d.Chats[1].Title,
		sandbox.OwnerName, sandbox.Path)
}

// resetDemo removes the previous run's demo tenant: its bot and chats
// lived in the fake Telegram, which starts empty.
func resetDemo(ctx context.Context, databaseURL string) error {
	pool, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	// Deleting the tenant cascades to most of its rows. Code batches and
	// rollbacks hang off no cascade, and the cascade would reach codes and
	// activations only after their batches were checked: these go first,
	// children before parents, with the record of update ids.
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("dev: reset demo tenant: %w", err)
	}
	defer tx.Rollback(ctx)
	demo := "(SELECT tenant_id FROM tenant_directory WHERE kind = 'email' AND key = $1)"
	for _, table := range []string{"code_rollbacks", "code_activations", "access_codes", "code_batches", "processed_updates"} {
		if _, err = tx.Exec(ctx, "DELETE FROM "+table+" WHERE tenant_id IN "+demo, demoEmail); err != nil {
			return fmt.Errorf("dev: reset demo tenant: %s: %w", table, err)
		}
	}
	_, err = tx.Exec(ctx, `WITH gone AS (DELETE FROM tenants WHERE id IN `+demo+` RETURNING id)
		DELETE FROM river_job WHERE (args->>'tenant_id')::bigint IN (SELECT id FROM gone)`, demoEmail)
	if err == nil {
		err = tx.Commit(ctx)
	}
	if err != nil {
		return fmt.Errorf("dev: reset demo tenant: %w", err)
	}
	return nil
}
