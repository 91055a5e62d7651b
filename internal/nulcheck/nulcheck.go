// Package nulcheck finds text in a request that PostgreSQL cannot store:
// a NUL character, which neither text nor jsonb (as the escape \u0000)
// takes, or bytes that are not UTF-8 (error 22021 both). A request
// carrying such text would fail halfway with a 500, or be carried out and
// then fail to be recorded; it is refused before any handler runs instead
// (Refusal). Telegram's updates cannot be refused (Telegram would deliver
// them again and again), so their NULs are replaced (ReplaceJSONNUL).
package nulcheck

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
)

// Refusal is what to tell a request with text the database cannot store,
// saying what and where; "" if its text is fine. It looks at the path and
// the query string (raw, and with %XX decoded), and the names and values
// of a urlencoded or multipart form (not the contents of uploaded files),
// which must be UTF-8 without NUL characters; and at any other body as
// JSON, which must have no raw NUL and no escape \u0000 (but \\u0000, an
// escaped backslash followed by the text u0000, is fine). A JSON body
// that is not UTF-8 is left alone: Go's decoder replaces what is not.
//
// jsonBody says the handler reads the body as JSON whatever its
// Content-Type says (the APIs do): it is then checked as JSON, even when
// sent as a form.
func Refusal(c *fiber.Ctx, jsonBody bool) string {
	req := c.Request()
	uri := req.URI()
	if p := uri.Path(); hasNUL(uri.PathOriginal()) || hasNUL(p) {
		return nulIn("the path")
	} else if !utf8.Valid(p) {
		return notUTF8("the path")
	}
	if hasNUL(uri.QueryString()) {
		return nulIn("the query string")
	}
	if msg := checkArgs(uri.QueryArgs(), "the query string"); msg != "" {
		return msg
	}
	body := c.Body()
	if len(body) == 0 {
		return ""
	}
	ct := strings.ToLower(string(req.Header.ContentType()))
	ct, _, _ = strings.Cut(ct, ";")
	if jsonBody {
		ct = fiber.MIMEApplicationJSON
	}
	switch strings.TrimSpace(ct) {
	case fiber.MIMEMultipartForm:
		form, err := c.MultipartForm()
		if err != nil {
			return "" // not a form after all: the handler says so
		}
		var texts []string
		for k, vs := range form.Value {
			texts = append(append(texts, k), vs...)
		}
		for k, fs := range form.File {
			texts = append(texts, k)
			for _, f := range fs {
				texts = append(texts, f.Filename)
			}
		}
		for _, s := range texts {
			if msg := checkText([]byte(s), "the form"); msg != "" {
				return msg
			}
		}
		return ""
	case fiber.MIMEApplicationForm:
		if hasNUL(body) {
			return nulIn("the form")
		}
		return checkArgs(req.PostArgs(), "the form")
	}
	// JSON, whatever the Content-Type says: the APIs read the body as JSON.
	if hasNUL(body) || JSONEscapesNUL(body) {
		return nulIn("the body")
	}
	return ""
}

func nulIn(where string) string {
	return "Text may not contain NUL characters (\\0, %00 or \\u0000), and " + where + " has one. Nothing was done; remove it and try again."
}

func notUTF8(where string) string {
	return "Text must be UTF-8, and " + where + " is not. Nothing was done; send it as UTF-8 and try again."
}

func hasNUL(b []byte) bool { return bytes.IndexByte(b, 0) >= 0 }

func checkText(b []byte, where string) string {
	switch {
	case hasNUL(b):
		return nulIn(where)
	case !utf8.Valid(b):
		return notUTF8(where)
	}
	return ""
}

func checkArgs(a interface {
	VisitAll(func(k, v []byte))
}, where string) string {
	msg := ""
	a.VisitAll(func(k, v []byte) {
		if msg == "" {
			if msg = checkText(k, where); msg == "" {
				msg = checkText(v, where)
			}
		}
	})
	return msg
}

// JSONEscapesNUL tells whether JSON text b has the escape \u0000. Each
// backslash escapes the character after it, so \\u0000 is an escaped
// backslash and the text u0000, not a NUL.
func JSONEscapesNUL(b []byte) bool { return nulEscape(b, 0) >= 0 }

// ReplaceJSONNUL returns JSON text b with each escape \u0000 made
// \ufffd, the replacement character, so that what b holds can be stored;
// b itself if it has none.
func ReplaceJSONNUL(b []byte) []byte {
	i := nulEscape(b, 0)
	if i < 0 {
		return b
	}
	out := bytes.Clone(b)
	for ; i >= 0; i = nulEscape(out, i+6) {
		copy(out[i+2:i+6], "fffd")
	}
	return out
}

// StorableJSON returns JSON text b with all PostgreSQL could not store
// made U+FFFD, the replacement character: each escape \u0000
// (ReplaceJSONNUL), and each run of bytes that are not UTF-8. It returns b
// itself if there are none. Telegram sends UTF-8; this is for a sender
// that does not.
func StorableJSON(b []byte) []byte {
	if !utf8.Valid(b) {
		b = bytes.ToValidUTF8(b, []byte("\uFFFD"))
	}
	return ReplaceJSONNUL(b)
}

// nulEscape is the index of the first escape \u0000 in b at or after
// from (which must not be inside an escape), or -1.
func nulEscape(b []byte, from int) int {
	for i := from; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if i+5 < len(b) && b[i+1] == 'u' && string(b[i+2:i+6]) == "0000" {
			return i
		}
		i++ // the escaped character
	}
	return -1
}
