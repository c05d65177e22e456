// Package period names the stretches of time a statement covers: a quarter
// (2026-Q3), a month (2026-07), a calendar year (2026) or a UK tax year
// (2026/27, 6 April to 5 April). Bounds are computed in the organisation's
// time zone, so a gift made at 23:30 on 30 September in London belongs to Q3
// even though it is already 1 October in UTC+2.
package period

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind is the length of a period.
type Kind string

// The kinds of period.
const (
	Quarter Kind = "quarter"
	Month   Kind = "month"
	Year    Kind = "year"
	TaxYear Kind = "taxyear"
)

// ParseKind reads a kind name as used in configuration.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(strings.ToLower(strings.TrimSpace(s))); k {
	case Quarter, Month, Year, TaxYear:
		return k, nil
	}
	return "", fmt.Errorf("period kind %q: want quarter, month, year or taxyear", s)
}

// Period is one quarter, month, calendar year or UK tax year. N is the quarter
// (1–4) or month (1–12); it is zero for years. A tax year is named by the
// calendar year in which it starts.
type Period struct {
	Kind Kind
	Year int
	N    int
}

// ErrInvalid is returned (wrapped) for any text that is not a period.
var ErrInvalid = errors.New("invalid period")

// Parse reads "2026-Q3", "2026-07", "2026" or "2026/27".
func Parse(s string) (Period, error) {
	s = strings.TrimSpace(s)
	bad := func(why string) (Period, error) {
		return Period{}, fmt.Errorf("%w %q: %s (want e.g. 2026-Q3, 2026-07, 2026 or 2026/27)", ErrInvalid, s, why)
	}
	if len(s) < 4 {
		return bad("too short")
	}
	year, err := strconv.Atoi(s[:4])
	if err != nil || s[0] == '+' || s[0] == '-' {
		return bad("it does not start with a four-digit year")
	}
	if year < 1970 || year > 9998 {
		return bad("year out of range")
	}
	rest := s[4:]
	switch {
	case rest == "":
		return Period{Kind: Year, Year: year}, nil
	case len(rest) == 3 && (rest[:2] == "-Q" || rest[:2] == "-q"):
		q := int(rest[2] - '0')
		if q < 1 || q > 4 {
			return bad("quarter must be Q1 to Q4")
		}
		return Period{Kind: Quarter, Year: year, N: q}, nil
	case len(rest) == 3 && rest[0] == '-':
		m, err := strconv.Atoi(rest[1:])
		if err != nil || rest[1] == '+' || rest[1] == '-' || m < 1 || m > 12 {
			return bad("month must be 01 to 12")
		}
		return Period{Kind: Month, Year: year, N: m}, nil
	case len(rest) == 3 && rest[0] == '/':
		end, err := strconv.Atoi(rest[1:])
		if err != nil || rest[1] == '+' || rest[1] == '-' || end != (year+1)%100 {
			return bad("a tax year is written 2026/27, the second year following the first")
		}
		return Period{Kind: TaxYear, Year: year}, nil
	}
	return bad("unrecognised form")
}

// MustParse is Parse for constants in tests and demos; it panics on error.
func MustParse(s string) Period {
	p, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return p
}

// String is the canonical name, the inverse of Parse.
func (p Period) String() string {
	switch p.Kind {
	case Quarter:
		return fmt.Sprintf("%04d-Q%d", p.Year, p.N)
	case Month:
		return fmt.Sprintf("%04d-%02d", p.Year, p.N)
	case TaxYear:
		return fmt.Sprintf("%04d/%02d", p.Year, (p.Year+1)%100)
	default:
		return fmt.Sprintf("%04d", p.Year)
	}
}

// Slug is String made safe for file names (the tax year's slash becomes a dash).
func (p Period) Slug() string { return strings.ReplaceAll(p.String(), "/", "-") }

// Bounds returns the half-open interval [start, end) of the period in loc.
func (p Period) Bounds(loc *time.Location) (start, end time.Time) {
	switch p.Kind {
	case Quarter:
		start = time.Date(p.Year, time.Month(3*(p.N-1)+1), 1, 0, 0, 0, 0, loc)
		end = start.AddDate(0, 3, 0)
	case Month:
		start = time.Date(p.Year, time.Month(p.N), 1, 0, 0, 0, 0, loc)
		end = start.AddDate(0, 1, 0)
	case TaxYear:
		start = time.Date(p.Year, time.April, 6, 0, 0, 0, 0, loc)
		end = start.AddDate(1, 0, 0)
	default:
		start = time.Date(p.Year, time.January, 1, 0, 0, 0, 0, loc)
		end = start.AddDate(1, 0, 0)
	}
	return start, end
}

// Label is the period for people: "July to September 2026", "July 2026",
// "2026", "tax year 2026/27".
func (p Period) Label() string {
	switch p.Kind {
	case Quarter:
		first := time.Month(3*(p.N-1) + 1)
		return fmt.Sprintf("%s to %s %d", first, first+2, p.Year)
	case Month:
		return fmt.Sprintf("%s %d", time.Month(p.N), p.Year)
	case TaxYear:
		return "tax year " + p.String()
	default:
		return strconv.Itoa(p.Year)
	}
}

// Containing returns the period of the given kind that contains t in loc.
func Containing(t time.Time, kind Kind, loc *time.Location) Period {
	t = t.In(loc)
	y, m, d := t.Date()
	switch kind {
	case Quarter:
		return Period{Kind: Quarter, Year: y, N: (int(m)-1)/3 + 1}
	case Month:
		return Period{Kind: Month, Year: y, N: int(m)}
	case TaxYear:
		if m < time.April || (m == time.April && d < 6) {
			y--
		}
		return Period{Kind: TaxYear, Year: y}
	default:
		return Period{Kind: Year, Year: y}
	}
}

// Prev returns the period just before p.
func (p Period) Prev() Period {
	switch p.Kind {
	case Quarter:
		if p.N == 1 {
			return Period{Kind: Quarter, Year: p.Year - 1, N: 4}
		}
		return Period{Kind: Quarter, Year: p.Year, N: p.N - 1}
	case Month:
		if p.N == 1 {
			return Period{Kind: Month, Year: p.Year - 1, N: 12}
		}
		return Period{Kind: Month, Year: p.Year, N: p.N - 1}
	default:
		return Period{Kind: p.Kind, Year: p.Year - 1}
	}
}

// LastComplete returns the most recent period of the kind that has ended by now.
func LastComplete(now time.Time, kind Kind, loc *time.Location) Period {
	return Containing(now, kind, loc).Prev()
}
