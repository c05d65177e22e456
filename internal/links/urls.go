package links

import (
	"strconv"
	"strings"
	"time"
)

// Purposes of signed tokens: a token made for one is refused for another.
const (
	// PurposeUnsubscribe signs a donor id: /unsubscribe/TOKEN.
	PurposeUnsubscribe = "unsubscribe"
	// PurposeStatement signs a statement id and an expiry: /s/TOKEN.
	PurposeStatement = "statement"
)

// UnsubscribeURL is the one-click unsubscribe link of a donor's emails,
// BASE/unsubscribe/TOKEN; "" when links are off (no key).
func UnsubscribeURL(baseURL string, s *Signer, donorID string) string {
	if s == nil {
		return ""
	}
	return strings.TrimRight(baseURL, "/") + "/unsubscribe/" + s.Token(PurposeUnsubscribe, donorID)
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
