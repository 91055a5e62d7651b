package main

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
)

// The README's configuration table is what users read; it must name every
// setting the binary reads.
func TestREADMEListsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		if !strings.Contains(string(readme), "| `"+s.name+"` |") {
			t.Errorf("README.md's configuration table lacks %s", s.name)
		}
	}
}

func TestBadSettingsAreNamed(t *testing.T) {
	for name, value := range map[string]string{
		"GATEKEY_ADDR":               "8080",
		"GATEKEY_PUBLIC_URL":         "gatekey.example",
		"GATEKEY_DB_MAX_CONNS":       "lots",
		"GATEKEY_TELEGRAM_WORKERS":   "0",
		"GATEKEY_JOB_POLL_INTERVAL":  "1",
		"GATEKEY_RECONCILE_INTERVAL": "soon",
		"GATEKEY_LOG_LEVEL":          "loud",
		"GATEKEY_LOG_FORMAT":         "xml",
		"GATEKEY_FLAT_PRICE":         "29 dollars",
		"GATEKEY_SECRET_KEY":         "short",
		"GATEKEY_OLD_SECRET_KEYS":    strings.Repeat("ab", 32) + ",short",
		"GATEKEY_PROXY_HEADER":       "Fly Client IP",
		"STRIPE_WEBHOOK_SECRET":      "whsec_a, sk_test_b",
		"GOGC":                       "400%",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, value)
			_, err := loadConfig()
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s=%q: err = %v, want one naming the variable", name, value, err)
			}
		})
	}
	if c, err := loadConfig(); err != nil || len(c.warnings()) != 0 {
		t.Errorf("defaults: %v %v", err, c.warnings())
	}
	// Rescuing jobs before a reconciliation may end works, with a warning.
	t.Setenv("GATEKEY_JOB_RESCUE_AFTER", "5m")
	if c, err := loadConfig(); err != nil || len(c.warnings()) != 1 || !strings.Contains(c.warnings()[0], "GATEKEY_JOB_RESCUE_AFTER") {
		t.Errorf("GATEKEY_JOB_RESCUE_AFTER=5m: %v %v, want one warning naming it", err, c.warnings())
	}
	// A duration that does not parse is named once, not also compared.
	t.Setenv("GATEKEY_JOB_RESCUE_AFTER", "banana")
	if _, err := loadConfig(); err == nil || strings.Contains(err.Error(), "(0s)") {
		t.Errorf("GATEKEY_JOB_RESCUE_AFTER=banana: %v, want one error naming it", err)
	}
	t.Setenv("GATEKEY_JOB_RESCUE_AFTER", "1h")
	t.Setenv("GATEKEY_FLAT_PRICE", " 49.50  eur ")
	if c, err := loadConfig(); err != nil || c.FlatPrice.Minor != 4950 || c.FlatPrice.Currency != "EUR" {
		t.Errorf("GATEKEY_FLAT_PRICE: %+v %v", c.FlatPrice, err)
	}
}

// TestURLSettings: the URLs Gatekey hands out or calls are absolute
// http(s) URLs with a host, and the address has a port that can be.
func TestURLSettings(t *testing.T) {
	for _, c := range []struct{ name, value string }{
		{"TELEGRAM_API_URL", "api.telegram.org"},
		{"TELEGRAM_API_URL", "https://"},
		{"TELEGRAM_API_URL", "ftp://api.telegram.org"},
		{"TELEGRAM_API_URL", "fake2"},
		{"GATEKEY_PUBLIC_URL", "https://"},
		{"GATEKEY_PUBLIC_URL", "https://gatekey.example/my club"},
		{"GATEKEY_PUBLIC_URL", "https:///telegram"},
		{"GATEKEY_PUBLIC_URL", "/gatekey"},
		{"GATEKEY_ADDR", "127.0.0.1:http"},
		{"GATEKEY_ADDR", "127.0.0.1:0"},
		{"GATEKEY_ADDR", "127.0.0.1:65536"},
		{"GATEKEY_ADDR", "127.0.0.1:"},
	} {
		t.Run(c.name+"="+c.value, func(t *testing.T) {
			t.Setenv(c.name, c.value)
			if _, err := loadConfig(); err == nil || !strings.Contains(err.Error(), c.name) {
				t.Errorf("err = %v, want one naming %s", err, c.name)
			}
		})
	}
	for name, value := range map[string]string{
		"TELEGRAM_API_URL":     "http://127.0.0.1:8081",
		"GATEKEY_PUBLIC_URL":   "https://gatekey.example/club/",
		"GATEKEY_ADDR":         ":65535",
		"GATEKEY_PROXY_HEADER": "Fly-Client-IP",
		"GOGC":                 "off",
	} {
		t.Run(name+"="+value, func(t *testing.T) {
			t.Setenv(name, value)
			if _, err := loadConfig(); err != nil {
				t.Errorf("err = %v, want none", err)
			}
		})
	}
	t.Setenv("GATEKEY_ADDR", ":8080")
	if c, err := loadConfig(); err != nil || c.PublicURL != "http://localhost:8080" {
		t.Errorf("GATEKEY_ADDR=:8080: public URL %q (%v), want http://localhost:8080", c.PublicURL, err)
	}
}

// TestWebhooksNeedHTTPSWithTheRealTelegram: the real Telegram delivers
// webhooks over https only, so serve refuses an http public URL with it
// (the default one included), and takes it with a Bot API server of
// one's own, as the tests' fake is.
func TestWebhooksNeedHTTPSWithTheRealTelegram(t *testing.T) {
	// Nothing to start against, should serve get past its configuration.
	t.Setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	t.Setenv("GATEKEY_SECRET_KEY", strings.Repeat("5a", 32))
	t.Setenv("TELEGRAM_API_URL", "")
	t.Setenv("GATEKEY_PUBLIC_URL", "")
	err := serve(context.Background(), nil, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "GATEKEY_PUBLIC_URL is not set") || !strings.Contains(err.Error(), "https") {
		t.Errorf("the default public URL: err = %v, want one saying to set GATEKEY_PUBLIC_URL to an https address", err)
	}
	t.Setenv("GATEKEY_PUBLIC_URL", "http://gatekey.example")
	if err := serve(context.Background(), nil, io.Discard); err == nil || !strings.Contains(err.Error(), "GATEKEY_PUBLIC_URL=\"http://gatekey.example\"") {
		t.Errorf("an http public URL: err = %v, want one naming GATEKEY_PUBLIC_URL", err)
	}
	for _, c := range []struct{ telegram, public string }{
		{"", "https://gatekey.example"},
		{"http://127.0.0.1:8081", "http://127.0.0.1:8080"},
	} {
		t.Setenv("TELEGRAM_API_URL", c.telegram)
		t.Setenv("GATEKEY_PUBLIC_URL", c.public)
		cfg, err := loadConfig()
		if err == nil {
			err = cfg.checkWebhookURL()
		}
		if err != nil {
			t.Errorf("TELEGRAM_API_URL=%q GATEKEY_PUBLIC_URL=%q: %v, want no error", c.telegram, c.public, err)
		}
	}
}

// TestStripeKeyNeedsWebhookSecret: payments are credited only from
// Stripe's webhook, so the key without a secret is refused at start.
func TestStripeKeyNeedsWebhookSecret(t *testing.T) {
	t.Setenv("STRIPE_API_KEY", "sk_test_123")
	for _, secret := range []string{"", " , "} {
		t.Setenv("STRIPE_WEBHOOK_SECRET", secret)
		if _, err := loadConfig(); err == nil || !strings.Contains(err.Error(), "STRIPE_WEBHOOK_SECRET") || !strings.Contains(err.Error(), "never get access") {
			t.Errorf("STRIPE_WEBHOOK_SECRET=%q: err = %v, want one saying members could pay and never get access", secret, err)
		}
	}
	t.Setenv("STRIPE_WEBHOOK_SECRET", "whsec_platform, whsec_connect")
	if _, err := loadConfig(); err != nil {
		t.Errorf("both set: %v", err)
	}
}
