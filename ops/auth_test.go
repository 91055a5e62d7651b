package ops_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/gatekey/gatekey/ops"
)

func TestStaffTokensAuthenticateAndAreAudited(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	tenantID, err := w.App.DB.SignUp(ctx, "owner@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}

	// Only the token's SHA-256 is stored.
	sum := sha256.Sum256([]byte(w.admin.token))
	if n := w.Count(t, "SELECT count(*) FROM ops_tokens WHERE name = $1 AND role = 'admin' AND token_hash = $2", w.admin.name, sum[:]); n != 1 {
		t.Errorf("admin token stored %d times by its hash", n)
	}
	if !strings.HasPrefix(w.admin.token, ops.TokenPrefix) || len(w.admin.token) != len(ops.TokenPrefix)+43 {
		t.Errorf("token %q is not gk_ops_ and 32 bytes in base64url", w.admin.token)
	}

	anonymous := staffClient{t: t, url: w.URL}
	anonymous.refused("GET", "/tenants", nil, 401, "unauthorized")
	wrong := w.admin
	wrong.token = ops.TokenPrefix + strings.Repeat("A", 43)
	wrong.refused("GET", "/tenants", nil, 401, "unauthorized")
	wrong.token = "Basic something"
	wrong.refused("GET", "/tenants", nil, 401, "unauthorized")

	if status := w.reader.call("GET", "/tenants/"+itoa(tenantID), nil, nil); status != 200 {
		t.Errorf("read token reading a tenant: %d", status)
	}
	// A read token is refused on every write, and nothing changes.
	w.reader.refused("POST", "/tenants/"+itoa(tenantID)+"/suspend", map[string]string{"reason": "test"}, 403, "forbidden")
	w.reader.refused("POST", "/tenants/"+itoa(tenantID)+"/resume", nil, 403, "forbidden")
	w.reader.refused("PATCH", "/tenants/"+itoa(tenantID)+"/billing", map[string]string{"plan": "flat"}, 403, "forbidden")
	w.reader.refused("POST", "/jobs/1/retry", nil, 403, "forbidden")
	if n := w.Count(t, "SELECT count(*) FROM tenants WHERE id = $1 AND status = 'active' AND billing_plan = 'payg'", tenantID); n != 1 {
		t.Error("a read token changed the tenant")
	}

	// Unknown calls answer in the API's error shape.
	w.admin.refused("GET", "/nothing-here", nil, 404, "not_found")
	w.admin.refused("DELETE", "/tenants/1", nil, 405, "method_not_allowed")
	w.admin.refused("GET", "/tenants/1/suspend", nil, 405, "method_not_allowed")
	w.admin.refused("GET", "/tenants/abc", nil, 404, "not_found")
	w.admin.refused("GET", "/tenants/999999", nil, 404, "not_found")

	// A revoked token stops working at once.
	if _, err := ops.RevokeToken(ctx, w.App.DB, w.reader.name, testOperator); err != nil {
		t.Fatal(err)
	}
	w.reader.refused("GET", "/tenants", nil, 401, "token_revoked")
	if _, err := ops.RevokeToken(ctx, w.App.DB, w.reader.name, testOperator); err != ops.ErrNoSuchToken {
		t.Errorf("revoking twice: %v", err)
	}
	// Its name can go to a new token, which works.
	again := newStaff(t, w.Env, w.reader.name, ops.RoleRead)
	if status := again.call("GET", "/tenants", nil, nil); status != 200 {
		t.Errorf("new token under a revoked token's name: %d", status)
	}

	// Every call above is in the audit log, with its token's name.
	type row struct {
		name, method, path string
		status             int
	}
	// Making and revoking tokens are there too, under the token's name.
	want := []row{
		{w.admin.name, "CLI", "gatekey ops token create", 200},
		{w.reader.name, "CLI", "gatekey ops token create", 200},
		{"", "GET", "/ops/v1/tenants", 401},
		{"", "GET", "/ops/v1/tenants", 401},
		{"", "GET", "/ops/v1/tenants", 401},
		{w.reader.name, "GET", "/ops/v1/tenants/" + itoa(tenantID), 200},
		{w.reader.name, "POST", "/ops/v1/tenants/" + itoa(tenantID) + "/suspend", 403},
		{w.reader.name, "POST", "/ops/v1/tenants/" + itoa(tenantID) + "/resume", 403},
		{w.reader.name, "PATCH", "/ops/v1/tenants/" + itoa(tenantID) + "/billing", 403},
		{w.reader.name, "POST", "/ops/v1/jobs/1/retry", 403},
		{w.admin.name, "GET", "/ops/v1/nothing-here", 404},
		{w.admin.name, "DELETE", "/ops/v1/tenants/1", 405},
		{w.admin.name, "GET", "/ops/v1/tenants/1/suspend", 405},
		{w.admin.name, "GET", "/ops/v1/tenants/abc", 404},
		{w.admin.name, "GET", "/ops/v1/tenants/999999", 404},
		{w.reader.name, "CLI", "gatekey ops token revoke", 200},
		{"", "GET", "/ops/v1/tenants", 401}, // the revoked token
		{w.reader.name, "CLI", "gatekey ops token create", 200},
		{w.reader.name, "GET", "/ops/v1/tenants", 200},
	}
	rows, err := w.Owner(t).Query(ctx, "SELECT token_name, method, path, status FROM ops_audit ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	var got []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.name, &r.method, &r.path, &r.status); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("audit log:\n got %v\nwant %v", got, want)
	}
	// The suspend call's reason is summarised; no token is ever written.
	if n := w.Count(t, `SELECT count(*) FROM ops_audit WHERE path LIKE '%/suspend' AND summary->'body'->>'reason' = 'test'
		AND tenant_id = $1`, tenantID); n != 1 {
		t.Error("the suspend call's summary does not hold its reason and tenant")
	}
	for _, token := range []string{w.admin.token, w.reader.token, again.token} {
		if n := w.Count(t, "SELECT count(*) FROM ops_audit a WHERE strpos(a::text, $1) > 0", token[len(ops.TokenPrefix):]); n != 0 {
			t.Errorf("a staff token is in %d audit entries", n)
		}
	}
}

func TestAuditLogIsAppendOnlyAndRedactsSecrets(t *testing.T) {
	w := newWorld(t)
	// An unknown field is refused, but the call is still recorded, with
	// fields named like secrets blanked.
	w.admin.refused("PATCH", "/tenants/1/billing", map[string]any{"api_key": "sk_live_123", "password": "hunter22", "note": strings.Repeat("x", 500)},
		400, "bad_json")
	var apiKey, password, note string
	err := w.Owner(t).QueryRow(context.Background(), `SELECT summary->'body'->>'api_key', summary->'body'->>'password', summary->'body'->>'note'
		FROM ops_audit WHERE method = 'PATCH'`).Scan(&apiKey, &password, &note)
	if err != nil {
		t.Fatal(err)
	}
	if apiKey != "[redacted]" || password != "[redacted]" || len(note) > 210 {
		t.Errorf("summary kept api_key %q, password %q, a note of %d bytes", apiKey, password, len(note))
	}
	// The application cannot rewrite the log.
	for _, sql := range []string{"UPDATE ops_audit SET status = 200", "DELETE FROM ops_audit", "TRUNCATE ops_audit"} {
		_, err := w.App.DB.Pool().Exec(context.Background(), sql)
		if err == nil || !strings.Contains(err.Error(), "append-only") && !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s: %v", sql, err)
		}
	}
}

func TestFailedTokenAttemptsAreLimitedPerAddress(t *testing.T) {
	w := newWorld(t)
	wrong := staffClient{t: t, url: w.URL, token: ops.TokenPrefix + strings.Repeat("B", 43)}
	for i := 0; i < 20; i++ {
		wrong.refused("GET", "/tenants", nil, 401, "unauthorized")
	}
	logged := w.Count(t, "SELECT count(*) FROM ops_audit")
	resp, raw := wrong.do("GET", "/tenants", nil)
	if resp.StatusCode != 429 || !strings.Contains(string(raw), `"too_many_attempts"`) {
		t.Fatalf("21st wrong token: %d %s", resp.StatusCode, raw)
	}
	if s, _ := strconv.Atoi(resp.Header.Get("Retry-After")); s < 800 || s > 900 {
		t.Errorf("Retry-After %q, want about 15 minutes", resp.Header.Get("Retry-After"))
	}
	wrong.refused("GET", "/tenants", nil, 429, "too_many_attempts")
	(&staffClient{t: t, url: w.URL}).refused("GET", "/tenants", nil, 429, "too_many_attempts") // no token at all
	if n := w.Count(t, "SELECT count(*) FROM ops_audit"); n != logged {
		t.Errorf("refusals while locked out were logged: %d entries, want %d", n, logged)
	}
	// A valid token from that address is let in, and its call logged:
	// someone else's guessing does not shut staff out.
	if status := w.admin.call("GET", "/tenants", nil, nil); status != 200 {
		t.Errorf("a valid token from the locked-out address: %d, want 200", status)
	}
	if n := w.Count(t, "SELECT count(*) FROM ops_audit WHERE status = 200 AND token_name <> '' AND method <> 'CLI'"); n != 1 {
		t.Errorf("%d logged calls with a valid token, want 1", n)
	}
	// A revoked token is told so, not held back with the guesses.
	if _, err := ops.RevokeToken(context.Background(), w.App.DB, w.reader.name, testOperator); err != nil {
		t.Fatal(err)
	}
	w.reader.refused("GET", "/tenants", nil, 401, "token_revoked")
	// Another address is not held back.
	client := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext}}
	req, _ := http.NewRequest("GET", w.URL+"/ops/v1/tenants", nil)
	req.Header.Set("Authorization", "Bearer "+w.admin.token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("admin token from 127.0.0.2: %d", resp.StatusCode)
	}
}

// TestLockoutEndsWithItsWindow runs the ops API on its own server with a
// short window, so that the lockout's end can be seen.
func TestLockoutEndsWithItsWindow(t *testing.T) {
	w := newWorld(t)
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	ops.New(ops.Config{DB: w.App.DB, River: w.App.River, FailedAuthLimit: 3, FailedAuthWindow: 2 * time.Second}).Register(app)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	admin, wrong := w.admin, w.admin
	admin.url, wrong.url = "http://"+ln.Addr().String(), "http://"+ln.Addr().String()
	wrong.token = "not-a-token"
	for i := 0; i < 3; i++ {
		wrong.refused("GET", "/audit", nil, 401, "unauthorized")
	}
	wrong.refused("GET", "/audit", nil, 429, "too_many_attempts")
	time.Sleep(2100 * time.Millisecond)
	wrong.refused("GET", "/audit", nil, 401, "unauthorized")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// The Authorization scheme's name is case-insensitive, as HTTP's are.
func TestBearerSchemeIgnoresCase(t *testing.T) {
	w := newWorld(t)
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		req, _ := http.NewRequest("GET", w.URL+"/ops/v1/tenants", nil)
		req.Header.Set("Authorization", scheme+" "+w.admin.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("Authorization: %s <token>: %d, want 200", scheme, resp.StatusCode)
		}
	}
}

// A body of the wrong shape is described in the API's terms, not Go's.
func TestBadBodiesAreDescribedInTheAPIsTerms(t *testing.T) {
	w := newWorld(t)
	var e errorBody
	if got := w.admin.call("POST", "/tenants/1/suspend", `{"reason": 5}`, &e); got != 400 || e.Error.Code != "bad_json" ||
		!strings.Contains(e.Error.Message, "reason must be a string, not number") || strings.Contains(e.Error.Message, "Go ") {
		t.Errorf("reason 5: %d %+v", got, e)
	}
}
