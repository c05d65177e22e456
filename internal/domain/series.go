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
