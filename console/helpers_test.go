package console_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/tenant"
)

// owner is a person using the console through plain HTTP, with cookies.
type owner struct {
	t      testing.TB
	env    *apptest.Env
	client *http.Client
	Email  string
	Tenant int64
	header http.Header // the last response's
}

// signUp creates an account through the sign-up form.
func signUp(t testing.TB, env *apptest.Env, email string) *owner {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	o := &owner{t: t, env: env, Email: email, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
	status, _ := o.postForm("/signup", url.Values{"email": {email}, "password": {"correct horse battery"}, "password2": {"correct horse battery"}})
	if status != http.StatusSeeOther {
		t.Fatalf("sign up %s: status %d", email, status)
	}
	id, err := env.App.DB.Lookup(context.Background(), "email", email)
	if err != nil {
		t.Fatal(err)
	}
	o.Tenant = id
	return o
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// get fetches a page and returns its status and body.
func (o *owner) get(path string) (int, string) {
	o.t.Helper()
	res, err := o.client.Get(o.env.URL + path)
	if err != nil {
		o.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	o.header = res.Header
	return res.StatusCode, string(b)
}

// postForm posts a form as the page at path would: it first loads the
// page to take its CSRF token (the form's page for /x/y is /x/y or the
// nearest page that shows it; formPage overrides).
func (o *owner) postForm(path string, v url.Values, formPage ...string) (int, string) {
	o.t.Helper()
	page := path
	if len(formPage) > 0 {
		page = formPage[0]
	}
	_, body := o.get(page)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		o.t.Fatalf("no CSRF token on %s", page)
	}
	v.Set("_csrf", m[1])
	return o.postRaw(path, v)
}

// postRaw posts a form as is, CSRF token or not.
func (o *owner) postRaw(path string, v url.Values) (int, string) {
	o.t.Helper()
	res, err := o.client.PostForm(o.env.URL+path, v)
	if err != nil {
		o.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	o.header = res.Header
	return res.StatusCode, string(b)
}

// apiKey makes an API key for a tenant.
func apiKey(t testing.TB, env *apptest.Env, tenantID int64) string {
	t.Helper()
	var key string
	env.Tx(t, tenantID, func(tx pgx.Tx) error {
		var err error
		_, key, err = tenant.CreateAPIKey(context.Background(), tx, "test", "test")
		return err
	})
	return key
}

// api is a script calling the owner API with a key.
type api struct {
	t   *testing.T
	url string
	key string
}

// call sends a request with an optional JSON body and decodes the answer
// into out (if not nil), returning the status.
func (a api) call(method, path string, body any, out any) int {
	a.t.Helper()
	status, _ := a.callWith(method, path, nil, body, out)
	return status
}

// callWith is call with more request headers, returning the answer's.
func (a api) callWith(method, path string, header map[string]string, body any, out any) (int, http.Header) {
	a.t.Helper()
	var r io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			r = strings.NewReader(s)
		} else {
			b, _ := json.Marshal(body)
			r = strings.NewReader(string(b))
		}
	}
	req, _ := http.NewRequest(method, a.url+path, r)
	if a.key != "" {
		req.Header.Set("Authorization", "Bearer "+a.key)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil {
		if s, ok := out.(*string); ok {
			*s = string(b)
		} else if err := json.Unmarshal(b, out); err != nil {
			a.t.Fatalf("%s %s: status %d, body %q: %v", method, path, res.StatusCode, b, err)
		}
	}
	return res.StatusCode, res.Header
}

// apiErr is the API's error body.
type apiErr struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}
