package console_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/internal/openapitest"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/telegram/telegramtest"
	"github.com/gatekey/gatekey/tenant"
)

// apiWorld is two tenants: A (the demo: a bot, two chats, a plan) and B
// (its own bot, chat and plan), each with an API key.
type apiWorld struct {
	*apptest.Env
	a, b       app.Demo
	apiA, apiB api
}

func newAPIWorld(t *testing.T) apiWorld {
	env := apptest.New(t)
	w := apiWorld{Env: env, a: env.Demo(t)}
	ctx := context.Background()
	var err error
	if w.b.TenantID, err = env.App.DB.SignUp(ctx, "other@example.com", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if w.b.Bot, err = env.App.ConnectFakeBot(ctx, env.Fake, w.b.TenantID, "other_bot"); err != nil {
		t.Fatal(err)
	}
	chat, err := env.App.AddFakeChat(ctx, env.Fake, w.b.Bot, "channel", "Other Channel")
	if err != nil {
		t.Fatal(err)
	}
	env.Tx(t, w.b.TenantID, func(tx pgx.Tx) error {
		w.b.Plan, err = membership.CreatePlan(ctx, tx, membership.NewPlan{BotID: w.b.Bot.ID, Name: "Other plan", PeriodDays: 7,
			Price: membership.Money{Currency: "EUR"}, ChatIDs: []int64{chat.ID}})
		return err
	})
	w.apiA = api{t: t, url: env.URL + "/api/v1", key: apiKey(t, env, w.a.TenantID)}
	w.apiB = api{t: t, url: env.URL + "/api/v1", key: apiKey(t, env, w.b.TenantID)}
	return w
}

// activate has a new Telegram user open code's activation link and join
// the chats; it returns the user.
func (w apiWorld) activate(t *testing.T, name, code string) telegramtest.User {
	t.Helper()
	u := w.Fake.AddUser(name, strings.ToLower(name))
	if status, err := w.Fake.Start(w.a.Bot.TelegramID, u.ID, code); err != nil || status != 200 {
		t.Fatalf("%s /start %s: %d %v", name, code, status, err)
	}
	msg := w.Messages(t, w.a.Bot.TelegramID, u.ID, 1)[0]
	if msg.ReplyMarkup == nil {
		t.Fatalf("%s got %q, no Join buttons", name, msg.Text)
	}
	for _, row := range msg.ReplyMarkup.InlineKeyboard {
		for _, b := range row {
			if ok, reason, err := w.Fake.JoinByLink(u.ID, b.URL); !ok {
				t.Fatalf("%s joining: %s %v", name, reason, err)
			}
		}
	}
	w.Idle(t)
	return u
}

func wantError(t *testing.T, what string, status, wantStatus int, e apiErr, wantCode string) {
	t.Helper()
	if status != wantStatus || e.Error.Code != wantCode || e.Error.Message == "" {
		t.Errorf("%s: status %d, error %+v; want %d %s with a message", what, status, e.Error, wantStatus, wantCode)
	}
}

func TestAPIKeys(t *testing.T) {
	w := newAPIWorld(t)
	var e apiErr
	cases := []struct{ name, key string }{
		{"no key", ""},
		{"not a key", "hello"},
		{"unknown key", "gk_abcdefgh_" + strings.Repeat("A", 32)},
		{"wrong secret", w.apiA.key[:12] + strings.Repeat("B", 32)},
	}
	for _, c := range cases {
		e = apiErr{}
		status := api{t: t, url: w.apiA.url, key: c.key}.call("GET", "/plans", nil, &e)
		wantError(t, c.name, status, 401, e, "unauthorized")
	}
	// The scheme's name is case-insensitive, as HTTP's are.
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		req, _ := http.NewRequest("GET", w.apiA.url+"/plans", nil)
		req.Header.Set("Authorization", scheme+" "+w.apiA.key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("Authorization: %s <key>: %d, want 200", scheme, res.StatusCode)
		}
	}

	// A key revoked in the console is refused at once, saying so.
	env := w.Env
	var keys []tenant.APIKey
	env.Tx(t, w.a.TenantID, func(tx pgx.Tx) (err error) {
		keys, err = tenant.ListAPIKeys(context.Background(), tx)
		return err
	})
	env.Tx(t, w.a.TenantID, func(tx pgx.Tx) error { return tenant.RevokeAPIKey(context.Background(), tx, keys[0].ID) })
	e = apiErr{}
	wantError(t, "revoked key", w.apiA.call("GET", "/plans", nil, &e), 401, e, "api_key_revoked")

	// The document needs no key; unknown calls are JSON 404s.
	var doc map[string]any
	if status := (api{t: t, url: w.apiA.url}).call("GET", "/openapi.json", nil, &doc); status != 200 || doc["openapi"] != "3.0.3" {
		t.Errorf("openapi.json: %d %v", status, doc["openapi"])
	}
	e = apiErr{}
	wantError(t, "unknown call", w.apiB.call("GET", "/nothing", nil, &e), 404, e, "not_found")
}

func TestAPIBotsPlansSettings(t *testing.T) {
	w := newAPIWorld(t)
	var bots struct{ Data []map[string]any }
	if s := w.apiA.call("GET", "/bots", nil, &bots); s != 200 || len(bots.Data) != 1 || bots.Data[0]["username"] != "gatekey_demo_bot" || bots.Data[0]["status"] != "connected" {
		t.Errorf("bots: %d %+v", s, bots)
	}
	var plans struct {
		Data []struct {
			ID         int64
			Name       string
			PeriodDays *int `json:"period_days"`
			Price      struct {
				AmountMinor int64 `json:"amount_minor"`
				Currency    string
			}
			ChatIDs []int64 `json:"chat_ids"`
		}
	}
	if s := w.apiA.call("GET", "/plans", nil, &plans); s != 200 || len(plans.Data) != 1 {
		t.Fatalf("plans: %d %+v", s, plans)
	}
	p := plans.Data[0]
	if p.ID != w.a.Plan.ID || p.Name != "Demo membership" || p.PeriodDays == nil || *p.PeriodDays != 30 ||
		p.Price.AmountMinor != 999 || p.Price.Currency != "USD" || len(p.ChatIDs) != 2 {
		t.Errorf("plan = %+v", p)
	}

	type settings struct {
		Days *int `json:"code_autodelete_days"`
		Zero bool `json:"zero_price_default"`
	}
	var s settings
	if st := w.apiA.call("GET", "/settings", nil, &s); st != 200 || s.Days != nil || !s.Zero {
		t.Errorf("settings: %d %+v", st, s)
	}
	if st := w.apiA.call("PATCH", "/settings", map[string]any{"code_autodelete_days": 30, "zero_price_default": false}, &s); st != 200 || s.Days == nil || *s.Days != 30 || s.Zero {
		t.Errorf("patch settings: %d %+v", st, s)
	}
	for _, bad := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"code_autodelete_days": 0}`, 422, "invalid_request"},
		{`{"code_autodelete_days": 4000}`, 422, "invalid_request"},
		{`{"code_autodelete_days": 2.5}`, 422, "invalid_request"},
		{`{"code_autodelete_days": "7"}`, 400, "bad_json"}, // a wrong type, as everywhere in the API
		{`{"zero_price_default": "yes"}`, 400, "bad_json"},
		{`{"colour": "blue"}`, 400, "bad_json"},
		{`{"code_autodelete_days": 7`, 400, "bad_json"},
	} {
		var e apiErr
		wantError(t, "settings "+bad.body, w.apiA.call("PATCH", "/settings", bad.body, &e), bad.status, e, bad.code)
	}
	// Bad input changed nothing; null turns auto-delete off.
	if st := w.apiA.call("GET", "/settings", nil, &s); st != 200 || s.Days == nil || *s.Days != 30 || s.Zero {
		t.Errorf("settings after bad input: %+v", s)
	}
	if st := w.apiA.call("PATCH", "/settings", `{"code_autodelete_days": null}`, &s); st != 200 || s.Days != nil || s.Zero {
		t.Errorf("auto-delete off: %d %+v", st, s)
	}
	// B sees its own settings, untouched.
	if st := w.apiB.call("GET", "/settings", nil, &s); st != 200 || s.Days != nil || !s.Zero {
		t.Errorf("B's settings: %+v", s)
	}
}

type codeOut struct {
	ID             int64
	Code           string
	Formatted      string
	Link           string
	PlanID         int64 `json:"plan_id"`
	BatchID        int64 `json:"batch_id"`
	MaxActivations int   `json:"max_activations"`
	Activations    int
	Status         string
	ExpiresAt      *time.Time `json:"expires_at"`
	ZeroPriced     bool       `json:"zero_priced"`
}

type codePage struct {
	Data       []codeOut
	NextBefore *int64 `json:"next_before"`
}

// Codes made for a disconnected bot come with a warning, as in the
// console: nobody can activate them until it is reconnected.
func TestAPICodesForADisconnectedBotWarn(t *testing.T) {
	w := newAPIWorld(t)
	var created struct {
		Codes    []codeOut
		Warnings []string
	}
	if st := w.apiA.call("POST", "/codes", map[string]any{"plan_id": w.a.Plan.ID}, &created); st != 201 || created.Warnings == nil || len(created.Warnings) != 0 {
		t.Fatalf("connected: %d, warnings %#v; want an empty list", st, created.Warnings)
	}
	if _, err := w.Owner(t).Exec(context.Background(), "UPDATE bots SET status = 'disconnected' WHERE id = $1", w.a.Bot.ID); err != nil {
		t.Fatal(err)
	}
	created.Warnings = nil
	st := w.apiA.call("POST", "/codes", map[string]any{"plan_id": w.a.Plan.ID, "count": 2}, &created)
	want := "@gatekey_demo_bot is disconnected: nobody can activate them until you reconnect it"
	if st != 201 || len(created.Codes) != 2 || len(created.Warnings) != 1 || !strings.Contains(created.Warnings[0], want) {
		t.Errorf("disconnected: %d, %d codes, warnings %q; want the codes and %q", st, len(created.Codes), created.Warnings, want)
	}
}

// GET /fair-use tells a script what free codes it may still ask for, and
// agrees with the refusal it would otherwise meet.
func TestAPIFairUse(t *testing.T) {
	w := newAPIWorld(t)
	if _, err := w.Owner(t).Exec(context.Background(), "UPDATE tenants SET fairuse_floor = 5, fairuse_ratio_pct = 100"); err != nil {
		t.Fatal(err)
	}
	var created struct{ Codes []codeOut }
	if st := w.apiA.call("POST", "/codes", map[string]any{"plan_id": w.a.Plan.ID, "count": 2, "zero_priced": true}, &created); st != 201 {
		t.Fatalf("two free codes: %d", st)
	}
	var f map[string]any
	st := w.apiA.call("GET", "/fair-use", nil, &f)
	want := map[string]any{"limited": true, "window_days": 30.0, "used": 0.0, "open": 2.0, "allowance": 5.0, "remaining": 3.0,
		"floor": 5.0, "ratio_pct": 100.0, "paid_orders": 0.0}
	if st != 200 || !maps.Equal(f, want) {
		t.Errorf("fair use: %d %v, want %v", st, f, want)
	}
	var e apiErr
	wantError(t, "one more than remaining", w.apiA.call("POST", "/codes", map[string]any{"plan_id": w.a.Plan.ID, "count": 4, "zero_priced": true}, &e), 422, e, "fair_use_exceeded")
	// Another tenant's standing is its own.
	if st := w.apiB.call("GET", "/fair-use", nil, &f); st != 200 || f["open"] != 0.0 {
		t.Errorf("tenant B's fair use: %d %v", st, f)
	}
}

func TestAPICodes(t *testing.T) {
	w := newAPIWorld(t)
	plan := w.a.Plan.ID
	var created struct {
		BatchID int64  `json:"batch_id"`
		CSVURL  string `json:"csv_url"`
		Codes   []codeOut
	}
	st := w.apiA.call("POST", "/codes", map[string]any{"plan_id": plan, "count": 3, "max_activations": 2, "expires_in_days": 7, "zero_priced": false}, &created)
	if st != 201 || len(created.Codes) != 3 {
		t.Fatalf("create: %d %+v", st, created)
	}
	c0 := created.Codes[0]
	if c0.Link != "https://t.me/gatekey_demo_bot?start="+c0.Code || c0.MaxActivations != 2 || c0.ZeroPriced || c0.Status != "active" ||
		c0.ExpiresAt == nil || time.Until(*c0.ExpiresAt) < 6*24*time.Hour || c0.Formatted != membership.FormatCode(c0.Code) {
		t.Errorf("created code = %+v", c0)
	}

	// Bad input gets a clear error and creates nothing.
	before := w.Count(t, "SELECT count(*) FROM access_codes")
	past := time.Now().Add(-time.Hour).Format(time.RFC3339)
	for _, bad := range []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"no plan", map[string]any{"count": 1}, 422, "invalid_request"},
		{"zero codes", map[string]any{"plan_id": plan, "count": 0}, 422, "invalid_request"},
		{"501 codes", map[string]any{"plan_id": plan, "count": 501, "zero_priced": false}, 422, "invalid_request"},
		{"past the fair-use allowance", map[string]any{"plan_id": plan, "count": 100}, 422, "fair_use_exceeded"},
		{"zero activations", map[string]any{"plan_id": plan, "max_activations": 0}, 422, "invalid_request"},
		{"a negative plan", map[string]any{"plan_id": -1}, 422, "invalid_request"},
		{"expired", map[string]any{"plan_id": plan, "expires_at": past}, 422, "invalid_request"},
		{"both expiries", map[string]any{"plan_id": plan, "expires_at": past, "expires_in_days": 3}, 422, "invalid_request"},
		{"unknown plan", map[string]any{"plan_id": 99999}, 422, "invalid_request"},
		{"another tenant's plan", map[string]any{"plan_id": w.b.Plan.ID}, 422, "invalid_request"},
		{"unknown field", map[string]any{"plan_id": plan, "cout": 5}, 400, "bad_json"},
		{"not JSON", "plan_id=1", 400, "bad_json"},
		{"more after the object", fmt.Sprintf(`{"plan_id": %d} xyz`, plan), 400, "bad_json"},
		{"two objects", fmt.Sprintf(`{"plan_id": %d}{"count": 1}`, plan), 400, "bad_json"},
		{"a key twice", fmt.Sprintf(`{"plan_id": %d, "count": 1, "plan_id": %d}`, plan, w.b.Plan.ID), 400, "bad_json"},
		{"a key in capitals", fmt.Sprintf(`{"plan_id": %d, "count": 1, "PLAN_ID": %d}`, plan, w.b.Plan.ID), 400, "bad_json"},
	} {
		var e apiErr
		wantError(t, bad.name, w.apiA.call("POST", "/codes", bad.body, &e), bad.status, e, bad.code)
	}
	// A form (curl -d's default) is told to send JSON.
	req, _ := http.NewRequest("POST", w.apiA.url+"/codes", strings.NewReader("plan_id=1"))
	req.Header.Set("Authorization", "Bearer "+w.apiA.key)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		var e apiErr
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(e.Error.Message, "with Content-Type: application/json") {
			t.Errorf("a form body: %d %q", resp.StatusCode, e.Error.Message)
		}
	}
	// A wrongly typed field is named as the API names it, not as Go does.
	var typed apiErr
	w.apiA.call("POST", "/codes", `{"plan_id": "one"}`, &typed)
	if msg := typed.Error.Message; !strings.Contains(msg, "plan_id must be a whole number, not string") || strings.Contains(msg, "Go") {
		t.Errorf("wrongly typed plan_id: %q", msg)
	}
	if after := w.Count(t, "SELECT count(*) FROM access_codes"); after != before {
		t.Errorf("bad requests made %d codes", after-before)
	}

	// A batch of 20, listed in pages of 10 by key.
	var batch struct {
		BatchID int64 `json:"batch_id"`
		Codes   []codeOut
	}
	if st := w.apiA.call("POST", "/codes", map[string]any{"plan_id": plan, "count": 20}, &batch); st != 201 || len(batch.Codes) != 20 {
		t.Fatalf("batch: %d", st)
	}
	seen := map[int64]bool{}
	path := fmt.Sprintf("/codes?batch_id=%d&limit=10", batch.BatchID)
	for pages := 0; ; pages++ {
		var p codePage
		if st := w.apiA.call("GET", path, nil, &p); st != 200 {
			t.Fatalf("list: %d", st)
		}
		for _, c := range p.Data {
			if seen[c.ID] || c.BatchID != batch.BatchID {
				t.Errorf("page %d: code %d again or from batch %d", pages, c.ID, c.BatchID)
			}
			seen[c.ID] = true
		}
		if p.NextBefore == nil {
			break
		}
		path = fmt.Sprintf("/codes?batch_id=%d&limit=10&before=%d", batch.BatchID, *p.NextBefore)
	}
	if len(seen) != 20 {
		t.Errorf("paging saw %d codes, want 20", len(seen))
	}
	var p codePage
	want := batch.Codes[7]
	search := strings.ToLower(want.Formatted[5:14]) // part of the code, lower case, with a dash
	if st := w.apiA.call("GET", "/codes?search="+search, nil, &p); st != 200 || len(p.Data) != 1 || p.Data[0].ID != want.ID {
		t.Errorf("search %q: %d %+v", search, st, p.Data)
	}
	if st := w.apiA.call("GET", fmt.Sprintf("/codes?plan_id=%d&status=active&limit=500", plan), nil, &p); st != 200 || len(p.Data) != 23 {
		t.Errorf("active codes of the plan: %d, %d codes", st, len(p.Data))
	}
	for _, q := range []string{"status=lost", "limit=0", "limit=501", "plan_id=x", "before=-1"} {
		var e apiErr
		wantError(t, "list "+q, w.apiA.call("GET", "/codes?"+q, nil, &e), 422, e, "invalid_request")
	}
	var archivedErr apiErr
	wantError(t, "plans?archived=maybe", w.apiA.call("GET", "/plans?archived=maybe", nil, &archivedErr), 422, archivedErr, "invalid_request")

	// The batch's CSV.
	var body string
	if st := w.apiA.call("GET", fmt.Sprintf("/codes.csv?batch_id=%d", batch.BatchID), nil, &body); st != 200 {
		t.Fatalf("csv: %d %s", st, body)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 21 || rows[0][0] != "access code" {
		t.Fatalf("csv: %d rows, %v", len(rows), err)
	}
	if st := w.apiA.call("GET", "/codes.csv?status=used+up", nil, &body); st != 200 || strings.Count(body, "\n") != 1 {
		t.Errorf("csv of used-up codes: %d %q", st, body)
	}

	// One code activated shows its activation; then delete and roll back.
	code := batch.Codes[0]
	alice := w.activate(t, "Alice", code.Code)
	var detail struct {
		codeOut
		List []struct {
			Member struct {
				Name           string
				TelegramUserID int64 `json:"telegram_user_id"`
			}
			ActivatedAt time.Time `json:"activated_at"`
		} `json:"activation_list"`
		Rollback *struct{ Status string }
	}
	if st := w.apiA.call("GET", fmt.Sprintf("/codes/%d", code.ID), nil, &detail); st != 200 || detail.Activations != 1 ||
		len(detail.List) != 1 || detail.List[0].Member.Name != "@alice" || detail.Status != "used up" || detail.Rollback != nil {
		t.Errorf("code detail: %d %+v", st, detail)
	}
	var del codeOut
	if st := w.apiA.call("DELETE", fmt.Sprintf("/codes/%d", batch.Codes[1].ID), nil, &del); st != 200 || del.Status != "deleted" {
		t.Errorf("delete: %d %+v", st, del)
	}
	var e apiErr
	wantError(t, "progress of no rollback", w.apiA.call("GET", fmt.Sprintf("/codes/%d/rollback", code.ID), nil, &e), 404, e, "not_found")
	var r struct {
		ID     int64
		Status string
		Total  int
		Undone int
	}
	if st := w.apiA.call("POST", fmt.Sprintf("/codes/%d/rollback", code.ID), nil, &r); st != 202 || r.Total != 1 {
		t.Fatalf("rollback: %d %+v", st, r)
	}
	e = apiErr{}
	wantError(t, "second rollback", w.apiA.call("POST", fmt.Sprintf("/codes/%d/rollback", code.ID), nil, &e), 409, e, "rollback_started")
	w.Wait(t, "the rollback", func() bool {
		w.apiA.call("GET", fmt.Sprintf("/codes/%d/rollback", code.ID), nil, &r)
		return r.Status == "done"
	})
	if r.Undone != 1 {
		t.Errorf("rollback undid %d", r.Undone)
	}
	w.Wait(t, "Alice to be removed", func() bool {
		return !w.Fake.IsMember(w.a.Chats[0].TelegramChatID, alice.ID) && !w.Fake.IsMember(w.a.Chats[1].TelegramChatID, alice.ID)
	})
	for _, path := range []string{"/codes/abc", "/codes/0", "/codes/999999", "/codes/999999/rollback"} {
		e = apiErr{}
		wantError(t, path, w.apiA.call("GET", path, nil, &e), 404, e, "not_found")
	}

	// The rest of the batch, at once: every code but the one rolled back
	// above, none of them activated.
	var br struct {
		BatchID     int64 `json:"batch_id"`
		Codes       int
		RollingBack int `json:"rolling_back"`
	}
	path = fmt.Sprintf("/batches/%d/rollback", batch.BatchID)
	if st := w.apiA.call("POST", path, nil, &br); st != 202 || br.BatchID != batch.BatchID || br.Codes != len(batch.Codes)-1 || br.RollingBack != 0 {
		t.Errorf("batch rollback: %d %+v, want %d codes, none rolling back", st, br, len(batch.Codes)-1)
	}
	if n := w.Count(t, "SELECT count(*) FROM access_codes WHERE batch_id = $1 AND deleted_at IS NULL", batch.BatchID); n != 0 {
		t.Errorf("%d codes of the batch left active", n)
	}
	e = apiErr{}
	wantError(t, "second batch rollback", w.apiA.call("POST", path, nil, &e), 409, e, "rollback_started")
	e = apiErr{}
	wantError(t, "another account's batch", w.apiB.call("POST", path, nil, &e), 404, e, "not_found")
}

func TestAPIMembers(t *testing.T) {
	w := newAPIWorld(t)
	code := w.Codes(t, w.a.TenantID, membership.CodeRequest{PlanID: w.a.Plan.ID, Count: 1}).Codes[0]
	bob := w.activate(t, "Bob", code.Code)

	type row struct {
		ID     int64
		Member struct {
			ID   int64
			Name string
		}
		PlanName string `json:"plan_name"`
		Status   string
		Source   string
		Code     string
		EndsAt   *time.Time `json:"ends_at"`
	}
	var page struct {
		Data       []row
		NextBefore *int64 `json:"next_before"`
	}
	if st := w.apiA.call("GET", "/members", nil, &page); st != 200 || len(page.Data) != 1 {
		t.Fatalf("members: %d %+v", st, page)
	}
	m := page.Data[0]
	if m.Member.Name != "@bob" || m.PlanName != "Demo membership" || m.Status != "active" || m.Source != "code" || m.Code != code.Code || m.EndsAt == nil {
		t.Errorf("member row = %+v", m)
	}
	for q, n := range map[string]int{"search=BO": 1, "search=%40bob": 1, "search=zed": 0, fmt.Sprintf("search=%d", bob.ID): 1,
		"status=active": 1, "status=revoked": 0, fmt.Sprintf("plan_id=%d", w.a.Plan.ID): 1} {
		if st := w.apiA.call("GET", "/members?"+q, nil, &page); st != 200 || len(page.Data) != n {
			t.Errorf("members?%s: %d, %d rows, want %d", q, st, len(page.Data), n)
		}
	}
	var e apiErr
	wantError(t, "bad status", w.apiA.call("GET", "/members?status=gone", nil, &e), 422, e, "invalid_request")

	var member struct {
		Name        string
		Memberships []row
		Chats       []struct{ Status string }
		Activations []struct{ Code string }
	}
	if st := w.apiA.call("GET", fmt.Sprintf("/members/%d", m.Member.ID), nil, &member); st != 200 || member.Name != "@bob" ||
		len(member.Memberships) != 1 || len(member.Chats) != 2 || len(member.Activations) != 1 || member.Activations[0].Code != code.Code {
		t.Errorf("member: %d %+v", st, member)
	}

	// Revoke: the member leaves the chats and is told.
	var rev struct{ Revoked int }
	if st := w.apiA.call("POST", fmt.Sprintf("/members/%d/revoke", m.Member.ID), nil, &rev); st != 200 || rev.Revoked != 1 {
		t.Fatalf("revoke: %d %+v", st, rev)
	}
	w.Wait(t, "Bob to be removed", func() bool {
		return !w.Fake.IsMember(w.a.Chats[0].TelegramChatID, bob.ID) && !w.Fake.IsMember(w.a.Chats[1].TelegramChatID, bob.ID)
	})
	msgs := w.Messages(t, w.a.Bot.TelegramID, bob.ID, 2)
	if !strings.Contains(msgs[len(msgs)-1].Text, "ended by its owner") {
		t.Errorf("Bob was told %q", msgs[len(msgs)-1].Text)
	}
	if st := w.apiA.call("GET", "/members?status=revoked", nil, &page); st != 200 || len(page.Data) != 1 {
		t.Errorf("revoked members: %d", len(page.Data))
	}
	if st := w.apiA.call("POST", fmt.Sprintf("/members/%d/revoke", m.Member.ID), map[string]any{"membership_id": m.ID}, &rev); st != 200 || rev.Revoked != 0 {
		t.Errorf("second revoke: %d %+v", st, rev)
	}
	e = apiErr{}
	wantError(t, "revoke with a bad body", w.apiA.call("POST", fmt.Sprintf("/members/%d/revoke", m.Member.ID), `{"membership": 1}`, &e), 400, e, "bad_json")
}

// TestAPIForeignTenant: another tenant's ids are not found, never shown
// or changed.
func TestAPIForeignTenant(t *testing.T) {
	w := newAPIWorld(t)
	batch := w.Codes(t, w.a.TenantID, membership.CodeRequest{PlanID: w.a.Plan.ID, Count: 2})
	code := batch.Codes[0]
	w.activate(t, "Carol", code.Code)
	var memberID int64
	w.Tx(t, w.a.TenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT id FROM members WHERE username = 'carol'").Scan(&memberID)
	})
	for _, c := range []struct{ method, path string }{
		{"GET", fmt.Sprintf("/codes/%d", code.ID)},
		{"DELETE", fmt.Sprintf("/codes/%d", code.ID)},
		{"POST", fmt.Sprintf("/codes/%d/rollback", code.ID)},
		{"GET", fmt.Sprintf("/codes/%d/rollback", code.ID)},
		{"GET", fmt.Sprintf("/codes.csv?batch_id=%d", batch.ID)},
		{"GET", fmt.Sprintf("/codes.csv?plan_id=%d", w.a.Plan.ID)},
		{"GET", fmt.Sprintf("/members/%d", memberID)},
		{"POST", fmt.Sprintf("/members/%d/revoke", memberID)},
	} {
		var e apiErr
		wantError(t, "B: "+c.method+" "+c.path, w.apiB.call(c.method, c.path, nil, &e), 404, e, "not_found")
	}
	var p codePage
	if st := w.apiB.call("GET", fmt.Sprintf("/codes?batch_id=%d", batch.ID), nil, &p); st != 200 || len(p.Data) != 0 {
		t.Errorf("B listing A's batch: %d, %d codes", st, len(p.Data))
	}
	var members struct{ Data []any }
	if st := w.apiB.call("GET", "/members", nil, &members); st != 200 || len(members.Data) != 0 {
		t.Errorf("B sees %d members", len(members.Data))
	}
	var plans struct{ Data []struct{ ID int64 } }
	if st := w.apiB.call("GET", "/plans", nil, &plans); st != 200 || len(plans.Data) != 1 || plans.Data[0].ID != w.b.Plan.ID {
		t.Errorf("B's plans: %+v", plans)
	}
	// Nothing of A's changed.
	if n := w.Count(t, "SELECT count(*) FROM access_codes WHERE deleted_at IS NOT NULL"); n != 0 {
		t.Errorf("%d codes deleted", n)
	}
	if n := w.Count(t, "SELECT count(*) FROM memberships WHERE status = 'active'"); n != 1 {
		t.Errorf("%d active memberships, want Carol's 1", n)
	}
	if n := w.Count(t, "SELECT count(*) FROM code_rollbacks"); n != 0 {
		t.Errorf("%d rollbacks started", n)
	}
}

// TestOpenAPIDocumentMatchesRoutes holds openapi.json to the routes Fiber
// serves under /api/v1: each route is documented and each documented
// operation is served.
func TestOpenAPIDocumentMatchesRoutes(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	if ops := openapitest.Check(t, env.App.HTTP, "/api/v1", "openapi.json"); len(ops) < 14 {
		t.Errorf("only %d operations documented", len(ops))
	}
}

// TestAPIRevokeOneMembership: membership_id picks one of the member's
// memberships, and all of them when left out or null; anything else is
// refused and changes nothing.
func TestAPIRevokeOneMembership(t *testing.T) {
	w := newAPIWorld(t)
	r := grantTwoPlans(t, w.Env, w.a)
	rita, sam := fmt.Sprintf("/members/%d/revoke", r.members[0]), fmt.Sprintf("/members/%d/revoke", r.members[1])
	const all = "active active active active"

	for _, c := range []struct {
		what, body   string
		status       int
		code, reason string
	}{
		{"zero", `{"membership_id": 0}`, 422, "invalid_request", "membership_id"},
		{"negative", `{"membership_id": -1}`, 422, "invalid_request", "membership_id"},
		{"a string", `{"membership_id": "abc"}`, 422, "invalid_request", "membership_id"},
		{"a number in a string", fmt.Sprintf(`{"membership_id": "%d"}`, r.ms[0][0]), 422, "invalid_request", "membership_id"},
		{"a fraction", `{"membership_id": 1.5}`, 422, "invalid_request", "membership_id"},
		{"true", `{"membership_id": true}`, 422, "invalid_request", "membership_id"},
		{"another member's", fmt.Sprintf(`{"membership_id": %d}`, r.ms[1][0]), 404, "not_found", ""},
		{"no such membership", `{"membership_id": 999999999}`, 404, "not_found", ""},
	} {
		var e apiErr
		wantError(t, "revoke with "+c.what, w.apiA.call("POST", rita, c.body, &e), c.status, e, c.code)
		if !strings.Contains(e.Error.Message, c.reason) {
			t.Errorf("revoke with %s: message %q does not name %q", c.what, e.Error.Message, c.reason)
		}
		if got := r.statuses(t, w.Env); got != all {
			t.Fatalf("revoke with %s changed the memberships: %s", c.what, got)
		}
	}

	var rev struct{ Revoked int }
	if st := w.apiA.call("POST", rita, map[string]any{"membership_id": r.ms[0][1]}, &rev); st != 200 || rev.Revoked != 1 {
		t.Fatalf("revoke one: %d %+v", st, rev)
	}
	if got := r.statuses(t, w.Env); got != "active revoked active active" {
		t.Errorf("revoking one of Rita's: %s", got)
	}
	if st := w.apiA.call("POST", sam, `{}`, &rev); st != 200 || rev.Revoked != 2 {
		t.Fatalf("revoke all: %d %+v", st, rev)
	}
	if st := w.apiA.call("POST", rita, `{"membership_id": null}`, &rev); st != 200 || rev.Revoked != 1 {
		t.Fatalf("revoke with null: %d %+v", st, rev)
	}
	if got := r.statuses(t, w.Env); got != "revoked revoked revoked revoked" {
		t.Errorf("after revoking all: %s", got)
	}
	// Neither ever joined a chat: none may show them as removed from one.
	w.Idle(t)
	if n := w.Count(t, "SELECT count(*) FROM member_chats"); n != 0 {
		t.Errorf("%d chats recorded for members who never joined one", n)
	}
}

// The times POST /codes answers are the times GET reads back, to the
// character: UTC, in the database's microseconds, whatever offset and
// precision the request had (a client may compare them as strings).
func TestAPICodeTimesReadBackAsCreated(t *testing.T) {
	w := newAPIWorld(t)
	for _, body := range []map[string]any{
		{"plan_id": w.a.Plan.ID, "zero_priced": false, "expires_at": "2027-01-01T00:00:00.1234567+14:00"},
		{"plan_id": w.a.Plan.ID, "zero_priced": false, "expires_in_days": 5},
	} {
		var created struct{ Codes []map[string]any }
		if st := w.apiA.call("POST", "/codes", body, &created); st != 201 || len(created.Codes) != 1 {
			t.Fatalf("create %v: %d", body, st)
		}
		var read map[string]any
		if st := w.apiA.call("GET", fmt.Sprintf("/codes/%v", created.Codes[0]["id"]), nil, &read); st != 200 {
			t.Fatalf("read: %d", st)
		}
		for _, field := range []string{"expires_at", "created_at"} {
			if got, want := created.Codes[0][field], read[field]; got != want {
				t.Errorf("%v: %s answered %v, read back %v", body, field, got, want)
			}
		}
	}
}

// TestAPIAndMemberPageSayWhenAccessEnded: ended_at is when access ended,
// for a membership revoked, rolled back or expired, and null while it is
// active; ends_at keeps its meaning. The member page does not give a
// rolled-back membership's moved end as the end it "was to" have.
func TestAPIAndMemberPageSayWhenAccessEnded(t *testing.T) {
	w := newAPIWorld(t)
	codes := w.Codes(t, w.a.TenantID, membership.CodeRequest{PlanID: w.a.Plan.ID, Count: 3}).Codes
	start := time.Now().Add(-time.Second)
	for i, name := range []string{"Bob", "Carol", "Dan"} {
		w.activate(t, name, codes[i].Code)
	}
	type row struct {
		ID       int64
		Member   struct{ ID int64 }
		Status   string
		StartsAt time.Time  `json:"starts_at"`
		EndsAt   *time.Time `json:"ends_at"`
		EndedAt  *time.Time `json:"ended_at"`
	}
	rows := func() map[string]row { // by code
		var page struct{ Data []row }
		if st := w.apiA.call("GET", "/members", nil, &page); st != 200 || len(page.Data) != 3 {
			t.Fatalf("members: %d %+v", st, page)
		}
		out := map[string]row{}
		for i, r := range page.Data {
			out[codes[len(page.Data)-1-i].Code] = r // newest first
		}
		return out
	}
	bob, carol, dan := rows()[codes[0].Code], rows()[codes[1].Code], rows()[codes[2].Code]
	if bob.Status != "active" || bob.EndedAt != nil || bob.EndsAt == nil {
		t.Fatalf("an active membership: %+v, want no ended_at", bob)
	}
	end := *bob.EndsAt

	if st := w.apiA.call("POST", fmt.Sprintf("/members/%d/revoke", bob.Member.ID), nil, nil); st != 200 {
		t.Fatalf("revoke: %d", st)
	}
	var r struct{ Status string }
	if st := w.apiA.call("POST", fmt.Sprintf("/codes/%d/rollback", codes[1].ID), nil, &r); st != 202 {
		t.Fatalf("rollback: %d", st)
	}
	w.Wait(t, "the rollback", func() bool {
		w.apiA.call("GET", fmt.Sprintf("/codes/%d/rollback", codes[1].ID), nil, &r)
		return r.Status == "done"
	})
	w.Idle(t)
	if _, err := w.Owner(t).Exec(context.Background(), `UPDATE memberships SET status = 'expired', ended_at = now(),
		ends_at = now() - interval '1 minute' WHERE id = $1`, dan.ID); err != nil {
		t.Fatal(err)
	}

	got := rows()
	bob, carol, dan = got[codes[0].Code], got[codes[1].Code], got[codes[2].Code]
	now := time.Now()
	if bob.Status != "revoked" || bob.EndsAt == nil || !bob.EndsAt.Equal(end) || bob.EndedAt == nil || bob.EndedAt.Before(start) || bob.EndedAt.After(now) {
		t.Errorf("revoked: %+v; want ends_at %s kept and ended_at the revocation", bob, end)
	}
	if carol.Status != "revoked" || carol.EndsAt == nil || carol.EndsAt.After(carol.StartsAt) || carol.EndedAt == nil ||
		carol.EndedAt.Before(start) || carol.EndedAt.After(now) {
		t.Errorf("rolled back: %+v; want ends_at moved back to starts_at and ended_at the rollback", carol)
	}
	if dan.Status != "expired" || dan.EndsAt == nil || dan.EndedAt == nil || !dan.EndedAt.Equal(*dan.EndsAt) {
		t.Errorf("expired: %+v; want ended_at = ends_at", dan)
	}

	o := signIn(t, w.Env, "owner@example.com", "correct horse battery")
	if _, body := o.get(fmt.Sprintf("/members/%d", carol.Member.ID)); strings.Contains(body, "it was to end") || !strings.Contains(body, ", rolled back") {
		t.Errorf("a rolled-back membership on the member page: %q", memberLine(body))
	}
	if _, body := o.get(fmt.Sprintf("/members/%d", bob.Member.ID)); !strings.Contains(body, "revoked (it was to end") {
		t.Errorf("a revoked membership on the member page: %q", memberLine(body))
	}
}

// memberLine is the member page's first membership line, for messages.
func memberLine(body string) string {
	_, after, _ := strings.Cut(body, `class="membership"`)
	line, _, _ := strings.Cut(after, "</p>")
	return line
}
