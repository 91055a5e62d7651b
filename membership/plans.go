package membership

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Plan is a set of chats and a period of access to them.
type Plan struct {
	ID          int64
	BotID       int64
	Name        string
	Description string
	PeriodDays  int // 0: lifetime
	Price       Money
	Archived    bool
	ChatIDs     []int64 // Gatekey chat ids
}

// Lifetime reports whether the plan never ends.
func (p Plan) Lifetime() bool { return p.PeriodDays == 0 }

// PeriodText says the plan's period in words.
func (p Plan) PeriodText() string {
	switch {
	case p.Lifetime():
		return "lifetime access"
	case p.PeriodDays == 1:
		return "1 day"
	case p.PeriodDays%30 == 0 && p.PeriodDays < 360:
		if p.PeriodDays == 30 {
			return "1 month"
		}
		return fmt.Sprintf("%d months", p.PeriodDays/30)
	default:
		return fmt.Sprintf("%d days", p.PeriodDays)
	}
}

// NewPlan is what an owner fills in to create a plan.
type NewPlan struct {
	BotID       int64
	Name        string
	Description string
	PeriodDays  int // 0: lifetime
	Price       Money
	ChatIDs     []int64
}

// ValidationError is bad input from a person, with a message for them.
type ValidationError struct{ Message string }

func (e *ValidationError) Error() string { return e.Message }

func invalid(format string, a ...any) error {
	return &ValidationError{Message: fmt.Sprintf(format, a...)}
}

// CreatePlan stores a plan with its chats, which must be the bot's.
func CreatePlan(ctx context.Context, tx pgx.Tx, in NewPlan) (Plan, error) {
	in.Name = strings.TrimSpace(in.Name)
	in.ChatIDs = slices.Compact(slices.Sorted(slices.Values(in.ChatIDs))) // a chat named twice is still one chat
	if err := in.check(); err != nil {
		return Plan{}, err
	}
	p := Plan{BotID: in.BotID, Name: in.Name, Description: in.Description, PeriodDays: in.PeriodDays, Price: in.Price, ChatIDs: in.ChatIDs}
	err := tx.QueryRow(ctx, `INSERT INTO plans (tenant_id, bot_id, name, description, period_days, price_minor, currency)
		VALUES (gatekey_tenant(), $1, $2, $3, nullif($4, 0), $5, $6) RETURNING id`,
		in.BotID, in.Name, in.Description, in.PeriodDays, in.Price.Minor, in.Price.Currency).Scan(&p.ID)
	if err != nil {
		return p, fmt.Errorf("membership: create plan: %w", err)
	}
	tag, err := tx.Exec(ctx, `INSERT INTO plan_chats (tenant_id, plan_id, chat_id)
		SELECT gatekey_tenant(), $1, id FROM chats WHERE bot_id = $2 AND id = ANY($3)`, p.ID, in.BotID, in.ChatIDs)
	if err != nil {
		return p, fmt.Errorf("membership: create plan: %w", err)
	}
	if int(tag.RowsAffected()) != len(in.ChatIDs) {
		return p, invalid("every chat of a plan must be one the bot administers")
	}
	return p, nil
}

const planColumns = `p.id, p.bot_id, p.name, p.description, coalesce(p.period_days, 0), p.price_minor, p.currency,
	p.archived_at IS NOT NULL, coalesce((SELECT array_agg(chat_id ORDER BY chat_id) FROM plan_chats pc WHERE pc.plan_id = p.id), '{}')`

func scanPlan(row pgx.Row) (Plan, error) {
	var p Plan
	err := row.Scan(&p.ID, &p.BotID, &p.Name, &p.Description, &p.PeriodDays, &p.Price.Minor, &p.Price.Currency, &p.Archived, &p.ChatIDs)
	return p, err
}

// GetPlan reads one plan of the tenant.
func GetPlan(ctx context.Context, tx pgx.Tx, planID int64) (Plan, error) {
	p, err := scanPlan(tx.QueryRow(ctx, "SELECT "+planColumns+" FROM plans p WHERE p.id = $1", planID))
	if errors.Is(err, pgx.ErrNoRows) {
		return p, ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("membership: get plan: %w", err)
	}
	return p, nil
}

// ListPlans returns the bot's plans that are not archived, oldest first.
func ListPlans(ctx context.Context, tx pgx.Tx, botID int64) ([]Plan, error) {
	rows, err := tx.Query(ctx, "SELECT "+planColumns+" FROM plans p WHERE p.bot_id = $1 AND p.archived_at IS NULL ORDER BY p.id", botID)
	if err != nil {
		return nil, fmt.Errorf("membership: list plans: %w", err)
	}
	plans, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Plan, error) { return scanPlan(r) })
	if err != nil {
		return nil, fmt.Errorf("membership: list plans: %w", err)
	}
	return plans, nil
}
