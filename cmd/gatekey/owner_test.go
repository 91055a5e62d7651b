package main

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/internal/pgtest"
	"github.com/gatekey/gatekey/tenant"
)

func TestOwnerLinkCommandPrintsAOneTimeLink(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	t.Setenv("DATABASE_URL", dbURL)
	db, err := tenant.Open(ctx, dbURL, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	keys, err := tenant.NewKeyring(strings.Repeat("cd", 32))
	if err != nil {
		t.Fatal(err)
	}
	tenantID, err := db.SignUp(ctx, "cli@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	var bot tenant.Bot
	err = db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		bot, err = tenant.AddBot(ctx, tx, keys, 4242, "cli_bot", "4242:token")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	if err := run([]string{"owner", "link", "--tenant", itoa(tenantID), "--bot", itoa(bot.ID)}, &out); err != nil {
		t.Fatal(err)
	}
	link := strings.TrimSpace(out.String())
	token, ok := strings.CutPrefix(link, "https://t.me/cli_bot?start="+tenant.OwnerLinkPrefix)
	if !ok || strings.Contains(link, "\n") {
		t.Fatalf("printed %q, want only https://t.me/cli_bot?start=owner-<token>", out.String())
	}
	redeem := func(user int64) error {
		return db.Tx(ctx, tenantID, func(tx pgx.Tx) error { return tenant.RedeemOwnerLinkToken(ctx, tx, bot.ID, token, user) })
	}
	if err := redeem(1); err != nil {
		t.Errorf("the printed link does not work: %v", err)
	}
	if err := redeem(2); !errors.Is(err, tenant.ErrOwnerLinkInvalid) {
		t.Errorf("the printed link worked twice: %v", err)
	}

	for _, args := range [][]string{
		{"owner", "link", "--tenant", itoa(tenantID), "--bot", itoa(bot.ID + 1)},
		{"owner", "link", "--tenant", itoa(tenantID + 1), "--bot", itoa(bot.ID)},
		{"owner", "link", "--tenant", itoa(tenantID)},
		{"owner", "make"},
	} {
		out.Reset()
		if err := run(args, &out); err == nil || out.Len() > 0 {
			t.Errorf("%v: err = %v, printed %q; want an error and no link", args, err, out.String())
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
