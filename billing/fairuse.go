// Package billing decides what Gatekey charges owners and what owners'
// members pay: pay-as-you-go fees, the flat plan's subscription, the
// fair-use limit on free codes, and Stripe (member checkout, owner
// invoices, Connect onboarding, webhooks).
package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/membership"
)

// FairUseWindow is the rolling window the fair-use limit counts over.
const FairUseWindow = "30 days"

// FairUse is a tenant's standing against the fair-use limit.
type FairUse struct {
	Limited  bool // only pay-as-you-go tenants are limited
	Floor    int
	RatioPct int // 100 means one free activation per paid order
	Paid     int // paid orders (amount above 0) in the window
	Used     int // zero-priced activations in the window
	// Open is how many more times the free codes already given out (not
	// deleted, not expired) can still be activated. It counts against the
	// allowance when codes are made: otherwise batch after batch, each
	// within what is left, would give out any number of free activations.
	Open      int
	Allowance int // max(Floor, RatioPct × Paid / 100)
	// FlaggedAt is when usage first went past the allowance, for staff;
	// nil if it has not (or staff cleared the flag).
	FlaggedAt *time.Time
}

// Allowance is the fair-use arithmetic: the floor, or the ratio of paid
// orders if that is more.
func Allowance(floor, ratioPct, paid int) int {
	return max(floor, ratioPct*paid/100)
}

// Remaining is how many more zero-priced activations new codes may give
// out: the allowance, less what was used and what codes given out hold.
func (f FairUse) Remaining() int { return max(0, f.Allowance-f.Used-f.Open) }

// Over reports whether zero-priced activations are past the allowance:
// at the allowance is still fair, one more is not.
func (f FairUse) Over() bool { return f.Limited && f.Used > f.Allowance }

// Text is the fair-use meter in a sentence, for the console's billing page
// and the bot's admin menu.
func (f FairUse) Text() string {
	if !f.Limited {
		return "Free codes: unlimited on the flat plan."
	}
	n := membership.Thousands
	s := fmt.Sprintf("Free code activations in the last 30 days: %s of %s", n(f.Used), n(f.Allowance))
	if f.Over() {
		return s + fmt.Sprintf(" (%s over). Codes already given out keep working. "+
			"To give out more free codes, make them priced on a plan with a price, move to the flat plan, or ask Gatekey support to raise your allowance.", n(f.Used-f.Allowance))
	}
	return s + fmt.Sprintf(". %s The allowance is the larger of %s and %d%% of your paid orders (%s).",
		f.left(), n(f.Floor), f.RatioPct, n(f.Paid))
}

// left says how many free activations new codes may still give out, and
// what the codes already given out hold of the allowance.
func (f FairUse) left() string {
	if f.Open == 0 {
		return fmt.Sprintf("New free codes may give out %s more.", membership.Thousands(f.Remaining()))
	}
	return fmt.Sprintf("Free codes already given out can be activated %s more %s, so new ones may give out %s more.",
		membership.Thousands(f.Open), plural(f.Open, "time", "times"), membership.Thousands(f.Remaining()))
}

// GetFairUse reads the tenant's fair-use standing.
func GetFairUse(ctx context.Context, tx pgx.Tx) (FairUse, error) {
	var f FairUse
	var plan string
	err := tx.QueryRow(ctx, `SELECT t.billing_plan, t.fairuse_floor, t.fairuse_ratio_pct, t.fairuse_flagged_at,
		(SELECT count(*) FROM orders o WHERE o.amount_minor > 0 AND o.status = 'paid' AND o.created_at > now() - $1::interval),
		(SELECT count(*) FROM code_activations a JOIN orders o ON o.tenant_id = a.tenant_id AND o.id = a.order_id
			WHERE o.amount_minor = 0 AND a.created_at > now() - $1::interval),
		(SELECT coalesce(sum(c.max_activations - c.activations), 0) FROM access_codes c
			JOIN plans p ON p.tenant_id = c.tenant_id AND p.id = c.plan_id
			WHERE (c.zero_priced OR p.price_minor = 0) AND c.deleted_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > now())
			AND c.activations < c.max_activations)
		FROM tenants t WHERE t.id = gatekey_tenant()`, FairUseWindow).Scan(&plan, &f.Floor, &f.RatioPct, &f.FlaggedAt, &f.Paid, &f.Used, &f.Open)
	if err != nil {
		return f, fmt.Errorf("billing: fair use: %w", err)
	}
	f.Limited = plan == PlanPayAsYouGo
	f.Allowance = Allowance(f.Floor, f.RatioPct, f.Paid)
	return f, nil
}

// FairUseError refuses free codes past the allowance, saying what to do.
type FairUseError struct {
	FairUse   FairUse
	Requested int
	Codes     int // how many codes were asked for
}

func (e *FairUseError) Error() string {
	f := e.FairUse
	n := membership.Thousands
	held := ""
	if f.Open > 0 {
		held = fmt.Sprintf(", and free codes already given out can be activated %s more %s", n(f.Open), plural(f.Open, "time", "times"))
	}
	these := "These codes allow"
	if e.Codes == 1 {
		these = "This code allows"
	}
	return fmt.Sprintf("%s %s free %s, but only %s of your %s free %s for the last 30 days %s left (%s used%s). "+
		"Free codes on pay-as-you-go are meant to sit beside paid sales: the allowance is the larger of %s and %d%% of your paid orders (%s in the last 30 days). "+
		"To go on: make the codes priced on a plan with a price, delete unused free codes, move to the flat plan, or ask Gatekey support to raise your allowance.",
		these, n(e.Requested), plural(e.Requested, "activation", "activations"), n(f.Remaining()), n(f.Allowance), plural(f.Allowance, "activation", "activations"),
		plural(f.Remaining(), "is", "are"), n(f.Used), held, n(f.Floor), f.RatioPct, n(f.Paid))
}

// freeCodes tells whether a plan's codes will give free access: they are
// zero-priced, or the plan's price is 0, so that their activations are
// orders of nothing either way. An unknown plan is left for
// membership.CreateCodes to refuse.
func freeCodes(ctx context.Context, tx pgx.Tx, zeroPriced bool, planID int64) (bool, error) {
	if zeroPriced {
		return true, nil
	}
	var free bool
	err := tx.QueryRow(ctx, "SELECT price_minor = 0 FROM plans WHERE id = $1", planID).Scan(&free)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return false, fmt.Errorf("billing: plan's price: %w", err)
	}
	return free, nil
}

// CreateCodes is how every caller (console, API, the owner's bot) creates
// codes: it holds zero-priced codes on pay-as-you-go to the fair-use
// allowance, then creates them with membership.CreateCodes.
func CreateCodes(ctx context.Context, tx pgx.Tx, req membership.CodeRequest) (membership.Batch, error) {
	zero, err := membership.ResolveZeroPriced(ctx, tx, req.ZeroPriced)
	if err != nil {
		return membership.Batch{}, err
	}
	req.ZeroPriced = &zero
	// A request sent again gets the batch it made, even if it would be
	// refused now (its expiry has passed, the allowance is spent).
	if b, ok, err := membership.RepeatedBatch(ctx, tx, req); ok || err != nil {
		return b, err
	}
	// A request that is wrong in itself says so first, before the
	// allowance is weighed against it.
	if err := req.Validate(time.Now()); err != nil {
		return membership.Batch{}, err
	}
	free, err := freeCodes(ctx, tx, zero, req.PlanID)
	if err != nil {
		return membership.Batch{}, err
	}
	if free {
		f, err := GetFairUse(ctx, tx)
		if err != nil {
			return membership.Batch{}, err
		}
		requested := max(1, req.Count) * max(1, req.MaxActivations)
		if f.Limited && requested > f.Remaining() {
			return membership.Batch{}, &FairUseError{FairUse: f, Requested: requested, Codes: max(1, req.Count)}
		}
	}
	return membership.CreateCodes(ctx, tx, req)
}

// UpdatePlan is how the console changes a plan: membership.UpdatePlan,
// except that a plan made free on pay-as-you-go may not turn its live
// codes into free codes past the fair-use allowance (their activations
// would be orders of nothing from then on). The owner is told what to do
// instead, and nothing is changed.
func UpdatePlan(ctx context.Context, tx pgx.Tx, planID int64, in membership.NewPlan) (membership.Plan, error) {
	old, err := membership.GetPlan(ctx, tx, planID)
	if err != nil {
		return old, err
	}
	var before FairUse
	if old.Price.Minor > 0 && in.Price.Minor == 0 {
		if before, err = GetFairUse(ctx, tx); err != nil {
			return old, err
		}
	}
	p, err := membership.UpdatePlan(ctx, tx, planID, in)
	if err != nil || old.Price.Minor == 0 || p.Price.Minor != 0 || !before.Limited {
		return p, err
	}
	f, err := GetFairUse(ctx, tx)
	if err != nil || f.Open <= before.Open || f.Used+f.Open <= f.Allowance {
		return p, err // the plan's codes add no free activations, or they fit
	}
	return p, &membership.ValidationError{Message: fmt.Sprintf("At a price of 0, the codes of %s would be free codes, "+
		"and with them the free codes given out could be activated %s more %s, past what is left of your allowance of %s free %s for the last 30 days (%s used). "+
		"Delete the plan's unused codes first, keep a price, or move to the flat plan. Nothing was changed.",
		old.Name, membership.Thousands(f.Open), plural(f.Open, "time", "times"), membership.Thousands(f.Allowance), plural(f.Allowance, "activation", "activations"), membership.Thousands(f.Used))}
}
