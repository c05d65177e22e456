// Package app wires impactd's parts together from a Config. Every command —
// serve, run, demo — builds the same App, so they all exercise the same code.
package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"impactd/internal/compose"
	"impactd/internal/config"
	"impactd/internal/domain"
	"impactd/internal/ingest"
	"impactd/internal/letter"
	"impactd/internal/links"
	"impactd/internal/mail"
	"impactd/internal/metrics"
	"impactd/internal/period"
	"impactd/internal/runner"
	"impactd/internal/runs"
	"impactd/internal/statement"
	"impactd/internal/store"
	"impactd/internal/wording"
)

// App is impactd, assembled.
type App struct {
	Config    *config.Config
	Log       *slog.Logger
	Clock     domain.Clock
	Store     *store.Store
	Templates *wording.Templates
	Registry  *prometheus.Registry
	Metrics   *metrics.Metrics
	Ingester  *ingest.Ingester
	Webhook   *ingest.Webhook
	Renderer  *letter.Renderer
	Mailer    mail.Sender
	Links     *links.Signer
	// Runs starts runs: the one entry the CLI, the API, the console and the
	// schedule share.
	Runs *runs.Service
	// Runner works the jobs of runs in this process.
	Runner *runner.Runner
}

// New opens the database, migrates it, loads the templates and fonts and
// connects the mailer. Close releases what it opened.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, clock domain.Clock) (*App, error) {
	tmpl, err := wording.Load(cfg.TemplatesDir)
	if err != nil {
		return nil, err
	}
	st, err := store.OpenWith(ctx, cfg.DatabaseURL, store.Options{BusyTimeout: cfg.SQLiteBusyTimeout})
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	renderer, err := letter.New(letter.Options{Logo: cfg.OrgLogo, Signature: cfg.OrgSignature})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("letter renderer: %w", err)
	}
	mailer, err := mail.Open(cfg.SMTPURL, mail.Options{})
	if err != nil {
		st.Close()
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg)
	rule, err := ingest.ParseRule(cfg.DonationRule)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("configuration: %w", err)
	}
	in := &ingest.Ingester{Store: st, Clock: clock, Log: log, Rule: rule, Metrics: m, ConsentKey: cfg.MarketingConsentMetadata}
	signer := links.NewSigner(cfg.SecretKey)
	a := &App{
		Config: cfg, Log: log, Clock: clock, Store: st, Templates: tmpl, Registry: reg, Metrics: m,
		Ingester: in, Renderer: renderer, Mailer: mailer, Links: signer,
		Webhook: &ingest.Webhook{Ingester: in, Secret: cfg.StripeWebhookSecret, Tolerance: cfg.StripeTolerance, Metrics: m, Log: log},
	}
	builder := &statement.Builder{
		Store: st, Templates: tmpl, Location: cfg.Location, PaperSize: cfg.PaperSize,
		Org: domain.Org{Name: cfg.OrgName, CharityNumber: cfg.OrgCharityNumber, Address: cfg.OrgAddress, Website: cfg.OrgWebsite, Email: cfg.OrgEmail,
			Country: cfg.OrgCountry, LogoSHA256: renderer.LogoSHA256(),
			Signatory: cfg.OrgSignatory, SignatoryRole: cfg.OrgSignatoryRole, SignatureSHA256: renderer.SignatureSHA256()},
	}
	a.Runner = &runner.Runner{
		Store: st, Builder: builder, Renderer: renderer, Mailer: mailer, Clock: clock, Log: log, Metrics: m,
		Policy: &runs.Policy{Store: st, Builder: builder, Clock: clock, RequireConsent: cfg.MarketingConsentMetadata != ""},
		Compose: &compose.Composer{
			Templates: tmpl, Sender: compose.Sender{From: cfg.MailFrom, FromName: cfg.MailFromName, ReplyTo: cfg.MailReplyTo},
			BaseURL: cfg.BaseURL, Links: signer, StatementLinkTTL: cfg.StatementLinkTTL, Location: cfg.Location,
		},
		Options: RunnerOptions(cfg),
	}
	a.Runs = &runs.Service{Store: st, Templates: tmpl, Clock: clock, Log: log, Location: cfg.Location,
		IncludeMonthly: cfg.IncludeMonthly, Worker: a.Runner,
		PeriodKinds: map[domain.Series]period.Kind{domain.SeriesAnnual: cfg.AnnualPeriodKind}}
	reg.MustRegister(a.Runner.Collectors()...)
	return a, nil
}

// RunnerOptions are the job settings of the configuration.
func RunnerOptions(cfg *config.Config) runner.Options {
	breaker := cfg.BreakerFailures
	if breaker == 0 {
		breaker = -1 // IMPACTD_BREAKER_FAILURES=0: no breaker
	}
	return runner.Options{
		Workers: cfg.Workers, SendRate: cfg.SendRate, MaxAttempts: cfg.SendAttempts, RetryBackoff: cfg.RetryBackoff,
		Lease: cfg.JobLease, TakeoverGrace: cfg.TakeoverGrace, BreakerFailures: breaker, StaffEmail: cfg.StaffEmail,
		RelayDownAfter: cfg.RelayDownAfter, ShutdownGrace: cfg.ShutdownGrace,
	}
}

// Close closes the mailer and the database.
func (a *App) Close() error {
	merr := a.Mailer.Close()
	serr := a.Store.Close()
	if merr != nil {
		return fmt.Errorf("close mailer: %w", merr)
	}
	return serr
}
