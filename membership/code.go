package membership

import (
	"crypto/rand"
	"slices"
	"strings"
	"unicode"
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
// ok is false when the result cannot be a code. Text in lower case without
// a digit may be words as well as a code, so in it spaces and dashes may
// only fall between groups of four, as codes are written: "where is my
// channel", sixteen letters of the alphabet, is not taken for a code,
// while "7K3-MQ9TX-2PWD-H4NB", a dash out of place, still is.
func NormalizeCode(s string) (code string, ok bool) {
	if len(s) > 64 {
		return "", false
	}
	typed := CodeText(s)
	strict := !sureCode(typed)
	var b strings.Builder
	for _, r := range typed {
		switch {
		case r == ' ' || r == '-' || r == '\t' || r == '\n' || r == '_':
			if strict && b.Len()%4 != 0 {
				return "", false
			}
			continue
		}
		switch r = unicode.ToUpper(r); {
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

// sureCode tells whether text written as a code is surely meant as one:
// it has a digit, or no lower case. "need help with this" is sixteen
// letters of the alphabet in four groups of four, as a code without a
// digit (one in 400) may be.
func sureCode(typed string) bool {
	return strings.ContainsAny(typed, "0123456789") || !strings.ContainsFunc(typed, unicode.IsLower)
}

// Candidate is a code found in a message (FindCodes). Sure is false for
// the whole message read as a code when it may be words: a failed lookup
// of it is not counted as a wrong code.
type Candidate struct {
	Code string
	Sure bool
}

// maxCandidates bounds the lookups one message may cost.
const maxCandidates = 4

// FindCodes finds what may be a code in a message: the whole of it
// (NormalizeCode), and then one to four words of it that hold a digit, as
// in "my code is H79D-RFBJ-49AA-0B57 🙏" or "WY21 VYET GVX9 0WET please".
// Every candidate is looked up, since a group of words may read as a code
// ("code 7K3M Q9TX 2PWD" before the real one's last group).
func FindCodes(text string) []Candidate {
	var found []Candidate
	if code, ok := linkCode(text); ok {
		found = append(found, Candidate{code, true})
	}
	if code, ok := NormalizeCode(text); ok && len(found) == 0 {
		found = append(found, Candidate{code, sureCode(CodeText(text))})
	}
	words := strings.Fields(text)
	for i := range words {
		for n := 1; n <= 4 && i+n <= len(words) && len(found) < maxCandidates; n++ {
			w := strings.Join(words[i:i+n], " ")
			if !strings.ContainsAny(w, "0123456789") {
				continue
			}
			if code, ok := NormalizeCode(w); ok && !slices.ContainsFunc(found, func(c Candidate) bool { return c.Code == code }) {
				found = append(found, Candidate{code, true})
			}
		}
	}
	return found
}

// linkCode is the code of an activation link pasted as text
// ("https://t.me/bot?start=CODE", or "start=CODE"): members given the link
// in a list often paste it into the chat instead of opening it.
func linkCode(text string) (string, bool) {
	const param = "start="
	for i := 0; i+len(param) <= len(text); i++ {
		if !strings.EqualFold(text[i:i+len(param)], param) {
			continue
		}
		rest := text[i+len(param):]
		if end := strings.IndexFunc(rest, func(r rune) bool { return !isCodeRune(r) && r != '-' }); end >= 0 {
			rest = rest[:end]
		}
		return NormalizeCode(rest)
	}
	return "", false
}

func isCodeRune(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}

// LooksLikeCode tells a code mistyped (a character short or over) from
// other text, so that it is answered as a code that is not valid, not
// with the help: 12 to 20 letters and digits, with at least one digit, in
// one run or in groups of three to five, as codes are written ("ABCD-EFGH-
// JKMN-PQ5"), not in words ("I paid 25 dollars").
func LooksLikeCode(text string) bool {
	n, digits := 0, 0
	groups := strings.FieldsFunc(CodeText(text), func(r rune) bool { return r == ' ' || r == '-' || r == '_' })
	for _, g := range groups {
		if len(groups) > 1 && (len(g) < 3 || len(g) > 5) {
			return false
		}
		for _, r := range g {
			switch {
			case r >= '0' && r <= '9':
				n++
				digits++
			case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
				n++
			default:
				return false
			}
		}
	}
	return n >= 12 && n <= 20 && digits > 0 && len(groups) <= 5
}

// CodeShaped tells whether a message is meant as a code: one may be in it
// (FindCodes), or it looks like one mistyped (LooksLikeCode). Only such
// messages are answered as codes.
func CodeShaped(text string) bool {
	return len(FindCodes(text)) > 0 || LooksLikeCode(text)
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
