// Command gatekey is the whole of Gatekey in one binary: the web tier, the
// workers, migrations, a development mode with a fake Telegram, and the
// administration commands for self-hosters and staff.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/migrations"
)

// version is set at build time with -ldflags "-X main.version=..."; the
// VCS revision stands in for it otherwise.
var version = ""

const usage = `gatekey: paid and gifted access to Telegram communities.

Usage:
  gatekey serve [--web-only | --worker-only]   run the web tier and the workers
  gatekey migrate                              apply database migrations
  gatekey dev                                  run everything with a fake Telegram and a demo tenant
  gatekey tenant create --email E --password P create a tenant; prints its id
  gatekey owner link --tenant ID --bot BOTID   print a one-time link that makes its opener the bot's admin
  gatekey ops token create --name N [--role admin|read]
                                               make a staff token for the ops API (/ops/v1); prints it once
  gatekey ops token revoke --name N            stop a staff token from working, at once
  gatekey ops token list                       list staff tokens
  gatekey keys status                          count bot tokens by secret key id; names ids no configured key has
  gatekey keys rotate                          re-encrypt every bot token under an older key with GATEKEY_SECRET_KEY
  gatekey version                              print the version

Configuration is read from the environment; see README.md.
`

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gatekey:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return errors.New("no command given")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout)
	case "migrate":
		return migrate(ctx, args[1:], stdout)
	case "dev":
		return dev(ctx, args[1:], stdout)
	case "tenant":
		return tenantCommand(ctx, args[1:], stdout)
	case "owner":
		return ownerCommand(ctx, args[1:], stdout)
	case "ops":
		return opsCommand(ctx, args[1:], stdout)
	case "keys":
		return keysCommand(ctx, args[1:], stdout)
	case "version":
		fmt.Fprintln(stdout, versionString())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q (try gatekey help)", args[0])
}

func versionString() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				return "dev-" + s.Value[:min(12, len(s.Value))]
			}
		}
	}
	return "dev"
}

func serve(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	webOnly := fs.Bool("web-only", false, "serve HTTP only; leave jobs to worker processes")
	workerOnly := fs.Bool("worker-only", false, "work jobs only; serve just /healthz, /readyz and /metrics on GATEKEY_ADDR")
	if done, err := parseArgs(fs, args, "gatekey serve [--web-only | --worker-only]", stdout); done || err != nil {
		return err
	}
	if *webOnly && *workerOnly {
		return errors.New("--web-only and --worker-only exclude each other")
	}
	cfg, err := loadConfig()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	app.TuneGC()
	if cfg.SecretKey == "" {
		return errors.New("GATEKEY_SECRET_KEY is not set: it encrypts bot tokens at rest. Make one with: openssl rand -base64 32")
	}
	if cfg.TelegramAPIURL == fakeTelegram {
		if *webOnly || *workerOnly {
			return errors.New("TELEGRAM_API_URL=fake runs the fake Telegram inside this process, so the web tier and the workers must run here together: drop --web-only and --worker-only")
		}
		return runWithFake(ctx, cfg, stdout)
	}
	if err := cfg.checkWebhookURL(); err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	return runApp(ctx, cfg, appConfig(cfg, !*workerOnly, !*webOnly), nil)
}

func appConfig(cfg config, web, work bool) app.Config {
	return app.Config{
		DatabaseURL:         cfg.DatabaseURL,
		PublicURL:           cfg.PublicURL,
		ProxyHeader:         cfg.ProxyHeader,
		SecretKey:           cfg.SecretKey,
		OldSecretKeys:       cfg.OldSecretKeys,
		TelegramAPIURL:      cfg.TelegramAPIURL,
		Web:                 web,
		Work:                work,
		DBMaxConns:          cfg.DBMaxConns,
		TelegramWorkers:     cfg.TelegramWorkers,
		JobPollInterval:     cfg.JobPollInterval,
		ReconcileInterval:   cfg.ReconcileInterval,
		SweepInterval:       cfg.SweepInterval,
		StripeAPIKey:        cfg.StripeAPIKey,
		StripeWebhookSecret: cfg.StripeWebhookKey,
		StripeAPIURL:        cfg.StripeAPIURL,
		BillingPeriod:       cfg.BillingPeriod,
		InvoiceInterval:     cfg.InvoiceInterval,
		FlatPrice:           cfg.FlatPrice,
		JobTimeout:          cfg.JobTimeout,
		JobRescueAfter:      cfg.JobRescueAfter,
		Log:                 cfg.logger(),
	}
}

// runApp starts an App, calls ready (if any) once it serves, and runs
// until ctx is cancelled (SIGINT or SIGTERM).
func runApp(ctx context.Context, cfg config, ac app.Config, ready func(*app.App) error) (err error) {
	// Why the process stopped goes to the log too, in its format: a log
	// pipeline that parses JSON would miss main's plain line on stderr.
	defer func() {
		if err != nil && ac.Log != nil {
			ac.Log.Error("gatekey stopped", "err", err)
		}
	}()
	a, err := app.New(ctx, ac)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		a.Shutdown(ctx)
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	if err := a.Start(ctx, ln); err != nil {
		a.Shutdown(context.Background())
		return err
	}
	a.Log.Info("gatekey started", "version", versionString(), "addr", cfg.Addr, "web", ac.Web, "work", ac.Work)
	if ready != nil {
		if err := ready(a); err != nil {
			a.Shutdown(context.Background())
			return err
		}
	}
	<-ctx.Done()
	a.Log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a.Shutdown(shutdownCtx)
	return nil
}

// parseArgs parses a subcommand's flags. With --help it prints the usage
// and reports done, so that the command does nothing else; an argument it
// does not know is an error, so that a typo never runs the command anyway.
func parseArgs(fs *flag.FlagSet, args []string, use string, stdout io.Writer) (done bool, err error) {
	fs.SetOutput(io.Discard) // the errors are returned, and the usage printed below
	err = fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stdout, "usage: %s\n", use)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w (usage: %s)", fs.Name(), err, use)
	}
	if fs.NArg() > 0 {
		return false, fmt.Errorf("%s: unexpected argument %q (usage: %s)", fs.Name(), fs.Arg(0), use)
	}
	return false, nil
}

func migrate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	if done, err := parseArgs(fs, args, "gatekey migrate", stdout); done || err != nil {
		return err
	}
	cfg, err := loadConfig()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	return migrateDatabase(ctx, cfg.DatabaseURL, stdout)
}

func migrateDatabase(ctx context.Context, databaseURL string, stdout io.Writer) error {
	pool, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer pool.Close()
	n := 0
	err = migrations.Up(ctx, pool, func(line string) {
		n++
		fmt.Fprintln(stdout, "applied", line)
	})
	if err != nil {
		return err
	}
	if n == 0 {
		fmt.Fprintln(stdout, "database is up to date")
	}
	return nil
}
