package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

const keysUsage = `usage:
  gatekey keys status   how many bot tokens each key id encrypts, and which ids no configured key has
  gatekey keys rotate   re-encrypt with GATEKEY_SECRET_KEY every bot token under an older key`

// keysCommand finishes a rotation of GATEKEY_SECRET_KEY: status shows
// which keys the stored bot tokens need, rotate moves them all to the
// current key, after which the old keys can leave GATEKEY_OLD_SECRET_KEYS.
func keysCommand(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) != 1 || (args[0] != "status" && args[0] != "rotate") {
		return errors.New(keysUsage)
	}
	cfg, err := loadConfig()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	if cfg.SecretKey == "" {
		return errors.New("GATEKEY_SECRET_KEY is not set: run this with the same GATEKEY_SECRET_KEY and GATEKEY_OLD_SECRET_KEYS as serve")
	}
	keys, err := tenant.NewKeyring(cfg.SecretKey, cfg.OldSecretKeys...)
	if err != nil {
		return err
	}
	db, err := tenant.Open(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	if args[0] == "rotate" {
		r, err := db.RotateBotTokens(ctx, keys)
		if err != nil {
			return err
		}
		uses, err := db.TokenKeys(ctx)
		if err != nil {
			return err
		}
		left := 0
		for _, u := range uses {
			if u.KeyID != keys.Current() {
				left += u.Bots
			}
		}
		fmt.Fprintf(stdout, "re-encrypted %s; %d left under older keys\n", membership.Plural(r.Reencrypted, "bot token", "bot tokens"), left)
		if err := printKeyUses(stdout, uses, keys); err != nil {
			return err
		}
		if len(r.Unreadable) > 0 {
			return errors.New(missingKeysAdvice(r.Unreadable))
		}
		return nil
	}
	uses, err := db.TokenKeys(ctx)
	if err != nil {
		return err
	}
	if err := printKeyUses(stdout, uses, keys); err != nil {
		return err
	}
	if missing := tenant.MissingKeys(uses, keys); len(missing) > 0 {
		m := map[string]int{}
		for _, u := range missing {
			m[u.KeyID] = u.Bots
		}
		return errors.New(missingKeysAdvice(m))
	}
	return nil
}

// printKeyUses writes a table of every key id the configured keys have
// or a bot token uses, with the count of tokens under it and where it is
// configured (or that it is missing).
func printKeyUses(w io.Writer, uses []tenant.KeyUse, keys *tenant.Keyring) error {
	count := map[string]int{}
	for _, u := range uses {
		count[u.KeyID] = u.Bots
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY ID\tBOT TOKENS\tKEY")
	ids := keys.IDs()
	for i, id := range ids {
		where := "GATEKEY_SECRET_KEY (current)"
		if i > 0 {
			where = fmt.Sprintf("GATEKEY_OLD_SECRET_KEYS, key %d", i)
			if count[id] == 0 {
				where += " (unused: may be dropped)"
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\n", id, count[id], where)
	}
	for _, u := range tenant.MissingKeys(uses, keys) {
		fmt.Fprintf(tw, "%s\t%d\tMISSING: no configured key has this id\n", u.KeyID, u.Bots)
	}
	return tw.Flush()
}

func missingKeysAdvice(missing map[string]int) string {
	ids := make([]string, 0, len(missing))
	n := 0
	for id, c := range missing {
		ids = append(ids, id)
		n += c
	}
	sort.Strings(ids)
	return fmt.Sprintf("%s encrypted with key id(s) %s, which no configured key has: "+
		"they cannot be decrypted, so those bots' Telegram calls fail. Put the old key back in GATEKEY_OLD_SECRET_KEYS "+
		"(and run gatekey keys rotate again); they were left as they were", membership.Plural(n, "bot token is", "bot tokens are"), strings.Join(ids, ", "))
}
