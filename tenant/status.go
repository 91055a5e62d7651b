package tenant

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// A tenant's status. Platform staff suspend a tenant through the ops API:
// its bots tell members they are temporarily unavailable, its console is
// read-only, nothing is deleted, and its bot admins are told in Telegram
// (jobs.StatusNotices). Resuming puts everything back, and tells them.
const (
	StatusActive    = "active"
	StatusSuspended = "suspended"
)

// ErrSuspended refuses a change to a suspended tenant's data.
var ErrSuspended = errors.New("this account is suspended, so nothing can be changed for now; please contact Gatekey support")

// Suspended reports whether staff have suspended the tenant.
func (t Tenant) Suspended() bool { return t.Status == StatusSuspended }

// IsSuspended reports whether the transaction's tenant is suspended. Call
// it in the transaction that would make the change, so a suspension that
// commits first is seen.
func IsSuspended(ctx context.Context, tx pgx.Tx) (bool, error) {
	var status string
	err := tx.QueryRow(ctx, "SELECT status FROM tenants WHERE id = gatekey_tenant()").Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, ErrNotFound
	}
	if err != nil {
		return false, fmt.Errorf("tenant: status: %w", err)
	}
	return status == StatusSuspended, nil
}

// SetStatus suspends or resumes the transaction's tenant and reports
// whether that changed anything (suspending a suspended tenant does not).
func SetStatus(ctx context.Context, tx pgx.Tx, status string) (changed bool, err error) {
	if status != StatusActive && status != StatusSuspended {
		return false, fmt.Errorf("tenant: unknown status %q", status)
	}
	var old string
	err = tx.QueryRow(ctx, "SELECT status FROM tenants WHERE id = gatekey_tenant() FOR UPDATE").Scan(&old)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, ErrNotFound
	}
	if err != nil {
		return false, fmt.Errorf("tenant: set status: %w", err)
	}
	if old == status {
		return false, nil
	}
	if _, err := tx.Exec(ctx, "UPDATE tenants SET status = $1 WHERE id = gatekey_tenant()", status); err != nil {
		return false, fmt.Errorf("tenant: set status: %w", err)
	}
	return true, nil
}
