package billing

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stripe/stripe-go/v76"

	"github.com/gatekey/gatekey/membership"
)

// DefaultFlatPrice is the flat plan's monthly price unless configured.
var DefaultFlatPrice = membership.Money{Minor: 2900, Currency: "USD"}

// MetaFlat marks the Stripe objects of an owner's flat-plan subscription.
const MetaFlat = "gatekey_flat_plan"

// ErrAlreadyFlat is returned when an owner asks for the flat plan while
// their subscription to it is live.
var ErrAlreadyFlat = errors.New("you are on the flat plan already")

// ErrNoSubscription is returned when there is no flat-plan subscription to
// cancel or resume (staff may have put the tenant on the flat plan without
// one).
var ErrNoSubscription = errors.New("there is no flat-plan subscription to change")

// Subscription is an owner's flat-plan subscription, as Stripe last said.
type Subscription struct {
	ID        string // sub_...; "" if the owner never subscribed
	Status    string // Stripe's: active, trialing, past_due, canceled, unpaid, ...
	Cancelled bool   // it is set to end at PeriodEnd
	PeriodEnd *time.Time
}

// Live reports whether the subscription keeps the tenant on the flat
// plan. past_due is live: Stripe is still retrying the payment.
func (s Subscription) Live() bool { return liveStatus(s.Status) }

func liveStatus(status string) bool {
	switch stripe.SubscriptionStatus(status) {
	case stripe.SubscriptionStatusActive, stripe.SubscriptionStatusTrialing, stripe.SubscriptionStatusPastDue:
		return true
	}
	return false
}

// GetSubscription reads the tenant's flat-plan subscription.
func GetSubscription(ctx context.Context, tx pgx.Tx) (Subscription, error) {
	return readSubscription(ctx, tx, "")
}

// readSubscription reads it with a locking clause ("FOR UPDATE") or none.
func readSubscription(ctx context.Context, tx pgx.Tx, lock string) (Subscription, error) {
	var s Subscription
	err := tx.QueryRow(ctx, `SELECT coalesce(flat_subscription_id, ''), flat_status, flat_cancel_at_period_end, flat_period_end
		FROM tenants WHERE id = gatekey_tenant() `+lock).Scan(&s.ID, &s.Status, &s.Cancelled, &s.PeriodEnd)
	if err != nil {
		return s, fmt.Errorf("billing: flat subscription: %w", err)
	}
	return s, nil
}

// FlatPrice is what the flat plan costs a month on this server.
func (s *Service) FlatPrice() membership.Money {
	if s.cfg.FlatPrice.Minor > 0 {
		return s.cfg.FlatPrice
	}
	return DefaultFlatPrice
}

// flatCheckout is the owner's open Checkout page for the flat plan.
type flatCheckout struct {
	ID, URL string
	Expires *time.Time
}

// SubscribeFlat returns a Stripe Checkout page where the owner subscribes
// to the flat plan, billed monthly on Gatekey's own Stripe account to the
// owner as Gatekey's customer. The plan changes when Stripe says the
// subscription is live (SyncFlat), not here. The page is kept while it is
// open, and two requests at once make one page (they share the Stripe
// idempotency key, which names the page they replace), so an owner cannot
// subscribe twice by asking twice.
func (s *Service) SubscribeFlat(ctx context.Context, tenantID int64, successURL, cancelURL string) (string, error) {
	if !s.Enabled() {
		return "", ErrStripeOff
	}
	var sub Subscription
	var open flatCheckout
	err := s.db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		if sub, err = GetSubscription(ctx, tx); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT coalesce(flat_checkout_id, ''), coalesce(flat_checkout_url, ''), flat_checkout_expires_at
			FROM tenants WHERE id = gatekey_tenant()`).Scan(&open.ID, &open.URL, &open.Expires)
	})
	if err != nil {
		return "", err
	}
	if sub.Live() {
		return "", ErrAlreadyFlat
	}
	if open.URL != "" && open.Expires != nil && time.Until(*open.Expires) > checkoutReuseMargin {
		return open.URL, nil
	}
	cus, err := s.ensureCustomer(ctx, tenantID)
	if err != nil {
		return "", err
	}
	// The page lasts 22 to 23 hours (Stripe allows up to 24), fixed by
	// the hour, so that two requests in the same hour send the same
	// parameters with the same idempotency key, and Stripe answers both
	// with one page.
	expires := time.Now().Truncate(time.Hour).Add(23 * time.Hour)
	p := s.flatSessionParams(ctx, tenantID, cus, successURL, cancelURL)
	p.ExpiresAt = stripe.Int64(expires.Unix())
	p.SetIdempotencyKey(fmt.Sprintf("gatekey-flat-%d-after-%s", tenantID, cmp.Or(open.ID, "none")))
	sess, err := s.sessions.New(p)
	if err != nil {
		return "", fmt.Errorf("billing: flat plan checkout: %w", err)
	}
	err = s.db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE tenants SET flat_checkout_id = $1, flat_checkout_url = $2, flat_checkout_expires_at = $3
			WHERE id = gatekey_tenant()`, sess.ID, sess.URL, expires)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("billing: record flat plan checkout: %w", err)
	}
	return sess.URL, nil
}

func (s *Service) flatSessionParams(ctx context.Context, tenantID int64, customer, successURL, cancelURL string) *stripe.CheckoutSessionParams {
	price := s.FlatPrice()
	meta := map[string]string{MetaTenant: strconv.FormatInt(tenantID, 10), MetaFlat: "1"}
	p := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModeSubscription)),
		Customer:          stripe.String(customer),
		SuccessURL:        stripe.String(successURL),
		CancelURL:         stripe.String(cancelURL),
		ClientReferenceID: stripe.String(fmt.Sprintf("gatekey-flat-%d", tenantID)),
		LineItems: []*stripe.CheckoutSessionLineItemParams{{
			Quantity: stripe.Int64(1),
			PriceData: &stripe.CheckoutSessionLineItemPriceDataParams{
				Currency:   stripe.String(strings.ToLower(price.Currency)),
				UnitAmount: stripe.Int64(price.Minor),
				Recurring:  &stripe.CheckoutSessionLineItemPriceDataRecurringParams{Interval: stripe.String("month")},
				ProductData: &stripe.CheckoutSessionLineItemPriceDataProductDataParams{
					Name:        stripe.String("Gatekey flat plan"),
					Description: stripe.String("Every feature, no fee on your members' orders, no limit on free codes"),
				},
			},
		}},
		SubscriptionData: &stripe.CheckoutSessionSubscriptionDataParams{Metadata: meta},
		Metadata:         meta,
	}
	p.Context = ctx
	return p
}

// CancelFlat asks Stripe to end the tenant's flat-plan subscription at
// the end of the month already paid for (or, with resume, not to), and
// records Stripe's answer. The plan itself goes back to pay-as-you-go
// when the subscription ends.
func (s *Service) CancelFlat(ctx context.Context, tenantID int64, resume bool) (Subscription, error) {
	if !s.Enabled() {
		return Subscription{}, ErrStripeOff
	}
	var sub Subscription
	err := s.db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		sub, err = GetSubscription(ctx, tx)
		return err
	})
	if err != nil {
		return sub, err
	}
	if sub.ID == "" || !sub.Live() {
		return sub, ErrNoSubscription
	}
	p := &stripe.SubscriptionParams{CancelAtPeriodEnd: stripe.Bool(!resume)}
	if resume {
		p.AddExtra("cancel_at", "") // a cancellation set for a date, from Stripe's dashboard, is taken back too
	}
	p.Context = ctx
	got, err := s.subscriptions.Update(sub.ID, p)
	if err != nil {
		return sub, fmt.Errorf("billing: change flat subscription: %w", err)
	}
	action := "billing.flat_cancelled"
	if resume {
		action = "billing.flat_resumed"
	}
	err = s.db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		if _, err := recordSubscription(ctx, tx, got); err != nil {
			return err
		}
		return audit(ctx, tx, "owner", action, sub.ID)
	})
	if err != nil {
		return sub, fmt.Errorf("billing: record flat subscription: %w", err)
	}
	return subscriptionOf(got), nil
}

// SyncFlat reads a flat-plan subscription from Stripe and records it:
// Stripe's events only say that something changed, and may come in any
// order or late, so what counts is the subscription as Stripe has it now.
// A second live subscription (the owner paid twice) is cancelled at once
// and left in the audit log for staff to refund.
func (s *Service) SyncFlat(ctx context.Context, tenantID int64, subscriptionID string) error {
	if !s.Enabled() {
		return ErrStripeOff
	}
	p := &stripe.SubscriptionParams{}
	p.Context = ctx
	got, err := s.subscriptions.Get(subscriptionID, p)
	if err != nil {
		return fmt.Errorf("billing: read flat subscription %s: %w", subscriptionID, err)
	}
	var duplicate bool
	err = s.db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		duplicate, err = recordSubscription(ctx, tx, got)
		return err
	})
	if err != nil || !duplicate {
		return err
	}
	s.log.WarnContext(ctx, "billing: a second flat-plan subscription; cancelling it", "tenant", tenantID, "subscription", got.ID)
	cp := &stripe.SubscriptionCancelParams{}
	cp.Context = ctx
	if _, err := s.subscriptions.Cancel(got.ID, cp); err != nil && !IsRefusal(err) {
		return fmt.Errorf("billing: cancel second flat subscription %s: %w", got.ID, err)
	}
	return s.db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		return audit(ctx, tx, "stripe", "billing.flat_duplicate_cancelled", got.ID)
	})
}

func subscriptionOf(sub *stripe.Subscription) Subscription {
	out := Subscription{ID: sub.ID, Status: string(sub.Status), Cancelled: sub.CancelAtPeriodEnd || sub.CancelAt > 0}
	end := sub.CurrentPeriodEnd
	if sub.CancelAt > 0 {
		end = sub.CancelAt
	}
	if end > 0 {
		t := time.Unix(end, 0).UTC()
		out.PeriodEnd = &t
	}
	return out
}

// recordSubscription records a flat-plan subscription of the tenant's
// own customer and puts the tenant on the plan it means. Another live
// subscription than the one the tenant has is a duplicate: it is not
// recorded, and reported. A subscription that is not live never replaces
// the tenant's.
func recordSubscription(ctx context.Context, tx pgx.Tx, got *stripe.Subscription) (duplicate bool, err error) {
	if got.Metadata[MetaFlat] == "" {
		return false, nil
	}
	if ok, err := isOwnCustomer(ctx, tx, got.Customer); err != nil || !ok {
		return false, err
	}
	cur, err := readSubscription(ctx, tx, "FOR UPDATE")
	if err != nil {
		return false, err
	}
	next := subscriptionOf(got)
	switch {
	case cur.ID == next.ID:
	case !next.Live():
		return false, nil // an old one, or one that never started
	case cur.Live():
		return true, nil
	}
	plan := PlanPayAsYouGo
	if next.Live() {
		plan = PlanFlat
	}
	_, err = tx.Exec(ctx, `UPDATE tenants SET flat_subscription_id = $1, flat_status = $2, flat_cancel_at_period_end = $3,
			flat_period_end = $4, billing_plan = $5,
			flat_checkout_id = NULL, flat_checkout_url = NULL, flat_checkout_expires_at = NULL
		WHERE id = gatekey_tenant()`, next.ID, next.Status, next.Cancelled, next.PeriodEnd, plan)
	if err != nil {
		return false, fmt.Errorf("billing: record flat subscription: %w", err)
	}
	if cur.ID != next.ID || cur.Status != next.Status {
		return false, audit(ctx, tx, "stripe", "billing.flat_"+next.Status, next.ID)
	}
	return false, nil
}

// flatEvent returns the flat-plan subscription an event is about, for
// SyncFlat to read: a completed Checkout for the flat plan, or a change to
// the subscription. Only Gatekey's own account sells the flat plan: the
// same metadata on an owner's connected account, or on another customer,
// means nothing.
func flatEvent(ctx context.Context, tx pgx.Tx, ev stripe.Event) (string, error) {
	if ev.Account != "" {
		return "", nil
	}
	var obj struct {
		Object       string               `json:"object"`
		ID           string               `json:"id"`
		Mode         string               `json:"mode"`
		Subscription *stripe.Subscription `json:"subscription"`
		Customer     *stripe.Customer     `json:"customer"`
		Metadata     map[string]string    `json:"metadata"`
	}
	if err := json.Unmarshal(ev.Data.Raw, &obj); err != nil {
		return "", fmt.Errorf("parse %s: %w", ev.Type, err)
	}
	if obj.Metadata[MetaFlat] == "" {
		return "", nil
	}
	id := obj.ID
	if obj.Object == "checkout.session" {
		if obj.Subscription == nil {
			return "", nil
		}
		id = obj.Subscription.ID
	}
	if ok, err := isOwnCustomer(ctx, tx, obj.Customer); err != nil || !ok || !strings.HasPrefix(id, "sub_") {
		return "", err
	}
	return id, nil
}

// isOwnCustomer reports whether a Stripe customer is the tenant's own, so
// a subscription made for someone else cannot change the tenant's plan.
func isOwnCustomer(ctx context.Context, tx pgx.Tx, c *stripe.Customer) (bool, error) {
	if c == nil || c.ID == "" {
		return false, nil
	}
	var yes bool
	err := tx.QueryRow(ctx, "SELECT coalesce(stripe_customer_id = $1, false) FROM tenants WHERE id = gatekey_tenant()", c.ID).Scan(&yes)
	return yes, err
}

func audit(ctx context.Context, tx pgx.Tx, actor, action, subject string) error {
	_, err := tx.Exec(ctx, `INSERT INTO audit_log (tenant_id, actor, action, subject)
		VALUES (gatekey_tenant(), $1, $2, $3)`, actor, action, subject)
	return err
}
