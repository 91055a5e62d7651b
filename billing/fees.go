package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/membership"
)

// Billing plans of a tenant.
const (
	PlanPayAsYouGo = "payg" // a percentage fee on members' paid orders
	PlanFlat       = "flat" // a monthly subscription, no percentage fee
)

// Fee is Gatekey's fee on an amount at a rate in basis points (1/100 of a
// percent), in the amount's minor units, rounded half up. It works in
// integers only, and splits the amount so that no product can overflow.
func Fee(amountMinor int64, basisPoints int) int64 {
	if amountMinor <= 0 || basisPoints <= 0 {
		return 0
	}
	bp := int64(basisPoints)
	whole, rest := amountMinor/10000, amountMinor%10000
	return whole*bp + (rest*bp+5000)/10000
}

// RateText shows basis points as a percentage: 500 is "5%", 250 "2.5%".
func RateText(basisPoints int) string {
	s := fmt.Sprintf("%d.%02d", basisPoints/100, basisPoints%100)
	for s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s + "%"
}

// Terms are what a tenant is billed under.
type Terms struct {
	Plan        string // PlanPayAsYouGo or PlanFlat
	BasisPoints int    // the fee rate on pay-as-you-go
}

// PayAsYouGo reports whether the tenant pays a fee per order.
func (t Terms) PayAsYouGo() bool { return t.Plan == PlanPayAsYouGo }

// FeeOn is the fee the terms put on an amount: nothing on the flat plan.
func (t Terms) FeeOn(amountMinor int64) int64 {
	if !t.PayAsYouGo() {
		return 0
	}
	return Fee(amountMinor, t.BasisPoints)
}

// GetTerms reads the billing terms of the transaction's tenant.
func GetTerms(ctx context.Context, tx pgx.Tx) (Terms, error) {
	var t Terms
	err := tx.QueryRow(ctx, "SELECT billing_plan, fee_basis_points FROM tenants WHERE id = gatekey_tenant()").Scan(&t.Plan, &t.BasisPoints)
	if err != nil {
		return t, fmt.Errorf("billing: terms: %w", err)
	}
	return t, nil
}

// Ways a fee is paid.
const (
	SettleByInvoice        = "invoice"         // on the owner's invoice at the end of the period
	SettleByApplicationFee = "application_fee" // taken by Stripe from the member's payment
)

// FeeEntry is one line of the fee ledger.
type FeeEntry struct {
	ID              int64
	OrderID         int64
	Source          string // access_code or stripe
	Order           membership.Money
	BasisPoints     int
	Fee             membership.Money
	Settlement      string
	StripeInvoiceID string
	Voided          bool
	CreatedAt       time.Time
}

// recordFee adds the ledger entry of a paid order, once per order.
func recordFee(ctx context.Context, tx pgx.Tx, orderID int64, source string, amount membership.Money, basisPoints int, fee int64, settlement string) error {
	_, err := tx.Exec(ctx, `INSERT INTO fee_entries
		(tenant_id, order_id, source, order_amount_minor, basis_points, fee_minor, currency, settlement)
		VALUES (gatekey_tenant(), $1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, order_id) DO NOTHING`,
		orderID, source, amount.Minor, basisPoints, fee, amount.Currency, settlement)
	if err != nil {
		return fmt.Errorf("billing: record fee: %w", err)
	}
	return nil
}

// AfterActivation does billing's part of a code activation, in the
// activation's transaction. A priced activation on pay-as-you-go adds its
// fee to the ledger, to be invoiced. A zero-priced one counts against the
// fair-use allowance: past it, the tenant is flagged for staff, and the
// member keeps the access the code gave (codes already issued always work).
func AfterActivation(ctx context.Context, tx pgx.Tx, a membership.Activation) error {
	terms, err := GetTerms(ctx, tx)
	if err != nil || !terms.PayAsYouGo() {
		return err
	}
	if a.Order.Amount.Minor > 0 {
		return recordFee(ctx, tx, a.Order.ID, "access_code", a.Order.Amount, terms.BasisPoints,
			Fee(a.Order.Amount.Minor, terms.BasisPoints), SettleByInvoice)
	}
	return checkFairUse(ctx, tx)
}

// checkFairUse raises the tenant's fair-use flag when zero-priced
// activations have gone past the allowance. Once raised, the flag stays
// until staff clear it, so a flagged tenant is not counted again.
func checkFairUse(ctx context.Context, tx pgx.Tx) error {
	var flagged bool
	err := tx.QueryRow(ctx, "SELECT fairuse_flagged_at IS NOT NULL FROM tenants WHERE id = gatekey_tenant()").Scan(&flagged)
	if err != nil {
		return fmt.Errorf("billing: fair-use flag: %w", err)
	}
	if flagged {
		return nil
	}
	f, err := GetFairUse(ctx, tx)
	if err != nil || !f.Over() {
		return err
	}
	_, err = tx.Exec(ctx, "UPDATE tenants SET fairuse_flagged_at = now() WHERE id = gatekey_tenant() AND fairuse_flagged_at IS NULL")
	if err != nil {
		return fmt.Errorf("billing: raise fair-use flag: %w", err)
	}
	return nil
}

// ListFees returns the ledger's entries created in [from, to), newest first.
func ListFees(ctx context.Context, tx pgx.Tx, from, to time.Time, limit int) ([]FeeEntry, error) {
	rows, err := tx.Query(ctx, `SELECT id, order_id, source, order_amount_minor, basis_points, fee_minor, currency,
			settlement, coalesce(stripe_invoice_id, ''), voided_at IS NOT NULL, created_at
		FROM fee_entries WHERE created_at >= $1 AND created_at < $2 ORDER BY created_at DESC, id DESC LIMIT $3`, from, to, limit)
	if err != nil {
		return nil, fmt.Errorf("billing: list fees: %w", err)
	}
	entries, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (FeeEntry, error) {
		var e FeeEntry
		err := r.Scan(&e.ID, &e.OrderID, &e.Source, &e.Order.Minor, &e.BasisPoints, &e.Fee.Minor, &e.Order.Currency,
			&e.Settlement, &e.StripeInvoiceID, &e.Voided, &e.CreatedAt)
		e.Fee.Currency = e.Order.Currency
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("billing: list fees: %w", err)
	}
	return entries, nil
}

// FeeOfOrder reads the ledger entry of an order; membership.ErrNotFound
// if it has none (zero-priced, flat plan).
func FeeOfOrder(ctx context.Context, tx pgx.Tx, orderID int64) (FeeEntry, error) {
	var e FeeEntry
	err := tx.QueryRow(ctx, `SELECT id, order_id, source, order_amount_minor, basis_points, fee_minor, currency,
			settlement, coalesce(stripe_invoice_id, ''), voided_at IS NOT NULL, created_at
		FROM fee_entries WHERE order_id = $1`, orderID).
		Scan(&e.ID, &e.OrderID, &e.Source, &e.Order.Minor, &e.BasisPoints, &e.Fee.Minor, &e.Order.Currency,
			&e.Settlement, &e.StripeInvoiceID, &e.Voided, &e.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, membership.ErrNotFound
	}
	if err != nil {
		return e, fmt.Errorf("billing: fee of order: %w", err)
	}
	e.Fee.Currency = e.Order.Currency
	return e, nil
}
