package billing_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/internal/pgtest"
	"github.com/gatekey/gatekey/internal/stripetest"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

// fixture is a tenant with a bot, a chat and a 30-day plan at 9.99 USD,
// worked on directly through the domain packages (no Telegram), and,
// when asked, a billing service on a stripe-mock of its own.
type fixture struct {
	t        *testing.T
	ctx      context.Context
	db       *tenant.DB
	owner    *pgxpool.Pool // the database owner, whom row-level security does not hold
	tenantID int64
	bot      tenant.Bot
	chat     membership.Chat
	plan     membership.Plan
	svc      *billing.Service
	mock     *stripetest.Mock
}

var nextUser atomic.Int64

func newFixture(t *testing.T, withStripe bool) *fixture {
	t.Helper()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	db, err := tenant.Open(ctx, url, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	owner, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(owner.Close)
	f := &fixture{t: t, ctx: ctx, db: db, owner: owner}
	if f.tenantID, err = db.SignUp(ctx, "owner@example.com", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	keys, err := tenant.NewKeyring(strings.Repeat("42", 32))
	if err != nil {
		t.Fatal(err)
	}
	f.tx(func(tx pgx.Tx) error {
		if f.bot, err = tenant.AddBot(ctx, tx, keys, 777000, "fixture_bot", "777000:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); err != nil {
			return err
		}
		f.chat, err = membership.UpsertChat(ctx, tx, membership.Chat{BotID: f.bot.ID, TelegramChatID: -100123, Kind: "channel",
			Title: "Fixture Channel", BotStatus: "administrator", CanInvite: true, CanRestrict: true})
		return err
	})
	f.plan = f.newPlan("Fixture plan", membership.Money{Minor: 999, Currency: "USD"})
	if withStripe {
		f.mock = stripetest.Start(t)
		f.svc = billing.New(db, billing.Config{APIKey: stripetest.APIKey, APIURL: f.mock.URL,
			WebhookSecret: stripetest.WebhookSecret, Period: billing.Period{Every: time.Hour}}, nil)
	}
	return f
}

// tx runs fn as the application for the fixture's tenant.
func (f *fixture) tx(fn func(tx pgx.Tx) error) {
	f.t.Helper()
	if err := f.db.Tx(f.ctx, f.tenantID, fn); err != nil {
		f.t.Fatal(err)
	}
}

// exec runs SQL as the database owner: staff's overrides, the clock moved.
func (f *fixture) exec(sql string, args ...any) {
	f.t.Helper()
	if _, err := f.owner.Exec(f.ctx, sql, args...); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) count(sql string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.owner.QueryRow(f.ctx, sql, args...).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) newPlan(name string, price membership.Money) membership.Plan {
	f.t.Helper()
	var p membership.Plan
	f.tx(func(tx pgx.Tx) error {
		var err error
		p, err = membership.CreatePlan(f.ctx, tx, membership.NewPlan{BotID: f.bot.ID, Name: name, PeriodDays: 30,
			Price: price, ChatIDs: []int64{f.chat.ID}})
		return err
	})
	return p
}

func (f *fixture) member() membership.Member {
	f.t.Helper()
	n := nextUser.Add(1)
	var m membership.Member
	f.tx(func(tx pgx.Tx) error {
		var err error
		m, err = membership.UpsertMember(f.ctx, tx, f.bot.ID, membership.Person{TelegramUserID: 5000 + n, FirstName: fmt.Sprint("Member ", n)})
		return err
	})
	return m
}

// createCodes asks for codes as every caller does, through billing.
func (f *fixture) createCodes(req membership.CodeRequest) (membership.Batch, error) {
	f.t.Helper()
	if req.PlanID == 0 {
		req.PlanID = f.plan.ID
	}
	var b membership.Batch
	err := f.db.Tx(f.ctx, f.tenantID, func(tx pgx.Tx) error {
		var err error
		b, err = billing.CreateCodes(f.ctx, tx, req)
		return err
	})
	return b, err
}

func (f *fixture) mustCodes(req membership.CodeRequest) membership.Batch {
	f.t.Helper()
	b, err := f.createCodes(req)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

// activate redeems a code for a new member as the bot does: the
// activation, then billing's part, in one transaction.
func (f *fixture) activate(code string) membership.Activation {
	f.t.Helper()
	m := f.member()
	var a membership.Activation
	f.tx(func(tx pgx.Tx) error {
		var err error
		if a, err = membership.Activate(f.ctx, tx, m, code); err != nil {
			return err
		}
		return billing.AfterActivation(f.ctx, tx, a)
	})
	return a
}

func (f *fixture) fairUse() billing.FairUse {
	f.t.Helper()
	var fu billing.FairUse
	f.tx(func(tx pgx.Tx) error {
		var err error
		fu, err = billing.GetFairUse(f.ctx, tx)
		return err
	})
	return fu
}

func boolp(b bool) *bool { return &b }
