package app

import (
	"context"
	"encoding/json"
	"github.com/gatekey/gatekey/internal/syncbuf"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/internal/pgtest"
	"github.com/gatekey/gatekey/tenant"
)

// TestStartNamesMissingSecretKeys: a process whose keys cannot decrypt
// some bots' tokens says so at start, with how many and the key ids.
func TestStartNamesMissingSecretKeys(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	keyA, keyB := strings.Repeat("aa", 32), strings.Repeat("bb", 32)
	a, err := tenant.NewKeyring(keyA)
	if err != nil {
		t.Fatal(err)
	}
	db, err := tenant.Open(ctx, dbURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tenantID, err := db.SignUp(ctx, "owner@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		for i := range 2 {
			if _, err := tenant.AddBot(ctx, tx, a, int64(100+i), "bot", "1:token"); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	start := func(current string, old ...string) []map[string]any {
		var log syncbuf.Buffer
		ap, err := New(ctx, Config{DatabaseURL: dbURL, SecretKey: current, OldSecretKeys: old, TelegramAPIURL: "http://127.0.0.1:1",
			Log: slog.New(slog.NewJSONHandler(&log, nil))})
		if err != nil {
			t.Fatal(err)
		}
		ap.Shutdown(ctx)
		var errs []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["level"] == "ERROR" {
				errs = append(errs, rec)
			}
		}
		return errs
	}
	if errs := start(keyB, keyA); len(errs) != 0 {
		t.Errorf("with the old key configured: %v, want no error", errs)
	}
	errs := start(keyB)
	if len(errs) != 1 {
		t.Fatalf("without the old key: %d errors logged, want 1: %v", len(errs), errs)
	}
	msg, _ := errs[0]["msg"].(string)
	if errs[0]["bots"] != float64(2) || !strings.Contains(msg, a.Current()) || !strings.Contains(msg, "2 bots") ||
		!strings.Contains(msg, "GATEKEY_OLD_SECRET_KEYS") {
		t.Errorf("error logged: %v; want 2 bots, key id %s, and to put the key back in GATEKEY_OLD_SECRET_KEYS", errs[0], a.Current())
	}
}
