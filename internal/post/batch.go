// Package post makes a run's letters for the post into a print batch: one
// print-ready PDF of all of them and a CSV manifest for the mailing house.
// Both are a pure function of the letters' snapshots, made again whenever
// they are downloaded (like every PDF impactd serves), so nothing is
// stored but the batch's record (store.EnsureBatch) and the same batch
// gives the same bytes every time.
package post

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"impactd/internal/domain"
)

// Renderer turns a snapshot into a PDF; *letter.Renderer is the real one.
type Renderer interface {
	Render(w io.Writer, s *domain.Snapshot, contentHash string) error
}

// Letter is one letter of a batch: its statement, and where it goes.
type Letter struct {
	StatementID string
	Snapshot    *domain.Snapshot
	ContentHash string
	Country     string // ISO code
	Postcode    string
}

// Printed is a batch made into files.
type Printed struct {
	PDF      []byte
	Manifest []byte // CSV
	Letters  int
	Pages    int // of the PDF, blank pages included
}

// manifestLines is how many address columns the manifest has; a longer
// address (none of the formats in internal/address makes one) has its last
// lines joined into the last column.
const manifestLines = 6

// Assemble prints letters as a batch, in the order a mailing house wants
// them: by country, then postcode, then statement id (so that the order,
// and the bytes, never depend on how the letters were read). Each letter
// starts on an odd page, for duplex printing: a letter of an odd number of
// pages is followed by a blank page. The address already sits in the
// window position of each letter's first page (internal/letter). created
// (the batch's creation time) dates the PDF, so that the same batch gives
// the same bytes.
func Assemble(r Renderer, letters []Letter, created time.Time) (*Printed, error) {
	if len(letters) == 0 {
		return nil, domain.Errorf(domain.EINVALID, "a print batch needs at least one letter")
	}
	ls := slices.Clone(letters)
	slices.SortFunc(ls, func(a, b Letter) int {
		return cmp.Or(strings.Compare(a.Country, b.Country), strings.Compare(a.Postcode, b.Postcode),
			strings.Compare(a.StatementID, b.StatementID))
	})
	conf := config()
	var parts []io.ReadSeeker
	var rows [][]string
	page, hashes := 1, sha256.New()
	for _, l := range ls {
		var buf bytes.Buffer
		if err := r.Render(&buf, l.Snapshot, l.ContentHash); err != nil {
			return nil, fmt.Errorf("print batch: statement %s: %w", l.StatementID, err)
		}
		n, err := api.PageCount(bytes.NewReader(buf.Bytes()), conf)
		if err != nil {
			return nil, fmt.Errorf("print batch: statement %s: count pages: %w", l.StatementID, err)
		}
		parts = append(parts, bytes.NewReader(buf.Bytes()))
		rows = append(rows, manifestRow(l, n, page))
		page += n
		if n%2 == 1 {
			blank, err := blankPage(l.Snapshot.PaperSize)
			if err != nil {
				return nil, err
			}
			parts = append(parts, bytes.NewReader(blank))
			page++
		}
		hashes.Write([]byte(l.StatementID + ":" + l.ContentHash + "\n"))
	}
	var out bytes.Buffer
	if err := api.MergeRaw(parts, &out, false, conf); err != nil {
		return nil, fmt.Errorf("print batch: merge: %w", err)
	}
	pdf, err := settle(out.Bytes(), created, hashes.Sum(nil))
	if err != nil {
		return nil, err
	}
	var man bytes.Buffer
	w := csv.NewWriter(&man)
	head := []string{"statement_id", "name"}
	for i := 1; i <= manifestLines; i++ {
		head = append(head, "address_line_"+strconv.Itoa(i))
	}
	head = append(head, "country", "postcode", "pages", "first_page")
	if err := w.Write(head); err != nil {
		return nil, fmt.Errorf("print batch: manifest: %w", err)
	}
	if err := w.WriteAll(rows); err != nil {
		return nil, fmt.Errorf("print batch: manifest: %w", err)
	}
	return &Printed{PDF: pdf, Manifest: man.Bytes(), Letters: len(ls), Pages: page - 1}, nil
}

// manifestRow is a letter's line of the manifest: who, the address lines as
// the envelope shows them, and where the letter is in the PDF.
func manifestRow(l Letter, pages, first int) []string {
	lines := make([]string, manifestLines)
	for i, a := range l.Snapshot.Donor.Address {
		if i < manifestLines {
			lines[i] = a
		} else {
			lines[manifestLines-1] += ", " + a
		}
	}
	row := []string{l.StatementID, l.Snapshot.Donor.Name}
	row = append(row, lines...)
	row = append(row, l.Country, l.Postcode, strconv.Itoa(pages), strconv.Itoa(first))
	for i := range row {
		row[i] = cell(row[i])
	}
	return row
}

// cell keeps a spreadsheet from reading a value as a formula: a value that
// starts with =, +, - or @ gets a leading apostrophe, which spreadsheets
// show as text (OWASP, "CSV Injection").
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

var (
	configOnce sync.Once
	blanks     sync.Map // paper size → PDF bytes
)

// config is pdfcpu's configuration for the batch: no configuration
// directory on disk, and every object written plainly (no object or xref
// streams) so that settle can find the dates and the file id.
func config() *model.Configuration {
	configOnce.Do(api.DisableConfigDir)
	conf := model.NewDefaultConfiguration()
	conf.WriteObjectStream = false
	conf.WriteXRefStream = false
	conf.ValidationMode = model.ValidationRelaxed
	return conf
}

// blankPage is a PDF of one empty page of the letter's paper size.
func blankPage(paper string) ([]byte, error) {
	if paper != "Letter" {
		paper = "A4"
	}
	if b, ok := blanks.Load(paper); ok {
		return b.([]byte), nil
	}
	f := fpdf.New("P", "mm", paper, "")
	f.SetCreationDate(time.Unix(0, 0).UTC())
	f.SetModificationDate(time.Unix(0, 0).UTC())
	f.AddPage()
	var buf bytes.Buffer
	if err := f.Output(&buf); err != nil {
		return nil, fmt.Errorf("print batch: blank page: %w", err)
	}
	blanks.Store(paper, buf.Bytes())
	return buf.Bytes(), nil
}

var (
	pdfDate = regexp.MustCompile(`/(?:CreationDate|ModDate)\s*\((D:[^)]*)\)`)
	fileID  = regexp.MustCompile(`/ID\s*\[\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*\]`)
)

// settle makes pdfcpu's output the same for the same batch: pdfcpu dates
// the document and derives its file identifier from the clock as it
// writes. The dates become the batch's creation time and the identifier a
// hash of the letters; each replacement has the length of what it
// replaces, so every byte offset in the cross-reference table stays true.
func settle(pdf []byte, created time.Time, sum []byte) ([]byte, error) {
	date := types.DateString(created.UTC())
	out := slices.Clone(pdf)
	for _, m := range pdfDate.FindAllSubmatchIndex(out, -1) {
		if m[3]-m[2] != len(date) {
			return nil, fmt.Errorf("print batch: a PDF date of unexpected length %q", out[m[2]:m[3]])
		}
		copy(out[m[2]:m[3]], date)
	}
	id := strings.Repeat(hex.EncodeToString(sum), 4)
	ms := fileID.FindAllSubmatchIndex(out, -1)
	if len(ms) == 0 {
		return nil, fmt.Errorf("print batch: the merged PDF has no file identifier")
	}
	for _, m := range ms {
		for g := 2; g < len(m); g += 2 {
			if n := m[g+1] - m[g]; n > len(id) {
				return nil, fmt.Errorf("print batch: a file identifier of unexpected length %d", n)
			}
			copy(out[m[g]:m[g+1]], id[:m[g+1]-m[g]])
		}
	}
	return out, nil
}
