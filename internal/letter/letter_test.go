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
	"time"

	"impactd/internal/domain"
	"impactd/internal/letter"
	"impactd/internal/money"
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

// longSnapshot is the sample with n gifts in two currencies, long
// designations and a donor whose name and address need wrapping.
func longSnapshot(n int) *domain.Snapshot {
	s := letter.SampleSnapshot()
	s.Donor.Name = "Dr Maximiliana Aurelia Konstantinopoulou-Wojciechowska-Fairweather of the Very Long Household Name"
	s.Donor.Address = []string{
		"Apartment 1207, The Extraordinarily Long Residential Tower Building Named After A Benefactor",
		"1234 Northern Industrial and Commercial Boulevard Extension",
		"Greater Manchester", "M1 3HE",
	}
	s.Gifts = nil
	totals := money.Totals{}
	for i := range n {
		cur := "GBP"
		if i%7 == 3 {
			cur = "EUR"
		}
		g := domain.Gift{
			Date:      time.Date(2026, time.July, 1+i*91/n, 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
			Amount:    money.New(int64(500+i*125), cur),
			Recurring: i%3 != 0,
		}
		if i%5 == 0 {
			g.Designation = "Survivor aftercare and long-term support for children brought to safety in the Philippines"
		}
		s.Gifts = append(s.Gifts, g)
		totals.Add(g.Amount)
	}
	s.Totals = nil
	for _, t := range totals.List() {
		refunded := int64(0)
		if t.Currency == "GBP" {
			refunded = 750
		}
		s.Totals = append(s.Totals, domain.Total{Currency: t.Currency, Gross: t.Amount, Refunded: refunded, Net: t.Amount - refunded})
	}
	return s
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
	}
	r := MustRenderer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdf := MustRender(t, r, tt.s)
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
	}{
		{"polish", "Zoë Łukasiewicz", "Dear Zoë,"},
		{"vietnamese", "Ngọc Ánh Nguyễn", "Dear Ngọc Ánh,"},
		{"vietnamese decomposed", "Ngo\u0323c A\u0301nh", "Dear Ngọc,"},
		{"russian", "Дмитрий Иванов", "Дорогой Дмитрий,"},
		{"greek", "Σωκράτης Παπαδόπουλος", "Αγαπητέ Σωκράτη,"},
		{"french", "Renée Noël-Œuvray", "Chère Renée,"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := letter.SampleSnapshot()
			s.Donor.Name, s.Greeting = tt.donor, tt.greeting
			text := pdfToText(t, MustRender(t, r, s))
			wantName := strings.ReplaceAll(strings.ReplaceAll(tt.donor, "o\u0323", "ọ"), "A\u0301", "Á")
			for _, want := range []string{
				wantName,
				strings.ReplaceAll(strings.ReplaceAll(tt.greeting, "o\u0323", "ọ"), "A\u0301", "Á"),
				"July to September 2026",
				"5 October 2026",
				"£57.50",
				"-£7.50",
				"Refund of your gift of 3 June 2026",
				"Verification code " + domain.VerificationCode(hashOf(t, s)) + " — check it at https://example.org/verify",
				"Page 1 of 2",
				"Registered charity no. 1234567",
				"Demonstration figures — not real results",
				"1,407 since 2011",
			} {
				if !strings.Contains(text, want) {
					t.Errorf("letter text lacks %q", want)
				}
			}
			if strings.Contains(text, "Dear supporter") {
				t.Errorf("fell back to the generic greeting for a printable name")
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
			text := pdfToText(t, MustRender(t, r, s))
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
	s := letter.SampleSnapshot()
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

// TestNaiveAndOptimisedAgree checks that cutting the fonts down in New
// changes nothing a reader sees.
func TestNaiveAndOptimisedAgree(t *testing.T) {
	naive, err := letter.NewUnsubset(letter.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := letter.SampleSnapshot()
	s.Donor.Name = "Ngọc Ánh Дмитрий Σωκράτης Łukasiewicz"
	a := pdfToText(t, MustRender(t, naive, s))
	b := pdfToText(t, MustRender(t, MustRenderer(t), s))
	if a != b {
		t.Errorf("text differs:\nnaive:\n%s\noptimised:\n%s", a, b)
	}
}
