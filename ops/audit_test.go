package ops_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/gatekey/gatekey/ops"
)

type auditPage struct {
	Data []struct {
		ID        int64          `json:"id"`
		TokenID   *int64         `json:"token_id"`
		TokenName string         `json:"token_name"`
		Method    string         `json:"method"`
		Path      string         `json:"path"`
		Status    int            `json:"status"`
		TenantID  *int64         `json:"tenant_id"`
		IP        string         `json:"ip"`
		Summary   map[string]any `json:"summary"`
	} `json:"data"`
	NextBefore *int64 `json:"next_before"`
}

func TestAuditLogSearch(t *testing.T) {
	w := newWorld(t)
	id, err := w.App.DB.SignUp(context.Background(), "owner@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	tp := "/tenants/" + itoa(id)
	w.reader.call("GET", "/tenants?q=owner", nil, nil)                             // 1
	w.reader.call("GET", tp, nil, nil)                                             // 2
	w.reader.call("POST", tp+"/suspend", map[string]string{"reason": "x"}, nil)    // 3: 403
	w.admin.call("POST", tp+"/suspend", map[string]string{"reason": "fraud"}, nil) // 4
	w.admin.call("POST", tp+"/resume", nil, nil)                                   // 5
	(staffClient{t: t, url: w.URL}).call("GET", "/audit", nil, nil)                // 6: 401

	search := func(query string) auditPage {
		t.Helper()
		var p auditPage
		if status := w.admin.call("GET", "/audit?"+query, nil, &p); status != 200 {
			t.Fatalf("GET /audit?%s: %d", query, status)
		}
		return p
	}
	paths := func(p auditPage) string {
		var out []string
		for _, e := range p.Data {
			out = append(out, fmt.Sprintf("%s %s %d", e.Method, e.Path, e.Status))
		}
		return fmt.Sprint(out)
	}
	for _, c := range []struct {
		query, want string
	}{
		{"token=rob@gatekey.dev", fmt.Sprintf("[POST %s/suspend 403 GET %s 200 GET /ops/v1/tenants 200 CLI gatekey ops token create 200]", "/ops/v1"+tp, "/ops/v1"+tp)},
		{"token=alice@gatekey.dev&method=post", fmt.Sprintf("[POST %s/resume 200 POST %s/suspend 200]", "/ops/v1"+tp, "/ops/v1"+tp)},
		{"status=403", fmt.Sprintf("[POST %s/suspend 403]", "/ops/v1"+tp)},
		{"status=401", "[GET /ops/v1/audit 401]"},
		{"tenant=" + itoa(id) + "&method=GET", fmt.Sprintf("[GET %s 200]", "/ops/v1"+tp)},
		{"path=" + url.QueryEscape("/ops/v1"+tp+"/re"), fmt.Sprintf("[POST %s/resume 200]", "/ops/v1"+tp)},
		{"until=2000-01-01", "[]"},
		{"since=" + url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339)), "[]"},
	} {
		if got := paths(search(c.query)); got != c.want {
			t.Errorf("audit?%s:\n got %s\nwant %s", c.query, got, c.want)
		}
	}

	// Paging, newest first: 6 entries so far, and each search adds one.
	p1 := search("limit=5&token=rob@gatekey.dev")
	if len(p1.Data) != 4 || p1.NextBefore != nil {
		t.Errorf("one short page: %d entries, next %v", len(p1.Data), p1.NextBefore)
	}
	p2 := search("limit=2")
	if len(p2.Data) != 2 || p2.NextBefore == nil || *p2.NextBefore != p2.Data[1].ID || p2.Data[0].Path != "/ops/v1/audit" {
		t.Fatalf("first page: %+v", p2)
	}
	p3 := search(fmt.Sprintf("limit=2&before=%d", *p2.NextBefore))
	if len(p3.Data) != 2 || p3.Data[0].ID >= p2.Data[1].ID {
		t.Errorf("second page: %+v", p3)
	}
	entry := search("status=200&method=POST&path=" + url.QueryEscape("/ops/v1"+tp+"/suspend")).Data
	if len(entry) != 1 || entry[0].TenantID == nil || *entry[0].TenantID != id || entry[0].IP != "127.0.0.1" ||
		fmt.Sprint(entry[0].Summary) != "map[body:map[reason:fraud]]" {
		t.Errorf("suspend entry: %+v", entry)
	}

	for _, q := range []string{"status=99", "status=abc", "tenant=0", "before=x", "since=last-week", "limit=501", "since=2026-12-07&until=2026-12-06",
		"tenant_id=2"} { // a misspelt filter is refused, not ignored (which would answer for every tenant)
		w.admin.refused("GET", "/audit?"+q, nil, 422, "invalid_request")
	}
	w.admin.refused("GET", "/tenants/"+itoa(id)+"?verbose=1", nil, 422, "invalid_request")
	w.admin.refused("GET", "/jobs?kind=x&stat=failed", nil, 422, "invalid_request")
	// Many at once (the race detector watches the shared list of names),
	// and HEAD, which Fiber answers with the GET route.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { w.admin.refused("GET", "/tenants?bogus=1", nil, 422, "invalid_request") })
	}
	wg.Wait()
	if resp, _ := w.admin.do("HEAD", "/audit?limit=1", nil); resp.StatusCode != 200 {
		t.Errorf("HEAD /audit?limit=1: %d, want 200", resp.StatusCode)
	}
}

// TestOpsPathsAreExact: a call is served only at its route's own
// spelling, so that the audited path is the one a search by path finds.
// (Fiber matches case-insensitively app-wide; the owner API keeps that.)
func TestOpsPathsAreExact(t *testing.T) {
	w := newWorld(t)
	id, err := w.App.DB.SignUp(context.Background(), "owner@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	tp := "/tenants/" + itoa(id)
	w.admin.refused("POST", "/Tenants/"+itoa(id)+"/SUSPEND", map[string]string{"reason": "case"}, 404, "not_found")
	w.admin.refused("GET", "/TENANTS", nil, 404, "not_found")
	w.admin.refused("GET", tp+"/History", nil, 404, "not_found")
	w.admin.refused("DELETE", "/Tenants/1", nil, 404, "not_found") // not 405: there is no such path
	w.reader.refused("GET", "/OpenAPI.json", nil, 404, "not_found")
	req, err := http.NewRequest("GET", w.URL+"/OPS/V1/tenants", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+w.admin.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("GET /OPS/V1/tenants: %d, want 404", resp.StatusCode)
	}
	if n := w.Count(t, "SELECT count(*) FROM tenants WHERE id = $1 AND status = 'active'", id); n != 1 {
		t.Fatal("a call at a path in another case suspended the tenant")
	}

	// A trailing slash is taken, as in the owner API; the audited path
	// still starts with the route's.
	if status := w.admin.call("POST", tp+"/suspend/", map[string]string{"reason": "slash"}, nil); status != 200 {
		t.Errorf("POST %s/suspend/: %d", tp, status)
	}
	var p auditPage
	w.admin.call("GET", "/audit?method=POST&status=200&path="+url.QueryEscape("/ops/v1"+tp), nil, &p)
	if len(p.Data) != 1 || p.Data[0].Path != "/ops/v1"+tp+"/suspend/" {
		t.Errorf("the suspension, searched by path: %+v", p.Data)
	}
	// The refusals are audited as sent, like any unknown call.
	w.admin.call("GET", "/audit?status=404&method=POST", nil, &p)
	if len(p.Data) != 1 || p.Data[0].Path != "/ops/v1/Tenants/"+itoa(id)+"/SUSPEND" || p.Data[0].TokenName != w.admin.name {
		t.Errorf("the refused call in the log: %+v", p.Data)
	}
}

// TestTokenCommandsAreAudited: making and revoking a staff token are in
// the ops audit log, under the token's name, with who ran the command as
// far as its machine tells, and found by the audit search.
func TestTokenCommandsAreAudited(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	carol := ops.Operator{User: "root", Host: "ops-box", SudoUser: "carol"}
	tok, _, err := ops.CreateToken(ctx, w.App.DB, "deploy-bot", ops.RoleAdmin, carol)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ops.RevokeToken(ctx, w.App.DB, "deploy-bot", ops.Operator{User: "dave", Host: "laptop"}); err != nil {
		t.Fatal(err)
	}
	// Refused commands change nothing, and log nothing.
	if _, _, err := ops.CreateToken(ctx, w.App.DB, w.admin.name, ops.RoleRead, carol); err != ops.ErrTokenExists {
		t.Errorf("a second live token of a name: %v", err)
	}
	if _, err := ops.RevokeToken(ctx, w.App.DB, "deploy-bot", carol); err != ops.ErrNoSuchToken {
		t.Errorf("revoking twice: %v", err)
	}

	var p auditPage
	if status := w.admin.call("GET", "/audit?token=deploy-bot", nil, &p); status != 200 || len(p.Data) != 2 {
		t.Fatalf("GET /audit?token=deploy-bot: %d %+v", status, p.Data)
	}
	revoke, create := p.Data[0], p.Data[1]
	if create.Method != "CLI" || create.Path != "gatekey ops token create" || create.Status != 200 || create.TokenID == nil ||
		*create.TokenID != tok.ID || fmt.Sprint(create.Summary) != "map[host:ops-box os_user:root role:admin sudo_user:carol]" {
		t.Errorf("the creation: %+v", create)
	}
	if revoke.Method != "CLI" || revoke.Path != "gatekey ops token revoke" || revoke.Status != 200 || revoke.TokenID == nil ||
		*revoke.TokenID != tok.ID || fmt.Sprint(revoke.Summary) != "map[host:laptop os_user:dave role:admin]" {
		t.Errorf("the revocation: %+v", revoke)
	}
	// Every command, by method or by path (the world's two tokens too).
	for q, want := range map[string]int{"method=cli": 4, "path=" + url.QueryEscape("gatekey ops token create"): 3} {
		if w.admin.call("GET", "/audit?"+q, nil, &p); len(p.Data) != want {
			t.Errorf("GET /audit?%s: %d entries, want %d", q, len(p.Data), want)
		}
	}
}
