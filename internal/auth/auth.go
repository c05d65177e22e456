// Package auth holds roles and API tokens. A token is shown once, when it is
// made; only its SHA-256 is stored, so a copy of the database cannot be used
// to call the API.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// Role is what a token or staff member may do. Each role includes the ones below it.
type Role string

// Roles, weakest first.
const (
	Viewer   Role = "viewer"   // read donors, runs, statements
	Operator Role = "operator" // also start runs, resend, publish impact updates
	Admin    Role = "admin"    // also merge and erase donors, manage tokens and staff
)

var rank = map[Role]int{Viewer: 1, Operator: 2, Admin: 3}

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if rank[r] == 0 {
		return "", fmt.Errorf("role %q: want viewer, operator or admin", s)
	}
	return r, nil
}

// Allows reports whether r may do what needs requires.
func (r Role) Allows(needs Role) bool { return rank[r] > 0 && rank[r] >= rank[needs] }

// TokenPrefix starts every API token, so that a leaked one is recognisable.
const TokenPrefix = "impd_"

// NewToken returns a new random API token.
func NewToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// HashToken is the stored form of a token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
