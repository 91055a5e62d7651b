package billing_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/membership"
)

// pricedActivations activates a priced code of plan n times.
func (f *fixture) pricedActivations(plan membership.Plan, n int) []membership.Activation {
	f.t.Helper()
	code := f.mustCodes(membership.CodeRequest{PlanID: plan.ID, Count: 1, MaxActivations: n, ZeroPriced: boolp(false)}).Codes[0].Code
	var out []membership.Activation
	for i := 0; i < n; i++ {
		out = append(out, f.activate(code))
	}
	return out
}

func (f *fixture) invoice(before time.Time) ([]billing.OwnerInvoice, error) {
	f.t.Helper()
	return f.svc.InvoiceTenant(f.ctx, f.tenantID, before)
}

// The invoice run bills each fee once, per currency, on the owner's Stripe
// customer; fees of refunded orders are dropped; fees of the current
// period wait; and a second run changes nothing and calls Stripe for
// nothing.
func TestInvoiceRunBillsEachFeeOnce(t *testing.T) {
	f := newFixture(t, true)
	eur := f.newPlan("Euro plan", money(1250, "EUR"))
	usd := f.pricedActivations(f.plan, 3)
	f.pricedActivations(eur, 2)
	f.exec("UPDATE orders SET status = 'refunded' WHERE id = $1", usd[2].Order.ID)
	f.exec("UPDATE fee_entries SET created_at = now() - interval '1 hour'") // into the last period
	f.pricedActivations(f.plan, 1)                                          // this period's

	before, _ := f.svc.Period().Bounds(time.Now())
	invs, err := f.invoice(before)
	if err != nil {
		t.Fatal(err)
	}
	if len(invs) != 2 {
		t.Fatalf("%d invoices, want one in EUR and one in USD: %+v", len(invs), invs)
	}
	wantAmount := map[string]int64{"EUR": 126, "USD": 100} // 2 × 62.5 → 63; 2 × 49.95 → 50
	wantEntries := map[string]int{"EUR": 2, "USD": 2}
	for _, inv := range invs {
		cur := inv.Amount.Currency
		if inv.Amount.Minor != wantAmount[cur] || inv.Entries != wantEntries[cur] || inv.Status != "open" ||
			inv.StripeInvoiceID == "" || !inv.PeriodEnd.Equal(before) || inv.FinalizedAt == nil {
			t.Errorf("invoice in %s = %+v", cur, inv)
		}
		if n := f.count("SELECT count(*) FROM fee_entries WHERE stripe_invoice_id = $1 AND currency = $2", inv.StripeInvoiceID, cur); n != wantEntries[cur] {
			t.Errorf("%d %s fee entries marked with %s, want %d", n, cur, inv.StripeInvoiceID, wantEntries[cur])
		}
	}
	if n := f.count("SELECT count(*) FROM fee_entries WHERE voided_at IS NOT NULL AND invoice_id IS NULL AND order_id = $1", usd[2].Order.ID); n != 1 {
		t.Error("the refunded order's fee was not dropped")
	}
	if n := f.count("SELECT count(*) FROM fee_entries WHERE invoice_id IS NULL AND voided_at IS NULL"); n != 1 {
		t.Errorf("%d fees left unbilled, want this period's 1", n)
	}

	// What Gatekey asked of Stripe.
	var cus string
	if err := f.owner.QueryRow(f.ctx, "SELECT stripe_customer_id FROM tenants").Scan(&cus); err != nil || cus == "" {
		t.Fatalf("no customer recorded: %q %v", cus, err)
	}
	customers := f.mock.Calls("POST", "/v1/customers")
	if len(customers) != 1 || customers[0].Form.Get("email") != "owner@example.com" ||
		customers[0].Form.Get("metadata["+billing.MetaTenant+"]") != strconv.FormatInt(f.tenantID, 10) {
		t.Errorf("customer calls = %+v", customers)
	}
	created := f.mock.Calls("POST", "/v1/invoices")
	items := f.mock.Calls("POST", "/v1/invoiceitems")
	if len(created) != 2 || len(items) != 2 {
		t.Fatalf("%d invoices and %d invoice items created, want 2 and 2", len(created), len(items))
	}
	for _, c := range created {
		if c.Form.Get("customer") != cus || c.Form.Get("collection_method") != "send_invoice" ||
			c.Form.Get("pending_invoice_items_behavior") != "exclude" || c.IdempotencyKey == "" {
			t.Errorf("invoice call = %+v", c)
		}
	}
	byInvoice := map[string]billing.OwnerInvoice{}
	for _, inv := range invs {
		byInvoice[inv.StripeInvoiceID] = inv
	}
	for _, c := range items {
		inv, ok := byInvoice[c.Form.Get("invoice")]
		if !ok || c.Form.Get("amount") != strconv.FormatInt(inv.Amount.Minor, 10) || c.Form.Get("currency") != map[string]string{"USD": "usd", "EUR": "eur"}[inv.Amount.Currency] {
			t.Errorf("invoice item call %+v does not match an invoice", c.Form)
		}
	}
	for _, inv := range invs {
		if n := len(f.mock.Calls("POST", "/v1/invoices/"+inv.StripeInvoiceID+"/finalize")); n != 1 {
			t.Errorf("invoice %s finalized %d times", inv.StripeInvoiceID, n)
		}
	}

	// Again: nothing to do, and Stripe is not called.
	calls := len(f.mock.Calls("POST", ""))
	again, err := f.invoice(before)
	if err != nil || len(again) != 0 {
		t.Fatalf("second run: %+v, %v", again, err)
	}
	if n := len(f.mock.Calls("POST", "")); n != calls {
		t.Errorf("second run made %d calls to Stripe", n-calls)
	}
	if n := f.count("SELECT count(*) FROM owner_invoices"); n != 2 {
		t.Errorf("%d invoice rows after the second run, want 2", n)
	}

	// A fee that comes late for a period already sent waits for the next.
	f.exec("UPDATE fee_entries SET created_at = now() - interval '1 hour' WHERE invoice_id IS NULL AND voided_at IS NULL")
	if again, err := f.invoice(before); err != nil || len(again) != 0 {
		t.Fatalf("run with a late fee: %+v, %v", again, err)
	}
	next, err := f.invoice(before.Add(time.Hour))
	if err != nil || len(next) != 1 || next[0].Amount != money(50, "USD") || next[0].Entries != 1 {
		t.Fatalf("next period's run: %+v, %v", next, err)
	}
	if n := f.count("SELECT count(DISTINCT stripe_invoice_id) FROM fee_entries WHERE currency = 'USD' AND voided_at IS NULL"); n != 2 {
		t.Errorf("USD fees on %d invoices, want 2", n)
	}

	var listed []billing.OwnerInvoice
	f.tx(func(tx pgx.Tx) error {
		var err error
		listed, err = billing.ListInvoices(f.ctx, tx, 10)
		return err
	})
	if len(listed) != 3 || !listed[0].PeriodEnd.Equal(before.Add(time.Hour)) {
		t.Errorf("listed invoices = %+v", listed)
	}
}

// A run that fails half way goes on where it stopped: the invoice made on
// Stripe before the failure is the one finished, with the same
// idempotency key on every try of a call.
func TestInvoiceRunResumesAfterFailure(t *testing.T) {
	f := newFixture(t, true)
	f.pricedActivations(f.plan, 2)
	f.exec("UPDATE fee_entries SET created_at = now() - interval '1 hour'")
	before, _ := f.svc.Period().Bounds(time.Now())

	f.mock.Fail("POST", "/v1/invoiceitems", 503, 3) // the first try and stripe-go's two retries
	if _, err := f.invoice(before); err == nil {
		t.Fatal("the run did not fail")
	}
	if n := f.count("SELECT count(*) FROM owner_invoices WHERE status = 'draft' AND stripe_invoice_id IS NOT NULL AND stripe_item_id IS NULL"); n != 1 {
		t.Fatalf("after the failure: %d draft invoices without a line, want 1", n)
	}
	invs, err := f.invoice(before)
	if err != nil || len(invs) != 1 || invs[0].Status != "open" || invs[0].Amount != money(100, "USD") {
		t.Fatalf("resumed run: %+v, %v", invs, err)
	}
	if n := len(f.mock.Calls("POST", "/v1/invoices")); n != 1 {
		t.Errorf("%d invoices created on Stripe, want 1", n)
	}
	items := f.mock.Calls("POST", "/v1/invoiceitems")
	if len(items) != 4 || items[3].Status != 200 {
		t.Fatalf("invoice item calls: %+v", items)
	}
	for _, c := range items {
		if c.IdempotencyKey != items[0].IdempotencyKey || c.Form.Get("invoice") != invs[0].StripeInvoiceID {
			t.Errorf("invoice item try %+v differs from the first (%s)", c, items[0].IdempotencyKey)
		}
	}
}

func TestInvoiceRunWithoutStripe(t *testing.T) {
	f := newFixture(t, false)
	svc := billing.New(f.db, billing.Config{}, nil)
	if _, err := svc.InvoiceTenant(f.ctx, f.tenantID, time.Now()); err != billing.ErrStripeOff {
		t.Errorf("without a key: %v", err)
	}
}
