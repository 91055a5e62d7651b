package billing_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/internal/stripetest"
	"github.com/gatekey/gatekey/membership"
)

// The owner's Connect onboarding: a Standard account made once, recorded
// with its directory entry, and a fresh onboarding link each time.
func TestConnectOnboarding(t *testing.T) {
	f := newFixture(t, true)
	link, err := f.svc.ConnectLink(f.ctx, f.tenantID, "https://gatekey.example/billing/connect", "https://gatekey.example/billing")
	if err != nil || !strings.HasPrefix(link, "https://") {
		t.Fatalf("ConnectLink = %q, %v", link, err)
	}
	accounts := f.mock.Calls("POST", "/v1/accounts")
	if len(accounts) != 1 || accounts[0].Form.Get("type") != "standard" || accounts[0].Form.Get("email") != "owner@example.com" ||
		accounts[0].Form.Get("metadata["+billing.MetaTenant+"]") != strconv.FormatInt(f.tenantID, 10) {
		t.Fatalf("account calls = %+v", accounts)
	}
	var acct billing.StripeAccount
	f.tx(func(tx pgx.Tx) error {
		var err error
		acct, err = billing.GetStripeAccount(f.ctx, tx)
		return err
	})
	if !strings.HasPrefix(acct.AccountID, "acct_") || acct.CanCharge() {
		t.Fatalf("recorded account = %+v, want one that cannot charge yet", acct)
	}
	if id, err := f.db.Lookup(f.ctx, "stripe_account", acct.AccountID); err != nil || id != f.tenantID {
		t.Errorf("directory: %d, %v", id, err)
	}
	links := f.mock.Calls("POST", "/v1/account_links")
	if len(links) != 1 || links[0].Form.Get("account") != acct.AccountID || links[0].Form.Get("type") != "account_onboarding" ||
		links[0].Form.Get("return_url") != "https://gatekey.example/billing" || links[0].Form.Get("refresh_url") != "https://gatekey.example/billing/connect" {
		t.Errorf("account link calls = %+v", links)
	}

	if _, err := f.svc.ConnectLink(f.ctx, f.tenantID, "https://gatekey.example/r", "https://gatekey.example/b"); err != nil {
		t.Fatal(err)
	}
	if n := len(f.mock.Calls("POST", "/v1/accounts")); n != 1 {
		t.Errorf("a second link made %d more accounts", n-1)
	}
	if n := len(f.mock.Calls("POST", "/v1/account_links")); n != 2 {
		t.Errorf("%d account links made, want 2", n)
	}

	synced, err := f.svc.SyncAccount(f.ctx, f.tenantID)
	if err != nil || synced.AccountID != acct.AccountID {
		t.Fatalf("SyncAccount = %+v, %v", synced, err)
	}
	if n := len(f.mock.Calls("GET", "/v1/accounts/"+acct.AccountID)); n != 1 {
		t.Errorf("SyncAccount read the account %d times", n)
	}
	if n := f.count("SELECT count(*) FROM tenants WHERE stripe_charges_enabled = $1", synced.ChargesEnabled); n != 1 {
		t.Error("SyncAccount did not record what Stripe said")
	}

	off := billing.New(f.db, billing.Config{}, nil)
	if _, err := off.ConnectLink(f.ctx, f.tenantID, "https://x/r", "https://x/b"); !errors.Is(err, billing.ErrStripeOff) {
		t.Errorf("without Stripe: %v", err)
	}
}

// connect gives the tenant a connected account that can take payments.
func (f *fixture) connect(acct string) {
	f.t.Helper()
	f.exec("UPDATE tenants SET stripe_account_id = $1, stripe_charges_enabled = true", acct)
	f.exec("INSERT INTO tenant_directory (kind, key, tenant_id) VALUES ('stripe_account', $1, $2)", acct, f.tenantID)
}

func (f *fixture) startCheckout(m membership.Member, planID int64) (billing.Checkout, error) {
	var c billing.Checkout
	err := f.db.Tx(f.ctx, f.tenantID, func(tx pgx.Tx) error {
		var err error
		c, err = billing.StartCheckout(f.ctx, tx, m, planID)
		return err
	})
	return c, err
}

// A member's checkout: refused with a message when it cannot be paid,
// reused while open, and made on Stripe on the owner's connected account,
// with Gatekey's fee as the application fee and who, what and which bot in
// the metadata.
func TestCheckoutSessionOnConnectedAccount(t *testing.T) {
	f := newFixture(t, true)
	m := f.member()
	free := f.newPlan("Free plan", money(0, "USD"))

	refusal := func(planID int64, want string) {
		t.Helper()
		_, err := f.startCheckout(m, planID)
		var ve *membership.ValidationError
		if !errors.As(err, &ve) || !strings.Contains(ve.Message, want) {
			t.Errorf("checkout of plan %d: %v, want a refusal saying %q", planID, err, want)
		}
	}
	refusal(f.plan.ID, "not open for this bot yet")
	f.connect("acct_1Fixture")
	refusal(free.ID, "nothing to pay")
	refusal(999999, "no longer on offer")
	if n := f.count("SELECT count(*) FROM checkouts"); n != 0 {
		t.Fatalf("refusals made %d checkouts", n)
	}

	c, err := f.startCheckout(m, f.plan.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Amount != money(999, "USD") || c.Fee != 50 || c.FeeBasisPoints != 500 || c.Status != "pending" || c.StripeAccountID != "acct_1Fixture" {
		t.Errorf("checkout = %+v", c)
	}
	if again, err := f.startCheckout(m, f.plan.ID); err != nil || again.ID != c.ID {
		t.Errorf("a second Pay made checkout %d (%v), want the same %d", again.ID, err, c.ID)
	}

	var opened billing.OpenedCheckout
	err = f.svc.OpenCheckout(f.ctx, f.tenantID, c.ID, func(tx pgx.Tx, o billing.OpenedCheckout) error {
		opened = o
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(opened.Checkout.URL, "https://checkout.stripe.com/") || opened.TelegramUserID != m.TelegramUserID ||
		opened.Plan.ID != f.plan.ID || opened.Checkout.Status != "open" {
		t.Errorf("opened = %+v", opened)
	}
	calls := f.mock.Calls("POST", "/v1/checkout/sessions")
	if len(calls) != 1 {
		t.Fatalf("%d sessions created, want 1", len(calls))
	}
	call := calls[0]
	want := map[string]string{
		"mode":                                                        "payment",
		"success_url":                                                 "https://t.me/fixture_bot",
		"line_items[0][quantity]":                                     "1",
		"line_items[0][price_data][currency]":                         "usd",
		"line_items[0][price_data][unit_amount]":                      "999",
		"line_items[0][price_data][product_data][name]":               "Fixture plan",
		"payment_intent_data[application_fee_amount]":                 "50",
		"metadata[" + billing.MetaTenant + "]":                        strconv.FormatInt(f.tenantID, 10),
		"metadata[" + billing.MetaCheckout + "]":                      strconv.FormatInt(c.ID, 10),
		"metadata[" + billing.MetaMember + "]":                        strconv.FormatInt(m.ID, 10),
		"metadata[" + billing.MetaPlan + "]":                          strconv.FormatInt(f.plan.ID, 10),
		"metadata[" + billing.MetaBot + "]":                           strconv.FormatInt(f.bot.ID, 10),
		"payment_intent_data[metadata][" + billing.MetaCheckout + "]": strconv.FormatInt(c.ID, 10),
	}
	for k, v := range want {
		if got := call.Form.Get(k); got != v {
			t.Errorf("session parameter %s = %q, want %q", k, got, v)
		}
	}
	if call.StripeAccount != "acct_1Fixture" || !strings.HasPrefix(call.IdempotencyKey, "gatekey-checkout-") {
		t.Errorf("session call: Stripe-Account %q, Idempotency-Key %q", call.StripeAccount, call.IdempotencyKey)
	}
	got, err := func() (billing.Checkout, error) {
		var g billing.Checkout
		err := f.db.Tx(f.ctx, f.tenantID, func(tx pgx.Tx) error {
			var err error
			g, err = billing.GetCheckout(f.ctx, tx, c.ID)
			return err
		})
		return g, err
	}()
	if err != nil || got.SessionID == "" || got.URL != opened.Checkout.URL || got.Status != "open" {
		t.Errorf("recorded checkout = %+v, %v", got, err)
	}

	// On the flat plan there is no application fee.
	f.exec("UPDATE tenants SET billing_plan = 'flat'")
	flat, err := f.startCheckout(f.member(), f.plan.ID)
	if err != nil || flat.Fee != 0 {
		t.Fatalf("flat checkout = %+v, %v", flat, err)
	}
	if err := f.svc.OpenCheckout(f.ctx, f.tenantID, flat.ID, func(pgx.Tx, billing.OpenedCheckout) error { return nil }); err != nil {
		t.Fatal(err)
	}
	calls = f.mock.Calls("POST", "/v1/checkout/sessions")
	if len(calls) != 2 || calls[1].Form.Has("payment_intent_data[application_fee_amount]") {
		t.Errorf("flat plan session: %+v", calls[len(calls)-1].Form)
	}

	// A refusal by Stripe is one: retrying would not help.
	f.mock.Fail("POST", "/v1/checkout/sessions", 400, 1)
	third, _ := f.startCheckout(f.member(), f.plan.ID)
	err = f.svc.OpenCheckout(f.ctx, f.tenantID, third.ID, func(pgx.Tx, billing.OpenedCheckout) error { return nil })
	if !billing.IsRefusal(err) {
		t.Errorf("after a 400: %v, want a refusal", err)
	}
}

func TestVerifyEvent(t *testing.T) {
	f := newFixture(t, false)
	svc := billing.New(f.db, billing.Config{APIKey: stripetest.APIKey, WebhookSecret: stripetest.WebhookSecret}, nil)
	payload := stripetest.Event("evt_1", "account.updated", "acct_1", map[string]any{"id": "acct_1", "object": "account"})
	if ev, err := svc.VerifyEvent(payload, stripetest.Sign(payload, stripetest.WebhookSecret, time.Time{})); err != nil || ev.ID != "evt_1" {
		t.Errorf("good signature: %+v, %v", ev, err)
	}
	// The platform's endpoint and the Connect endpoint sign with secrets of their own.
	both := billing.New(f.db, billing.Config{APIKey: stripetest.APIKey, WebhookSecret: "whsec_platform, " + stripetest.WebhookSecret}, nil)
	for _, secret := range []string{"whsec_platform", stripetest.WebhookSecret} {
		if _, err := both.VerifyEvent(payload, stripetest.Sign(payload, secret, time.Time{})); err != nil {
			t.Errorf("signed with %s of two secrets: %v", secret, err)
		}
	}
	if _, err := billing.New(f.db, billing.Config{}, nil).VerifyEvent(payload, stripetest.Sign(payload, "", time.Time{})); err == nil {
		t.Error("accepted with no secret configured")
	}
	bad := map[string]string{
		"forged":       stripetest.Sign(payload, "whsec_someone_else", time.Time{}),
		"stale":        stripetest.Sign(payload, stripetest.WebhookSecret, time.Now().Add(-10*time.Minute)),
		"missing":      "",
		"garbage":      "t=1,v1=zz",
		"another body": stripetest.Sign([]byte(`{"id":"evt_2"}`), stripetest.WebhookSecret, time.Time{}),
	}
	for name, sig := range bad {
		if _, err := svc.VerifyEvent(payload, sig); err == nil {
			t.Errorf("%s signature accepted", name)
		}
	}
}
