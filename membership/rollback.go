package membership

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// DeleteCode stops a code from being activated again. Memberships it has
// granted stay. Deleting a deleted code changes nothing.
func DeleteCode(ctx context.Context, tx pgx.Tx, codeID int64) (Code, error) {
	tag, err := tx.Exec(ctx, "UPDATE access_codes SET deleted_at = coalesce(deleted_at, now()) WHERE id = $1", codeID)
	if err != nil {
		return Code{}, fmt.Errorf("membership: delete code: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return Code{}, ErrNotFound
	}
	return GetCode(ctx, tx, codeID)
}

// Rollback is the progress of taking back everything a code granted.
type Rollback struct {
	ID          int64
	CodeID      int64
	Status      string // running, done
	Total       int    // activations to undo
	Undone      int
	Removed     int // memberships ended
	Shortened   int // memberships that kept time granted otherwise
	RequestedBy string
	StartedAt   time.Time
	FinishedAt  *time.Time
}

// Outcome says what a rollback did, its parts joined by sep: "2
// activations undone; 1 member lost access; 1 member kept the access they
// had otherwise, less the code's time", without the parts that are none.
func (r Rollback) Outcome(sep string) string {
	parts := []string{Plural(r.Undone, "activation", "activations") + " undone"}
	if r.Removed > 0 {
		parts = append(parts, Plural(r.Removed, "member", "members")+" lost access")
	}
	if r.Shortened > 0 {
		parts = append(parts, Plural(r.Shortened, "member", "members")+" kept the access they had otherwise, less the code's time")
	}
	return strings.Join(parts, sep)
}

// ErrRollbackStarted is returned when a code's rollback already exists.
var ErrRollbackStarted = errors.New("this code has been rolled back already")

// StartRollback deletes the code at once (no further activations) and
// records a rollback of its activations, which RollbackChunk then works
// through. The caller queues the job in the same transaction.
func StartRollback(ctx context.Context, tx pgx.Tx, codeID int64, requestedBy string) (Rollback, error) {
	if _, err := DeleteCode(ctx, tx, codeID); err != nil {
		return Rollback{}, err
	}
	var r Rollback
	err := tx.QueryRow(ctx, `INSERT INTO code_rollbacks (tenant_id, code_id, total, requested_by)
		SELECT gatekey_tenant(), $1, count(*), $2 FROM code_activations WHERE code_id = $1 AND rolled_back_at IS NULL
		ON CONFLICT (tenant_id, code_id) DO NOTHING RETURNING id`, codeID, requestedBy).Scan(&r.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrRollbackStarted
	}
	if err != nil {
		return r, fmt.Errorf("membership: start rollback: %w", err)
	}
	return GetRollback(ctx, tx, r.ID)
}

const rollbackColumns = `id, code_id, status, total, undone, removed, shortened, requested_by, started_at, finished_at`

func scanRollback(row pgx.Row) (Rollback, error) {
	var r Rollback
	err := row.Scan(&r.ID, &r.CodeID, &r.Status, &r.Total, &r.Undone, &r.Removed, &r.Shortened, &r.RequestedBy, &r.StartedAt, &r.FinishedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("membership: get rollback: %w", err)
	}
	return r, nil
}

// GetRollback reads a rollback's progress.
func GetRollback(ctx context.Context, tx pgx.Tx, rollbackID int64) (Rollback, error) {
	return scanRollback(tx.QueryRow(ctx, "SELECT "+rollbackColumns+" FROM code_rollbacks WHERE id = $1", rollbackID))
}

// RollbackOfCode reads the rollback of a code, if it was rolled back.
func RollbackOfCode(ctx context.Context, tx pgx.Tx, codeID int64) (Rollback, error) {
	return scanRollback(tx.QueryRow(ctx, "SELECT "+rollbackColumns+" FROM code_rollbacks WHERE code_id = $1", codeID))
}

// RollbackStep is what one chunk of a rollback did.
type RollbackStep struct {
	Rollback  Rollback
	Ended     []Ending     // memberships revoked: their members leave the chats
	Shortened []Shortening // memberships that go on with an earlier end
	Finished  bool         // this chunk was the last: the rollback is done
}

// Shortening is a membership a rollback shortened, with what its member
// is told about it.
type Shortening struct {
	Membership     Membership
	PlanName       string
	TelegramUserID int64
}

// RollbackChunk undoes up to limit of the code's remaining activations:
// each takes back exactly the time it added to its membership. A
// membership left with no time is revoked; one that still has time
// (another code or payment extended it) is shortened. The activations'
// orders are marked refunded. Each activation is undone once, so a chunk
// that is retried or run after a crash does no double work.
func RollbackChunk(ctx context.Context, tx pgx.Tx, rollbackID int64, limit int) (RollbackStep, error) {
	var step RollbackStep
	r, err := scanRollback(tx.QueryRow(ctx, "SELECT "+rollbackColumns+" FROM code_rollbacks WHERE id = $1 FOR UPDATE", rollbackID))
	if err != nil || r.Status == "done" {
		step.Rollback = r
		return step, err
	}
	rows, err := tx.Query(ctx, `UPDATE code_activations SET rolled_back_at = now()
		WHERE id IN (SELECT id FROM code_activations WHERE code_id = $1 AND rolled_back_at IS NULL ORDER BY id LIMIT $2)
		RETURNING membership_id, order_id, added_from, added_until`, r.CodeID, limit)
	if err != nil {
		return step, fmt.Errorf("membership: rollback chunk: %w", err)
	}
	type undo struct {
		membershipID, orderID int64
		from                  time.Time
		until                 *time.Time
	}
	undos, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (undo, error) {
		var u undo
		err := row.Scan(&u.membershipID, &u.orderID, &u.from, &u.until)
		return u, err
	})
	if err != nil {
		return step, fmt.Errorf("membership: rollback chunk: %w", err)
	}
	for _, u := range undos {
		if err := step.takeBack(ctx, tx, u.membershipID, u.orderID, u.from, u.until); err != nil {
			return step, err
		}
	}
	done := len(undos) < limit
	step.Finished = done
	step.Rollback, err = scanRollback(tx.QueryRow(ctx, `UPDATE code_rollbacks SET
		undone = undone + $2, removed = removed + $3, shortened = shortened + $4,
		status = CASE WHEN $5 THEN 'done' ELSE status END, finished_at = CASE WHEN $5 THEN now() END
		WHERE id = $1 RETURNING `+rollbackColumns, rollbackID, len(undos), len(step.Ended), len(step.Shortened), done))
	return step, err
}

// takeBack removes the period [from, until) that one activation added.
func (s *RollbackStep) takeBack(ctx context.Context, tx pgx.Tx, membershipID, orderID int64, from time.Time, until *time.Time) error {
	if _, err := tx.Exec(ctx, "UPDATE orders SET status = 'refunded' WHERE id = $1", orderID); err != nil {
		return fmt.Errorf("membership: refund order: %w", err)
	}
	tb, err := TakeBack(ctx, tx, membershipID, from, until)
	if tb.Shortened != nil {
		s.Shortened = append(s.Shortened, *tb.Shortened)
	}
	if tb.Ended != nil {
		s.Ended = append(s.Ended, *tb.Ended)
	}
	return err
}

// AutoDeletion is what one run of auto-delete did to one bot's codes.
type AutoDeletion struct {
	BotID int64
	Codes int // codes deleted
	Days  int // the setting they were deleted under
}

// AutoDeleteUnused deletes the tenant's codes that were never activated
// and are older than its auto-delete setting. The setting in force now
// judges every code by its creation time, so changing it applies to all
// existing codes at once. Codes with any activation are never touched.
// It returns what it deleted, bot by bot (none: nothing was due).
func AutoDeleteUnused(ctx context.Context, tx pgx.Tx) ([]AutoDeletion, error) {
	rows, err := tx.Query(ctx, `WITH deleted AS (
			UPDATE access_codes c SET deleted_at = now(), auto_deleted = true
			FROM tenants t WHERE t.id = c.tenant_id AND t.code_autodelete_days IS NOT NULL
			AND c.activations = 0 AND c.deleted_at IS NULL
			AND c.created_at <= now() - make_interval(days => t.code_autodelete_days)
			RETURNING c.bot_id, t.code_autodelete_days
		)
		SELECT bot_id, count(*)::int, min(code_autodelete_days) FROM deleted GROUP BY bot_id ORDER BY bot_id`)
	if err != nil {
		return nil, fmt.Errorf("membership: auto-delete unused codes: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[AutoDeletion])
	if err != nil {
		return nil, fmt.Errorf("membership: auto-delete unused codes: %w", err)
	}
	return out, nil
}
