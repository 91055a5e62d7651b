package tenant_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/tenant"
)

func newToken(t *testing.T, db *tenant.DB, tenantID, botID int64) (string, time.Time) {
	t.Helper()
	var token string
	var expires time.Time
	err := db.Tx(context.Background(), tenantID, func(tx pgx.Tx) error {
		var err error
		token, expires, err = tenant.NewOwnerLinkToken(context.Background(), tx, botID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return token, expires
}

func redeem(db *tenant.DB, tenantID, botID int64, token string, user int64) error {
	ctx := context.Background()
	return db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		return tenant.RedeemOwnerLinkToken(ctx, tx, botID, token, user)
	})
}

func admins(t *testing.T, db *tenant.DB, tenantID, botID int64) []tenant.Admin {
	t.Helper()
	var list []tenant.Admin
	err := db.Tx(context.Background(), tenantID, func(tx pgx.Tx) error {
		var err error
		list, err = tenant.BotAdmins(context.Background(), tx, botID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestOwnerLinkWorksOnceForFifteenMinutes(t *testing.T) {
	db := openDB(t)
	ten, bot := seedTenant(t, db, "o@example.com", 2001)
	token, expires := newToken(t, db, ten, bot)
	if d := time.Until(expires); d < 14*time.Minute || d > 15*time.Minute+5*time.Second {
		t.Errorf("the link expires in %s, want 15 minutes", d)
	}
	link := tenant.OwnerLink("some_bot", token)
	if !strings.HasPrefix(link, "https://t.me/some_bot?start=owner-") || len(link) > len("https://t.me/some_bot?start=")+64 {
		t.Errorf("link %q: want t.me/<bot>?start=owner-<token> with a payload of at most 64 characters", link)
	}
	for _, c := range tenant.OwnerLinkPrefix + token {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			t.Fatalf("payload %q has %q, which /start payloads do not allow", token, c)
		}
	}
	// Only a hash is stored.
	err := db.Tx(context.Background(), ten, func(tx pgx.Tx) error {
		var hash []byte
		if err := tx.QueryRow(context.Background(), "SELECT token_hash FROM owner_link_tokens").Scan(&hash); err != nil {
			return err
		}
		if bytes.Contains(hash, []byte(token)) || len(hash) != 32 {
			t.Errorf("stored %x: want the token's SHA-256, not the token", hash)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	if err := redeem(db, ten, bot, token, 555); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if err := redeem(db, ten, bot, token, 666); !errors.Is(err, tenant.ErrOwnerLinkInvalid) {
		t.Errorf("second use: err = %v, want ErrOwnerLinkInvalid", err)
	}
	got := admins(t, db, ten, bot)
	if len(got) != 1 || got[0].TelegramUserID != 555 || !got[0].Notify {
		t.Errorf("admins = %+v, want only 555, with notifications on", got)
	}

	expired, _ := newToken(t, db, ten, bot)
	err = db.Tx(context.Background(), ten, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), "UPDATE owner_link_tokens SET expires_at = now() - interval '1 second' WHERE used_at IS NULL")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := redeem(db, ten, bot, expired, 777); !errors.Is(err, tenant.ErrOwnerLinkInvalid) {
		t.Errorf("expired link: err = %v, want ErrOwnerLinkInvalid", err)
	}
	for _, bad := range []string{"", "nope", strings.Repeat("A", 32), strings.Repeat("x", 500)} {
		if err := redeem(db, ten, bot, bad, 888); !errors.Is(err, tenant.ErrOwnerLinkInvalid) {
			t.Errorf("token %.20q: err = %v, want ErrOwnerLinkInvalid", bad, err)
		}
	}
	if n := len(admins(t, db, ten, bot)); n != 1 {
		t.Errorf("%d admins after the refused links, want 1", n)
	}
}

func TestOwnerLinkIsForItsOwnBotAndTenant(t *testing.T) {
	db := openDB(t)
	a, botA := seedTenant(t, db, "a@example.com", 3001)
	b, botB := seedTenant(t, db, "b@example.com", 3002)
	token, _ := newToken(t, db, a, botA)
	if err := redeem(db, b, botB, token, 1); !errors.Is(err, tenant.ErrOwnerLinkInvalid) {
		t.Errorf("tenant A's link opened in tenant B's bot: err = %v, want ErrOwnerLinkInvalid", err)
	}
	if err := redeem(db, b, botA, token, 1); !errors.Is(err, tenant.ErrOwnerLinkInvalid) {
		t.Errorf("tenant A's link redeemed under tenant B: err = %v, want ErrOwnerLinkInvalid", err)
	}
	err := db.Tx(context.Background(), b, func(tx pgx.Tx) error {
		_, _, err := tenant.NewOwnerLinkToken(context.Background(), tx, botA)
		return err
	})
	if !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("tenant B making a link for tenant A's bot: err = %v, want ErrNotFound", err)
	}
	if n := len(admins(t, db, b, botB)); n != 0 {
		t.Errorf("tenant B's bot has %d admins, want 0", n)
	}
	// The link still works where it belongs.
	if err := redeem(db, a, botA, token, 2); err != nil {
		t.Errorf("the link in its own bot: %v", err)
	}
}

func TestOwnerLinkRaceHasOneWinner(t *testing.T) {
	db := openDB(t)
	ten, bot := seedTenant(t, db, "r@example.com", 4001)
	token, _ := newToken(t, db, ten, bot)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = redeem(db, ten, bot, token, int64(100+i))
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, tenant.ErrOwnerLinkInvalid):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if won != 1 || len(admins(t, db, ten, bot)) != 1 {
		t.Errorf("%d redeemed the link and %d became admins, want exactly 1", won, len(admins(t, db, ten, bot)))
	}
}
