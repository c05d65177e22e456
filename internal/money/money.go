// Package money is the one place where amounts of money are represented and
// formatted. An amount is always an integer number of minor units (pence,
// cents, yen) together with its ISO 4217 currency code; floats never appear.
package money

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Money is an amount in minor units of one currency.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"` // ISO 4217, upper case, e.g. "GBP"
}

// New returns Money with the currency code normalised to upper case.
func New(amount int64, currency string) Money {
	return Money{Amount: amount, Currency: NormaliseCurrency(currency)}
}

// NormaliseCurrency upper-cases and trims a currency code. Stripe sends lower case.
func NormaliseCurrency(c string) string { return strings.ToUpper(strings.TrimSpace(c)) }

// zeroDecimal lists the currencies Stripe treats as having no minor unit.
var zeroDecimal = map[string]bool{
	"BIF": true, "CLP": true, "DJF": true, "GNF": true, "JPY": true, "KMF": true,
	"KRW": true, "MGA": true, "PYG": true, "RWF": true, "UGX": true, "VND": true,
	"VUV": true, "XAF": true, "XOF": true, "XPF": true,
}

// threeDecimal lists the currencies with three decimal places.
var threeDecimal = map[string]bool{"BHD": true, "JOD": true, "KWD": true, "OMR": true, "TND": true, "IQD": true, "LYD": true}

// Exponent is the number of decimal places of a currency's minor unit.
func Exponent(currency string) int {
	c := NormaliseCurrency(currency)
	switch {
	case zeroDecimal[c]:
		return 0
	case threeDecimal[c]:
		return 3
	default:
		return 2
	}
}

var symbols = map[string]string{"GBP": "£", "EUR": "€", "USD": "$", "JPY": "¥"}

// String formats the amount for people, e.g. "£1,234.50", "-€3.00", "CHF 12.00".
func (m Money) String() string {
	exp := Exponent(m.Currency)
	a := m.Amount
	neg := a < 0
	if neg {
		a = -a
	}
	div := int64(1)
	for range exp {
		div *= 10
	}
	whole, frac := a/div, a%div
	s := groupThousands(strconv.FormatInt(whole, 10))
	if exp > 0 {
		s += "." + fmt.Sprintf("%0*d", exp, frac)
	}
	if sym, ok := symbols[m.Currency]; ok {
		s = sym + s
	} else {
		s = m.Currency + " " + s
	}
	if neg {
		s = "-" + s
	}
	return s
}

func groupThousands(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	lead := len(digits) % 3
	if lead > 0 {
		b.WriteString(digits[:lead])
	}
	for i := lead; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// Totals accumulates amounts per currency. Amounts of different currencies are
// never added together.
type Totals map[string]int64

// Add adds m to the running total of its currency.
func (t Totals) Add(m Money) { t[NormaliseCurrency(m.Currency)] += m.Amount }

// Currencies returns the currency codes in alphabetical order, so that
// everything built from Totals is deterministic.
func (t Totals) Currencies() []string {
	cs := make([]string, 0, len(t))
	for c := range t {
		cs = append(cs, c)
	}
	sort.Strings(cs)
	return cs
}

// List returns the totals as Money values in currency order.
func (t Totals) List() []Money {
	out := make([]Money, 0, len(t))
	for _, c := range t.Currencies() {
		out = append(out, Money{Amount: t[c], Currency: c})
	}
	return out
}
