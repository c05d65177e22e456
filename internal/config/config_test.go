package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"impactd/internal/config"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := config.Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "sqlite:impactd.db" || c.SMTPURL != "file://outbox" || c.Location.String() != "Europe/London" || c.PaperSize != "A4" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestErrorsNameTheVariable(t *testing.T) {
	tests := map[string]string{
		"IMPACTD_TIMEZONE":                 "Mars/Olympus",
		"IMPACTD_PERIOD":                   "fortnight",
		"IMPACTD_PAPER_SIZE":               "A3",
		"IMPACTD_MAIL_FROM":                "not an address",
		"IMPACTD_SECRET_KEY":               "short",
		"IMPACTD_STRIPE_WEBHOOK_TOLERANCE": "soon",
		"IMPACTD_LOG_LEVEL":                "loud",
		"IMPACTD_BASE_URL":                 "example.org",
		"IMPACTD_ORG_COUNTRY":              "FR",
		"IMPACTD_ORG_LOGO_FILE":            "/nonexistent/logo.png",
		"IMPACTD_COOKIE_SECURE":            "maybe",
		"IMPACTD_SESSION_TTL":              "5s",
		"IMPACTD_STATEMENT_LINK_TTL":       "forever",
		"IMPACTD_TAKEOVER_GRACE":           "1ms",
		"IMPACTD_BREAKER_FAILURES":         "-1",
		"IMPACTD_SQLITE_BUSY_TIMEOUT":      "soon",
		"IMPACTD_ANNUAL_SCHEDULE":          "0 9 31 2 *",
		"IMPACTD_ANNUAL_PERIOD":            "quarter",
	}
	for name, val := range tests {
		_, err := config.Load(env(map[string]string{name: val}))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: err = %v", name, val, err)
		}
	}
}

// TestSeriesSettings: the annual statement's period and schedule follow the
// organisation's country unless set; off turns its schedule off.
func TestSeriesSettings(t *testing.T) {
	tests := []struct {
		env          map[string]string
		kind         string
		spec         string // "" when off
		consentKey   string
		impactPeriod string
	}{
		{nil, "taxyear", "0 9 20 4 *", "", "quarter"},
		{map[string]string{"IMPACTD_ORG_COUNTRY": "US"}, "year", "0 9 20 1 *", "", "quarter"},
		{map[string]string{"IMPACTD_ANNUAL_PERIOD": "year", "IMPACTD_ANNUAL_SCHEDULE": "0 10 1 5 *", "IMPACTD_PERIOD": "month"}, "year", "0 10 1 5 *", "", "month"},
		{map[string]string{"IMPACTD_ANNUAL_SCHEDULE": "off", "IMPACTD_MARKETING_CONSENT_METADATA": "email_opt_in"}, "taxyear", "", "email_opt_in", "quarter"},
	}
	for _, tt := range tests {
		c, err := config.Load(env(tt.env))
		if err != nil {
			t.Fatalf("%v: %v", tt.env, err)
		}
		spec := ""
		if c.AnnualSchedule != nil {
			spec = c.AnnualSchedule.Spec
		}
		if string(c.AnnualPeriodKind) != tt.kind || spec != tt.spec || c.MarketingConsentMetadata != tt.consentKey || string(c.PeriodKind) != tt.impactPeriod {
			t.Errorf("%v: annual %s %q, consent key %q, impact %s", tt.env, c.AnnualPeriodKind, spec, c.MarketingConsentMetadata, c.PeriodKind)
		}
		if c.Schedule == nil || c.Schedule.Spec != "0 9 1 1,4,7,10 *" {
			t.Errorf("%v: the impact schedule changed: %+v", tt.env, c.Schedule)
		}
	}
}

func TestSecretFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte("whsec_from_file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(env(map[string]string{"IMPACTD_STRIPE_WEBHOOK_SECRET_FILE": path}))
	if err != nil || c.StripeWebhookSecret != "whsec_from_file" {
		t.Fatalf("%v %q", err, c.StripeWebhookSecret)
	}
}

// TestREADMEListsEverySetting keeps the README's table and Vars in step.
func TestREADMEListsEverySetting(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// The settings table: one row per variable, each variable once.
	rows := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		if name, ok := strings.CutPrefix(line, "| `IMPACTD_"); ok {
			name, _, _ = strings.Cut(name, "`")
			rows["IMPACTD_"+name]++
		}
	}
	known := map[string]bool{}
	for _, v := range config.Vars {
		known[v.Name] = true
		switch rows[v.Name] {
		case 0:
			t.Errorf("README.md's settings table does not list %s", v.Name)
		case 1:
		default:
			t.Errorf("README.md's settings table lists %s %d times", v.Name, rows[v.Name])
		}
	}
	for name := range rows {
		if !known[name] {
			t.Errorf("README.md's settings table lists %s, which impactd does not read", name)
		}
	}
}

func TestOrgCountryAndLogo(t *testing.T) {
	dir := t.TempDir()
	png := filepath.Join(dir, "logo.png")
	if err := os.WriteFile(png, []byte("\x89PNG\r\n\x1a\nrest"), 0o644); err != nil {
		t.Fatal(err)
	}
	jpeg := filepath.Join(dir, "logo.jpg")
	if err := os.WriteFile(jpeg, []byte("\xff\xd8\xff\xe0"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		env         map[string]string
		wantCountry string
		wantLogo    bool
		wantErr     string
	}{
		{"defaults", nil, "GB", false, ""},
		{"us, lower case", map[string]string{"IMPACTD_ORG_COUNTRY": "us"}, "US", false, ""},
		{"png logo", map[string]string{"IMPACTD_ORG_LOGO_FILE": png}, "GB", true, ""},
		{"jpeg logo", map[string]string{"IMPACTD_ORG_LOGO_FILE": jpeg}, "", false, "not a PNG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load(env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "IMPACTD_ORG_LOGO_FILE") {
					t.Fatalf("err = %v, want %q naming the variable", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.OrgCountry != tt.wantCountry || (c.OrgLogo != nil) != tt.wantLogo {
				t.Errorf("country %q logo %v, want %q %v", c.OrgCountry, c.OrgLogo != nil, tt.wantCountry, tt.wantLogo)
			}
		})
	}
}
