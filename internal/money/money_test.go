package money_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"impactd/internal/money"
)

func TestString(t *testing.T) {
	tests := []struct {
		m    money.Money
		want string
	}{
		{money.New(0, "gbp"), "£0.00"},
		{money.New(5, "GBP"), "£0.05"},
		{money.New(2500, "GBP"), "£25.00"},
		{money.New(123456789, "EUR"), "€1,234,567.89"},
		{money.New(-1050, "USD"), "-$10.50"},
		{money.New(5000, "JPY"), "¥5,000"},
		{money.New(1234, "KWD"), "KWD 1.234"},
		{money.New(100000, "CHF"), "CHF 1,000.00"},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.m, got, tt.want)
		}
	}
}

func TestTotalsNeverMixCurrencies(t *testing.T) {
	tot := money.Totals{}
	tot.Add(money.New(1000, "usd"))
	tot.Add(money.New(250, "GBP"))
	tot.Add(money.New(-100, "USD"))
	got := tot.List()
	want := []money.Money{{Amount: 250, Currency: "GBP"}, {Amount: 900, Currency: "USD"}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("total %d: got %v, want %v", i, got[i], want[i])
		}
	}
}

func TestCheckedArithmetic(t *testing.T) {
	if _, err := money.Add(math.MaxInt64, 1); !errors.Is(err, money.ErrOverflow) {
		t.Errorf("MaxInt64+1: %v", err)
	}
	if _, err := money.Sub(math.MinInt64, 1); !errors.Is(err, money.ErrOverflow) {
		t.Errorf("MinInt64-1: %v", err)
	}
	if _, err := money.Sum(math.MaxInt64, math.MaxInt64); !errors.Is(err, money.ErrOverflow) {
		t.Errorf("two MaxInt64: %v", err)
	}
	if got, err := money.Sum(money.MaxAmount, money.MaxAmount, -5); err != nil || got != 2*money.MaxAmount-5 {
		t.Errorf("sum = %d, %v", got, err)
	}
	tot := money.Totals{}
	if err := tot.Add(money.New(math.MaxInt64, "GBP")); err != nil {
		t.Fatal(err)
	}
	if err := tot.Add(money.New(1, "GBP")); !errors.Is(err, money.ErrOverflow) || tot["GBP"] != math.MaxInt64 {
		t.Errorf("overflowing total: %v, left %d", err, tot["GBP"])
	}
	if got := money.New(math.MinInt64, "GBP").String(); strings.Contains(got, "-£") && strings.Contains(got, "9223") {
		t.Errorf("MinInt64 printed as %q", got)
	}
}

func TestCurrencies(t *testing.T) {
	for c, want := range map[string]bool{"gbp": true, "USD": true, "jpy": true, "KWD": true, "VES": true, "SLE": true,
		"xyz": false, "": false, "XAU": false, "XTS": false, "XXX": false, "DEM": false, "<script>alert(1)</script>": false, "GB": false} {
		if got := money.ValidCurrency(c); got != want {
			t.Errorf("ValidCurrency(%q) = %v, want %v", c, got, want)
		}
	}
	for c, want := range map[string]int{"GBP": 2, "jpy": 0, "KRW": 0, "XOF": 0, "KWD": 3, "TND": 3, "ISK": 2, "HUF": 2, "IQD": 2} {
		if got := money.Exponent(c); got != want {
			t.Errorf("Exponent(%s) = %d, want %d", c, got, want)
		}
	}
}
