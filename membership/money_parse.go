package membership

import (
	"strconv"
	"strings"
)

// ParseMoney reads an amount as people write it ("9.99", "9,99", "10",
// "1 000") in a currency, into minor units, without floats.
func ParseMoney(amount, currency string) (Money, error) {
	m := Money{Currency: strings.ToUpper(strings.TrimSpace(currency))}
	if err := m.validate(); err != nil {
		return m, err
	}
	s := strings.NewReplacer(" ", "", "\u00a0", "", "_", "").Replace(strings.TrimSpace(amount))
	if s == "" {
		return m, nil
	}
	s = strings.Replace(s, ",", ".", 1)
	whole, frac, hasFrac := strings.Cut(s, ".")
	digits := 2
	if zeroDecimal[m.Currency] {
		digits = 0
	}
	bad := invalid("the price must be a number such as 9.99 (at most 2 decimals)")
	if digits == 0 {
		bad = invalid("the price must be a whole number in %s, such as 500", m.Currency)
	}
	if whole == "" && !hasFrac || len(frac) > digits || len(whole) > 12 || strings.HasPrefix(whole, "-") || strings.HasPrefix(whole, "+") {
		return m, bad
	}
	w := int64(0)
	if whole != "" {
		v, err := strconv.ParseInt(whole, 10, 64)
		if err != nil {
			return m, bad
		}
		w = v
	}
	f := int64(0)
	if frac != "" {
		v, err := strconv.ParseInt(frac+strings.Repeat("0", digits-len(frac)), 10, 64)
		if err != nil || strings.ContainsAny(frac, "+-") {
			return m, bad
		}
		f = v
	}
	scale := int64(1)
	for range digits {
		scale *= 10
	}
	m.Minor = w*scale + f
	return m, m.validate()
}

// Decimal writes the amount as a plain number for a form field: "9.99".
func (m Money) Decimal() string {
	if zeroDecimal[m.Currency] {
		return strconv.FormatInt(m.Minor, 10)
	}
	s := strconv.FormatInt(m.Minor/100, 10) + "." + leftPad(strconv.FormatInt(m.Minor%100, 10))
	return strings.TrimSuffix(s, ".00")
}

func leftPad(s string) string {
	if len(s) < 2 {
		return "0" + s
	}
	return s
}

// Figure writes the amount with all its decimals and its currency, for
// columns of figures: "0.00 USD", "1.50 USD", "500 JPY".
func (m Money) Figure() string {
	if zeroDecimal[m.Currency] {
		return strconv.FormatInt(m.Minor, 10) + " " + m.Currency
	}
	return strconv.FormatInt(m.Minor/100, 10) + "." + leftPad(strconv.FormatInt(m.Minor%100, 10)) + " " + m.Currency
}
