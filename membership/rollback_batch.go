package membership

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// BatchRollback is what starting a batch's rollback did.
type BatchRollback struct {
	Batch BatchInfo
	Codes int // codes of the batch rolled back now (those not rolled back before)
	// Running are the rollbacks with activations to undo, each to be worked
	// by its own job; the others had nothing to undo and are done already.
	Running []Rollback
}

// ErrNothingToRollBack is returned when every code of a batch has been
// rolled back already.
var ErrNothingToRollBack = errors.New("every code of this batch has been rolled back already")

// StartBatchRollback does what StartRollback does for every code of a
// batch not rolled back yet, in one statement: the codes are deleted, and
// a code that nobody activated is done at once. The caller queues a job
// for each of the Running rollbacks in the same transaction.
func StartBatchRollback(ctx context.Context, tx pgx.Tx, batchID int64, requestedBy string) (BatchRollback, error) {
	var b BatchRollback
	var err error
	if b.Batch, err = GetBatch(ctx, tx, batchID); err != nil {
		return b, err
	}
	rows, err := tx.Query(ctx, `WITH picked AS (
			SELECT c.id FROM access_codes c WHERE c.batch_id = $1
			AND NOT EXISTS (SELECT FROM code_rollbacks r WHERE r.tenant_id = c.tenant_id AND r.code_id = c.id)
			ORDER BY c.id FOR UPDATE
		), deleted AS (
			UPDATE access_codes c SET deleted_at = coalesce(deleted_at, now()) FROM picked WHERE c.id = picked.id RETURNING c.id
		), counted AS (
			SELECT d.id, (SELECT count(*) FROM code_activations a WHERE a.code_id = d.id AND a.rolled_back_at IS NULL)::int AS total
			FROM deleted d
		)
		INSERT INTO code_rollbacks (tenant_id, code_id, total, requested_by, status, finished_at)
		SELECT gatekey_tenant(), id, total, $2, CASE WHEN total = 0 THEN 'done' ELSE 'running' END, CASE WHEN total = 0 THEN now() END
		FROM counted ORDER BY id
		ON CONFLICT (tenant_id, code_id) DO NOTHING
		RETURNING `+rollbackColumns, batchID, requestedBy)
	if err != nil {
		return b, fmt.Errorf("membership: start batch rollback: %w", err)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Rollback, error) { return scanRollback(r) })
	if err != nil {
		return b, fmt.Errorf("membership: start batch rollback: %w", err)
	}
	if len(all) == 0 {
		return b, ErrNothingToRollBack
	}
	b.Codes = len(all)
	for _, r := range all {
		if r.Status == "running" {
			b.Running = append(b.Running, r)
		}
	}
	return b, nil
}

// BatchRollbackSummary adds up the rollbacks that StartBatchRollback
// started together with r (one transaction gave them all one started_at)
// once none of them is running. Rollbacks of the batch's codes started on
// their own, before, are not its business. It locks the batch's row first,
// so that of two rollbacks finishing at once, the second to commit sees
// the first done: exactly one of them finds the batch finished (ok), and
// tells the owner.
func BatchRollbackSummary(ctx context.Context, tx pgx.Tx, batchID int64, r Rollback) (sum Rollback, codes int, ok bool, err error) {
	if _, err := tx.Exec(ctx, "SELECT FROM code_batches WHERE id = $1 FOR UPDATE", batchID); err != nil {
		return sum, 0, false, fmt.Errorf("membership: batch rollback summary: %w", err)
	}
	var running int
	err = tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE r.status = 'running'), coalesce(sum(r.undone), 0)
		FROM code_rollbacks r JOIN access_codes c ON c.tenant_id = r.tenant_id AND c.id = r.code_id
		WHERE c.batch_id = $1 AND r.started_at = $2`, batchID, r.StartedAt).Scan(&codes, &running, &sum.Undone)
	if err != nil {
		return sum, 0, false, fmt.Errorf("membership: batch rollback summary: %w", err)
	}
	if running > 0 {
		return sum, codes, false, nil
	}
	// Members, not activations (each code's rollback counts its own): one
	// member may have activated several of the batch's codes. Those whose
	// access had ended before the rollback lost nothing to it.
	err = tx.QueryRow(ctx, `SELECT count(DISTINCT a.member_id) FILTER (WHERE ms.status = 'revoked' AND ms.ended_at >= $2),
			count(DISTINCT a.member_id) FILTER (WHERE ms.status = 'active')
		FROM code_rollbacks r JOIN access_codes c ON c.tenant_id = r.tenant_id AND c.id = r.code_id
		JOIN code_activations a ON a.tenant_id = c.tenant_id AND a.code_id = c.id AND a.rolled_back_at IS NOT NULL
		JOIN memberships ms ON ms.tenant_id = a.tenant_id AND ms.id = a.membership_id
		WHERE c.batch_id = $1 AND r.started_at = $2`, batchID, r.StartedAt).Scan(&sum.Removed, &sum.Shortened)
	if err != nil {
		return sum, 0, false, fmt.Errorf("membership: batch rollback members: %w", err)
	}
	return sum, codes, true, nil
}

// RollbackPreview is what rolling a batch back would take back.
type RollbackPreview struct {
	Codes       int // its codes not rolled back yet
	Live        int // of those, the ones not deleted: the rollback deletes them
	Activations int // their activations not undone yet
}

// BatchRollbackPreview counts what rolling a batch back would take back.
func BatchRollbackPreview(ctx context.Context, tx pgx.Tx, batchID int64) (RollbackPreview, error) {
	var p RollbackPreview
	err := tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE c.deleted_at IS NULL), coalesce(sum((SELECT count(*) FROM code_activations a
			WHERE a.code_id = c.id AND a.rolled_back_at IS NULL)), 0)
		FROM access_codes c WHERE c.batch_id = $1
		AND NOT EXISTS (SELECT FROM code_rollbacks r WHERE r.tenant_id = c.tenant_id AND r.code_id = c.id)`, batchID).Scan(&p.Codes, &p.Live, &p.Activations)
	if err != nil {
		return p, fmt.Errorf("membership: batch rollback preview: %w", err)
	}
	return p, nil
}

// RolledBackWithBatch says whether r was started together with the
// rollbacks of other codes of its code's batch (StartBatchRollback gives
// them one started_at), rather than for its code alone.
func RolledBackWithBatch(ctx context.Context, tx pgx.Tx, r Rollback) (bool, error) {
	var with bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM access_codes c
		JOIN access_codes o ON o.tenant_id = c.tenant_id AND o.batch_id = c.batch_id AND o.id <> c.id
		JOIN code_rollbacks r ON r.tenant_id = o.tenant_id AND r.code_id = o.id
		WHERE c.id = $1 AND r.started_at = $2)`, r.CodeID, r.StartedAt).Scan(&with)
	if err != nil {
		return false, fmt.Errorf("membership: rolled back with batch: %w", err)
	}
	return with, nil
}
