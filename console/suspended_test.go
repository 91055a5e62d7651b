package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatekey/gatekey/internal/apptest"
)

func TestSuspendedTenantsConsoleAndAPIAreReadOnly(t *testing.T) {
	env := apptest.New(t)
	o := signUp(t, env, "paused@example.com")
	a := api{t: t, url: env.URL + "/api/v1", key: apiKey(t, env, o.Tenant)}
	leaked := api{t: t, url: env.URL + "/api/v1", key: apiKey(t, env, o.Tenant)}
	if _, err := env.Owner(t).Exec(context.Background(), "UPDATE tenants SET status = 'suspended' WHERE id = $1", o.Tenant); err != nil {
		t.Fatal(err)
	}
	before := env.Count(t, "SELECT (SELECT count(*) FROM plans) + (SELECT count(*) FROM access_codes) + (SELECT count(*) FROM api_keys)")

	var e apiErr
	if status := a.call(http.MethodPatch, "/settings", `{"zero_price_default": false}`, &e); status != 403 || e.Error.Code != "tenant_suspended" ||
		!strings.Contains(e.Error.Message, "the API is read-only") {
		t.Errorf("PATCH /settings while suspended: %d %+v, want 403 tenant_suspended saying the API is read-only", status, e)
	}
	if status := a.call(http.MethodGet, "/settings", nil, nil); status != 200 {
		t.Errorf("GET /settings while suspended: %d, want 200 (reading stays open)", status)
	}
	status, body := o.postForm("/settings/keys", url.Values{"name": {"more"}}, "/settings")
	if status != 403 || !strings.Contains(body, "read-only") {
		t.Errorf("creating an API key in the console while suspended: %d, want 403 saying it is read-only", status)
	}
	if status, body := o.get("/dashboard"); status != 200 || !strings.Contains(body, `id="suspended"`) {
		t.Errorf("dashboard while suspended: %d, want 200 with the banner saying so", status)
	}
	if after := env.Count(t, "SELECT (SELECT count(*) FROM plans) + (SELECT count(*) FROM access_codes) + (SELECT count(*) FROM api_keys)"); after != before {
		t.Errorf("rows changed while suspended: %d -> %d", before, after)
	}
	// Taking access away still works: a key that leaked can be revoked.
	var leakedID int64
	if err := env.Owner(t).QueryRow(context.Background(), "SELECT max(id) FROM api_keys WHERE tenant_id = $1", o.Tenant).Scan(&leakedID); err != nil {
		t.Fatal(err)
	}
	if status, _ := o.postForm(fmt.Sprintf("/settings/keys/%d/revoke", leakedID), url.Values{}, "/settings"); status != http.StatusSeeOther {
		t.Errorf("revoking an API key while suspended: %d, want 303", status)
	}
	if status := leaked.call(http.MethodGet, "/settings", nil, &e); status != 401 || e.Error.Code != "api_key_revoked" {
		t.Errorf("the key revoked while suspended: %d %+v, want 401 api_key_revoked", status, e)
	}
	// Resumed, the same change goes through.
	if _, err := env.Owner(t).Exec(context.Background(), "UPDATE tenants SET status = 'active' WHERE id = $1", o.Tenant); err != nil {
		t.Fatal(err)
	}
	if status := a.call(http.MethodPatch, "/settings", `{"zero_price_default": false}`, nil); status != 200 {
		t.Errorf("PATCH /settings after resuming: %d, want 200", status)
	}
	if _, body := o.get("/dashboard"); strings.Contains(body, `id="suspended"`) {
		t.Error("the banner stays after resuming")
	}
}
