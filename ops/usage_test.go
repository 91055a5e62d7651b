package ops_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatekey/gatekey/membership"
)

type usageReport struct {
	TenantID       int64          `json:"tenant_id"`
	RawActivations map[string]int `json:"activations"`
	Orders         []struct {
		Currency        string `json:"currency"`
		Paid            int    `json:"paid"`
		PaidAmountMinor int64  `json:"paid_amount_minor"`
	} `json:"orders"`
	Fees []struct {
		Currency     string `json:"currency"`
		Orders       int    `json:"orders"`
		SalesMinor   int64  `json:"sales_minor"`
		FeeMinor     int64  `json:"fee_minor"`
		InvoiceMinor int64  `json:"invoice_minor"`
	} `json:"fees"`
	FeesSource string `json:"fees_source"`
}

func TestUsageReportCountsActivationsOrdersAndFees(t *testing.T) {
	w := newWorld(t)
	demo := w.Demo(t) // pay-as-you-go at 5%, a plan at 9.99 USD
	other, err := w.App.SeedDemo(context.Background(), w.Fake, "second@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	priced := false
	free := w.Codes(t, demo.TenantID, membership.CodeRequest{PlanID: demo.Plan.ID, Count: 1, MaxActivations: 5}).Codes[0].Code
	paid := w.Codes(t, demo.TenantID, membership.CodeRequest{PlanID: demo.Plan.ID, Count: 1, ZeroPriced: &priced}).Codes[0].Code
	for i, code := range []string{free, free, paid} {
		u := w.Fake.AddUser(fmt.Sprint("Member", i), fmt.Sprint("member", i))
		if msg := say(t, w, demo.Bot.TelegramID, u, "/start "+code); !strings.Contains(msg.Text, "Welcome to Demo membership") {
			t.Fatalf("activation %d: %q", i, msg.Text)
		}
	}
	u := w.Fake.AddUser("Other", "other")
	say(t, w, other.Bot.TelegramID, u, "/start "+w.Codes(t, other.TenantID, membership.CodeRequest{PlanID: other.Plan.ID, Count: 1, ZeroPriced: &priced}).Codes[0].Code)

	var r usageReport
	if status := w.reader.call("GET", "/tenants/"+itoa(demo.TenantID)+"/usage", nil, &r); status != 200 {
		t.Fatalf("usage: %d", status)
	}
	if fmt.Sprint(r.RawActivations) != fmt.Sprint(map[string]int{"total": 3, "zero_priced": 2, "priced": 1, "rolled_back": 0}) {
		t.Errorf("activations: %v", r.RawActivations)
	}
	if len(r.Orders) != 1 || r.Orders[0].Currency != "USD" || r.Orders[0].Paid != 1 || r.Orders[0].PaidAmountMinor != 999 {
		t.Errorf("orders: %+v", r.Orders)
	}
	// 5% of 9.99, rounded half up, from the fee ledger.
	if r.FeesSource != "ledger" || len(r.Fees) != 1 || r.Fees[0].Currency != "USD" || r.Fees[0].Orders != 1 ||
		r.Fees[0].SalesMinor != 999 || r.Fees[0].FeeMinor != 50 || r.Fees[0].InvoiceMinor != 50 {
		t.Errorf("fees (%s): %+v", r.FeesSource, r.Fees)
	}

	// A period before all this is empty.
	from := time.Now().AddDate(0, -2, 0).UTC().Format(time.DateOnly)
	to := time.Now().AddDate(0, -1, 0).UTC().Format(time.RFC3339)
	w.reader.call("GET", "/tenants/"+itoa(demo.TenantID)+"/usage?from="+from+"&to="+to, nil, &r)
	if r.RawActivations["total"] != 0 || len(r.Orders) != 0 || len(r.Fees) != 0 {
		t.Errorf("usage of an empty period: %+v", r)
	}

	for _, q := range []string{"?from=yesterday", "?to=2026-13-01", "?from=2026-02-01&to=2026-01-01", "?from=2026-01-01&to=2026-01-01"} {
		w.reader.refused("GET", "/tenants/"+itoa(demo.TenantID)+"/usage"+q, nil, 422, "invalid_request")
	}
	w.reader.refused("GET", "/tenants/999999/usage", nil, 404, "not_found")
}
