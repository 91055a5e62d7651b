// Package apptest starts a whole Gatekey for end-to-end tests: a fresh
// database, the fake Telegram, the HTTP server on a loopback port and the
// River workers, all as `gatekey serve` wires them.
package apptest

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/internal/pgtest"
	"github.com/gatekey/gatekey/telegram/telegramtest"
)

// SecretKey is the test key that encrypts bot tokens.
var SecretKey = strings.Repeat("42", 32)

// Env is a running Gatekey with its fake Telegram.
type Env struct {
	App         *app.App
	Fake        *telegramtest.Server
	URL         string // base URL of the HTTP server
	DatabaseURL string // owner-role URL of the test's database

	owner *pgxpool.Pool
}

// Options adjust an Env.
type Options struct {
	Work bool // run the workers (default true via New)
	// RealTelegramLimits keeps Telegram's send limits; otherwise messages
	// are spaced by milliseconds so that tests run fast.
	RealTelegramLimits bool
	// ReconcileInterval and SweepInterval time the periodic jobs (default 1 hour,
	// so that they run only when a test asks).
	ReconcileInterval, SweepInterval time.Duration
	// Configure, if set, changes the configuration before the app starts
	// (Stripe settings, billing period, job retry policy).
	Configure func(*app.Config)
	// DatabaseURL, if set, is used instead of a fresh database (fault
	// tests bring a cluster of their own).
	DatabaseURL string
	// Fake, if set, is used instead of a new fake Telegram.
	Fake *telegramtest.Server
}

// New starts Gatekey with workers for t and stops it when t ends.
func New(t testing.TB) *Env { return Start(t, Options{Work: true}) }

// Start starts Gatekey as opts say.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	ctx := context.Background()
	dbURL := opts.DatabaseURL
	if dbURL == "" {
		dbURL = pgtest.NewDatabase(t)
	}
	fake := opts.Fake
	if fake == nil {
		fake = telegramtest.NewServer()
		t.Cleanup(fake.Close)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	if opts.ReconcileInterval == 0 {
		opts.ReconcileInterval = time.Hour
	}
	if opts.SweepInterval == 0 {
		opts.SweepInterval = time.Hour
	}
	cfg := app.Config{
		DatabaseURL:        dbURL,
		PublicURL:          url,
		SecretKey:          SecretKey,
		TelegramAPIURL:     fake.URL(),
		Web:                true,
		Work:               opts.Work,
		DBMaxConns:         12, // GATEKEY_DB_MAX_CONNS's default
		JobPollInterval:    20 * time.Millisecond,
		ReconcileInterval:  opts.ReconcileInterval,
		SweepInterval:      opts.SweepInterval,
		FastTelegramLimits: !opts.RealTelegramLimits,
		Log:                testLogger(t),
	}
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	a, err := app.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx, ln); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Shutdown(ctx)
	})
	return &Env{App: a, Fake: fake, URL: url, DatabaseURL: dbURL}
}

// Wait polls cond until it holds, failing t after timeout.
func (e *Env) Wait(t testing.TB, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := e.Fake.WaitFor(ctx, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
