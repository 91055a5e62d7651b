package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/gatekey/gatekey/console"
)

// TestRefuseNUL holds refuseNUL to what it refuses and what it leaves to
// the handlers: a request is refused when its path, query, form or JSON
// body has a NUL character, in the console's or the API's own shape.
func TestRefuseNUL(t *testing.T) {
	con, err := console.New(console.Config{})
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New()
	app.Use(refuseNUL(con))
	app.All("/*", func(c *fiber.Ctx) error { return c.SendString("handled") })

	multipartBody := func(name, value, filename, content string) (string, string) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		_ = w.WriteField(name, value)
		f, _ := w.CreateFormFile("file", filename)
		_, _ = f.Write([]byte(content))
		_ = w.Close()
		return b.String(), w.FormDataContentType()
	}
	okForm, okFormType := multipartBody("name", "plain", "a.bin", "binary\x00content")
	badForm, badFormType := multipartBody("name", "x\x00y", "a.bin", "")
	const form, jsonType = fiber.MIMEApplicationForm, fiber.MIMEApplicationJSON

	for _, c := range []struct {
		method, target, contentType, body string
		refused                           bool
	}{
		{"GET", "/codes?search=ok", "", "", false},
		{"GET", "/codes?search=%00", "", "", true},
		{"GET", "/codes?search=a%00b&x=1", "", "", true},
		{"GET", "/codes?%00=1", "", "", true},
		{"GET", "/codes?search=%2500", "", "", false}, // the text %00
		{"GET", "/codes?search=%C3%A9t%C3%A9", "", "", false},
		{"GET", "/codes?search=%FF", "", "", true}, // not UTF-8
		{"GET", "/codes/%FF", "", "", true},
		{"POST", "/plans", form, "name=%C3%A9&price=5", false},
		{"POST", "/plans", form, "name=%E9&price=5", true},
		{"GET", "/codes/%00", "", "", true},
		{"GET", "/api/v1/codes?search=%00", "", "", true},
		{"POST", "/plans", form, "name=x%00y&price=5", true},
		{"POST", "/plans", form, "name=x%2500y&price=5", false},
		{"POST", "/plans", form + "; charset=utf-8", "name=ok&description=d%00", true},
		{"POST", "/plans", form, `name=a\u0000b`, false}, // a form is not JSON
		{"POST", "/plans", okFormType, okForm, false},    // an uploaded file may hold anything
		{"POST", "/plans", badFormType, badForm, true},
		{"POST", "/api/v1/codes", jsonType, `{"note": "a\u0000b"}`, true},
		{"POST", "/api/v1/codes", jsonType, `{"a\u0000": 1}`, true},
		{"POST", "/api/v1/codes", jsonType, `{"note": "a\\u0000b"}`, false}, // an escaped backslash, then u0000
		{"POST", "/api/v1/codes", jsonType, `{"note": "a\\\u0000b"}`, true}, // an escaped backslash, then a NUL
		{"POST", "/api/v1/codes", jsonType, `{"note": "a\\\\u0000b"}`, false},
		{"POST", "/api/v1/codes", jsonType, `{"note": "a\u00001"}`, true},
		{"POST", "/api/v1/codes", jsonType, `{"note": "a\u0001b \"\u0000"}`, true},
		{"POST", "/api/v1/codes", jsonType, `{"note": "\u00e9 \\"}`, false},
		{"POST", "/api/v1/codes", jsonType, "{\"note\": \"\xff\"}", false}, // the JSON decoder makes it U+FFFD
		{"POST", "/api/v1/codes", jsonType, "{\"note\": \"a\x00b\"}", true},
		{"POST", "/api/v1/codes", "", `{"note": "a\u0000b"}`, true}, // read as JSON whatever it says it is
		{"POST", "/api/v1/codes", form, `{"note": "a\u0000b"}`, true},
		// Left to their own handling.
		{"POST", "/telegram/1", jsonType, `{"message": {"text": "a\u0000b"}}`, false},
		{"POST", "/stripe/webhook", jsonType, `{"a": "\u0000"}`, false},
		{"POST", "/ops/v1/tenants/2/resume?x=%00", jsonType, `{"reason": "x"}`, false},
		{"POST", "/OPS/v1/tenants/2/resume?x=%00", jsonType, `{"reason": "x"}`, false},
		{"GET", "/opsx?x=%00", "", "", true},
	} {
		req := httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
		if c.contentType != "" {
			req.Header.Set("Content-Type", c.contentType)
		}
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatalf("%s %s: %v", c.method, c.target, err)
		}
		body, _ := io.ReadAll(resp.Body)
		what := fmt.Sprintf("%s %s %q", c.method, c.target, c.body)
		switch {
		case !c.refused && (resp.StatusCode != 200 || string(body) != "handled"):
			t.Errorf("%s: %d %.80q, want it handled", what, resp.StatusCode, body)
		case c.refused && resp.StatusCode != 400:
			t.Errorf("%s: %d %.80q, want 400", what, resp.StatusCode, body)
		case c.refused && strings.HasPrefix(c.target, "/api/"):
			var e struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != "invalid_text" || !strings.Contains(e.Error.Message, "Nothing was done") {
				t.Errorf("%s: %q, want the API's error JSON", what, body)
			}
		case c.refused && (!strings.Contains(string(body), "Nothing was done") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html")):
			t.Errorf("%s: %s %.200q, want the console's error page", what, resp.Header.Get("Content-Type"), body)
		}
	}
}
