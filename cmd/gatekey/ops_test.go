package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"os/user"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/internal/pgtest"
	"github.com/gatekey/gatekey/ops"
)

func TestOpsTokenCommands(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	t.Setenv("DATABASE_URL", dbURL)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	stored := func(name, role string, token string) int {
		sum := sha256.Sum256([]byte(token))
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM ops_tokens WHERE name = $1 AND role = $2 AND token_hash = $3 AND revoked_at IS NULL",
			name, role, sum[:]).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	var out bytes.Buffer
	if err := run([]string{"ops", "token", "create", "--name", "alice@gatekey.dev", "--role", "admin"}, &out); err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSuffix(out.String(), "\n")
	if !strings.HasPrefix(token, ops.TokenPrefix) || strings.Contains(token, "\n") || len(token) != len(ops.TokenPrefix)+43 {
		t.Fatalf("printed %q, want only the token", out.String())
	}
	if stored("alice@gatekey.dev", "admin", token) != 1 {
		t.Error("the printed token is not stored by its hash with the admin role")
	}
	var plain int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM ops_tokens t WHERE strpos(t::text, $1) > 0", token[len(ops.TokenPrefix):]).Scan(&plain); err != nil || plain != 0 {
		t.Errorf("the token itself is stored (%d rows, %v)", plain, err)
	}

	// The role defaults to read.
	out.Reset()
	if err := run([]string{"ops", "token", "create", "--name", "rob"}, &out); err != nil {
		t.Fatal(err)
	}
	if stored("rob", "read", strings.TrimSpace(out.String())) != 1 {
		t.Error("a token without --role is not a read token")
	}

	// Bad input is refused, prints no token, and stores nothing.
	for _, args := range [][]string{
		{"ops", "token", "create", "--name", "alice@gatekey.dev"}, // a live token has the name
		{"ops", "token", "create", "--name", "carol", "--role", "root"},
		{"ops", "token", "create", "--name", "carol smith"},
		{"ops", "token", "create", "--name", ""},
		{"ops", "token", "create"},
		{"ops", "token", "revoke", "--name", "nobody"},
		{"ops", "token", "revoke"},
		{"ops", "token", "rotate", "--name", "rob"},
		{"ops", "tokens"},
		{"ops"},
	} {
		out.Reset()
		if err := run(args, &out); err == nil || out.Len() > 0 {
			t.Errorf("%v: err = %v, printed %q; want an error and nothing printed", args, err, out.String())
		}
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM ops_tokens").Scan(&n); err != nil || n != 2 {
		t.Errorf("%d tokens stored, want 2 (%v)", n, err)
	}

	out.Reset()
	if err := run([]string{"ops", "token", "revoke", "--name", "alice@gatekey.dev"}, &out); err != nil || !strings.Contains(out.String(), "revoked") {
		t.Fatalf("revoke: %v %q", err, out.String())
	}
	if stored("alice@gatekey.dev", "admin", token) != 0 {
		t.Error("the revoked token is still live")
	}
	out.Reset()
	if err := run([]string{"ops", "token", "list"}, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "alice@gatekey.dev") || strings.HasSuffix(lines[1], "-") ||
		!strings.HasPrefix(lines[2], "rob") || !strings.HasSuffix(lines[2], "-") || strings.Contains(out.String(), ops.TokenPrefix) {
		t.Errorf("list:\n%s", out.String())
	}

	// The ops audit log has who made and revoked each token, as far as
	// this machine tells; the refused commands are not in it.
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	rows, err := conn.Query(ctx, `SELECT concat_ws(' ', token_name, method, path, status, summary->>'role', summary->>'os_user', summary->>'host')
		FROM ops_audit ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	audited, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	who := me.Username + " " + host
	want := []string{
		"alice@gatekey.dev CLI gatekey ops token create 200 admin " + who,
		"rob CLI gatekey ops token create 200 read " + who,
		"alice@gatekey.dev CLI gatekey ops token revoke 200 admin " + who,
	}
	if strings.Join(audited, "\n") != strings.Join(want, "\n") {
		t.Errorf("ops audit log:\n%s\nwant\n%s", strings.Join(audited, "\n"), strings.Join(want, "\n"))
	}
}
