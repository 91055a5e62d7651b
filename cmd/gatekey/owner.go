package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/tenant"
)

const ownerUsage = "usage: gatekey owner link --tenant ID --bot BOTID"

// ownerCommand makes a one-time link that makes whoever opens it in
// Telegram an admin of the tenant in its bot, until the console shows
// one. The link goes to stdout, alone, for scripts; the note to stderr.
func ownerCommand(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "link" {
		return errors.New(ownerUsage)
	}
	fs := flag.NewFlagSet("owner link", flag.ContinueOnError)
	tenantID := fs.Int64("tenant", 0, "the tenant's id")
	botID := fs.Int64("bot", 0, "the bot's Gatekey id (as in its webhook URL /telegram/{id})")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *tenantID <= 0 || *botID <= 0 || fs.NArg() > 0 {
		return errors.New(ownerUsage)
	}
	cfg, err := loadConfig()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	db, err := tenant.Open(ctx, cfg.DatabaseURL, 4)
	if err != nil {
		return err
	}
	defer db.Close()
	var link string
	var expires time.Time
	err = db.Tx(ctx, *tenantID, func(tx pgx.Tx) error {
		b, err := tenant.GetBot(ctx, tx, *botID)
		if err != nil {
			return err
		}
		token, exp, err := tenant.NewOwnerLinkToken(ctx, tx, b.ID)
		link, expires = tenant.OwnerLink(b.Username, token), exp
		return err
	})
	if errors.Is(err, tenant.ErrNotFound) {
		return fmt.Errorf("tenant %d has no bot %d", *tenantID, *botID)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, link)
	fmt.Fprintf(os.Stderr, "Open this link in Telegram as the bot's owner and press Start. It works once, until %s.\n",
		expires.UTC().Format("15:04 UTC"))
	return nil
}
