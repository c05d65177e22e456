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

// longSnapshot is letter.LongSampleSnapshot with a Polish first name.
func longSnapshot(n int) *domain.Snapshot {
	s := letter.LongSampleSnapshot(n)
	s.Donor.Name = "Łucja " + s.Donor.Name
	return s
}

// westernSnapshot is the sample letter for a donor whose name is all in
// Windows-1252: before one typeface, such letters were set in Helvetica.
func westernSnapshot() *domain.Snapshot {
	s := letter.SampleSnapshot()
	s.Donor.Name = "Zoë François"
	return s
}

// embedsFonts reports whether a PDF embeds its fonts and names no standard
// (unembedded) font.
func embedsFonts(pdf []byte) bool {
	return bytes.Contains(pdf, []byte("/FontFile2")) && !bytes.Contains(pdf, []byte("/BaseFont /Helvetica"))
}

// checkEmbedded fails unless every font of pdf is embedded Noto Sans.
func checkEmbedded(t *testing.T, pdf []byte) {
	t.Helper()
	if !embedsFonts(pdf) {
		t.Errorf("letter names a font it does not embed")
	}
	if _, err := exec.LookPath("pdffonts"); err != nil {
		return
	}
	out, err := exec.Command("pdffonts", tempPDF(t, "pdffonts", pdf)).Output()
	if err != nil {
		t.Fatalf("pdffonts: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 3 {
		t.Fatalf("pdffonts lists no font:\n%s", out)
	}
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		// name type encoding emb sub uni object ID
		if len(f) < 7 || !strings.Contains(f[0], "+NotoSans-") || f[len(f)-5] != "yes" {
			t.Errorf("font not embedded Noto Sans: %s", l)
		}
	}
}

func TestGolden(t *testing.T) {
	letterPaper := letter.SampleSnapshot()
	letterPaper.PaperSize = "Letter"
	noImpact := letter.SampleSnapshot()
	noImpact.Impact = nil
	tests := []struct {
		name string
		s    *domain.Snapshot
	}{
		{"typical", letter.SampleSnapshot()},
		{"us-letter", letterPaper},
		{"no-impact", noImpact},
		{"long", longSnapshot(200)},
		{"western", westernSnapshot()},
		{"version-2", version2Snapshot()},
		{"annual-gb", letter.AnnualSampleSnapshot(domain.CountryGB)},
		{"annual-us", letter.AnnualSampleSnapshot(domain.CountryUS)},
	}
	r := MustRenderer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdf := MustRender(t, r, tt.s)
			checkEmbedded(t, pdf)
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

// version2Snapshot is a statement stored before snapshot version 3: the
// collective sentence is the last paragraph, the closing names a team, the
// address is as it was stored.
func version2Snapshot() *domain.Snapshot {
	s := letter.SampleSnapshot()
	s.Version = 2
	s.Org.Signatory, s.Org.SignatoryRole = "", ""
	s.Paragraphs = append(s.Paragraphs, s.Collective)
	s.Collective = ""
	s.SignOff = []string{"With heartfelt thanks,", "Supporter Care Team", s.Org.Name}
	s.Donor.Address = []string{"Flat 3, 14 Canal Street", "Manchester M1 3HE", "GB"}
	return s
}

func TestDeterministicConcurrent(t *testing.T) {
	r := MustRenderer(t)
	tests := []struct {
		name string
		s    *domain.Snapshot
	}{
		{"typical", letter.SampleSnapshot()},
		{"long", longSnapshot(200)},
		{"western", westernSnapshot()},
		{"annual", letter.AnnualSampleSnapshot(domain.CountryGB)},
		{"annual long", letter.AnnualLongSampleSnapshot(200)},
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

// tempPDF writes pdf to a file of the test's own and returns its path,
// having checked that tool is installed (the test skips without it).
func tempPDF(t *testing.T, tool string, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Skip(tool + " not installed")
	}
	path := filepath.Join(t.TempDir(), "letter.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// pdfToText returns the text of a PDF as pdftotext sees it.
func pdfToText(t *testing.T, pdf []byte) string {
	t.Helper()
	path := tempPDF(t, "pdftotext", pdf)
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// mutoolText returns the text of a PDF as MuPDF's mutool sees it.
func mutoolText(t *testing.T, pdf []byte) string {
	t.Helper()
	path := tempPDF(t, "mutool", pdf)
	out, err := exec.Command("mutool", "draw", "-q", "-F", "txt", "-o", "-", path).Output()
	if err != nil {
		t.Fatalf("mutool draw: %v", err)
	}
	return string(out)
}

// TestText checks, with two independent readers (poppler's pdftotext and
// MuPDF's mutool), that the letter's words come back exactly as they were
// printed: the name, address and amounts in every script the fonts carry.
func TestText(t *testing.T) {
	r := MustRenderer(t)
	tests := []struct {
		name, donor, greeting string
		address               []string
	}{
		{"polish", "Zoë Łukasiewicz", "Dear Zoë,", nil},
		{"vietnamese", "Ngọc Ánh Nguyễn", "Dear Ngọc Ánh,", []string{"12 Phố Hàng Bạc", "Hoàn Kiếm", "Hà Nội 100000", "VIET NAM"}},
		{"vietnamese decomposed", "Ngo\u0323c A\u0301nh", "Dear Ngọc,", nil},
		{"russian", "Дмитрий Иванов", "Дорогой Дмитрий,", []string{"УЛ. ТВЕРСКАЯ, Д. 7, КВ. 12", "МОСКВА", "125009", "RUSSIAN FEDERATION"}},
		{"greek", "Σωκράτης Παπαδόπουλος", "Αγαπητέ Σωκράτη,", []string{"Οδός Αριστοτέλους 12", "546 23 Θεσσαλονίκη", "GREECE"}},
		{"french", "Renée Noël-Œuvray", "Chère Renée,", []string{"8 rue de Rivoli", "75004 PARIS", "FRANCE"}},
		{"german", "Zoë François Müller", "Dear Zoë,", []string{"Hauptstraße 5", "80331 München", "GERMANY"}},
		{"decomposed to Windows-1252", "Zoe\u0308 Franc\u0327ois", "Dear Zoe\u0308,", nil},
		{"curly quotes", "Siobhán O’Brien", "Dear Siobhán,", []string{"12 Grafton Street", "Dublin", "D02 X285", "IRELAND"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := letter.SampleSnapshot()
			s.Donor.Name, s.Greeting = tt.donor, tt.greeting
			if tt.address != nil {
				s.Donor.Address = tt.address
			}
			pdf := MustRender(t, r, s)
			checkEmbedded(t, pdf)
			nfc := strings.NewReplacer("o\u0323", "ọ", "A\u0301", "Á", "e\u0308", "ë", "c\u0327", "ç")
			want := []string{
				nfc.Replace(tt.donor),
				nfc.Replace(tt.greeting),
				"July to September 2026",
				"5 October 2026",
				"£57.50",
				"−£7.50", // U+2212, the true minus sign
				"Refund of your gift of 3 June 2026",
				"Verification code " + domain.VerificationCode(hashOf(t, s)) + " — check it at https://example.org/verify",
				"Page 1 of 2",
				"Registered charity no. 1234567",
				"† Demonstration figure, invented for this demo — not a real result.",
				"41†",
				"1,407 since 2011",
				"As a monthly supporter since March 2025",
				"£10.00 from HMRC",
				"Your giving over time",
				"Since 1 January 2026",
				"£397.50",
				"Q3 2026",
				"gifts in USD are not shown",
				"Grace Whitfield",
				"Head of Supporter Care",
				"Together, 4,812 supporters",
			}
			want = append(want, s.Donor.Address...)
			for reader, text := range map[string]string{"pdftotext": pdfToText(t, pdf), "mutool": mutoolText(t, pdf)} {
				for _, w := range want {
					if !strings.Contains(text, w) {
						t.Errorf("%s: letter text lacks %q", reader, w)
					}
				}
				if strings.Contains(text, "Dear supporter") {
					t.Errorf("%s: fell back to the generic greeting for a printable name", reader)
				}
				if strings.Contains(text, "1,407 since 2011†") {
					t.Errorf("%s: a real, published figure is marked as demonstration data", reader)
				}
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
			checkEmbedded(t, pdf)
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
	first, _, _ := strings.Cut(text, "\f")
	for _, want := range []string{"YOUR GIVING IN JULY TO SEPTEMBER 2026", "£22,061.25", "€3,806.25", "given in 171 gifts", "Grace Whitfield"} {
		if !strings.Contains(first, want) {
			t.Errorf("page 1 of the 200-gift letter lacks %q", want)
		}
	}
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
	if n := strings.Count(text, "Amount"); n < 3 {
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
		{"version 2", version2Snapshot()},
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

// TestSizeBudget: a letter stays under 60 KB whatever its scripts, and a
// 200-gift one under 90 KB: each block a letter uses adds its font (4–13 KB).
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
		{"Western European", westernSnapshot()},
		{"Polish", letter.SampleSnapshot()},
		{"Vietnamese", named(letter.SampleSnapshot(), "Nguyễn Thị Ngọc Ánh", "12 Phố Hàng Bạc", "Hà Nội, Việt Nam")},
		{"Russian", named(letter.SampleSnapshot(), "Дмитрий Шостакович", "ул. Тверская 7, кв. 12", "Москва 125009")},
		{"Greek", named(letter.SampleSnapshot(), "Σωκράτης Παπαδόπουλος", "Οδός Αριστοτέλους 12", "Θεσσαλονίκη 546 23")},
		{"three scripts", named(letter.SampleSnapshot(), "Nguyễn Thị Ngọc Ánh — Дмитрий Σωκράτης",
			"ул. Тверская 7, кв. 12", "Θεσσαλονίκη 546 23", "Hà Nội, Việt Nam")},
		{"200 gifts", longSnapshot(200)},
		{"annual GB", letter.AnnualSampleSnapshot(domain.CountryGB)},
		{"annual US", letter.AnnualSampleSnapshot(domain.CountryUS)},
		{"annual, Russian", named(letter.AnnualSampleSnapshot(domain.CountryGB), "Дмитрий Шостакович", "ул. Тверская 7, кв. 12", "Москва 125009")},
		{"annual, 200 gifts", letter.AnnualLongSampleSnapshot(200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdf := MustRender(t, r, tt.s)
			t.Logf("%d bytes", len(pdf))
			limit := 60_000
			if len(tt.s.Gifts) > 100 {
				limit = 90_000
			}
			if len(pdf) >= limit {
				t.Errorf("%d bytes, want under %d", len(pdf), limit)
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
		{"version 2 snapshot", version2Snapshot(), []string{"Supporter Care Team", "Manchester M1 3HE", "Together, 4,812 supporters"}, []string{"Grace Whitfield"}},
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

// TestGiftsTableSaysItOnce: a designation that only names the kind of gift
// is not printed beside the kind again; a real one follows it.
func TestGiftsTableSaysItOnce(t *testing.T) {
	s := letter.SampleSnapshot()
	s.Gifts[0].Designation = "Monthly gift"
	s.Gifts[2].Designation = "Survivor aftercare"
	text := pdfToText(t, MustRender(t, MustRenderer(t), s))
	if strings.Contains(text, "Monthly gift · Monthly gift") || strings.Contains(text, "Monthly Monthly") {
		t.Errorf("the gifts table repeats itself:\n%s", text)
	}
	if !strings.Contains(text, "One-off gift · Survivor aftercare") {
		t.Errorf("the designation is missing:\n%s", text)
	}
}

// TestDemoMix checks that every demo supporter's letter, whatever the
// script of their name, is set in the one embedded typeface and names them.
func TestDemoMix(t *testing.T) {
	snaps, _ := demoSnapshots(t)
	if len(snaps) < 150 {
		t.Fatalf("%d supporters, want the demo's", len(snaps))
	}
	r := MustRenderer(t)
	for i, s := range snaps {
		pdf := MustRender(t, r, s)
		if !embedsFonts(pdf) {
			t.Errorf("letter for %q is not set in the embedded fonts", s.Donor.Name)
		}
		if i < 12 {
			if text := pdfToText(t, pdf); !strings.Contains(text, s.Donor.Name) {
				t.Errorf("letter for %q does not name them", s.Donor.Name)
			}
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
