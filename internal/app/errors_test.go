package app_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/internal/apptest"
)

// TestRequestsNoRouteAnswered holds the answers to what no route answers
// itself: a body over the limit, headers over the read buffer, a panic.
// The APIs answer in their error JSON, the console with its page, the
// webhooks in plain text.
func TestRequestsNoRouteAnswered(t *testing.T) {
	env := apptest.Start(t, apptest.Options{Configure: func(cfg *app.Config) {
		cfg.Routes = func(r fiber.Router) {
			r.Get("/boom", func(*fiber.Ctx) error { panic("a bug") })
		}
	}})
	const bigBody = 5 << 20
	for _, c := range []struct {
		method, path string
		length       int    // the Content-Length sent (the body itself is not); -1: chunked, one chunk of 5 MiB announced
		header       string // a header this long
		status       int
		apiCode      string // the error JSON's code, or
		page         string // the HTML page says this, or
		text         string // the plain text says this
	}{
		{"POST", "/api/v1/codes", bigBody, "", 413, "request_too_large", "", ""},
		{"POST", "/ops/v1/tenants/1/suspend", bigBody, "", 413, "request_too_large", "", ""},
		{"POST", "/plans", bigBody, "", 413, "", "larger than the 4 MiB", ""},
		{"POST", "/telegram/1", bigBody, "", 413, "", "", "larger than the 4 MiB"},
		{"POST", "/stripe/webhook", bigBody, "", 413, "", "", "larger than the 4 MiB"},
		{"GET", "/api/v1/codes", 0, strings.Repeat("h", 10<<10), 431, "", "", "headers are larger"},
		{"GET", "/boom", 0, "", 500, "", "Something went wrong on our side", ""},
		// A chunked body that runs over is refused with the request already
		// forgotten: plain text, not the console's page.
		{"POST", "/api/v1/codes", -1, "", 413, "", "", "larger than the 4 MiB"},
	} {
		what := c.method + " " + c.path
		resp, body := rawRequest(t, env.URL, c.method, c.path, c.length, c.header)
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d: %.200s", what, resp.StatusCode, c.status, body)
			continue
		}
		ct := resp.Header.Get("Content-Type")
		switch {
		case c.apiCode != "":
			var e struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != c.apiCode || e.Error.Message == "" {
				t.Errorf("%s: want error JSON with code %q, got %s (%s)", what, c.apiCode, ct, body)
			}
		case c.page != "":
			if !strings.HasPrefix(ct, "text/html") || !strings.Contains(string(body), c.page) {
				t.Errorf("%s: want a page saying %q, got %s: %.300s", what, c.page, ct, body)
			}
		default:
			if !strings.HasPrefix(ct, "text/plain") || !strings.Contains(string(body), c.text) {
				t.Errorf("%s: want plain text saying %q, got %s: %.300s", what, c.text, ct, body)
			}
		}
	}
}

// rawRequest sends a request's head over its own connection, declaring a
// body of length bytes without sending it: the server answers a body too
// large from its Content-Length alone. (A client that sent the body anyway
// could have its connection reset before it read the answer.)
func rawRequest(t *testing.T, baseURL, method, path string, length int, longHeader string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(baseURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	head := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: gatekey.test\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", method, path, length)
	if length < 0 {
		head = fmt.Sprintf("%s %s HTTP/1.1\r\nHost: gatekey.test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n", method, path)
	}
	if longHeader != "" {
		head += "X-Long: " + longHeader + "\r\n"
	}
	head += "\r\n"
	if length < 0 {
		head += fmt.Sprintf("%x\r\n", 5<<20)
	}
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the answer: %v", method, path, err)
	}
	return resp, body
}
