package membership_test

import (
	"fmt"

	"github.com/gatekey/gatekey/membership"
)

func ExampleMoney_Figure() {
	for _, m := range []membership.Money{{Minor: 0, Currency: "USD"}, {Minor: 150, Currency: "EUR"}, {Minor: 500, Currency: "JPY"}} {
		fmt.Printf("%s | %s\n", m.Figure(), m)
	}
	// Output:
	// 0.00 USD | free
	// 1.50 EUR | 1.50 EUR
	// 500 JPY | 500 JPY
}
