// Package stripetest runs stripe-mock, Stripe's own mock of its API, for a
// test: on a free loopback port, behind a recording proxy, so a test can
// both get Stripe's answers and check exactly what Gatekey asked. It also
// signs webhook events the way Stripe does.
//
// stripe-mock is installed by scripts/ensure-stripe-mock.sh (which `make
// test` runs) into ./.data/bin; the first test that misses it runs the
// script itself. STRIPE_MOCK_BIN names another binary.
package stripetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

// Test credentials: stripe-mock takes any key of the right shape.
const (
	APIKey        = "sk_test_gatekey"
	WebhookSecret = "whsec_gatekey_test_secret"
)

// Call is one request Gatekey made to Stripe.
type Call struct {
	Method         string
	Path           string     // /v1/checkout/sessions
	Form           url.Values // the form-encoded parameters
	StripeAccount  string     // the Stripe-Account header: a call on a connected account
	IdempotencyKey string
	Status         int // stripe-mock's HTTP status
}

// Mock is a running stripe-mock.
type Mock struct {
	URL string // give this to Gatekey as STRIPE_API_URL

	mu       sync.Mutex
	calls    []Call
	failures []failure
	answers  map[string][]byte // "GET /v1/subscriptions/sub_1" → the body to answer
}

type failure struct {
	method, path string
	status, left int
}

// Fail makes the next n requests to method and path fail with status and
// a Stripe error, without reaching stripe-mock: for what stripe-mock
// cannot be made to do (an outage, a refusal). stripe-go retries a 503
// (twice, as Gatekey sets it up), but not a 4xx nor a POST's 500.
func (m *Mock) Fail(method, path string, status, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failures = append(m.failures, failure{method, path, status, n})
}

// Answer makes every later request to method and path get obj as its
// JSON answer, without reaching stripe-mock: for an object whose state a
// test moves along (stripe-mock's answers are fixtures that never change).
// A later Answer for the same request replaces it.
func (m *Mock) Answer(method, path string, obj any) {
	b, err := json.Marshal(obj)
	if err != nil {
		panic(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.answers == nil {
		m.answers = map[string][]byte{}
	}
	m.answers[method+" "+path] = b
}

// injected answers r with a planned failure or answer, if one is due.
func (m *Mock) injected(w http.ResponseWriter, r *http.Request, i int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.failures {
		f := &m.failures[k]
		if f.left > 0 && f.method == r.Method && f.path == r.URL.Path {
			f.left--
			m.calls[i].Status = f.status
			kind := "api_error"
			if f.status < 500 {
				kind = "invalid_request_error"
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(f.status)
			fmt.Fprintf(w, `{"error": {"type": %q, "message": "stripetest: a failure the test asked for"}}`, kind)
			return true
		}
	}
	if b, ok := m.answers[r.Method+" "+r.URL.Path]; ok {
		m.calls[i].Status = http.StatusOK
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
		return true
	}
	return false
}

// Start runs stripe-mock for t and stops it when t ends.
func Start(t testing.TB) *Mock {
	t.Helper()
	bin := binary(t)
	ctx, cancel := context.WithCancel(context.Background())
	// No port given: stripe-mock takes free ones and says which. HTTPS is
	// kept on loopback too; nothing uses it.
	cmd := exec.CommandContext(ctx, bin, "-http-addr", "127.0.0.1:", "-https-addr", "127.0.0.1:")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("stripetest: start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "Listening for HTTP at address: "); ok {
				addr <- a
			}
		}
	}()
	var target string
	select {
	case target = <-addr:
	case <-time.After(30 * time.Second):
		t.Fatal("stripetest: stripe-mock did not start within 30s")
	}
	m := &Mock{}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: target})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		// Recorded before the answer goes back, so a caller that has its
		// answer finds its call here.
		m.mu.Lock()
		i := len(m.calls)
		m.calls = append(m.calls, Call{Method: r.Method, Path: r.URL.Path, Form: form,
			StripeAccount: r.Header.Get("Stripe-Account"), IdempotencyKey: r.Header.Get("Idempotency-Key")})
		m.mu.Unlock()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK, set: func(code int) {
			m.mu.Lock()
			m.calls[i].Status = code
			m.mu.Unlock()
		}}
		if m.injected(w, r, i) {
			return
		}
		rec.set(http.StatusOK)
		proxy.ServeHTTP(rec, r)
	}))
	t.Cleanup(srv.Close)
	m.URL = srv.URL
	return m
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	set    func(int)
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.set(code)
	r.ResponseWriter.WriteHeader(code)
}

// Calls returns the requests made so far whose method and path match,
// such as ("POST", "/v1/invoices"); "" matches any.
func (m *Mock) Calls(method, path string) []Call {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Call
	for _, c := range m.calls {
		if (method == "" || c.Method == method) && (path == "" || c.Path == path) {
			out = append(out, c)
		}
	}
	return out
}

// Event builds a Stripe event around obj, as Stripe would send it: for a
// connected account when account is not "".
func Event(id string, typ stripe.EventType, account string, obj any) []byte {
	raw, err := json.Marshal(obj)
	if err != nil {
		panic(err)
	}
	ev := map[string]any{
		"id": id, "object": "event", "type": typ, "api_version": stripe.APIVersion,
		"created": time.Now().Unix(), "livemode": false, "pending_webhooks": 1,
		"data": map[string]any{"object": json.RawMessage(raw)},
	}
	if account != "" {
		ev["account"] = account
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return b
}

// Sign returns the Stripe-Signature header for payload, made with stripe-go's
// own test helper, at time at (time.Now() if zero).
func Sign(payload []byte, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at}).Header
}

// Post delivers a signed event to a Gatekey webhook URL and returns the
// HTTP status.
func Post(t testing.TB, webhookURL string, payload []byte, signature string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, webhookURL, bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set("Stripe-Signature", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

var install sync.Mutex

// binary finds stripe-mock, installing it with the project's script if
// it is missing.
func binary(t testing.TB) string {
	t.Helper()
	if b := os.Getenv("STRIPE_MOCK_BIN"); b != "" {
		return b
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatalf("stripetest: %v", err)
	}
	install.Lock()
	defer install.Unlock()
	out, err := exec.Command(filepath.Join(root, "scripts", "ensure-stripe-mock.sh")).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("stripetest: scripts/ensure-stripe-mock.sh: %v\n%s", err, stderr)
	}
	return strings.TrimSpace(string(out))
}

var moduleLine = regexp.MustCompile(`(?m)^module github.com/gatekey/gatekey\s*$`)

// moduleRoot walks up from the test's directory to Gatekey's go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && moduleLine.Match(b) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of github.com/gatekey/gatekey above the test's directory")
		}
		dir = parent
	}
}
