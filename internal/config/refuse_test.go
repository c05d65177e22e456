package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"impactd/internal/config"
)

// TestRefusesWhatCannotWork: settings that would fail silently later are
// refused at start-up, naming the variable.
func TestRefusesWhatCannotWork(t *testing.T) {
	tmpl := t.TempDir()
	if err := os.WriteFile(filepath.Join(tmpl, "leter.tmpl"), []byte("{{define \"greeting\"}}Hi{{end}}"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		want []string // all in the error
	}{
		{"31 February", map[string]string{"IMPACTD_SCHEDULE": "0 9 31 2 *"}, []string{"IMPACTD_SCHEDULE", "never fires within a year"}},
		{"30 February", map[string]string{"IMPACTD_SCHEDULE": "CRON_TZ=UTC 0 9 30 2 *"}, []string{"IMPACTD_SCHEDULE"}},
		{"misnamed override", map[string]string{"IMPACTD_TEMPLATES_DIR": tmpl}, []string{"IMPACTD_TEMPLATES_DIR", "leter.tmpl", "letter.tmpl", "email_html.tmpl"}},
		{"templates dir missing", map[string]string{"IMPACTD_TEMPLATES_DIR": filepath.Join(tmpl, "nope")}, []string{"IMPACTD_TEMPLATES_DIR"}},
		{"HSTS on plain http", map[string]string{"IMPACTD_HSTS": "on"}, []string{"IMPACTD_HSTS", "IMPACTD_BASE_URL"}},
		{"HSTS nonsense", map[string]string{"IMPACTD_HSTS": "always", "IMPACTD_BASE_URL": "https://impact.example.org"}, []string{"IMPACTD_HSTS"}},
		{"short metrics token", map[string]string{"IMPACTD_METRICS_TOKEN": "abc"}, []string{"IMPACTD_METRICS_TOKEN"}},
		{"metrics on the main address", map[string]string{"IMPACTD_METRICS_ADDR": "127.0.0.1:8080"}, []string{"IMPACTD_METRICS_ADDR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(env(tt.env))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	ok := []map[string]string{
		{"IMPACTD_SCHEDULE": "0 9 1 1,4,7,10 *"},
		{"IMPACTD_SCHEDULE": "off"},
		{"IMPACTD_HSTS": "on", "IMPACTD_BASE_URL": "https://impact.example.org"},
		{"IMPACTD_METRICS_ADDR": "127.0.0.1:9090", "IMPACTD_METRICS_TOKEN": "0123456789abcdef"},
	}
	for _, e := range ok {
		c, err := config.Load(env(e))
		if err != nil {
			t.Errorf("%v refused: %v", e, err)
			continue
		}
		if e["IMPACTD_HSTS"] == "on" && c.HSTS != "max-age=31536000" {
			t.Errorf("HSTS = %q", c.HSTS)
		}
	}
	if err := os.Rename(filepath.Join(tmpl, "leter.tmpl"), filepath.Join(tmpl, "email_subject.tmpl")); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(env(map[string]string{"IMPACTD_TEMPLATES_DIR": tmpl})); err != nil {
		t.Errorf("a correctly named override refused: %v", err)
	}
}
