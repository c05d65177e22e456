package links_test

import (
	"testing"

	"impactd/internal/links"
)

func TestTokens(t *testing.T) {
	s := links.NewSigner("0123456789abcdef0123456789abcdef")
	tok := s.Token("unsubscribe", "dnr_1")
	if got, ok := s.Check("unsubscribe", tok); !ok || got != "dnr_1" {
		t.Fatalf("valid token rejected: %q %v", got, ok)
	}
	other := links.NewSigner("another key of at least 32 characters!")
	for name, bad := range map[string]string{
		"other purpose": "", "other donor": "dnr_2" + tok[len("dnr_1"):], "truncated": tok[:len(tok)-2],
		"no signature": "dnr_1", "empty": "", "other key": other.Token("unsubscribe", "dnr_1"),
	} {
		purpose := "unsubscribe"
		if name == "other purpose" {
			purpose, bad = "download", tok
		}
		if _, ok := s.Check(purpose, bad); ok {
			t.Errorf("%s: accepted", name)
		}
	}
	if links.NewSigner("") != nil {
		t.Fatal("empty key should disable links")
	}
}
