package letter_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"impactd/internal/domain"
	"impactd/internal/letter"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	rendererOnce sync.Once
	renderer     *letter.Renderer
	rendererErr  error
)

// MustRenderer returns one Renderer shared by all tests, as in production.
func MustRenderer(tb testing.TB) *letter.Renderer {
	tb.Helper()
	rendererOnce.Do(func() { renderer, rendererErr = letter.New(letter.Options{}) })
	if rendererErr != nil {
		tb.Fatalf("letter.New: %v", rendererErr)
	}
	return renderer
}

// MustRender renders s with its real content hash.
func MustRender(tb testing.TB, r *letter.Renderer, s *domain.Snapshot) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := r.Render(&buf, s, hashOf(tb, s)); err != nil {
		tb.Fatalf("Render: %v", err)
	}
	return buf.Bytes()
}

func hashOf(tb testing.TB, s *domain.Snapshot) string {
	tb.Helper()
	enc, err := s.Encode()
	if err != nil {
		tb.Fatal(err)
	}
	return domain.ContentHash(enc)
}

// longSnapshot is letter.LongSampleSnapshot: its text is all in
// Windows-1252, so it takes the core-font path.
func longSnapshot(n int) *domain.Snapshot { return letter.LongSampleSnapshot(n) }

// longFullSnapshot is the long letter for a donor whose name needs the
// embedded fonts.
func longFullSnapshot(n int) *domain.Snapshot {
	s := letter.LongSampleSnapshot(n)
	s.Donor.Name = "Łucja " + s.Donor.Name
	return s
}

// fastSnapshot is the sample letter for a donor whose name is in
// Windows-1252, so the whole letter takes the core-font path. The sample's
// own donor, "Zoë Łukasiewicz", needs the embedded fonts.
func fastSnapshot() *domain.Snapshot {
	s := letter.SampleSnapshot()
	s.Donor.Name = "Zoë François"
	return s
}

// embedsFonts reports whether a PDF embeds its fonts (the UTF-8 path)
// rather than naming the standard Helvetica (the core-font path).
func embedsFonts(pdf []byte) bool {
	return bytes.Contains(pdf, []byte("/FontFile2"))
}

// checkPath fails unless pdf was drawn on the expected path.
func checkPath(t *testing.T, pdf []byte, wantEmbedded bool) {
	t.Helper()
	core := bytes.Contains(pdf, []byte("/BaseFont /Helvetica"))
	if got := embedsFonts(pdf); got != wantEmbedded || core == wantEmbedded {
		t.Errorf("embedded fonts = %v, Helvetica = %v; want embedded fonts %v", got, core, wantEmbedded)
	}
}

func TestGolden(t *testing.T) {
	letterPaper := letter.SampleSnapshot()
	letterPaper.PaperSize = "Letter"
	noImpact := letter.SampleSnapshot()
	noImpact.Impact = nil
	fastLetterPaper := fastSnapshot()
	fastLetterPaper.PaperSize = "Letter"
	tests := []struct {
		name     string
		s        *domain.Snapshot
		embedded bool
	}{
		{"typical", letter.SampleSnapshot(), true},
		{"us-letter", letterPaper, true},
		{"no-impact", noImpact, true},
		{"long-full", longFullSnapshot(200), true},
		{"typical-fast", fastSnapshot(), false},
		{"us-letter-fast", fastLetterPaper, false},
		{"long", longSnapshot(200), false},
	}
	r := MustRenderer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdf := MustRender(t, r, tt.s)
			checkPath(t, pdf, tt.embedded)
			sum := sha256.Sum256(pdf)
			got := hex.EncodeToString(sum[:]) + "\n"
			path := filepath.Join("testdata", tt.name+".sha256")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("SHA-256 of the PDF = %s, golden %s: the letter changed; if on purpose, look at it and run go test -update", strings.TrimSpace(got), strings.TrimSpace(string(want)))
			}
		})
	}
}

func TestDeterministicConcurrent(t *testing.T) {
	r := MustRenderer(t)
	tests := []struct {
		name string
		s    *domain.Snapshot
	}{
		{"typical", letter.SampleSnapshot()},
		{"long", longSnapshot(200)},
		{"typical-fast", fastSnapshot()},
		{"long-full", longFullSnapshot(200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 20
			outs := make([][]byte, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					var buf bytes.Buffer
					if err := r.Render(&buf, tt.s, hashOf(t, tt.s)); err != nil {
						t.Errorf("Render: %v", err)
					}
					outs[i] = buf.Bytes()
				})
			}
			wg.Wait()
			for i := 1; i < n; i++ {
				if !bytes.Equal(outs[0], outs[i]) {
					t.Fatalf("render %d differs from render 0 (%d vs %d bytes)", i, len(outs[i]), len(outs[0]))
				}
			}
		})
	}
}

// pdfToText returns the text of a PDF as pdftotext sees it.
func pdfToText(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext not installed")
	}
	path := filepath.Join(t.TempDir(), "letter.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

func TestText(t *testing.T) {
	r := MustRenderer(t)
	tests := []struct {
		name, donor, greeting string
		embedded              bool // needs the embedded fonts
	}{
		{"polish", "Zoë Łukasiewicz", "Dear Zoë,", true},
		{"vietnamese", "Ngọc Ánh Nguyễn", "Dear Ngọc Ánh,", true},
		{"vietnamese decomposed", "Ngo\u0323c A\u0301nh", "Dear Ngọc,", true},
		{"russian", "Дмитрий Иванов", "Дорогой Дмитрий,", true},
		{"greek", "Σωκράτης Παπαδόπουλος", "Αγαπητέ Σωκράτη,", true},
		{"french", "Renée Noël-Œuvray", "Chère Renée,", false},
		{"french and German", "Zoë François Müller", "Dear Zoë,", false},
		{"decomposed to Windows-1252", "Zoe\u0308 Franc\u0327ois", "Dear Zoe\u0308,", false},
		{"curly quotes", "Siobhán O’Brien", "Dear Siobhán,", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := letter.SampleSnapshot()
			s.Donor.Name, s.Greeting = tt.donor, tt.greeting
			pdf := MustRender(t, r, s)
			checkPath(t, pdf, tt.embedded)
			text := pdfToText(t, pdf)
			nfc := strings.NewReplacer("o\u0323", "ọ", "A\u0301", "Á", "e\u0308", "ë", "c\u0327", "ç")
			for _, want := range []string{
				nfc.Replace(tt.donor),
				nfc.Replace(tt.greeting),
				"July to September 2026",
				"5 October 2026",
				"£57.50",
				"-£7.50",
				"Refund of your gift of 3 June 2026",
				"Verification code " + domain.VerificationCode(hashOf(t, s)) + " — check it at https://example.org/verify",
				"Page 1 of 2",
				"Registered charity no. 1234567",
				"† Demonstration figure, invented for this demo — not a real result.",
				"41†",
				"1,407 since 2011",
				"as a monthly supporter since March 2025",
				"Gift Aid",
				"£10.00 from HMRC",
				"Your giving over time",
				"Since 1 January 2026",
				"£397.50",
				"Q3 2026",
				"gifts in USD are not shown",
			} {
				if !strings.Contains(text, want) {
					t.Errorf("letter text lacks %q", want)
				}
			}
			if strings.Contains(text, "Dear supporter") {
				t.Errorf("fell back to the generic greeting for a printable name")
			}
			if strings.Contains(text, "1,407 since 2011†") {
				t.Errorf("a real, published figure is marked as demonstration data")
			}
		})
	}
}

func TestUnprintableNameFallsBack(t *testing.T) {
	r := MustRenderer(t)
	tests := []struct {
		name, donor, greeting, address string
	}{
		{"chinese", "陳大文", "Dear 大文,", "北京市朝阳区"},
		{"japanese", "山田 花子", "Dear 花子,", "東京都"},
		{"arabic", "محمد عبد الله", "Dear محمد,", "شارع"},
		{"hebrew", "דוד כהן", "Dear דוד,", "רחוב"},
		{"emoji", "Sam 🌈", "Dear Sam 🌈,", "🌈 House"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := letter.SampleSnapshot()
			s.Donor.Name, s.Greeting = tt.donor, tt.greeting
			s.Donor.Address = []string{tt.address, "SW1A 1AA"}
			pdf := MustRender(t, r, s)
			// What is left to print is all in Windows-1252, so the letter
			// takes the core-font path: the fallback follows what the
			// embedded fonts can print, whichever path draws the letter.
			checkPath(t, pdf, false)
			text := pdfToText(t, pdf)
			if !strings.Contains(text, "Dear supporter,") {
				t.Errorf("no fallback greeting in:\n%s", text)
			}
			for _, bad := range []string{tt.donor, tt.greeting, tt.address, "?"} {
				if strings.Contains(text, bad) {
					t.Errorf("letter text contains %q", bad)
				}
			}
			if !strings.Contains(text, "SW1A 1AA") {
				t.Errorf("printable address line was dropped")
			}
		})
	}
}

func TestLongLetter(t *testing.T) {
	r := MustRenderer(t)
	text := pdfToText(t, MustRender(t, r, longSnapshot(200)))
	pages := strings.Count(text, "\f")
	if pages < 3 {
		t.Fatalf("200 gifts gave %d pages, want at least 3", pages)
	}
	for _, want := range []string{"Page 3 of", fmt.Sprintf("Page %d of %d", pages, pages), "Konstantinopoulou", "Commercial Boulevard"} {
		if !strings.Contains(text, want) {
			t.Errorf("letter text lacks %q", want)
		}
	}
	// The gifts table runs over at least three pages, each with its header.
	if n := strings.Count(text, "Designation"); n < 3 {
		t.Errorf("gifts table header printed %d times, want one per page (>= 3)", n)
	}
}

func TestNoWebsiteNoImpact(t *testing.T) {
	r := MustRenderer(t)
	s := letter.SampleSnapshot()
	s.Org.Website = ""
	s.Impact = nil
	text := pdfToText(t, MustRender(t, r, s))
	code := domain.VerificationCode(hashOf(t, s))
	if !strings.Contains(text, "Verification code "+code) {
		t.Errorf("letter text lacks the verification code %s", code)
	}
	for _, bad := range []string{"/verify", "Demonstration figures", "Protecting children", "Cumulative"} {
		if strings.Contains(text, bad) {
			t.Errorf("letter text contains %q", bad)
		}
	}
}

func TestPaperSize(t *testing.T) {
	if _, err := exec.LookPath("pdfinfo"); err != nil {
		t.Skip("pdfinfo not installed")
	}
	r := MustRenderer(t)
	tests := []struct{ paper, want string }{
		{"A4", "595.28 x 841.89 pts (A4)"},
		{"", "595.28 x 841.89 pts (A4)"},
		{"Letter", "612 x 792 pts (letter)"},
	}
	for _, tt := range tests {
		t.Run(tt.paper, func(t *testing.T) {
			s := letter.SampleSnapshot()
			s.PaperSize = tt.paper
			path := filepath.Join(t.TempDir(), "letter.pdf")
			if err := os.WriteFile(path, MustRender(t, r, s), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("pdfinfo", path).Output()
			if err != nil {
				t.Fatalf("pdfinfo: %v", err)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("pdfinfo says\n%s\nwant page size %q", out, tt.want)
			}
		})
	}
}

func TestQPDFCheck(t *testing.T) {
	if _, err := exec.LookPath("qpdf"); err != nil {
		t.Skip("qpdf not installed")
	}
	r := MustRenderer(t)
	tests := []struct {
		name string
		s    *domain.Snapshot
	}{
		{"typical", letter.SampleSnapshot()},
		{"long", longSnapshot(200)},
		{"typical-fast", fastSnapshot()},
		{"long-full", longFullSnapshot(200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "letter.pdf")
			if err := os.WriteFile(path, MustRender(t, r, tt.s), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("qpdf", "--check", path).CombinedOutput(); err != nil {
				t.Errorf("qpdf --check: %v\n%s", err, out)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	r := MustRenderer(t)
	bad := letter.SampleSnapshot()
	bad.IssuedOn = "5 October 2026"
	tests := []struct {
		name string
		s    *domain.Snapshot
	}{
		{"nil snapshot", nil},
		{"bad issued_on", bad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := r.Render(&bytes.Buffer{}, tt.s, strings.Repeat("0", 64)); err == nil {
				t.Errorf("Render succeeded, want an error")
			}
		})
	}
}

func TestLogo(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 240, 80))
	for x := range 240 {
		for y := range 80 {
			img.Set(x, y, color.RGBA{0, 57, uint8(93 + x%100), 255})
		}
	}
	var logo bytes.Buffer
	if err := png.Encode(&logo, img); err != nil {
		t.Fatal(err)
	}
	r, err := letter.New(letter.Options{Logo: logo.Bytes()})
	if err != nil {
		t.Fatalf("New with logo: %v", err)
	}
	if r.LogoSHA256() == "" || MustRenderer(t).LogoSHA256() != "" {
		t.Fatalf("LogoSHA256: %q with a logo, %q without", r.LogoSHA256(), MustRenderer(t).LogoSHA256())
	}
	s := letter.SampleSnapshot()
	// A snapshot that does not name this logo (an older letter, or one made
	// before the logo was configured) is printed without it.
	if !bytes.Equal(MustRender(t, r, s), MustRender(t, MustRenderer(t), s)) {
		t.Errorf("a snapshot without the logo's hash got the logo")
	}
	s.Org.LogoSHA256 = r.LogoSHA256()
	a, b := MustRender(t, r, s), MustRender(t, r, s)
	if !bytes.Equal(a, b) {
		t.Errorf("letters with a logo differ between renders")
	}
	if bytes.Equal(a, MustRender(t, MustRenderer(t), s)) {
		t.Errorf("the logo changed nothing")
	}
	if !strings.Contains(pdfToText(t, a), "Safe Childhood Online Trust") {
		t.Errorf("letterhead text lost beside the logo")
	}
}

func TestNewRejectsBadLogo(t *testing.T) {
	if _, err := letter.New(letter.Options{Logo: []byte("not a png")}); err == nil {
		t.Errorf("New accepted a logo that is not a PNG")
	}
}

// TestScriptsExtract checks that a reader gets back, as text, every script
// the letter prints: each block's font is found through its encoding's glyph
// names, so a wrong code or name would show here as a wrong character.
func TestScriptsExtract(t *testing.T) {
	r := MustRenderer(t)
	for _, name := range []string{
		"Zoë Łukasiewicz",             // Latin-1 and Latin Extended-A
		"Nguyễn Thị Ngọc Ánh",         // Vietnamese
		"Дмитрий Шостакович",          // Cyrillic
		"Σωκράτης Παπαδόπουλος",       // Greek
		"Ґанна Її Ўладзімір",          // Ukrainian and Belarusian
		"Ǆemal Ṡeán Ŀuís ʻOlelo",      // Latin Extended-B, Additional, modifiers
		"Ngọc Ánh Дмитрий Σωκράτης Ł", // all of them in one line
	} {
		s := letter.SampleSnapshot()
		s.Donor.Name = name
		s.Greeting = "Dear " + name + ","
		text := pdfToText(t, MustRender(t, r, s))
		if !strings.Contains(text, "Dear "+name+",") {
			t.Errorf("%q: greeting not in the extracted text:\n%s", name, text)
		}
	}
}

// TestSizeBudget: a letter stays under 60 KB, whatever its scripts and
// however many gifts: each block a letter uses adds its font (3–13 KB).
func TestSizeBudget(t *testing.T) {
	r := MustRenderer(t)
	named := func(s *domain.Snapshot, name string, address ...string) *domain.Snapshot {
		s.Donor.Name, s.Greeting = name, "Dear "+name+","
		if len(address) > 0 {
			s.Donor.Address = address
		}
		return s
	}
	tests := []struct {
		name string
		s    *domain.Snapshot
	}{
		{"core fonts", fastSnapshot()},
		{"Polish", letter.SampleSnapshot()},
		{"Vietnamese", named(letter.SampleSnapshot(), "Nguyễn Thị Ngọc Ánh", "12 Phố Hàng Bạc", "Hà Nội, Việt Nam")},
		{"Russian", named(letter.SampleSnapshot(), "Дмитрий Шостакович", "ул. Тверская 7, кв. 12", "Москва 125009")},
		{"Greek", named(letter.SampleSnapshot(), "Σωκράτης Παπαδόπουλος", "Οδός Αριστοτέλους 12", "Θεσσαλονίκη 546 23")},
		{"three scripts", named(letter.SampleSnapshot(), "Nguyễn Thị Ngọc Ánh — Дмитрий Σωκράτης",
			"ул. Тверская 7, кв. 12", "Θεσσαλονίκη 546 23", "Hà Nội, Việt Nam")},
		{"200 gifts, core fonts", longSnapshot(200)},
		{"200 gifts, embedded", longFullSnapshot(200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdf := MustRender(t, r, tt.s)
			t.Logf("%d bytes", len(pdf))
			if len(pdf) >= 60_000 {
				t.Errorf("%d bytes, want under 60,000", len(pdf))
			}
		})
	}
}

// TestSections checks the parts of the letter that depend on the snapshot's
// optional sections: demonstration marks, the US acknowledgment, Gift Aid
// and the history.
func TestSections(t *testing.T) {
	r := MustRenderer(t)
	legacyDemo := letter.SampleSnapshot()
	for i := range legacyDemo.Impact.Metrics {
		legacyDemo.Impact.Metrics[i].PeriodDemo = false
	}
	real := letter.SampleSnapshot()
	real.Impact.DemoData = false
	us := letter.SampleSnapshot()
	us.Org.Country = domain.CountryUS
	us.GiftAid = nil
	for i := range us.Gifts {
		us.Gifts[i].GiftAid = false
	}
	us.Acknowledgment = "No goods or services were provided in exchange for the contributions listed in this statement."
	bare := letter.SampleSnapshot()
	bare.Version = 1
	bare.YearStart, bare.YearToDate, bare.Lifetime, bare.FirstGiftOn, bare.Chart, bare.GiftAid = "", nil, nil, "", nil, nil
	for i := range bare.Gifts {
		bare.Gifts[i].GiftAid = false
	}
	tests := []struct {
		name        string
		s           *domain.Snapshot
		want, avoid []string
	}{
		{"demo data throughout (version 1 update)", legacyDemo, []string{"41†", "1,407 since 2011†", "† Demonstration figure"}, []string{"Figures without the mark"}},
		{"real figures", real, []string{"41", "1,407 since 2011"}, []string{"†", "Demonstration"}},
		{"US charity", us, []string{"No goods or services were provided in exchange"}, []string{"Gift Aid"}},
		{"version 1 snapshot", bare, []string{"Your gifts", "£57.50"}, []string{"Your giving over time", "Gift Aid", "Q3 2026"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := pdfToText(t, MustRender(t, r, tt.s))
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("letter text lacks %q", w)
				}
			}
			for _, a := range tt.avoid {
				if strings.Contains(text, a) {
					t.Errorf("letter text contains %q", a)
				}
			}
		})
	}
}

// TestPathChoice checks that one string anywhere in the letter that
// Windows-1252 cannot hold sends the whole letter to the embedded fonts,
// and that the text prints either way.
func TestPathChoice(t *testing.T) {
	r := MustRenderer(t)
	tests := []struct {
		name     string
		edit     func(s *domain.Snapshot)
		want     string // text the letter must show
		embedded bool
	}{
		{"all Windows-1252", func(s *domain.Snapshot) {}, "Zoë François", false},
		{"designation of the last gift", func(s *domain.Snapshot) {
			s.Gifts[len(s.Gifts)-1].Designation = "Fundusz Wiśniewskiej"
		}, "Fundusz Wiśniewskiej", true},
		{"impact narrative", func(s *domain.Snapshot) { s.Impact.Narrative = "Спасибо за вашу помощь." }, "Спасибо за вашу помощь.", true},
		{"footer", func(s *domain.Snapshot) { s.Footer = append(s.Footer, "Τηλέφωνο 0800 000 000") }, "Τηλέφωνο 0800 000 000", true},
		{"non-breaking hyphen", func(s *domain.Snapshot) { s.SignOff[1] = "Supporter\u2011Care Team" }, "Supporter\u2011Care Team", true},
		{"euro, dashes and quotes", func(s *domain.Snapshot) {
			s.Gifts[2].Designation = "“Aftercare” – €25 ‘gift’ … ™"
		}, "“Aftercare” – €25 ‘gift’ … ™", false},
		{"character neither path has", func(s *domain.Snapshot) { s.Gifts[2].Designation = "Aftercare 北京" }, "Aftercare ??", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fastSnapshot()
			tt.edit(s)
			pdf := MustRender(t, r, s)
			checkPath(t, pdf, tt.embedded)
			if text := pdfToText(t, pdf); !strings.Contains(text, tt.want) {
				t.Errorf("letter text lacks %q:\n%s", tt.want, text)
			}
		})
	}
}

// TestPathsAgree checks that the two paths print the same words: the same
// letter drawn with the core fonts and, after one character in the footer
// moves it to the embedded fonts, with those.
func TestPathsAgree(t *testing.T) {
	r := MustRenderer(t)
	// The verification code differs (the snapshots differ), and so may the
	// page count, as the fonts' widths differ.
	varying := regexp.MustCompile(`Verification code \S+|Page \d+ of \d+|Ł`)
	words := func(pdf []byte) []string {
		w := strings.Fields(varying.ReplaceAllString(pdfToText(t, pdf), ""))
		slices.Sort(w)
		return w
	}
	for _, s := range []*domain.Snapshot{fastSnapshot(), longSnapshot(60)} {
		core := MustRender(t, r, s)
		s.Footer = append(s.Footer, "Ł")
		full := MustRender(t, r, s)
		checkPath(t, core, false)
		checkPath(t, full, true)
		if a, b := words(core), words(full); !slices.Equal(a, b) {
			t.Errorf("the paths print different words:\ncore:  %q\nfull:  %q", a, b)
		}
	}
}

// TestDemoMix checks that the demo's supporters take both paths and that
// every one of their letters names them.
func TestDemoMix(t *testing.T) {
	snaps, _, fast := demoSnapshots(t)
	if len(snaps) < 150 || fast == 0 || fast == len(snaps) {
		t.Fatalf("%d supporters, %d on the fast path: want both paths used", len(snaps), fast)
	}
	t.Logf("%d of %d demo supporters' letters take the core-font path", fast, len(snaps))
	r := MustRenderer(t)
	for _, s := range snaps[:12] {
		if text := pdfToText(t, MustRender(t, r, s)); !strings.Contains(text, s.Donor.Name) {
			t.Errorf("letter for %q does not name them", s.Donor.Name)
		}
	}
}

// TestCorrectedStatement: a correction says so at the top, on both paths.
func TestCorrectedStatement(t *testing.T) {
	r := MustRenderer(t)
	for _, name := range []string{"Zoë François", "Zoë Łukasiewicz"} {
		s := letter.SampleSnapshot()
		s.Donor.Name, s.Corrects = name, "5 October 2026"
		text := pdfToText(t, MustRender(t, r, s))
		if !strings.Contains(text, "Corrected statement — replaces the one sent on 5 October 2026.") {
			t.Errorf("%s: no correction notice:\n%.600s", name, text)
		}
		plain := letter.SampleSnapshot()
		plain.Donor.Name = name
		if strings.Contains(pdfToText(t, MustRender(t, r, plain)), "Corrected statement") {
			t.Errorf("%s: an ordinary letter says it is a correction", name)
		}
	}
}
