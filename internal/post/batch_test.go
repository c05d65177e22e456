package post_test

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"impactd/internal/domain"
	"impactd/internal/letter"
	"impactd/internal/post"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func mustRenderer(tb testing.TB) *letter.Renderer {
	tb.Helper()
	r, err := letter.New(letter.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// mustLetter is a batch letter of snap, with its content hash.
func mustLetter(tb testing.TB, id, name, country, postcode string, lines []string, snap *domain.Snapshot) post.Letter {
	tb.Helper()
	snap.Donor.Name, snap.Donor.Address = name, lines
	enc, err := snap.Encode()
	if err != nil {
		tb.Fatal(err)
	}
	return post.Letter{StatementID: id, Snapshot: snap, ContentHash: domain.ContentHash(enc), Country: country, Postcode: postcode}
}

// tool runs a poppler or qpdf command on a PDF and returns its output.
func tool(tb testing.TB, pdf []byte, name string, args ...string) string {
	tb.Helper()
	if _, err := exec.LookPath(name); err != nil {
		tb.Skipf("%s is not installed", name)
	}
	f := filepath.Join(tb.TempDir(), "in.pdf")
	if err := os.WriteFile(f, pdf, 0o644); err != nil {
		tb.Fatal(err)
	}
	var out []byte
	var err error
	if name == "pdftotext" {
		out, err = exec.Command(name, append(append(args, f), "-")...).CombinedOutput()
	} else {
		out, err = exec.Command(name, append(args, f)...).CombinedOutput()
	}
	if err != nil {
		tb.Fatalf("%s: %v: %s", name, err, out)
	}
	return string(out)
}

func pages(tb testing.TB, pdf []byte) int {
	tb.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(tool(tb, pdf, "qpdf", "--show-npages")))
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// batchLetters are four letters: two of three pages, two of two (a
// letter has at least two: the details are on the second), in an order
// that is not the batch's.
func batchLetters(t *testing.T) []post.Letter {
	return []post.Letter{
		mustLetter(t, "stmt_b", "Bea Long", "GB", "SW1A 1AA", []string{"10 Downing Street", "LONDON", "SW1A 1AA"}, letter.LongSampleSnapshot(15)),
		mustLetter(t, "stmt_d", "Dan Scott", "GB", "EH1 1AA", []string{"2 Royal Mile", "EDINBURGH", "EH1 1AA"}, letter.SampleSnapshot()),
		mustLetter(t, "stmt_a", "Anna Weber", "DE", "10115", []string{"Invalidenstraße 1", "10115 Berlin", "GERMANY"}, letter.LongSampleSnapshot(15)),
		mustLetter(t, "stmt_c", "=Cara Evil", "GB", "EH1 1AA", []string{"1 Royal Mile", "EDINBURGH", "EH1 1AA"}, letter.SampleSnapshot()),
	}
}

// TestAssemble: each letter starts on an odd page (a blank page after a
// letter of odd length), the letters are sorted by country, postcode and
// statement id, and the manifest says where each one starts. Pages are
// counted by qpdf and read by pdftotext, not by the code under test.
func TestAssemble(t *testing.T) {
	r := mustRenderer(t)
	ls := batchLetters(t)
	// The premise: the long letters have three pages, the others two.
	for _, l := range ls {
		var buf bytes.Buffer
		if err := r.Render(&buf, l.Snapshot, l.ContentHash); err != nil {
			t.Fatal(err)
		}
		want := 2
		if l.StatementID == "stmt_a" || l.StatementID == "stmt_b" {
			want = 3
		}
		if n := pages(t, buf.Bytes()); n != want {
			t.Fatalf("letter %s has %d pages, the test wants %d", l.StatementID, n, want)
		}
	}
	p, err := post.Assemble(r, ls, time.Date(2026, 10, 6, 9, 30, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if n := pages(t, p.PDF); n != 12 || p.Pages != 12 || p.Letters != 4 {
		t.Fatalf("the batch has %d pages (says %d) and %d letters, want 12 and 4", n, p.Pages, p.Letters)
	}
	if out := tool(t, p.PDF, "qpdf", "--check"); !strings.Contains(out, "No syntax or stream encoding errors") || strings.Contains(out, "WARNING") {
		t.Errorf("qpdf --check: %s", out)
	}
	// DE first, then GB EH1 1AA (stmt_c before stmt_d), then GB SW1A 1AA;
	// a blank page after each three-page letter, so each starts on an odd
	// page. A letter's first page has its donor's name (the window), and
	// its pages together its verification code.
	letters := []struct {
		id, name    string
		first, last int
	}{{"stmt_a", "Anna Weber", 1, 3}, {"stmt_c", "=Cara Evil", 5, 6}, {"stmt_d", "Dan Scott", 7, 8}, {"stmt_b", "Bea Long", 9, 11}}
	code := map[string]string{}
	for _, l := range ls {
		code[l.StatementID] = domain.VerificationCode(l.ContentHash)
	}
	for _, l := range letters {
		first := tool(t, p.PDF, "pdftotext", "-f", strconv.Itoa(l.first), "-l", strconv.Itoa(l.first))
		all := tool(t, p.PDF, "pdftotext", "-f", strconv.Itoa(l.first), "-l", strconv.Itoa(l.last))
		if !strings.Contains(first, l.name) || !strings.Contains(all, code[l.id]) {
			t.Errorf("pages %d-%d are not letter %s (%s, code %s): %.300q", l.first, l.last, l.id, l.name, code[l.id], first)
		}
	}
	for _, blank := range []int{4, 12} {
		if text := tool(t, p.PDF, "pdftotext", "-f", strconv.Itoa(blank), "-l", strconv.Itoa(blank)); strings.TrimSpace(text) != "" {
			t.Errorf("page %d should be blank: %q", blank, text)
		}
	}
	golden := filepath.Join("testdata", "manifest.csv")
	if *update {
		if err := os.WriteFile(golden, p.Manifest, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g, p.Manifest) {
		t.Errorf("manifest differs from %s (-update to accept):\n%s", golden, p.Manifest)
	}
}

// TestAssembleIsDeterministic: the same letters give the same bytes, in
// whatever order they come and whenever they are printed (pdfcpu writes
// the clock into the PDF; the batch must not show it).
func TestAssembleIsDeterministic(t *testing.T) {
	r := mustRenderer(t)
	ls := batchLetters(t)
	created := time.Date(2026, 10, 6, 9, 30, 0, 0, time.UTC)
	first, err := post.Assemble(r, ls, created)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // past pdfcpu's one-second date
	ls[0], ls[3] = ls[3], ls[0]
	second, err := post.Assemble(r, ls, created)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.PDF, second.PDF) || !bytes.Equal(first.Manifest, second.Manifest) {
		t.Fatal("the same batch printed twice gave different bytes")
	}
	if !bytes.Contains(first.PDF, []byte("D:20261006093000+00'00'")) {
		t.Error("the PDF is not dated with the batch's creation")
	}
}

// TestAssembleNeedsLetters: an empty batch is refused with a reason.
func TestAssembleNeedsLetters(t *testing.T) {
	if _, err := post.Assemble(mustRenderer(t), nil, time.Now()); domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("got %v, want EINVALID", err)
	}
}
