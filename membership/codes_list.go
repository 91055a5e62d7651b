package membership

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// CodeFilter picks codes for a list or an export. Zero fields match all.
type CodeFilter struct {
	BotID    int64
	PlanID   int64
	BatchID  int64
	Status   string // StatusActive, StatusUsedUp, StatusExpired or StatusDeleted
	Search   string // part of a code, in any spelling NormalizeCode accepts
	BeforeID int64  // paging: codes older than this one
	Limit    int    // 0: no limit (exports)
}

// A rollback deletes its code in the transaction that records it, so the
// code's deleted_at is the rollback's started_at exactly when the rollback
// deleted it (a code deleted before keeps its earlier time). Read in the
// same query, through the rollbacks' unique index, and only for deleted
// codes.
const codeColumns = `c.id, c.bot_id, c.plan_id, p.name, c.batch_id, c.code, c.max_activations, c.activations,
	c.expires_at, c.zero_priced, c.deleted_at, c.auto_deleted,
	(c.deleted_at IS NOT NULL AND NOT c.auto_deleted AND EXISTS (SELECT FROM code_rollbacks r
		WHERE r.tenant_id = c.tenant_id AND r.code_id = c.id AND r.started_at = c.deleted_at)), c.created_at`

func scanCode(r pgx.Row) (Code, error) {
	var c Code
	err := r.Scan(&c.ID, &c.BotID, &c.PlanID, &c.PlanName, &c.BatchID, &c.Code, &c.MaxActivations, &c.Activations,
		&c.ExpiresAt, &c.ZeroPriced, &c.DeletedAt, &c.AutoDeleted, &c.RollbackDeleted, &c.CreatedAt)
	return c, err
}

// query builds the SELECT for f, newest first.
func (f CodeFilter) query() (string, []any, error) {
	where := []string{"true"}
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.BotID != 0 {
		where = append(where, "c.bot_id = "+arg(f.BotID))
	}
	if f.PlanID != 0 {
		where = append(where, "c.plan_id = "+arg(f.PlanID))
	}
	if f.BatchID != 0 {
		where = append(where, "c.batch_id = "+arg(f.BatchID))
	}
	if f.BeforeID != 0 {
		where = append(where, "c.id < "+arg(f.BeforeID))
	}
	if f.Search != "" {
		s := strings.NewReplacer("-", "", " ", "", "O", "0", "I", "1", "L", "1").Replace(strings.ToUpper(f.Search))
		where = append(where, "c.code LIKE "+arg("%"+escapeLike(s)+"%"))
	}
	switch f.Status {
	case "":
	case StatusDeleted:
		where = append(where, "c.deleted_at IS NOT NULL")
	case StatusExpired:
		where = append(where, "c.deleted_at IS NULL AND c.expires_at <= now()")
	case StatusUsedUp:
		where = append(where, "c.deleted_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > now()) AND c.activations >= c.max_activations")
	case StatusActive:
		where = append(where, "c.deleted_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > now()) AND c.activations < c.max_activations")
	default:
		return "", nil, invalid("unknown status %q: use active, used up, expired or deleted", f.Status)
	}
	q := "SELECT " + codeColumns + " FROM access_codes c JOIN plans p ON p.tenant_id = c.tenant_id AND p.id = c.plan_id WHERE " +
		strings.Join(where, " AND ") + " ORDER BY c.id DESC"
	if f.Limit > 0 {
		q += " LIMIT " + arg(f.Limit)
	}
	return q, args, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}

// ListCodes returns the codes f picks, newest first.
func ListCodes(ctx context.Context, tx pgx.Tx, f CodeFilter) ([]Code, error) {
	q, args, err := f.query()
	if err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("membership: list codes: %w", err)
	}
	codes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Code, error) { return scanCode(r) })
	if err != nil {
		return nil, fmt.Errorf("membership: list codes: %w", err)
	}
	return codes, nil
}

// GetCode reads one code of the tenant.
func GetCode(ctx context.Context, tx pgx.Tx, codeID int64) (Code, error) {
	c, err := scanCode(tx.QueryRow(ctx, "SELECT "+codeColumns+
		" FROM access_codes c JOIN plans p ON p.tenant_id = c.tenant_id AND p.id = c.plan_id WHERE c.id = $1", codeID))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("membership: get code: %w", err)
	}
	return c, nil
}

// CSVHeader is the first row of every codes export. New columns go at the
// end: spreadsheets and scripts read the others by position.
var CSVHeader = []string{"access code", "activation link", "plan", "max activations", "activations used", "expires at", "created at", "status", "deleted by"}

// WriteCodesCSV streams the codes f picks as CSV, row by row, so an export
// of any size holds one code in memory at a time. botUsername makes the
// activation links.
func WriteCodesCSV(ctx context.Context, tx pgx.Tx, w io.Writer, botUsername string, f CodeFilter) error {
	q, args, err := f.query()
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("membership: export codes: %w", err)
	}
	defer rows.Close()
	now := time.Now()
	for rows.Next() {
		c, err := scanCode(rows)
		if err != nil {
			return fmt.Errorf("membership: export codes: %w", err)
		}
		if err := cw.Write(csvRow(c, botUsername, now)); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("membership: export codes: %w", err)
	}
	cw.Flush()
	return cw.Error()
}

func csvRow(c Code, botUsername string, now time.Time) []string {
	expires := ""
	if c.ExpiresAt != nil {
		expires = c.ExpiresAt.UTC().Format(time.RFC3339)
	}
	link := ActivationLink(botUsername, c.Code)
	if c.DeletedAt != nil {
		link = "" // as the console shows it: a deleted code's link only opens the bot to be refused
	}
	row := []string{
		FormatCode(c.Code), link, c.PlanName,
		fmt.Sprint(c.MaxActivations), fmt.Sprint(c.Activations), expires,
		c.CreatedAt.UTC().Format(time.RFC3339), c.Status(now), c.DeletedBy(),
	}
	for i := range row {
		row[i] = EscapeCSVCell(row[i])
	}
	return row
}

// EscapeCSVCell keeps a spreadsheet from running a cell as a formula: a
// cell that begins with =, +, -, @, tab or carriage return gets a leading
// apostrophe, which spreadsheets show as text and do not evaluate.
func EscapeCSVCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
