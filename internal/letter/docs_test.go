package letter_test

import (
	"bytes"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"impactd/internal/demo/brand"
	"impactd/internal/domain"
	"impactd/internal/letter"
)

// docsEnv makes TestDocs write the README's pictures of the letter.
const docsEnv = "IMPACTD_UPDATE_DOCS"

// brandRenderer is a Renderer with the demo's logo and signature.
func brandRenderer(t *testing.T) *letter.Renderer {
	t.Helper()
	var logo, sig bytes.Buffer
	if err := png.Encode(&logo, brand.Logo()); err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(&sig, brand.Signature()); err != nil {
		t.Fatal(err)
	}
	r, err := letter.New(letter.Options{Logo: logo.Bytes(), Signature: sig.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestDocs draws docs/: with IMPACTD_UPDATE_DOCS=1, pages of the sample
// letters as a supporter sees them (with the demo's logo and signature) at
// 80 dpi, and the fold-line checks: page 1 on A4 and US Letter with the
// envelope window (red) and the folds (blue) over it.
func TestDocs(t *testing.T) {
	if os.Getenv(docsEnv) == "" {
		t.Skip(docsEnv + " not set")
	}
	r := brandRenderer(t)
	dress := func(s *domain.Snapshot) *domain.Snapshot {
		s.Org.LogoSHA256, s.Org.SignatureSHA256 = r.LogoSHA256(), r.SignatureSHA256()
		return s
	}
	cyrillic := letter.SampleSnapshot()
	cyrillic.Donor.Name, cyrillic.Greeting = "Дмитрий Шостакович", "Дорогой Дмитрий,"
	cyrillic.Donor.Address = []string{"УЛ. ТВЕРСКАЯ, Д. 7, КВ. 12", "МОСКВА", "125009", "RUSSIAN FEDERATION"}
	a4, us := letter.SampleSnapshot(), letter.SampleSnapshot()
	us.PaperSize = "Letter"
	write := func(name string, s *domain.Snapshot, page int, window bool) {
		pdf := MustRender(t, r, dress(s))
		img := pageImage(t, pdf, page, 80)
		if window {
			w := letter.WindowFor(s.PaperSize)
			px := float64(img.Bounds().Dx()) / map[bool]float64{false: 210, true: 215.9}[s.PaperSize == "Letter"]
			red, blue := color.RGBA{220, 30, 30, 255}, color.RGBA{30, 90, 220, 255}
			rect(img, int(w.X*px), int(w.Y*px), int((w.X+w.W)*px), int((w.Y+w.H)*px), red)
			for _, y := range w.Folds {
				for x := 0; x < img.Bounds().Dx(); x += 6 {
					for k := range 3 {
						img.Set(x+k, int(y*px), blue)
					}
				}
			}
		}
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "..", "docs", name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("letter-typical.png", letter.SampleSnapshot(), 1, false)
	write("letter-typical-2.png", letter.SampleSnapshot(), 2, false)
	write("letter-cyrillic.png", cyrillic, 1, false)
	write("letter-long.png", longSnapshot(200), 1, false)
	write("window-a4.png", a4, 1, true)
	write("window-letter.png", us, 1, true)
	write("annual-statement.png", letter.AnnualSampleSnapshot(domain.CountryGB), 1, false)
	write("annual-statement-2.png", letter.AnnualSampleSnapshot(domain.CountryGB), 2, false)
}

// TestFirstPage: with a logo and a signature, page 1 still carries the
// impact figures, the supporter's total and the signed closing, whatever
// else it has to say (a correction notice, Gift Aid, the US
// acknowledgment, several currencies, a 200-gift period).
func TestFirstPage(t *testing.T) {
	r := brandRenderer(t)
	corrected := letter.SampleSnapshot()
	corrected.Corrects = "5 October 2026"
	us := letter.SampleSnapshot()
	us.PaperSize, us.Org.Country, us.GiftAid = "Letter", domain.CountryUS, nil
	us.Acknowledgment = "No goods or services were provided in exchange for the contributions listed in this statement."
	three := letter.SampleSnapshot()
	three.Totals = append(three.Totals, domain.Total{Currency: "EUR", Gross: 2000, Net: 2000}, domain.Total{Currency: "USD", Gross: 5000, Net: 5000})
	for name, s := range map[string]*domain.Snapshot{"sample": letter.SampleSnapshot(), "corrected": corrected, "US": us,
		"three currencies": three, "200 gifts": longSnapshot(200)} {
		s.Org.LogoSHA256, s.Org.SignatureSHA256 = r.LogoSHA256(), r.SignatureSHA256()
		first, _, _ := bytes.Cut([]byte(pdfToText(t, MustRender(t, r, s))), []byte("\f"))
		for _, want := range []string{"WHAT WE ACHIEVED TOGETHER", "YOUR GIVING IN", "With heartfelt thanks,", "Grace Whitfield", "Head of Supporter Care"} {
			if !bytes.Contains(first, []byte(want)) {
				t.Errorf("%s: page 1 lacks %q", name, want)
			}
		}
	}
}
