package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"impactd/internal/domain"
	"impactd/internal/ingest"
	"impactd/internal/period"
	"impactd/internal/statement"
	"impactd/internal/store"
)

// previewCommand renders one donor's letter to a file without sending or
// storing anything.
func previewCommand(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var donorFlag, seriesFlag, periodFlag, out string
	var draft bool
	cmd := &cobra.Command{
		Use:   "preview --donor EMAIL|DONOR_ID --period 2026-Q3 [--out FILE.pdf]",
		Short: "Render one supporter's letter to a PDF file, without sending or recording it",
		Long: "preview builds the statement exactly as a run would, dated today, and writes the PDF.\n" +
			"Nothing is stored and no email is sent. With --draft it uses the newest version of the\n" +
			"period's impact update even if it is not published yet, to check figures before approval.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			series, err := domain.ParseSeries(seriesFlag)
			if err != nil {
				return fmt.Errorf("--series: %s", domain.ErrorMessage(err))
			}
			if draft && series != domain.SeriesImpact {
				return errors.New("--draft is for the impact letter's impact update; the annual statement has none")
			}
			p, err := period.Parse(periodFlag)
			if err != nil {
				return fmt.Errorf("--period: %w", err)
			}
			if strings.TrimSpace(donorFlag) == "" {
				return errors.New("--donor is required: an email address or a donor id")
			}
			a, err := open(ctx, getenv, stderr)
			if err != nil {
				return err
			}
			defer a.Close()
			donor, err := findDonor(cmd, a.Store, donorFlag)
			if err != nil {
				return err
			}
			b := a.Runner.Builder
			var sc *statement.Context
			if draft {
				sc, err = b.NewDraftContext(ctx, p)
			} else {
				sc, err = b.NewSeriesContext(ctx, series, p)
			}
			if err != nil {
				return fmt.Errorf("preview: %w", err)
			}
			snap, err := b.Build(ctx, sc, donor, a.Clock.Now())
			if err != nil {
				return fmt.Errorf("preview: %w", err)
			}
			enc, err := snap.Encode()
			if err != nil {
				return fmt.Errorf("preview: %w", err)
			}
			hash := domain.ContentHash(enc)
			var pdf bytes.Buffer
			if err := a.Renderer.Render(&pdf, snap, hash); err != nil {
				return fmt.Errorf("preview: %w", err)
			}
			if out == "" {
				out = "impact-statement-" + p.Slug() + ".pdf"
				if series == domain.SeriesAnnual {
					out = "annual-statement-" + p.Slug() + ".pdf"
				}
			}
			if err := os.WriteFile(out, pdf.Bytes(), 0o644); err != nil {
				return fmt.Errorf("preview: %w", err)
			}
			note := ""
			if sc.Impact != nil && sc.Impact.Status != domain.UpdatePublished {
				note = " (impact update is a DRAFT: do not send)"
			}
			if sc.Impact != nil {
				note = fmt.Sprintf(", impact update version %d", sc.Impact.Version) + note
			}
			fmt.Fprintf(stdout, "wrote %s: %s, %d bytes, %d gifts%s, verification code %s\n",
				out, series.Label(), pdf.Len(), len(snap.Gifts), note, domain.VerificationCode(hash))
			return nil
		},
	}
	cmd.Flags().StringVar(&donorFlag, "donor", "", "the supporter's email address or donor id (required)")
	cmd.Flags().StringVar(&seriesFlag, "series", "impact", "impact (the impact letter) or annual (the annual giving statement)")
	cmd.Flags().StringVar(&periodFlag, "period", "", "period, e.g. 2026-Q3, or 2025/26 for an annual statement (required)")
	cmd.Flags().StringVar(&out, "out", "", "PDF file to write (default impact-statement-PERIOD.pdf)")
	cmd.Flags().BoolVar(&draft, "draft", false, "use the newest impact update even if it is still a draft")
	_ = cmd.MarkFlagRequired("period")
	return cmd
}

// findDonor looks a donor up by id or by email address. An address shared
// by several donors is an error that lists their ids.
func findDonor(cmd *cobra.Command, st *store.Store, key string) (*domain.Donor, error) {
	key = strings.TrimSpace(key)
	if !strings.Contains(key, "@") {
		d, err := st.Donor(cmd.Context(), key)
		if err != nil {
			return nil, fmt.Errorf("preview: %w", err)
		}
		return d, nil
	}
	ds, err := st.DonorsByEmail(cmd.Context(), ingest.NormaliseEmail(key))
	if err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	switch len(ds) {
	case 0:
		return nil, domain.Errorf(domain.ENOTFOUND, "no supporter with that email address")
	case 1:
		return &ds[0], nil
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return nil, domain.Errorf(domain.ECONFLICT, "%d supporters share that email address: give --donor with one of %s", len(ds), strings.Join(ids, ", "))
}
