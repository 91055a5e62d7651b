package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/tenant"
)

// Changes to one tenant run in tenant.DB.Tx for that tenant, and each
// writes a line in the tenant's own audit log (audit_log) in the same
// transaction, so the change and the record of who made it commit
// together.

// actor names a staff token in a tenant's audit log.
func actor(t Token) string { return "staff:" + t.Name }

func tenantAudit(ctx context.Context, tx pgx.Tx, who, action string, details map[string]any) error {
	_, err := tx.Exec(ctx, "INSERT INTO audit_log (tenant_id, actor, action, details) VALUES (gatekey_tenant(), $1, $2, $3)",
		who, action, details)
	if err != nil {
		return fmt.Errorf("ops: tenant audit log: %w", err)
	}
	return nil
}

type statusChange struct {
	Reason string `json:"reason"`
}

type statusResult struct {
	TenantID int64  `json:"tenant_id"`
	Status   string `json:"status"`
	Changed  bool   `json:"changed"` // false: it already was
}

// suspend answers POST /ops/v1/tenants/:id/suspend. The tenant's bots
// answer members that they are temporarily unavailable, its console is
// read-only, nothing is deleted, and its bot admins are told in Telegram.
// A reason is required: it goes in the tenant's audit log.
func (s *Server) suspend(c *fiber.Ctx) error {
	return s.setStatus(c, tenant.StatusSuspended, true)
}

// resume answers POST /ops/v1/tenants/:id/resume; the bot admins are
// told in Telegram.
func (s *Server) resume(c *fiber.Ctx) error {
	return s.setStatus(c, tenant.StatusActive, false)
}

func (s *Server) setStatus(c *fiber.Ctx, status string, needReason bool) error {
	id, err := s.tenantParam(c)
	if err != nil {
		return err
	}
	var req statusChange
	if err := decode(c, &req); err != nil {
		return err
	}
	req.Reason = strings.TrimSpace(req.Reason)
	if needReason && req.Reason == "" {
		return invalid("Give a reason, such as {\"reason\": \"unpaid invoice 2026-01\"}: it goes in the tenant's audit log.")
	}
	if utf8.RuneCountInString(req.Reason) > 500 {
		return invalid("The reason is at most 500 characters.")
	}
	ctx := c.UserContext()
	res := statusResult{TenantID: id, Status: status}
	err = s.cfg.DB.Tx(ctx, id, func(tx pgx.Tx) error {
		res.Changed, err = tenant.SetStatus(ctx, tx, status)
		if err != nil || !res.Changed {
			return err
		}
		action := "tenant.resumed"
		if status == tenant.StatusSuspended {
			action = "tenant.suspended"
		}
		if err := tenantAudit(ctx, tx, actor(staff(c)), action, map[string]any{"reason": req.Reason}); err != nil {
			return err
		}
		// The bot admins hear of it in Telegram, queued in this
		// transaction so that they are told exactly when it commits.
		notices, err := jobs.StatusNotices(ctx, tx, id, status)
		if err != nil {
			return err
		}
		return jobs.Insert(ctx, s.cfg.River, tx, notices)
	})
	if err != nil {
		return err
	}
	return c.JSON(res)
}

// billingChange is the body of PATCH /ops/v1/tenants/:id/billing: each
// field present is set, the others are left as they are.
type billingChange struct {
	Plan             *string `json:"plan"`
	FeeBasisPoints   *int    `json:"fee_basis_points"`
	FairUseFloor     *int    `json:"fairuse_floor"`
	FairUseRatioPct  *int    `json:"fairuse_ratio_pct"`
	ClearFairUseFlag bool    `json:"clear_fairuse_flag"`
	// Reason, if given, goes in the audit log with the change.
	Reason string `json:"reason,omitempty"`
}

// Bounds of the fair-use overrides: generous, but a typo of a few extra
// digits is caught.
const (
	maxFairUseFloor    = 1_000_000
	maxFairUseRatioPct = 100_000
)

func (b billingChange) validate() error {
	if b.Plan == nil && b.FeeBasisPoints == nil && b.FairUseFloor == nil && b.FairUseRatioPct == nil && !b.ClearFairUseFlag {
		return invalid("Nothing to change: send one or more of plan, fee_basis_points, fairuse_floor, fairuse_ratio_pct, clear_fairuse_flag.")
	}
	if len(b.Reason) > 500 {
		return invalid("The reason is at most 500 characters.")
	}
	if b.Plan != nil && *b.Plan != billing.PlanPayAsYouGo && *b.Plan != billing.PlanFlat {
		return invalid("plan is %q (pay-as-you-go) or %q.", billing.PlanPayAsYouGo, billing.PlanFlat)
	}
	if b.FeeBasisPoints != nil && (*b.FeeBasisPoints < 0 || *b.FeeBasisPoints > 10000) {
		return invalid("fee_basis_points is from 0 to 10000 (500 is 5%%).")
	}
	if b.FairUseFloor != nil && (*b.FairUseFloor < 0 || *b.FairUseFloor > maxFairUseFloor) {
		return invalid("fairuse_floor is from 0 to %d free activations.", maxFairUseFloor)
	}
	if b.FairUseRatioPct != nil && (*b.FairUseRatioPct < 0 || *b.FairUseRatioPct > maxFairUseRatioPct) {
		return invalid("fairuse_ratio_pct is from 0 to %d (100 is one free activation per paid order).", maxFairUseRatioPct)
	}
	return nil
}

type billingResult struct {
	TenantID int64       `json:"tenant_id"`
	Billing  billingView `json:"billing"`
	FairUse  fairUseView `json:"fair_use"`
}

// setBilling answers PATCH /ops/v1/tenants/:id/billing: the billing plan,
// the fee rate, the fair-use overrides, and clearing the fair-use flag.
// New fees use the new rate; fees already in the ledger keep theirs.
func (s *Server) setBilling(c *fiber.Ctx) error {
	id, err := s.tenantParam(c)
	if err != nil {
		return err
	}
	var req billingChange
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return err
	}
	ctx := c.UserContext()
	var res billingResult
	err = s.cfg.DB.Tx(ctx, id, func(tx pgx.Tx) error {
		before, beforeFair, err := loadBilling(ctx, tx)
		if err != nil {
			return err
		}
		if s := before.FlatSubscription; req.Plan != nil && *req.Plan == billing.PlanPayAsYouGo && s != nil && (billing.Subscription{Status: s.Status}).Live() {
			// The owner would go on paying Stripe every month for a plan
			// they no longer have; the plan follows the subscription.
			return fail(fiber.StatusConflict, codeConflict, fmt.Sprintf(
				"the tenant pays for the flat plan with Stripe subscription %s (%s): cancel it in Stripe and the plan goes back to pay-as-you-go when it ends", s.ID, s.Status))
		}
		_, err = tx.Exec(ctx, `UPDATE tenants SET
				billing_plan = coalesce($1, billing_plan),
				fee_basis_points = coalesce($2, fee_basis_points),
				fairuse_floor = coalesce($3, fairuse_floor),
				fairuse_ratio_pct = coalesce($4, fairuse_ratio_pct),
				fairuse_flagged_at = CASE WHEN $5 THEN NULL ELSE fairuse_flagged_at END
			WHERE id = gatekey_tenant()`,
			req.Plan, req.FeeBasisPoints, req.FairUseFloor, req.FairUseRatioPct, req.ClearFairUseFlag)
		if err != nil {
			return fmt.Errorf("ops: set billing: %w", err)
		}
		after, afterFair, err := loadBilling(ctx, tx)
		if err != nil {
			return err
		}
		res = billingResult{TenantID: id, Billing: after, FairUse: afterFair}
		change, _ := json.Marshal(req)
		return tenantAudit(ctx, tx, actor(staff(c)), "billing.changed", map[string]any{
			// The reason where a suspension's is; change.reason stays for
			// the readers of older entries.
			"reason": req.Reason,
			"change": json.RawMessage(change),
			"before": billingTerms(before, beforeFair), "after": billingTerms(after, afterFair),
		})
	})
	if err != nil {
		return err
	}
	return c.JSON(res)
}

// billingTerms are the fields setBilling changes, for the audit log.
func billingTerms(b billingView, f fairUseView) map[string]any {
	return map[string]any{
		"plan": b.Plan, "fee_basis_points": b.FeeBasisPoints,
		"fairuse_floor": f.Floor, "fairuse_ratio_pct": f.RatioPct, "fairuse_flagged_at": f.FlaggedAt,
	}
}
