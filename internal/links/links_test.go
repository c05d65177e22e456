package links_test

import (
	"testing"
	"time"

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

func TestURLs(t *testing.T) {
	s := links.NewSigner("statement-url-test-key-0123456789abcdef")
	exp := time.Unix(1_800_000_000, 0)
	tests := []struct{ name, got, want string }{
		{"statement", links.StatementURL("https://x.example/", s, "stmt_1", exp),
			"https://x.example/s/stmt_1~tro8w0.z5MLmy4QlUCEa6ccYR4SSOUOCGpunMDFmaSinrk8G0k"},
		{"unsubscribe", links.UnsubscribeURL("https://x.example", s, "don_1"),
			"https://x.example/unsubscribe/don_1.4jaIXjlZOU13dFjWF5eBX9hOyhPrEo1MRcUXvO0h_9Q"},
		{"statement, links off", links.StatementURL("https://x.example/", nil, "stmt_1", exp), ""},
		{"unsubscribe, links off", links.UnsubscribeURL("https://x.example/", nil, "don_1"), ""},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	tok := links.StatementToken(s, "stmt_1", exp)
	checks := []struct {
		name  string
		token string
		now   time.Time
		id    string
		res   int
	}{
		{"valid", tok, exp.Add(-time.Second), "stmt_1", links.StatementOK},
		{"expired", tok, exp, "", links.StatementExpired},
		{"unsubscribe token", s.Token(links.PurposeUnsubscribe, "stmt_1~tro8w0"), exp.Add(-time.Hour), "", links.StatementInvalid},
		{"tampered", tok[:len(tok)-1] + "x", exp.Add(-time.Hour), "", links.StatementInvalid},
	}
	for _, tt := range checks {
		if id, res := links.CheckStatement(s, tt.token, tt.now); id != tt.id || res != tt.res {
			t.Errorf("%s: %q %d, want %q %d", tt.name, id, res, tt.id, tt.res)
		}
	}
	if _, res := links.CheckStatement(nil, tok, exp.Add(-time.Hour)); res != links.StatementInvalid {
		t.Errorf("links off: %d", res)
	}
}
