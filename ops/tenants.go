package ops

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/tenant"
)

// tenantRow is a tenant in search results.
type tenantRow struct {
	ID               int64      `json:"id"`
	Name             string     `json:"name"`
	Status           string     `json:"status"`
	BillingPlan      string     `json:"billing_plan"`
	FeeBasisPoints   int        `json:"fee_basis_points"`
	FairUseFlaggedAt *time.Time `json:"fairuse_flagged_at"`
	CreatedAt        time.Time  `json:"created_at"`
	OwnerEmails      []string   `json:"owner_emails"`
	BotUsernames     []string   `json:"bot_usernames"`
}

// searchTenants answers GET /ops/v1/tenants: tenants whose id is q, or
// whose name, an owner's email or a bot's username contains q, oldest
// first, paged by ?after=<id>. Searching spans tenants, so it goes
// through the cross-tenant path, which only reads.
func (s *Server) searchTenants(c *fiber.Ctx) error {
	q := strings.TrimPrefix(strings.TrimSpace(c.Query("q")), "@")
	if len(q) > 200 {
		return invalid("q is at most 200 characters.")
	}
	status := c.Query("status")
	if status != "" && status != tenant.StatusActive && status != tenant.StatusSuspended {
		return invalid("status is active or suspended.")
	}
	flagged := false
	if v := c.Query("flagged"); v != "" {
		var err error
		if flagged, err = strconv.ParseBool(v); err != nil {
			return invalid("flagged is true or false.")
		}
	}
	after, err := int64Query(c, "after")
	if err != nil {
		return err
	}
	limit, err := limitQuery(c, 50, 200)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	var found []tenantRow
	err = s.cfg.DB.CrossTenant(ctx, "ops: "+staff(c).Name+" searches tenants", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT t.id, t.name, t.status, t.billing_plan, t.fee_basis_points, t.fairuse_flagged_at, t.created_at,
				array(SELECT o.email FROM owner_accounts o WHERE o.tenant_id = t.id ORDER BY o.id),
				array(SELECT b.username FROM bots b WHERE b.tenant_id = t.id ORDER BY b.id)
			FROM tenants t
			WHERE t.id > $1
			  AND ($2::text = '' OR t.id::text = $2 OR t.name ILIKE $3
			       OR EXISTS (SELECT FROM owner_accounts o WHERE o.tenant_id = t.id AND o.email ILIKE $3)
			       OR EXISTS (SELECT FROM bots b WHERE b.tenant_id = t.id AND b.username ILIKE $3))
			  AND ($4::text = '' OR t.status = $4)
			  AND (NOT $5 OR t.fairuse_flagged_at IS NOT NULL)
			ORDER BY t.id LIMIT $6`,
			after, q, "%"+escapeLike(q)+"%", status, flagged, limit+1) // one more: is there a next page?
		if err != nil {
			return err
		}
		found, err = pgx.CollectRows(rows, pgx.RowToStructByPos[tenantRow])
		return err
	})
	if err != nil {
		return fmt.Errorf("ops: search tenants: %w", err)
	}
	var next *int64
	if len(found) > limit {
		found = found[:limit]
		next = &found[limit-1].ID
	}
	return c.JSON(fiber.Map{"data": found, "next_after": next})
}

// escapeLike makes s match itself in a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// tenantDetail is everything staff see of one tenant.
type tenantDetail struct {
	ID        int64          `json:"id"`
	Name      string         `json:"name"`
	Status    string         `json:"status"`
	CreatedAt time.Time      `json:"created_at"`
	Owners    []ownerView    `json:"owners"`
	Billing   billingView    `json:"billing"`
	FairUse   fairUseView    `json:"fair_use"`
	Settings  settingsView   `json:"settings"`
	Bots      []botView      `json:"bots"`
	Plans     []planView     `json:"plans"`
	Counts    map[string]int `json:"counts"`
}

type ownerView struct {
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
}

type billingView struct {
	Plan                 string    `json:"plan"`
	FeeBasisPoints       int       `json:"fee_basis_points"`
	FeeRate              string    `json:"fee_rate"`
	StripeAccountID      *string   `json:"stripe_account_id"`
	StripeChargesEnabled bool      `json:"stripe_charges_enabled"`
	FlatSubscription     *flatView `json:"flat_subscription"`
}

type flatView struct {
	ID                string     `json:"id"`
	Status            string     `json:"status"`
	CancelAtPeriodEnd bool       `json:"cancel_at_period_end"`
	PeriodEnd         *time.Time `json:"period_end"`
}

type fairUseView struct {
	Limited   bool       `json:"limited"`
	Floor     int        `json:"floor"`
	RatioPct  int        `json:"ratio_pct"`
	Paid      int        `json:"paid_orders"`
	Used      int        `json:"free_activations"`
	Open      int        `json:"open_free_activations"`
	Allowance int        `json:"allowance"`
	Remaining int        `json:"remaining"`
	Over      bool       `json:"over"`
	FlaggedAt *time.Time `json:"flagged_at"`
}

func newFairUseView(f billing.FairUse) fairUseView {
	return fairUseView{Limited: f.Limited, Floor: f.Floor, RatioPct: f.RatioPct, Paid: f.Paid, Used: f.Used, Open: f.Open,
		Allowance: f.Allowance, Remaining: f.Remaining(), Over: f.Over(), FlaggedAt: f.FlaggedAt}
}

type settingsView struct {
	CodeAutoDeleteDays *int `json:"code_autodelete_days"`
	ZeroPriceDefault   bool `json:"zero_price_default"`
}

type botView struct {
	ID         int64     `json:"id"`
	TelegramID int64     `json:"telegram_id"`
	Username   string    `json:"username"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
}

type planView struct {
	ID         int64     `json:"id"`
	BotID      int64     `json:"bot_id"`
	Name       string    `json:"name"`
	PeriodDays *int      `json:"period_days"` // null: lifetime
	PriceMinor int64     `json:"price_minor"`
	Currency   string    `json:"currency"`
	Archived   bool      `json:"archived"`
	CreatedAt  time.Time `json:"created_at"`
}

// getTenant answers GET /ops/v1/tenants/:id.
func (s *Server) getTenant(c *fiber.Ctx) error {
	id, err := s.tenantParam(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	var d tenantDetail
	err = s.readTenant(ctx, id, func(tx pgx.Tx) error {
		d, err = loadTenant(ctx, tx)
		return err
	})
	if err != nil {
		return err
	}
	return c.JSON(d)
}

// tenantParam reads the :id of a tenant route and notes it for the log.
func (s *Server) tenantParam(c *fiber.Ctx) (int64, error) {
	id, err := idParam(c, "tenant")
	if err == nil {
		aboutTenant(c, id)
	}
	return id, err
}

// readTenant runs fn in a read-only transaction scoped to one tenant:
// row-level security shows it that tenant's rows and no other's, and
// billing's own reads (which rely on the scope) work as for the owner.
func (s *Server) readTenant(ctx context.Context, tenantID int64, fn func(pgx.Tx) error) error {
	return s.cfg.DB.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET TRANSACTION READ ONLY"); err != nil {
			return fmt.Errorf("ops: read-only: %w", err)
		}
		return fn(tx)
	})
}

// loadTenant reads the transaction's tenant for staff.
func loadTenant(ctx context.Context, tx pgx.Tx) (tenantDetail, error) {
	var d tenantDetail
	err := tx.QueryRow(ctx, `SELECT id, name, status, created_at, code_autodelete_days, zero_price_default
		FROM tenants WHERE id = gatekey_tenant()`).
		Scan(&d.ID, &d.Name, &d.Status, &d.CreatedAt, &d.Settings.CodeAutoDeleteDays, &d.Settings.ZeroPriceDefault)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, tenant.ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("ops: load tenant: %w", err)
	}
	if d.Billing, d.FairUse, err = loadBilling(ctx, tx); err != nil {
		return d, err
	}
	if d.Owners, err = collect[ownerView](ctx, tx, "SELECT email, created_at FROM owner_accounts ORDER BY id"); err != nil {
		return d, err
	}
	if d.Bots, err = collect[botView](ctx, tx, "SELECT id, telegram_id, username, status, created_at FROM bots ORDER BY id"); err != nil {
		return d, err
	}
	if d.Plans, err = collect[planView](ctx, tx, `SELECT id, bot_id, name, period_days, price_minor, currency,
			archived_at IS NOT NULL, created_at FROM plans ORDER BY id`); err != nil {
		return d, err
	}
	d.Counts, err = countTenant(ctx, tx)
	return d, err
}

// loadBilling reads the transaction's tenant's billing terms and its
// standing against the fair-use limit (billing.GetFairUse).
func loadBilling(ctx context.Context, tx pgx.Tx) (billingView, fairUseView, error) {
	var b billingView
	err := tx.QueryRow(ctx, `SELECT billing_plan, fee_basis_points, stripe_account_id, stripe_charges_enabled
		FROM tenants WHERE id = gatekey_tenant()`).Scan(&b.Plan, &b.FeeBasisPoints, &b.StripeAccountID, &b.StripeChargesEnabled)
	if errors.Is(err, pgx.ErrNoRows) {
		return b, fairUseView{}, tenant.ErrNotFound
	}
	if err != nil {
		return b, fairUseView{}, fmt.Errorf("ops: load billing: %w", err)
	}
	b.FeeRate = billing.RateText(b.FeeBasisPoints)
	sub, err := billing.GetSubscription(ctx, tx)
	if err != nil {
		return b, fairUseView{}, err
	}
	if sub.ID != "" {
		b.FlatSubscription = &flatView{ID: sub.ID, Status: sub.Status, CancelAtPeriodEnd: sub.Cancelled, PeriodEnd: sub.PeriodEnd}
	}
	f, err := billing.GetFairUse(ctx, tx)
	return b, newFairUseView(f), err
}

// countTenant counts the tenant's things; row-level security keeps each
// count to the tenant.
func countTenant(ctx context.Context, tx pgx.Tx) (map[string]int, error) {
	names := []string{"chats", "members", "active_memberships", "codes", "activations", "paid_orders"}
	n := make([]int, len(names))
	err := tx.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM chats),
			(SELECT count(*) FROM members),
			(SELECT count(*) FROM memberships WHERE status = 'active'),
			(SELECT count(*) FROM access_codes WHERE deleted_at IS NULL),
			(SELECT count(*) FROM code_activations WHERE rolled_back_at IS NULL),
			(SELECT count(*) FROM orders WHERE status = 'paid' AND amount_minor > 0)`).
		Scan(&n[0], &n[1], &n[2], &n[3], &n[4], &n[5])
	if err != nil {
		return nil, fmt.Errorf("ops: count tenant: %w", err)
	}
	counts := make(map[string]int, len(names))
	for i, name := range names {
		counts[name] = n[i]
	}
	return counts, nil
}

// collect runs a query and scans each row into a T by position.
func collect[T any](ctx context.Context, tx pgx.Tx, sql string, args ...any) ([]T, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("ops: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[T])
	if err != nil {
		return nil, fmt.Errorf("ops: %w", err)
	}
	return out, nil
}
