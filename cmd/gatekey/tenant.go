package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/gatekey/gatekey/tenant"
)

func tenantCommand(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: gatekey tenant create --email E --password P")
	}
	fs := flag.NewFlagSet("tenant create", flag.ContinueOnError)
	email := fs.String("email", "", "the owner's login email")
	password := fs.String("password", "", "the owner's password (at least 10 characters)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
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
	id, err := db.SignUp(ctx, *email, *password)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, id)
	return nil
}
