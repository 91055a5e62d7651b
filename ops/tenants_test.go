package ops_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gatekey/gatekey/membership"
)

type tenantRow struct {
	ID           int64    `json:"id"`
	Name         string   `json:"name"`
	Status       string   `json:"status"`
	OwnerEmails  []string `json:"owner_emails"`
	BotUsernames []string `json:"bot_usernames"`
}

type tenantPage struct {
	Data      []tenantRow `json:"data"`
	NextAfter *int64      `json:"next_after"`
}

func ids(p tenantPage) []int64 {
	out := []int64{}
	for _, r := range p.Data {
		out = append(out, r.ID)
	}
	return out
}

func TestSearchTenantsByNameEmailAndBot(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	demo := w.Demo(t) // owner@example.com, @gatekey_demo_bot
	other, err := w.App.DB.SignUp(ctx, "jane_doe@shop.example", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	third, err := w.App.DB.SignUp(ctx, "janet@example.org", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Owner(t).Exec(ctx, "UPDATE tenants SET status = 'suspended', fairuse_flagged_at = now() WHERE id = $1", third); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		query string
		want  []int64
	}{
		{"", []int64{demo.TenantID, other, third}},
		{"?q=@gatekey_demo", []int64{demo.TenantID}}, // a bot's username, with or without @
		{"?q=DEMO_BOT", []int64{demo.TenantID}},      // any case
		{"?q=jane", []int64{other, third}},           // owners' emails (and names, which start as the email)
		{"?q=e_d", []int64{other}},                   // _ is a character, not a wildcard
		{"?q=%25", []int64{}},                        // so is %
		{"?q=" + itoa(other), []int64{other}},        // an id
		{"?status=suspended", []int64{third}},        // status
		{"?flagged=true", []int64{third}},            // fair-use flag
		{"?q=jane&status=active", []int64{other}},    // together
		{"?q=nobody-has-this", []int64{}},
	} {
		var page tenantPage
		if status := w.reader.call("GET", "/tenants"+c.query, nil, &page); status != 200 || fmt.Sprint(ids(page)) != fmt.Sprint(c.want) {
			t.Errorf("GET /tenants%s: %d %v, want %v", c.query, status, ids(page), c.want)
		}
	}

	// Paging.
	var first, second tenantPage
	w.reader.call("GET", "/tenants?limit=2", nil, &first)
	if len(first.Data) != 2 || first.NextAfter == nil {
		t.Fatalf("first page: %+v", first)
	}
	w.reader.call("GET", fmt.Sprintf("/tenants?limit=2&after=%d", *first.NextAfter), nil, &second)
	if fmt.Sprint(ids(second)) != fmt.Sprint([]int64{third}) || second.NextAfter != nil {
		t.Errorf("second page: %+v", second)
	}
	var one tenantPage
	w.reader.call("GET", "/tenants?q=demo", nil, &one)
	if len(one.Data) != 1 || fmt.Sprint(one.Data[0].OwnerEmails) != "[owner@example.com]" ||
		fmt.Sprint(one.Data[0].BotUsernames) != "[gatekey_demo_bot]" || one.Data[0].Status != "active" {
		t.Errorf("demo tenant in search: %+v", one.Data)
	}

	for _, q := range []string{"?limit=0", "?limit=201", "?status=gone", "?flagged=maybe", "?after=-1"} {
		w.reader.refused("GET", "/tenants"+q, nil, 422, "invalid_request")
	}
}

type tenantDetail struct {
	ID      int64  `json:"id"`
	Status  string `json:"status"`
	Owners  []struct{ Email string }
	Billing struct {
		Plan             string `json:"plan"`
		FeeBasisPoints   int    `json:"fee_basis_points"`
		FeeRate          string `json:"fee_rate"`
		FlatSubscription *struct {
			ID                string `json:"id"`
			Status            string `json:"status"`
			CancelAtPeriodEnd bool   `json:"cancel_at_period_end"`
		} `json:"flat_subscription"`
	} `json:"billing"`
	FairUse struct {
		Limited   bool    `json:"limited"`
		Floor     int     `json:"floor"`
		RatioPct  int     `json:"ratio_pct"`
		Used      int     `json:"free_activations"`
		Allowance int     `json:"allowance"`
		FlaggedAt *string `json:"flagged_at"`
	} `json:"fair_use"`
	Bots []struct {
		ID       int64  `json:"id"`
		Username string `json:"username"`
		Status   string `json:"status"`
	} `json:"bots"`
	Plans []struct {
		ID         int64  `json:"id"`
		Name       string `json:"name"`
		PeriodDays *int   `json:"period_days"`
		PriceMinor int64  `json:"price_minor"`
		Currency   string `json:"currency"`
	} `json:"plans"`
	Counts map[string]int `json:"counts"`
}

func TestGetTenantShowsBotsPlansCountsAndFairUse(t *testing.T) {
	w := newWorld(t)
	demo := w.Demo(t)
	other, err := w.App.DB.SignUp(context.Background(), "other@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	code := w.Codes(t, demo.TenantID, membership.CodeRequest{PlanID: demo.Plan.ID, Count: 3}).Codes[0].Code
	alice := w.Fake.AddUser("Alice", "alice")
	if status, err := w.Fake.Start(demo.Bot.TelegramID, alice.ID, code); err != nil || status != 200 {
		t.Fatalf("activate: %d %v", status, err)
	}

	var d tenantDetail
	if status := w.reader.call("GET", "/tenants/"+itoa(demo.TenantID), nil, &d); status != 200 {
		t.Fatalf("GET tenant: %d", status)
	}
	if d.ID != demo.TenantID || d.Status != "active" || len(d.Owners) != 1 || d.Owners[0].Email != "owner@example.com" {
		t.Errorf("tenant: %+v", d)
	}
	if len(d.Bots) != 1 || d.Bots[0].ID != demo.Bot.ID || d.Bots[0].Username != "gatekey_demo_bot" || d.Bots[0].Status != "connected" {
		t.Errorf("bots: %+v", d.Bots)
	}
	if len(d.Plans) != 1 || d.Plans[0].Name != "Demo membership" || d.Plans[0].PeriodDays == nil || *d.Plans[0].PeriodDays != 30 ||
		d.Plans[0].PriceMinor != 999 || d.Plans[0].Currency != "USD" {
		t.Errorf("plans: %+v", d.Plans)
	}
	wantCounts := map[string]int{"chats": 2, "members": 1, "active_memberships": 1, "codes": 3, "activations": 1, "paid_orders": 0}
	if fmt.Sprint(d.Counts) != fmt.Sprint(wantCounts) {
		t.Errorf("counts %v, want %v", d.Counts, wantCounts)
	}
	if d.Billing.Plan != "payg" || d.Billing.FeeBasisPoints != 500 || d.Billing.FeeRate != "5%" || d.Billing.FlatSubscription != nil {
		t.Errorf("billing: %+v", d.Billing)
	}
	if !d.FairUse.Limited || d.FairUse.Floor != 50 || d.FairUse.RatioPct != 100 || d.FairUse.Used != 1 || d.FairUse.Allowance != 50 || d.FairUse.FlaggedAt != nil {
		t.Errorf("fair use: %+v", d.FairUse)
	}

	// Another tenant shows its own things only; this one took the flat
	// plan and has cancelled it.
	if _, err := w.Owner(t).Exec(context.Background(), `UPDATE tenants SET billing_plan = 'flat', flat_subscription_id = 'sub_other',
		flat_status = 'active', flat_cancel_at_period_end = true WHERE id = $1`, other); err != nil {
		t.Fatal(err)
	}
	var o tenantDetail
	w.reader.call("GET", "/tenants/"+itoa(other), nil, &o)
	if o.ID != other || len(o.Bots) != 0 || len(o.Plans) != 0 || o.Counts["members"] != 0 || o.FairUse.Used != 0 {
		t.Errorf("other tenant: %+v", o)
	}
	if s := o.Billing.FlatSubscription; o.Billing.Plan != "flat" || s == nil || s.ID != "sub_other" || s.Status != "active" || !s.CancelAtPeriodEnd {
		t.Errorf("other tenant's billing: %+v", o.Billing)
	}
}
