package address_test

import (
	"slices"
	"testing"

	"impactd/internal/address"
)

// TestLines: the stored form (as internal/ingest writes it) comes out as the
// destination's post expects it. Expected lines are written out by hand from
// the countries' postal conventions, not computed.
func TestLines(t *testing.T) {
	tests := []struct {
		name, stored, from string
		want               []string
	}{
		{"GB domestic: town and postcode in capitals, no country", "Flat 3, 14 Canal Street\nManchester m1 3he\nGB", "GB",
			[]string{"Flat 3, 14 Canal Street", "MANCHESTER", "M1 3HE"}},
		{"GB from the US", "10 Downing Street\nLondon SW1A 2AA\nGB", "US",
			[]string{"10 Downing Street", "LONDON", "SW1A 2AA", "UNITED KINGDOM"}},
		{"GB with a county", "Rose Cottage\nMill Lane\nBampton OX18 2LY\nOxfordshire\nGB", "GB",
			[]string{"Rose Cottage", "Mill Lane", "BAMPTON", "OX18 2LY"}},
		{"US domestic: town, state and ZIP on one line", "1600 Pennsylvania Avenue NW\nWashington 20500\nDC\nUS", "US",
			[]string{"1600 Pennsylvania Avenue NW", "WASHINGTON, DC 20500"}},
		{"US without a state, from the UK", "350 Fifth Avenue\nNew York 10118\nUS", "GB",
			[]string{"350 Fifth Avenue", "NEW YORK 10118", "UNITED STATES"}},
		{"DE: postcode before the town", "Unter den Linden 77\nBerlin 10117\nDE", "GB",
			[]string{"Unter den Linden 77", "10117 Berlin", "GERMANY"}},
		{"DE keeps ß", "Hauptstraße 5\nMünchen 80331\nDE", "DE",
			[]string{"Hauptstraße 5", "80331 München"}},
		{"FR: postcode first, town in capitals", "8 rue de Rivoli\nParis 75004\nFR", "GB",
			[]string{"8 rue de Rivoli", "75004 PARIS", "FRANCE"}},
		{"IE: Eircode on its own line", "12 Grafton Street\nDublin D02 X285\nIE", "GB",
			[]string{"12 Grafton Street", "Dublin", "D02 X285", "IRELAND"}},
		{"RU: Cyrillic, town in capitals, index last", "ул. Тверская, д. 7, кв. 12\nМосква 125009\nRU", "GB",
			[]string{"УЛ. ТВЕРСКАЯ, Д. 7, КВ. 12", "МОСКВА", "125009", "RUSSIAN FEDERATION"}},
		{"GR: Greek, postcode before the town", "Οδός Αριστοτέλους 12\nΘεσσαλονίκη 546 23\nGR", "GB",
			[]string{"Οδός Αριστοτέλους 12", "546 23 Θεσσαλονίκη", "GREECE"}},
		{"country outside the table: lines kept, code as country", "Calle 10 # 5-51\nBogotá 110311\nCO", "GB",
			[]string{"Calle 10 # 5-51", "Bogotá 110311", "CO"}},
		{"no country stored: lines as they are", "1 High Street\nLondon SE1 7TP", "GB",
			[]string{"1 High Street", "London SE1 7TP"}},
		{"postcode that does not fit the country: lines kept", "1 High Street\nLondon\nGB", "GB",
			[]string{"1 High Street", "London"}},
		{"empty", "", "GB", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := address.ParseStored(tt.stored)
			if got := a.Lines(tt.from); !slices.Equal(got, tt.want) {
				t.Errorf("Lines(%q) of %q\n got %q\nwant %q", tt.from, tt.stored, got, tt.want)
			}
		})
	}
}

func TestLinesDoesNotChangeTheAddress(t *testing.T) {
	a := address.ParseStored("ул. Тверская 7\nМосква 125009\nRU")
	_ = a.Lines("GB")
	if a.Street[0] != "ул. Тверская 7" {
		t.Errorf("Lines upper-cased the caller's street: %q", a.Street[0])
	}
}
