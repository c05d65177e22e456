package wording_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"impactd/internal/domain"
	"impactd/internal/wording"
)

// axeEnv names axe-core's axe.min.js (npm axe-core); .ci/run installs it.
const axeEnv = "IMPACTD_TEST_AXE"

// sampleEmail is a complete statement email: a named supporter, figures
// with demonstration marks, both links and a full letterhead.
func sampleEmail(t *testing.T) *wording.Email {
	t.Helper()
	tm, err := wording.Load("")
	if err != nil {
		t.Fatal(err)
	}
	v := func(n int64) *int64 { return &n }
	e, err := tm.Email(wording.EmailData{
		LetterData: wording.LetterData{
			Donor: wording.NameParts{Name: "Zoë Łukasiewicz", FirstName: "Zoë"},
			Org: domain.Org{Name: "Safe Childhood Online Trust", CharityNumber: "1234567", Address: []string{"PO Box 1234", "London", "SE1 0AA"},
				Website: "https://example.org", Email: "supporters@example.org", Signatory: "Grace Whitfield", SignatoryRole: "Head of Supporter Care"},
			PeriodLabel: "July to September 2026", NetText: "£57.50",
			Impact: &domain.ImpactSection{DemoData: true, Metrics: []domain.Metric{
				{Label: "Children and vulnerable adults brought to safety", Period: v(41), PeriodDemo: true},
				{Label: "Suspects arrested", Period: v(17), PeriodDemo: true},
				{Label: "Perpetrators convicted", Period: v(9), PeriodDemo: true},
			}},
		},
		StatementURL: "https://impact.example.org/s/token", UnsubscribeURL: "https://impact.example.org/unsubscribe/token",
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestEmailAccessibility runs axe-core over the email's HTML in Chromium:
// no serious or critical finding is allowed.
func TestEmailAccessibility(t *testing.T) {
	axePath := os.Getenv(axeEnv)
	if axePath == "" {
		t.Skip(axeEnv + " not set (path to axe-core's axe.min.js)")
	}
	axe, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatal(err)
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed")
	}
	for _, tt := range []struct {
		name string
		html string
	}{{"impact", sampleEmail(t).HTML}, {"annual", annualSampleEmail(t).HTML}} {
		t.Run(tt.name, func(t *testing.T) { checkAxe(t, chromium, axe, tt.html) })
	}
}

// annualSampleEmail is a complete annual giving statement email.
func annualSampleEmail(t *testing.T) *wording.Email {
	t.Helper()
	tm, err := wording.Load("")
	if err != nil {
		t.Fatal(err)
	}
	e, err := tm.Annual().Email(wording.EmailData{
		LetterData: wording.LetterData{
			Donor: wording.NameParts{Name: "Zoë Łukasiewicz", FirstName: "Zoë"},
			Org: domain.Org{Name: "Safe Childhood Online Trust", CharityNumber: "1234567", Address: []string{"PO Box 1234", "London", "SE1 0AA"},
				Website: "https://example.org", Email: "supporters@example.org", Signatory: "Grace Whitfield", SignatoryRole: "Head of Supporter Care"},
			Period: "2025/26", PeriodLabel: "tax year 2025/26", NetText: "€30.00 and £275.00", TaxYear: true, GiftAidUpliftText: "£38.75",
		},
		StatementURL: "https://impact.example.org/s/token", UnsubscribeURL: "https://impact.example.org/unsubscribe/token",
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// checkAxe runs axe-core over html in Chromium and fails on any serious or
// critical finding.
func checkAxe(t *testing.T, chromium string, axe []byte, html string) {
	page := filepath.Join(t.TempDir(), "email.html")
	if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	profile, err := os.MkdirTemp("", "impactd-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Headless, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.UserDataDir(profile), chromedp.WindowSize(390, 844))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	defer func() { cancelT(); cancelC(); cancelA(); _ = os.RemoveAll(profile) }()

	var raw string
	await := func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }
	if err := chromedp.Run(ctx,
		chromedp.Navigate("file://"+page),
		chromedp.Evaluate(string(axe), nil),
		chromedp.Evaluate(`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`, &raw, await),
	); err != nil {
		t.Fatalf("axe in chromium: %v", err)
	}
	var violations []struct {
		ID, Impact, Help string
		Nodes            []struct{ HTML string }
	}
	if err := json.Unmarshal([]byte(raw), &violations); err != nil {
		t.Fatalf("axe result: %v", err)
	}
	for _, v := range violations {
		t.Logf("axe: %s (%s): %s, %d nodes", v.ID, v.Impact, v.Help, len(v.Nodes))
		if v.Impact == "serious" || v.Impact == "critical" {
			var nodes []string
			for _, n := range v.Nodes {
				nodes = append(nodes, n.HTML)
			}
			t.Errorf("axe %s finding %s: %s\n%s", v.Impact, v.ID, v.Help, strings.Join(nodes, "\n"))
		}
	}
}
