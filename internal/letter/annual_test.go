package letter_test

import (
	"bytes"
	"strings"
	"testing"

	"impactd/internal/domain"
	"impactd/internal/letter"
)

// TestAnnualText reads the annual giving statements back with pdftotext:
// the key words of the UK tax-year statement (Gift Aid per gift, the
// declaration date, the tax reclaimed, refund and dispute lines, totals per
// currency) and of the US one (the IRS written acknowledgment, the benefit
// and its good-faith value, the quid-pro-quo disclosure), and nothing of
// the impact letter's appeal.
func TestAnnualText(t *testing.T) {
	r := MustRenderer(t)
	tests := []struct {
		name        string
		s           *domain.Snapshot
		want, avoid []string
	}{
		{"GB", letter.AnnualSampleSnapshot(domain.CountryGB), []string{
			"Your giving statement for the tax year 2025/26",
			"Giving statement",
			"Dear Zoë,",
			"between 6 April 2025 and 5 April 2026",
			"YOUR GIFTS IN THE TAX YEAR 2025/26",
			"£275.00", "€30.00",
			"Tax reclaimed",
			"Gift Aid",
			"£5.00", "£8.75",
			"£155.00", "£38.75",
			"Tax we reclaim from HMRC",
			"Your Gift Aid declaration applies to gifts in pounds from 1 October 2025.",
			"Refund of your gift of 24 December 2025",
			"−£15.00",
			"Taken back by a card dispute", "(after the end of the year)",
			"−£10.01",
			"Total in EUR", "Total in GBP after refunds",
			"One-off gift · Survivor aftercare",
			"What your gifts helped achieve is reported in our quarterly impact letters.",
			"Grace Whitfield",
			"Registered charity no. 1234567",
		}, []string{"WHAT WE ACHIEVED", "Together,", "Demonstration", "heartfelt", "No goods or services"}},
		{"US", letter.AnnualSampleSnapshot(domain.CountryUS), []string{
			"Your giving statement for 2026",
			"Jordan Ellis",
			"$900.00",
			"Safe Childhood Online Trust USA gives this statement as its written acknowledgment",
			"no goods or services were provided in exchange for your other contributions",
			"In exchange: Gala dinner ticket", "good-faith estimate of its value", "$120.00",
			"For a payment of more than $75",
			"limited to the excess",
			"Of which the good-faith value of goods or services you received",
		}, []string{"Gift Aid", "HMRC", "WHAT WE ACHIEVED", "Tax reclaimed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdf := MustRender(t, r, tt.s)
			checkEmbedded(t, pdf)
			text := pdfToText(t, pdf)
			flat := strings.Join(strings.Fields(text), " ")
			code := domain.VerificationCode(hashOf(t, tt.s))
			for _, w := range append(tt.want, "Verification code "+code+" — check it at https://example.org/verify") {
				if !strings.Contains(flat, w) {
					t.Errorf("statement text lacks %q", w)
				}
			}
			for _, a := range tt.avoid {
				if strings.Contains(flat, a) {
					t.Errorf("statement text contains %q", a)
				}
			}
		})
	}
}

// TestAnnualUSAcknowledgmentWording: without a benefit the US statement
// says, in the IRS's words, that nothing was given in exchange.
func TestAnnualUSAcknowledgmentWording(t *testing.T) {
	s := letter.AnnualSampleSnapshot(domain.CountryUS)
	s.Gifts[1].Benefit = nil
	s.Totals[0].Benefits = 0
	s.Disclosure = ""
	s.Acknowledgment = s.Org.Name + " gives this statement as its written acknowledgment of the contributions listed in it, $900.00 in 2026. No goods or services were provided in exchange for these contributions."
	flat := strings.Join(strings.Fields(pdfToText(t, MustRender(t, MustRenderer(t), s))), " ")
	if !strings.Contains(flat, "No goods or services were provided in exchange for these contributions.") || strings.Contains(flat, "In exchange:") {
		t.Errorf("US statement without benefits:\n%s", flat)
	}
}

// TestAnnualDeterministic: the same snapshot gives the same bytes, twice
// and from another renderer; a different snapshot a different code.
func TestAnnualDeterministic(t *testing.T) {
	r := MustRenderer(t)
	other, err := letter.New(letter.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{domain.CountryGB, domain.CountryUS} {
		s := letter.AnnualSampleSnapshot(c)
		a, b, o := MustRender(t, r, s), MustRender(t, r, letter.AnnualSampleSnapshot(c)), MustRender(t, other, s)
		if !bytes.Equal(a, b) || !bytes.Equal(a, o) {
			t.Errorf("%s: renders differ (%d, %d, %d bytes)", c, len(a), len(b), len(o))
		}
	}
	impact := letter.SampleSnapshot()
	annual := letter.SampleSnapshot()
	annual.Series = domain.SeriesAnnual
	if hashOf(t, impact) == hashOf(t, annual) {
		t.Errorf("the series is not part of the content hash")
	}
}

// TestAnnualAddressInWindow: the statement's address shows in the window
// envelope on A4 and US Letter, with no body text in it.
func TestAnnualAddressInWindow(t *testing.T) {
	r := MustRenderer(t)
	for _, c := range []string{domain.CountryGB, domain.CountryUS} {
		s := letter.AnnualSampleSnapshot(c)
		_, words := pageWords(t, MustRender(t, r, s))
		w := letter.WindowFor(s.PaperSize)
		x0, y0, x1, y1 := w.X*ptPerMM, w.Y*ptPerMM, (w.X+w.W)*ptPerMM, (w.Y+w.H)*ptPerMM
		inside := map[string]bool{}
		for _, wd := range words[0] {
			if wd.xMin >= x0 && wd.xMax <= x1 && wd.yMin >= y0 && wd.yMax <= y1 {
				inside[wd.text] = true
			} else if wd.xMax > x0 && wd.xMin < x1 && wd.yMax > y0 && wd.yMin < y1 {
				t.Errorf("%s: %q crosses the window's edge", c, wd.text)
			}
		}
		for _, line := range append([]string{s.Donor.Name}, s.Donor.Address...) {
			for _, f := range strings.Fields(line) {
				if !inside[f] {
					t.Errorf("%s: %q (of %q) is not inside the window", c, f, line)
				}
			}
		}
		if inside["Dear"] || inside["statement"] {
			t.Errorf("%s: body text inside the window: %v", c, inside)
		}
	}
}
