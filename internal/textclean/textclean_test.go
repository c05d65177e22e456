package textclean_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"impactd/internal/textclean"
)

func TestLine(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"  Zoë  Łukasiewicz ", 0, "Zoë Łukasiewicz"},
		{"Zoe\u0308", 0, "Zoë"}, // NFC
		{"O\x00'Brien\x07\x1b", 0, "O'Brien"},
		{"a\r\nb\tc\nd", 0, "a b c d"},
		{"\u202eevil\u202c name\u200f", 0, "evil name"},
		{"bad \xff utf-8", 0, "bad \uFFFD utf-8"},
		{"<script>alert(1)</script>", 0, "<script>alert(1)</script>"}, // escaping is the printer's job
		{"abcdefghij", 5, "abcd…"},
		{"abc def ghi", 5, "abc…"},
		{"abcde", 5, "abcde"},
		{"日本語のなまえです", 4, "日本語…"},
	}
	for _, tt := range tests {
		if got := textclean.Line(tt.in, tt.max); got != tt.want {
			t.Errorf("Line(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestText(t *testing.T) {
	if got := textclean.Text("one\r\ntwo\rthree\x00\n\tfour\u2028"); got != "one\ntwo\nthree\n\tfour" {
		t.Errorf("Text = %q", got)
	}
}

func FuzzLine(f *testing.F) {
	f.Add("Zoë\x00", 10)
	f.Fuzz(func(t *testing.T, s string, max int) {
		max = max%200 + 1
		if max < 2 {
			max = 2
		}
		got := textclean.Line(s, max)
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > max || strings.ContainsAny(got, "\x00\r\n\t\x1b") {
			t.Fatalf("Line(%q, %d) = %q", s, max, got)
		}
		if again := textclean.Line(got, max); again != got {
			t.Fatalf("not idempotent: %q then %q", got, again)
		}
	})
}
