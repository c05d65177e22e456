package wording_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"impactd/internal/domain"
	"impactd/internal/wording"
)

// TestAnnualTemplates: the annual giving statement has its own four files,
// its own version, and copy that makes no appeal.
func TestAnnualTemplates(t *testing.T) {
	tm, err := wording.Load("")
	if err != nil {
		t.Fatal(err)
	}
	a := tm.Annual()
	if a == tm || a.Version == tm.Version || len(a.Version) != 12 || tm.For(domain.SeriesAnnual) != a || tm.For("") != tm {
		t.Fatalf("annual templates: %p %q, impact %p %q", a, a.Version, tm, tm.Version)
	}
	for _, f := range []string{"annual_letter.tmpl", "annual_email_subject.tmpl", "annual_email_text.tmpl", "annual_email_html.tmpl"} {
		if !slices.Contains(wording.Files, f) {
			t.Errorf("wording.Files lacks %s", f)
		}
	}
	d := wording.LetterData{Donor: wording.NameParts{FirstName: "Zoë"}, Org: domain.Org{Name: "Trust", Email: "care@example.org"},
		Period: "2025/26", PeriodLabel: "tax year 2025/26", PeriodStartLong: "6 April 2025", PeriodEndLong: "5 April 2026",
		NetText: "£275.00", TaxYear: true, GBP: true, IssuedOnText: "20 April 2026"}
	l, err := a.Letter(d)
	if err != nil {
		t.Fatal(err)
	}
	if l.Greeting != "Dear Zoë," || len(l.Paragraphs) != 1 || !strings.Contains(l.Pointer, "impact letters") ||
		!strings.Contains(l.GiftAid, "no Gift Aid declaration") || l.Acknowledgment != "" || l.Disclosure != "" || l.Collective != "" {
		t.Errorf("annual letter copy: %+v", l)
	}
	e, err := a.Email(wording.EmailData{LetterData: d, UnsubscribeURL: "https://example.org/u/x", StatementURL: "https://example.org/s/x"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Subject != "Your giving statement for the tax year 2025/26" {
		t.Errorf("subject %q", e.Subject)
	}
	d.TaxYear, d.Period, d.PeriodLabel = false, "2026", "2026"
	if e, _ := a.Email(wording.EmailData{LetterData: d}); e.Subject != "Your giving statement for 2026" {
		t.Errorf("calendar-year subject %q", e.Subject)
	}
	// A service message: nothing of the impact email's appeal, even when
	// handed impact figures.
	v := int64(41)
	d.Impact = &domain.ImpactSection{Metrics: []domain.Metric{{Key: "k", Label: "Children brought to safety", Period: &v}}}
	e, err = a.Email(wording.EmailData{LetterData: d})
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{e.Text, e.HTML} {
		for _, bad := range []string{"achieved", "brought to safety", "standing with", "heartfelt", "41"} {
			if strings.Contains(part, bad) {
				t.Errorf("annual email contains %q", bad)
			}
		}
		if !strings.Contains(part, "tax records") {
			t.Errorf("annual email does not say what it is for")
		}
	}
}

// TestAnnualOverrides: IMPACTD_TEMPLATES_DIR overrides the annual files
// one by one (changing the annual version only); a broken one names its
// file and line; a misspelt one is listed as unknown.
func TestAnnualOverrides(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "annual_email_subject.tmpl"), []byte("Your statement, {{.PeriodLabel}}"), 0o644); err != nil {
		t.Fatal(err)
	}
	base, _ := wording.Load("")
	tm, err := wording.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tm.Version != base.Version || tm.Annual().Version == base.Annual().Version {
		t.Errorf("versions: impact %q→%q, annual %q→%q", base.Version, tm.Version, base.Annual().Version, tm.Annual().Version)
	}
	if e, _ := tm.Annual().Email(wording.EmailData{LetterData: wording.LetterData{PeriodLabel: "2026"}}); e.Subject != "Your statement, 2026" {
		t.Errorf("overridden subject %q", e.Subject)
	}
	for _, tt := range []struct{ file, body, want string }{
		{"annual_email_text.tmpl", "line one\n{{.NoSuchField}}", "annual_email_text.tmpl:2"},
		{"annual_letter.tmpl", `{{define "greeting"}}hi{{end}}`, `annual_letter.tmpl must define "body"`},
		{"annual_email_html.tmpl", "{{if}}", "annual_email_html.tmpl:1"},
	} {
		bad := t.TempDir()
		if err := os.WriteFile(filepath.Join(bad, tt.file), []byte(tt.body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := wording.Load(bad); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tt.file, err, tt.want)
		}
	}
	miss := t.TempDir()
	for _, f := range []string{"annual_letter.tmpl", "anual_email_subject.tmpl", "annual-email-text.tmpl"} {
		if err := os.WriteFile(filepath.Join(miss, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	unknown, err := wording.UnknownFiles(miss)
	if err != nil || strings.Join(unknown, ",") != "annual-email-text.tmpl,anual_email_subject.tmpl" {
		t.Errorf("unknown files %q (%v)", unknown, err)
	}
}
