package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"impactd/internal/domain"
	"impactd/internal/period"
	"impactd/internal/store"
)

// TestPreviewAndImpactCommands runs the demo, previews one supporter's
// letter, and corrects the published impact update through export and import.
func TestPreviewAndImpactCommands(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	if err := run(ctx, []string{"demo", "--dir", dir, "--donors", "30"}, func(string) string { return "" }, io.Discard, io.Discard); err != nil {
		t.Fatalf("demo: %v", err)
	}
	dbURL := "sqlite:" + filepath.Join(dir, "impactd.db")
	env := map[string]string{"IMPACTD_DATABASE_URL": dbURL, "IMPACTD_SMTP_URL": "file://" + filepath.Join(dir, "outbox"), "IMPACTD_LOG_LEVEL": "warn"}
	getenv := func(k string) string { return env[k] }

	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	updates, err := st.ImpactUpdates(ctx, "")
	if err != nil || len(updates) == 0 {
		t.Fatalf("demo left no impact update: %v", err)
	}
	p := period.MustParse(updates[0].Period)
	from, to := p.Bounds(mustLoc(t))
	donors, err := st.DonorsWithActivity(ctx, from.Unix(), to.Unix())
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	var donor *domain.Donor
	for i := range donors {
		if donors[i].Email != "" {
			donor = &donors[i]
			break
		}
	}
	if donor == nil {
		t.Fatal("no demo donor with an email address")
	}

	pdf := filepath.Join(dir, "preview.pdf")
	tests := []struct {
		name string
		args []string
		want string
		fail bool
	}{
		{"by email", []string{"preview", "--donor", strings.ToUpper(donor.Email), "--period", p.String(), "--out", pdf}, "verification code", false},
		{"by id", []string{"preview", "--donor", donor.ID, "--period", p.String(), "--out", pdf}, "impact update version 1", false},
		{"unknown email", []string{"preview", "--donor", "nobody@example.org", "--period", p.String()}, "no supporter with that email", true},
		{"no update", []string{"preview", "--donor", donor.ID, "--period", "2019-Q1"}, "no published impact update", true},
		{"no donor flag", []string{"preview", "--period", p.String()}, "--donor is required", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(ctx, tt.args, getenv, &out, io.Discard)
			got := out.String()
			if err != nil {
				got += err.Error()
			}
			if (err != nil) != tt.fail || !strings.Contains(got, tt.want) {
				t.Fatalf("err = %v, output %q, want %q (failure %v)", err, out.String(), tt.want, tt.fail)
			}
		})
	}
	b, err := os.ReadFile(pdf)
	if err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("preview wrote no PDF: %v", err)
	}
	if _, err := exec.LookPath("pdftotext"); err == nil {
		txt, err := exec.Command("pdftotext", "-enc", "UTF-8", pdf, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Your gifts", "1,407 since 2011", "Your giving over time", "† Demonstration figure"} {
			if !strings.Contains(string(txt), want) {
				t.Errorf("preview lacks %q", want)
			}
		}
		if strings.Contains(string(txt), "1,407 since 2011†") {
			t.Errorf("the demo marks the organisation's real figure as invented")
		}
	}

	// Correct the published update: export, change a figure, import with a
	// reason, publish, and the preview uses version 2.
	yml := filepath.Join(dir, "impact.yaml")
	if err := run(ctx, []string{"impact", "export", "--period", p.String(), "--out", yml}, getenv, io.Discard, io.Discard); err != nil {
		t.Fatalf("export: %v", err)
	}
	src, err := os.ReadFile(yml)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(src), "period: 41", "period: 40", 1)
	if changed == string(src) {
		t.Fatalf("export lacks the figure to correct:\n%s", src)
	}
	if err := os.WriteFile(yml, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"impact", "import", yml}, getenv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "reason") {
		t.Fatalf("import of a changed published update without a reason: %v", err)
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"impact", "import", yml, "--reason", "one rescue counted twice", "--publish", "--approved-by", "Head of Programmes"}, getenv, &out, io.Discard); err != nil {
		t.Fatalf("correction: %v", err)
	}
	if !strings.Contains(out.String(), "version 2") || !strings.Contains(out.String(), "published") {
		t.Fatalf("correction output: %s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"preview", "--donor", donor.ID, "--period", p.String(), "--out", pdf}, getenv, &out, io.Discard); err != nil || !strings.Contains(out.String(), "impact update version 2") {
		t.Fatalf("preview after the correction: %v %s", err, out.String())
	}
}

func mustLoc(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
