package main

import (
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"impactd/internal/giftaid"
	"impactd/internal/money"
)

func giftAidCommand(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "giftaid", Short: "Gift Aid claims for HMRC: make one, list them, record HMRC's acknowledgment"}
	cliActor := func(flag string) string { return "cli:" + firstOf(flag, getenv("USER"), "unknown") }

	var to, out, actorFlag string
	var dryRun, aggregate bool
	claim := &cobra.Command{
		Use:   "claim --to YYYY-MM-DD [--out DIR] [--dry-run] [--aggregate]",
		Short: "Claim every eligible gift made up to --to not yet claimed: HMRC's schedule as CSV and ODS, exceptions, adjustments",
		Long: "claim collects every Gift Aid eligible gift made up to and including --to that no claim has\n" +
			"taken (GBP, net of refunds and lost disputes, covered by the donor's declaration on its date,\n" +
			"a UK home address with a house name or number and a postcode, at most four years old), records\n" +
			"the claim and writes, under --out, HMRC's Charities Online Gift Aid schedule as CSV and as an\n" +
			"ODS spreadsheet laid out to paste into HMRC's template, the exceptions (gifts with a\n" +
			"declaration that cannot be claimed, and why) and the adjustments (gifts of earlier claims\n" +
			"refunded since). --dry-run writes the same files and records nothing. --aggregate adds\n" +
			"donations of £20 or less together, up to £1,000 a line, as HMRC allows.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" {
				return fmt.Errorf("--to is required: the last day (YYYY-MM-DD) whose gifts the claim takes, e.g. --to 2026-09-30")
			}
			a, err := open(cmd.Context(), getenv, stderr)
			if err != nil {
				return err
			}
			defer a.Close()
			res, err := a.GiftAid.Claim(cmd.Context(), giftaid.Request{To: to, Aggregate: aggregate, DryRun: dryRun, Actor: cliActor(actorFlag)})
			if err != nil {
				return err
			}
			loc := a.Config.Location
			files, err := giftaid.WriteFiles(out, giftaid.FileBase(res.Schedule), res.Schedule, loc)
			if err != nil {
				return err
			}
			printClaim(stdout, res, files, loc)
			return nil
		},
	}
	claim.Flags().StringVar(&to, "to", "", "the last day whose gifts are claimed, YYYY-MM-DD (required)")
	claim.Flags().StringVar(&out, "out", "giftaid", "directory for the claim's files")
	claim.Flags().BoolVar(&dryRun, "dry-run", false, "write the files, record no claim")
	claim.Flags().BoolVar(&aggregate, "aggregate", false, "add small donations together (each £20 or less, up to £1,000 a line)")
	claim.Flags().StringVar(&actorFlag, "actor", "", "who makes the claim, for its record (default: $USER)")

	var reference string
	mark := &cobra.Command{
		Use:   "mark-submitted CLAIM_ID --reference REF",
		Short: "Record that HMRC acknowledged a claim, with its reference (once; audited)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := open(cmd.Context(), getenv, stderr)
			if err != nil {
				return err
			}
			defer a.Close()
			c, err := a.GiftAid.MarkSubmitted(cmd.Context(), args[0], reference, cliActor(actorFlag))
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "claim %s marked submitted: HMRC reference %s\n", c.ID, c.HMRCReference)
			return nil
		},
	}
	mark.Flags().StringVar(&reference, "reference", "", "HMRC's reference from its acknowledgment (required)")
	mark.Flags().StringVar(&actorFlag, "actor", "", "who records it (default: $USER)")
	_ = mark.MarkFlagRequired("reference")

	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List the Gift Aid claims, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := open(cmd.Context(), getenv, stderr)
			if err != nil {
				return err
			}
			defer a.Close()
			cs, err := a.GiftAid.List(cmd.Context(), limit)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CLAIM\tMADE\tUP TO\tGIFTS\tDONATIONS\tADJUSTMENTS\tBY\tHMRC REFERENCE")
			for _, c := range cs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", c.ID, time.Unix(c.CreatedAt, 0).In(a.Config.Location).Format("2006-01-02 15:04"),
					c.ToDate, c.Gifts, money.New(c.Total, "GBP"), money.New(c.AdjustmentTotal, "GBP"), c.Actor, firstOf(c.HMRCReference, "not submitted"))
			}
			return tw.Flush()
		},
	}
	list.Flags().IntVar(&limit, "limit", 100, "most claims to list")
	cmd.AddCommand(claim, mark, list)
	return cmd
}

// printClaim says what a claim (or dry run) holds and where its files are,
// with the exceptions listed by donation and donor id (never a name).
func printClaim(w io.Writer, res *giftaid.Result, f giftaid.Files, loc *time.Location) {
	s := res.Schedule
	if res.Claim != nil {
		fmt.Fprintf(w, "Gift Aid claim %s, gifts up to %s\n", res.Claim.ID, s.To)
	} else {
		fmt.Fprintf(w, "Gift Aid claim up to %s — dry run: nothing recorded\n", s.To)
	}
	earliest := "—"
	if s.Earliest != 0 {
		earliest = giftaid.FormatDate(s.Earliest, loc)
	}
	fmt.Fprintf(w, "  gifts             %d on %d schedule rows, %s (Gift Aid at 25%%: %s)\n", len(s.Lines), len(s.Rows),
		money.New(s.Total, "GBP"), money.New(s.GiftAid, "GBP"))
	fmt.Fprintf(w, "  earliest gift     %s (the claim form's \"earliest donation date\")\n", earliest)
	fmt.Fprintf(w, "  adjustments       %d gifts refunded after an earlier claim, %s; Gift Aid adjustment box: %s\n",
		len(s.Adjustments), money.New(s.AdjustmentTotal, "GBP"), giftaid.FormatAmount(-s.AdjustmentTax))
	fmt.Fprintf(w, "  exceptions        %d gifts with a declaration that cannot be claimed\n", len(s.Exceptions))
	for i, e := range s.Exceptions {
		if i == 20 {
			fmt.Fprintf(w, "                    … %d more in %s\n", len(s.Exceptions)-20, f.Exceptions)
			break
		}
		fmt.Fprintf(w, "                    %s  %s  %s %s  %s\n", e.DonationID, e.DonorID, giftaid.FormatDate(e.Created, loc),
			money.New(e.Amount, e.Currency), e.Reason.Text())
	}
	dir, _ := filepath.Abs(filepath.Dir(f.CSV))
	fmt.Fprintf(w, "  files in %s\n", dir)
	for _, p := range []string{f.CSV, f.ODS, f.Exceptions, f.Adjustments} {
		fmt.Fprintf(w, "                    %s\n", filepath.Base(p))
	}
}
