package webhooks_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/internal/stripetest"
)

// Stripe does not promise the order of its events: a full refund that
// comes before its payment's checkout.session.completed makes that
// payment grant nothing, and both sides are told.
func TestRefundBeforePaymentGrantsNothing(t *testing.T) {
	w := newPayWorld(t, nil)
	bot := w.demo.Bot.TelegramID
	dan := w.Fake.AddUser("Dan", "dan")
	c := w.pay(t, dan)

	if status := w.deliver(t, w.refunded("evt_refund_first", "pi_dan", true)); status != 200 {
		t.Fatalf("early refund: %d", status)
	}
	completed := w.completed("evt_paid_dan", c, "pi_dan")
	for i := 0; i < 2; i++ {
		if status := w.deliver(t, completed); status != 200 {
			t.Fatalf("payment delivery %d: %d", i+1, status)
		}
	}
	msg := w.Messages(t, bot, dan.ID, 3)[2]
	if !strings.Contains(msg.Text, "was refunded, so it gives no access") {
		t.Errorf("Dan told %q", msg.Text)
	}
	w.Idle(t)
	checks := map[string]int{
		"SELECT count(*) FROM memberships": 0,
		"SELECT count(*) FROM orders":      0,
		"SELECT count(*) FROM fee_entries": 0,
		"SELECT count(*) FROM checkouts WHERE status = 'refunded' AND payment_intent_id = 'pi_dan'": 1,
		"SELECT count(*) FROM refunds_ahead": 0,
		"SELECT count(*) FROM notifications WHERE kind = 'stripe_refund' AND text LIKE '%no access was%'": 1,
	}
	for q, want := range checks {
		if n := w.Count(t, q); n != want {
			t.Errorf("%s: %d, want %d", q, n, want)
		}
	}
	if n := len(w.Fake.Messages(bot, dan.ID)); n != 3 {
		t.Errorf("Dan got %d messages, want 3 (welcome, payment link, refund)", n)
	}
}

// A checkout whose Stripe page expired unpaid is closed, so the next Pay
// makes a new page rather than offering the dead one again.
func TestExpiredCheckoutIsNotOfferedAgain(t *testing.T) {
	w := newPayWorld(t, nil)
	erin := w.Fake.AddUser("Erin", "erin")
	c := w.pay(t, erin)
	expired := stripetest.Event("evt_expired", stripe.EventTypeCheckoutSessionExpired, w.acct, map[string]any{
		"id": c.session, "object": "checkout.session", "mode": "payment", "status": "expired", "payment_status": "unpaid",
		"metadata": map[string]string{billing.MetaTenant: strconv.FormatInt(w.demo.TenantID, 10), billing.MetaCheckout: strconv.FormatInt(c.id, 10)},
	})
	if status := w.deliver(t, expired); status != 200 {
		t.Fatalf("expired: %d", status)
	}
	if n := w.Count(t, "SELECT count(*) FROM checkouts WHERE status = 'expired' AND id = $1", c.id); n != 1 {
		t.Fatal("the checkout was not closed")
	}
	again := w.pay(t, erin)
	if again.id == c.id {
		t.Error("the expired checkout was offered again")
	}
	if n := len(w.mock.Calls("POST", "/v1/checkout/sessions")); n != 2 {
		t.Errorf("%d checkout sessions made, want 2", n)
	}
}

// flatEvent is an event about the demo owner's flat-plan subscription,
// from Gatekey's own Stripe account (account "") or, forged, from the
// owner's connected account.
func (w payWorld) flatEvent(id string, typ stripe.EventType, account string, obj map[string]any) []byte {
	obj["metadata"] = map[string]string{billing.MetaTenant: strconv.FormatInt(w.demo.TenantID, 10), billing.MetaFlat: "1"}
	return stripetest.Event(id, typ, account, obj)
}

// plan is the demo tenant's billing plan and flat-plan subscription.
func (w payWorld) plan(t *testing.T) string {
	t.Helper()
	var s string
	err := w.Owner(t).QueryRow(context.Background(), `SELECT concat_ws(' ', billing_plan, flat_subscription_id, flat_status,
		flat_cancel_at_period_end, flat_period_end IS NOT NULL) FROM tenants WHERE id = $1`, w.demo.TenantID).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The flat plan is a Stripe subscription on Gatekey's own account. Its
// events only say that something changed: Gatekey reads the subscription
// from Stripe and follows that, so events from an owner's connected
// account or for another customer, late or out of order, change nothing
// they should not, and a second subscription is cancelled.
func TestFlatPlanFollowsItsSubscription(t *testing.T) {
	w := newPayWorld(t, nil)
	ctx := context.Background()
	url, err := w.App.Billing.SubscribeFlat(ctx, w.demo.TenantID, w.URL+"/billing?flat=started", w.URL+"/billing")
	if err != nil || !strings.HasPrefix(url, "https://") {
		t.Fatalf("subscribe: %q %v", url, err)
	}
	calls := w.mock.Calls("POST", "/v1/checkout/sessions")
	if len(calls) != 1 {
		t.Fatalf("%d checkout sessions", len(calls))
	}
	f := calls[0].Form
	var customer string
	if err := w.Owner(t).QueryRow(ctx, "SELECT stripe_customer_id FROM tenants").Scan(&customer); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"mode": "subscription", "customer": customer,
		"line_items[0][price_data][unit_amount]":                "2900",
		"line_items[0][price_data][currency]":                   "usd",
		"line_items[0][price_data][recurring][interval]":        "month",
		"subscription_data[metadata][" + billing.MetaFlat + "]": "1",
	} {
		if got := f.Get(k); got != want {
			t.Errorf("checkout %s = %q, want %q", k, got, want)
		}
	}
	if calls[0].StripeAccount != "" {
		t.Error("the flat plan was sold on a connected account")
	}
	// Asking again while the page is open gives the same page.
	if again, err := w.App.Billing.SubscribeFlat(ctx, w.demo.TenantID, w.URL+"/billing?flat=started", w.URL+"/billing"); err != nil || again != url {
		t.Errorf("second subscribe: %q %v, want the same page", again, err)
	}
	if n := len(w.mock.Calls("POST", "/v1/checkout/sessions")); n != 1 {
		t.Errorf("%d checkout sessions after asking twice, want 1", n)
	}

	// Stripe's subscription, as a test moves it along.
	stripeHas := func(id, status string, cancel bool) {
		w.mock.Answer("GET", "/v1/subscriptions/"+id, map[string]any{"id": id, "object": "subscription", "status": status,
			"customer": customer, "cancel_at_period_end": cancel, "current_period_end": time.Now().Add(30 * 24 * time.Hour).Unix(),
			"metadata": map[string]string{billing.MetaTenant: strconv.FormatInt(w.demo.TenantID, 10), billing.MetaFlat: "1"}})
	}
	completed := func(id, sub, cus string) map[string]any {
		return map[string]any{"id": id, "object": "checkout.session", "mode": "subscription", "status": "complete",
			"payment_status": "paid", "customer": cus, "subscription": sub}
	}
	updated := func(sub, status string) map[string]any {
		return map[string]any{"id": sub, "object": "subscription", "status": status, "customer": customer}
	}
	deliver := func(ev []byte) {
		t.Helper()
		if status := w.deliver(t, ev); status != 200 {
			t.Fatalf("delivery: %d", status)
		}
		w.Idle(t)
	}

	// Forged: the owner's own connected account, or someone else's customer.
	stripeHas("sub_flat1", "active", false)
	deliver(w.flatEvent("evt_flat_forged", stripe.EventTypeCheckoutSessionCompleted, w.acct, completed("cs_1", "sub_flat1", customer)))
	deliver(w.flatEvent("evt_flat_other", stripe.EventTypeCheckoutSessionCompleted, "", completed("cs_1", "sub_flat1", "cus_someone_else")))
	if got := w.plan(t); got != "payg  f f" || len(w.mock.Calls("GET", "/v1/subscriptions/sub_flat1")) != 0 {
		t.Fatalf("after forged events: %q", got)
	}

	steps := []struct {
		what   string
		stripe func()
		event  []byte
		want   string
	}{
		{"the checkout completes", func() {},
			w.flatEvent("evt_flat_started", stripe.EventTypeCheckoutSessionCompleted, "", completed("cs_1", "sub_flat1", customer)),
			"flat sub_flat1 active f t"},
		{"the owner cancels in Stripe", func() { stripeHas("sub_flat1", "active", true) },
			w.flatEvent("evt_sub_cancel", stripe.EventTypeCustomerSubscriptionUpdated, "", updated("sub_flat1", "active")),
			"flat sub_flat1 active t t"},
		{"a payment fails", func() { stripeHas("sub_flat1", "past_due", true) },
			w.flatEvent("evt_sub_past_due", stripe.EventTypeCustomerSubscriptionUpdated, "", updated("sub_flat1", "past_due")),
			"flat sub_flat1 past_due t t"},
		{"it ends", func() { stripeHas("sub_flat1", "canceled", true) },
			w.flatEvent("evt_sub_deleted", stripe.EventTypeCustomerSubscriptionDeleted, "", updated("sub_flat1", "canceled")),
			"payg sub_flat1 canceled t t"},
		{"an earlier event comes late", func() {},
			w.flatEvent("evt_sub_late", stripe.EventTypeCustomerSubscriptionCreated, "", updated("sub_flat1", "active")),
			"payg sub_flat1 canceled t t"},
		{"the owner subscribes again", func() { stripeHas("sub_flat2", "active", false) },
			w.flatEvent("evt_flat_again", stripe.EventTypeCheckoutSessionCompleted, "", completed("cs_2", "sub_flat2", customer)),
			"flat sub_flat2 active f t"},
		{"the old one's event comes again", func() {},
			w.flatEvent("evt_sub_old", stripe.EventTypeCustomerSubscriptionUpdated, "", updated("sub_flat1", "active")),
			"flat sub_flat2 active f t"},
		{"a second live subscription", func() { stripeHas("sub_flat3", "active", false) },
			w.flatEvent("evt_sub_dup", stripe.EventTypeCustomerSubscriptionCreated, "", updated("sub_flat3", "active")),
			"flat sub_flat2 active f t"},
	}
	for _, s := range steps {
		s.stripe()
		deliver(s.event)
		deliver(s.event) // Stripe may deliver any event twice
		if got := w.plan(t); got != s.want {
			t.Errorf("after %s: %q, want %q", s.what, got, s.want)
		}
	}
	if n := len(w.mock.Calls("DELETE", "/v1/subscriptions/sub_flat3")); n != 1 {
		t.Errorf("the second subscription was cancelled %d times, want 1", n)
	}
	for action, want := range map[string]int{"billing.flat_active": 2, "billing.flat_past_due": 1, "billing.flat_canceled": 1,
		"billing.flat_duplicate_cancelled": 1} {
		if n := w.Count(t, "SELECT count(*) FROM audit_log WHERE action = $1", action); n != want {
			t.Errorf("%d audit entries %s, want %d", n, action, want)
		}
	}
}

// A refund kept for a payment that never came is forgotten after a week,
// when the next one is kept.
func TestRefundsKeptAheadAreForgotten(t *testing.T) {
	w := newPayWorld(t, nil)
	if status := w.deliver(t, w.refunded("evt_refund_old", "pi_never", true)); status != 200 {
		t.Fatal(status)
	}
	if _, err := w.Owner(t).Exec(context.Background(), "UPDATE refunds_ahead SET received_at = now() - interval '8 days'"); err != nil {
		t.Fatal(err)
	}
	if status := w.deliver(t, w.refunded("evt_refund_new", "pi_later", true)); status != 200 {
		t.Fatal(status)
	}
	if n := w.Count(t, "SELECT count(*) FROM refunds_ahead WHERE payment_intent_id = 'pi_later'"); n != 1 {
		t.Error("the new refund was not kept")
	}
	if n := w.Count(t, "SELECT count(*) FROM refunds_ahead"); n != 1 {
		t.Errorf("%d refunds kept, want only the new one", n)
	}
}

// A subscription Stripe does not know (a 404) cancels its sync job for
// good, and changes nothing.
func TestFlatSyncOfAnUnknownSubscriptionStops(t *testing.T) {
	w := newPayWorld(t, nil)
	if _, err := w.App.Billing.SubscribeFlat(context.Background(), w.demo.TenantID, w.URL+"/billing", w.URL+"/billing"); err != nil {
		t.Fatal(err)
	}
	var customer string
	if err := w.Owner(t).QueryRow(context.Background(), "SELECT stripe_customer_id FROM tenants").Scan(&customer); err != nil {
		t.Fatal(err)
	}
	w.mock.Fail("GET", "/v1/subscriptions/sub_gone", 404, 1)
	ev := w.flatEvent("evt_gone", stripe.EventTypeCustomerSubscriptionUpdated, "", map[string]any{
		"id": "sub_gone", "object": "subscription", "status": "active", "customer": customer})
	if status := w.deliver(t, ev); status != 200 {
		t.Fatal(status)
	}
	w.Wait(t, "the sync job to stop", func() bool {
		return w.Count(t, "SELECT count(*) FROM river_job WHERE kind = 'billing.sync_flat' AND state = 'cancelled'") == 1
	})
	if got := w.plan(t); got != "payg  f f" {
		t.Errorf("plan after an unknown subscription: %q", got)
	}
	if n := len(w.mock.Calls("GET", "/v1/subscriptions/sub_gone")); n != 1 {
		t.Errorf("Stripe asked %d times, want once", n)
	}
}
