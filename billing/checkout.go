package billing

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stripe/stripe-go/v76"

	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

// Checkout is a member's payment for a plan through Stripe Checkout, from
// the Pay button to the paid order. The price and the fee are fixed when
// the member asks to pay.
type Checkout struct {
	ID              int64
	BotID           int64
	MemberID        int64
	PlanID          int64
	Amount          membership.Money
	FeeBasisPoints  int
	Fee             int64 // Gatekey's application fee, in Amount's currency
	StripeAccountID string
	Status          string // pending, open, paid, refunded
	SessionID       string
	URL             string
	ExpiresAt       *time.Time
	PaymentIntentID string
	OrderID         int64
	MembershipID    int64
	CreatedAt       time.Time

	idempotencyKey string
	addedFrom      *time.Time
	addedUntil     *time.Time
}

const checkoutColumns = `id, bot_id, member_id, plan_id, amount_minor, currency, fee_basis_points, fee_minor,
	stripe_account_id, status, coalesce(stripe_session_id, ''), coalesce(url, ''), expires_at, coalesce(payment_intent_id, ''),
	coalesce(order_id, 0), coalesce(membership_id, 0), created_at, idempotency_key::text, added_from, added_until`

func scanCheckout(row pgx.Row) (Checkout, error) {
	var c Checkout
	err := row.Scan(&c.ID, &c.BotID, &c.MemberID, &c.PlanID, &c.Amount.Minor, &c.Amount.Currency, &c.FeeBasisPoints, &c.Fee,
		&c.StripeAccountID, &c.Status, &c.SessionID, &c.URL, &c.ExpiresAt, &c.PaymentIntentID,
		&c.OrderID, &c.MembershipID, &c.CreatedAt, &c.idempotencyKey, &c.addedFrom, &c.addedUntil)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, membership.ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("billing: read checkout: %w", err)
	}
	return c, nil
}

// GetCheckout reads one of the tenant's checkouts.
func GetCheckout(ctx context.Context, tx pgx.Tx, checkoutID int64) (Checkout, error) {
	return scanCheckout(tx.QueryRow(ctx, "SELECT "+checkoutColumns+" FROM checkouts WHERE id = $1", checkoutID))
}

// StripeAccount is a tenant's standing with Stripe.
type StripeAccount struct {
	AccountID      string // the owner's connected account: members pay into it
	ChargesEnabled bool   // Stripe lets the account take payments (onboarding done)
	CustomerID     string // the owner as Gatekey's customer, for invoices
}

// CanCharge reports whether members can pay the tenant through Stripe.
func (a StripeAccount) CanCharge() bool { return a.AccountID != "" && a.ChargesEnabled }

// GetStripeAccount reads the tenant's Stripe ids.
func GetStripeAccount(ctx context.Context, tx pgx.Tx) (StripeAccount, error) {
	var a StripeAccount
	err := tx.QueryRow(ctx, `SELECT coalesce(stripe_account_id, ''), stripe_charges_enabled, coalesce(stripe_customer_id, '')
		FROM tenants WHERE id = gatekey_tenant()`).Scan(&a.AccountID, &a.ChargesEnabled, &a.CustomerID)
	if err != nil {
		return a, fmt.Errorf("billing: stripe account: %w", err)
	}
	return a, nil
}

// A checkout is reused while its session has this long left, so a member
// who taps Pay twice gets the same page.
const checkoutReuseMargin = 10 * time.Minute

// StartCheckout records that a member wants to pay for a plan and returns
// the checkout, whose Stripe session a job then makes (CreateCheckoutArgs):
// Stripe is never called inside a transaction. A checkout still open for
// the same member, plan and price is reused. A *membership.ValidationError
// says, for the member, why they cannot pay.
func StartCheckout(ctx context.Context, tx pgx.Tx, member membership.Member, planID int64) (Checkout, error) {
	plan, err := membership.GetPlan(ctx, tx, planID)
	if errors.Is(err, membership.ErrNotFound) || (err == nil && (plan.BotID != member.BotID || plan.Archived)) {
		return Checkout{}, &membership.ValidationError{Message: "That plan is no longer on offer. Send /start to see what is."}
	}
	if err != nil {
		return Checkout{}, err
	}
	if plan.Price.Minor <= 0 {
		return Checkout{}, &membership.ValidationError{Message: fmt.Sprintf("%s is free of charge: there is nothing to pay.", plan.Name)}
	}
	acct, err := GetStripeAccount(ctx, tx)
	if err != nil {
		return Checkout{}, err
	}
	if !acct.CanCharge() {
		return Checkout{}, &membership.ValidationError{Message: "Payments are not open for this bot yet. Please try again later."}
	}
	if lifetime, err := hasLifetime(ctx, tx, member.ID, plan.ID); err != nil || lifetime {
		if err != nil {
			return Checkout{}, err
		}
		return Checkout{}, &membership.ValidationError{Message: fmt.Sprintf("You already have lifetime access to %s, so there is nothing to pay.", plan.Name)}
	}
	c, err := scanCheckout(tx.QueryRow(ctx, "SELECT "+checkoutColumns+` FROM checkouts
		WHERE member_id = $1 AND plan_id = $2 AND status IN ('pending', 'open')
		  AND amount_minor = $3 AND currency = $4 AND stripe_account_id = $5
		  AND (expires_at IS NULL OR expires_at > now() + $6::interval) AND created_at > now() - interval '23 hours'
		ORDER BY id DESC LIMIT 1`, member.ID, plan.ID, plan.Price.Minor, plan.Price.Currency, acct.AccountID, checkoutReuseMargin))
	if !errors.Is(err, membership.ErrNotFound) {
		return c, err
	}
	terms, err := GetTerms(ctx, tx)
	if err != nil {
		return Checkout{}, err
	}
	bp := 0
	if terms.PayAsYouGo() {
		bp = terms.BasisPoints
	}
	return scanCheckout(tx.QueryRow(ctx, `INSERT INTO checkouts
		(tenant_id, bot_id, member_id, plan_id, amount_minor, currency, fee_basis_points, fee_minor, stripe_account_id)
		VALUES (gatekey_tenant(), $1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+checkoutColumns,
		member.BotID, member.ID, plan.ID, plan.Price.Minor, plan.Price.Currency, bp, Fee(plan.Price.Minor, bp), acct.AccountID))
}

func hasLifetime(ctx context.Context, tx pgx.Tx, memberID, planID int64) (bool, error) {
	var yes bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM memberships
		WHERE member_id = $1 AND plan_id = $2 AND status = 'active' AND ends_at IS NULL)`, memberID, planID).Scan(&yes)
	if err != nil {
		return false, fmt.Errorf("billing: check lifetime: %w", err)
	}
	return yes, nil
}

// OpenedCheckout is a checkout with its Stripe page, and who it is for.
type OpenedCheckout struct {
	Checkout       Checkout
	Plan           membership.Plan
	TelegramUserID int64
}

// OpenCheckout makes the Stripe Checkout Session of a checkout, on the
// owner's connected account with Gatekey's fee as the application fee,
// and records it; then calls then in the same transaction (to queue the
// message with the link). A session already made and not about to expire
// is reused, and the Stripe call carries the checkout's idempotency key,
// so a retried job makes no second session. A checkout already paid
// calls nothing.
func (s *Service) OpenCheckout(ctx context.Context, tenantID, checkoutID int64, then func(pgx.Tx, OpenedCheckout) error) error {
	if !s.Enabled() {
		return ErrStripeOff
	}
	var o OpenedCheckout
	var botUsername string
	err := s.db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		if o.Checkout, err = GetCheckout(ctx, tx, checkoutID); err != nil {
			return err
		}
		if o.Plan, err = membership.GetPlan(ctx, tx, o.Checkout.PlanID); err != nil {
			return err
		}
		b, err := tenant.GetBot(ctx, tx, o.Checkout.BotID)
		if err != nil {
			return err
		}
		botUsername = b.Username
		err = tx.QueryRow(ctx, "SELECT telegram_user_id FROM members WHERE id = $1", o.Checkout.MemberID).Scan(&o.TelegramUserID)
		if err != nil {
			return fmt.Errorf("billing: checkout member: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c := &o.Checkout
	if c.Status != "pending" && c.Status != "open" {
		return nil // paid meanwhile: no link to send
	}
	if c.URL == "" || (c.ExpiresAt != nil && time.Until(*c.ExpiresAt) < checkoutReuseMargin) {
		sess, err := s.sessions.New(s.sessionParams(ctx, tenantID, o, botUsername))
		if err != nil {
			return fmt.Errorf("billing: create checkout session: %w", err)
		}
		c.SessionID, c.URL = sess.ID, sess.URL
		if sess.ExpiresAt > 0 {
			t := time.Unix(sess.ExpiresAt, 0)
			c.ExpiresAt = &t
		}
	}
	return s.db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE checkouts SET stripe_session_id = $2, url = $3, expires_at = $4, status = 'open'
			WHERE id = $1 AND status IN ('pending', 'open')`, c.ID, c.SessionID, c.URL, c.ExpiresAt)
		if err != nil {
			return fmt.Errorf("billing: record checkout session: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return nil // paid while the session was being made
		}
		c.Status = "open"
		return then(tx, o)
	})
}

func (s *Service) sessionParams(ctx context.Context, tenantID int64, o OpenedCheckout, botUsername string) *stripe.CheckoutSessionParams {
	c := o.Checkout
	meta := map[string]string{
		MetaTenant:   strconv.FormatInt(tenantID, 10),
		MetaCheckout: strconv.FormatInt(c.ID, 10),
		MetaMember:   strconv.FormatInt(c.MemberID, 10),
		MetaPlan:     strconv.FormatInt(c.PlanID, 10),
		MetaBot:      strconv.FormatInt(c.BotID, 10),
	}
	back := "https://t.me/" + botUsername
	p := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModePayment)),
		SuccessURL:        stripe.String(back),
		CancelURL:         stripe.String(back),
		ClientReferenceID: stripe.String(fmt.Sprintf("gatekey-%d-%d", tenantID, c.ID)),
		LineItems: []*stripe.CheckoutSessionLineItemParams{{
			Quantity: stripe.Int64(1),
			PriceData: &stripe.CheckoutSessionLineItemPriceDataParams{
				Currency:   stripe.String(strings.ToLower(c.Amount.Currency)),
				UnitAmount: stripe.Int64(c.Amount.Minor),
				ProductData: &stripe.CheckoutSessionLineItemPriceDataProductDataParams{
					Name:        stripe.String(o.Plan.Name),
					Description: stripe.String(fmt.Sprintf("%s in @%s", o.Plan.PeriodText(), botUsername)),
				},
			},
		}},
		PaymentIntentData: &stripe.CheckoutSessionPaymentIntentDataParams{
			Description: stripe.String(fmt.Sprintf("%s (@%s)", o.Plan.Name, botUsername)),
			Metadata:    meta,
		},
	}
	if c.Fee > 0 {
		p.PaymentIntentData.ApplicationFeeAmount = stripe.Int64(c.Fee)
	}
	p.Metadata = meta
	p.Context = ctx
	p.SetStripeAccount(c.StripeAccountID)
	p.SetIdempotencyKey("gatekey-checkout-" + c.idempotencyKey)
	return p
}

// IsRefusal reports whether Stripe refused a request for good (bad
// parameters, an amount too small, an account that cannot charge), so
// retrying it would only fail again.
func IsRefusal(err error) bool {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.HTTPStatusCode >= 400 && se.HTTPStatusCode < 500 && se.HTTPStatusCode != 409 && se.HTTPStatusCode != 429
}

// CheckoutTelegramUser is the Telegram user id of the member a checkout
// is for, to tell them when it cannot be opened.
func CheckoutTelegramUser(ctx context.Context, tx pgx.Tx, checkoutID int64) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `SELECT m.telegram_user_id FROM checkouts c
		JOIN members m ON m.tenant_id = c.tenant_id AND m.id = c.member_id WHERE c.id = $1`, checkoutID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, membership.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("billing: checkout member: %w", err)
	}
	return id, nil
}
