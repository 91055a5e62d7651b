package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/internal/stripetest"
)

// submit posts a form of the billing page and returns where the console
// sends the owner.
func (o *owner) submit(path string) string {
	o.t.Helper()
	_, page := o.get("/billing")
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		o.t.Fatal("no CSRF token on /billing")
	}
	res, err := o.client.PostForm(o.env.URL+path, url.Values{"_csrf": {m[1]}})
	if err != nil {
		o.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		o.t.Fatalf("POST %s: %d", path, res.StatusCode)
	}
	return res.Header.Get("Location")
}

func wantAll(t *testing.T, what, page string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(page, p) {
			t.Errorf("%s lacks %q", what, p)
		}
	}
}

// The billing page shows the plan, this period's fees, invoices and the
// fair-use meter, and its buttons lead to Stripe: onboarding for the
// owner's account, Checkout for the flat plan, which the subscription's
// events then start, and which the owner can cancel and keep.
func TestBillingPage(t *testing.T) {
	mock := stripetest.Start(t)
	env := apptest.Start(t, apptest.Options{Work: true, Configure: func(c *app.Config) {
		c.StripeAPIKey, c.StripeAPIURL, c.StripeWebhookSecret = stripetest.APIKey, mock.URL, stripetest.WebhookSecret
	}})
	o := signUp(t, env, "billing@example.com")
	// Before any Stripe account, Stripe's "link expired" return makes none.
	if status, _ := o.get("/billing/connect/refresh"); status != http.StatusSeeOther || len(mock.Calls("POST", "/v1/accounts")) != 0 {
		t.Errorf("refresh without an account: %d, %d accounts made", status, len(mock.Calls("POST", "/v1/accounts")))
	}
	ctx := context.Background()
	owner := env.Owner(t)
	// A period with fees in two currencies, and last period's invoice.
	_, err := owner.Exec(ctx, `INSERT INTO fee_entries (tenant_id, order_id, source, order_amount_minor, basis_points, fee_minor, currency, settlement)
		VALUES ($1, 1, 'access_code', 1000, 500, 50, 'USD', 'invoice'), ($1, 2, 'stripe', 2000, 500, 100, 'USD', 'application_fee'),
		       ($1, 3, 'access_code', 5000, 500, 250, 'EUR', 'invoice')`, o.Tenant)
	if err != nil {
		t.Fatal(err)
	}
	_, err = owner.Exec(ctx, `INSERT INTO owner_invoices (tenant_id, period_start, period_end, currency, amount_minor, entries, status, number, hosted_url)
		VALUES ($1, now() - interval '60 days', now() - interval '30 days', 'USD', 1234, 3, 'open', 'GK-0001', 'https://invoice.stripe.com/i/test')`, o.Tenant)
	if err != nil {
		t.Fatal(err)
	}

	status, page := o.get("/billing")
	if status != 200 {
		t.Fatalf("GET /billing: %d", status)
	}
	wantAll(t, "the billing page", page,
		"Pay-as-you-go", `<strong id="fee-rate">5%</strong>`, "Switch to the flat plan", "29.00 USD a month",
		`<td data-label="Fees">1.50 USD</td>`, `<td data-label="Taken by Stripe">1.00 USD</td>`, `<td data-label="On your invoice">2.50 EUR</td>`,
		`<meter min="0" max="50" value="0"`, "Free code activations in the last 30 days: 0 of 50",
		"12.34 USD", "GK-0001", `href="https://invoice.stripe.com/i/test"`,
		"Set up payments with Stripe")

	// Stripe onboarding: the form leads to Stripe, which the page's policy allows.
	res, err := o.client.Get(env.URL + "/billing")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://connect.stripe.com https://checkout.stripe.com") {
		t.Errorf("billing page CSP = %q", csp)
	}
	to := o.submit("/billing/connect")
	links := mock.Calls("POST", "/v1/account_links")
	if len(links) != 1 || !strings.HasPrefix(to, "https://") ||
		links[0].Form.Get("return_url") != env.URL+"/billing/connect/return" || links[0].Form.Get("refresh_url") != env.URL+"/billing/connect/refresh" {
		t.Fatalf("connect led to %q; account link calls %+v", to, links)
	}
	if status, _ := o.get("/billing/connect/return"); status != http.StatusSeeOther {
		t.Errorf("return from Stripe: %d", status)
	}
	if n := len(mock.Calls("GET", "")); n == 0 {
		t.Error("coming back from Stripe did not ask Stripe about the account")
	}
	_, page = o.get("/billing")
	wantAll(t, "the page after onboarding", page, "Finish setting up Stripe", "Stripe still needs some details")
	if len(mock.Calls("POST", "/v1/accounts")) != 1 {
		t.Error("onboarding made more than one account")
	}

	// The flat plan: Checkout on Gatekey's own account ...
	to = o.submit("/billing/flat")
	sessions := mock.Calls("POST", "/v1/checkout/sessions")
	if len(sessions) != 1 || sessions[0].Form.Get("mode") != "subscription" || !strings.HasPrefix(to, "https://") ||
		sessions[0].Form.Get("success_url") != env.URL+"/billing?flat=started" {
		t.Fatalf("flat plan led to %q; sessions %+v", to, sessions)
	}
	_, page = o.get("/billing?flat=started")
	wantAll(t, "the page on coming back from Checkout", page, "starts as soon as Stripe confirms the payment")

	// ... started by Stripe's event, once Gatekey has read the
	// subscription back from Stripe.
	var customer string
	if err := owner.QueryRow(ctx, "SELECT stripe_customer_id FROM tenants WHERE id = $1", o.Tenant).Scan(&customer); err != nil {
		t.Fatal(err)
	}
	end := time.Now().Add(20 * 24 * time.Hour).Truncate(time.Second)
	sub := func(cancel bool) map[string]any {
		return map[string]any{"id": "sub_console", "object": "subscription", "status": "active", "customer": customer,
			"cancel_at_period_end": cancel, "current_period_end": end.Unix(),
			"metadata": map[string]string{billing.MetaTenant: strconv.FormatInt(o.Tenant, 10), billing.MetaFlat: "1"}}
	}
	mock.Answer("GET", "/v1/subscriptions/sub_console", sub(false))
	ev := stripetest.Event("evt_flat", stripe.EventTypeCheckoutSessionCompleted, "", map[string]any{
		"id": "cs_flat", "object": "checkout.session", "mode": "subscription", "status": "complete", "payment_status": "paid",
		"customer": customer, "subscription": "sub_console",
		"metadata": map[string]string{billing.MetaTenant: strconv.FormatInt(o.Tenant, 10), billing.MetaFlat: "1"},
	})
	if status := stripetest.Post(t, env.URL+"/stripe/webhook", ev, stripetest.Sign(ev, stripetest.WebhookSecret, time.Time{})); status != 200 {
		t.Fatalf("webhook: %d", status)
	}
	env.Idle(t)
	_, page = o.get("/billing?flat=started")
	wantAll(t, "the page on the flat plan", page, "<strong>Flat plan</strong>", `id="flat-status">active`, "Cancel the flat plan",
		"Renews on", end.UTC().Format("2 Jan 2006 15:04"), "Free codes: unlimited on the flat plan.")
	if strings.Contains(page, "starts as soon as") || strings.Contains(page, "Switch to the flat plan") || strings.Contains(page, "<meter") {
		t.Error("the flat plan's page still offers or waits for the flat plan, or shows the meter")
	}

	// Cancel at the period's end, then keep it after all.
	mock.Answer("POST", "/v1/subscriptions/sub_console", sub(true))
	if to := o.submit("/billing/flat/cancel"); to != "/billing" {
		t.Errorf("cancel led to %q", to)
	}
	updates := mock.Calls("POST", "/v1/subscriptions/sub_console")
	if len(updates) != 1 || updates[0].Form.Get("cancel_at_period_end") != "true" {
		t.Fatalf("cancel calls %+v", updates)
	}
	_, page = o.get("/billing")
	wantAll(t, "the page after cancelling", page, "Your flat plan ends on "+end.UTC().Format("2 Jan 2006"), "Ends on", "The subscription is cancelled", "Keep the flat plan")
	mock.Answer("POST", "/v1/subscriptions/sub_console", sub(false))
	o.submit("/billing/flat/resume")
	updates = mock.Calls("POST", "/v1/subscriptions/sub_console")
	if len(updates) != 2 || updates[1].Form.Get("cancel_at_period_end") != "false" {
		t.Fatalf("resume calls %+v", updates)
	}
	if n := env.Count(t, "SELECT count(*) FROM audit_log WHERE action IN ('billing.flat_cancelled', 'billing.flat_resumed')"); n != 2 {
		t.Errorf("%d audit entries for cancel and resume, want 2", n)
	}
	_, page = o.get("/billing")
	wantAll(t, "the page after keeping it", page, "Your flat plan goes on", "Renews on", "Cancel the flat plan")
	// Subscribing twice is refused, before Stripe is asked.
	o.submit("/billing/flat")
	if n := len(mock.Calls("POST", "/v1/checkout/sessions")); n != 1 {
		t.Errorf("a second flat-plan checkout was made (%d)", n)
	}
	_, page = o.get("/billing")
	wantAll(t, "the page after a second subscribe", page, "You are on the flat plan already.")
}

// Without Stripe the page still shows the plan and the meter, and says
// plainly that payments are off; its buttons are not offered.
func TestBillingPageWithoutStripe(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	o := signUp(t, env, "nostripe@example.com")
	status, page := o.get("/billing")
	if status != 200 {
		t.Fatalf("GET /billing: %d", status)
	}
	wantAll(t, "the page", page, "Pay-as-you-go", "Payments with Stripe are not set up on this Gatekey server", "No fees this period", "No invoices yet")
	if strings.Contains(page, "/billing/connect") || strings.Contains(page, "/billing/flat") {
		t.Error("Stripe buttons shown without Stripe")
	}
	if to := o.submit("/billing/flat"); to != "/billing" {
		t.Errorf("flat plan without Stripe led to %q", to)
	}
	_, page = o.get("/billing")
	wantAll(t, "the page after asking anyway", page, "Payments with Stripe are not set up on this Gatekey server.")
}

// A suspended owner's console is read-only, but they can still stop
// paying for the flat plan.
func TestSuspendedOwnerCanCancelTheFlatPlan(t *testing.T) {
	mock := stripetest.Start(t)
	env := apptest.Start(t, apptest.Options{Configure: func(c *app.Config) {
		c.StripeAPIKey, c.StripeAPIURL, c.StripeWebhookSecret = stripetest.APIKey, mock.URL, stripetest.WebhookSecret
	}})
	o := signUp(t, env, "suspended@example.com")
	ctx := context.Background()
	if _, err := env.Owner(t).Exec(ctx, `UPDATE tenants SET status = 'suspended', billing_plan = 'flat', stripe_customer_id = 'cus_susp',
		flat_subscription_id = 'sub_susp', flat_status = 'active' WHERE id = $1`, o.Tenant); err != nil {
		t.Fatal(err)
	}
	mock.Answer("POST", "/v1/subscriptions/sub_susp", map[string]any{"id": "sub_susp", "object": "subscription", "status": "active",
		"customer": "cus_susp", "cancel_at_period_end": true, "metadata": map[string]string{billing.MetaFlat: "1"}})
	if to := o.submit("/billing/flat/cancel"); to != "/billing" {
		t.Errorf("cancel led to %q", to)
	}
	if n := env.Count(t, "SELECT count(*) FROM tenants WHERE flat_cancel_at_period_end"); n != 1 {
		t.Error("the suspended owner's cancellation was not recorded")
	}
	// Anything else stays refused.
	_, page := o.get("/billing")
	m := csrfField.FindStringSubmatch(page)
	res, err := o.client.PostForm(env.URL+"/billing/flat/resume", url.Values{"_csrf": {m[1]}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || len(mock.Calls("POST", "/v1/subscriptions/sub_susp")) != 1 {
		t.Errorf("resume while suspended: %d", res.StatusCode)
	}
}

// An invoice that is paid or void is there to be read: its link says View,
// and only one still to pay says View and pay.
func TestOnlyInvoicesToPayOfferPaying(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	o := signUp(t, env, "invoices@example.com")
	_, err := env.Owner(t).Exec(context.Background(), `INSERT INTO owner_invoices (tenant_id, period_start, period_end, currency, amount_minor, entries, status, number, hosted_url)
		SELECT $1, now() - (n + 1) * interval '30 days', now() - n * interval '30 days', 'USD', 1000, 1, s, 'GK-' || s, 'https://invoice.stripe.com/i/' || s
		FROM unnest(array['open', 'paid', 'void', 'uncollectible']) WITH ORDINALITY AS t (s, n)`, o.Tenant)
	if err != nil {
		t.Fatal(err)
	}
	_, page := o.get("/billing")
	want := map[string]string{"open": "View and pay", "paid": "View", "void": "View", "uncollectible": "View and pay"}
	for status, text := range want {
		link := fmt.Sprintf(`<a href="https://invoice.stripe.com/i/%s" rel="noopener">%s</a>`, status, text)
		if !strings.Contains(page, link) {
			t.Errorf("the %s invoice's link is not %q", status, text)
		}
	}
}
