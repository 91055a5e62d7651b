package membership

import (
	"fmt"
	"regexp"
	"strings"
)

// Money is an amount in a currency's minor units (cents), never a float.
type Money struct {
	Minor    int64
	Currency string // ISO 4217, upper case
}

var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// MaxPriceMinor bounds a price, in minor units: Stripe charges at most
// eight digits (999,999.99 in a currency with cents), and a plan's price is
// what a member may be asked to pay.
const MaxPriceMinor = 99_999_999

func (m Money) validate() error {
	if !currencyCode.MatchString(m.Currency) {
		return invalid("the currency must be a three-letter ISO code such as USD or EUR")
	}
	if !currencies[m.Currency] {
		return invalid("%s is not a currency code Gatekey knows: use an ISO 4217 code such as USD or EUR", m.Currency)
	}
	if m.Minor > MaxPriceMinor {
		return invalid("the price can be at most %s %s", Money{Minor: MaxPriceMinor, Currency: m.Currency}.Decimal(), m.Currency)
	}
	return nil
}

// zeroDecimal lists currencies without minor units (ISO 4217 exponent 0).
var zeroDecimal = map[string]bool{
	"BIF": true, "CLP": true, "DJF": true, "GNF": true, "ISK": true, "JPY": true, "KMF": true, "KRW": true,
	"PYG": true, "RWF": true, "UGX": true, "VND": true, "VUV": true, "XAF": true, "XOF": true, "XPF": true,
}

// String formats the amount for people: "9.99 USD", "500 JPY", "free".
func (m Money) String() string {
	if m.Minor == 0 {
		return "free"
	}
	if zeroDecimal[m.Currency] {
		return fmt.Sprintf("%d %s", m.Minor, m.Currency)
	}
	s := fmt.Sprintf("%d.%02d", m.Minor/100, m.Minor%100)
	return strings.TrimSuffix(s, ".00") + " " + m.Currency
}
