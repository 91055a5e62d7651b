package tenant_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/tenant"
)

type pgxTx = pgx.Tx

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestAPIKeys(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	a, _ := seedTenant(t, db, "a@example.com", 1001)
	b, _ := seedTenant(t, db, "b@example.com", 1002)
	var k tenant.APIKey
	var full string
	err := db.Tx(ctx, a, func(tx pgx.Tx) (err error) {
		k, full, err = tenant.CreateAPIKey(ctx, tx, "  shop ", "test")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if k.Name != "shop" || !strings.HasPrefix(full, "gk_"+k.Prefix+"_") || len(full) < 40 {
		t.Fatalf("key %+v, %q", k, full)
	}
	got, err := db.AuthenticateAPIKey(ctx, full)
	if err != nil || got.ID != k.ID || got.TenantID != a {
		t.Fatalf("AuthenticateAPIKey = %+v, %v", got, err)
	}
	// The key is kept only as a hash.
	var stored string
	_ = db.CrossTenant(ctx, "test", func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT encode(key_hash, 'hex') FROM api_keys").Scan(&stored)
	})
	if strings.Contains(stored, full) || len(stored) != 64 {
		t.Errorf("stored %q", stored)
	}
	// The last character changed: to "Z", or to "Y" when it already is "Z"
	// (one key in 64 ends in Z, and then "changed" would be the key itself).
	last := "Z"
	if strings.HasSuffix(full, last) {
		last = "Y"
	}
	for _, bad := range []string{"", full + "x", full[:len(full)-1] + last, "gk_" + k.Prefix, "gk_zzzzzzzz_" + strings.Repeat("a", 32)} {
		if _, err := db.AuthenticateAPIKey(ctx, bad); !errors.Is(err, tenant.ErrBadAPIKey) {
			t.Errorf("key %q: %v, want ErrBadAPIKey", bad, err)
		}
	}
	// Another tenant cannot revoke it; its owner can.
	if err := db.Tx(ctx, b, func(tx pgx.Tx) error { return tenant.RevokeAPIKey(ctx, tx, k.ID) }); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("revoking another tenant's key: %v", err)
	}
	if err := db.Tx(ctx, a, func(tx pgx.Tx) error { return tenant.RevokeAPIKey(ctx, tx, k.ID) }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AuthenticateAPIKey(ctx, full); !errors.Is(err, tenant.ErrAPIKeyRevoked) {
		t.Errorf("revoked key: %v", err)
	}
	var keys []tenant.APIKey
	_ = db.Tx(ctx, a, func(tx pgx.Tx) (err error) {
		keys, err = tenant.ListAPIKeys(ctx, tx)
		return err
	})
	if len(keys) != 1 || keys[0].RevokedAt == nil || keys[0].LastUsedAt == nil {
		t.Errorf("keys = %+v", keys)
	}
}
