// Package searchkey folds names and email addresses into the key donor
// search matches against, so that people are found as people type them:
// "Łukasiewicz" by "lukas", "Ngọc Ánh" by "ngoc anh", "Øvergaard" by
// "overg", "Straße" by "strasse", "Наталья" by "натал".
//
// The key is computed here, in Go, and stored with the donor, so SQLite and
// PostgreSQL match exactly the same strings (their own LOWER() and
// collations differ: SQLite folds A–Z only). A query is folded the same way
// before it is matched, and Terms splits it.
package searchkey

import (
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// letters that carry no combining mark to remove (their stroke or ligature
// is part of the letter in Unicode), folded to what people type on a
// keyboard without them. Upper-case forms are case-folded to these first.
var letters = map[rune]string{
	'ł': "l", 'ø': "o", 'æ': "ae", 'œ': "oe", 'đ': "d", 'ð': "d", 'þ': "th", 'ı': "i",
	'ħ': "h", 'ŧ': "t", 'ŀ': "l", 'ƒ': "f", 'ŋ': "n", 'ĸ': "k", 'ſ': "s", 'ǥ': "g",
	'ɨ': "i", 'ƚ': "l", 'ʉ': "u", 'ɍ': "r", 'ȼ': "c", 'ɇ': "e", 'ƀ': "b",
}

// apostrophes are left out, so that "O'Brien", "O’Brien" and "OBrien" are one
// name; every other character that is not a letter, a digit, "@" or "." separates words.
func apostrophe(r rune) bool {
	switch r {
	case '\'', '\u2019', '\u2018', '\u02bc', '\u02bb', '`', '\u00b4':
		return true
	}
	return false
}

var folder = cases.Fold()

// Fold returns s decomposed (NFKD), without combining marks, fully case
// folded (ß → ss), with the letters above replaced and every run of
// separators made one space, trimmed.
func Fold(s string) string {
	s = folder.String(norm.NFKD.String(s))
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r), apostrophe(r):
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '@' || r == '.':
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			if l, ok := letters[r]; ok {
				b.WriteString(l)
			} else {
				b.WriteRune(r)
			}
		default:
			space = true
		}
	}
	return b.String()
}

// Key is a donor's search key: the folded name followed by the folded email
// addresses, each once; "" when there is nothing to find the donor by (an
// erased or merged donor).
func Key(name string, emails ...string) string {
	parts := []string{Fold(name)}
	seen := map[string]bool{}
	for _, e := range emails {
		f := Fold(e)
		if f != "" && !seen[f] {
			seen[f] = true
			parts = append(parts, f)
		}
	}
	return strings.TrimSpace(strings.Join(parts, " "))
}

// MinTermLen is the length of the shortest term a trigram index can find
// anywhere in a key; shorter queries match the start of the key.
const MinTermLen = 3

// Terms folds a query and splits it into words, each of which must appear
// somewhere in a matching key, in any order.
func Terms(query string) []string {
	return strings.Fields(Fold(query))
}
