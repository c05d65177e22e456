package letter

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"
)

func TestToCP1252(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"Zoë £57.50", "Zo\xeb \xa357.50", true},
		{"€ — † · “x” ’", "\x80 \x97 \x86 \xb7 \x93x\x94 \x92", true},
		{"plain ASCII", "plain ASCII", true},
		{"Łukasiewicz", "", false},
		{"Дмитрий", "", false},
		{"\ufffd", "", false},
		{"a\u2011b", "", false},
	}
	for _, tt := range tests {
		got, ok := toCP1252(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("toCP1252(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestSplit checks the line breaking on both paths: every line fits, no
// word is lost or cut when it fits a line, and bytes of 0x80 and above
// (which fpdf's SplitText cannot take) wrap like any other character.
func TestSplit(t *testing.T) {
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	text := "Gift Aid: £40.00 of your gifts — “Yes” above — are eligible, so we can reclaim a further £10.00 " +
		"from HMRC for Zoë François, Søren Müller and Siobhán O’Brien; thank you! €25 † · … ™"
	for _, core := range []bool{true, false} {
		d := newDoc(r, SampleSnapshot(), strings.Repeat("0", 64), time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC), core)
		d.font("", 9, colInk)
		text := text
		if !core {
			// The embedded path measures each rune in its own block's font.
			text += " Łódź Σωκράτης Дмитрий Nguyễn"
		}
		for _, w := range []float64{170, 60, 25} {
			enc := d.enc(text, false)
			lines := d.split(enc, w)
			if len(lines) < 2 {
				t.Errorf("core %v, width %v: %d lines, want the text wrapped", core, w, len(lines))
			}
			for _, l := range lines {
				if got := d.lineWidth(l); got > w-2*d.pdf.GetCellMargin()+1e-9 {
					t.Errorf("core %v, width %v: line %q is %.2f wide", core, w, l, got)
				}
			}
			joined := strings.Join(lines, " ")
			if core {
				joined, err = charmap.Windows1252.NewDecoder().String(joined)
				if err != nil {
					t.Fatal(err)
				}
			}
			if joined != text {
				t.Errorf("core %v, width %v: lines joined give %q", core, w, joined)
			}
		}
		if err := d.pdf.Error(); err != nil {
			t.Errorf("core %v: %v", core, err)
		}
		// A word wider than the cell is cut, one line at a time; explicit
		// newlines break lines, and trailing ones are dropped.
		lines := d.split(d.enc("Konstantinopoulou-Wojciechowska\n\nend\n\n", true), 20)
		if len(lines) < 4 || lines[len(lines)-1] != "end" || lines[len(lines)-2] != "" {
			t.Errorf("core %v: long word and newlines gave %q", core, lines)
		}
		if got := strings.Join(lines[:len(lines)-2], ""); got != "Konstantinopoulou-Wojciechowska" {
			t.Errorf("core %v: the long word was split into %q", core, lines)
		}
	}
}
