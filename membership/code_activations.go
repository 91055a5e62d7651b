package membership

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// CodeActivation is one activation of a code, as the owner sees it.
type CodeActivation struct {
	ID           int64
	Member       Member
	MembershipID int64
	At           time.Time
	RolledBackAt *time.Time
}

// ListCodeActivations returns a code's activations, newest first, at most
// limit of them (a promotion code may have many).
func ListCodeActivations(ctx context.Context, tx pgx.Tx, codeID int64, limit int) ([]CodeActivation, error) {
	rows, err := tx.Query(ctx, `SELECT ca.id, ca.membership_id, ca.created_at, ca.rolled_back_at,
			m.id, m.bot_id, m.telegram_user_id, m.username, m.first_name, m.last_name
		FROM code_activations ca JOIN members m ON m.tenant_id = ca.tenant_id AND m.id = ca.member_id
		WHERE ca.code_id = $1 ORDER BY ca.id DESC LIMIT $2`, codeID, limit)
	if err != nil {
		return nil, fmt.Errorf("membership: code activations: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CodeActivation, error) {
		var a CodeActivation
		m := &a.Member
		err := r.Scan(&a.ID, &a.MembershipID, &a.At, &a.RolledBackAt,
			&m.ID, &m.BotID, &m.TelegramUserID, &m.Username, &m.FirstName, &m.LastName)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("membership: code activations: %w", err)
	}
	return list, nil
}

// BatchInfo is a batch of codes without its codes.
type BatchInfo struct {
	ID             int64
	BotID          int64
	PlanID         int64
	PlanName       string
	Count          int
	MaxActivations int
	ExpiresAt      *time.Time
	ZeroPriced     bool
	CreatedBy      string
	CreatedAt      time.Time
	RolledBack     bool // every code of the batch has been rolled back (or is being)
}

// A batch is rolled back when none of its codes is left without a
// rollback; the search stops at the first such code, so a batch that is
// not costs a probe or two.
const batchColumns = `b.id, b.bot_id, b.plan_id, p.name, b.code_count, b.max_activations, b.expires_at, b.zero_priced, b.created_by, b.created_at,
	NOT EXISTS (SELECT FROM access_codes c WHERE c.tenant_id = b.tenant_id AND c.batch_id = b.id
		AND NOT EXISTS (SELECT FROM code_rollbacks r WHERE r.tenant_id = c.tenant_id AND r.code_id = c.id))
	FROM code_batches b JOIN plans p ON p.tenant_id = b.tenant_id AND p.id = b.plan_id`

func scanBatch(r pgx.Row) (BatchInfo, error) {
	var b BatchInfo
	err := r.Scan(&b.ID, &b.BotID, &b.PlanID, &b.PlanName, &b.Count, &b.MaxActivations, &b.ExpiresAt, &b.ZeroPriced, &b.CreatedBy, &b.CreatedAt, &b.RolledBack)
	return b, err
}

// GetBatch reads one batch.
func GetBatch(ctx context.Context, tx pgx.Tx, batchID int64) (BatchInfo, error) {
	b, err := scanBatch(tx.QueryRow(ctx, "SELECT "+batchColumns+" WHERE b.id = $1", batchID))
	if errors.Is(err, pgx.ErrNoRows) {
		return b, ErrNotFound
	}
	if err != nil {
		return b, fmt.Errorf("membership: get batch: %w", err)
	}
	return b, nil
}

// ListBatches returns the newest batches, for the codes list's filter.
func ListBatches(ctx context.Context, tx pgx.Tx, limit int) ([]BatchInfo, error) {
	rows, err := tx.Query(ctx, "SELECT "+batchColumns+" ORDER BY b.id DESC LIMIT $1", limit)
	if err != nil {
		return nil, fmt.Errorf("membership: list batches: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (BatchInfo, error) { return scanBatch(r) })
	if err != nil {
		return nil, fmt.Errorf("membership: list batches: %w", err)
	}
	return list, nil
}
