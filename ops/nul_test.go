package ops_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/tenant"
)

// A NUL character can be stored neither in ops_audit's text nor in its
// jsonb summary. A call carrying one is refused before it is carried out,
// and the refusal is audited like any other call.
func TestOpsCallsWithANULAreRefusedAndAudited(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	id, err := w.App.DB.SignUp(ctx, "owner@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	tp := "/tenants/" + itoa(id)
	status := func() string {
		t.Helper()
		var s string
		w.Tx(t, id, func(tx pgx.Tx) error {
			tn, err := tenant.Get(ctx, tx)
			s = tn.Status
			return err
		})
		return s
	}
	auditEntries := func(path string) auditPage {
		t.Helper()
		var p auditPage
		if code := w.admin.call("GET", "/audit?path="+url.QueryEscape("/ops/v1"+tp+path), nil, &p); code != 200 {
			t.Fatalf("GET /audit: %d", code)
		}
		return p
	}

	// Suspending with a NUL in the reason: refused, nothing changed.
	w.admin.refused("POST", tp+"/suspend", `{"reason": "a\u0000b"}`, 400, "invalid_text")
	w.admin.refused("POST", tp+"/suspend", "{\"reason\": \"a\x00b\"}", 400, "invalid_text")
	// Sent as a form (curl -d's default), the body is still read as JSON,
	// so it is checked as JSON.
	req, _ := http.NewRequest("POST", w.URL+"/ops/v1"+tp+"/suspend", strings.NewReader(`{"reason": "a\u0000b"}`))
	req.Header.Set("Authorization", "Bearer "+w.admin.token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != 400 {
		t.Errorf("a NUL escape in a JSON body sent as a form: %s, want 400", resp.Status)
	}
	if s := status(); s != tenant.StatusActive {
		t.Fatalf("after refused suspensions the tenant is %s", s)
	}
	if n := w.Count(t, "SELECT count(*) FROM audit_log WHERE tenant_id = $1", id); n != 0 {
		t.Errorf("refused suspensions wrote %d lines in the tenant's audit log", n)
	}
	// An escaped backslash followed by u0000 is text, not a NUL.
	var res statusResult
	if code := w.admin.call("POST", tp+"/suspend", `{"reason": "a\\u0000b"}`, &res); code != 200 || !res.Changed {
		t.Fatalf(`suspend with reason a\u0000b: %d %+v`, code, res)
	}
	if n := w.Count(t, `SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND details->>'reason' = 'a\u0000b'`, id); n != 1 {
		t.Errorf(`the reason a\u0000b is in the tenant's audit log %d times`, n)
	}

	// Resuming with a NUL in the query: refused, the tenant stays suspended.
	w.admin.refused("POST", tp+"/resume?x=%00", map[string]string{"reason": "x"}, 400, "invalid_text")
	w.admin.refused("GET", tp+"?x=%00", nil, 400, "invalid_text")
	if s := status(); s != tenant.StatusSuspended {
		t.Fatalf("after a refused resume the tenant is %s", s)
	}

	// Each call is in the ops audit log, a NUL shown as U+FFFD (a raw NUL
	// in a JSON string is not JSON: only the body's size is kept).
	var got []string
	for _, e := range auditEntries("/suspend").Data {
		got = append(got, fmt.Sprintf("%d %v", e.Status, e.Summary))
	}
	if want := "[200 map[body:map[reason:a\\u0000b]] 400 map[body:map[reason:a\uFFFDb]] 400 map[body_bytes:17] 400 map[body:map[reason:a\uFFFDb]]]"; fmt.Sprint(got) != want {
		t.Errorf("suspensions in the audit log:\n got %s\nwant %s", got, want)
	}
	got = nil
	for _, e := range auditEntries("").Data {
		if e.Path == "/ops/v1"+tp || e.Path == "/ops/v1"+tp+"/resume" {
			got = append(got, fmt.Sprintf("%s %s %d %v", e.Method, e.Path, e.Status, e.Summary))
		}
	}
	want := fmt.Sprintf("[GET /ops/v1%s 400 map[query:map[x:\uFFFD]] POST /ops/v1%s/resume 400 map[body:map[reason:x] query:map[x:\uFFFD]]]", tp, tp)
	if fmt.Sprint(got) != want {
		t.Errorf("the refused calls in the audit log:\n got %s\nwant %s", got, want)
	}

	// A NUL in the path, or in a read's query, is refused as well.
	w.admin.refused("GET", "/tenants/%00", nil, 400, "invalid_text")
	w.admin.refused("GET", "/audit?token=a%00", nil, 400, "invalid_text")
	w.admin.refused("GET", "/tenants?q=%00", nil, 400, "invalid_text")
	// And so is one whose query is not UTF-8.
	w.admin.refused("GET", "/tenants?q=%FF", nil, 400, "invalid_text")
	if n := w.Count(t, "SELECT count(*) FROM ops_audit WHERE status = 400 AND summary->'query'->>'q' = E'\uFFFD'"); n != 2 {
		t.Errorf("%d audit entries for the refused searches, want 2", n)
	}
}
