package membership

import (
	"crypto/rand"
	"strings"
	"unicode/utf8"
)

// Access codes are 16 characters of Crockford's base32: 80 random bits,
// in an alphabet without I, L, O and U, so that what people misread or
// mistype can be put right (see NormalizeCode).
const (
	codeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	CodeLength   = 16
)

// NewCode returns a fresh random code.
func NewCode() string {
	var raw [10]byte // 80 bits
	if _, err := rand.Read(raw[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	var b [CodeLength]byte
	var acc uint64
	bits, n := 0, 0
	for _, x := range raw {
		acc = acc<<8 | uint64(x)
		bits += 8
		for bits >= 5 {
			bits -= 5
			b[n] = codeAlphabet[(acc>>bits)&31]
			n++
		}
	}
	return string(b[:])
}

// NormalizeCode turns what a person typed or pasted into the stored form:
// upper case, without spaces or dashes, with O read as 0 and I or L as 1.
// ok is false when the result cannot be a code.
func NormalizeCode(s string) (code string, ok bool) {
	if len(s) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(CodeText(s)) {
		switch {
		case r == ' ' || r == '-' || r == '\t' || r == '\n' || r == '_':
			continue
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		case !strings.ContainsRune(codeAlphabet, r):
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != CodeLength {
		return "", false
	}
	return b.String(), true
}

// CodeText is the part of a message that would be a code, as people paste
// it: after a label ("Code: …"), without the quotes or full stop around it,
// and with typographic dashes (which phones put in) as plain ones.
func CodeText(s string) string {
	if i := strings.LastIndexAny(s, ":："); i >= 0 {
		_, size := utf8.DecodeRuneInString(s[i:])
		s = s[i+size:]
	}
	s = strings.Trim(s, " \t\n.,;!?\"'«»“”‘’()[]")
	return codeDashes.Replace(s)
}

// codeDashes are the dashes and hyphens other than '-' that a phone or a
// word processor may put between a code's groups.
var codeDashes = strings.NewReplacer("‐", "-", "‑", "-", "‒", "-", "–", "-", "—", "-", "―", "-", "−", "-")

// FormatCode groups a code in fours for people to read: ABCD-EFGH-JKMN-PQRS.
func FormatCode(code string) string {
	if len(code) != CodeLength {
		return code
	}
	return code[0:4] + "-" + code[4:8] + "-" + code[8:12] + "-" + code[12:16]
}

// ActivationLink opens the bot with the code as the /start payload.
func ActivationLink(botUsername, code string) string {
	return "https://t.me/" + botUsername + "?start=" + code
}
