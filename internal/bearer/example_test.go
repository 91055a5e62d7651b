package bearer_test

import (
	"fmt"

	"github.com/gatekey/gatekey/internal/bearer"
)

func ExampleToken() {
	for _, h := range []string{"Bearer gk_1", "bearer  gk_2 ", "Basic dXNlcg==", "Bearer ", "gk_3"} {
		token, ok := bearer.Token(h)
		fmt.Printf("%q %v\n", token, ok)
	}
	// Output:
	// "gk_1" true
	// "gk_2" true
	// "dXNlcg==" false
	// "" false
	// "" false
}
