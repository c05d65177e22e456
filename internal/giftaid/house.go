package giftaid

import (
	"regexp"
	"strings"

	"impactd/internal/address"
)

// Home is the part of a donor's home address the schedule needs.
type Home struct {
	House    string // house name or number
	Postcode string // upper case, one space before the inward code
}

var (
	// houseNumber is a number at the start of a street line: "12",
	// "12A", "12-14", "12 - 14", "7/9".
	houseNumber = regexp.MustCompile(`^(\d+[A-Za-z]?(?:\s*[-/]\s*\d+[A-Za-z]?)?)\b\s+\S`)
	// flat is a flat, apartment or unit named before the building.
	flat = regexp.MustCompile(`(?i)^(flat|apartment|apt\.?|unit|suite)\s+\S+$`)
	// poBox is a post office box: not a home address.
	poBox = regexp.MustCompile(`(?i)^p\.?\s*o\.?\s*box\b`)
	// streetWords end a street line that has no house name or number in it
	// ("High Street"), so that it is not taken for a house name.
	streetWords = regexp.MustCompile(`(?i)\b(street|st|road|rd|lane|ln|avenue|ave|close|drive|dr|way|crescent|place|pl|gardens|terrace|square|sq|hill|grove|row|walk|mews|parade|broadway|park|rise|view|court|ct)\.?$`)
	// ukPostcode is a UK postcode (Royal Mail's shapes, and GIR 0AA).
	ukPostcode = regexp.MustCompile(`^(GIR ?0AA|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})$`)
)

// NormalisePostcode writes a UK postcode as HMRC asks: capital letters and
// one space before the last three characters ("sw1a1aa" → "SW1A 1AA"). It
// reports false for anything that is not a UK postcode.
func NormalisePostcode(p string) (string, bool) {
	p = strings.ToUpper(strings.Join(strings.Fields(p), ""))
	if len(p) < 5 || !ukPostcode.MatchString(p) {
		return "", false
	}
	return p[:len(p)-3] + " " + p[len(p)-3:], true
}

// HouseNameOrNumber finds the house name or number in the street lines of
// a UK address. The rule, tried on the first street line and then, when
// the first names only a flat, on the next:
//
//   - a line (or the first comma-separated part of it) that starts with a
//     number is that number, with a letter or range: "12 High Street" →
//     "12", "12A Mill Lane" → "12A", "12-14 Church Lane" → "12-14";
//   - a flat, apartment or unit before the building ("Flat 3, 12 High
//     Street", or "Flat 3" on a line of its own) is kept in front of the
//     building's number or name: "Flat 3, 12";
//   - a part without digits that does not end with a street word (Street,
//     Road, Lane, Close …) is a house name: "Rose Cottage, Mill Lane" →
//     "Rose Cottage";
//   - a P.O. Box, or a street with neither, gives "" (the gift is an
//     exception: HMRC needs the home's name or number).
func HouseNameOrNumber(street []string) string {
	var parts []string
	for _, line := range street {
		for _, p := range strings.Split(line, ",") {
			if p = strings.Join(strings.Fields(p), " "); p != "" {
				parts = append(parts, p)
			}
		}
	}
	prefix := ""
	for i, p := range parts {
		if i > 2 {
			break
		}
		if poBox.MatchString(p) {
			return ""
		}
		if flat.MatchString(p) {
			if prefix != "" {
				return ""
			}
			prefix = p
			continue
		}
		var house string
		switch m := houseNumber.FindStringSubmatch(p + " x"); {
		case m != nil:
			house = strings.Join(strings.Fields(m[1]), "")
		case !strings.ContainsAny(p, "0123456789") && !streetWords.MatchString(p):
			house = p
		default:
			return prefix
		}
		if prefix != "" {
			return prefix + ", " + house
		}
		return house
	}
	return prefix
}

// HomeOf reads the house name or number and postcode of a stored address
// (internal/address.ParseStored). It reports a Reason when the address
// cannot go on the schedule: none, not in the UK, no postcode, no house
// name or number.
func HomeOf(stored string) (Home, Reason) {
	if strings.TrimSpace(stored) == "" {
		return Home{}, ReasonNoAddress
	}
	a := address.ParseStored(stored)
	if a.Country != "GB" {
		return Home{}, ReasonNotUK
	}
	pc, ok := NormalisePostcode(a.Postcode)
	if !ok {
		return Home{}, ReasonNoPostcode
	}
	house := HouseNameOrNumber(a.Street)
	if house == "" {
		return Home{Postcode: pc}, ReasonNoHouse
	}
	return Home{House: house, Postcode: pc}, ""
}
