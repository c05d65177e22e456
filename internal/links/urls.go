package links

import (
	"strconv"
	"strings"
	"time"

	"impactd/internal/domain"
)

// Purposes of signed tokens: a token made for one is refused for another.
const (
	// PurposeUnsubscribe signs a donor id, and the series the link stops
	// when it is not the impact letter ("ID~annual"): /unsubscribe/TOKEN.
	PurposeUnsubscribe = "unsubscribe"
	// PurposeStatement signs a statement id and an expiry: /s/TOKEN.
	PurposeStatement = "statement"
)

// UnsubscribeURL is the one-click unsubscribe link of a donor's impact
// letters, BASE/unsubscribe/TOKEN; "" when links are off (no key). It is
// SeriesUnsubscribeURL for domain.SeriesImpact.
func UnsubscribeURL(baseURL string, s *Signer, donorID string) string {
	return SeriesUnsubscribeURL(baseURL, s, donorID, domain.SeriesImpact)
}

// SeriesUnsubscribeURL is the one-click unsubscribe link of the emails of
// one series: the impact letter's stops impact letters only, the annual
// statement's stops the annual statement. "" when links are off (no key).
func SeriesUnsubscribeURL(baseURL string, s *Signer, donorID string, series domain.Series) string {
	if s == nil {
		return ""
	}
	return strings.TrimRight(baseURL, "/") + "/unsubscribe/" + UnsubscribeToken(s, donorID, series)
}

// UnsubscribeToken signs a donor id and a series. The impact letter's token
// signs the donor id alone, as every link sent before there were series
// did, so those links keep stopping what they stopped: impact letters.
func UnsubscribeToken(s *Signer, donorID string, series domain.Series) string {
	subject := donorID
	if series.OrDefault() != domain.SeriesImpact {
		subject += "~" + string(series)
	}
	return s.Token(PurposeUnsubscribe, subject)
}

// CheckUnsubscribe returns the donor id and series of a valid unsubscribe
// token; ok is false for any other token, and always with a nil signer.
func CheckUnsubscribe(s *Signer, token string) (donorID string, series domain.Series, ok bool) {
	if s == nil {
		return "", "", false
	}
	subject, ok := s.Check(PurposeUnsubscribe, token)
	if !ok {
		return "", "", false
	}
	id, name, cut := strings.Cut(subject, "~")
	if id == "" {
		return "", "", false
	}
	series = domain.SeriesImpact
	if cut {
		var err error
		if series, err = domain.ParseSeries(name); err != nil || name == "" {
			return "", "", false
		}
	}
	return id, series, true
}

// StatementURL is the link in a statement's email: BASE/s/TOKEN, where the
// token signs the statement id and the link's expiry with IMPACTD_SECRET_KEY.
// It returns "" when links are off (no key).
func StatementURL(baseURL string, s *Signer, statementID string, expires time.Time) string {
	if s == nil {
		return ""
	}
	return strings.TrimRight(baseURL, "/") + "/s/" + StatementToken(s, statementID, expires)
}

// StatementToken signs a statement id and an expiry.
func StatementToken(s *Signer, statementID string, expires time.Time) string {
	return s.Token(PurposeStatement, statementID+"~"+strconv.FormatInt(expires.Unix(), 36))
}

// Results of CheckStatement.
const (
	StatementOK = iota
	StatementInvalid
	StatementExpired
)

// CheckStatement returns the statement id of a valid statement token and
// StatementOK, or StatementInvalid or StatementExpired. A nil signer (links
// off) finds every token invalid.
func CheckStatement(s *Signer, token string, now time.Time) (string, int) {
	if s == nil {
		return "", StatementInvalid
	}
	subject, ok := s.Check(PurposeStatement, token)
	if !ok {
		return "", StatementInvalid
	}
	id, exp, ok := strings.Cut(subject, "~")
	if !ok || id == "" {
		return "", StatementInvalid
	}
	unix, err := strconv.ParseInt(exp, 36, 64)
	if err != nil {
		return "", StatementInvalid
	}
	if now.Unix() >= unix {
		return "", StatementExpired
	}
	return id, StatementOK
}
