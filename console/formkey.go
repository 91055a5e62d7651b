package console

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// A form that makes something (codes, an API key, an admin link) carries a
// one-time key, form_key, new each time the page is shown. What it makes
// keeps the request key below, so the same form sent twice (a double
// click, or a reload of the page that answered it) finds what the first
// one made instead of making it again.

// newFormKey is a form's one-time key.
func newFormKey() string { return rand.Text() }

// requestKey names what a form asked for: its key and the values sent.
// The same form sent twice with the same values is one request; changed
// values make another. "": the form had no usable key.
func requestKey(formKey string, values ...any) string {
	if formKey == "" || len(formKey) > 64 {
		return ""
	}
	b := []byte(formKey)
	for _, v := range values {
		b = fmt.Appendf(b, "\x00%v", v)
	}
	sum := sha256.Sum256(b)
	return "console:" + hex.EncodeToString(sum[:16])
}
