package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"impactd/internal/app"
	"impactd/internal/config"
	"impactd/internal/demo"
	"impactd/internal/domain"
	"impactd/internal/httpapi"
	"impactd/internal/impact"
	"impactd/internal/period"
	"impactd/internal/store"
)

func rootCommand(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "impactd",
		Short: "Personal impact letters from Stripe donations",
		Long: "impactd turns Stripe donations into personal impact statements: a PDF of each\n" +
			"supporter's gifts beside what the charity achieved in the period, emailed on a schedule.\n" +
			"Settings come from IMPACTD_* environment variables (see README.md).",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		demoCommand(getenv, stdout, stderr),
		serveCommand(getenv, stderr),
		migrateCommand(getenv, stdout, stderr),
		impactCommand(getenv, stdout, stderr),
		runCommand(getenv, stdout, stderr),
		bouncesCommand(getenv, stdout, stderr),
		tokenCommand(getenv, stdout, stderr),
		donorCommand(getenv, stdout, stderr),
		stripeCommand(getenv, stdout, stderr),
		previewCommand(getenv, stdout, stderr),
		staffCommand(getenv, stdout, stderr),
	)
	return root
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// open loads the configuration and assembles impactd.
func open(ctx context.Context, getenv func(string) string, stderr io.Writer) (*app.App, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	return app.New(ctx, cfg, newLogger(cfg, stderr), domain.SystemClock{})
}

func demoCommand(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var dir, addr string
	var donors int
	var serve bool
	cmd := &cobra.Command{
		Use:   "demo [--dir DIR] [--donors N] [--serve [--addr HOST:PORT]]",
		Short: "Run impactd end to end on synthetic data (no set-up, no network); --serve to look at it in a browser",
		Long: "demo creates a SQLite database in --dir, makes about 200 supporters' donation history,\n" +
			"pushes it through the webhook handler as signed Stripe events, publishes impact figures,\n" +
			"and runs the impact letters of the last complete quarter and the annual giving statements of\n" +
			"the last complete tax year (calendar year in the US), writing PDFs and .eml files under --dir.\n" +
			"Running it again is safe: nothing is counted or sent twice.\n\n" +
			"With --serve it then starts the server on the demo's database with the demo's keys (on a\n" +
			"demo made earlier it only serves), creates a demo staff account once, and prints the staff\n" +
			"console's address with that account's email and password, one supporter's statement page and\n" +
			"a verification code to check at /verify. Ctrl-C stops it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if donors < 1 {
				return fmt.Errorf("demo --donors %d: give at least 1 supporter (the default is 200)", donors)
			}
			abs, err := filepath.Abs(dir)
			if err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			dbPath := filepath.Join(abs, "impactd.db")
			_, statErr := os.Stat(dbPath)
			made := statErr == nil
			if err := os.MkdirAll(abs, 0o755); err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			outbox := filepath.Join(abs, "outbox")
			overrides := map[string]string{
				"IMPACTD_DATABASE_URL":          "sqlite:" + dbPath,
				"IMPACTD_SMTP_URL":              "file://" + outbox,
				"IMPACTD_STRIPE_WEBHOOK_SECRET": demo.WebhookSecret,
				"IMPACTD_SECRET_KEY":            demo.SecretKey,
				"IMPACTD_PERIOD":                "quarter",
			}
			letterhead, err := demo.WriteLetterhead(abs, getenv)
			if err != nil {
				return err
			}
			maps.Copy(overrides, letterhead)
			var ln net.Listener
			if serve {
				// Listen first, so that the links in the demo's letters and
				// emails point at this server, whatever port it got.
				if ln, err = net.Listen("tcp", addr); err != nil {
					return fmt.Errorf("demo --serve: %w", err)
				}
				defer ln.Close()
				overrides["IMPACTD_HTTP_ADDR"] = ln.Addr().String()
				if getenv("IMPACTD_BASE_URL") == "" {
					overrides["IMPACTD_BASE_URL"] = localURL(ln.Addr())
				}
				overrides["IMPACTD_COOKIE_SECURE"] = "false" // plain http on this machine
				overrides["IMPACTD_SCHEDULE"] = "off"        // nothing is sent unless someone starts a run
				overrides["IMPACTD_ANNUAL_SCHEDULE"] = "off"
			}
			env := func(k string) string {
				if v, ok := overrides[k]; ok {
					return v
				}
				if k == "IMPACTD_LOG_LEVEL" && getenv(k) == "" {
					return "warn"
				}
				if k == "IMPACTD_LOG_FORMAT" && getenv(k) == "" {
					return "text"
				}
				return getenv(k)
			}
			a, err := open(cmd.Context(), env, stderr)
			if err != nil {
				return err
			}
			defer a.Close()
			if !serve || !made {
				if _, err := demo.Run(cmd.Context(), a, demo.Options{
					Donors: donors, Out: stdout, Dir: abs, PDFDir: filepath.Join(abs, "statements"), Outbox: outbox,
				}); err != nil {
					return err
				}
			}
			if !serve {
				again := "impactd demo --serve"
				if dir != defaultDemoDir {
					again += " --dir " + dir
				}
				fmt.Fprintf(stdout, "\n  To look at it: %s   (from a checkout: go run ./cmd/impactd demo --serve)\n", again)
				return nil
			}
			if made {
				fmt.Fprintf(stdout, "impactd demo — serving the demo made earlier in %s (delete the directory to start afresh)\n", abs)
			}
			v, err := demo.PrepareVisit(cmd.Context(), a, abs)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "\n  staff console     %s\n", v.ConsoleURL)
			fmt.Fprintf(stdout, "                    sign in as %s with the password %s\n", v.Email, v.Password)
			fmt.Fprintf(stdout, "                    (kept in %s)\n", v.PasswordFile)
			fmt.Fprintf(stdout, "  supporter page    %s\n", v.StatementURL)
			fmt.Fprintf(stdout, "  check a letter    %s   (code %s)\n", v.VerifyURL, v.Code)
			fmt.Fprintf(stdout, "\n  Serving on %s; Ctrl-C stops.\n", ln.Addr())
			return serveHTTP(cmd.Context(), a, ln)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", defaultDemoDir, "directory for the demo's database, PDFs and emails")
	cmd.Flags().IntVar(&donors, "donors", 200, "number of synthetic supporters")
	cmd.Flags().BoolVar(&serve, "serve", false, "then serve the demo: staff console, supporter pages and /verify")
	cmd.Flags().StringVar(&addr, "addr", defaultAddr(getenv), "with --serve: the address to listen on")
	return cmd
}

const defaultDemoDir = "./impactd-demo"

func defaultAddr(getenv func(string) string) string {
	if a := getenv("IMPACTD_HTTP_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:8080"
}

// localURL is an http URL for a listener; one listening on every address
// is reached through loopback.
func localURL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String()
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}

func serveCommand(getenv func(string) string, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Start the HTTP server: Stripe webhook, staff console, supporter pages, health checks, metrics",
		Long: "serve listens on IMPACTD_HTTP_ADDR and serves the Stripe webhook (POST /webhooks/stripe), the\n" +
			"staff console (/console; accounts from impactd staff add), the supporter pages (the signed\n" +
			"statement links /s/…, one-click unsubscribe, /verify), the API (/api/v1), /healthz, /readyz and\n" +
			"/metrics. It also works statement jobs and fires the schedule (IMPACTD_SCHEDULE); any number\n" +
			"of replicas may share one PostgreSQL database. / leads to the console.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			a, err := open(ctx, getenv, stderr)
			if err != nil {
				return err
			}
			defer a.Close()
			if a.Config.StripeWebhookSecret == "" {
				return errors.New("configuration: IMPACTD_STRIPE_WEBHOOK_SECRET is required by serve (Stripe dashboard → Webhooks → Signing secret)")
			}
			if a.Links == nil {
				a.Log.Warn("IMPACTD_SECRET_KEY is not set: emails will carry no unsubscribe link")
			}
			ln, err := net.Listen("tcp", a.Config.HTTPAddr)
			if err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			defer ln.Close()
			return serveHTTP(ctx, a, ln)
		},
	}
}

// metricsHere is the token that guards /metrics on the main address, or ""
// when it is served on its own address (or nowhere) instead.
func metricsHere(c *config.Config) string {
	if c.MetricsAddr != "" {
		return ""
	}
	return c.MetricsToken
}

// serveHTTP serves impactd on ln, with the job workers and the schedule,
// until ctx ends.
func serveHTTP(ctx context.Context, a *app.App, ln net.Listener) error {
	staffConsole, supporterPages, err := a.Web(ctx)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: httpapi.NewServer(httpapi.Deps{
			Log: a.Log, Store: a.Store, Webhook: a.Webhook, Registry: a.Registry, Links: a.Links, Clock: a.Clock,
			Location: a.Config.Location, Console: staffConsole, Supporter: supporterPages, Runs: a.Runs, PDFs: a.Runner,
			HSTS: a.Config.HSTS, MetricsToken: metricsHere(a.Config),
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 2)
	if addr := a.Config.MetricsAddr; addr != "" {
		mln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("serve metrics: %w", err)
		}
		msrv := &http.Server{Handler: httpapi.MetricsHandler(a.Registry, a.Config.MetricsToken), ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- msrv.Serve(mln) }()
		defer msrv.Close()
		a.Log.Info("metrics listening", "addr", mln.Addr().String())
	} else if a.Config.MetricsToken == "" {
		a.Log.Warn("/metrics is not served: set IMPACTD_METRICS_ADDR or IMPACTD_METRICS_TOKEN")
	}
	stopBackground := startBackground(ctx, a)
	defer stopBackground()
	a.Log.Info("database opened", "database", store.DatabaseLabel(a.Config.DatabaseURL), "dialect", a.Store.Dialect())
	a.Log.Info("listening", "addr", ln.Addr().String(), "console", strings.TrimSuffix(a.Config.BaseURL, "/")+"/console")
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	a.Log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func migrateCommand(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations (serve and the other commands also do this on start)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := open(cmd.Context(), getenv, stderr)
			if err != nil {
				return err
			}
			defer a.Close()
			fmt.Fprintf(stdout, "database migrated (%s)\n", a.Store.Dialect())
			return nil
		},
	}
}

func impactCommand(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "impact", Short: "Manage impact updates (the figures set beside each supporter's gifts)"}
	var publish bool
	var approvedBy, reason string
	importCmd := &cobra.Command{
		Use:   "import FILE.yaml",
		Short: "Import an impact update from YAML as a draft (or publish it with --publish)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Checked first: failing after the import would leave a draft
			// behind that the operator did not ask for on its own.
			if publish && strings.TrimSpace(approvedBy) == "" {
				return errors.New("impact import --publish needs --approved-by NAME: who approved the figures is recorded with them")
			}
			f, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("impact import: %w", err)
			}
			defer f.Close()
			u, err := impact.ParseYAML(f)
			if err != nil {
				return fmt.Errorf("impact import %s: %w", args[0], err)
			}
			if reason != "" {
				u.CorrectionReason = reason
			}
			u.CreatedBy = "cli"
			a, err := open(cmd.Context(), getenv, stderr)
			if err != nil {
				return err
			}
			defer a.Close()
			stored, created, err := impact.Import(cmd.Context(), a.Store, u, a.Clock.Now())
			if err != nil {
				return err
			}
			verb := "imported"
			if !created {
				verb = "unchanged"
			}
			fmt.Fprintf(stdout, "%s %s: %s version %d (%s)\n", verb, stored.ID, stored.Period, stored.Version, stored.Status)
			if publish && stored.Status == domain.UpdateDraft {
				if err := impact.Publish(cmd.Context(), a.Store, stored.ID, approvedBy, a.Clock.Now()); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "published %s, approved by %s\n", stored.ID, approvedBy)
			}
			return nil
		},
	}
	importCmd.Flags().BoolVar(&publish, "publish", false, "publish the update at once (needs --approved-by)")
	importCmd.Flags().StringVar(&approvedBy, "approved-by", "", "who approved the figures")
	importCmd.Flags().StringVar(&reason, "reason", "", "why this version corrects a published one (required once a version is published; overrides correction_reason in the file)")
	var pubApprover string
	publishCmd := &cobra.Command{
		Use:   "publish UPDATE_ID",
		Short: "Publish a draft impact update so that letters use it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := open(cmd.Context(), getenv, stderr)
			if err != nil {
				return err
			}
			defer a.Close()
			if err := impact.Publish(cmd.Context(), a.Store, args[0], pubApprover, a.Clock.Now()); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "published %s\n", args[0])
			return nil
		},
	}
	publishCmd.Flags().StringVar(&pubApprover, "approved-by", "", "who approved the figures (required)")
	var exportPeriod, exportID, exportOut string
	exportCmd := &cobra.Command{
		Use:   "export --period 2026-Q3 [--id UPDATE_ID] [--out FILE.yaml]",
		Short: "Write an impact update as YAML (the newest version of the period unless --id is given)",
		Long: "export writes an impact update in the YAML that import reads. To correct a published\n" +
			"update, export it, change the figures, set correction_reason and import the file.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if exportPeriod == "" && exportID == "" {
				return errors.New("impact export: give --period or --id")
			}
			a, err := open(cmd.Context(), getenv, stderr)
			if err != nil {
				return err
			}
			defer a.Close()
			var u *domain.ImpactUpdate
			if exportID != "" {
				u, err = a.Store.ImpactUpdate(cmd.Context(), exportID)
			} else {
				p, perr := period.Parse(exportPeriod)
				if perr != nil {
					return fmt.Errorf("--period: %w", perr)
				}
				u, err = a.Store.LatestImpactUpdate(cmd.Context(), p.String(), "")
			}
			if err != nil {
				return fmt.Errorf("impact export: %w", err)
			}
			w := stdout
			if exportOut != "" {
				f, err := os.Create(exportOut)
				if err != nil {
					return fmt.Errorf("impact export: %w", err)
				}
				defer f.Close()
				w = f
			}
			return impact.ExportYAML(w, u)
		},
	}
	exportCmd.Flags().StringVar(&exportPeriod, "period", "", "period, e.g. 2026-Q3")
	exportCmd.Flags().StringVar(&exportID, "id", "", "a stored version's id (from import or the API)")
	exportCmd.Flags().StringVar(&exportOut, "out", "", "file to write (default: standard output)")
	cmd.AddCommand(importCmd, publishCmd, exportCmd)
	return cmd
}
