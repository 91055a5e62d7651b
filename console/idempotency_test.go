package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gatekey/gatekey/internal/apptest"
)

// TestAPIIdempotencyKey: a code request sent again with the same
// Idempotency-Key gets the first answer, with 200 and Idempotent-Replayed,
// and makes nothing; the key with another request is refused; a key of
// another tenant is another key; a malformed key is refused.
func TestAPIIdempotencyKey(t *testing.T) {
	w := newAPIWorld(t)
	type created struct {
		BatchID int64 `json:"batch_id"`
		Codes   []codeOut
	}
	send := func(a api, key string, body map[string]any) (int, http.Header, created) {
		t.Helper()
		var out created
		st, h := a.callWith("POST", "/codes", map[string]string{"Idempotency-Key": key}, body, &out)
		return st, h, out
	}
	ask := map[string]any{"plan_id": w.a.Plan.ID, "count": 3}
	st, h, first := send(w.apiA, "order-1842", ask)
	if st != 201 || h.Get("Idempotent-Replayed") != "" || len(first.Codes) != 3 {
		t.Fatalf("first: %d %v %+v", st, h, first)
	}
	st, h, again := send(w.apiA, "order-1842", ask)
	if st != 200 || h.Get("Idempotent-Replayed") != "true" || again.BatchID != first.BatchID ||
		len(again.Codes) != 3 || again.Codes[0].Code != first.Codes[0].Code || again.Codes[2].Code != first.Codes[2].Code {
		t.Errorf("again: %d %v %+v; want the first answer %+v", st, h, again, first)
	}
	if n := w.Count(t, "SELECT count(*) FROM access_codes"); n != 3 {
		t.Errorf("%d codes after the repeat, want 3", n)
	}

	for _, other := range []map[string]any{
		{"plan_id": w.a.Plan.ID, "count": 4},
		{"plan_id": w.a.Plan.ID, "count": 3, "zero_priced": false},
		{"plan_id": w.a.Plan.ID, "count": 3, "expires_in_days": 5},
	} {
		var e apiErr
		if st, _ := w.apiA.callWith("POST", "/codes", map[string]string{"Idempotency-Key": "order-1842"}, other, &e); st != 409 || e.Error.Code != "idempotency_key_reused" {
			t.Errorf("the key with %v: %d %+v", other, st, e)
		}
	}
	var e apiErr
	for _, bad := range []string{strings.Repeat("k", 256), "two words"} {
		if st, _ := w.apiA.callWith("POST", "/codes", map[string]string{"Idempotency-Key": bad}, ask, &e); st != 422 || e.Error.Code != "invalid_request" {
			t.Errorf("key %.20q: %d %+v", bad, st, e)
		}
	}
	// Tenant B's key of the same name is B's own.
	if st, _, other := send(w.apiB, "order-1842", map[string]any{"plan_id": w.b.Plan.ID, "count": 3}); st != 201 || other.BatchID == first.BatchID {
		t.Errorf("tenant B, same key: %d %+v", st, other)
	}

	// Sent twice at once, a request still makes one batch.
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	batches := make([]int64, 2)
	for i := range statuses {
		wg.Go(func() {
			var out created
			statuses[i], _ = w.apiA.callWith("POST", "/codes", map[string]string{"Idempotency-Key": "order-1843"}, ask, &out)
			batches[i] = out.BatchID
		})
	}
	wg.Wait()
	if statuses[0]+statuses[1] != 401 || batches[0] != batches[1] {
		t.Errorf("twin requests: statuses %v, batches %v; want one 201 and one 200 for one batch", statuses, batches)
	}
	if n := w.Count(t, "SELECT count(*) FROM code_batches WHERE request_key IS NOT NULL"); n != 3 {
		t.Errorf("%d batches with keys, want 3", n)
	}
}

// TestCodesFormSentTwiceMakesOneBatch: the same form sent twice makes one
// batch and says so; the form with changed values is a new request.
func TestCodesFormSentTwiceMakesOneBatch(t *testing.T) {
	w := newAPIWorld(t)
	o := signIn(t, w.Env, "owner@example.com", "correct horse battery")
	_, page := o.get("/codes/new")
	m := regexp.MustCompile(`name="form_key" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the form has no key")
	}
	form := url.Values{"plan_id": {strconv.FormatInt(w.a.Plan.ID, 10)}, "count": {"2"}, "max_activations": {"1"}, "expiry": {"none"},
		"pricing": {"default"}, "form_key": {m[1]}}
	var where []string
	for range 2 {
		if st, _ := o.postForm("/codes", form, "/codes/new"); st != http.StatusSeeOther {
			t.Fatalf("post: %d", st)
		}
		where = append(where, o.header.Get("Location"))
	}
	if where[0] != where[1] {
		t.Errorf("the two sends went to %q and %q; want the same batch", where[0], where[1])
	}
	if n := w.Count(t, "SELECT count(*) FROM access_codes"); n != 2 {
		t.Errorf("%d codes after sending the form twice, want 2", n)
	}
	if _, body := o.get(where[1]); !strings.Contains(body, "This form was sent twice; it made one batch: 2 codes") {
		t.Errorf("the second send says %q", flashText(body))
	}
	form.Set("count", "3")
	if st, _ := o.postForm("/codes", form, "/codes/new"); st != http.StatusSeeOther || o.header.Get("Location") == where[0] {
		t.Errorf("changed values: %d %q; want a new batch", st, o.header.Get("Location"))
	}
	if n := w.Count(t, "SELECT count(*) FROM access_codes"); n != 5 {
		t.Errorf("%d codes after a changed form, want 5", n)
	}
}

var formKeyField = regexp.MustCompile(`name="form_key" value="([^"]+)"`)

// TestSettingsFormsSentTwiceMakeOneKeyAndOneLink: a reload of the page that
// showed a new API key, or a new admin link, sends its form again; that
// makes no second live key or link, and says what the first one made.
func TestSettingsFormsSentTwiceMakeOneKeyAndOneLink(t *testing.T) {
	env := apptest.New(t)
	d := env.Demo(t)
	o := signIn(t, env, "owner@example.com", "correct horse battery")
	_, page := o.get("/settings")
	m := formKeyField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the settings page's forms have no key")
	}

	key := url.Values{"name": {"shop"}, "form_key": {m[1]}}
	status, body := o.postForm("/settings/keys", key, "/settings")
	shown := keyShown.FindStringSubmatch(body)
	if status != 201 || shown == nil {
		t.Fatalf("create key: %d", status)
	}
	if status, _ := o.postForm("/settings/keys", key, "/settings"); status != http.StatusSeeOther {
		t.Errorf("the same key form again: %d, want 303", status)
	}
	_, body = o.get("/settings")
	if !strings.Contains(body, "This form was sent twice; it made one API key, shop (gk_") || strings.Contains(body, shown[1]) {
		t.Errorf("the second send says %q", flashText(body))
	}
	if n := env.Count(t, "SELECT count(*) FROM api_keys"); n != 1 {
		t.Errorf("%d API keys after sending the form twice, want 1", n)
	}
	// The page that showed the key has a new form: another key is another.
	if next := formKeyField.FindStringSubmatch(body); next == nil || next[1] == m[1] {
		t.Fatal("the page after a key is made keeps the form's key")
	}

	link := url.Values{"bot_id": {fmt.Sprint(d.Bot.ID)}, "form_key": {m[1]}}
	status, body = o.postForm("/settings/owner-link", link, "/settings")
	if status != 201 || !strings.Contains(body, `id="owner-link">https://t.me/gatekey_demo_bot?start=owner-`) {
		t.Fatalf("admin link: %d", status)
	}
	if status, _ := o.postForm("/settings/owner-link", link, "/settings"); status != http.StatusSeeOther {
		t.Errorf("the same admin-link form again: %d, want 303", status)
	}
	if _, body := o.get("/settings"); !strings.Contains(body, "This form was sent twice; it made one admin link for @gatekey_demo_bot, which works once, until ") {
		t.Errorf("the second send says %q", flashText(body))
	}
	if n := env.Count(t, "SELECT count(*) FROM owner_link_tokens"); n != 1 {
		t.Errorf("%d admin links after sending the form twice, want 1", n)
	}
}
