package membership

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Limits on creating codes.
const (
	MaxBatchSize      = 500
	MaxActivationsCap = 1_000_000
)

// MaxExpiryDays bounds how far ahead a code's expiry may be set.
const MaxExpiryDays = 36500

// CodeRequest asks for one code or a batch of them.
type CodeRequest struct {
	PlanID         int64
	Count          int        // 1..500
	MaxActivations int        // 1..1,000,000; 0 means 1
	ExpiresAt      *time.Time // when the codes stop working; nil: never
	ZeroPriced     *bool      // nil: the tenant's default
	CreatedBy      string     // who asked, for the record ("console: a@b.c", "bot: @owner")
	// RequestKey names the request, so that sending it again finds the
	// batch it made (Batch.Repeated) instead of making another; "": none.
	RequestKey string
}

// Code is an access code as owners see it.
type Code struct {
	ID             int64
	BotID          int64
	PlanID         int64
	PlanName       string
	BatchID        int64
	Code           string // 16 characters, ungrouped
	MaxActivations int
	Activations    int
	ExpiresAt      *time.Time
	ZeroPriced     bool
	DeletedAt      *time.Time
	AutoDeleted    bool // deleted by the tenant's auto-delete setting, not by hand
	// RollbackDeleted: a rollback of the code (or of its batch) deleted it,
	// rather than finding it deleted already.
	RollbackDeleted bool
	CreatedAt       time.Time
}

// Who or what deleted a code, as the CSV's "deleted by" column says.
const (
	DeletedByAutoDelete = "auto-delete"
	DeletedByRollback   = "rollback"
	DeletedByOwner      = "owner" // in the console, the API or the bot
)

// DeletedBy says who or what deleted the code; "" while it is not deleted.
func (c Code) DeletedBy() string {
	switch {
	case c.DeletedAt == nil:
		return ""
	case c.AutoDeleted:
		return DeletedByAutoDelete
	case c.RollbackDeleted:
		return DeletedByRollback
	}
	return DeletedByOwner
}

// Code statuses, as lists and CSV show them.
const (
	StatusActive  = "active"
	StatusUsedUp  = "used up"
	StatusExpired = "expired"
	StatusDeleted = "deleted"
)

// Status says whether the code can still be activated, and if not, why.
func (c Code) Status(now time.Time) string {
	switch {
	case c.DeletedAt != nil:
		return StatusDeleted
	case c.ExpiresAt != nil && !now.Before(*c.ExpiresAt):
		return StatusExpired
	case c.Activations >= c.MaxActivations:
		return StatusUsedUp
	}
	return StatusActive
}

// Batch is a set of codes created together.
type Batch struct {
	ID    int64
	Plan  Plan
	Codes []Code
	// Repeated: the request's key had made this batch already, and nothing
	// new was created.
	Repeated bool
}

// ErrRequestKeyReused is returned for a request key that made a batch of
// another plan, size, number of activations or pricing, or that expires
// where this one would not (or the other way round).
var ErrRequestKeyReused = errors.New("membership: request key reused for a different request")

// CreateCodes creates req.Count codes for a plan in one batch, all or none.
func CreateCodes(ctx context.Context, tx pgx.Tx, req CodeRequest) (Batch, error) {
	if req.MaxActivations == 0 {
		req.MaxActivations = 1
	}
	if err := req.Validate(time.Now()); err != nil {
		return Batch{}, err
	}
	if req.ExpiresAt != nil { // as the database keeps it, so that what is returned reads back the same
		at := req.ExpiresAt.UTC().Truncate(time.Microsecond)
		req.ExpiresAt = &at
	}
	plan, err := GetPlan(ctx, tx, req.PlanID)
	if errors.Is(err, ErrNotFound) {
		return Batch{}, invalid("there is no such plan")
	}
	if err != nil {
		return Batch{}, err
	}
	if plan.Archived {
		return Batch{}, invalid("the plan %q is archived; codes can only be made for a current plan", plan.Name)
	}
	zero, err := ResolveZeroPriced(ctx, tx, req.ZeroPriced)
	if err != nil {
		return Batch{}, err
	}
	req.ZeroPriced = &zero
	b := Batch{Plan: plan}
	// A key that made a batch already (committed before, or by a twin
	// request the insert waits for) inserts nothing: that batch is the
	// answer.
	err = tx.QueryRow(ctx, `INSERT INTO code_batches (tenant_id, bot_id, plan_id, code_count, max_activations, expires_at, zero_priced, created_by, request_key)
		VALUES (gatekey_tenant(), $1, $2, $3, $4, $5, $6, $7, nullif($8, ''))
		ON CONFLICT (tenant_id, request_key) WHERE request_key IS NOT NULL DO NOTHING RETURNING id`,
		plan.BotID, plan.ID, req.Count, req.MaxActivations, req.ExpiresAt, zero, req.CreatedBy, req.RequestKey).Scan(&b.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		b, ok, err := RepeatedBatch(ctx, tx, req)
		if err == nil && !ok {
			err = errors.New("membership: create batch: the request key's batch is not visible")
		}
		return b, err
	}
	if err != nil {
		return b, fmt.Errorf("membership: create batch: %w", err)
	}
	codes := make([]string, req.Count)
	for i := range codes {
		codes[i] = NewCode()
	}
	rows, err := tx.Query(ctx, `INSERT INTO access_codes (tenant_id, bot_id, plan_id, batch_id, code, max_activations, expires_at, zero_priced)
		SELECT gatekey_tenant(), $1, $2, $3, c, $4, $5, $6 FROM unnest($7::text[]) WITH ORDINALITY AS u(c, n) ORDER BY n
		RETURNING id, code, created_at`,
		plan.BotID, plan.ID, b.ID, req.MaxActivations, req.ExpiresAt, zero, codes)
	if err != nil {
		return b, fmt.Errorf("membership: create codes: %w", err)
	}
	b.Codes, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Code, error) {
		c := Code{BotID: plan.BotID, PlanID: plan.ID, PlanName: plan.Name, BatchID: b.ID,
			MaxActivations: req.MaxActivations, ExpiresAt: req.ExpiresAt, ZeroPriced: zero}
		err := r.Scan(&c.ID, &c.Code, &c.CreatedAt)
		return c, err
	})
	if err != nil {
		return b, fmt.Errorf("membership: create codes: %w", err)
	}
	return b, nil
}

// RepeatedBatch finds the batch that req's key made already, with its
// codes in the order they were made; ok is false for a new key (or none).
func RepeatedBatch(ctx context.Context, tx pgx.Tx, req CodeRequest) (b Batch, ok bool, err error) {
	if req.RequestKey == "" {
		return b, false, nil
	}
	var planID int64
	var count, maxActivations int
	var zero, expires bool
	err = tx.QueryRow(ctx, "SELECT id, plan_id, code_count, max_activations, zero_priced, expires_at IS NOT NULL FROM code_batches WHERE request_key = $1",
		req.RequestKey).Scan(&b.ID, &planID, &count, &maxActivations, &zero, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return b, false, nil
	}
	if err != nil {
		return b, false, fmt.Errorf("membership: repeated batch: %w", err)
	}
	// The expiry is compared only as set or not: a retry's "in 7 days"
	// is a moment later than the first call's.
	if planID != req.PlanID || count != req.Count || maxActivations != max(req.MaxActivations, 1) ||
		(req.ZeroPriced != nil && *req.ZeroPriced != zero) || (req.ExpiresAt != nil) != expires {
		return b, false, ErrRequestKeyReused
	}
	if b.Plan, err = GetPlan(ctx, tx, planID); err != nil {
		return b, false, err
	}
	if b.Codes, err = ListCodes(ctx, tx, CodeFilter{BatchID: b.ID}); err != nil {
		return b, false, err
	}
	slices.Reverse(b.Codes) // ListCodes gives the newest first
	b.Repeated = true
	return b, true, nil
}

// Validate says what is wrong with the request in itself, as CreateCodes
// would (MaxActivations 0 means 1).
func (req CodeRequest) Validate(now time.Time) error {
	switch {
	case req.Count < 1 || req.Count > MaxBatchSize:
		return invalid("the number of codes must be from 1 to %d", MaxBatchSize)
	case req.MaxActivations < 0 || req.MaxActivations > MaxActivationsCap:
		return invalid("max activations must be from 1 to %d", MaxActivationsCap)
	case req.ExpiresAt != nil && !req.ExpiresAt.After(now):
		return invalid("the expiry date must be in the future")
	case req.ExpiresAt != nil && req.ExpiresAt.After(now.AddDate(0, 0, MaxExpiryDays)):
		return invalid("the expiry date must be within %d days (about 100 years); for codes that never expire, choose no expiry", MaxExpiryDays)
	}
	return nil
}

// ResolveZeroPriced resolves a request's pricing against the tenant's default.
func ResolveZeroPriced(ctx context.Context, tx pgx.Tx, asked *bool) (bool, error) {
	if asked != nil {
		return *asked, nil
	}
	var def bool
	if err := tx.QueryRow(ctx, "SELECT zero_price_default FROM tenants WHERE id = gatekey_tenant()").Scan(&def); err != nil {
		return false, fmt.Errorf("membership: tenant pricing default: %w", err)
	}
	return def, nil
}
