// Package links makes and checks the supporter links in emails — one-click
// unsubscribe and the statement page — as signed tokens, so that a link
// works without a session and cannot be forged or pointed at another donor
// or statement. Every URL impactd puts in an email is made here.
package links

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// Signer makes and checks tokens with one secret key.
type Signer struct{ key []byte }

// NewSigner returns a signer; an empty key returns nil, meaning links are off.
func NewSigner(key string) *Signer {
	if key == "" {
		return nil
	}
	return &Signer{key: []byte(key)}
}

// Token returns "SUBJECT.SIGNATURE" for one purpose (Purpose*) and subject.
func (s *Signer) Token(purpose, subject string) string {
	return subject + "." + s.sign(purpose, subject)
}

// Check returns the subject of a valid token for the purpose.
func (s *Signer) Check(purpose, token string) (string, bool) {
	subject, sig, ok := strings.Cut(token, ".")
	if !ok || subject == "" {
		return "", false
	}
	if !hmac.Equal([]byte(sig), []byte(s.sign(purpose, subject))) {
		return "", false
	}
	return subject, true
}

func (s *Signer) sign(purpose, subject string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(purpose + "\x00" + subject))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
