package auth_test

import (
	"strings"
	"testing"

	"impactd/internal/auth"
)

func TestRoles(t *testing.T) {
	tests := []struct {
		have, needs auth.Role
		ok          bool
	}{
		{auth.Viewer, auth.Viewer, true}, {auth.Viewer, auth.Operator, false}, {auth.Operator, auth.Viewer, true},
		{auth.Operator, auth.Admin, false}, {auth.Admin, auth.Operator, true}, {"", auth.Viewer, false},
	}
	for _, tt := range tests {
		if got := tt.have.Allows(tt.needs); got != tt.ok {
			t.Errorf("%q allows %q = %v", tt.have, tt.needs, got)
		}
	}
	if _, err := auth.ParseRole("root"); err == nil {
		t.Error("unknown role accepted")
	}
	a, b := auth.NewToken(), auth.NewToken()
	if a == b || !strings.HasPrefix(a, auth.TokenPrefix) || auth.HashToken(a) == auth.HashToken(b) || len(auth.HashToken(a)) != 64 {
		t.Error("tokens are not unique or not hashed")
	}
}
