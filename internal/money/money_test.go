package money_test

import (
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
