package ops_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/gatekey/gatekey/jobs"
)

// TestLastPageHasNoNext: every paged list answers a null next_after or
// next_before on its last page, also when that page is exactly full,
// rather than a cursor to an empty page.
func TestLastPageHasNoNext(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	var tenants []int64
	for _, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		id, err := w.App.DB.SignUp(ctx, email, "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		tenants = append(tenants, id)
	}

	// Tenants: the last one alone, and all three at once.
	for _, q := range []string{fmt.Sprintf("limit=1&after=%d", tenants[1]), "limit=3"} {
		var p tenantPage
		if status := w.reader.call("GET", "/tenants?"+q, nil, &p); status != 200 || p.NextAfter != nil || len(p.Data) == 0 {
			t.Errorf("GET /tenants?%s: %d %v, next_after %v; want null", q, status, ids(p), p.NextAfter)
		}
	}
	var full tenantPage
	if w.reader.call("GET", "/tenants?limit=2", nil, &full); full.NextAfter == nil || *full.NextAfter != tenants[1] {
		t.Errorf("GET /tenants?limit=2: next_after %v, want %d", full.NextAfter, tenants[1])
	}

	// A tenant's history: a suspension and a resumption.
	tp := "/tenants/" + itoa(tenants[0])
	w.admin.call("POST", tp+"/suspend", map[string]string{"reason": "test"}, nil)
	w.admin.call("POST", tp+"/resume", nil, nil)
	type historyPage struct {
		Data       []struct{ ID int64 } `json:"data"`
		NextBefore *int64               `json:"next_before"`
	}
	var h1, h2, h3 historyPage
	w.reader.call("GET", tp+"/history?limit=2", nil, &h1)
	if len(h1.Data) != 2 || h1.NextBefore != nil {
		t.Errorf("history, both on one page: %+v", h1)
	}
	w.reader.call("GET", tp+"/history?limit=1", nil, &h2)
	if len(h2.Data) != 1 || h2.NextBefore == nil {
		t.Fatalf("history, first of two pages: %+v", h2)
	}
	w.reader.call("GET", fmt.Sprintf("%s/history?limit=1&before=%d", tp, *h2.NextBefore), nil, &h3)
	if len(h3.Data) != 1 || h3.NextBefore != nil {
		t.Errorf("history, second of two pages: %+v", h3)
	}

	// The audit log: the reader has made 6 calls so far (the audit
	// searches below are the admin's), all GETs.
	var a1, a2 auditPage
	w.admin.call("GET", "/audit?method=GET&limit=6&token="+url.QueryEscape(w.reader.name), nil, &a1)
	if len(a1.Data) != 6 || a1.NextBefore != nil {
		t.Errorf("audit, all on one page: %d entries, next_before %v", len(a1.Data), a1.NextBefore)
	}
	w.admin.call("GET", fmt.Sprintf("/audit?method=GET&limit=5&token=%s&before=%d", url.QueryEscape(w.reader.name), a1.Data[0].ID), nil, &a2)
	if len(a2.Data) != 5 || a2.NextBefore != nil {
		t.Errorf("audit, the rest on one page: %d entries, next_before %v", len(a2.Data), a2.NextBefore)
	}

	// Jobs: two waiting for a time an hour away, which no worker takes.
	for range 2 {
		if _, err := w.App.River.Insert(ctx, jobs.SendMessageArgs{TenantID: tenants[0], BotID: 1, ChatID: 1, Text: "later"},
			&river.InsertOpts{Queue: jobs.QueueTelegram, ScheduledAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	const scheduled = "/jobs?state=scheduled&kind=telegram.send_message"
	var j1, j2, j3 jobPage
	w.reader.call("GET", scheduled+"&limit=2", nil, &j1)
	if len(j1.Data) != 2 || j1.NextAfter != nil {
		t.Errorf("jobs, both on one page: %d jobs, next_after %v", len(j1.Data), j1.NextAfter)
	}
	w.reader.call("GET", scheduled+"&limit=1", nil, &j2)
	if len(j2.Data) != 1 || j2.NextAfter == nil {
		t.Fatalf("jobs, first of two pages: %d jobs, next_after %v", len(j2.Data), j2.NextAfter)
	}
	w.reader.call("GET", scheduled+"&limit=1&after="+url.QueryEscape(*j2.NextAfter), nil, &j3)
	if len(j3.Data) != 1 || j3.NextAfter != nil || j3.Data[0].ID >= j2.Data[0].ID {
		t.Errorf("jobs, second of two pages: %+v", j3)
	}
}
