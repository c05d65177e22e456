package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"impactd/internal/app"
	"impactd/internal/config"
	"impactd/internal/demo"
	"impactd/internal/domain"
	"impactd/internal/httpapi"
	"impactd/internal/impact"
	"impactd/internal/period"
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
	var dir string
	var donors int
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run impactd end to end on synthetic data (no set-up, no network)",
		Long: "demo creates a SQLite database in --dir, makes about 200 supporters' donation history,\n" +
			"pushes it through the webhook handler as signed Stripe events, publishes impact figures,\n" +
			"and runs the statements of the last complete quarter, writing PDFs and .eml files under --dir.\n" +
			"Running it again is safe: nothing is counted or sent twice.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			abs, err := filepath.Abs(dir)
			if err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			if err := os.MkdirAll(abs, 0o755); err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			outbox := filepath.Join(abs, "outbox")
			overrides := map[string]string{
				"IMPACTD_DATABASE_URL":          "sqlite:" + filepath.Join(abs, "impactd.db"),
				"IMPACTD_SMTP_URL":              "file://" + outbox,
				"IMPACTD_STRIPE_WEBHOOK_SECRET": demo.WebhookSecret,
				"IMPACTD_SECRET_KEY":            demo.SecretKey,
				"IMPACTD_PERIOD":                "quarter",
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
			_, err = demo.Run(cmd.Context(), a, demo.Options{
				Donors: donors, Out: stdout, Dir: abs, PDFDir: filepath.Join(abs, "statements"), Outbox: outbox,
			})
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "./impactd-demo", "directory for the demo's database, PDFs and emails")
	cmd.Flags().IntVar(&donors, "donors", 200, "number of synthetic supporters")
	return cmd
}

func serveCommand(getenv func(string) string, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Start the HTTP server (Stripe webhook, health checks, metrics)",
		Args:  cobra.NoArgs,
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
			staffConsole, supporterPages, err := a.Web(ctx)
			if err != nil {
				return err
			}
			srv := &http.Server{
				Addr: a.Config.HTTPAddr,
				Handler: httpapi.NewServer(httpapi.Deps{
					Log: a.Log, Store: a.Store, Webhook: a.Webhook, Registry: a.Registry, Links: a.Links, Clock: a.Clock,
					Location: a.Config.Location, Console: staffConsole, Supporter: supporterPages, Runs: a.Runs, PDFs: a.Runner,
				}),
				ReadHeaderTimeout: 10 * time.Second,
				ReadTimeout:       30 * time.Second,
				WriteTimeout:      60 * time.Second,
				BaseContext:       func(net.Listener) context.Context { return ctx },
			}
			ln, err := net.Listen("tcp", a.Config.HTTPAddr)
			if err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			stopBackground := startBackground(ctx, a)
			defer stopBackground()
			a.Log.Info("listening", "addr", ln.Addr().String())
			errc := make(chan error, 1)
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
		},
	}
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
