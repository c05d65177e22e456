package domain

// Series is a kind of letter with its own period kind, schedule, templates
// and verification codes. Supporters choose per series what they receive.
type Series string

const (
	// SeriesImpact is the quarterly impact letter: the supporter's gifts
	// beside what the organisation achieved. Under UK PECR it promotes the
	// charity's aims, so it is direct marketing.
	SeriesImpact Series = "impact"
	// SeriesAnnual is the annual giving statement for the UK tax year (6
	// April to 5 April) or the US calendar year: a neutral record of gifts
	// kept for tax affairs, a service message.
	SeriesAnnual Series = "annual"
)

// AllSeries lists every series in the order pages and summaries show them.
var AllSeries = []Series{SeriesImpact, SeriesAnnual}

// ParseSeries checks a series name from outside (a flag, a form, a URL).
// The empty string is the impact series, so that callers written before
// there were series keep their meaning.
func ParseSeries(s string) (Series, error) {
	switch Series(s) {
	case "", SeriesImpact:
		return SeriesImpact, nil
	case SeriesAnnual:
		return SeriesAnnual, nil
	}
	return "", Errorf(EINVALID, "series %q: want impact or annual", s)
}

// OrDefault returns the series, or SeriesImpact for the zero value (what a
// snapshot or row written before there were series holds).
func (s Series) OrDefault() Series {
	if s == "" {
		return SeriesImpact
	}
	return s
}

// String returns the series name.
func (s Series) String() string { return string(s.OrDefault()) }

// A donor's letters preference: which series they receive.
const (
	// LettersAll: impact letters and the annual statement (the default).
	LettersAll = "all"
	// LettersAnnual: the annual statement only.
	LettersAnnual = "annual"
	// LettersNone: nothing.
	LettersNone = "none"
)

// AllLetters lists the preferences in the order pages offer them.
var AllLetters = []string{LettersAll, LettersAnnual, LettersNone}

// ParseLetters checks a letters preference from a form.
func ParseLetters(s string) (string, error) {
	switch s {
	case LettersAll, LettersAnnual, LettersNone:
		return s, nil
	}
	return "", Errorf(EINVALID, "letters %q: want all, annual or none", s)
}

// LettersLabel is how pages name a letters preference.
func LettersLabel(letters string) string {
	switch letters {
	case LettersAnnual:
		return "The annual statement only"
	case LettersNone:
		return "Nothing"
	}
	return "Impact letters and the annual statement"
}

// Receives reports whether a donor with the letters preference receives
// the series.
func Receives(letters string, s Series) bool {
	switch letters {
	case LettersNone:
		return false
	case LettersAnnual:
		return s.OrDefault() == SeriesAnnual
	}
	return true
}

// WithoutSeries is the preference left when a donor stops one series: an
// impact letter's unsubscribe keeps the annual statement, the annual one's
// stops it (and the impact letters too, which only "all" includes).
func WithoutSeries(letters string, s Series) string {
	if s.OrDefault() == SeriesImpact && letters == LettersAll {
		return LettersAnnual
	}
	if s.OrDefault() == SeriesAnnual {
		return LettersNone
	}
	return letters
}

// Marketing consent as recorded from Stripe customer metadata.
const (
	ConsentYes = "yes"
	ConsentNo  = "no"
)

// Label is how pages and summaries name the series.
func (s Series) Label() string {
	if s.OrDefault() == SeriesAnnual {
		return "annual statement"
	}
	return "impact letter"
}
