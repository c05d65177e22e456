package giftaid

import (
	"archive/zip"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// WriteCSV writes the schedule's header and rows as CSV.
func WriteCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Header); err != nil {
		return fmt.Errorf("gift aid csv: %w", err)
	}
	for _, r := range rows {
		if err := cw.Write(r.Fields()); err != nil {
			return fmt.Errorf("gift aid csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("gift aid csv: %w", err)
	}
	return nil
}

// WriteExceptionsCSV writes the exceptions: ids, date, amount and why, and
// no name or address (the donor's page in the console has them).
func WriteExceptionsCSV(w io.Writer, es []Exception, loc *time.Location) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"Donation", "Donor", "Donation date", "Amount", "Currency", "Reason", "Why"})
	for _, e := range es {
		_ = cw.Write([]string{e.DonationID, e.DonorID, FormatDate(e.Created, loc), FormatAmount(e.Amount), e.Currency, string(e.Reason), e.Reason.Text()})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("gift aid exceptions csv: %w", err)
	}
	return nil
}

// WriteAdjustmentsCSV writes the adjustments listed with a claim.
func WriteAdjustmentsCSV(w io.Writer, as []Adjustment, loc *time.Location) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"Donation", "Donor", "Donation date", "Original claim", "Adjustment", "Net now"})
	for _, a := range as {
		_ = cw.Write([]string{a.DonationID, a.DonorID, FormatDate(a.Created, loc), a.OriginalClaimID, FormatAmount(a.Amount), FormatAmount(a.NetAfter)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("gift aid adjustments csv: %w", err)
	}
	return nil
}

// WriteODS writes the schedule as an OpenDocument spreadsheet, the format
// of HMRC's template: one sheet, HMRC's header row, then the rows; the
// donation date a date cell shown DD/MM/YY and the amount a number cell
// shown with two decimals, so that pasting into the template keeps both.
//
// The file is the smallest that the OpenDocument 1.2 package rules allow
// (part 3, §3): the "mimetype" entry first and stored uncompressed, then
// META-INF/manifest.xml listing content.xml.
func WriteODS(w io.Writer, rows []Row) error {
	z := zip.NewWriter(w)
	fail := func(err error) error { return fmt.Errorf("gift aid ods: %w", err) }
	mt, err := z.CreateHeader(&zip.FileHeader{Name: "mimetype", Method: zip.Store})
	if err != nil {
		return fail(err)
	}
	if _, err := io.WriteString(mt, "application/vnd.oasis.opendocument.spreadsheet"); err != nil {
		return fail(err)
	}
	mf, err := z.Create("META-INF/manifest.xml")
	if err != nil {
		return fail(err)
	}
	if _, err := io.WriteString(mf, manifestXML); err != nil {
		return fail(err)
	}
	c, err := z.Create("content.xml")
	if err != nil {
		return fail(err)
	}
	if _, err := io.WriteString(c, contentXML(rows)); err != nil {
		return fail(err)
	}
	if err := z.Close(); err != nil {
		return fail(err)
	}
	return nil
}

const manifestXML = `<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:version="1.2" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
`

// contentXML is the sheet. Data styles: N2 shows a number with two
// decimals, D1 a date as DD/MM/YY.
func contentXML(rows []Row) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0" office:version="1.2">
<office:automatic-styles>
<number:number-style style:name="N2"><number:number number:decimal-places="2" number:min-decimal-places="2" number:min-integer-digits="1"/></number:number-style>
<number:date-style style:name="D1"><number:day number:style="long"/><number:text>/</number:text><number:month number:style="long"/><number:text>/</number:text><number:year/></number:date-style>
<style:style style:name="camount" style:family="table-cell" style:data-style-name="N2"/>
<style:style style:name="cdate" style:family="table-cell" style:data-style-name="D1"/>
<style:style style:name="cheader" style:family="table-cell"><style:text-properties fo:font-weight="bold"/></style:style>
</office:automatic-styles>
<office:body><office:spreadsheet><table:table table:name="Donations">
<table:table-column table:number-columns-repeated="9"/>
<table:table-row>`)
	for _, h := range Header {
		b.WriteString(`<table:table-cell table:style-name="cheader" office:value-type="string"><text:p>` + esc(h) + `</text:p></table:table-cell>`)
	}
	b.WriteString("</table:table-row>\n")
	for _, r := range rows {
		b.WriteString("<table:table-row>")
		for _, f := range r.Fields()[:7] {
			if f == "" {
				b.WriteString(`<table:table-cell/>`)
				continue
			}
			b.WriteString(`<table:table-cell office:value-type="string"><text:p>` + esc(f) + `</text:p></table:table-cell>`)
		}
		b.WriteString(`<table:table-cell table:style-name="cdate" office:value-type="date" office:date-value="` + r.Day + `"><text:p>` + esc(r.Date) + `</text:p></table:table-cell>`)
		b.WriteString(`<table:table-cell table:style-name="camount" office:value-type="float" office:value="` + r.Amount + `"><text:p>` + r.Amount + `</text:p></table:table-cell>`)
		b.WriteString("</table:table-row>\n")
	}
	b.WriteString("</table:table></office:spreadsheet></office:body></office:document-content>\n")
	return b.String()
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// Files are the paths of a claim's files.
type Files struct {
	CSV, ODS, Exceptions, Adjustments string
}

// WriteFiles writes a schedule's files into dir, named after base
// ("giftaid-gac_…"): the schedule as CSV and ODS, its exceptions and its
// adjustments. Each file is written beside its final name and renamed, so
// that a reader never sees half of one.
func WriteFiles(dir, base string, s *Schedule, loc *time.Location) (Files, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return Files{}, fmt.Errorf("gift aid files: %w", err)
	}
	f := Files{
		CSV: filepath.Join(dir, base+".csv"), ODS: filepath.Join(dir, base+".ods"),
		Exceptions: filepath.Join(dir, base+"-exceptions.csv"), Adjustments: filepath.Join(dir, base+"-adjustments.csv"),
	}
	for path, write := range map[string]func(io.Writer) error{
		f.CSV:         func(w io.Writer) error { return WriteCSV(w, s.Rows) },
		f.ODS:         func(w io.Writer) error { return WriteODS(w, s.Rows) },
		f.Exceptions:  func(w io.Writer) error { return WriteExceptionsCSV(w, s.Exceptions, loc) },
		f.Adjustments: func(w io.Writer) error { return WriteAdjustmentsCSV(w, s.Adjustments, loc) },
	} {
		if err := writeFile(path, write); err != nil {
			return Files{}, err
		}
	}
	return f, nil
}

func writeFile(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".giftaid-*")
	if err != nil {
		return fmt.Errorf("gift aid files: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("gift aid files: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o640); err != nil {
		return fmt.Errorf("gift aid files: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("gift aid files: %w", err)
	}
	return nil
}
