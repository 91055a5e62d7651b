package main

import (
	"bytes"
	"context"
	"errors"
	"github.com/gatekey/gatekey/internal/syncbuf"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/internal/pgtest"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

// serveFor runs `gatekey serve` with the environment as set until the
// test ends, and returns its base URL and what it printed.
func serveFor(t *testing.T, args ...string) (string, *syncbuf.Buffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv("GATEKEY_ADDR", addr)
	t.Setenv("GATEKEY_SECRET_KEY", strings.Repeat("5a", 32))
	t.Setenv("GATEKEY_LOG_LEVEL", "error")
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncbuf.Buffer{}
	done := make(chan error, 1)
	go func() { done <- serve(ctx, args, out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		if status, _ := get(base + "/healthz"); status == 200 {
			return base, out
		}
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not come up")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitWelcome waits until the fake world is made and the welcome printed.
func waitWelcome(t *testing.T, out *syncbuf.Buffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "Stop with Ctrl-C") {
		if time.Now().After(deadline) {
			t.Fatalf("no welcome printed: %q", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func get(u string) (int, string) {
	resp, err := http.Get(u)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestServeHasNoSandboxWithTheRealBotAPI: `gatekey serve` pointed at the
// real Bot API (the default) has no sandbox page.
func TestServeHasNoSandboxWithTheRealBotAPI(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.NewDatabase(t))
	t.Setenv("TELEGRAM_API_URL", "")
	t.Setenv("GATEKEY_PUBLIC_URL", "https://gatekey.example")
	base, _ := serveFor(t)
	for _, path := range []string{"/sandbox", "/sandbox/state", "/sandbox/static/sandbox.js"} {
		if status, _ := get(base + path); status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, status)
		}
	}
}

// TestServeCollectsAtGCPercent: serve sets the collector's target that
// internal/app/gc.go measured, unless GOGC is set.
func TestServeCollectsAtGCPercent(t *testing.T) {
	t.Cleanup(func() { debug.SetGCPercent(100) })
	t.Setenv("DATABASE_URL", pgtest.NewDatabase(t))
	t.Setenv("TELEGRAM_API_URL", "")
	t.Setenv("GATEKEY_PUBLIC_URL", "https://gatekey.example")
	t.Setenv("GOGC", "")
	debug.SetGCPercent(100)
	serveFor(t)
	if got := debug.SetGCPercent(100); got != app.GCPercent {
		t.Errorf("GC percent under serve: %d, want %d", got, app.GCPercent)
	}
}

// TestServeWithFakeTelegram: TELEGRAM_API_URL=fake starts the in-process
// fake with the demo tenant and the sandbox, and prints the sandbox's URL
// first; it refuses to split the web tier from the workers, which must
// share the fake.
func TestServeWithFakeTelegram(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.NewDatabase(t))
	t.Setenv("TELEGRAM_API_URL", fakeTelegram)
	t.Setenv("GATEKEY_SECRET_KEY", strings.Repeat("5a", 32))
	if err := serve(context.Background(), []string{"--web-only"}, io.Discard); err == nil || !strings.Contains(err.Error(), "TELEGRAM_API_URL=fake") {
		t.Errorf("serve --web-only with the fake: err = %v, want a refusal naming TELEGRAM_API_URL=fake", err)
	}
	base, out := serveFor(t)
	waitWelcome(t, out)
	status, body := get(base + "/sandbox")
	if status != 200 || !strings.Contains(body, "@gatekey_demo_bot") {
		t.Fatalf("GET /sandbox: %d\n%s", status, body)
	}
	printed := out.String()
	sandboxAt := strings.Index(printed, base+"/sandbox")
	if sandboxAt < 0 || strings.Contains(printed[:sandboxAt], "http") {
		t.Errorf("the sandbox's URL is not the first thing printed:\n%s", printed)
	}
	if !strings.Contains(printed, base+"/sandbox#botfather") {
		t.Errorf("the welcome does not point a new owner to the BotFather panel:\n%s", printed)
	}
}

// TestResetDemoAfterCodes: the demo tenant of a previous run goes away at
// the next start even after codes were made, activated and rolled back
// (rows that no cascade from the tenant reaches in a working order).
func TestResetDemoAfterCodes(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	t.Setenv("DATABASE_URL", dbURL)
	t.Setenv("TELEGRAM_API_URL", fakeTelegram)
	_, out := serveFor(t)
	waitWelcome(t, out)
	db, err := tenant.Open(ctx, dbURL, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tenantID, err := db.Lookup(ctx, "email", demoEmail)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		var planID, botID int64
		if err := tx.QueryRow(ctx, "SELECT id, bot_id FROM plans").Scan(&planID, &botID); err != nil {
			return err
		}
		b, err := membership.CreateCodes(ctx, tx, membership.CodeRequest{PlanID: planID, Count: 2})
		if err != nil {
			return err
		}
		m, err := membership.UpsertMember(ctx, tx, botID, membership.Person{TelegramUserID: 77, FirstName: "Ana"})
		if err != nil {
			return err
		}
		if _, err := membership.Activate(ctx, tx, m, b.Codes[0].Code); err != nil {
			return err
		}
		_, err = membership.StartRollback(ctx, tx, b.Codes[0].ID, "test")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// A staff call about the demo tenant: its audit entry outlives it.
	if _, err := pool.Exec(ctx, `INSERT INTO ops_audit (ip, method, path, status, tenant_id)
		VALUES ('127.0.0.1', 'GET', '/ops/v1/tenants/1', 200, $1)`, tenantID); err != nil {
		t.Fatal(err)
	}
	if err := resetDemo(ctx, dbURL); err != nil {
		t.Fatalf("reset after codes: %v", err)
	}
	var kept int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM ops_audit").Scan(&kept); err != nil || kept != 1 {
		t.Errorf("%d staff audit entries after the reset (%v), want the 1 kept", kept, err)
	}
	var left int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM tenants) + (SELECT count(*) FROM code_batches)
		+ (SELECT count(*) FROM access_codes) + (SELECT count(*) FROM code_rollbacks)`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d rows of the demo tenant are left", left)
	}
}

// TestDisconnectEarlierBots: a bot an owner connected in an earlier run
// lived in that run's fake Telegram; at the next start the console shows
// it disconnected, not connected.
func TestDisconnectEarlierBots(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	db, tenantID, bot := ownerAndBot(t, dbURL)
	if err := disconnectEarlierBots(ctx, dbURL); err != nil {
		t.Fatal(err)
	}
	var err error
	db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		bot, err = tenant.GetBot(ctx, tx, bot.ID)
		return err
	})
	if err != nil || bot.Status != "disconnected" {
		t.Errorf("after a restart: %+v %v; want disconnected", bot, err)
	}
}

// ownerAndBot signs up Nina, as an owner on a real Gatekey, with her bot
// connected.
func ownerAndBot(t *testing.T, dbURL string) (*tenant.DB, int64, tenant.Bot) {
	t.Helper()
	ctx := context.Background()
	db, err := tenant.Open(ctx, dbURL, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	tenantID, err := db.SignUp(ctx, "nina@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := tenant.NewKeyring(strings.Repeat("5a", 32))
	if err != nil {
		t.Fatal(err)
	}
	var bot tenant.Bot
	err = db.Tx(ctx, tenantID, func(tx pgx.Tx) (err error) {
		bot, err = tenant.AddBot(ctx, tx, keys, 7000000009, "nina_club_bot", "7000000009:x")
		return err
	})
	if err != nil || bot.Status != "connected" {
		t.Fatalf("add bot: %+v %v", bot, err)
	}
	return db, tenantID, bot
}

// ownerWithBot signs up an owner, as on a real Gatekey, with a connected
// bot, and returns a check that neither was changed since.
func ownerWithBot(t *testing.T, dbURL string) (unchanged func()) {
	t.Helper()
	ctx := context.Background()
	db, tenantID, bot := ownerAndBot(t, dbURL)
	return func() {
		t.Helper()
		err := db.Tx(ctx, tenantID, func(tx pgx.Tx) (err error) {
			bot, err = tenant.GetBot(ctx, tx, bot.ID)
			return err
		})
		if err != nil || bot.Status != "connected" {
			t.Errorf("the owner's bot: %+v %v; want it still connected", bot, err)
		}
		if id, err := db.Lookup(ctx, "email", demoEmail); !errors.Is(err, tenant.ErrNotFound) {
			t.Errorf("a demo tenant was added (%d, %v)", id, err)
		}
		var marked bool
		if err := db.Pool().QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", devMarkTable).Scan(&marked); err != nil || marked {
			t.Errorf("the database was marked as dev's (%v)", err)
		}
	}
}

// busyAddr is an address already taken, so that a server that got as far
// as listening fails there instead of running on.
func busyAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// TestDevRefusesARealDatabase: dev, and serve with the fake Telegram,
// leave alone a database with tenants of its own (a real Gatekey's,
// maybe), and say why and what to do instead.
func TestDevRefusesARealDatabase(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	unchanged := ownerWithBot(t, dbURL)
	t.Setenv("DATABASE_URL", dbURL)
	t.Setenv("GATEKEY_ADDR", busyAddr(t))
	t.Setenv("TELEGRAM_API_URL", fakeTelegram)
	t.Setenv("GATEKEY_LOG_LEVEL", "error")
	if err := run([]string{"dev"}, io.Discard); err == nil || !strings.Contains(err.Error(), "refusing") || !strings.Contains(err.Error(), "./.data") {
		t.Errorf("dev: err = %v, want a refusal saying why and what to do", err)
	}
	t.Setenv("GATEKEY_SECRET_KEY", strings.Repeat("5a", 32))
	if err := run([]string{"serve"}, io.Discard); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("serve with TELEGRAM_API_URL=fake: err = %v, want a refusal", err)
	}
	unchanged()
}

// TestDevParsesItsArguments: `dev --help` prints the usage and does
// nothing else; an argument dev does not know stops it before it starts.
func TestDevParsesItsArguments(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	unchanged := ownerWithBot(t, dbURL)
	t.Setenv("DATABASE_URL", dbURL)
	t.Setenv("GATEKEY_ADDR", busyAddr(t))
	t.Setenv("GATEKEY_LOG_LEVEL", "error")
	var out bytes.Buffer
	if err := run([]string{"dev", "--help"}, &out); err != nil || !strings.Contains(out.String(), "gatekey dev") {
		t.Errorf("dev --help: %v, printed %q; want the usage", err, out.String())
	}
	for _, args := range [][]string{{"dev", "--bogus"}, {"dev", "now"}} {
		if err := run(args, io.Discard); err == nil || !strings.Contains(err.Error(), strings.TrimLeft(args[1], "-")) {
			t.Errorf("%v: err = %v, want one naming %s", args, err, args[1])
		}
	}
	unchanged()
}

// TestDevClaimsItsOwnDatabase: an empty database, one dev made before it
// was marked (the demo tenant alone), and one dev marked, whatever owners
// signed up in it since, are dev's.
func TestDevClaimsItsOwnDatabase(t *testing.T) {
	ctx := context.Background()
	empty := pgtest.NewEmptyDatabase(t)
	if err := claimDevDatabase(ctx, empty); err != nil {
		t.Fatalf("empty database: %v", err)
	}
	if err := migrateDatabase(ctx, empty, io.Discard); err != nil {
		t.Fatalf("migrate a marked database: %v", err)
	}
	ownerWithBot(t, empty)
	if err := claimDevDatabase(ctx, empty); err != nil {
		t.Errorf("a marked database with an owner signed up in dev: %v", err)
	}

	demoOnly := pgtest.NewDatabase(t)
	db, err := tenant.Open(ctx, demoOnly, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.SignUp(ctx, demoEmail, demoPassword); err != nil {
		t.Fatal(err)
	}
	if err := claimDevDatabase(ctx, demoOnly); err != nil {
		t.Errorf("the demo tenant alone: %v", err)
	}

	both := pgtest.NewDatabase(t)
	ownerWithBot(t, both)
	db2, err := tenant.Open(ctx, both, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if _, err := db2.SignUp(ctx, demoEmail, demoPassword); err != nil {
		t.Fatal(err)
	}
	if err := claimDevDatabase(ctx, both); err == nil || !strings.Contains(err.Error(), "1 tenant(s) besides the demo tenant") {
		t.Errorf("the demo tenant and another: %v, want a refusal", err)
	}
}

// TestMigrateParsesItsArguments: `migrate --help` and a mistyped argument
// apply nothing.
func TestMigrateParsesItsArguments(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewEmptyDatabase(t)
	t.Setenv("DATABASE_URL", dbURL)
	var out bytes.Buffer
	if err := run([]string{"migrate", "--help"}, &out); err != nil || !strings.Contains(out.String(), "gatekey migrate") || strings.Contains(out.String(), "applied") {
		t.Errorf("migrate --help: %v, printed %q; want the usage alone", err, out.String())
	}
	if err := run([]string{"migrate", "--dry-run"}, io.Discard); err == nil || !strings.Contains(err.Error(), "dry-run") {
		t.Errorf("migrate --dry-run: err = %v, want one naming the flag", err)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var migrated bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass('tenants') IS NOT NULL").Scan(&migrated); err != nil || migrated {
		t.Errorf("migrations were applied (%v)", err)
	}
}

// A process that cannot start says why in its log, in the log's format,
// as well as on stderr: here, workers on a database never migrated.
func TestWhyServeStoppedIsLogged(t *testing.T) {
	var log syncbuf.Buffer
	ac := app.Config{DatabaseURL: pgtest.NewEmptyDatabase(t), SecretKey: strings.Repeat("5a", 32), TelegramAPIURL: "http://127.0.0.1:9",
		PublicURL: "http://127.0.0.1:9", Web: true, Work: true, DBMaxConns: 4, Log: slog.New(slog.NewJSONHandler(&log, nil))}
	err := runApp(context.Background(), config{Addr: "127.0.0.1:0"}, ac, nil)
	if err == nil || !strings.Contains(err.Error(), "run gatekey migrate") {
		t.Fatalf("serve on a database never migrated: %v, want a refusal saying to run gatekey migrate", err)
	}
	if got := log.String(); !strings.Contains(got, `"msg":"gatekey stopped"`) || !strings.Contains(got, "run gatekey migrate") {
		t.Errorf("the log does not say why serve stopped:\n%s", got)
	}
}
