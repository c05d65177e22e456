package giftaid

import (
	"strings"
	"unicode/utf8"
)

// HMRC's limits for the schedule's name columns, in characters.
const (
	TitleMax = 4
	NameMax  = 35
)

// titles are the titles SplitName recognises before a name, by their
// lower-case form without a full stop, with the form written on the
// schedule (at most TitleMax characters, as HMRC's "Prof", "Rev").
var titles = map[string]string{
	"mr": "Mr", "mrs": "Mrs", "ms": "Ms", "miss": "Miss", "mx": "Mx", "dr": "Dr", "doctor": "Dr",
	"rev": "Rev", "revd": "Revd", "reverend": "Rev", "prof": "Prof", "professor": "Prof",
	"sir": "Sir", "dame": "Dame", "lord": "Lord", "lady": "Lady", "fr": "Fr", "father": "Fr",
	"sr": "Sr", "sister": "Sr", "cllr": "Cllr", "imam": "Imam",
}

// particles join the word after them into a surname: "de la Cruz", "van
// der Berg". Only lower-case ones count ("Van" alone may be a given name).
var particles = map[string]bool{
	"de": true, "la": true, "le": true, "du": true, "da": true, "di": true, "del": true, "della": true, "dos": true,
	"das": true, "van": true, "von": true, "der": true, "den": true, "ten": true, "ter": true, "bin": true,
	"bint": true, "al": true, "el": true, "st": true, "st.": true, "y": true,
}

// Name is a donor's name as the schedule writes it.
type Name struct {
	Title string
	First string
	Last  string
}

// SplitName splits a donor's name, as Stripe holds it (one string), into
// HMRC's title, first name and last name. The rule:
//
//   - A leading title (Mr, Mrs, Ms, Miss, Mx, Dr, Rev, Revd, Prof, Sir,
//     Dame, Lord, Lady, Fr, Sr, Cllr …, with or without a full stop, any
//     case) becomes the title, in its usual short form.
//   - The last word is the last name, together with the lower-case
//     particles just before it ("de la Cruz", "van der Berg").
//   - Everything between is the first name ("Ngọc Ánh" of "Ngọc Ánh
//     Nguyễn"); HMRC accepts an initial, so a first name longer than 35
//     characters is written as its initial.
//   - A hyphen in the last name becomes a space, as HMRC asks
//     ("Fitzgerald-Hughes" → "Fitzgerald Hughes").
//
// It reports a Reason when the name cannot go on the schedule: no name,
// one word only (no last name), or a last name over 35 characters.
func SplitName(full string) (Name, Reason) {
	words := strings.Fields(full)
	var n Name
	if len(words) > 0 {
		key := strings.TrimSuffix(strings.ToLower(words[0]), ".")
		if t, ok := titles[key]; ok && len(words) > 1 {
			n.Title, words = t, words[1:]
		}
	}
	switch len(words) {
	case 0:
		return n, ReasonNoName
	case 1:
		return n, ReasonNoSurname
	}
	last := len(words) - 1
	for last > 1 && particles[words[last-1]] {
		last--
	}
	n.First = strings.Join(words[:last], " ")
	n.Last = strings.Join(strings.Fields(strings.ReplaceAll(strings.Join(words[last:], " "), "-", " ")), " ")
	if utf8.RuneCountInString(n.First) > NameMax {
		r, _ := utf8.DecodeRuneInString(n.First)
		n.First = string(r)
	}
	if utf8.RuneCountInString(n.Last) > NameMax {
		return n, ReasonNameTooLong
	}
	return n, ""
}
