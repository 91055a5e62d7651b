package ops

import (
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/tenant"
)

// historyEntry is one line of a tenant's own audit log (audit_log): who
// changed what in the account, staff's suspensions and billing changes
// among them, with their reasons.
type historyEntry struct {
	ID      int64          `json:"id"`
	At      time.Time      `json:"at"`
	Actor   string         `json:"actor"`
	Action  string         `json:"action"`
	Subject string         `json:"subject"`
	Details map[string]any `json:"details"`
}

// history answers GET /ops/v1/tenants/:id/history: the tenant's audit
// log, newest first, read under the tenant's own row-level security.
func (s *Server) history(c *fiber.Ctx) error {
	id, err := s.tenantParam(c)
	if err != nil {
		return err
	}
	before, err := int64Query(c, "before")
	if err != nil {
		return err
	}
	limit, err := limitQuery(c, 100, 500)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	var entries []historyEntry
	err = s.readTenant(ctx, id, func(tx pgx.Tx) error {
		// A tenant that does not exist is not found, rather than empty.
		if _, err := tenant.IsSuspended(ctx, tx); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, at, actor, action, subject, details FROM audit_log
			WHERE $1::bigint = 0 OR id < $1 ORDER BY id DESC LIMIT $2`, before, limit+1) // one more: is there a next page?
		if err != nil {
			return fmt.Errorf("ops: tenant history: %w", err)
		}
		entries, err = pgx.CollectRows(rows, pgx.RowToStructByPos[historyEntry])
		if err != nil {
			return fmt.Errorf("ops: tenant history: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var next *int64
	if len(entries) > limit {
		entries = entries[:limit]
		next = &entries[limit-1].ID
	}
	if entries == nil {
		entries = []historyEntry{}
	}
	for _, e := range entries {
		reasonOfOldBillingChange(e)
	}
	return c.JSON(fiber.Map{"data": entries, "next_before": next})
}

// reasonOfOldBillingChange puts a billing change's reason at
// details.reason, where a suspension's is, for entries written before
// billing changes put it there too (they had it only at
// details.change.reason).
func reasonOfOldBillingChange(e historyEntry) {
	if e.Action != "billing.changed" || e.Details == nil {
		return
	}
	if _, ok := e.Details["reason"]; ok {
		return
	}
	change, _ := e.Details["change"].(map[string]any)
	reason, _ := change["reason"].(string)
	e.Details["reason"] = reason
}
