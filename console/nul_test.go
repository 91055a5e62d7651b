package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatekey/gatekey/internal/apptest"
)

// PostgreSQL stores no NUL character in text or jsonb, nor text that is
// not UTF-8 (error 22021). A request carrying either is refused with 400
// before any handler, so that it neither fails halfway with a 500 nor
// changes anything.

func TestOwnerAPIRefusesNULCharacters(t *testing.T) {
	w := newAPIWorld(t)
	for _, path := range []string{"/codes?search=%00", "/members?search=%00", "/codes.csv?search=%00", "/codes?search=a%00b&limit=5", "/codes/%00"} {
		var e apiErr
		status := w.apiA.call("GET", path, nil, &e)
		wantError(t, "GET "+path, status, 400, e, "invalid_text")
		if !strings.Contains(e.Error.Message, "NUL") {
			t.Errorf("GET %s: %q does not say what is wrong", path, e.Error.Message)
		}
	}
	// Nor does text that is not UTF-8.
	var e apiErr
	status := w.apiA.call("GET", "/members?search=%FF", nil, &e)
	wantError(t, "GET /members?search=%FF", status, 400, e, "invalid_text")

	codes := w.Count(t, "SELECT count(*) FROM access_codes")
	e = apiErr{}
	status = w.apiA.call("POST", "/codes", fmt.Sprintf(`{"plan_id": %d, "count": 2, "expires_at": "2030-01-01T00:00:00Z\u0000"}`, w.a.Plan.ID), &e)
	wantError(t, `POST /codes with \u0000`, status, 400, e, "invalid_text")
	if n := w.Count(t, "SELECT count(*) FROM access_codes"); n != codes {
		t.Errorf("a refused POST /codes made %d codes", n-codes)
	}
	// An escaped backslash followed by u0000 is text, not a NUL: it
	// reaches the handler, which has its own opinion of it.
	e = apiErr{}
	status = w.apiA.call("PATCH", "/settings", `{"a\\u0000b": 1}`, &e)
	wantError(t, `PATCH /settings with a\\u0000b`, status, 400, e, "bad_json")
	if status := w.apiA.call("GET", "/codes?search=%2500", nil, nil); status != 200 {
		t.Errorf("GET /codes?search=%%2500 (the text %%00): %d", status)
	}
}

func TestConsoleRefusesNULCharacters(t *testing.T) {
	env := apptest.New(t)
	d := env.Demo(t)
	o := signIn(t, env, "owner@example.com", "correct horse battery")
	plans := env.Count(t, "SELECT count(*) FROM plans")
	status, body := o.postForm("/plans", url.Values{"bot_id": {fmt.Sprint(d.Bot.ID)}, "name": {"x\x00y"}, "period_kind": {"days"},
		"period_value": {"7"}, "price": {"5"}, "currency": {"EUR"}, "chat": {fmt.Sprint(d.Chats[0].ID)}}, "/plans/new")
	if status != 400 || !strings.Contains(body, "NUL characters") {
		t.Errorf("POST /plans with a NUL in the name: %d", status)
	}
	if n := env.Count(t, "SELECT count(*) FROM plans"); n != plans {
		t.Errorf("a refused POST /plans made %d plans", n-plans)
	}

	status, _ = o.postForm(fmt.Sprintf("/plans/%d", d.Plan.ID), url.Values{"name": {"Renamed"}, "description": {"d\x00"}, "period_kind": {"days"},
		"period_value": {"7"}, "price": {"5"}, "currency": {"EUR"}, "chat": {fmt.Sprint(d.Chats[0].ID)}}, fmt.Sprintf("/plans/%d/edit", d.Plan.ID))
	if status != 400 {
		t.Errorf("POST /plans/%d with a NUL in the description: %d", d.Plan.ID, status)
	}
	if n := env.Count(t, "SELECT count(*) FROM plans WHERE name = 'Renamed'"); n != 0 {
		t.Error("a refused plan edit changed the plan")
	}

	keys := env.Count(t, "SELECT count(*) FROM api_keys")
	if status, _ := o.postForm("/settings/keys", url.Values{"name": {"a\x00b"}}, "/settings"); status != 400 {
		t.Errorf("POST /settings/keys with a NUL in the name: %d", status)
	}
	if n := env.Count(t, "SELECT count(*) FROM api_keys"); n != keys {
		t.Errorf("a refused POST /settings/keys made %d keys", n-keys)
	}

	if status, body := o.get("/codes?search=%00"); status != 400 || !strings.Contains(body, "NUL characters") {
		t.Errorf("GET /codes?search=%%00: %d", status)
	}
	if status, _ := o.get("/codes/export.csv?search=%00"); status != 400 {
		t.Errorf("GET /codes/export.csv?search=%%00: %d", status)
	}
	// Text without a NUL still goes through.
	if status, _ := o.postForm("/settings/keys", url.Values{"name": {`a\u0000b`}}, "/settings"); status != http.StatusCreated {
		t.Errorf(`POST /settings/keys named a\u0000b: %d`, status)
	}
}
