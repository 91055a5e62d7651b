package tenant_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatekey/gatekey/tenant"
)

func TestSessions(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	s, cookie, err := db.SignUpFrom(ctx, "Owner@Example.com", "correct horse battery", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if s.Email != "owner@example.com" || s.CSRFToken == "" || !strings.HasPrefix(cookie, itoa(s.TenantID)+".") {
		t.Fatalf("session %+v, cookie %q", s, cookie)
	}
	got, err := db.SessionByCookie(ctx, cookie)
	if err != nil || got.ID != s.ID || got.TenantID != s.TenantID || got.CSRFToken != s.CSRFToken {
		t.Fatalf("SessionByCookie = %+v, %v", got, err)
	}
	// Only the hash is stored: the cookie's secret is nowhere in the table.
	var raw string
	if err := db.CrossTenant(ctx, "test", func(tx pgxTx) error {
		return tx.QueryRow(ctx, "SELECT string_agg(encode(token_hash, 'escape') || csrf_token, '') FROM owner_sessions").Scan(&raw)
	}); err != nil {
		t.Fatal(err)
	}
	secret := cookie[strings.Index(cookie, ".")+1:]
	if strings.Contains(raw, secret) {
		t.Error("the session secret is stored in clear")
	}
	// A cookie naming another tenant, or garbled, finds nothing.
	other, _, err := db.SignUpFrom(ctx, "other@example.com", "correct horse battery", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "x", itoa(s.TenantID+1000) + "." + secret, itoa(other.TenantID) + "." + secret, cookie + "x"} {
		if _, err := db.SessionByCookie(ctx, bad); !errors.Is(err, tenant.ErrNotFound) {
			t.Errorf("cookie %q: %v, want ErrNotFound", bad, err)
		}
	}
	// Log in, log out.
	if _, _, err := db.LogIn(ctx, "owner@example.com", "wrong password!", "192.0.2.1"); !errors.Is(err, tenant.ErrBadLogin) {
		t.Errorf("wrong password: %v", err)
	}
	if _, _, err := db.LogIn(ctx, "nobody@example.com", "correct horse battery", "192.0.2.1"); !errors.Is(err, tenant.ErrBadLogin) {
		t.Errorf("unknown email: %v", err)
	}
	_, c2, err := db.LogIn(ctx, " OWNER@example.com ", "correct horse battery", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.LogOut(ctx, c2); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SessionByCookie(ctx, c2); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("after log out: %v", err)
	}
	if _, err := db.SessionByCookie(ctx, cookie); err != nil {
		t.Errorf("logging out one session ended another: %v", err)
	}
}

func TestSignUpInputAndBrakes(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	var bad *tenant.InputError
	for _, c := range []struct{ email, password string }{{"nope", "correct horse battery"}, {"a@example.com", "short"}} {
		if _, _, err := db.SignUpFrom(ctx, c.email, c.password, "192.0.2.9"); !errors.As(err, &bad) || bad.Message == "" {
			t.Errorf("sign up %q/%q: %v, want an InputError", c.email, c.password, err)
		}
	}
	for i := range tenant.MaxSignUps {
		if _, _, err := db.SignUpFrom(ctx, "u"+itoa(int64(i))+"@example.com", "correct horse battery", "192.0.2.9"); err != nil {
			t.Fatal(err)
		}
	}
	var tooMany *tenant.TooManyAttemptsError
	if _, _, err := db.SignUpFrom(ctx, "more@example.com", "correct horse battery", "192.0.2.9"); !errors.As(err, &tooMany) {
		t.Errorf("sign-up %d from one address: %v, want TooManyAttemptsError", tenant.MaxSignUps+1, err)
	}
	if _, _, err := db.SignUpFrom(ctx, "more@example.com", "correct horse battery", "192.0.2.10"); err != nil {
		t.Errorf("another address is held back too: %v", err)
	}
	// Failed logins from many addresses still brake the email, at its own
	// limit.
	for i := range tenant.MaxLoginFailuresPerEmail {
		if _, _, err := db.LogIn(ctx, "more@example.com", "wrong", "198.51.100."+itoa(int64(i))); !errors.Is(err, tenant.ErrBadLogin) {
			t.Fatal(err)
		}
	}
	if _, _, err := db.LogIn(ctx, "more@example.com", "correct horse battery", "198.51.100.200"); !errors.As(err, &tooMany) || tooMany.Wait <= 0 {
		t.Errorf("login after %d failures: %v", tenant.MaxLoginFailuresPerEmail, err)
	}
}
