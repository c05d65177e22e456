package letter_test

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"impactd/internal/letter"
)

// word is one word of a page as pdftotext -bbox places it, in points.
type word struct {
	text                   string
	xMin, yMin, xMax, yMax float64
}

// pageWords returns each page's size and words.
func pageWords(t *testing.T, pdf []byte) (pages [][2]float64, words [][]word) {
	t.Helper()
	out, err := exec.Command("pdftotext", "-bbox", tempPDF(t, "pdftotext", pdf), "-").Output()
	if err != nil {
		t.Fatalf("pdftotext -bbox: %v", err)
	}
	pageRe := regexp.MustCompile(`<page width="([\d.]+)" height="([\d.]+)">`)
	wordRe := regexp.MustCompile(`<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>`)
	f := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
	for _, chunk := range strings.Split(string(out), "</page>") {
		m := pageRe.FindStringSubmatch(chunk)
		if m == nil {
			continue
		}
		pages = append(pages, [2]float64{f(m[1]), f(m[2])})
		var ws []word
		for _, w := range wordRe.FindAllStringSubmatch(chunk, -1) {
			ws = append(ws, word{w[5], f(w[1]), f(w[2]), f(w[3]), f(w[4])})
		}
		words = append(words, ws)
	}
	return pages, words
}

const ptPerMM = 72 / 25.4

// TestAddressInWindow: the supporter's name and every address line are
// inside the envelope window of the paper size, with nothing else there
// but the return line.
func TestAddressInWindow(t *testing.T) {
	r := MustRenderer(t)
	for _, paper := range []string{"A4", "Letter"} {
		long := []string{"Apartment 1207, The Extraordinarily Long Residential Tower Building", "1234 Northern Industrial and Commercial Boulevard", "Unit 5", "Greater Manchester", "MANCHESTER", "M1 3HE", "UNITED KINGDOM"}
		if paper == "Letter" {
			// A #10 window holds five lines under the name (USPS asks for
			// at most six in all).
			long = []string{"Apartment 1207, 1234 Northern Industrial and Commercial Boulevard", "Unit 5", "MANCHESTER", "M1 3HE", "UNITED KINGDOM"}
		}
		for _, addr := range [][]string{{"Flat 3, 14 Canal Street", "MANCHESTER", "M1 3HE"}, long} {
			t.Run(fmt.Sprintf("%s %d lines", paper, len(addr)), func(t *testing.T) {
				s := letter.SampleSnapshot()
				s.PaperSize, s.Donor.Address = paper, addr
				_, words := pageWords(t, MustRender(t, r, s))
				w := letter.WindowFor(paper)
				x0, y0, x1, y1 := w.X*ptPerMM, w.Y*ptPerMM, (w.X+w.W)*ptPerMM, (w.Y+w.H)*ptPerMM
				inside := map[string]bool{}
				for _, wd := range words[0] {
					in := wd.xMin >= x0 && wd.xMax <= x1 && wd.yMin >= y0 && wd.yMax <= y1
					overlaps := wd.xMax > x0 && wd.xMin < x1 && wd.yMax > y0 && wd.yMin < y1
					if overlaps && !in {
						t.Errorf("%q crosses the window's edge", wd.text)
					}
					if in {
						inside[wd.text] = true
					}
				}
				for _, line := range append([]string{s.Donor.Name}, addr...) {
					for _, f := range strings.Fields(line) {
						if !inside[f] {
							t.Errorf("%q (of %q) is not inside the window", f, line)
						}
					}
				}
				if inside["July"] || inside["Dear"] {
					t.Errorf("body text inside the window: %v", inside)
				}
			})
		}
	}
}

// TestPageBudget: a letter of up to ten gifts takes at most two pages, and
// its first page is more than half full.
func TestPageBudget(t *testing.T) {
	r := MustRenderer(t)
	for n := 1; n <= 10; n++ {
		s := letter.LongSampleSnapshot(n)
		s.Donor = letter.SampleSnapshot().Donor
		pages, words := pageWords(t, MustRender(t, r, s))
		if len(pages) > 2 {
			t.Errorf("%d gifts: %d pages, want at most 2", n, len(pages))
		}
		for p := 0; p < len(pages)-1; p++ {
			h := pages[p][1]
			low := 0.0
			for _, w := range words[p] {
				// The footer sits in the bottom 30 mm.
				if w.yMax < h-30*ptPerMM {
					low = max(low, w.yMax)
				}
			}
			if low < h/2 {
				t.Errorf("%d gifts: page %d of %d ends at %.0f of %.0f pt: more than half empty", n, p+1, len(pages), low, h)
			}
		}
	}
}

// pageImage renders one page of pdf with pdftoppm at dpi.
func pageImage(t *testing.T, pdf []byte, page, dpi int) *image.RGBA {
	t.Helper()
	path := tempPDF(t, "pdftoppm", pdf)
	dir := filepath.Dir(path)
	p := strconv.Itoa(page)
	if out, err := exec.Command("pdftoppm", "-png", "-r", strconv.Itoa(dpi), "-f", p, "-l", p, "-singlefile", path, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	f, err := os.Open(filepath.Join(dir, "page.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(src.Bounds())
	draw.Draw(img, img.Bounds(), src, image.Point{}, draw.Src)
	return img
}

// rect outlines a rectangle two pixels wide.
func rect(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	for k := 0; k < 2; k++ {
		for x := x0; x <= x1; x++ {
			img.Set(x, y0+k, c)
			img.Set(x, y1-k, c)
		}
		for y := y0; y <= y1; y++ {
			img.Set(x0+k, y, c)
			img.Set(x1-k, y, c)
		}
	}
}
