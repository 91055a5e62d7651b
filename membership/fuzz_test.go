package membership_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/gatekey/gatekey/membership"
)

func FuzzNormalizeCode(f *testing.F) {
	for _, s := range []string{"ABCD-EFGH-JKMN-PQRS", "abcd efgh jkmn pqrs", "o0il-1111-2222-3333", "", "ÄBCD-EFGH-JKMN-PQRS", "ABCD\x00EFGHJKMNPQRS", strings.Repeat("-", 70)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, ok := membership.NormalizeCode(s)
		if !ok {
			return
		}
		if len(code) != membership.CodeLength {
			t.Fatalf("NormalizeCode(%q) = %q: not %d characters", s, code, membership.CodeLength)
		}
		for _, r := range code {
			if !strings.ContainsRune("0123456789ABCDEFGHJKMNPQRSTVWXYZ", r) {
				t.Fatalf("NormalizeCode(%q) = %q: %q is not Crockford base32", s, code, r)
			}
		}
		if again, ok := membership.NormalizeCode(membership.FormatCode(code)); !ok || again != code {
			t.Fatalf("the grouped form of %q normalises to %q, %v", code, again, ok)
		}
	})
}

// FuzzCSVCell writes any owner-chosen text (a plan name) through the
// codes export's escaping and encoding/csv, and reads it back: it must
// come back whole, and never as a cell a spreadsheet would run.
func FuzzCSVCell(f *testing.F) {
	for _, s := range []string{`=HYPERLINK("x")`, "+1", "-1", "@SUM(A1)", "\tx", "\rx", "Gold, \"VIP\"\nplan", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		escaped := membership.EscapeCSVCell(s)
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		if err := w.Write([]string{escaped, "x"}); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatalf("%q: written CSV does not read back: %v", s, err)
		}
		got := rows[0][0]
		if got != "" && strings.ContainsRune("=+-@\t\r", rune(got[0])) {
			t.Fatalf("%q comes out as %q, which a spreadsheet would run", s, got)
		}
		// encoding/csv reads a quoted CRLF back as LF; nothing else changes.
		if want := strings.ReplaceAll(escaped, "\r\n", "\n"); got != want {
			t.Fatalf("%q comes back as %q, want %q", s, got, want)
		}
		if strings.TrimPrefix(escaped, "'") != s && escaped != s {
			t.Fatalf("%q escaped as %q: more than a leading apostrophe", s, escaped)
		}
	})
}
