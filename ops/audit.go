package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// entry is one line of the ops audit log.
type entry struct {
	ID        int64          `json:"id"`
	At        time.Time      `json:"at"`
	TokenID   *int64         `json:"token_id"`
	TokenName string         `json:"token_name"`
	IP        string         `json:"ip"`
	Method    string         `json:"method"`
	Path      string         `json:"path"`
	Status    int            `json:"status"`
	TenantID  *int64         `json:"tenant_id"`
	Summary   map[string]any `json:"summary"`
}

func (s *Server) record(ctx context.Context, e entry) error {
	// A cancelled request still gets its entry.
	return insertEntry(context.WithoutCancel(ctx), s.cfg.DB.Pool(), e)
}

// methodCLI is the method of the entries `gatekey ops token` writes.
const methodCLI = "CLI"

func insertEntry(ctx context.Context, db interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, e entry) error {
	// The request's own text may not be storable as it came.
	e.TokenName, e.IP, e.Method, e.Path = storable(e.TokenName), storable(e.IP), storable(e.Method), storable(e.Path)
	_, err := db.Exec(ctx, `INSERT INTO ops_audit (token_id, token_name, ip, method, path, status, tenant_id, summary)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		e.TokenID, e.TokenName, e.IP, e.Method, e.Path, e.Status, e.TenantID, e.Summary)
	if err != nil {
		return fmt.Errorf("ops: write audit entry: %w", err)
	}
	return nil
}

// Limits of a request summary: enough to tell what a call asked for,
// never a whole body.
const (
	summaryFields   = 30
	summaryValueLen = 200
	maxLoggedPath   = 500
)

// summarize is what the audit log keeps of a request: its query and the
// top-level fields of its JSON body, each value clipped, and any field
// whose name suggests a secret blanked. The Authorization header, which
// carries the staff token, is never read here.
func summarize(c *fiber.Ctx) map[string]any {
	sum := map[string]any{}
	query := map[string]string{}
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		if len(query) < summaryFields {
			query[storable(string(k))] = summaryValue(string(k), string(v))
		}
	})
	if len(query) > 0 {
		sum["query"] = query
	}
	body := bytes.TrimSpace(c.Body())
	if len(body) == 0 {
		return sum
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		sum["body_bytes"] = len(body)
		return sum
	}
	kept := map[string]any{}
	for k, raw := range fields {
		if len(kept) == summaryFields {
			break
		}
		var v any
		_ = json.Unmarshal(raw, &v)
		k := storable(k)
		switch v := v.(type) {
		case string:
			kept[k] = summaryValue(k, v)
		case nil, bool, float64:
			if secretName(k) {
				kept[k] = redacted
			} else {
				kept[k] = v
			}
		default: // an object or array: kept as its JSON, clipped
			kept[k] = summaryValue(k, string(raw))
		}
	}
	sum["body"] = kept
	return sum
}

const redacted = "[redacted]"

func summaryValue(name, v string) string {
	if secretName(name) {
		return redacted
	}
	return storable(clip(v, summaryValueLen))
}

// storable is s as PostgreSQL's text and jsonb take it: valid UTF-8
// without NUL characters, each thing they refuse shown as U+FFFD.
func storable(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// clip shortens s to about n bytes, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// secretName tells fields that may carry a secret by their names.
func secretName(name string) bool {
	name = strings.ToLower(name)
	for _, s := range []string{"token", "secret", "password", "key", "authorization", "cookie"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// searchAudit answers GET /ops/v1/audit: the log, newest first, filtered.
func (s *Server) searchAudit(c *fiber.Ctx) error {
	var f struct {
		tenant, before int64
		status         int
		since, until   *time.Time
		limit          int
	}
	var err error
	if f.tenant, err = int64Query(c, "tenant"); err != nil {
		return err
	}
	if f.before, err = int64Query(c, "before"); err != nil {
		return err
	}
	if v := c.Query("status"); v != "" {
		if f.status, err = strconv.Atoi(v); err != nil || f.status < 100 || f.status > 599 {
			return invalid("status must be an HTTP status, such as 403.")
		}
	}
	if f.since, err = timeQuery(c, "since"); err != nil {
		return err
	}
	if f.until, err = timeQuery(c, "until"); err != nil {
		return err
	}
	if f.since != nil && f.until != nil && !f.since.Before(*f.until) {
		return invalid("since must be before until.")
	}
	if f.limit, err = limitQuery(c, 100, 500); err != nil {
		return err
	}
	rows, err := s.cfg.DB.Pool().Query(c.UserContext(), `SELECT id, at, token_id, token_name, ip, method, path, status, tenant_id, summary
		FROM ops_audit
		WHERE ($1::text = '' OR token_name = $1)
		  AND ($2::bigint = 0 OR tenant_id = $2)
		  AND ($3 = '' OR method = upper($3))
		  AND ($4::integer = 0 OR status = $4)
		  AND ($5 = '' OR starts_with(path, $5))
		  AND ($6::timestamptz IS NULL OR at >= $6)
		  AND ($7::timestamptz IS NULL OR at < $7)
		  AND ($8::bigint = 0 OR id < $8)
		ORDER BY id DESC LIMIT $9`,
		c.Query("token"), f.tenant, c.Query("method"), f.status, c.Query("path"), f.since, f.until, f.before, f.limit+1) // one more: is there a next page?
	if err != nil {
		return fmt.Errorf("ops: search audit log: %w", err)
	}
	entries, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (entry, error) {
		var e entry
		err := r.Scan(&e.ID, &e.At, &e.TokenID, &e.TokenName, &e.IP, &e.Method, &e.Path, &e.Status, &e.TenantID, &e.Summary)
		return e, err
	})
	if err != nil {
		return fmt.Errorf("ops: search audit log: %w", err)
	}
	var next *int64
	if len(entries) > f.limit {
		entries = entries[:f.limit]
		next = &entries[f.limit-1].ID
	}
	return c.JSON(fiber.Map{"data": entries, "next_before": next})
}
