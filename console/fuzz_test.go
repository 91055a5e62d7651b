package console_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/internal/apptest"
)

// FuzzOwnerAPIRequest sends arbitrary JSON bodies to the owner API's
// writing calls. Whatever the body, the answer is a client error or a
// success with a JSON body, never a server error.
func FuzzOwnerAPIRequest(f *testing.F) {
	for _, seed := range []string{
		`{"plan_id": 1, "count": 1}`,
		`{"plan_id": 1, "count": 3, "max_activations": 5, "expires_at": "2031-01-02T03:04:05Z", "zero_priced": false}`,
		`{"plan_id": 1, "count": 501}`, `{"plan_id": "1"}`, `{"plan_id": 1e99}`, `{"count": -1}`,
		`{"code_autodelete_days": 7, "zero_price_default": true}`, `{"code_autodelete_days": null}`,
		`{"nope": 1}`, `[]`, `null`, `{`, "\xff", ``,
	} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	env := apptest.Start(f, apptest.Options{Work: true, Configure: func(c *app.Config) { c.APILimit = 1 << 30 }})
	demo := env.Demo(f)
	key := apiKey(f, env, demo.TenantID)
	f.Fuzz(func(t *testing.T, body string, codes bool) {
		method, path := http.MethodPatch, "/api/v1/settings"
		if codes {
			method, path = http.MethodPost, "/api/v1/codes"
			body = strings.Replace(body, `"plan_id": 1`, `"plan_id": `+jsonInt(demo.Plan.ID), 1)
		}
		req, _ := http.NewRequest(method, env.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 500 {
			t.Fatalf("%s %s %q: status %d: %s", method, path, body, res.StatusCode, raw)
		}
		if !json.Valid(raw) {
			t.Fatalf("%s %s %q: status %d with a body that is not JSON: %q", method, path, body, res.StatusCode, raw)
		}
	})
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
