package main

import (
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
