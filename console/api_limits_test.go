package console_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/internal/apptest"
)

func TestOwnerAPIIsRateLimited(t *testing.T) {
	env := apptest.Start(t, apptest.Options{Work: true, Configure: func(c *app.Config) { c.APILimit = 5 }})
	demo := env.Demo(t)
	a := api{t: t, url: env.URL + "/api/v1", key: apiKey(t, env, demo.TenantID)}
	for i := range 5 {
		if status := a.call(http.MethodGet, "/plans", nil, nil); status != 200 {
			t.Fatalf("request %d: status %d, want 200", i+1, status)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/api/v1/codes", nil)
	req.Header.Set("Authorization", "Bearer "+a.key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("sixth request in a minute: status %d, want 429", res.StatusCode)
	}
	if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Errorf("Retry-After %q, want 1 to 60 seconds", res.Header.Get("Retry-After"))
	}
	var e apiErr
	if status := a.call(http.MethodGet, "/plans", nil, &e); status != 429 || e.Error.Code != "rate_limited" || e.Error.Message == "" {
		t.Errorf("over the limit: %d %+v, want 429 rate_limited with a message", status, e)
	}
	if n := env.Count(t, "SELECT count(*) FROM access_codes"); n != 0 {
		t.Errorf("a refused request created %d codes", n)
	}
}
