// Package wording renders the copy of letters and emails from the templates
// in templates/ (or IMPACTD_TEMPLATES_DIR). Templates are parsed and
// test-rendered when loaded, so a broken one stops impactd before the first
// letter, with the file and line in the error.
package wording

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"impactd/internal/domain"
	"impactd/templates"
)

// Files are the template files, each of which may be overridden: the
// impact letter's four, then the annual giving statement's (the same four
// with the prefix "annual_").
var Files = append(slices.Clone(impactFiles), annualFiles...)

var (
	impactFiles = []string{"letter.tmpl", "email_subject.tmpl", "email_text.tmpl", "email_html.tmpl"}
	annualFiles = []string{"annual_letter.tmpl", "annual_email_subject.tmpl", "annual_email_text.tmpl", "annual_email_html.tmpl"}
)

// Templates are the parsed copy.
type Templates struct {
	letter, subject, text *template.Template
	html                  *htmltemplate.Template
	// Version identifies the exact copy of the impact letter (a hash of its
	// four files); it is frozen into every snapshot.
	Version string
	// Kind is the series whose copy this is.
	Kind domain.Series
	// annual is the annual giving statement's copy.
	annual *Templates
}

// Annual returns the copy of the annual giving statement: its Letter and
// Email render annual_letter.tmpl and the annual_email_* files, and its
// Version is the hash of those four.
func (t *Templates) Annual() *Templates {
	if t.annual == nil {
		return t
	}
	return t.annual
}

// For returns the copy of a series: Annual for the annual statement, t
// itself for the impact letter.
func (t *Templates) For(series domain.Series) *Templates {
	if series.OrDefault() == domain.SeriesAnnual {
		return t.Annual()
	}
	return t
}

// LetterData is what the letter's copy may use.
type LetterData struct {
	Donor           NameParts
	Org             domain.Org
	Period          string // 2026-Q3
	PeriodLabel     string // July to September 2026
	PeriodStartLong string // 1 July 2026
	PeriodEndLong   string // 30 September 2026
	NetText         string // "£57.50" or "£57.50 and $20.00"
	GiftCount       int
	Monthly         bool
	// MonthlySinceText is when the donor's monthly giving began, "March
	// 2025"; empty when unknown.
	MonthlySinceText string
	HasRefunds       bool
	// GiftAidEligibleText and GiftAidUpliftText are the period's Gift Aid
	// eligible net giving and the 25% the charity reclaims on it ("£45.00",
	// "£11.25"); empty when no gift is eligible or the charity is not in the UK.
	GiftAidEligibleText string
	GiftAidUpliftText   string
	// Acknowledged is true when the charity is a US organisation and a gift
	// of $250 or more was made in the period: the letter must then say that
	// no goods or services were provided in exchange.
	Acknowledged bool
	// The annual statement's: TaxYear for a UK tax year (the copy says
	// "the tax year 2025/26", against "2026"); GiftAidFromText is the date
	// from which the donor's Gift Aid declaration applies ("6 April 2025"),
	// empty without one; GBP is true when some gift was in pounds;
	// IssuedOnText is the statement's date ("20 April 2026"); Benefit is
	// true when some gift recorded goods or services in exchange, and
	// QuidProQuo when such a payment was more than $75.
	TaxYear         bool
	GiftAidFromText string
	GBP             bool
	IssuedOnText    string
	Benefit         bool
	QuidProQuo      bool
	Supporters      int
	SupportersText  string // "3,214"
	Impact          *domain.ImpactSection
}

// EmailData is what the email's copy may use.
type EmailData struct {
	LetterData
	Corrected      bool
	CorrectedFrom  string // date of the statement this one replaces
	UnsubscribeURL string
	StatementURL   string // the supporter's page for this statement and their past ones

	// Email fills these from the rest: the preheader (the line inboxes show
	// after the subject), the period's impact figures as the letter's first
	// page shows them, and whether any of them is demonstration data.
	Preheader   string
	Figures     []Figure
	FiguresDemo bool
}

// Figure is one of the period's impact figures: "41", "Children brought to
// safety".
type Figure struct {
	Value, Label string
	Demo         bool
}

// NameParts is the donor's name as the copy addresses them.
type NameParts struct{ Name, FirstName string }

// Letter is the rendered copy of one letter.
type Letter struct {
	Greeting   string
	Paragraphs []string
	// Collective is the sentence under the impact figures ("collective";
	// empty when a template from before it does not define it).
	Collective string
	SignOff    []string
	Footer     []string
	// GiftAid and Acknowledgment are empty unless the data asks for them.
	GiftAid        string
	Acknowledgment string
	// Disclosure (the US quid-pro-quo disclosure) and Pointer (the line
	// pointing to the impact letters) are the annual statement's, from its
	// optional "disclosure" and "pointer" blocks.
	Disclosure string
	Pointer    string
}

// Email is the rendered copy of one email.
type Email struct{ Subject, Text, HTML string }

var funcs = map[string]any{
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"join":  strings.Join,
	// figureWidth is the share of the row each of n figures takes.
	"figureWidth": func(n int) string { return strconv.Itoa(96/max(n, 1)) + "%" },
	"trimScheme": func(u string) string {
		return strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://"), "/")
	},
	"deref": func(p *int64) string {
		if p == nil {
			return ""
		}
		return Thousands(*p)
	},
}

// UnknownFiles lists the files in dir whose names are none of Files: an
// override with a misspelt name would otherwise be ignored without a word.
// Directories and dot files are passed over.
func UnknownFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	var unknown []string
	for _, e := range entries {
		if name := e.Name(); !e.IsDir() && !strings.HasPrefix(name, ".") && !slices.Contains(Files, name) {
			unknown = append(unknown, name)
		}
	}
	return unknown, nil
}

// Load parses the embedded templates, each replaced by the file of the same
// name in dir when dir is not empty and has it, then test-renders them.
func Load(dir string) (*Templates, error) {
	t, err := load(dir, impactFiles, domain.SeriesImpact)
	if err != nil {
		return nil, err
	}
	if t.annual, err = load(dir, annualFiles, domain.SeriesAnnual); err != nil {
		return nil, err
	}
	return t, nil
}

// load parses one series' four files: letter, subject, text and HTML.
func load(dir string, files []string, kind domain.Series) (*Templates, error) {
	read := func(name string) (string, error) {
		if dir != "" {
			b, err := os.ReadFile(dir + "/" + name)
			if err == nil {
				return string(b), nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("templates: %w", err)
			}
		}
		b, err := templates.FS.ReadFile(name)
		if err != nil {
			return "", fmt.Errorf("templates: %w", err)
		}
		return string(b), nil
	}
	src := make(map[string]string, len(files))
	h := sha256.New()
	for _, f := range files {
		s, err := read(f)
		if err != nil {
			return nil, err
		}
		src[f] = s
		fmt.Fprintf(h, "%s\x00%s\x00", f, s)
	}
	t := &Templates{Version: hex.EncodeToString(h.Sum(nil))[:12], Kind: kind}
	var err error
	parse := func(name string) *template.Template {
		if err != nil {
			return nil
		}
		var tt *template.Template
		tt, err = template.New(name).Funcs(funcs).Option("missingkey=error").Parse(src[name])
		return tt
	}
	t.letter, t.subject, t.text = parse(files[0]), parse(files[1]), parse(files[2])
	if err == nil {
		t.html, err = htmltemplate.New(files[3]).Funcs(funcs).Option("missingkey=error").Parse(src[files[3]])
	}
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	for _, name := range []string{"greeting", "body", "signoff", "footer", "gift_aid", "acknowledgment"} {
		if t.letter.Lookup(name) == nil {
			return nil, fmt.Errorf("templates: %s must define %q", files[0], name)
		}
	}
	if err := t.Check(); err != nil {
		return nil, err
	}
	return t, nil
}

// Check renders every template with sample data, so that errors that only
// show at execution (a misspelt field) are found before a run, not during it.
func (t *Templates) Check() error {
	one := int64(12)
	d := EmailData{
		LetterData: LetterData{
			Donor: NameParts{Name: "Sample Donor", FirstName: "Sample"}, Org: domain.Org{Name: "Sample Org", Email: "care@example.org"},
			Period: "2026-Q3", PeriodLabel: "July to September 2026", PeriodStartLong: "1 July 2026", PeriodEndLong: "30 September 2026",
			NetText: "£10.00", GiftCount: 1, Monthly: true, MonthlySinceText: "March 2025", HasRefunds: true, Supporters: 2, SupportersText: "2",
			GiftAidEligibleText: "£10.00", GiftAidUpliftText: "£2.50", Acknowledged: true,
			TaxYear: true, GiftAidFromText: "6 April 2025", GBP: true, IssuedOnText: "20 April 2026", Benefit: true, QuidProQuo: true,
			Impact: &domain.ImpactSection{Title: "t", Metrics: []domain.Metric{{Key: "k", Label: "Label", Period: &one}}},
		},
		Corrected: true, CorrectedFrom: "1 October 2026", UnsubscribeURL: "https://example.org/u/x", StatementURL: "https://example.org/s/x",
	}
	if _, err := t.Letter(d.LetterData); err != nil {
		return err
	}
	_, err := t.Email(d)
	return err
}

// Letter renders the letter's copy.
func (t *Templates) Letter(d LetterData) (*Letter, error) {
	part := func(name string) (string, error) {
		var b bytes.Buffer
		if err := t.letter.ExecuteTemplate(&b, name, d); err != nil {
			return "", fmt.Errorf("templates: %w", err)
		}
		return strings.TrimSpace(b.String()), nil
	}
	var l Letter
	var err error
	if l.Greeting, err = part("greeting"); err != nil {
		return nil, err
	}
	body, err := part("body")
	if err != nil {
		return nil, err
	}
	l.Paragraphs = paragraphs(body)
	if t.letter.Lookup("collective") != nil {
		c, err := part("collective")
		if err != nil {
			return nil, err
		}
		l.Collective = strings.Join(strings.Fields(c), " ")
	}
	signoff, err := part("signoff")
	if err != nil {
		return nil, err
	}
	l.SignOff = lines(signoff)
	footer, err := part("footer")
	if err != nil {
		return nil, err
	}
	l.Footer = lines(footer)
	giftAid, err := part("gift_aid")
	if err != nil {
		return nil, err
	}
	l.GiftAid = strings.Join(strings.Fields(giftAid), " ")
	ack, err := part("acknowledgment")
	if err != nil {
		return nil, err
	}
	l.Acknowledgment = strings.Join(strings.Fields(ack), " ")
	for _, opt := range []struct {
		name string
		to   *string
	}{{"disclosure", &l.Disclosure}, {"pointer", &l.Pointer}} {
		if t.letter.Lookup(opt.name) == nil {
			continue
		}
		v, err := part(opt.name)
		if err != nil {
			return nil, err
		}
		*opt.to = strings.Join(strings.Fields(v), " ")
	}
	return &l, nil
}

// Email renders the email's subject and bodies.
func (t *Templates) Email(d EmailData) (*Email, error) {
	d.Figures, d.FiguresDemo = figures(d.Impact)
	d.Preheader = preheader(d)
	if t.Kind == domain.SeriesAnnual {
		// A service message: what the statement is, no appeal.
		d.Figures, d.FiguresDemo = nil, false
		d.Preheader = "Your record of your gifts to " + d.Org.Name + " in " + d.PeriodLabel + ", for your tax affairs."
	}
	var s, txt, html bytes.Buffer
	if err := t.subject.Execute(&s, d); err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	if err := t.text.Execute(&txt, d); err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	if err := t.html.Execute(&html, d); err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	subject := strings.Join(strings.Fields(s.String()), " ")
	return &Email{Subject: subject, Text: strings.TrimSpace(txt.String()) + "\n", HTML: html.String()}, nil
}

// figures are the period's impact figures the email shows, at most three,
// marked as the letter marks them (see internal/letter).
func figures(im *domain.ImpactSection) ([]Figure, bool) {
	if im == nil {
		return nil, false
	}
	allDemo := im.DemoData
	for _, m := range im.Metrics {
		if m.PeriodDemo || m.CumulativeDemo {
			allDemo = false
		}
	}
	var out []Figure
	anyDemo := false
	for _, m := range im.Metrics {
		if m.Period == nil || len(out) == 3 {
			continue
		}
		f := Figure{Value: Thousands(*m.Period), Label: m.Label, Demo: allDemo || (im.DemoData && m.PeriodDemo)}
		anyDemo = anyDemo || f.Demo
		out = append(out, f)
	}
	return out, anyDemo
}

// preheader is the line an inbox shows after the subject: what the
// supporter gave and the first figure.
func preheader(d EmailData) string {
	var b strings.Builder
	if d.NetText != "" {
		fmt.Fprintf(&b, "Thank you for giving %s in %s.", d.NetText, d.PeriodLabel)
	} else {
		fmt.Fprintf(&b, "Thank you for your support in %s.", d.PeriodLabel)
	}
	if len(d.Figures) > 0 {
		f := d.Figures[0]
		fmt.Fprintf(&b, " Together we achieved %s: %s", f.Value, strings.ToLower(f.Label))
		if f.Demo {
			b.WriteString(" (a demonstration figure)")
		}
		b.WriteString(".")
	}
	return b.String()
}

// paragraphs splits text at blank lines and joins each paragraph's lines.
func paragraphs(s string) []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
		if p = strings.Join(strings.Fields(p), " "); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// Thousands formats an integer with thousands separators: 3214 → "3,214".
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// FirstName is the word a greeting uses: the first word of the name.
func FirstName(name string) string {
	f := strings.Fields(name)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
