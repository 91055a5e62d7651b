package billing

import (
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

// Subscription is an owner's flat-plan subscription, as Stripe's events
// last told it.
type Subscription struct {
	ID                string // sub_...; "" if the owner never subscribed
	Status            string // Stripe's: active, trialing, past_due, canceled, unpaid, ...
	CancelAtPeriodEnd bool   // the owner cancelled: it ends at PeriodEnd
	PeriodEnd         *time.Time
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
	var s Subscription
	err := tx.QueryRow(ctx, `SELECT coalesce(flat_subscription_id, ''), flat_status, flat_cancel_at_period_end, flat_period_end
		FROM tenants WHERE id = gatekey_tenant()`).Scan(&s.ID, &s.Status, &s.CancelAtPeriodEnd, &s.PeriodEnd)
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

// SubscribeFlat returns a Stripe Checkout page where the owner subscribes
// to the flat plan, billed monthly on Gatekey's own Stripe account to the
// owner as Gatekey's customer. The plan changes when Stripe's event says
// the subscription is live (see ApplyEvent), not here. Asking twice within
// the hour gives the same page, so a double click cannot subscribe twice.
func (s *Service) SubscribeFlat(ctx context.Context, tenantID int64, successURL, cancelURL string) (string, error) {
	if !s.Enabled() {
		return "", ErrStripeOff
	}
	var sub Subscription
	err := s.db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		sub, err = GetSubscription(ctx, tx)
		return err
	})
	if err != nil {
		return "", err
	}
	if sub.Live() {
		return "", ErrAlreadyFlat
	}
	cus, err := s.ensureCustomer(ctx, tenantID)
	if err != nil {
		return "", err
	}
	price := s.FlatPrice()
	meta := map[string]string{MetaTenant: strconv.FormatInt(tenantID, 10), MetaFlat: "1"}
	p := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModeSubscription)),
		Customer:          stripe.String(cus),
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
	p.SetIdempotencyKey(fmt.Sprintf("gatekey-flat-%d-%s-%d", tenantID, cus, time.Now().Unix()/3600))
	sess, err := s.sessions.New(p)
	if err != nil {
		return "", fmt.Errorf("billing: flat plan checkout: %w", err)
	}
	return sess.URL, nil
}

// CancelFlat asks Stripe to end the tenant's flat-plan subscription at
// the end of the month already paid for (or, with resume, not to), and
// records Stripe's answer. The plan itself goes back to pay-as-you-go
// when Stripe's customer.subscription.deleted event comes.
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
	p.Context = ctx
	got, err := s.subscriptions.Update(sub.ID, p)
	if err != nil {
		return sub, fmt.Errorf("billing: change flat subscription: %w", err)
	}
	err = s.db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE tenants SET flat_cancel_at_period_end = $2
			WHERE id = gatekey_tenant() AND flat_subscription_id = $1`, sub.ID, got.CancelAtPeriodEnd)
		if err != nil {
			return err
		}
		action := "billing.flat_cancelled"
		if resume {
			action = "billing.flat_resumed"
		}
		return audit(ctx, tx, "owner", action, sub.ID)
	})
	if err != nil {
		return sub, fmt.Errorf("billing: record flat subscription: %w", err)
	}
	sub.CancelAtPeriodEnd = got.CancelAtPeriodEnd
	return sub, nil
}

// flatCheckoutCompleted starts the flat plan when the owner's checkout
// for it completes. Only Gatekey's own account can sell the flat plan:
// the same metadata on an owner's connected account means nothing.
func flatCheckoutCompleted(ctx context.Context, tx pgx.Tx, ev stripe.Event, sess stripe.CheckoutSession) error {
	if ev.Account != "" || sess.Subscription == nil || sess.Subscription.ID == "" {
		return nil
	}
	if sess.PaymentStatus == stripe.CheckoutSessionPaymentStatusUnpaid {
		return nil // the first payment is still under way; the subscription's events follow it
	}
	if ok, err := isOwnCustomer(ctx, tx, sess.Customer); err != nil || !ok {
		return err
	}
	return followSubscription(ctx, tx, sess.Subscription.ID, string(stripe.SubscriptionStatusActive), nil, nil)
}

// subscriptionChanged follows the flat-plan subscription's events.
func subscriptionChanged(ctx context.Context, tx pgx.Tx, ev stripe.Event) error {
	var sub stripe.Subscription
	if err := json.Unmarshal(ev.Data.Raw, &sub); err != nil {
		return fmt.Errorf("parse subscription: %w", err)
	}
	if ev.Account != "" || sub.Metadata[MetaFlat] == "" {
		return nil
	}
	if ok, err := isOwnCustomer(ctx, tx, sub.Customer); err != nil || !ok {
		return err
	}
	var end *time.Time
	if sub.CurrentPeriodEnd > 0 {
		t := time.Unix(sub.CurrentPeriodEnd, 0).UTC()
		end = &t
	}
	cancel := sub.CancelAtPeriodEnd
	return followSubscription(ctx, tx, sub.ID, string(sub.Status), &cancel, end)
}

// followSubscription records a subscription's status and puts the tenant
// on the plan it means. A newer subscription replaces one that ended; an
// ended one never comes back to life, whatever order the events come in.
func followSubscription(ctx context.Context, tx pgx.Tx, id, status string, cancel *bool, end *time.Time) error {
	var plan string
	err := tx.QueryRow(ctx, `UPDATE tenants SET flat_subscription_id = $1, flat_status = $2,
			flat_cancel_at_period_end = coalesce($3, flat_subscription_id = $1 AND flat_cancel_at_period_end),
			flat_period_end = coalesce($4, CASE WHEN flat_subscription_id = $1 THEN flat_period_end END),
			billing_plan = CASE WHEN $5 THEN 'flat' ELSE 'payg' END
		WHERE id = gatekey_tenant()
		  AND (flat_subscription_id IS NULL OR flat_subscription_id = $1
		       OR flat_status NOT IN ('active', 'trialing', 'past_due'))
		  AND NOT (flat_subscription_id = $1 AND flat_status IN ('canceled', 'incomplete_expired'))
		RETURNING billing_plan`, id, status, cancel, end, liveStatus(status)).Scan(&plan)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // an older subscription's event, or one already ended
	}
	if err != nil {
		return fmt.Errorf("follow subscription: %w", err)
	}
	return audit(ctx, tx, "stripe", "billing.flat_"+status, id)
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
