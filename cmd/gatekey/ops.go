package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/gatekey/gatekey/ops"
	"github.com/gatekey/gatekey/tenant"
)

const opsUsage = `usage:
  gatekey ops token create --name N [--role admin|read]
  gatekey ops token revoke --name N
  gatekey ops token list`

// opsCommand manages staff tokens for the ops API. A new token goes to
// stdout, alone, for scripts; the note about it to stderr.
func opsCommand(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) < 2 || args[0] != "token" {
		return errors.New(opsUsage)
	}
	fs := flag.NewFlagSet("ops token "+args[1], flag.ContinueOnError)
	name := fs.String("name", "", "the token's name, as the audit log shows it (such as the person's email)")
	role := fs.String("role", ops.RoleRead, "admin (may change things) or read (may only look)")
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	if fs.NArg() > 0 || (args[1] != "list" && *name == "") {
		return errors.New(opsUsage)
	}
	cfg, err := loadConfig()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	db, err := tenant.Open(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	switch args[1] {
	case "create":
		t, token, err := ops.CreateToken(ctx, db, *name, *role, operator())
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, token)
		fmt.Fprintf(os.Stderr, "Staff token %q (%s) created. It is shown only this once: keep it in a password manager.\n", t.Name, t.Role)
		return nil
	case "revoke":
		t, err := ops.RevokeToken(ctx, db, *name, operator())
		if err != nil {
			return fmt.Errorf("%w: %q", err, *name)
		}
		fmt.Fprintf(stdout, "Staff token %q revoked; it stopped working at once.\n", t.Name)
		return nil
	case "list":
		tokens, err := ops.ListTokens(ctx, db)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tROLE\tCREATED\tLAST USED\tREVOKED")
		for _, t := range tokens {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", t.Name, t.Role, day(&t.CreatedAt), day(t.LastUsedAt), day(t.RevokedAt))
		}
		return w.Flush()
	}
	return errors.New(opsUsage)
}

// operator is who runs this command, for the ops audit log: the only
// "who" a command run on a machine can tell is that machine's user and
// host (and sudo's caller), as staff tokens are not needed to make them.
func operator() ops.Operator {
	op := ops.Operator{User: "uid " + strconv.Itoa(os.Getuid()), SudoUser: os.Getenv("SUDO_USER")}
	if u, err := user.Current(); err == nil {
		op.User = u.Username
	}
	op.Host, _ = os.Hostname()
	return op
}

func day(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}
