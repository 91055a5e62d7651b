package apptest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/telegram/telegramtest"
	"github.com/gatekey/gatekey/tenant"
)

// Demo seeds the demo tenant (a bot, two chats, a 30-day plan at 9.99 USD).
func (e *Env) Demo(t testing.TB) app.Demo {
	t.Helper()
	d, err := e.App.SeedDemo(context.Background(), e.Fake, "owner@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TenantWithBot signs up a tenant as email and connects a fake bot of
// that username to it: the usual second tenant of isolation tests.
func (e *Env) TenantWithBot(t testing.TB, email, botUsername string) (int64, tenant.Bot) {
	t.Helper()
	ctx := context.Background()
	id, err := e.App.DB.SignUp(ctx, email, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	bot, err := e.App.ConnectFakeBot(ctx, e.Fake, id, botUsername)
	if err != nil {
		t.Fatal(err)
	}
	return id, bot
}

// Tx runs fn as the application, for tenantID, failing t on error.
func (e *Env) Tx(t testing.TB, tenantID int64, fn func(tx pgx.Tx) error) {
	t.Helper()
	if err := e.App.DB.Tx(context.Background(), tenantID, fn); err != nil {
		t.Fatal(err)
	}
}

// Owner is a pool on the test's database as its owner, which row-level
// security does not restrict: for looking behind the application's back.
func (e *Env) Owner(t testing.TB) *pgxpool.Pool {
	t.Helper()
	if e.owner == nil {
		pool, err := pgxpool.New(context.Background(), e.DatabaseURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		e.owner = pool
	}
	return e.owner
}

// Count runs a count(*) query as the owner.
func (e *Env) Count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.Owner(t).QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Codes creates codes for a tenant's plan.
func (e *Env) Codes(t testing.TB, tenantID int64, req membership.CodeRequest) membership.Batch {
	t.Helper()
	var b membership.Batch
	e.Tx(t, tenantID, func(tx pgx.Tx) error {
		var err error
		b, err = membership.CreateCodes(context.Background(), tx, req)
		return err
	})
	return b
}

// Messages waits until the user has at least n messages from the bot and
// returns them all.
func (e *Env) Messages(t testing.TB, botTelegramID, userID int64, n int) []telegramtest.Message {
	t.Helper()
	var msgs []telegramtest.Message
	e.Wait(t, "bot messages", func() bool {
		msgs = e.Fake.Messages(botTelegramID, userID)
		return len(msgs) >= n
	})
	return msgs
}

// Idle waits until River has no job left to run now.
func (e *Env) Idle(t testing.TB) {
	t.Helper()
	e.Wait(t, "jobs to finish", func() bool {
		return e.Count(t, "SELECT count(*) FROM river_job WHERE state IN ('available', 'running', 'retryable') AND scheduled_at <= now()") == 0
	})
}
