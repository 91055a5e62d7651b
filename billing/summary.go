package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/membership"
)

// Overview is a tenant's billing at a glance: what the console's billing
// page shows.
type Overview struct {
	Terms       Terms
	FeeRate     string // Terms.BasisPoints as a percentage, "5%"
	PeriodStart time.Time
	PeriodEnd   time.Time
	Fees        []CurrencyFees // this period, one per currency, by currency
	Invoices    []OwnerInvoice // the latest, newest first
	FairUse     FairUse
	Stripe      StripeAccount
	Flat        Subscription // the owner's flat-plan subscription, if any
}

// CurrencyFees are one currency's fees in a period.
type CurrencyFees struct {
	Currency  string
	Orders    int              // paid orders that carry a fee entry
	Sales     membership.Money // what those orders were worth
	Fees      membership.Money // Gatekey's fees on them
	Collected membership.Money // of which Stripe took with the payments
	ToInvoice membership.Money // of which go on the owner's invoice
}

// overviewInvoices is how many invoices the overview lists.
const overviewInvoices = 12

// Summary reads the tenant's billing overview for the period containing now.
func Summary(ctx context.Context, tx pgx.Tx, period Period, now time.Time) (Overview, error) {
	var o Overview
	var err error
	if o.Terms, err = GetTerms(ctx, tx); err != nil {
		return o, err
	}
	o.FeeRate = RateText(o.Terms.BasisPoints)
	o.PeriodStart, o.PeriodEnd = period.Bounds(now)
	if o.Fees, err = periodFees(ctx, tx, o.PeriodStart, o.PeriodEnd); err != nil {
		return o, err
	}
	if o.Invoices, err = ListInvoices(ctx, tx, overviewInvoices); err != nil {
		return o, err
	}
	if o.FairUse, err = GetFairUse(ctx, tx); err != nil {
		return o, err
	}
	if o.Stripe, err = GetStripeAccount(ctx, tx); err != nil {
		return o, err
	}
	o.Flat, err = GetSubscription(ctx, tx)
	return o, err
}

// Summary is billing.Summary for the service's billing period, now.
func (s *Service) Summary(ctx context.Context, tx pgx.Tx) (Overview, error) {
	return Summary(ctx, tx, s.cfg.Period, time.Now())
}

// periodFees totals the period's fees by currency. A refunded order's fee
// that is still to be invoiced is left out at once, as the invoice run
// (gatherFees) will void it, so the page never shows a fee that will not
// be charged.
func periodFees(ctx context.Context, tx pgx.Tx, from, to time.Time) ([]CurrencyFees, error) {
	rows, err := tx.Query(ctx, `SELECT currency, count(*), sum(order_amount_minor), sum(fee_minor),
			coalesce(sum(fee_minor) FILTER (WHERE settlement = 'application_fee'), 0),
			coalesce(sum(fee_minor) FILTER (WHERE settlement = 'invoice'), 0)
		FROM fee_entries f WHERE created_at >= $1 AND created_at < $2 AND voided_at IS NULL
		AND NOT (settlement = 'invoice' AND invoice_id IS NULL AND EXISTS (
			SELECT FROM orders o WHERE o.tenant_id = f.tenant_id AND o.id = f.order_id AND o.status = 'refunded'))
		GROUP BY currency ORDER BY currency`, from, to)
	if err != nil {
		return nil, fmt.Errorf("billing: period fees: %w", err)
	}
	fees, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CurrencyFees, error) {
		var f CurrencyFees
		err := r.Scan(&f.Currency, &f.Orders, &f.Sales.Minor, &f.Fees.Minor, &f.Collected.Minor, &f.ToInvoice.Minor)
		f.Sales.Currency, f.Fees.Currency, f.Collected.Currency, f.ToInvoice.Currency = f.Currency, f.Currency, f.Currency, f.Currency
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("billing: period fees: %w", err)
	}
	return fees, nil
}
