package nulcheck_test

import (
	"fmt"

	"github.com/gatekey/gatekey/internal/nulcheck"
)

// A NUL escape becomes the replacement character; an escaped backslash
// followed by the text u0000 is left as it is.
func ExampleReplaceJSONNUL() {
	fmt.Println(string(nulcheck.ReplaceJSONNUL([]byte(`{"text": "a\u0000b\\u0000c\u0000"}`))))
	fmt.Println(nulcheck.JSONEscapesNUL([]byte(`{"text": "\\u0000"}`)))
	// Output:
	// {"text": "a\ufffdb\\u0000c\ufffd"}
	// false
}

// Bytes that are not UTF-8 become the replacement character too, a run of
// them one character.
func ExampleStorableJSON() {
	fmt.Printf("%s\n", nulcheck.StorableJSON([]byte("{\"first_name\": \"An\xff\xfeya\\u0000\"}")))
	// Output:
	// {"first_name": "An�ya\ufffd"}
}
