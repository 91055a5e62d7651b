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
	meta := map[string]string{billing.MetaTenant: strconv.FormatInt(w.demo.TenantID, 10), billing.MetaFlat: "1"}
	obj["metadata"] = meta
	return stripetest.Event(id, typ, account, obj)
}

func (w payWorld) plan(t *testing.T) string {
	t.Helper()
	var plan, status string
	var cancel bool
	err := w.Owner(t).QueryRow(context.Background(), "SELECT billing_plan, flat_status, flat_cancel_at_period_end FROM tenants WHERE id = $1",
		w.demo.TenantID).Scan(&plan, &status, &cancel)
	if err != nil {
		t.Fatal(err)
	}
	return plan + " " + status + " " + strconv.FormatBool(cancel)
}

// The flat plan is a Stripe subscription on Gatekey's own account: its
// checkout starts it, its events follow it, its end puts the tenant back
// on pay-as-you-go. Events from an owner's connected account, for another
// customer, or out of order change nothing.
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

	session := func(cus string) map[string]any {
		return map[string]any{"id": "cs_flat", "object": "checkout.session", "mode": "subscription", "status": "complete",
			"payment_status": "paid", "customer": cus, "subscription": "sub_flat1"}
	}
	// Forged: the owner's own connected account, or someone else's customer.
	for _, ev := range [][]byte{
		w.flatEvent("evt_flat_forged", stripe.EventTypeCheckoutSessionCompleted, w.acct, session(customer)),
		w.flatEvent("evt_flat_other", stripe.EventTypeCheckoutSessionCompleted, "", session("cus_someone_else")),
	} {
		if status := w.deliver(t, ev); status != 200 {
			t.Fatalf("forged flat event: %d", status)
		}
	}
	if got := w.plan(t); got != "payg  false" {
		t.Fatalf("after forged events: %q", got)
	}

	started := w.flatEvent("evt_flat_started", stripe.EventTypeCheckoutSessionCompleted, "", session(customer))
	for i := 0; i < 2; i++ {
		if status := w.deliver(t, started); status != 200 {
			t.Fatal(status)
		}
	}
	if got := w.plan(t); got != "flat active false" {
		t.Fatalf("after checkout: %q", got)
	}
	if n := w.Count(t, "SELECT count(*) FROM audit_log WHERE action = 'billing.flat_active'"); n != 1 {
		t.Errorf("%d audit entries for the start, want 1", n)
	}

	sub := func(status string, cancel bool) map[string]any {
		return map[string]any{"id": "sub_flat1", "object": "subscription", "status": status, "customer": customer,
			"cancel_at_period_end": cancel, "current_period_end": time.Now().Add(30 * 24 * time.Hour).Unix()}
	}
	steps := []struct {
		id   string
		typ  stripe.EventType
		obj  map[string]any
		want string
	}{
		{"evt_sub_cancel", stripe.EventTypeCustomerSubscriptionUpdated, sub("active", true), "flat active true"},
		{"evt_sub_past_due", stripe.EventTypeCustomerSubscriptionUpdated, sub("past_due", true), "flat past_due true"},
		{"evt_sub_deleted", stripe.EventTypeCustomerSubscriptionDeleted, sub("canceled", true), "payg canceled true"},
		// An update Stripe sent before the deletion, delivered after it.
		{"evt_sub_late", stripe.EventTypeCustomerSubscriptionUpdated, sub("active", false), "payg canceled true"},
	}
	for _, s := range steps {
		if status := w.deliver(t, w.flatEvent(s.id, s.typ, "", s.obj)); status != 200 {
			t.Fatalf("%s: %d", s.id, status)
		}
		if got := w.plan(t); got != s.want {
			t.Errorf("after %s: %q, want %q", s.id, got, s.want)
		}
	}

	// Subscribing again later starts a new subscription.
	again := session(customer)
	again["id"], again["subscription"] = "cs_flat2", "sub_flat2"
	if status := w.deliver(t, w.flatEvent("evt_flat_again", stripe.EventTypeCheckoutSessionCompleted, "", again)); status != 200 {
		t.Fatal(status)
	}
	if got := w.plan(t); got != "flat active false" {
		t.Errorf("after subscribing again: %q", got)
	}
	if n := w.Count(t, "SELECT count(*) FROM tenants WHERE flat_subscription_id = 'sub_flat2'"); n != 1 {
		t.Error("the new subscription was not recorded")
	}
}
