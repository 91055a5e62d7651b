package ops_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

type billingResult struct {
	TenantID int64 `json:"tenant_id"`
	Billing  struct {
		Plan           string `json:"plan"`
		FeeBasisPoints int    `json:"fee_basis_points"`
		FeeRate        string `json:"fee_rate"`
	} `json:"billing"`
	FairUse struct {
		Limited   bool    `json:"limited"`
		Floor     int     `json:"floor"`
		RatioPct  int     `json:"ratio_pct"`
		FlaggedAt *string `json:"flagged_at"`
	} `json:"fair_use"`
}

func TestSetBillingPlanFeeRateAndFairUse(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	id, err := w.App.DB.SignUp(ctx, "owner@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	other, err := w.App.DB.SignUp(ctx, "other@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	path := "/tenants/" + itoa(id) + "/billing"
	terms := func(tenantID int64) string {
		var s string
		err := w.Owner(t).QueryRow(ctx, `SELECT concat_ws(' ', billing_plan, fee_basis_points, fairuse_floor, fairuse_ratio_pct, fairuse_flagged_at IS NOT NULL)
			FROM tenants WHERE id = $1`, tenantID).Scan(&s)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	// Bad input is refused and changes nothing.
	for _, c := range []struct {
		body   any
		status int
		code   string
	}{
		{nil, 422, "invalid_request"},
		{map[string]any{}, 422, "invalid_request"},
		{map[string]any{"plan": "gold"}, 422, "invalid_request"},
		{map[string]any{"plan": "flat", "fee_basis_points": 10001}, 422, "invalid_request"},
		{map[string]any{"fee_basis_points": -1}, 422, "invalid_request"},
		{map[string]any{"fairuse_floor": -5}, 422, "invalid_request"},
		{map[string]any{"fairuse_floor": 1_000_001}, 422, "invalid_request"},
		{map[string]any{"fairuse_ratio_pct": -1}, 422, "invalid_request"},
		{map[string]any{"fee_basis_points": "250"}, 400, "bad_json"},
		{map[string]any{"fee_rate": 250}, 400, "bad_json"},
		{"plan=flat", 400, "bad_json"},
		{`{"fee_basis_points": 250, "FEE_BASIS_POINTS": 9000}`, 400, "bad_json"}, // case-blind, the second would win
		{`{"fee_basis_points": 250, "fee_basis_points": 9000}`, 400, "bad_json"},
	} {
		w.admin.refused("PATCH", path, c.body, c.status, c.code)
	}
	if got := terms(id); got != "payg 500 50 100 f" {
		t.Fatalf("after refused changes: %s", got)
	}
	w.admin.refused("PATCH", "/tenants/999999/billing", map[string]any{"plan": "flat"}, 404, "not_found")

	var res billingResult
	if status := w.admin.call("PATCH", path, map[string]any{"fee_basis_points": 250, "fairuse_floor": 200, "fairuse_ratio_pct": 150}, &res); status != 200 ||
		res.Billing.Plan != "payg" || res.Billing.FeeBasisPoints != 250 || res.Billing.FeeRate != "2.5%" ||
		res.FairUse.Floor != 200 || res.FairUse.RatioPct != 150 || !res.FairUse.Limited {
		t.Errorf("set fee and fair use: %d %+v", status, res)
	}
	if got := terms(id); got != "payg 250 200 150 f" {
		t.Errorf("stored terms: %s", got)
	}
	if status := w.admin.call("PATCH", path, map[string]any{"plan": "flat"}, &res); status != 200 || res.Billing.Plan != "flat" || res.FairUse.Limited {
		t.Errorf("set plan: %d %+v", status, res)
	}

	// Clearing the fair-use flag, which billing raises and only staff clear.
	if _, err := w.Owner(t).Exec(ctx, "UPDATE tenants SET fairuse_flagged_at = now() WHERE id IN ($1, $2)", id, other); err != nil {
		t.Fatal(err)
	}
	if status := w.admin.call("PATCH", path, map[string]any{"clear_fairuse_flag": true}, &res); status != 200 || res.FairUse.FlaggedAt != nil {
		t.Errorf("clear flag: %d %+v", status, res)
	}
	if got := terms(id); got != "flat 250 200 150 f" {
		t.Errorf("stored terms after clearing the flag: %s", got)
	}
	if got := terms(other); got != "payg 500 50 100 t" {
		t.Errorf("the other tenant changed: %s", got)
	}

	// A flat plan the owner pays for with a live Stripe subscription
	// follows the subscription: staff cannot take it away here.
	if _, err := w.Owner(t).Exec(ctx, "UPDATE tenants SET flat_subscription_id = 'sub_live', flat_status = 'past_due' WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	w.admin.refused("PATCH", path, map[string]any{"plan": "payg"}, 409, "conflict")
	if got := terms(id); got != "flat 250 200 150 f" {
		t.Errorf("stored terms after the refused change: %s", got)
	}
	if _, err := w.Owner(t).Exec(ctx, "UPDATE tenants SET flat_status = 'canceled' WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	if status := w.admin.call("PATCH", path, map[string]any{"plan": "payg"}, &res); status != 200 || res.Billing.Plan != "payg" {
		t.Errorf("set plan after the subscription ended: %d %+v", status, res)
	}
	if status := w.admin.call("PATCH", path, map[string]any{"plan": "flat", "reason": "agreed by email, ticket 42"}, &res); status != 200 || res.Billing.Plan != "flat" {
		t.Errorf("set plan back: %d %+v", status, res)
	}

	// Each change is in the tenant's audit log, before and after.
	if n := w.Count(t, `SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'billing.changed' AND actor = 'staff:alice@gatekey.dev'`, id); n != 5 {
		t.Errorf("%d billing entries in the tenant's audit log, want 5", n)
	}
	if n := w.Count(t, `SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND details->'before'->>'fee_basis_points' = '500'
		AND details->'after'->>'fee_basis_points' = '250' AND details->'change'->>'fairuse_floor' = '200'`, id); n != 1 {
		t.Error("the fee change's audit entry does not show before, after and the change")
	}
	if n := w.Count(t, `SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND details->'change'->>'reason' = 'agreed by email, ticket 42'`, id); n != 1 {
		t.Error("the reason given with a change is not in the audit log")
	}
	w.admin.refused("PATCH", path, map[string]any{"plan": "flat", "reason": strings.Repeat("x", 501)}, 422, "invalid_request")
}

// TestHistoryHasEveryReasonAtDetailsReason: a billing change's reason is
// where a suspension's is, in new entries and in those written before
// (which had it only at details.change.reason, where it stays).
func TestHistoryHasEveryReasonAtDetailsReason(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	id, err := w.App.DB.SignUp(ctx, "owner@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	tp := "/tenants/" + itoa(id)
	w.Tx(t, id, func(tx pgx.Tx) error { // as billing changes were written before
		_, err := tx.Exec(ctx, `INSERT INTO audit_log (tenant_id, actor, action, details) VALUES (gatekey_tenant(), 'staff:old', 'billing.changed',
			'{"change": {"fee_basis_points": 400, "reason": "old terms"}, "before": {}, "after": {}}')`)
		return err
	})
	w.admin.call("PATCH", tp+"/billing", map[string]any{"fee_basis_points": 250, "reason": "agreed by email"}, nil)
	w.admin.call("PATCH", tp+"/billing", map[string]any{"fee_basis_points": 300}, nil)
	w.admin.call("POST", tp+"/suspend", map[string]string{"reason": "unpaid"}, nil)
	w.admin.call("POST", tp+"/resume", nil, nil)

	var page struct {
		Data []struct {
			Action  string         `json:"action"`
			Details map[string]any `json:"details"`
		} `json:"data"`
	}
	if status := w.reader.call("GET", tp+"/history", nil, &page); status != 200 {
		t.Fatalf("history: %d", status)
	}
	var got []string
	for _, e := range page.Data {
		change, _ := e.Details["change"].(map[string]any)
		got = append(got, fmt.Sprintf("%s %q %q", e.Action, e.Details["reason"], change["reason"]))
	}
	want := []string{
		`tenant.resumed "" %!q(<nil>)`,
		`tenant.suspended "unpaid" %!q(<nil>)`,
		`billing.changed "" %!q(<nil>)`,
		`billing.changed "agreed by email" "agreed by email"`,
		`billing.changed "old terms" "old terms"`,
	}
	// New entries are stored so, for readers of the table itself.
	if n := w.Count(t, `SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'billing.changed' AND details ? 'reason'`, id); n != 2 {
		t.Errorf("%d billing changes stored with details.reason, want 2", n)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("history's reasons:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
