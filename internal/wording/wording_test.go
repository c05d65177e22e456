package wording_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"impactd/internal/wording"
)

func TestEmbeddedTemplatesLoad(t *testing.T) {
	tm, err := wording.Load("")
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Version) != 12 {
		t.Fatalf("version %q", tm.Version)
	}
	l, err := tm.Letter(wording.LetterData{Donor: wording.NameParts{Name: "Ngọc Ánh", FirstName: "Ngọc"}, PeriodLabel: "x", NetText: "£1.00",
		Supporters: 3, SupportersText: "3"})
	if err != nil {
		t.Fatal(err)
	}
	if l.Greeting != "Dear Ngọc," || len(l.Paragraphs) != 1 || len(l.Footer) == 0 || !strings.HasPrefix(l.Collective, "Together, 3 supporters") {
		t.Fatalf("letter: %+v", l)
	}
}

// TestGreetingFallback: without a name, the letter and both parts of the
// email greet the same way.
func TestGreetingFallback(t *testing.T) {
	tm, err := wording.Load("")
	if err != nil {
		t.Fatal(err)
	}
	l, err := tm.Letter(wording.LetterData{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := tm.Email(wording.EmailData{})
	if err != nil {
		t.Fatal(err)
	}
	const want = "Dear supporter,"
	if l.Greeting != want || !strings.Contains(e.Text, want) || !strings.Contains(e.HTML, want) {
		t.Errorf("greetings: letter %q; email text has it: %v, HTML: %v", l.Greeting, strings.Contains(e.Text, want), strings.Contains(e.HTML, want))
	}
}

func TestHTMLEscapesHostileNames(t *testing.T) {
	tm, err := wording.Load("")
	if err != nil {
		t.Fatal(err)
	}
	e, err := tm.Email(wording.EmailData{LetterData: wording.LetterData{Donor: wording.NameParts{FirstName: `<script>alert(1)</script>`}}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(e.HTML, "<script>") {
		t.Fatal("name not escaped in HTML")
	}
}

func TestBrokenTemplatesNameFileAndLine(t *testing.T) {
	tests := []struct {
		file, body, want string
	}{
		{"email_subject.tmpl", "Hello {{.Nope", "email_subject.tmpl:1"},
		{"email_text.tmpl", "line one\n{{.NoSuchField}}", "email_text.tmpl:2"},
		{"letter.tmpl", `{{define "greeting"}}hi{{end}}`, `must define "body"`},
		{"email_html.tmpl", "{{if}}", "email_html.tmpl:1"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, tt.file), []byte(tt.body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := wording.Load(dir)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tt.file, err, tt.want)
		}
	}
}

func TestOverrideChangesVersion(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "email_subject.tmpl"), []byte("Thank you for {{.PeriodLabel}}"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, _ := wording.Load("")
	b, err := wording.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a.Version == b.Version {
		t.Fatal("override did not change the template version")
	}
	e, _ := b.Email(wording.EmailData{LetterData: wording.LetterData{PeriodLabel: "Q3"}})
	if e.Subject != "Thank you for Q3" {
		t.Fatalf("subject %q", e.Subject)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1407: "1,407", 1234567: "1,234,567", -4200: "-4,200"} {
		if got := wording.Thousands(n); got != want {
			t.Errorf("%d: %q", n, got)
		}
	}
}

func TestLetterNotes(t *testing.T) {
	tm, err := wording.Load("")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                 string
		d                    wording.LetterData
		giftAid, ack, inBody string
	}{
		{"nothing to note", wording.LetterData{Monthly: true}, "", "", "As a monthly supporter, you gave"},
		{"gift aid", wording.LetterData{GiftAidEligibleText: "£45.00", GiftAidUpliftText: "£11.25"}, "£45.00 of your gifts", "", ""},
		{"us acknowledgment", wording.LetterData{Acknowledged: true}, "", "No goods or services were provided", ""},
		{"monthly since", wording.LetterData{Monthly: true, MonthlySinceText: "March 2025"}, "", "", "As a monthly supporter since March 2025, you gave"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := tm.Letter(tt.d)
			if err != nil {
				t.Fatal(err)
			}
			if (tt.giftAid == "") != (l.GiftAid == "") || !strings.Contains(l.GiftAid, tt.giftAid) {
				t.Errorf("GiftAid = %q, want %q", l.GiftAid, tt.giftAid)
			}
			if tt.giftAid != "" && !strings.Contains(l.GiftAid, "£11.25") {
				t.Errorf("GiftAid = %q lacks the uplift", l.GiftAid)
			}
			if (tt.ack == "") != (l.Acknowledgment == "") || !strings.Contains(l.Acknowledgment, tt.ack) {
				t.Errorf("Acknowledgment = %q, want %q", l.Acknowledgment, tt.ack)
			}
			if !strings.Contains(strings.Join(l.Paragraphs, "\n"), tt.inBody) {
				t.Errorf("body lacks %q: %q", tt.inBody, l.Paragraphs)
			}
		})
	}
}
