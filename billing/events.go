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
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

// VerifyEvent checks a webhook delivery's Stripe-Signature against the
// webhook secret (and that it is no older than five minutes) and parses
// the event. Any error means the delivery is not Stripe's. Stripe signs
// the platform's endpoint and the Connect endpoint with secrets of their
// own, so Config.WebhookSecret may list several, comma-separated.
func (s *Service) VerifyEvent(payload []byte, signature string) (stripe.Event, error) {
	err := errors.New("billing: no webhook secret")
	for _, secret := range strings.Split(s.cfg.WebhookSecret, ",") {
		if secret = strings.TrimSpace(secret); secret == "" {
			continue
		}
		// Only a few long-stable fields of each object are read, so an
		// event rendered in another API version than stripe-go's is still
		// understood.
		var ev stripe.Event
		ev, err = webhook.ConstructEventWithOptions(payload, signature, secret,
			webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
		if err == nil {
			return ev, nil
		}
	}
	return stripe.Event{}, err
}

// EventTenant finds the tenant an event is about: from the tenant id
// Gatekey put in the object's metadata, or from the connected account the
// event came from, through the tenant directory. ok is false for events
// that are none of Gatekey's (or whose two clues disagree).
func (s *Service) EventTenant(ctx context.Context, ev stripe.Event) (tenantID int64, ok bool, err error) {
	var fromMeta, fromAccount int64
	if ev.Data != nil {
		var obj struct {
			Metadata map[string]string `json:"metadata"`
		}
		if json.Unmarshal(ev.Data.Raw, &obj) == nil {
			fromMeta, _ = strconv.ParseInt(obj.Metadata[MetaTenant], 10, 64)
		}
	}
	if ev.Account != "" {
		fromAccount, err = s.db.Lookup(ctx, "stripe_account", ev.Account)
		if err != nil && !errors.Is(err, tenant.ErrNotFound) {
			return 0, false, err
		}
	}
	switch {
	case fromMeta > 0 && fromAccount > 0 && fromMeta != fromAccount:
		s.log.WarnContext(ctx, "stripe event: metadata and account name different tenants", "event", ev.ID, "account", ev.Account)
		return 0, false, nil
	case fromAccount > 0:
		return fromAccount, true, nil
	case fromMeta > 0 && ev.Account == "":
		return fromMeta, true, nil
	}
	return 0, false, nil
}

// Effect is what an event changed, for the caller to carry out with jobs.
type Effect struct {
	Payment *Payment // a checkout was paid
	Refund  *Refund  // a paid checkout was refunded
	// SyncFlat is a flat-plan subscription whose state to read from
	// Stripe (Service.SyncFlat), outside the event's transaction.
	SyncFlat string
}

// Payment is a paid checkout, granted through the same path as a code.
type Payment struct {
	Checkout   Checkout
	Plan       membership.Plan
	Member     membership.Member
	Membership membership.Membership
	Order      membership.Order
	Extended   bool
	Returning  bool // a new membership of a member who had the plan before
	// AlreadyLifetime: the member had lifetime access already, so the
	// payment added nothing; the owner is told, to refund it.
	AlreadyLifetime bool
	// RefundedFirst: the payment's full refund came before it, so it
	// granted nothing and has no order.
	RefundedFirst bool
}

// Refund is a refunded payment, taken back like a code's rollback.
type Refund struct {
	Checkout Checkout
	Plan     membership.Plan
	Member   membership.Member
	Partial  bool // part of the payment was refunded: access is unchanged
	// Ended is set when the membership had no time left without the
	// payment: the member leaves its chats.
	Ended *membership.Ending
	// Shortened is set when the membership goes on with an earlier end.
	Shortened *membership.Membership
}

// ApplyEvent does what a verified event means for the transaction's
// tenant, once: the event's id is recorded with its effect, so a
// redelivery returns fresh false and changes nothing.
func ApplyEvent(ctx context.Context, tx pgx.Tx, ev stripe.Event) (e Effect, fresh bool, err error) {
	tag, err := tx.Exec(ctx, `INSERT INTO stripe_events (tenant_id, event_id, type)
		SELECT id, $1, $2 FROM tenants WHERE id = gatekey_tenant() ON CONFLICT DO NOTHING`, ev.ID, string(ev.Type))
	if err != nil {
		return e, false, fmt.Errorf("billing: record event: %w", err)
	}
	if tag.RowsAffected() == 0 || ev.Data == nil {
		return e, false, nil
	}
	switch ev.Type {
	case stripe.EventTypeCheckoutSessionCompleted, stripe.EventTypeCheckoutSessionAsyncPaymentSucceeded:
		if e.SyncFlat, err = flatEvent(ctx, tx, ev); e.SyncFlat == "" && err == nil {
			e.Payment, err = checkoutCompleted(ctx, tx, ev)
		}
	case stripe.EventTypeCheckoutSessionExpired:
		err = checkoutExpired(ctx, tx, ev)
	case stripe.EventTypeCustomerSubscriptionCreated, stripe.EventTypeCustomerSubscriptionUpdated,
		stripe.EventTypeCustomerSubscriptionDeleted, stripe.EventTypeCustomerSubscriptionPaused,
		stripe.EventTypeCustomerSubscriptionResumed:
		e.SyncFlat, err = flatEvent(ctx, tx, ev)
	case stripe.EventTypeChargeRefunded:
		e.Refund, err = refundCharge(ctx, tx, ev)
	case stripe.EventTypeAccountUpdated:
		err = accountUpdated(ctx, tx, ev)
	case stripe.EventTypeAccountApplicationDeauthorized:
		_, err = tx.Exec(ctx, `UPDATE tenants SET stripe_charges_enabled = false
			WHERE id = gatekey_tenant() AND stripe_account_id = $1`, ev.Account)
	case stripe.EventTypeInvoicePaid, stripe.EventTypeInvoicePaymentFailed, stripe.EventTypeInvoiceVoided,
		stripe.EventTypeInvoiceMarkedUncollectible, stripe.EventTypeInvoiceFinalized:
		err = invoiceUpdated(ctx, tx, ev)
	}
	if err != nil {
		return e, false, fmt.Errorf("billing: %s %s: %w", ev.Type, ev.ID, err)
	}
	return e, true, nil
}

// checkoutCompleted follows a completed Checkout Session: a member's
// payment for a plan, or an owner's subscription to the flat plan.
func checkoutCompleted(ctx context.Context, tx pgx.Tx, ev stripe.Event) (*Payment, error) {
	var sess stripe.CheckoutSession
	if err := json.Unmarshal(ev.Data.Raw, &sess); err != nil {
		return nil, fmt.Errorf("parse session: %w", err)
	}
	if sess.Mode == stripe.CheckoutSessionModeSubscription {
		return nil, nil // a subscription Gatekey did not sell
	}
	if sess.PaymentStatus != stripe.CheckoutSessionPaymentStatusPaid {
		return nil, nil // an asynchronous payment still under way
	}
	c, ok, err := sessionCheckout(ctx, tx, ev, sess)
	if err != nil || !ok {
		return nil, err
	}
	if c.Status == "paid" || c.Status == "refunded" {
		return nil, nil
	}
	return completeCheckout(ctx, tx, c, sess)
}

// sessionCheckout finds, locked, the checkout a session's metadata names,
// if the session is the one Gatekey made for it.
func sessionCheckout(ctx context.Context, tx pgx.Tx, ev stripe.Event, sess stripe.CheckoutSession) (Checkout, bool, error) {
	checkoutID, _ := strconv.ParseInt(sess.Metadata[MetaCheckout], 10, 64)
	c, err := scanCheckout(tx.QueryRow(ctx, "SELECT "+checkoutColumns+" FROM checkouts WHERE id = $1 FOR UPDATE", checkoutID))
	if errors.Is(err, membership.ErrNotFound) {
		return c, false, nil // not a session Gatekey made
	}
	if err != nil {
		return c, false, err
	}
	if (ev.Account != "" && ev.Account != c.StripeAccountID) || (c.SessionID != "" && c.SessionID != sess.ID) {
		return c, false, nil // metadata that does not match what Gatekey made
	}
	return c, true, nil
}

// checkoutExpired closes a checkout whose Stripe page expired unpaid, so
// the member's next Pay makes a new page instead of offering a dead one.
func checkoutExpired(ctx context.Context, tx pgx.Tx, ev stripe.Event) error {
	var sess stripe.CheckoutSession
	if err := json.Unmarshal(ev.Data.Raw, &sess); err != nil {
		return fmt.Errorf("parse session: %w", err)
	}
	c, ok, err := sessionCheckout(ctx, tx, ev, sess)
	if err != nil || !ok || c.SessionID != sess.ID {
		return err
	}
	_, err = tx.Exec(ctx, "UPDATE checkouts SET status = 'expired' WHERE id = $1 AND status IN ('pending', 'open')", c.ID)
	return err
}

// completeCheckout grants the plan of a paid checkout: membership.Grant,
// an order from "stripe" of the paid amount, and the fee entry (already
// taken by Stripe as the application fee). A checkout is paid once, even
// if both "completed" and "async_payment_succeeded" arrive. A payment
// whose full refund came first grants nothing.
func completeCheckout(ctx context.Context, tx pgx.Tx, c Checkout, sess stripe.CheckoutSession) (*Payment, error) {
	var err error
	p := &Payment{Checkout: c}
	if p.Plan, err = membership.GetPlan(ctx, tx, c.PlanID); err != nil {
		return nil, err
	}
	if p.Member, err = getMember(ctx, tx, c.MemberID); err != nil {
		return nil, err
	}
	if p.RefundedFirst, err = refundedFirst(ctx, tx, c, sess); err != nil || p.RefundedFirst {
		return p, err
	}
	paid := c.Amount
	if sess.AmountTotal > 0 && sess.Currency != "" {
		paid = membership.Money{Minor: sess.AmountTotal, Currency: strings.ToUpper(string(sess.Currency))}
	}
	var g membership.Granted
	lifetime, err := hasLifetime(ctx, tx, c.MemberID, c.PlanID)
	if err != nil {
		return nil, err
	}
	if lifetime {
		// Grant would refuse: the payment is recorded against the
		// lifetime membership, which it does not change.
		p.AlreadyLifetime = true
		err = tx.QueryRow(ctx, `SELECT id, member_id, plan_id, status, starts_at, ends_at FROM memberships
			WHERE member_id = $1 AND plan_id = $2 AND status = 'active'`, c.MemberID, c.PlanID).
			Scan(&g.Membership.ID, &g.Membership.MemberID, &g.Membership.PlanID, &g.Membership.Status, &g.Membership.StartsAt, &g.Membership.EndsAt)
	} else {
		g, err = membership.Grant(ctx, tx, c.MemberID, p.Plan)
	}
	if err != nil {
		return nil, err
	}
	p.Membership, p.Extended, p.Returning = g.Membership, g.Extended, g.Returning
	p.Order = membership.Order{Amount: paid, Source: "stripe"}
	err = tx.QueryRow(ctx, `INSERT INTO orders (tenant_id, member_id, plan_id, membership_id, source, amount_minor, currency)
		VALUES (gatekey_tenant(), $1, $2, $3, 'stripe', $4, $5) RETURNING id`,
		c.MemberID, c.PlanID, g.Membership.ID, paid.Minor, paid.Currency).Scan(&p.Order.ID)
	if err != nil {
		return nil, fmt.Errorf("record order: %w", err)
	}
	var pi string
	if sess.PaymentIntent != nil {
		pi = sess.PaymentIntent.ID
	}
	var from, until *time.Time
	if !lifetime {
		from, until = &g.AddedFrom, g.AddedUntil
	}
	_, err = tx.Exec(ctx, `UPDATE checkouts SET status = 'paid', paid_at = now(), stripe_session_id = $2,
		payment_intent_id = nullif($3, ''), order_id = $4, membership_id = $5, added_from = $6, added_until = $7
		WHERE id = $1`, c.ID, sess.ID, pi, p.Order.ID, g.Membership.ID, from, until)
	if err != nil {
		return nil, fmt.Errorf("mark checkout paid: %w", err)
	}
	p.Checkout.Status, p.Checkout.OrderID, p.Checkout.MembershipID, p.Checkout.PaymentIntentID = "paid", p.Order.ID, g.Membership.ID, pi
	if c.Fee > 0 {
		if err := recordFee(ctx, tx, p.Order.ID, "stripe", paid, c.FeeBasisPoints, c.Fee, SettleByApplicationFee); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// refundCharge takes back a refunded payment like a rollback of its order:
// the order is marked refunded, and the time the payment added is removed
// from the membership, which ends if nothing else keeps it going.
func refundCharge(ctx context.Context, tx pgx.Tx, ev stripe.Event) (*Refund, error) {
	var ch stripe.Charge
	if err := json.Unmarshal(ev.Data.Raw, &ch); err != nil {
		return nil, fmt.Errorf("parse charge: %w", err)
	}
	if ch.PaymentIntent == nil || ch.PaymentIntent.ID == "" {
		return nil, nil
	}
	c, err := scanCheckout(tx.QueryRow(ctx, "SELECT "+checkoutColumns+` FROM checkouts
		WHERE payment_intent_id = $1 FOR UPDATE`, ch.PaymentIntent.ID))
	if errors.Is(err, membership.ErrNotFound) {
		// A charge the owner took outside Gatekey, or a payment whose
		// checkout.session.completed has not come yet: a full refund is
		// kept, so that payment grants nothing when it comes.
		if ch.Refunded {
			err = refundAhead(ctx, tx, ch.PaymentIntent.ID)
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if c.Status != "paid" {
		return nil, nil
	}
	r := &Refund{Checkout: c, Partial: !ch.Refunded}
	if r.Plan, err = membership.GetPlan(ctx, tx, c.PlanID); err != nil {
		return nil, err
	}
	if r.Member, err = getMember(ctx, tx, c.MemberID); err != nil {
		return nil, err
	}
	if r.Partial {
		return r, nil
	}
	if _, err := tx.Exec(ctx, "UPDATE orders SET status = 'refunded' WHERE id = $1", c.OrderID); err != nil {
		return nil, fmt.Errorf("refund order: %w", err)
	}
	if _, err := tx.Exec(ctx, "UPDATE checkouts SET status = 'refunded', refunded_at = now() WHERE id = $1", c.ID); err != nil {
		return nil, fmt.Errorf("mark checkout refunded: %w", err)
	}
	r.Checkout.Status = "refunded"
	if c.addedFrom == nil {
		return r, nil // the payment added nothing (lifetime access already)
	}
	return r, r.takeBack(ctx, tx, c)
}

// refundAhead keeps a full refund whose payment is not known yet. Stripe
// retries an event for three days: a refund kept for a week has outlived
// any payment event still to come.
func refundAhead(ctx context.Context, tx pgx.Tx, paymentIntentID string) error {
	if _, err := tx.Exec(ctx, "DELETE FROM refunds_ahead WHERE received_at < now() - interval '7 days'"); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO refunds_ahead (tenant_id, payment_intent_id)
		VALUES (gatekey_tenant(), $1) ON CONFLICT DO NOTHING`, paymentIntentID)
	return err
}

// refundedFirst reports whether the session's payment was fully refunded
// before it completed; if so it closes the checkout as refunded.
func refundedFirst(ctx context.Context, tx pgx.Tx, c Checkout, sess stripe.CheckoutSession) (bool, error) {
	if sess.PaymentIntent == nil || sess.PaymentIntent.ID == "" {
		return false, nil
	}
	tag, err := tx.Exec(ctx, "DELETE FROM refunds_ahead WHERE payment_intent_id = $1", sess.PaymentIntent.ID)
	if err != nil || tag.RowsAffected() == 0 {
		return false, err
	}
	_, err = tx.Exec(ctx, `UPDATE checkouts SET status = 'refunded', paid_at = now(), refunded_at = now(),
		stripe_session_id = $2, payment_intent_id = $3 WHERE id = $1`, c.ID, sess.ID, sess.PaymentIntent.ID)
	if err != nil {
		return false, fmt.Errorf("mark checkout refunded: %w", err)
	}
	return true, nil
}

// takeBack removes the period [from, until) the payment added to its
// membership, as a code's rollback does for an activation.
func (r *Refund) takeBack(ctx context.Context, tx pgx.Tx, c Checkout) error {
	tb, err := membership.TakeBack(ctx, tx, c.MembershipID, *c.addedFrom, c.addedUntil)
	if tb.Shortened != nil {
		r.Shortened = &tb.Shortened.Membership
	}
	r.Ended = tb.Ended
	return err
}

func getMember(ctx context.Context, tx pgx.Tx, memberID int64) (membership.Member, error) {
	m := membership.Member{ID: memberID}
	err := tx.QueryRow(ctx, "SELECT bot_id, telegram_user_id, username, first_name, last_name FROM members WHERE id = $1", memberID).
		Scan(&m.BotID, &m.TelegramUserID, &m.Username, &m.FirstName, &m.LastName)
	if err != nil {
		return m, fmt.Errorf("read member: %w", err)
	}
	return m, nil
}

// accountUpdated follows the owner's connected account: members can pay
// once Stripe enables charges on it.
func accountUpdated(ctx context.Context, tx pgx.Tx, ev stripe.Event) error {
	var a stripe.Account
	if err := json.Unmarshal(ev.Data.Raw, &a); err != nil {
		return fmt.Errorf("parse account: %w", err)
	}
	_, err := tx.Exec(ctx, `UPDATE tenants SET stripe_charges_enabled = $2
		WHERE id = gatekey_tenant() AND stripe_account_id = $1`, a.ID, a.ChargesEnabled)
	return err
}

// invoiceUpdated follows an owner invoice's status (paid, void, ...).
func invoiceUpdated(ctx context.Context, tx pgx.Tx, ev stripe.Event) error {
	var inv stripe.Invoice
	if err := json.Unmarshal(ev.Data.Raw, &inv); err != nil {
		return fmt.Errorf("parse invoice: %w", err)
	}
	switch inv.Status {
	case stripe.InvoiceStatusOpen, stripe.InvoiceStatusPaid, stripe.InvoiceStatusVoid, stripe.InvoiceStatusUncollectible:
	default:
		return nil
	}
	var current string
	err := tx.QueryRow(ctx, "SELECT status FROM owner_invoices WHERE stripe_invoice_id = $1 FOR UPDATE", inv.ID).Scan(&current)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // not one of Gatekey's invoices
	}
	if err != nil {
		return fmt.Errorf("read invoice: %w", err)
	}
	status := string(inv.Status)
	if invoiceStage(status) < invoiceStage(current) || (status != current && invoiceStage(status) == invoiceStage(current)) {
		status = current // a late event: it cannot undo what came after it
	}
	_, err = tx.Exec(ctx, `UPDATE owner_invoices SET status = $2,
		hosted_url = coalesce(nullif($3, ''), hosted_url), number = coalesce(nullif($4, ''), number)
		WHERE stripe_invoice_id = $1`, inv.ID, status, inv.HostedInvoiceURL, inv.Number)
	return err
}

// invoiceStage orders an invoice's statuses as it moves through them:
// Gatekey's own before Stripe has it, then draft, open, uncollectible
// (which may still be paid or voided), and paid or void, which are final.
// Stripe does not promise to deliver events in order, so a status only
// moves on.
func invoiceStage(status string) int {
	switch status {
	case "pending", "empty":
		return 0
	case string(stripe.InvoiceStatusDraft):
		return 1
	case string(stripe.InvoiceStatusOpen):
		return 2
	case string(stripe.InvoiceStatusUncollectible):
		return 3
	}
	return 4 // paid, void
}
