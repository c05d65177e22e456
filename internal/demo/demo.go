// Package demo shows impactd working end to end with no set-up and no
// network: it makes a realistic synthetic donation history, pushes it through
// the real webhook handler as signed Stripe events, publishes the
// organisation's impact figures and runs the impact letters of the last
// complete quarter and the annual giving statements of the last complete
// tax year (calendar year in the US), writing PDFs and .eml files under one
// directory.
package demo

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"impactd/internal/address"
	"impactd/internal/app"
	"impactd/internal/domain"
	"impactd/internal/giftaid"
	"impactd/internal/impact"
	"impactd/internal/ingest"
	"impactd/internal/money"
	"impactd/internal/period"
	"impactd/internal/runs"
	"impactd/internal/synthetic"
)

// WebhookSecret signs the demo's events; the demo configures impactd with it.
const WebhookSecret = "whsec_impactd_demo_not_a_real_secret"

// SecretKey signs the demo's supporter links.
const SecretKey = "impactd-demo-key-not-for-production-use"

//go:embed impact.yaml.tmpl
var impactYAML string

// Options control a demo.
type Options struct {
	Donors int       // default 200
	Out    io.Writer // the summary
	Dir    string    // for the summary only: where the files are
	PDFDir string
	Outbox string
	// GiftAidDir is where the demo's Gift Aid claim files go; "" makes no claim.
	GiftAidDir string
}

// Summary is what the demo did.
type Summary struct {
	Period     period.Period
	Donors     int
	Events     int
	Applied    int
	Duplicates int
	Run        *domain.Run
	// Annual is the annual statements' period and run; AnnualErr says why
	// there is no run when the annual statements could not be made.
	AnnualPeriod period.Period
	Annual       *domain.Run
	AnnualErr    error
	// Batches are the runs' print batches (none when no letter went by
	// post), each written to its PDF and CSV files.
	Batches []PrintedBatch
	// GiftAid is the demo's Gift Aid claim (the one made by an earlier demo
	// when there is nothing new to claim); nil when no claim was asked for.
	GiftAid      *giftaid.Result
	GiftAidFiles giftaid.Files
}

// postEvery picks the demo's supporters who chose letters by post on their
// preferences page: every postEvery-th customer, when their address is
// usable. With the supporters who have no email address, they make the
// run's print batch.
const postEvery = 23

// Run runs the demo against an assembled App.
func Run(ctx context.Context, a *app.App, opts Options) (*Summary, error) {
	start := time.Now()
	if opts.Donors <= 0 {
		opts.Donors = 200
	}
	loc := a.Config.Location
	last := period.LastComplete(a.Clock.Now(), a.Config.PeriodKind, loc)
	if a.Config.PeriodKind != period.Quarter {
		return nil, fmt.Errorf("demo: the demo makes quarterly statements; unset IMPACTD_PERIOD")
	}
	annual := period.LastComplete(a.Clock.Now(), a.Config.AnnualPeriodKind, loc)
	h := synthetic.MakeCovering(opts.Donors, last, annual, loc)
	sum := &Summary{Period: last, AnnualPeriod: annual, Donors: opts.Donors, Events: len(h.Events)}

	// Every event goes through the real handler, signed as Stripe signs.
	// One in fifty is delivered twice, as Stripe sometimes does.
	for i, ev := range h.Events {
		payload, err := ingest.EventJSON(ev.ID, ev.Type, ev.At, ev.Object)
		if err != nil {
			return nil, err
		}
		times := 1
		if i%50 == 7 {
			times = 2
		}
		for range times {
			req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/webhooks/stripe", bytes.NewReader(payload))
			req.Header.Set("Stripe-Signature", ingest.SignatureHeader(payload, a.Config.StripeWebhookSecret, time.Now()))
			rec := httptest.NewRecorder()
			a.Webhook.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				return nil, fmt.Errorf("demo: webhook answered %d for %s: %s", rec.Code, ev.ID, strings.TrimSpace(rec.Body.String()))
			}
			if strings.Contains(rec.Body.String(), `"duplicate"`) {
				sum.Duplicates++
			} else {
				sum.Applied++
			}
		}
	}

	u, err := impact.ParseYAML(strings.NewReader(strings.ReplaceAll(impactYAML, "{{PERIOD}}", last.String())))
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	upd, _, err := impact.Import(ctx, a.Store, u, a.Clock.Now())
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if upd.Status == domain.UpdateDraft {
		if err := impact.Publish(ctx, a.Store, upd.ID, "impactd demo", a.Clock.Now()); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}

	if err := choosePost(ctx, a, opts.Donors); err != nil {
		return nil, err
	}

	// This process works the run, writing every PDF under PDFDir as well.
	worker := *a.Runner
	worker.PDFDir = opts.PDFDir
	svc := *a.Runs
	svc.Worker = &worker
	run, err := svc.Run(ctx, runs.Request{Series: string(domain.SeriesImpact), Period: last.String(), Trigger: "demo", Reason: "impactd demo"})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	sum.Run = run
	if err := writeBatch(ctx, a, opts, sum, run); err != nil {
		return nil, err
	}

	// The annual giving statements of the last complete tax year: asked of
	// the builder first, so that a statement that cannot be made says why
	// once instead of failing every supporter's job.
	if _, err := a.Runner.Builder.NewSeriesContext(ctx, domain.SeriesAnnual, annual); err != nil {
		sum.AnnualErr = err
	} else {
		sum.Annual, err = svc.Run(ctx, runs.Request{Series: string(domain.SeriesAnnual), Period: annual.String(), Trigger: "demo",
			Reason: "impactd demo: annual statements"})
		if err != nil {
			return nil, fmt.Errorf("demo: annual statements: %w", err)
		}
		if err := writeBatch(ctx, a, opts, sum, sum.Annual); err != nil {
			return nil, err
		}
	}

	from, to := last.Bounds(loc)
	if opts.GiftAidDir != "" {
		if err := claimGiftAid(ctx, a, opts.GiftAidDir, to.AddDate(0, 0, -1).Format(time.DateOnly), sum); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	totals, err := a.Store.TotalsBetween(ctx, from.Unix(), to.Unix())
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if opts.Out != nil {
		w := opts.Out
		fmt.Fprintf(w, "impactd demo — impact letters for %s (%s), annual statements for %s (%s)\n\n", last, last.Label(), annual, annual.Label())
		fmt.Fprintf(w, "  supporters        %d synthetic donors\n", sum.Donors)
		fmt.Fprintf(w, "  stripe events     %d signed events through POST /webhooks/stripe (%d redeliveries ignored)\n",
			sum.Events, sum.Duplicates)
		for i, t := range totals {
			label := ""
			if i == 0 {
				label = "gifts in " + last.String()
			}
			fmt.Fprintf(w, "  %-17s %4d gifts  %12s given  %10s refunded  %12s net\n", label, t.Count,
				money.New(t.Gross, t.Currency), money.New(t.Refunded, t.Currency), money.New(t.Gross-t.Refunded, t.Currency))
		}
		fmt.Fprintf(w, "  impact letters    %s %s: %d eligible, %d letters sent, %d failed, %d skipped %s\n",
			run.ID, run.Status, run.Eligible, run.Sent, run.Failed, run.Skipped, run.Exceptions)
		if ar := sum.Annual; ar != nil {
			fmt.Fprintf(w, "  annual statements %s %s: %d eligible, %d statements sent, %d failed, %d skipped %s\n",
				ar.ID, ar.Status, ar.Eligible, ar.Sent, ar.Failed, ar.Skipped, ar.Exceptions)
		} else {
			fmt.Fprintf(w, "  annual statements not made for %s: %s\n", annual, domain.ErrorMessage(sum.AnnualErr))
		}
		if g := sum.GiftAid; g != nil {
			fmt.Fprintf(w, "  gift aid claim    %s up to %s: %d gifts, %s (Gift Aid %s), %d exceptions\n", g.Claim.ID, g.Schedule.To,
				len(g.Schedule.Lines), money.New(g.Schedule.Total, "GBP"), money.New(g.Schedule.GiftAid, "GBP"), len(g.Schedule.Exceptions))
			fmt.Fprintf(w, "  gift aid files    %s (schedule .csv and .ods for HMRC, exceptions, adjustments)\n", opts.GiftAidDir)
		}
		fmt.Fprintf(w, "  letters (PDF)     %s\n", opts.PDFDir)
		fmt.Fprintf(w, "  emails (.eml)     %s\n", opts.Outbox)
		for _, b := range sum.Batches {
			fmt.Fprintf(w, "  by post           %d %s (no email address, or chose post) in print batch %s\n", b.Batch.Letters, b.What, b.Batch.ID)
			fmt.Fprintf(w, "  print batch PDF   %s\n", b.PDF)
			fmt.Fprintf(w, "  manifest (CSV)    %s\n", b.CSV)
		}
		fmt.Fprintf(w, "  database          %s\n", a.Config.DatabaseURL)
		fmt.Fprintf(w, "  time taken        %s\n", time.Since(start).Round(time.Millisecond))
		if run.Sent == 0 && run.Skipped > 0 {
			fmt.Fprintln(w, "\n  Nothing new to send: every letter of this period was already delivered unchanged.")
		}
	}
	return sum, nil
}

// choosePost sets letters by post for a few demo supporters, as if they had
// chosen it on their preferences page.
func choosePost(ctx context.Context, a *app.App, donors int) error {
	for i := postEvery; i < donors; i += postEvery {
		d, err := a.Store.DonorByCustomer(ctx, fmt.Sprintf("cus_demo_%03d", i))
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			continue // a guest, known only by email
		}
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		if !address.ParseStored(d.Address).Usable() {
			continue
		}
		if err := a.Store.SetDonorChannel(ctx, d.ID, domain.ChannelPost, a.Clock.Now().Unix()); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	return nil
}

// PrintedBatch is a run's print batch as the demo wrote it.
type PrintedBatch struct {
	Batch    *domain.PrintBatch
	What     string // "impact letters", "annual statements"
	PDF, CSV string
}

// writeBatch prints the run's print batch, if it has one, next to the
// letters: the PDF for the printer and the manifest for the mailing house.
func writeBatch(ctx context.Context, a *app.App, opts Options, sum *Summary, run *domain.Run) error {
	b, err := a.Store.BatchForRun(ctx, run.ID)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return nil
	}
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	_, p, err := a.Post.Print(ctx, b.ID)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	dir := filepath.Join(filepath.Dir(opts.PDFDir), "post")
	if opts.Dir != "" {
		dir = filepath.Join(opts.Dir, "post")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	pb := PrintedBatch{Batch: b, What: "impact letters",
		PDF: filepath.Join(dir, "print-batch-"+b.ID+".pdf"), CSV: filepath.Join(dir, "print-batch-"+b.ID+".csv")}
	if run.Series.OrDefault() == domain.SeriesAnnual {
		pb.What = "annual statements"
	}
	if err := os.WriteFile(pb.PDF, p.PDF, 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := os.WriteFile(pb.CSV, p.Manifest, 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	sum.Batches = append(sum.Batches, pb)
	return nil
}

// claimGiftAid makes the demo's Gift Aid claim of the gifts up to to and
// writes its files; when an earlier demo claimed them all, it writes the
// files of the newest claim again.
func claimGiftAid(ctx context.Context, a *app.App, dir, to string, sum *Summary) error {
	res, err := a.GiftAid.Claim(ctx, giftaid.Request{To: to, Actor: "demo"})
	if domain.ErrorCode(err) == domain.ECONFLICT {
		cs, lerr := a.GiftAid.List(ctx, 1)
		if lerr != nil || len(cs) == 0 {
			return errors.Join(err, lerr)
		}
		c, sch, rerr := a.GiftAid.Remake(ctx, cs[0].ID)
		if rerr != nil {
			return rerr
		}
		res, err = &giftaid.Result{Claim: c, Schedule: sch}, nil
	}
	if err != nil {
		return err
	}
	files, err := giftaid.WriteFiles(dir, giftaid.FileBase(res.Schedule), res.Schedule, a.Config.Location)
	if err != nil {
		return err
	}
	sum.GiftAid, sum.GiftAidFiles = res, files
	return nil
}
