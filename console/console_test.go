package console_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/console"
	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/telegram/telegramtest"
	"github.com/gatekey/gatekey/tenant"
)

// signIn signs in an existing account through the form.
func signIn(t testing.TB, env *apptest.Env, email, password string) *owner {
	t.Helper()
	o := signUpless(t, env, email)
	if status, body := o.postForm("/login", url.Values{"email": {email}, "password": {password}}); status != http.StatusSeeOther {
		t.Fatalf("sign in %s: %d %s", email, status, body)
	}
	return o
}

// signUpless is an owner with an empty cookie jar.
func signUpless(t testing.TB, env *apptest.Env, email string) *owner {
	o := signUp(t, env, "tmp-"+email)
	o.client.Jar, _ = newJar()
	o.Email = email
	return o
}

func TestFormsNeedCSRFToken(t *testing.T) {
	env := apptest.New(t)
	o := signUp(t, env, "owner@example.com")

	// Signed in: a form posted without the token, or with another, is 403 and changes nothing.
	for _, token := range []string{"", "forged-token-forged-token-forged"} {
		v := url.Values{"token": {"1:x"}, "name": {"Stolen"}, "autodelete_days": {"1"}}
		if token != "" {
			v.Set("_csrf", token)
		}
		for _, path := range []string{"/bots", "/plans", "/codes", "/settings", "/settings/keys", "/logout"} {
			if status, body := o.postRaw(path, v); status != 403 || !strings.Contains(body, "This form has expired") {
				t.Errorf("POST %s with token %q: %d", path, token, status)
			}
		}
	}
	// The right token counts only in the posted form: in the query string
	// it would leak into logs and Referer headers, and a link could carry it.
	_, page := o.get("/settings")
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF token on /settings")
	}
	if status, _ := o.postRaw("/settings?_csrf="+url.QueryEscape(m[1]), url.Values{"autodelete_days": {"1"}}); status != 403 {
		t.Errorf("POST /settings with the token in the query string: %d, want 403", status)
	}
	if n := env.Count(t, "SELECT count(*) FROM api_keys") + env.Count(t, "SELECT count(*) FROM tenants WHERE code_autodelete_days IS NOT NULL"); n != 0 {
		t.Errorf("forged posts changed %d things", n)
	}
	if status, _ := o.get("/dashboard"); status != 200 {
		t.Errorf("the forged logout signed the owner out: %d", status)
	}

	// Signed out: sign-in and sign-up forms need their token too.
	jar, _ := newJar()
	anon := &owner{t: t, env: env, client: &http.Client{Jar: jar}}
	if status, _ := anon.postRaw("/signup", url.Values{"email": {"x@example.com"}, "password": {"correct horse battery"}, "password2": {"correct horse battery"}}); status != 403 {
		t.Errorf("sign-up without token: %d", status)
	}
	if status, _ := anon.postRaw("/login", url.Values{"email": {"owner@example.com"}, "password": {"correct horse battery"}}); status != 403 {
		t.Errorf("sign-in without token: %d", status)
	}
	if n := env.Count(t, "SELECT count(*) FROM tenants"); n != 1 {
		t.Errorf("%d tenants, want 1", n)
	}
}

// After signing in, the owner goes where next says only if it is a path
// of this site: never to another host, however the address is dressed.
func TestSignInStaysOnSite(t *testing.T) {
	env := apptest.New(t)
	signUp(t, env, "a@example.com")
	o := signUpless(t, env, "a@example.com")
	for next, want := range map[string]string{
		"/members":             "/members",
		"//evil.example":       "/dashboard",
		"/\\evil.example":      "/dashboard",
		"/\t/evil.example/x":   "/dashboard", // browsers drop the tab: "//evil.example/x"
		"/\n/evil.example":     "/dashboard",
		"https://evil.example": "/dashboard",
		"":                     "/dashboard",
	} {
		o.client.Jar, _ = newJar() // signed out again
		status, _ := o.postForm("/login", url.Values{"email": {"a@example.com"}, "password": {"correct horse battery"}, "next": {next}})
		if got := o.header.Get("Location"); status != http.StatusSeeOther || got != want {
			t.Errorf("sign in with next %q: %d to %q, want 303 to %q", next, status, got, want)
		}
	}
}

func TestSignUpSignInAndOut(t *testing.T) {
	env := apptest.New(t)
	jar, _ := newJar()
	o := &owner{t: t, env: env, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	for _, bad := range []struct {
		v    url.Values
		want string
	}{
		{url.Values{"email": {"not-an-email"}, "password": {"correct horse battery"}, "password2": {"correct horse battery"}}, "does not look like an email"},
		{url.Values{"email": {"a@example.com"}, "password": {"short"}, "password2": {"short"}}, "at least 10 characters"},
		{url.Values{"email": {"a@example.com"}, "password": {"ééééé"}, "password2": {"ééééé"}}, "at least 10 characters"}, // 10 bytes, 5 characters
		{url.Values{"email": {"a@example.com"}, "password": {"            "}, "password2": {"            "}}, "cannot be spaces alone"},
		{url.Values{"email": {"a@example.com"}, "password": {"correct horse battery"}, "password2": {"correct horse batter"}}, "not the same"},
	} {
		if status, body := o.postForm("/signup", bad.v); status != 422 || !strings.Contains(body, bad.want) {
			t.Errorf("sign up %v: %d, want 422 saying %q", bad.v, status, bad.want)
		}
	}
	signUp(t, env, "a@example.com")
	if status, body := o.postForm("/signup", url.Values{"email": {"A@example.com"}, "password": {"correct horse battery"}, "password2": {"correct horse battery"}}); status != 409 || !strings.Contains(body, "already an account") {
		t.Errorf("sign up twice: %d", status)
	}
	if status, body := o.postForm("/login", url.Values{"email": {"a@example.com"}, "password": {"wrong horse battery"}}); status != 401 || !strings.Contains(body, "do not match") {
		t.Errorf("wrong password: %d", status)
	}
	if status, _ := o.get("/codes"); status != http.StatusSeeOther {
		t.Errorf("signed out, /codes answers %d, want a redirect to sign in", status)
	}

	// Sign in: the cookie is HttpOnly and SameSite; not Secure on http.
	if status, _ := o.postForm("/login", url.Values{"email": {"a@example.com"}, "password": {"correct horse battery"}, "next": {"/members"}}); status != http.StatusSeeOther {
		t.Fatalf("sign in: %d", status)
	}
	res, err := o.client.Get(env.URL + "/members")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("/members after sign-in: %d", res.StatusCode)
	}
	u, _ := url.Parse(env.URL)
	var cookie *http.Cookie
	for _, c := range jar.Cookies(u) {
		if c.Name == "gatekey_session" {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("no session cookie")
	}
	if n := env.Count(t, "SELECT count(*) FROM owner_sessions"); n != 2 {
		t.Errorf("%d sessions, want 2 (sign-up and sign-in)", n)
	}

	// Sign out ends the session in the database, not just the cookie.
	stolen := cookie.Value
	if status, _ := o.postForm("/logout", url.Values{}, "/dashboard"); status != http.StatusSeeOther {
		t.Errorf("sign out: %d", status)
	}
	req, _ := http.NewRequest("GET", env.URL+"/dashboard", nil)
	req.AddCookie(&http.Cookie{Name: "gatekey_session", Value: stolen})
	res, err = (&http.Client{CheckRedirect: o.client.CheckRedirect}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("a signed-out session still opens the dashboard: %d", res.StatusCode)
	}
}

func TestSessionCookieFlags(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	for _, c := range []struct {
		publicURL string
		secure    bool
	}{{"http://127.0.0.1:8080", false}, {"https://gatekey.example.com", true}} {
		con, err := console.New(console.Config{DB: env.App.DB, River: env.App.River, Bots: env.App, PublicURL: c.publicURL})
		if err != nil {
			t.Fatal(err)
		}
		app := newFiber()
		con.Register(app)
		res, err := app.Test(httptest.NewRequest("GET", "/signup", nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		var csrf *http.Cookie
		for _, ck := range res.Cookies() {
			if ck.Name == "gatekey_csrf" {
				csrf = ck
			}
		}
		body := readAll(res)
		token := csrfField.FindStringSubmatch(body)
		if csrf == nil || token == nil {
			t.Fatalf("no CSRF cookie or field on the sign-up page")
		}
		form := url.Values{"_csrf": {token[1]}, "email": {fmt.Sprintf("c%v@example.com", c.secure)},
			"password": {"correct horse battery"}, "password2": {"correct horse battery"}}
		req := httptest.NewRequest("POST", "/signup", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(csrf)
		res, err = app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		var session *http.Cookie
		for _, ck := range res.Cookies() {
			if ck.Name == "gatekey_session" {
				session = ck
			}
		}
		if session == nil {
			t.Fatalf("%s: sign-up set no session cookie (status %d)", c.publicURL, res.StatusCode)
		}
		if !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure != c.secure || csrf.Secure != c.secure {
			t.Errorf("%s: session cookie HttpOnly %v SameSite %v Secure %v (CSRF cookie Secure %v); want HttpOnly, Lax, Secure %v",
				c.publicURL, session.HttpOnly, session.SameSite, session.Secure, csrf.Secure, c.secure)
		}
	}
}

func TestLoginRateLimit(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	signUp(t, env, "a@example.com")
	o := signUpless(t, env, "a@example.com")
	for i := 0; i < tenant.MaxLoginFailures; i++ {
		if status, _ := o.postForm("/login", url.Values{"email": {"a@example.com"}, "password": {"guess number " + fmt.Sprint(i)}}); status != 401 {
			t.Fatalf("guess %d: %d", i, status)
		}
	}
	// Now even the right password waits, with a clear message.
	status, body := o.postForm("/login", url.Values{"email": {"a@example.com"}, "password": {"correct horse battery"}})
	if status != 429 || !strings.Contains(body, "Too many attempts. Please wait 15 minutes") {
		t.Errorf("after %d failures: %d", tenant.MaxLoginFailures, status)
	}
	// A script learns the wait as the API's 429s tell it: in seconds.
	if secs, err := strconv.Atoi(o.header.Get("Retry-After")); err != nil || secs < 14*60 || secs > 15*60 {
		t.Errorf("after %d failures: Retry-After %q, want the 15 minutes' wait in seconds", tenant.MaxLoginFailures, o.header.Get("Retry-After"))
	}
	// The brake is the guessing address's: the owner, elsewhere, still
	// gets in, so knowing an owner's email is not enough to lock them out.
	ctx := context.Background()
	if _, _, err := env.App.DB.LogIn(ctx, "a@example.com", "correct horse battery", "10.9.9.9"); err != nil {
		t.Errorf("LogIn from another address: %v", err)
	}
	// The brake is in PostgreSQL, so every process sees it, and the
	// owner's sign-in elsewhere did not lift it.
	if _, _, err := env.App.DB.LogIn(ctx, "a@example.com", "correct horse battery", "127.0.0.1"); !isTooMany(err) {
		t.Errorf("LogIn from the guessing address after the owner's: %v, want the brake", err)
	}
	// Guesses spread over many addresses meet the email's own brake (the
	// first address's count too).
	for i := tenant.MaxLoginFailures; i < tenant.MaxLoginFailuresPerEmail; i++ {
		addr := fmt.Sprintf("10.1.%d.%d", i/tenant.MaxLoginFailures, i%tenant.MaxLoginFailures)
		if _, _, err := env.App.DB.LogIn(ctx, "a@example.com", "wrong", addr); !errors.Is(err, tenant.ErrBadLogin) {
			t.Fatalf("spread guess %d: %v", i, err)
		}
	}
	if _, _, err := env.App.DB.LogIn(ctx, "a@example.com", "correct horse battery", "10.9.9.10"); !isTooMany(err) {
		t.Errorf("after %d guesses from many addresses: %v, want the email's brake", tenant.MaxLoginFailuresPerEmail, err)
	}
}

func isTooMany(err error) bool {
	var tooMany *tenant.TooManyAttemptsError
	return errors.As(err, &tooMany)
}

// TestPagesScopedToTenant: a signed-in owner cannot see or change another
// tenant's rows by putting their ids in a URL.
func TestPagesScopedToTenant(t *testing.T) {
	env := apptest.New(t)
	d := env.Demo(t)
	batch := env.Codes(t, d.TenantID, membership.CodeRequest{PlanID: d.Plan.ID, Count: 2})
	code := batch.Codes[0]
	var memberID int64
	env.Tx(t, d.TenantID, func(tx pgx.Tx) error {
		m, err := membership.UpsertMember(context.Background(), tx, d.Bot.ID, membership.Person{TelegramUserID: 77, Username: "dora"})
		memberID = m.ID
		return err
	})
	// The bot's Telegram client is made, as the first message sent makes
	// it: the intruder's disconnect must not find it in the cache.
	if _, err := env.App.Telegram.Bot(context.Background(), d.TenantID, d.Bot.ID); err != nil {
		t.Fatal(err)
	}
	intruder := signUp(t, env, "intruder@example.com")
	for _, path := range []string{
		fmt.Sprintf("/codes/%d", code.ID), fmt.Sprintf("/codes/%d/rollback", code.ID), fmt.Sprintf("/codes/batches/%d", batch.ID),
		fmt.Sprintf("/codes/batches/%d/csv", batch.ID), fmt.Sprintf("/codes/export.csv?batch=%d", batch.ID), fmt.Sprintf("/codes/batches/%d/rollback", batch.ID),
		fmt.Sprintf("/plans/%d/edit", d.Plan.ID), fmt.Sprintf("/members/%d", memberID), "/codes/abc",
	} {
		if status, body := intruder.get(path); status != 404 || strings.Contains(body, membership.FormatCode(code.Code)) {
			t.Errorf("GET %s: %d, want 404", path, status)
		}
	}
	for _, path := range []string{
		fmt.Sprintf("/codes/%d/delete", code.ID), fmt.Sprintf("/codes/%d/rollback", code.ID), fmt.Sprintf("/codes/batches/%d/rollback", batch.ID),
		fmt.Sprintf("/plans/%d/archive", d.Plan.ID), fmt.Sprintf("/members/%d/revoke", memberID), fmt.Sprintf("/bots/%d/disconnect", d.Bot.ID),
	} {
		if status, _ := intruder.postForm(path, url.Values{}, "/dashboard"); status != 404 {
			t.Errorf("POST %s: %d, want 404", path, status)
		}
	}
	status, _ := intruder.postForm(fmt.Sprintf("/plans/%d", d.Plan.ID), url.Values{"name": {"Mine"}, "period_kind": {"lifetime"},
		"currency": {"USD"}, "chat": {fmt.Sprint(d.Chats[0].ID)}}, "/dashboard")
	if status != 404 {
		t.Errorf("editing another tenant's plan: %d", status)
	}
	if n := env.Count(t, "SELECT count(*) FROM access_codes WHERE deleted_at IS NOT NULL") +
		env.Count(t, "SELECT count(*) FROM plans WHERE archived_at IS NOT NULL OR name <> 'Demo membership'") +
		env.Count(t, "SELECT count(*) FROM bots WHERE status <> 'connected'"); n != 0 {
		t.Errorf("the intruder changed %d rows", n)
	}
	if hook, _, _, _ := env.Fake.Webhook(d.Bot.TelegramID); hook == "" {
		t.Error("the intruder's disconnect deleted the bot's webhook at Telegram")
	}
}

func TestPlanEditArchiveAndSettings(t *testing.T) {
	env := apptest.New(t)
	d := env.Demo(t)
	o := signIn(t, env, "owner@example.com", "correct horse battery")

	// A bad plan form says what is wrong and keeps what was typed.
	status, body := o.postForm("/plans", url.Values{"bot_id": {fmt.Sprint(d.Bot.ID)}, "name": {"Gold"}, "period_kind": {"days"},
		"period_value": {"0"}, "price": {"5"}, "currency": {"EUR"}, "chat": {fmt.Sprint(d.Chats[0].ID)}}, "/plans/new")
	if status != 422 || !strings.Contains(body, "at least 1") || !strings.Contains(body, `value="Gold"`) {
		t.Errorf("bad period: %d", status)
	}
	status, body = o.postForm("/plans", url.Values{"bot_id": {fmt.Sprint(d.Bot.ID)}, "name": {"Gold"}, "period_kind": {"days"},
		"period_value": {"7"}, "price": {"5,5"}, "currency": {"eur"}}, "/plans/new")
	if status != 422 || !strings.Contains(body, "at least one chat") {
		t.Errorf("no chats: %d", status)
	}
	status, _ = o.postForm("/plans", url.Values{"bot_id": {fmt.Sprint(d.Bot.ID)}, "name": {"Gold"}, "period_kind": {"months"},
		"period_value": {"3"}, "price": {"5,5"}, "currency": {"eur"}, "chat": {fmt.Sprint(d.Chats[0].ID), fmt.Sprint(d.Chats[1].ID)}}, "/plans/new")
	if status != http.StatusSeeOther {
		t.Fatalf("create plan: %d", status)
	}
	var gold membership.Plan
	env.Tx(t, d.TenantID, func(tx pgx.Tx) error {
		plans, err := membership.AllPlans(context.Background(), tx, true)
		gold = plans[len(plans)-1]
		return err
	})
	if gold.Name != "Gold" || gold.PeriodDays != 90 || gold.Price != (membership.Money{Minor: 550, Currency: "EUR"}) || len(gold.ChatIDs) != 2 {
		t.Errorf("created plan = %+v", gold)
	}
	if _, body := o.get("/plans"); !strings.Contains(body, "The plan Gold is ready") {
		t.Errorf("a plan with ready chats: %q", flashText(body))
	}
	// A chat where the bot may not ban: the plan is made, with a warning.
	weak, err := env.App.AddFakeChatWithRights(context.Background(), env.Fake, d.Bot, "supergroup", "Half-set Group",
		telegramtest.AdminRights{CanInviteUsers: true})
	if err != nil {
		t.Fatal(err)
	}
	status, _ = o.postForm("/plans", url.Values{"bot_id": {fmt.Sprint(d.Bot.ID)}, "name": {"Silver"}, "period_kind": {"days"},
		"period_value": {"7"}, "price": {"1"}, "currency": {"EUR"}, "chat": {fmt.Sprint(weak.ID)}}, "/plans/new")
	if _, body := o.get("/plans"); status != http.StatusSeeOther || !strings.Contains(body, "lacks rights it needs in Half-set Group") {
		t.Errorf("a plan with a chat that needs rights: %d %q", status, flashText(body))
	}
	status, _ = o.postForm(fmt.Sprintf("/plans/%d", gold.ID), url.Values{"name": {"Gold for life"}, "period_kind": {"lifetime"},
		"price": {"99"}, "currency": {"EUR"}, "chat": {fmt.Sprint(d.Chats[1].ID)}}, fmt.Sprintf("/plans/%d/edit", gold.ID))
	if status != http.StatusSeeOther {
		t.Fatalf("edit plan: %d", status)
	}
	if status, _ := o.postForm(fmt.Sprintf("/plans/%d/archive", gold.ID), url.Values{}, "/plans"); status != http.StatusSeeOther {
		t.Fatalf("archive: %d", status)
	}
	env.Tx(t, d.TenantID, func(tx pgx.Tx) (err error) {
		gold, err = membership.GetPlan(context.Background(), tx, gold.ID)
		return err
	})
	if gold.Name != "Gold for life" || !gold.Lifetime() || gold.Price.Minor != 9900 || len(gold.ChatIDs) != 1 || !gold.Archived {
		t.Errorf("edited, archived plan = %+v", gold)
	}
	if _, body := o.get("/codes/new"); strings.Contains(body, "Gold for life") {
		t.Error("an archived plan is offered for new codes")
	}

	// Settings: auto-delete and the pricing default; the page states the retroactive effect.
	// The console's rule is the API's: empty is off, else 1 to 3650 days; 0 is refused.
	for _, bad := range []string{"0.5", "0", "3651", "-1"} {
		status, body := o.postForm("/settings", url.Values{"autodelete_days": {bad}})
		if status != 422 || !strings.Contains(body, "Auto-delete must be empty (off) or a whole number of days from 1 to 3650.") {
			t.Errorf("auto-delete %q: %d", bad, status)
		}
	}
	if n := env.Count(t, "SELECT count(*) FROM tenants WHERE code_autodelete_days IS NOT NULL"); n != 0 {
		t.Errorf("refused auto-delete values turned it on for %d tenants", n)
	}
	if status, _ := o.postForm("/settings", url.Values{"autodelete_days": {"45"}}); status != http.StatusSeeOther {
		t.Fatalf("save settings: %d", status)
	}
	_, body = o.get("/settings")
	if !strings.Contains(body, "every existing code at once") || !strings.Contains(body, "With 45 days, 0 unused codes are old enough") {
		t.Error("the settings page does not state the retroactive effect")
	}
	var got tenant.Tenant
	env.Tx(t, d.TenantID, func(tx pgx.Tx) (err error) {
		got, err = tenant.Get(context.Background(), tx)
		return err
	})
	if got.Settings != (tenant.Settings{CodeAutoDeleteDays: 45, ZeroPriceDefault: false}) {
		t.Errorf("settings = %+v", got.Settings)
	}
	if status, _ := o.postForm("/settings", url.Values{"autodelete_days": {" "}}); status != http.StatusSeeOther {
		t.Fatalf("turn auto-delete off: %d", status)
	}
	if n := env.Count(t, "SELECT count(*) FROM tenants WHERE code_autodelete_days IS NOT NULL"); n != 0 {
		t.Errorf("an empty auto-delete left it on for %d tenants", n)
	}

	// Notifications in Telegram, per admin.
	env.Tx(t, d.TenantID, func(tx pgx.Tx) error { return tenant.AddBotAdmin(context.Background(), tx, d.Bot.ID, 4242) })
	if _, body := o.get("/settings"); !strings.Contains(body, "Telegram user 4242") || !strings.Contains(body, "Turn notifications off") ||
		strings.Contains(body, "/sandbox") {
		t.Error("the settings page does not show the admin, or shows the sandbox link outside dev mode")
	}
	status, body = o.postForm("/settings/owner-link", url.Values{"bot_id": {fmt.Sprint(d.Bot.ID)}}, "/settings")
	if status != 201 || !strings.Contains(body, `id="owner-link">https://t.me/gatekey_demo_bot?start=owner-`) {
		t.Errorf("owner link: %d", status)
	}
	if status, _ := o.postForm("/settings/notify", url.Values{"bot_id": {fmt.Sprint(d.Bot.ID)}, "telegram_user_id": {"4242"}}, "/settings"); status != http.StatusSeeOther {
		t.Fatalf("notify off: %d", status)
	}
	if n := env.Count(t, "SELECT count(*) FROM bot_admins WHERE notify"); n != 0 {
		t.Errorf("%d admins still notified", n)
	}
	// An admin can be removed; one who is not (or not of this bot) cannot.
	for _, bad := range []url.Values{
		{"bot_id": {fmt.Sprint(d.Bot.ID)}, "telegram_user_id": {"9999"}},
		{"bot_id": {"999999"}, "telegram_user_id": {"4242"}},
	} {
		if status, _ := o.postForm("/settings/admins/remove", bad, "/settings"); status != 404 {
			t.Errorf("removing %v: %d, want 404", bad, status)
		}
	}
	if n := env.Count(t, "SELECT count(*) FROM bot_admins"); n != 1 {
		t.Fatalf("%d admins after refused removals, want 1", n)
	}
	if status, _ := o.postForm("/settings/admins/remove", url.Values{"bot_id": {fmt.Sprint(d.Bot.ID)}, "telegram_user_id": {"4242"}}, "/settings"); status != http.StatusSeeOther {
		t.Fatalf("remove admin: %d", status)
	}
	if n := env.Count(t, "SELECT count(*) FROM bot_admins"); n != 0 {
		t.Errorf("%d admins after removal, want 0", n)
	}
	if n := env.Count(t, "SELECT count(*) FROM audit_log WHERE action = 'bot_admin.removed' AND actor = 'console: owner@example.com' AND details->>'telegram_user_id' = '4242'"); n != 1 {
		t.Errorf("%d audit rows for the removal, want 1", n)
	}
	if _, body := o.get("/settings"); strings.Contains(body, "Telegram user 4242") {
		t.Error("the settings page still lists the removed admin")
	}

	// An API key made in the console is shown once and works; revoked, it is refused.
	status, body = o.postForm("/settings/keys", url.Values{"name": {"shop"}}, "/settings")
	m := keyShown.FindStringSubmatch(body)
	if status != 201 || m == nil {
		t.Fatalf("create key: %d", status)
	}
	a := api{t: t, url: env.URL + "/api/v1", key: m[1]}
	if st := a.call("GET", "/bots", nil, nil); st != 200 {
		t.Errorf("the new key: %d", st)
	}
	if _, body := o.get("/settings"); strings.Contains(body, m[1]) {
		t.Error("the key is shown again")
	}
	var keyID int64
	env.Tx(t, d.TenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT id FROM api_keys").Scan(&keyID)
	})
	if status, _ := o.postForm(fmt.Sprintf("/settings/keys/%d/revoke", keyID), url.Values{}, "/settings"); status != http.StatusSeeOther {
		t.Fatalf("revoke key: %d", status)
	}
	var e apiErr
	wantError(t, "revoked in the console", a.call("GET", "/bots", nil, &e), 401, e, "api_key_revoked")
}

// A plan priced in three letters that are no currency is refused, created
// or edited, and nothing is saved.
func TestPlanCurrencyMustBeOnePeoplePayIn(t *testing.T) {
	env := apptest.New(t)
	d := env.Demo(t)
	o := signIn(t, env, "owner@example.com", "correct horse battery")
	form := func(currency string) url.Values {
		return url.Values{"bot_id": {fmt.Sprint(d.Bot.ID)}, "name": {"Gold"}, "period_kind": {"months"}, "period_value": {"1"},
			"price": {"5"}, "currency": {currency}, "chat": {fmt.Sprint(d.Chats[0].ID)}}
	}
	const refusal = "XYZ is not a currency code Gatekey knows: use an ISO 4217 code such as USD or EUR."
	plans := env.Count(t, "SELECT count(*) FROM plans")
	if status, body := o.postForm("/plans", form("XYZ"), "/plans/new"); status != 422 || !strings.Contains(body, refusal) {
		t.Errorf("create in XYZ: %d %q", status, body)
	}
	if n := env.Count(t, "SELECT count(*) FROM plans"); n != plans {
		t.Errorf("%d plans after a refused one, want %d", n, plans)
	}
	edit := fmt.Sprintf("/plans/%d", d.Plan.ID)
	if status, body := o.postForm(edit, form("xyz"), edit+"/edit"); status != 422 || !strings.Contains(body, refusal) {
		t.Errorf("edit to xyz: %d %q", status, body)
	}
	if n := env.Count(t, "SELECT count(*) FROM plans WHERE currency <> 'USD' OR name = 'Gold'"); n != 0 {
		t.Errorf("%d plans changed by a refused edit", n)
	}
	for _, currency := range []string{"USD", "usd"} {
		if status, body := o.postForm("/plans", form(currency), "/plans/new"); status != http.StatusSeeOther {
			t.Errorf("create in %s: %d %q", currency, status, body)
		}
	}
	if n := env.Count(t, "SELECT count(*) FROM plans WHERE name = 'Gold' AND currency = 'USD'"); n != 2 {
		t.Errorf("%d plans in USD, want 2", n)
	}
}

func TestDisconnectAndReplaceToken(t *testing.T) {
	env := apptest.New(t)
	d := env.Demo(t)
	o := signIn(t, env, "owner@example.com", "correct horse battery")
	if status, _ := o.postForm(fmt.Sprintf("/bots/%d/disconnect", d.Bot.ID), url.Values{}, "/bots"); status != http.StatusSeeOther {
		t.Fatalf("disconnect: %d", status)
	}
	if hook, _, _, _ := env.Fake.Webhook(d.Bot.TelegramID); hook != "" {
		t.Errorf("webhook still set: %s", hook)
	}
	_, body := o.get("/bots")
	if !strings.Contains(body, "Disconnected") || !strings.Contains(body, "Reconnect") {
		t.Error("the bots page does not show the bot disconnected")
	}
	// Codes can still be made (to hand out once it is back), with a warning.
	status, _ := o.postForm("/codes", url.Values{"plan_id": {fmt.Sprint(d.Plan.ID)}, "count": {"1"}, "max_activations": {"1"},
		"expiry": {"none"}, "pricing": {"default"}}, "/codes/new")
	if _, page := o.get(o.header.Get("Location")); status != http.StatusSeeOther ||
		!strings.Contains(flashText(page), "But @gatekey_demo_bot is disconnected: nobody can activate it until you reconnect it") {
		t.Errorf("a code for a disconnected bot: %d, flash %q", status, flashText(page))
	}
	// Another bot's token is refused; the bot's own new token reconnects it.
	other, _ := env.Fake.AddBot("someone_elses_bot")
	status, body = o.postForm(fmt.Sprintf("/bots/%d/token", d.Bot.ID), url.Values{"token": {other}}, "/bots")
	if status != 422 || !strings.Contains(body, "This token belongs to a different bot: use the token of the bot you are replacing, or connect it as a new bot.") {
		t.Errorf("another bot's token: %d, or not said as a sentence", status)
	}
	token := fakeToken(t, env, d.Bot.TelegramID)
	if status, _ := o.postForm(fmt.Sprintf("/bots/%d/token", d.Bot.ID), url.Values{"token": {token}}, "/bots"); status != http.StatusSeeOther {
		t.Fatalf("reconnect: %d", status)
	}
	hook, secret, _, _ := env.Fake.Webhook(d.Bot.TelegramID)
	if hook != fmt.Sprintf("%s/telegram/%d", env.URL, d.Bot.ID) || secret == d.Bot.WebhookSecret {
		t.Errorf("after reconnect: webhook %q, secret renewed %v", hook, secret != d.Bot.WebhookSecret)
	}
	// The bot works again: a member's /start is answered.
	u := env.Fake.AddUser("Eve", "eve")
	if status, err := env.Fake.Start(d.Bot.TelegramID, u.ID, ""); err != nil || status != 200 {
		t.Fatalf("start after reconnect: %d %v", status, err)
	}
	env.Messages(t, d.Bot.TelegramID, u.ID, 1)
	// A second bot for the same tenant.
	token2, _ := env.Fake.AddBot("second_bot")
	if status, body := o.postForm("/bots", url.Values{"token": {token2}}); status != http.StatusSeeOther {
		t.Fatalf("second bot: %d %s", status, body)
	}
	if _, body := o.get("/bots"); !strings.Contains(body, "@second_bot") || !strings.Contains(body, "@gatekey_demo_bot") {
		t.Error("the bots page does not list both bots")
	}
	// The same bot cannot be connected twice.
	if status, body := o.postForm("/bots", url.Values{"token": {token2}}); status != 422 || !strings.Contains(body, "connected to your account already") {
		t.Errorf("connecting a bot twice: %d", status)
	}
	// Another account's bot is another account's.
	stranger := signUp(t, env, "other@example.com")
	if status, body := stranger.postForm("/bots", url.Values{"token": {token2}}); status != 422 || !strings.Contains(body, "already connected to a Gatekey account") {
		t.Errorf("connecting another account's bot: %d", status)
	}
}

// The rollback's confirmation does not promise to delete a code that is
// deleted already.
func TestRollbackOfADeletedCodeDoesNotOfferToDeleteIt(t *testing.T) {
	env := apptest.New(t)
	d := env.Demo(t)
	o := signIn(t, env, "owner@example.com", "correct horse battery")
	codes := env.Codes(t, d.TenantID, membership.CodeRequest{PlanID: d.Plan.ID, Count: 2}).Codes
	deleted, live := fmt.Sprintf("/codes/%d", codes[0].ID), fmt.Sprintf("/codes/%d", codes[1].ID)
	if status, _ := o.postForm(deleted+"/delete", url.Values{}, deleted); status != http.StatusSeeOther {
		t.Fatalf("delete: %d", status)
	}
	const willDelete = "delete the code now"
	if status, body := o.get(deleted + "/rollback"); status != 200 || strings.Contains(body, willDelete) ||
		!strings.Contains(body, "The code is deleted already, so nobody can activate it again.") {
		t.Errorf("a deleted code's rollback page: %d %q", status, body)
	}
	if status, body := o.get(live + "/rollback"); status != 200 || !strings.Contains(body, willDelete) || strings.Contains(body, "deleted already") {
		t.Errorf("a live code's rollback page: %d %q", status, body)
	}
	// Both pages say what becomes of Gatekey's fee on the refunded orders.
	const fee = "a fee already invoiced stays on its invoice"
	if _, body := o.get(live + "/rollback"); !strings.Contains(body, fee) {
		t.Errorf("the code's rollback page does not say what becomes of the fee: %q", body)
	}
	if _, body := o.get(fmt.Sprintf("/codes/batches/%d/rollback", codes[0].BatchID)); !strings.Contains(body, fee) {
		t.Errorf("the batch's rollback page does not say what becomes of the fee: %q", body)
	}
	// The batch's rollback page deletes only the codes not deleted yet.
	batch := fmt.Sprintf("/codes/batches/%d/rollback", codes[0].BatchID)
	if _, body := o.get(batch); !strings.Contains(body, "delete the 1 code not deleted yet") || strings.Contains(body, "delete the codes now") {
		t.Errorf("a batch with one code deleted: %q", body)
	}
	if status, _ := o.postForm(live+"/delete", url.Values{}, live); status != http.StatusSeeOther {
		t.Fatalf("delete: %d", status)
	}
	if _, body := o.get(batch); strings.Contains(body, "not deleted yet") || strings.Contains(body, "delete the codes now") {
		t.Errorf("a batch with every code deleted: %q", body)
	}
}

func TestDeletingARolledBackCodeSaysWhatHappened(t *testing.T) {
	env := apptest.New(t)
	d := env.Demo(t)
	o := signIn(t, env, "owner@example.com", "correct horse battery")
	codes := env.Codes(t, d.TenantID, membership.CodeRequest{PlanID: d.Plan.ID, Count: 2}).Codes
	page := func(c membership.Code) string { return fmt.Sprintf("/codes/%d", c.ID) }

	if status, _ := o.postForm(page(codes[0])+"/delete", url.Values{}, page(codes[0])); status != http.StatusSeeOther {
		t.Fatalf("delete: %d", status)
	}
	_, body := o.get(page(codes[0]))
	if !strings.Contains(body, "Members it already let in keep their access") {
		t.Error("deleting a code does not say its members keep their access")
	}
	// A deleted code's link lets no one in: the console offers no copy of it.
	if strings.Contains(body, "Copy link") || !strings.Contains(body, "This code is deleted, so neither it nor its activation link") {
		t.Error("a deleted code's page still offers its link")
	}
	// Nobody activated it: there is nothing to roll back.
	if strings.Contains(body, `id="rollback-start"`) {
		t.Error("a deleted code nobody activated offers a rollback")
	}
	if _, live := o.get(page(codes[1])); strings.Contains(live, `id="rollback-start"`) || !strings.Contains(live, "Delete code") {
		t.Error("a live code nobody activated offers a rollback, or no Delete")
	}
	for _, list := range []string{"/codes", fmt.Sprintf("/codes/batches/%d", codes[0].BatchID)} {
		if _, body := o.get(list); strings.Count(body, "Copy link") != 1 {
			t.Errorf("%s offers %d links to copy; want the active code's alone", list, strings.Count(body, "Copy link"))
		}
	}

	if status, _ := o.postForm(page(codes[1])+"/rollback", url.Values{}, page(codes[1])+"/rollback"); status != http.StatusSeeOther {
		t.Fatalf("rollback: %d", status)
	}
	env.Wait(t, "the rollback", func() bool { return env.Count(t, "SELECT count(*) FROM code_rollbacks WHERE status = 'done'") == 1 })
	o.postForm(page(codes[1])+"/rollback", url.Values{}, page(codes[0]))
	if _, body := o.get(page(codes[1])); !strings.Contains(body, "has been rolled back already") {
		t.Errorf("a second rollback of a finished one: the page says %q", flashText(body))
	}
	if status, _ := o.postForm(page(codes[1])+"/delete", url.Values{}, page(codes[0])); status != http.StatusSeeOther {
		t.Fatalf("delete after rollback: %d", status)
	}
	_, body = o.get(page(codes[1]))
	if strings.Contains(body, "keep their access") || !strings.Contains(body, "was rolled back, which deleted it") {
		t.Errorf("deleting a rolled-back code: the page says %q", flashText(body))
	}
	// One code rolled back, the other deleted unused: the batch has
	// nothing left to roll back.
	if _, body := o.get(fmt.Sprintf("/codes/batches/%d", codes[0].BatchID)); strings.Contains(body, `id="batch-rollback"`) {
		t.Error("a batch with nothing left to roll back offers its rollback")
	}
}

// flashText is the part of a page around its flash message, for errors.
func flashText(body string) string {
	i := strings.Index(body, "flash")
	if i < 0 {
		return "(no flash)"
	}
	return body[i:min(len(body), i+300)]
}

func TestOneCodeOpensItsPageInsteadOfACSV(t *testing.T) {
	env := apptest.New(t)
	d := env.Demo(t)
	o := signIn(t, env, "owner@example.com", "correct horse battery")
	form := func(count string) url.Values {
		return url.Values{"plan_id": {fmt.Sprint(d.Plan.ID)}, "count": {count}, "max_activations": {"1"}, "expiry": {"none"}, "pricing": {"default"}}
	}
	post := func(count string) *http.Response {
		_, body := o.get("/codes/new")
		v := form(count)
		v.Set("_csrf", csrfField.FindStringSubmatch(body)[1])
		res, err := o.client.PostForm(env.URL+"/codes", v)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	one := post("1")
	var id int64
	env.Tx(t, d.TenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT id FROM access_codes").Scan(&id)
	})
	if loc := one.Header.Get("Location"); one.StatusCode != http.StatusSeeOther || loc != fmt.Sprintf("/codes/%d", id) {
		t.Fatalf("one code: %d to %q, want its page /codes/%d", one.StatusCode, loc, id)
	}
	if _, body := o.get(fmt.Sprintf("/codes/%d", id)); !strings.Contains(body, "created for "+d.Plan.Name) || strings.Contains(body, "CSV file is downloading") {
		t.Errorf("the code's page after creating it: %s", flashText(body))
	}
	if two := post("2"); !strings.HasPrefix(two.Header.Get("Location"), "/codes/batches/") || !strings.HasSuffix(two.Header.Get("Location"), "?new=1") {
		t.Errorf("two codes: to %q, want their batch, downloading the CSV", two.Header.Get("Location"))
	}
}

func TestUnknownPathsGetTheirOwnNotFound(t *testing.T) {
	env := apptest.New(t)
	for _, c := range []struct {
		method, path string
		status       int
		want         string
	}{
		{"GET", "/nope", 404, "There is nothing here"},
		{"POST", "/plans/1/nope", 404, "There is nothing here"},
		{"GET", "/api/v1/nope", 404, "There is no such API call"},
		{"GET", "/ops/v1/nope", 401, "Send a staff token"}, // staff only, even to learn what is there
		// A path the API has, with a method it does not take: 405, with
		// the methods it takes, matched as Fiber matches (case, slash).
		{"PUT", "/api/v1/settings", 405, `"method_not_allowed"`},
		{"PUT", "/api/v1/Codes/12/", 405, `"method_not_allowed"`},
		{"DELETE", "/api/v1/codes/12/nope", 404, "There is no such API call"},
	} {
		req, _ := http.NewRequest(c.method, env.URL+c.path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.status || !strings.Contains(string(body), c.want) {
			t.Errorf("%s %s: %d %.200q, want %d saying %q", c.method, c.path, res.StatusCode, body, c.status, c.want)
		}
		allowed := map[string]string{"/api/v1/settings": "GET, HEAD, PATCH", "/api/v1/Codes/12/": "GET, HEAD, DELETE"}[c.path]
		if got := res.Header.Get("Allow"); got != allowed {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, allowed)
		}
	}
}

// TestDevModePointsToTheSandboxsBotFather: in dev mode the bots page
// sends a new owner to the sandbox's BotFather panel for a token; outside
// it, there is no such note.
func TestDevModePointsToTheSandboxsBotFather(t *testing.T) {
	for _, dev := range []bool{false, true} {
		env := apptest.Start(t, apptest.Options{Configure: func(c *app.Config) { c.DevMode = dev }})
		o := signUp(t, env, "new@example.com")
		_, body := o.get("/bots")
		if got := strings.Contains(body, `id="dev-bots"`) && strings.Contains(body, `href="/sandbox#botfather"`); got != dev {
			t.Errorf("DevMode %v: the bots page points to the sandbox's BotFather panel: %v", dev, got)
		}
	}
}

func TestRollBackAWholeBatch(t *testing.T) {
	env := apptest.New(t)
	d := env.Demo(t)
	ctx := context.Background()
	o := signIn(t, env, "owner@example.com", "correct horse battery")
	bot := d.Bot.TelegramID
	start := func(name string) telegramtest.User { return startUser(t, env, bot, name) }
	admin := start("Olga")
	env.Tx(t, d.TenantID, func(tx pgx.Tx) error { return tenant.AddBotAdmin(ctx, tx, d.Bot.ID, admin.ID) })
	batch := env.Codes(t, d.TenantID, membership.CodeRequest{PlanID: d.Plan.ID, Count: 4})
	for i, name := range []string{"Ann", "Ben", "Cat"} {
		u := start(name)
		if _, err := env.Fake.SendText(bot, u.ID, batch.Codes[i].Code); err != nil {
			t.Fatal(err)
		}
		env.Messages(t, bot, u.ID, 2)
	}
	env.Idle(t)
	// Cat's code was rolled back on its own before, and that rollback has
	// not finished (no job works it here): the batch's rollback leaves it
	// out, and must not wait for it.
	env.Tx(t, d.TenantID, func(tx pgx.Tx) error {
		_, err := membership.StartRollback(ctx, tx, batch.Codes[2].ID, "test")
		return err
	})
	adminBefore := len(env.Fake.Messages(bot, admin.ID))
	page := fmt.Sprintf("/codes/batches/%d", batch.ID)
	if _, body := o.get(page); !strings.Contains(body, `id="batch-rollback"`) {
		t.Error("the batch's page does not offer its rollback")
	}

	if _, body := o.get(page + "/rollback"); !strings.Contains(body, "3 codes") || !strings.Contains(body, "2 activations") {
		t.Fatalf("the confirmation does not say what will be taken back")
	}
	rollBackBatch(t, env, o, batch.ID, 3)
	if n := env.Count(t, "SELECT count(*) FROM access_codes WHERE deleted_at IS NULL"); n != 0 {
		t.Errorf("%d codes of the batch still active", n)
	}
	if n := env.Count(t, "SELECT count(*) FROM memberships WHERE status = 'active'"); n != 1 {
		t.Errorf("%d memberships still active, want Cat's alone", n)
	}
	var told []string
	for _, m := range env.Fake.Messages(bot, admin.ID)[adminBefore:] {
		told = append(told, m.Text)
	}
	want := fmt.Sprintf("Rollback of batch #%d (3 codes) finished: 2 activations undone; 2 members lost access.", batch.ID)
	if len(told) != 1 || !strings.HasPrefix(told[0], want) {
		t.Errorf("the admin was told %q, want one summary starting %q", told, want)
	}
	if _, body := o.get(page); strings.Contains(body, `id="batch-rollback"`) || !strings.Contains(body, `id="batch-rolled-back"`) {
		t.Error("a rolled-back batch's page still offers its rollback")
	}
	if status, _ := o.postForm(page+"/rollback", url.Values{}, page); status != http.StatusSeeOther {
		t.Fatalf("second rollback: %d", status)
	}
	if _, body := o.get(page); !strings.Contains(body, "rolled back already") {
		t.Errorf("a second rollback of the batch says %q", flashText(body))
	}
	if n := env.Count(t, "SELECT count(*) FROM code_rollbacks"); n != 4 {
		t.Errorf("%d rollbacks after the second request, want 4", n)
	}
}

// revokeWorld is two members of the demo tenant, Rita and Sam, each with
// two active memberships: the demo plan's and a second plan's.
type revokeWorld struct {
	members [2]int64    // Rita, Sam
	ms      [2][2]int64 // each member's two memberships
}

func grantTwoPlans(t *testing.T, env *apptest.Env, d app.Demo) revokeWorld {
	t.Helper()
	ctx := context.Background()
	var w revokeWorld
	env.Tx(t, d.TenantID, func(tx pgx.Tx) error {
		second, err := membership.CreatePlan(ctx, tx, membership.NewPlan{BotID: d.Bot.ID, Name: "Second plan", PeriodDays: 7,
			Price: membership.Money{Currency: "USD"}, ChatIDs: []int64{d.Chats[1].ID}})
		if err != nil {
			return err
		}
		for i, name := range []string{"Rita", "Sam"} {
			u := env.Fake.AddUser(name, strings.ToLower(name))
			m, err := membership.UpsertMember(ctx, tx, d.Bot.ID, membership.Person{TelegramUserID: u.ID, Username: u.Username})
			if err != nil {
				return err
			}
			w.members[i] = m.ID
			for j, p := range []membership.Plan{d.Plan, second} {
				g, err := membership.Grant(ctx, tx, m.ID, p)
				if err != nil {
					return err
				}
				w.ms[i][j] = g.Membership.ID
			}
		}
		return nil
	})
	return w
}

// statuses are the four memberships' statuses: Rita's two, then Sam's.
func (w revokeWorld) statuses(t *testing.T, env *apptest.Env) string {
	t.Helper()
	ids := []int64{w.ms[0][0], w.ms[0][1], w.ms[1][0], w.ms[1][1]}
	var s string
	err := env.Owner(t).QueryRow(context.Background(), `SELECT string_agg(status, ' ' ORDER BY array_position($1::bigint[], id))
		FROM memberships WHERE id = ANY($1)`, ids).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRevokeOneMembershipInTheConsole: the form's membership_id picks one
// of the member's memberships, and all of them when left out; a bad one
// is an error that changes nothing.
func TestRevokeOneMembershipInTheConsole(t *testing.T) {
	env := apptest.New(t)
	d := env.Demo(t)
	w := grantTwoPlans(t, env, d)
	o := signIn(t, env, "owner@example.com", "correct horse battery")
	rita, sam := fmt.Sprintf("/members/%d", w.members[0]), fmt.Sprintf("/members/%d", w.members[1])
	const all = "active active active active"

	for _, bad := range []string{"abc", "0", "-1", "1.5"} {
		status, _ := o.postForm(rita+"/revoke", url.Values{"membership_id": {bad}}, rita)
		_, body := o.get(rita)
		if status != http.StatusSeeOther || !strings.Contains(body, "could not be revoked") {
			t.Errorf("membership_id=%s: %d, the page says %q", bad, status, flashText(body))
		}
		if got := w.statuses(t, env); got != all {
			t.Fatalf("membership_id=%s changed the memberships: %s", bad, got)
		}
	}
	if status, _ := o.postForm(rita+"/revoke", url.Values{"membership_id": {fmt.Sprint(w.ms[1][0])}}, rita); status != 404 {
		t.Errorf("Sam's membership on Rita's page: %d, want 404", status)
	}
	if got := w.statuses(t, env); got != all {
		t.Fatalf("Sam's membership on Rita's page changed the memberships: %s", got)
	}

	if status, _ := o.postForm(rita+"/revoke", url.Values{"membership_id": {fmt.Sprint(w.ms[0][1])}}, rita); status != http.StatusSeeOther {
		t.Fatalf("revoke one: %d", status)
	}
	if got := w.statuses(t, env); got != "active revoked active active" {
		t.Errorf("revoking one of Rita's: %s", got)
	}
	if status, _ := o.postForm(sam+"/revoke", url.Values{"membership_id": {""}}, sam); status != http.StatusSeeOther {
		t.Fatalf("revoke all: %d", status)
	}
	if got := w.statuses(t, env); got != "active revoked revoked revoked" {
		t.Errorf("revoking all of Sam's: %s", got)
	}
}

// Archiving a plan leaves its codes working, and says how many there are.
func TestArchivingAPlanCountsItsLiveCodes(t *testing.T) {
	env := apptest.New(t)
	d := env.Demo(t)
	env.Codes(t, d.TenantID, membership.CodeRequest{PlanID: d.Plan.ID, Count: 2})
	o := signIn(t, env, "owner@example.com", "correct horse battery")
	if status, _ := o.postForm(fmt.Sprintf("/plans/%d/archive", d.Plan.ID), url.Values{}, "/plans"); status != http.StatusSeeOther {
		t.Fatalf("archive: %d", status)
	}
	if _, body := o.get("/plans"); !strings.Contains(flashText(body), "2 codes made for it can still be activated") {
		t.Errorf("after archiving, the page says %q", flashText(body))
	}
}

// Revoking access tells the owner what happens to the member: they are
// told, and taken out of the chats, except where the bot may not ban,
// which the owner is told by name.
func TestRevokeSaysWhereTheMemberStays(t *testing.T) {
	env := apptest.New(t)
	d := env.Demo(t)
	memberID := memberOfANoBanChat(t, env, d, "Vera")
	o := signIn(t, env, "owner@example.com", "correct horse battery")
	page := fmt.Sprintf("/members/%d", memberID)
	if status, _ := o.postForm(page+"/revoke", url.Values{}, page); status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", status)
	}
	_, body := o.get(page)
	if f := flashText(body); !strings.Contains(f, "Access revoked") || !strings.Contains(f, "cannot remove members from No-Ban Group:") ||
		strings.Contains(f, d.Chats[0].Title) {
		t.Errorf("after revoking, the page says %q", f)
	}
	// The membership shows when it was revoked, not only when it was to end.
	if !strings.Contains(body, ", revoked (it was to end ") {
		t.Error("the member page does not say when the access was revoked")
	}
	if _, list := o.get("/members"); !strings.Contains(list, " (revoked)</td>") {
		t.Error("the members list does not say when the access was revoked")
	}
	if status, _ := o.postForm(page+"/revoke", url.Values{}, page); status != http.StatusSeeOther {
		t.Fatalf("revoke again: %d", status)
	}
	if _, body := o.get(page); !strings.Contains(flashText(body), ">There was no active access to revoke.<") {
		t.Errorf("revoking again, the page says %q", flashText(body))
	}

	// The owner API says the same, for scripts.
	other := memberOfANoBanChat(t, env, d, "Wim")
	a := api{t: t, url: env.URL + "/api/v1", key: apiKey(t, env, d.TenantID)}
	var rev struct {
		Revoked int      `json:"revoked"`
		KeptIn  []string `json:"kept_in"`
	}
	if st := a.call("POST", fmt.Sprintf("/members/%d/revoke", other), nil, &rev); st != 200 || rev.Revoked != 1 ||
		len(rev.KeptIn) != 1 || rev.KeptIn[0] != "No-Ban Group" {
		t.Errorf("revoke through the API: %d %+v", st, rev)
	}
}

// memberOfANoBanChat makes a member with a 7-day plan over a demo channel
// and a group where the bot may not ban ("No-Ban Group", made once), who
// has joined both.
func memberOfANoBanChat(t *testing.T, env *apptest.Env, d app.Demo, name string) int64 {
	t.Helper()
	ctx := context.Background()
	var weak membership.Chat
	env.Tx(t, d.TenantID, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, "SELECT id, telegram_chat_id FROM chats WHERE title = 'No-Ban Group'").Scan(&weak.ID, &weak.TelegramChatID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	if weak.ID == 0 {
		var err error
		if weak, err = env.App.AddFakeChatWithRights(ctx, env.Fake, d.Bot, "supergroup", "No-Ban Group",
			telegramtest.AdminRights{CanInviteUsers: true}); err != nil {
			t.Fatal(err)
		}
	}
	u := env.Fake.AddUser(name, strings.ToLower(name))
	var memberID int64
	env.Tx(t, d.TenantID, func(tx pgx.Tx) error {
		plan, err := membership.CreatePlan(ctx, tx, membership.NewPlan{BotID: d.Bot.ID, Name: "Mixed " + name, PeriodDays: 7,
			Price: membership.Money{Currency: "USD"}, ChatIDs: []int64{d.Chats[0].ID, weak.ID}})
		if err != nil {
			return err
		}
		m, err := membership.UpsertMember(ctx, tx, d.Bot.ID, membership.Person{TelegramUserID: u.ID, Username: u.Username})
		if err != nil {
			return err
		}
		memberID = m.ID
		if _, err := membership.Grant(ctx, tx, m.ID, plan); err != nil {
			return err
		}
		for _, ch := range []membership.Chat{d.Chats[0], weak} {
			if _, err := membership.ObserveJoin(ctx, tx, d.Bot.ID, ch.TelegramChatID, u.ID, ""); err != nil {
				return err
			}
		}
		return nil
	})
	return memberID
}

// A code set to expire on a date works to the end of that day (UTC) and
// says so with that date; a date past a hundred years is refused.
func TestCodeExpiringOnADate(t *testing.T) {
	env := apptest.New(t)
	d := env.Demo(t)
	o := signIn(t, env, "owner@example.com", "correct horse battery")
	day := time.Now().UTC().AddDate(1, 0, 0).Format("2006-01-02")
	form := url.Values{"plan_id": {fmt.Sprint(d.Plan.ID)}, "count": {"1"}, "max_activations": {"1"},
		"expiry": {"custom"}, "expiry_date": {day}, "pricing": {"default"}}
	if status, _ := o.postForm("/codes", form, "/codes/new"); status != http.StatusSeeOther {
		t.Fatalf("a code expiring on %s: %d", day, status)
	}
	var expires time.Time
	env.Tx(t, d.TenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT expires_at FROM access_codes").Scan(&expires)
	})
	if got := expires.UTC().Format("2006-01-02 15:04:05"); got != day+" 23:59:59" {
		t.Errorf("expires at %s, want the end of %s", got, day)
	}
	form.Set("expiry_date", "9999-12-31")
	if status, body := o.postForm("/codes", form, "/codes/new"); status != 422 || !strings.Contains(body, "within 36500 days") {
		t.Errorf("a code expiring in 9999: %d", status)
	}
}

// A member who activated several codes of a batch is one member in the
// summary of the batch's rollback, not one per code.
func TestBatchRollbackSummaryCountsMembers(t *testing.T) {
	env := apptest.New(t)
	d := env.Demo(t)
	ctx := context.Background()
	o := signIn(t, env, "owner@example.com", "correct horse battery")
	bot := d.Bot.TelegramID
	admin := startUser(t, env, bot, "Olga")
	env.Tx(t, d.TenantID, func(tx pgx.Tx) error { return tenant.AddBotAdmin(ctx, tx, d.Bot.ID, admin.ID) })
	batch := env.Codes(t, d.TenantID, membership.CodeRequest{PlanID: d.Plan.ID, Count: 4})
	ann := startUser(t, env, bot, "Ann")
	for i, c := range batch.Codes[:3] {
		if _, err := env.Fake.SendText(bot, ann.ID, c.Code); err != nil {
			t.Fatal(err)
		}
		env.Messages(t, bot, ann.ID, i+2)
	}
	// Bea's access from the fourth code has ended before the rollback: it
	// takes nothing from her.
	bea := startUser(t, env, bot, "Bea")
	if _, err := env.Fake.SendText(bot, bea.ID, batch.Codes[3].Code); err != nil {
		t.Fatal(err)
	}
	env.Messages(t, bot, bea.ID, 2)
	env.Idle(t)
	if _, err := env.Owner(t).Exec(ctx, `UPDATE memberships SET status = 'expired', ended_at = now()
		WHERE member_id = (SELECT id FROM members WHERE telegram_user_id = $1)`, bea.ID); err != nil {
		t.Fatal(err)
	}
	adminBefore := len(env.Fake.Messages(bot, admin.ID))
	page := fmt.Sprintf("/codes/batches/%d", batch.ID)
	if _, body := o.get(page); !strings.Contains(body, `id="batch-rollback"`) {
		t.Error("the batch's page does not offer its rollback")
	}
	rollBackBatch(t, env, o, batch.ID, 4)
	want := fmt.Sprintf("Rollback of batch #%d (4 codes) finished: 4 activations undone; 1 member lost access.", batch.ID)
	var told []string
	for _, m := range env.Fake.Messages(bot, admin.ID)[adminBefore:] {
		told = append(told, m.Text)
	}
	if len(told) != 1 || !strings.HasPrefix(told[0], want) {
		t.Errorf("the admin was told %q, want one summary starting %q", told, want)
	}
}

// rollBackBatch confirms a batch's rollback in the console and waits until
// done rollbacks number done and the jobs they queued have run.
func rollBackBatch(t *testing.T, env *apptest.Env, o *owner, batchID int64, done int) {
	t.Helper()
	page := fmt.Sprintf("/codes/batches/%d/rollback", batchID)
	if status, _ := o.postForm(page, url.Values{}, page); status != http.StatusSeeOther {
		t.Fatalf("roll back the batch: %d", status)
	}
	env.Wait(t, "the batch's rollbacks", func() bool {
		return env.Count(t, "SELECT count(*) FROM code_rollbacks WHERE status = 'done'") == done
	})
	env.Idle(t)
}

// startUser has a new Telegram user open the bot and waits for its welcome.
func startUser(t *testing.T, env *apptest.Env, bot int64, name string) telegramtest.User {
	t.Helper()
	u := env.Fake.AddUser(name, strings.ToLower(name))
	if status, err := env.Fake.Start(bot, u.ID, ""); err != nil || status != 200 {
		t.Fatalf("%s /start: %d %v", name, status, err)
	}
	env.Messages(t, bot, u.ID, 1)
	return u
}

// The new codes form says how many free activations are left before the
// owner fills it in, and when none are.
func TestNewCodesFormSaysWhatFreeCodesAreLeft(t *testing.T) {
	env := apptest.New(t)
	env.Demo(t)
	o := signIn(t, env, "owner@example.com", "correct horse battery")
	if _, body := o.get("/codes/new"); !regexp.MustCompile(`may give out [0-9,]+ more activations under the fair-use allowance`).MatchString(body) {
		t.Errorf("the form does not say what free codes may still give out:\n%s", body)
	}
	if _, err := env.Owner(t).Exec(context.Background(), "UPDATE tenants SET fairuse_floor = 0"); err != nil {
		t.Fatal(err)
	}
	if _, body := o.get("/codes/new"); !strings.Contains(body, "Your free-code allowance is used up for now") {
		t.Errorf("with no free codes left, the form does not say so:\n%s", body)
	}
}
