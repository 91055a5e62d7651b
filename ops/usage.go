package ops

import (
	"context"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/tenant"
)

// usageReport is what a tenant did in a period: code activations, paid
// orders, and Gatekey's fees. Fees come from billing's fee ledger
// (fee_entries), the record invoices are made from, so the report agrees
// with what the tenant is billed; amounts are per currency, in minor units.
type usageReport struct {
	TenantID    int64           `json:"tenant_id"`
	From        time.Time       `json:"from"`
	To          time.Time       `json:"to"`
	Activations activationUsage `json:"activations"`
	Orders      []orderUsage    `json:"orders"`
	Fees        []feeUsage      `json:"fees"`
	FeesSource  string          `json:"fees_source"`
}

type activationUsage struct {
	Total      int `json:"total"`
	ZeroPriced int `json:"zero_priced"`
	Priced     int `json:"priced"`
	RolledBack int `json:"rolled_back"`
}

type orderUsage struct {
	Currency            string `json:"currency"`
	Paid                int    `json:"paid"`
	PaidAmountMinor     int64  `json:"paid_amount_minor"`
	Refunded            int    `json:"refunded"`
	RefundedAmountMinor int64  `json:"refunded_amount_minor"`
}

type feeUsage struct {
	Currency            string `json:"currency"`
	Orders              int    `json:"orders"`
	SalesMinor          int64  `json:"sales_minor"`
	FeeMinor            int64  `json:"fee_minor"`
	ApplicationFeeMinor int64  `json:"application_fee_minor"` // taken by Stripe with the payments
	InvoiceMinor        int64  `json:"invoice_minor"`         // on the owner's invoices
	InvoicedMinor       int64  `json:"invoiced_minor"`        // of which already invoiced
	Voided              int    `json:"voided"`                // entries voided by a refund before billing
}

// defaultUsageDays is the report's period when none is given.
const defaultUsageDays = 30

// usage answers GET /ops/v1/tenants/:id/usage?from=&to=, over [from, to).
func (s *Server) usage(c *fiber.Ctx) error {
	id, err := s.tenantParam(c)
	if err != nil {
		return err
	}
	from, err := timeQuery(c, "from")
	if err != nil {
		return err
	}
	to, err := timeQuery(c, "to")
	if err != nil {
		return err
	}
	r := usageReport{TenantID: id, FeesSource: "ledger", To: time.Now().UTC()}
	if to != nil {
		r.To = *to
	}
	r.From = r.To.AddDate(0, 0, -defaultUsageDays)
	if from != nil {
		r.From = *from
	}
	if !r.From.Before(r.To) {
		return invalid("from must be before to.")
	}
	ctx := c.UserContext()
	err = s.readTenant(ctx, id, func(tx pgx.Tx) error {
		// A tenant that does not exist is not found, rather than all zeros.
		if _, err := tenant.IsSuspended(ctx, tx); err != nil {
			return err
		}
		return r.load(ctx, tx)
	})
	if err != nil {
		return err
	}
	return c.JSON(r)
}

func (r *usageReport) load(ctx context.Context, tx pgx.Tx) error {
	a := &r.Activations
	err := tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE o.amount_minor = 0), count(*) FILTER (WHERE o.amount_minor > 0),
			count(*) FILTER (WHERE a.rolled_back_at IS NOT NULL)
		FROM code_activations a JOIN orders o ON o.tenant_id = a.tenant_id AND o.id = a.order_id
		WHERE a.created_at >= $1 AND a.created_at < $2`, r.From, r.To).Scan(&a.Total, &a.ZeroPriced, &a.Priced, &a.RolledBack)
	if err != nil {
		return fmt.Errorf("ops: usage activations: %w", err)
	}
	if r.Orders, err = collect[orderUsage](ctx, tx, `SELECT currency,
			count(*) FILTER (WHERE status = 'paid'), coalesce(sum(amount_minor) FILTER (WHERE status = 'paid'), 0),
			count(*) FILTER (WHERE status = 'refunded'), coalesce(sum(amount_minor) FILTER (WHERE status = 'refunded'), 0)
		FROM orders WHERE amount_minor > 0 AND created_at >= $1 AND created_at < $2
		GROUP BY currency ORDER BY currency`, r.From, r.To); err != nil {
		return err
	}
	r.Fees, err = collect[feeUsage](ctx, tx, `SELECT currency,
			count(*) FILTER (WHERE voided_at IS NULL),
			coalesce(sum(order_amount_minor) FILTER (WHERE voided_at IS NULL), 0),
			coalesce(sum(fee_minor) FILTER (WHERE voided_at IS NULL), 0),
			coalesce(sum(fee_minor) FILTER (WHERE voided_at IS NULL AND settlement = 'application_fee'), 0),
			coalesce(sum(fee_minor) FILTER (WHERE voided_at IS NULL AND settlement = 'invoice'), 0),
			coalesce(sum(fee_minor) FILTER (WHERE voided_at IS NULL AND settlement = 'invoice' AND invoice_id IS NOT NULL), 0),
			count(*) FILTER (WHERE voided_at IS NOT NULL)
		FROM fee_entries WHERE created_at >= $1 AND created_at < $2
		GROUP BY currency ORDER BY currency`, r.From, r.To)
	return err
}
