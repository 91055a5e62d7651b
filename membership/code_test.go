package membership_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gatekey/gatekey/membership"
)

func TestNewCodeIsSixteenCrockfordCharacters(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		c := membership.NewCode()
		if len(c) != 16 || strings.ContainsAny(c, "ILOU") || strings.ToUpper(c) != c {
			t.Fatalf("code %q is not 16 upper-case Crockford characters", c)
		}
		if n, ok := membership.NormalizeCode(c); !ok || n != c {
			t.Fatalf("NormalizeCode(%q) = %q, %v", c, n, ok)
		}
		if seen[c] {
			t.Fatalf("code %q repeated within 10,000", c)
		}
		seen[c] = true
	}
}

func TestNormalizeCode(t *testing.T) {
	for in, want := range map[string]string{
		"ABCD-EFGH-JKMN-PQRS":   "ABCDEFGHJKMNPQRS",
		"abcd efgh jkmn pqrs":   "ABCDEFGHJKMNPQRS",
		" o0il-1111-2222-3333 ": "0011111122223333",
		"ABCDEFGHJKMNPQRS":      "ABCDEFGHJKMNPQRS",
		"abcd_efgh_jkmn_pqrs\n": "ABCDEFGHJKMNPQRS",
		// As phones and messages paste them: typographic dashes, a full
		// stop, quotes, a label.
		"ABCD–EFGH—JKMN‑PQRS":            "ABCDEFGHJKMNPQRS",
		"ABCD-EFGH-JKMN-PQRS.":           "ABCDEFGHJKMNPQRS",
		"“ABCD-EFGH-JKMN-PQRS”":          "ABCDEFGHJKMNPQRS",
		"Code: ABCD-EFGH-JKMN-PQRS":      "ABCDEFGHJKMNPQRS",
		"Your code：abcd efgh jkmn pqrs!": "ABCDEFGHJKMNPQRS",
	} {
		if got, ok := membership.NormalizeCode(in); !ok || got != want {
			t.Errorf("NormalizeCode(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "hello", "where is my channel", "abcde-fgh-jkmn-pqrs", "ABCD-EFGH-JKMN-PQR", "ABCD-EFGH-JKMN-PQRST", "ABCD-EFGH-JKMN-PQRU", "ABCD+EFGH+JKMN+PQRS", strings.Repeat("A", 100)} {
		if got, ok := membership.NormalizeCode(bad); ok {
			t.Errorf("NormalizeCode(%q) = %q, accepted; want refused", bad, got)
		}
	}
}

func TestEscapeCSVCell(t *testing.T) {
	for in, want := range map[string]string{
		`=HYPERLINK("x")`: `'=HYPERLINK("x")`,
		"+1":              "'+1",
		"-2":              "'-2",
		"@SUM(A1)":        "'@SUM(A1)",
		"\tx":             "'\tx",
		"\rx":             "'\rx",
		"Gold plan":       "Gold plan",
		"":                "",
		"a=b":             "a=b",
	} {
		if got := membership.EscapeCSVCell(in); got != want {
			t.Errorf("EscapeCSVCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func ExampleNormalizeCode() {
	// A member types a code the way they read it.
	code, ok := membership.NormalizeCode("abcd efgh jkmn pqrs")
	fmt.Println(ok, membership.FormatCode(code))
	fmt.Println(membership.ActivationLink("my_club_bot", code))
	// Output:
	// true ABCD-EFGH-JKMN-PQRS
	// https://t.me/my_club_bot?start=ABCDEFGHJKMNPQRS
}

func TestFindCodes(t *testing.T) {
	for _, c := range []struct {
		text string
		want []membership.Candidate // in the order they are looked up
	}{
		{"H79D-RFBJ-49AA-0B57", []membership.Candidate{{"H79DRFBJ49AA0B57", true}}},
		{"my code is H79D-RFBJ-49AA-0B57 🙏", []membership.Candidate{{"H79DRFBJ49AA0B57", true}}},
		{"wy21 vyet gvx9 0wet please", []membership.Candidate{{"WY21VYETGVX90WET", true}}},
		{"7K3-MQ9TX-2PWD-H4NB", []membership.Candidate{{"7K3MQ9TX2PWDH4NB", true}}}, // a dash out of place
		{"ABCD EFGH JKMN PQRS", []membership.Candidate{{"ABCDEFGHJKMNPQRS", true}}},
		{"abcd efgh jkmn pqrs", []membership.Candidate{{"ABCDEFGHJKMNPQRS", false}}}, // words, or a code without a digit
		{"need help with this", []membership.Candidate{{"NEEDHE1PW1THTH1S", false}}},
		{"Code: ABCD-EFGH-JKMN-PQRS", []membership.Candidate{{"ABCDEFGHJKMNPQRS", true}}}, // a label in lower case does not make it words
		{"code: abcd efgh jkmn pqrs", []membership.Candidate{{"ABCDEFGHJKMNPQRS", false}}},
		// A word before the code reads as a code too: both are looked up.
		{"code 7K3M Q9TX 2PWD H4NB", []membership.Candidate{{"C0DE7K3MQ9TX2PWD", true}, {"7K3MQ9TX2PWDH4NB", true}}},
		// An activation link pasted as text.
		{"https://t.me/gatekey_demo_bot?start=J9X4641EX2WR6CP2", []membership.Candidate{{"J9X4641EX2WR6CP2", true}}},
		{"t.me/gatekey_demo_bot?start=j9x4641ex2wr6cp2 thanks!", []membership.Candidate{{"J9X4641EX2WR6CP2", true}}},
		{"Start=J9X4641EX2WR6CP2", []membership.Candidate{{"J9X4641EX2WR6CP2", true}}},
		{"https://t.me/gatekey_demo_bot?start=hello", nil}, // a link with a tag of the owner's, not a code
		{"where is my channel", nil},
		{"my code is abcd efgh jkmn pqrs", nil}, // in a sentence, only with a digit
		{"hello", nil},
	} {
		if got := membership.FindCodes(c.text); !slices.Equal(got, c.want) {
			t.Errorf("FindCodes(%q) = %v, want %v", c.text, got, c.want)
		}
	}
}

func TestLooksLikeCode(t *testing.T) {
	for text, want := range map[string]bool{
		"ABCD-EFGH-JKMN-PQ5":      true, // a character short
		"ABCDEFGHJKMNPQRS7X":      true, // two over, in one run
		"I paid 25 dollars":       false,
		"My order number is 4471": false,
		"I paid 5 USD yesterday":  false,
		"hello there":             false,
	} {
		if got := membership.LooksLikeCode(text); got != want {
			t.Errorf("LooksLikeCode(%q) = %v, want %v", text, got, want)
		}
	}
}
