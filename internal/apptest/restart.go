package apptest

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gatekey/gatekey/internal/app"
)

// Restart stops the running Gatekey, as a deploy or a crash between two
// updates would, and starts a new one with the same configuration: the
// same database, the same fake Telegram, and the same address, so the
// webhooks the bots set still reach it. Env.App is the new one after.
// Nothing is carried over in memory; what survives, survived in
// PostgreSQL.
func (e *Env) Restart(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	old := e.App
	old.Shutdown(ctx)
	ln, err := listenAgain(ctx, strings.TrimPrefix(e.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := old.Config
	a, err := app.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background(), ln); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Shutdown(ctx)
	})
	e.App = a
}

// listenAgain binds the address the old server let go of, retrying
// briefly while the operating system releases it.
func listenAgain(ctx context.Context, addr string) (net.Listener, error) {
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil || ctx.Err() != nil {
			return ln, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}
