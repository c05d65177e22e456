package letter

import (
	"strings"
	"testing"
	"time"
)

// TestSplit checks the line breaking: every line fits, no word is lost or
// cut when it fits a line, and text that moves between blocks (Łódź, Greek,
// Cyrillic, Vietnamese) is measured in each block's font.
func TestSplit(t *testing.T) {
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	text := "Gift Aid: £40.00 of your gifts — “Yes” above — are eligible, so we can reclaim a further £10.00 " +
		"from HMRC for Zoë François, Søren Müller and Siobhán O’Brien; thank you! €25 † · … ™ −£7.50 " +
		"Łódź Σωκράτης Дмитрий Nguyễn"
	d := newDoc(r, SampleSnapshot(), strings.Repeat("0", 64), time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC))
	d.font("", 9, colInk)
	for _, w := range []float64{170, 60, 25} {
		lines := d.split(d.enc(text, false), w)
		if len(lines) < 2 {
			t.Errorf("width %v: %d lines, want the text wrapped", w, len(lines))
		}
		for _, l := range lines {
			if got := d.lineWidth(l); got > w-2*d.pdf.GetCellMargin()+0.01 {
				t.Errorf("width %v: line %q is %.2f wide", w, l, got)
			}
		}
		if joined := strings.Join(lines, " "); joined != text {
			t.Errorf("width %v: lines joined give %q", w, joined)
		}
	}
	if err := d.pdf.Error(); err != nil {
		t.Error(err)
	}
	// A word wider than the cell is cut, one line at a time; explicit
	// newlines break lines, and trailing ones are dropped.
	lines := d.split(d.enc("Konstantinopoulou-Wojciechowska\n\nend\n\n", true), 20)
	if len(lines) < 4 || lines[len(lines)-1] != "end" || lines[len(lines)-2] != "" {
		t.Errorf("long word and newlines gave %q", lines)
	}
	if got := strings.Join(lines[:len(lines)-2], ""); got != "Konstantinopoulou-Wojciechowska" {
		t.Errorf("the long word was split into %q", lines)
	}
}

// TestBalanced: a wrapped footer line never ends with a word or two alone.
func TestBalanced(t *testing.T) {
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := newDoc(r, SampleSnapshot(), strings.Repeat("0", 64), time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC))
	d.font("", footerSize, colMuted)
	text := d.enc("You receive this statement because you support Safe Childhood Online Trust. To stop these letters, use the unsubscribe link in the email that brought it.", false)
	for _, w := range []float64{170, 150, 120, 90} {
		plain := d.split(text, w)
		got := d.balanced(text, w)
		if len(got) != len(plain) {
			t.Errorf("width %v: balancing changed the line count from %d to %d", w, len(plain), len(got))
		}
		if len(got) > 1 {
			// A widow: a last line of one or two words.
			if last := got[len(got)-1]; len(strings.Fields(last)) < 3 {
				t.Errorf("width %v: last line %q is a widow of %q", w, last, got)
			}
		}
		if strings.Join(got, " ") != text {
			t.Errorf("width %v: balancing lost text: %q", w, got)
		}
	}
}
