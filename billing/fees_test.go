package billing_test

import (
	"math"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/membership"
)

func TestFeeRoundsHalfUp(t *testing.T) {
	cases := []struct {
		amount int64
		bp     int
		want   int64
	}{
		{999, 500, 50}, // 49.95
		{10, 500, 1},   // 0.5: half rounds up
		{9, 500, 0},    // 0.45
		{30, 500, 2},   // 1.5
		{29, 500, 1},   // 1.45
		{1, 10000, 1},  // 100%
		{12345, 1, 1},  // 1.2345
		{5000, 1, 1},   // 0.5
		{4999, 1, 0},   // 0.4999
		{0, 500, 0},    // free
		{999, 0, 0},    // no fee
		{500, 250, 13}, // 12.5
		{100000, 500, 5000},
		{math.MaxInt64, 10000, math.MaxInt64}, // no overflow on the way
		{math.MaxInt64 / 2, 500, (math.MaxInt64/2)/10000*500 + ((math.MaxInt64/2)%10000*500+5000)/10000},
	}
	for _, c := range cases {
		if got := billing.Fee(c.amount, c.bp); got != c.want {
			t.Errorf("Fee(%d, %d bp) = %d, want %d", c.amount, c.bp, got, c.want)
		}
	}
}

func TestRateText(t *testing.T) {
	for bp, want := range map[int]string{500: "5%", 250: "2.5%", 1: "0.01%", 0: "0%", 10000: "100%", 1234: "12.34%", 1230: "12.3%"} {
		if got := billing.RateText(bp); got != want {
			t.Errorf("RateText(%d) = %q, want %q", bp, got, want)
		}
	}
}

func TestPeriodBounds(t *testing.T) {
	at := time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC)
	start, end := billing.Monthly.Bounds(at)
	if !start.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) || !end.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("December: %v .. %v", start, end)
	}
	start, end = billing.Monthly.Previous(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	if !start.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) || !end.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("the period before January: %v .. %v", start, end)
	}
	hourly, err := billing.ParsePeriod("1h")
	if err != nil {
		t.Fatal(err)
	}
	start, end = hourly.Bounds(time.Date(2026, 5, 4, 13, 25, 0, 0, time.FixedZone("x", 3600)))
	if !start.Equal(time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)) || end.Sub(start) != time.Hour {
		t.Errorf("hourly: %v .. %v", start, end)
	}
	for _, bad := range []string{"weekly", "10ms", "-1h"} {
		if _, err := billing.ParsePeriod(bad); err == nil {
			t.Errorf("ParsePeriod(%q) accepted", bad)
		}
	}
}

// The ledger: a priced activation on pay-as-you-go adds its fee, to be
// invoiced; a zero-priced one adds nothing; the flat plan adds nothing.
func TestFeeLedgerForActivations(t *testing.T) {
	f := newFixture(t, false)
	priced := f.mustCodes(membership.CodeRequest{Count: 1, MaxActivations: 10, ZeroPriced: boolp(false)}).Codes[0].Code
	free := f.mustCodes(membership.CodeRequest{Count: 1, MaxActivations: 10}).Codes[0].Code

	a := f.activate(priced)
	f.activate(free)
	var e billing.FeeEntry
	f.tx(func(tx pgx.Tx) error {
		var err error
		e, err = billing.FeeOfOrder(f.ctx, tx, a.Order.ID)
		return err
	})
	want := billing.FeeEntry{ID: e.ID, OrderID: a.Order.ID, Source: "access_code", Order: membership.Money{Minor: 999, Currency: "USD"},
		BasisPoints: 500, Fee: membership.Money{Minor: 50, Currency: "USD"}, Settlement: billing.SettleByInvoice, CreatedAt: e.CreatedAt}
	if e != want {
		t.Errorf("fee entry = %+v\nwant %+v", e, want)
	}
	if n := f.count("SELECT count(*) FROM fee_entries"); n != 1 {
		t.Errorf("%d fee entries after a priced and a free activation, want 1", n)
	}

	// Staff set a tenant's rate: it applies to the next order.
	f.exec("UPDATE tenants SET fee_basis_points = 250")
	f.activate(priced)
	if n := f.count("SELECT count(*) FROM fee_entries WHERE basis_points = 250 AND fee_minor = 25"); n != 1 {
		t.Errorf("at 2.5%%, no fee entry of 0.25 USD (24.975)")
	}

	f.exec("UPDATE tenants SET billing_plan = 'flat'")
	f.activate(priced)
	if n := f.count("SELECT count(*) FROM fee_entries"); n != 2 {
		t.Errorf("%d fee entries after an activation on the flat plan, want still 2", n)
	}
}

// Fees are kept per currency, and the summary totals each on its own.
func TestFeeLedgerInSeveralCurrencies(t *testing.T) {
	f := newFixture(t, false)
	eur := f.newPlan("Euro plan", membership.Money{Minor: 1250, Currency: "EUR"})
	jpy := f.newPlan("Yen plan", membership.Money{Minor: 1500, Currency: "JPY"})
	for _, p := range []membership.Plan{f.plan, eur, jpy} {
		code := f.mustCodes(membership.CodeRequest{PlanID: p.ID, Count: 1, MaxActivations: 5, ZeroPriced: boolp(false)}).Codes[0].Code
		for i := 0; i < 2; i++ {
			f.activate(code)
		}
	}
	var o billing.Overview
	f.tx(func(tx pgx.Tx) error {
		var err error
		o, err = billing.Summary(f.ctx, tx, billing.Monthly, time.Now())
		return err
	})
	want := []billing.CurrencyFees{
		{Currency: "EUR", Orders: 2, Sales: money(2500, "EUR"), Fees: money(126, "EUR"), Collected: money(0, "EUR"), ToInvoice: money(126, "EUR")},
		{Currency: "JPY", Orders: 2, Sales: money(3000, "JPY"), Fees: money(150, "JPY"), Collected: money(0, "JPY"), ToInvoice: money(150, "JPY")},
		{Currency: "USD", Orders: 2, Sales: money(1998, "USD"), Fees: money(100, "USD"), Collected: money(0, "USD"), ToInvoice: money(100, "USD")},
	}
	if len(o.Fees) != len(want) {
		t.Fatalf("summary fees = %+v", o.Fees)
	}
	for i := range want {
		if o.Fees[i] != want[i] {
			t.Errorf("fees in %s = %+v\nwant %+v", want[i].Currency, o.Fees[i], want[i])
		}
	}
	if o.FeeRate != "5%" || o.Terms.Plan != billing.PlanPayAsYouGo || o.FairUse.Allowance != 50 {
		t.Errorf("summary = %+v", o)
	}
	if o.Fees[2].Fees.String() != "1 USD" || o.Fees[1].Fees.String() != "150 JPY" {
		t.Errorf("fees shown as %s and %s", o.Fees[2].Fees, o.Fees[1].Fees)
	}

	// A refunded order leaves the summary at once, before the invoice run
	// voids its fee.
	f.exec("UPDATE orders SET status = 'refunded' WHERE currency = 'EUR'")
	f.tx(func(tx pgx.Tx) error {
		var err error
		o, err = billing.Summary(f.ctx, tx, billing.Monthly, time.Now())
		return err
	})
	if len(o.Fees) != 2 || o.Fees[0].Currency != "JPY" || o.Fees[1].Currency != "USD" {
		t.Errorf("after the euro orders were refunded, summary fees = %+v, want JPY and USD only", o.Fees)
	}
}

func money(minor int64, cur string) membership.Money {
	return membership.Money{Minor: minor, Currency: cur}
}
