package membership

import "testing"

// A currency without minor units that the list does not know could never
// be chosen, and its entry would only mislead.
func TestZeroDecimalCurrenciesAreKnown(t *testing.T) {
	for code := range zeroDecimal {
		if !currencies[code] {
			t.Errorf("%s has no minor units but is not in currencies", code)
		}
	}
}
