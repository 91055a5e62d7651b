package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/internal/pgtest"
	"github.com/gatekey/gatekey/tenant"
)

// TestKeysCommands walks a rotation: tokens under key A; serve moves to B
// with A as an old key; keys rotate moves every token to B; keys status
// then shows A unused, and after A is dropped, still nothing missing.
// A token under a key nobody configured is reported, and left alone.
func TestKeysCommands(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	t.Setenv("DATABASE_URL", dbURL)
	keyA, keyB, keyC := strings.Repeat("aa", 32), strings.Repeat("bb", 32), strings.Repeat("cc", 32)
	ring := func(k string) *tenant.Keyring {
		r, err := tenant.NewKeyring(k)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, b, c := ring(keyA), ring(keyB), ring(keyC)
	db, err := tenant.Open(ctx, dbURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tenants []int64
	var botIDs []int64
	for i, email := range []string{"one@example.com", "two@example.com"} {
		id, err := db.SignUp(ctx, email, "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		tenants = append(tenants, id)
		if err := db.Tx(ctx, id, func(tx pgx.Tx) error {
			bot, err := tenant.AddBot(ctx, tx, a, int64(100+i), "bot", "100:token")
			botIDs = append(botIDs, bot.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	keys := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(append([]string{"keys"}, args...), &out)
		return out.String(), err
	}

	t.Setenv("GATEKEY_SECRET_KEY", keyB)
	t.Setenv("GATEKEY_OLD_SECRET_KEYS", keyA)
	out, err := keys("status")
	if err != nil || !strings.Contains(out, a.Current()+"  2 ") || !strings.Contains(out, b.Current()+"  0 ") {
		t.Errorf("status before rotating: %v\n%s", err, out)
	}
	out, err = keys("rotate")
	if err != nil || !strings.HasPrefix(out, "re-encrypted 2 bot tokens; 0 left under older keys\n") {
		t.Errorf("rotate: %v\n%s", err, out)
	}
	out, err = keys("rotate")
	if err != nil || !strings.HasPrefix(out, "re-encrypted 0 bot tokens; 0 left under older keys\n") {
		t.Errorf("rotate again: %v\n%s", err, out)
	}
	if !strings.Contains(out, b.Current()+"  2 ") || !strings.Contains(out, "unused: may be dropped") {
		t.Errorf("rotate again does not show A unused:\n%s", out)
	}

	// A dropped; the tokens decrypt with B alone.
	t.Setenv("GATEKEY_OLD_SECRET_KEYS", "")
	out, err = keys("status")
	if err != nil || strings.Contains(out, "MISSING") || strings.Contains(out, a.Current()) {
		t.Errorf("status after dropping A: %v\n%s", err, out)
	}
	for i, id := range tenants {
		if err := db.Tx(ctx, id, func(tx pgx.Tx) error {
			token, err := tenant.BotToken(ctx, tx, b, botIDs[i])
			if err == nil && token != "100:token" {
				t.Errorf("bot %d decrypts to %q", botIDs[i], token)
			}
			return err
		}); err != nil {
			t.Error(err)
		}
	}

	// A token under a key no configured key has: reported, not lost.
	if err := db.Tx(ctx, tenants[0], func(tx pgx.Tx) error {
		_, err := tenant.AddBot(ctx, tx, c, 300, "lost", "300:lost")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"status", "rotate"} {
		out, err = keys(cmd)
		if err == nil || !strings.Contains(err.Error(), c.Current()) || !strings.Contains(err.Error(), "GATEKEY_OLD_SECRET_KEYS") ||
			!strings.Contains(out, c.Current()+"  1 ") || !strings.Contains(out, "MISSING") {
			t.Errorf("%s with a token under an unknown key: %v\n%s", cmd, err, out)
		}
	}
	if !strings.HasPrefix(out, "re-encrypted 0 bot tokens; 1 left under older keys\n") {
		t.Errorf("rotate with a token under an unknown key:\n%s", out)
	}
	t.Setenv("GATEKEY_OLD_SECRET_KEYS", keyC)
	out, err = keys("rotate")
	if err != nil || !strings.HasPrefix(out, "re-encrypted 1 bot token; 0 left under older keys\n") {
		t.Errorf("rotate with C back: %v\n%s", err, out)
	}

	for _, args := range [][]string{{}, {"list"}, {"rotate", "now"}} {
		if out, err := keys(args...); err == nil || out != "" {
			t.Errorf("keys %v: %v %q, want a usage error", args, err, out)
		}
	}
}
