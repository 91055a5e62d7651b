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
)

// OwnerInvoice is Gatekey's invoice to an owner: the fees of one billing
// period in one currency.
type OwnerInvoice struct {
	ID              int64
	PeriodStart     time.Time
	PeriodEnd       time.Time
	Amount          membership.Money
	Entries         int    // fee entries on it
	Status          string // pending, empty (nothing to bill), draft, open, paid, void, uncollectible
	StripeInvoiceID string
	Number          string
	HostedURL       string // Stripe's page where the owner sees and pays it
	CreatedAt       time.Time
	FinalizedAt     *time.Time

	idempotencyKey string
	stripeItemID   string
}

const invoiceColumns = `id, period_start, period_end, amount_minor, currency, entries, status,
	coalesce(stripe_invoice_id, ''), number, hosted_url, created_at, finalized_at, idempotency_key::text, coalesce(stripe_item_id, '')`

func scanInvoice(row pgx.Row) (OwnerInvoice, error) {
	var i OwnerInvoice
	err := row.Scan(&i.ID, &i.PeriodStart, &i.PeriodEnd, &i.Amount.Minor, &i.Amount.Currency, &i.Entries, &i.Status,
		&i.StripeInvoiceID, &i.Number, &i.HostedURL, &i.CreatedAt, &i.FinalizedAt, &i.idempotencyKey, &i.stripeItemID)
	return i, err
}

// ListInvoices returns the tenant's invoices, newest first.
func ListInvoices(ctx context.Context, tx pgx.Tx, limit int) ([]OwnerInvoice, error) {
	rows, err := tx.Query(ctx, "SELECT "+invoiceColumns+" FROM owner_invoices ORDER BY period_end DESC, id DESC LIMIT $1", limit)
	if err != nil {
		return nil, fmt.Errorf("billing: list invoices: %w", err)
	}
	invs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OwnerInvoice, error) { return scanInvoice(r) })
	if err != nil {
		return nil, fmt.Errorf("billing: list invoices: %w", err)
	}
	return invs, nil
}

// Owners pay Gatekey's invoices from the email Stripe sends, within this.
const invoiceDaysUntilDue = 14

// TenantsToInvoice lists the tenants with fees from before `before` still
// to bill, or an invoice whose sending stopped half way.
func (s *Service) TenantsToInvoice(ctx context.Context, before time.Time) ([]int64, error) {
	var ids []int64
	err := s.db.CrossTenant(ctx, "billing: tenants with fees to invoice", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT tenant_id FROM fee_entries
			WHERE settlement = 'invoice' AND invoice_id IS NULL AND voided_at IS NULL AND created_at < $1
			UNION SELECT tenant_id FROM owner_invoices WHERE status = 'pending' OR (status = 'draft' AND finalized_at IS NULL)
			ORDER BY 1`, before)
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("billing: tenants to invoice: %w", err)
	}
	return ids, nil
}

// InvoiceTenant bills a tenant's fees from before `before` (the end of a
// billing period): one Stripe invoice per currency, with one line for the
// period's fees, on the owner's Stripe customer, finalized so Stripe sends
// it. It is safe to run again at any point, and twice at once: the fee
// entries are first gathered onto an invoice row under a lock; each Stripe
// call carries that row's idempotency key, and its result is recorded
// before the next call, so a rerun goes on where the last one stopped and
// no entry is ever billed twice. Fees of orders refunded before billing
// are dropped. It returns the tenant's invoices that it finished.
func (s *Service) InvoiceTenant(ctx context.Context, tenantID int64, before time.Time) ([]OwnerInvoice, error) {
	if !s.Enabled() {
		return nil, ErrStripeOff
	}
	var open []OwnerInvoice
	err := s.db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		if err := s.gatherFees(ctx, tx, before); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT "+invoiceColumns+` FROM owner_invoices
			WHERE status = 'pending' OR (status = 'draft' AND finalized_at IS NULL) ORDER BY id`)
		if err != nil {
			return err
		}
		open, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (OwnerInvoice, error) { return scanInvoice(r) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("billing: gather fees of tenant %d: %w", tenantID, err)
	}
	var done []OwnerInvoice
	for _, inv := range open {
		inv, err := s.send(ctx, tenantID, inv)
		if err != nil {
			return done, fmt.Errorf("billing: invoice %d of tenant %d: %w", inv.ID, tenantID, err)
		}
		done = append(done, inv)
	}
	return done, nil
}

// gatherFees moves the unbilled fees from before `before` onto the
// period's invoice row of their currency, while that row has not yet gone
// to Stripe. Fees that come too late for it (a transaction that committed
// after the run) wait for the next period's invoice.
func (s *Service) gatherFees(ctx context.Context, tx pgx.Tx, before time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE fee_entries f SET voided_at = now() FROM orders o
		WHERE o.tenant_id = f.tenant_id AND o.id = f.order_id AND o.status = 'refunded'
		  AND f.settlement = 'invoice' AND f.invoice_id IS NULL AND f.voided_at IS NULL AND f.created_at < $1`, before)
	if err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT DISTINCT currency FROM fee_entries
		WHERE settlement = 'invoice' AND invoice_id IS NULL AND voided_at IS NULL AND created_at < $1`, before)
	if err != nil {
		return err
	}
	currencies, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	start, _ := s.cfg.Period.Bounds(before.Add(-time.Nanosecond))
	for _, cur := range currencies {
		if _, err := tx.Exec(ctx, `INSERT INTO owner_invoices (tenant_id, period_start, period_end, currency)
			VALUES (gatekey_tenant(), $1, $2, $3) ON CONFLICT (tenant_id, period_end, currency) DO NOTHING`, start, before, cur); err != nil {
			return err
		}
		var id int64
		err := tx.QueryRow(ctx, `SELECT id FROM owner_invoices
			WHERE period_end = $1 AND currency = $2 AND stripe_invoice_id IS NULL AND status = 'pending' FOR UPDATE`, before, cur).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // already on its way to Stripe
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `WITH moved AS (
				UPDATE fee_entries SET invoice_id = $1
				WHERE settlement = 'invoice' AND invoice_id IS NULL AND voided_at IS NULL AND created_at < $2 AND currency = $3
				RETURNING fee_minor)
			UPDATE owner_invoices SET amount_minor = amount_minor + (SELECT coalesce(sum(fee_minor), 0) FROM moved),
				entries = entries + (SELECT count(*) FROM moved)
			WHERE id = $1`, id, before, cur)
		if err != nil {
			return err
		}
	}
	return nil
}

// send takes one invoice row through Stripe, step by step: create the
// invoice, add the fees' line, finalize. Each step is skipped if its
// result is already recorded.
func (s *Service) send(ctx context.Context, tenantID int64, inv OwnerInvoice) (OwnerInvoice, error) {
	if inv.Amount.Minor == 0 && inv.StripeInvoiceID == "" {
		// Fees that round to nothing: no invoice to send.
		err := s.db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "UPDATE owner_invoices SET status = 'empty' WHERE id = $1 AND status = 'pending' AND amount_minor = 0", inv.ID)
			return err
		})
		inv.Status = "empty"
		return inv, err
	}
	cus, err := s.ensureCustomer(ctx, tenantID)
	if err != nil {
		return inv, err
	}
	meta := map[string]string{MetaTenant: strconv.FormatInt(tenantID, 10), MetaInvoice: strconv.FormatInt(inv.ID, 10)}
	if inv.StripeInvoiceID == "" {
		p := &stripe.InvoiceParams{
			Customer:                    stripe.String(cus),
			Currency:                    stripe.String(strings.ToLower(inv.Amount.Currency)),
			CollectionMethod:            stripe.String(string(stripe.InvoiceCollectionMethodSendInvoice)),
			DaysUntilDue:                stripe.Int64(invoiceDaysUntilDue),
			PendingInvoiceItemsBehavior: stripe.String("exclude"),
			AutoAdvance:                 stripe.Bool(false),
			Description:                 stripe.String("Gatekey fees, " + periodText(inv.PeriodStart, inv.PeriodEnd)),
			Metadata:                    meta,
		}
		p.Context = ctx
		p.SetIdempotencyKey("gatekey-invoice-" + inv.idempotencyKey)
		si, err := s.invoices.New(p)
		if err != nil {
			return inv, fmt.Errorf("create invoice: %w", err)
		}
		// Recording the Stripe id closes the row to more fees, and gives
		// the amount the line below must bill.
		err = s.db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
			// A run alongside may have recorded it first; its id stands.
			err := tx.QueryRow(ctx, `UPDATE owner_invoices SET stripe_invoice_id = coalesce(stripe_invoice_id, $2),
				status = CASE WHEN status = 'pending' THEN 'draft' ELSE status END
				WHERE id = $1 RETURNING stripe_invoice_id, status, amount_minor, entries, coalesce(stripe_item_id, '')`, inv.ID, si.ID).
				Scan(&inv.StripeInvoiceID, &inv.Status, &inv.Amount.Minor, &inv.Entries, &inv.stripeItemID)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, "UPDATE fee_entries SET stripe_invoice_id = $2 WHERE invoice_id = $1", inv.ID, inv.StripeInvoiceID)
			return err
		})
		if err != nil {
			return inv, fmt.Errorf("record invoice: %w", err)
		}
	}
	if inv.stripeItemID == "" {
		p := &stripe.InvoiceItemParams{
			Customer: stripe.String(cus),
			Invoice:  stripe.String(inv.StripeInvoiceID),
			Amount:   stripe.Int64(inv.Amount.Minor),
			Currency: stripe.String(strings.ToLower(inv.Amount.Currency)),
			Description: stripe.String(fmt.Sprintf("Gatekey fee on %d paid %s, %s",
				inv.Entries, plural(inv.Entries, "order", "orders"), periodText(inv.PeriodStart, inv.PeriodEnd))),
			Metadata: meta,
		}
		p.Context = ctx
		p.SetIdempotencyKey("gatekey-invoice-item-" + inv.idempotencyKey)
		item, err := s.invoiceItems.New(p)
		if err != nil {
			return inv, fmt.Errorf("add invoice line: %w", err)
		}
		err = s.db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `UPDATE owner_invoices SET stripe_item_id = coalesce(stripe_item_id, $2)
				WHERE id = $1 RETURNING stripe_item_id`, inv.ID, item.ID).Scan(&inv.stripeItemID)
		})
		if err != nil {
			return inv, fmt.Errorf("record invoice line: %w", err)
		}
	}
	p := &stripe.InvoiceFinalizeInvoiceParams{AutoAdvance: stripe.Bool(true)}
	p.Context = ctx
	p.SetIdempotencyKey("gatekey-invoice-finalize-" + inv.idempotencyKey)
	si, err := s.invoices.FinalizeInvoice(inv.StripeInvoiceID, p)
	if err != nil {
		return inv, fmt.Errorf("finalize invoice: %w", err)
	}
	status := string(si.Status)
	if status == "" || status == string(stripe.InvoiceStatusDraft) {
		status = string(stripe.InvoiceStatusOpen)
	}
	err = s.db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		// An invoice.paid event may have come first: it keeps its status.
		return tx.QueryRow(ctx, `UPDATE owner_invoices SET finalized_at = coalesce(finalized_at, now()),
			status = CASE WHEN status IN ('pending', 'draft') THEN $2 ELSE status END, number = $3, hosted_url = $4
			WHERE id = $1 RETURNING status, finalized_at`, inv.ID, status, si.Number, si.HostedInvoiceURL).Scan(&inv.Status, &inv.FinalizedAt)
	})
	if err != nil {
		return inv, fmt.Errorf("record finalized invoice: %w", err)
	}
	inv.Number, inv.HostedURL = si.Number, si.HostedInvoiceURL
	return inv, nil
}

func periodText(start, end time.Time) string {
	last := end.Add(-time.Nanosecond).UTC()
	if end.Sub(start) < 24*time.Hour {
		return start.UTC().Format("2 Jan 2006 15:04") + " to " + end.UTC().Format("15:04 UTC")
	}
	return start.UTC().Format("2 Jan 2006") + " to " + last.Format("2 Jan 2006")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
