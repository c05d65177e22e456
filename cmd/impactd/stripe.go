package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"impactd/internal/period"
	"impactd/internal/stripesync"
)

func stripeCommand(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "stripe", Short: "Backfill from and reconcile with the Stripe API"}
	var since string
	syncCmd := &cobra.Command{
		Use:   "sync [--since 2025-01-01]",
		Short: "Read customers, checkout sessions, invoices, charges and disputes from Stripe into the ledger",
		Long: "sync pages through the Stripe account with the same code the webhooks use, so the two never\n" +
			"disagree. It records its place after every page: run it again after an interruption and it\n" +
			"resumes. Rate limits and network errors are retried with backoff.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var from time.Time
			if since != "" {
				t, err := time.Parse(time.DateOnly, since)
				if err != nil {
					return fmt.Errorf("--since %q: want a date YYYY-MM-DD", since)
				}
				from = t
			}
			a, err := open(cmd.Context(), getenv, stderr)
			if err != nil {
				return err
			}
			defer a.Close()
			if a.Config.StripeAPIKey == "" {
				return errors.New("configuration: IMPACTD_STRIPE_API_KEY is required by stripe sync")
			}
			sy := &stripesync.Syncer{API: stripesync.NewClient(a.Config.StripeAPIKey, a.Config.StripeAPIBase, 8),
				Ingester: a.Ingester, Store: a.Store, Log: a.Log, Progress: stdout}
			stats, err := sy.Sync(cmd.Context(), from)
			total := 0
			for _, st := range stats {
				total += st.Objects
			}
			if err != nil {
				return fmt.Errorf("%w (run the same command again to resume)", err)
			}
			fmt.Fprintf(stdout, "sync complete: %d objects\n", total)
			return nil
		},
	}
	syncCmd.Flags().StringVar(&since, "since", "", "only objects created on or after this date (YYYY-MM-DD)")
	var periodFlag string
	reconcileCmd := &cobra.Command{
		Use:   "reconcile --period 2026-Q3",
		Short: "Compare a period's gifts in the ledger with Stripe's charges and list every difference",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := period.Parse(periodFlag)
			if err != nil {
				return fmt.Errorf("--period: %w", err)
			}
			a, err := open(cmd.Context(), getenv, stderr)
			if err != nil {
				return err
			}
			defer a.Close()
			if a.Config.StripeAPIKey == "" {
				return errors.New("configuration: IMPACTD_STRIPE_API_KEY is required by stripe reconcile")
			}
			rep, err := stripesync.Reconcile(cmd.Context(), stripesync.NewClient(a.Config.StripeAPIKey, a.Config.StripeAPIBase, 8),
				a.Store, p, a.Config.Location, a.Ingester.Rule)
			if err != nil {
				return err
			}
			rep.Print(stdout)
			if n := len(rep.Differences); n > 0 {
				return fmt.Errorf("%d differences between the ledger and Stripe", n)
			}
			return nil
		},
	}
	reconcileCmd.Flags().StringVar(&periodFlag, "period", "", "period, e.g. 2026-Q3 (required)")
	_ = reconcileCmd.MarkFlagRequired("period")
	cmd.AddCommand(syncCmd, reconcileCmd)
	return cmd
}
