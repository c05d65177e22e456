// Package textclean makes text from outside safe to store and print, once,
// where it enters impactd: NUL and other control characters are removed
// (ordinary spaces, tabs and line breaks are kept), invisible bidirectional
// overrides are removed, invalid UTF-8 becomes U+FFFD, and the result is
// NFC-normalised, so that SQLite and PostgreSQL store the same characters and
// a letter or an email never carries a character that is not meant to show.
// Fields with a length limit are cut there, with Mark at the end.
package textclean

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Limits, in characters (Unicode code points, after cleaning, counting Mark).
// They are printed in the README; a letter's layout is measured against them.
const (
	NameMax        = 100 // a donor's name
	AddressLineMax = 80  // one line of a postal address
	DesignationMax = 60  // a gift's fund or programme
	EmailMax       = 254 // an email address (RFC 5321's path limit); longer ones are not addresses
	ReasonMax      = 300 // a reason or detail recorded by impactd
)

// Mark ends a value that was cut at its limit.
const Mark = "…"

// Text cleans multi-line text: control characters other than tab and line
// feed are removed, CR LF and lone CR become LF, and it is NFC-normalised and
// trimmed.
func Text(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r':
			return '\n'
		case unicode.IsControl(r), bidiControl(r), r == '\u2028', r == '\u2029', r == '\uFEFF':
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(norm.NFC.String(s))
}

// Line cleans text that must be one line: Text, with every run of white
// space (line breaks included) folded to one space, cut at max characters
// (max ≤ 0: no limit).
func Line(s string, max int) string {
	return Cut(strings.Join(strings.Fields(Text(s)), " "), max)
}

// Cut shortens s to at most max characters, the last of them Mark, when it
// is longer; max ≤ 0 means no limit.
func Cut(s string, max int) string {
	if max <= 0 || utf8.RuneCountInString(s) <= max {
		return s
	}
	keep := max - utf8.RuneCountInString(Mark)
	i := 0
	for n := 0; n < keep; n++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	// Cutting may split a combining sequence; NFC of the kept part is still NFC
	// except in rare cases, so normalise again.
	return strings.TrimSpace(norm.NFC.String(s[:i])) + Mark
}

// bidiControl reports the invisible characters that reorder text (used to
// disguise what a name or a link says).
func bidiControl(r rune) bool {
	return (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069') || r == '\u200E' || r == '\u200F' || r == '\u061C'
}
