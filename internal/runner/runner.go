// Package runner produces and sends the statements of a period: it decides
// who gets a letter, freezes each snapshot, renders the PDF, emails it and
// records the delivery. A statement that was delivered and has not changed is
// never sent again; one that changed goes out marked as a correction.
package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"impactd/internal/domain"
	"impactd/internal/letter"
	"impactd/internal/links"
	"impactd/internal/mail"
	"impactd/internal/metrics"
	"impactd/internal/money"
	"impactd/internal/period"
	"impactd/internal/statement"
	"impactd/internal/store"
	"impactd/internal/wording"
)

// Skip reasons, the keys of a run's exceptions report.
const (
	SkipNoEmail      = "no_email"
	SkipUnsubscribed = "unsubscribed"
	SkipErased       = "erased"
	SkipUnchanged    = "already_sent_unchanged"
)

// Sender is who the letters come from.
type Sender struct{ From, FromName, ReplyTo string }

// Runner runs statement runs.
type Runner struct {
	Store     *store.Store
	Builder   *statement.Builder
	Renderer  *letter.Renderer
	Mailer    mail.Sender
	Templates *wording.Templates
	Sender    Sender
	BaseURL   string
	Links     *links.Signer // nil: no unsubscribe links
	Clock     domain.Clock
	Log       *slog.Logger
	Metrics   *metrics.Metrics
	Workers   int    // statements rendered and sent at once; default 2
	PDFDir    string // when set, every rendered PDF is also written here
}

// Request asks for one run.
type Request struct {
	Period  period.Period
	Trigger string // "cli", "schedule", "demo", …
	Reason  string
	DryRun  bool // render everything, send nothing
}

// Run produces the statements of a period. Problems with single donors are
// counted in the run and logged; an error is returned only when the run could
// not start or could not record its result, and then nothing was sent.
func (r *Runner) Run(ctx context.Context, req Request) (*domain.Run, error) {
	start := r.Clock.Now()
	sc, err := r.Builder.NewContext(ctx, req.Period)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", req.Period, err)
	}
	if err := r.Templates.Check(); err != nil {
		return nil, fmt.Errorf("run %s: %w", req.Period, err)
	}
	dry := 0
	if req.DryRun {
		dry = 1
	}
	run := &domain.Run{Period: req.Period.String(), Trigger: req.Trigger, Reason: req.Reason, Status: domain.RunRunning,
		DryRun: dry, Exceptions: "{}", StartedAt: start.Unix()}
	if err := r.Store.CreateRun(ctx, run); err != nil {
		return nil, fmt.Errorf("run %s: %w", req.Period, err)
	}
	log := r.Log.With("run_id", run.ID, "period", run.Period)
	log.Info("run started", "dry_run", req.DryRun, "trigger", req.Trigger)

	from, to := req.Period.Bounds(r.Builder.Location)
	donors, err := r.Store.DonorsWithActivity(ctx, from.Unix(), to.Unix())
	if err != nil {
		return r.finish(ctx, run, map[string]int{}, err)
	}
	var mu sync.Mutex
	skipped := map[string]int{}
	count := func(f func()) { mu.Lock(); f(); mu.Unlock() }

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(r.Workers, 1))
	for i := range donors {
		d := &donors[i]
		if reason := exclusion(d); reason != "" {
			count(func() { skipped[reason]++; run.Skipped++ })
			continue
		}
		count(func() { run.Eligible++ })
		g.Go(func() error {
			if gctx.Err() != nil {
				return gctx.Err()
			}
			out, err := r.one(gctx, run, sc, d, req.DryRun)
			count(func() {
				switch {
				case err != nil:
					run.Failed++
					log.Error("statement failed", "donor_id", d.ID, "err", err)
				case out == SkipUnchanged:
					skipped[out]++
					run.Skipped++
				case out == domain.DeliverySent:
					run.Rendered++
					run.Sent++
				default:
					run.Rendered++
				}
			})
			return nil
		})
	}
	werr := g.Wait()
	if werr == nil {
		werr = ctx.Err()
	}
	run, err = r.finish(context.WithoutCancel(ctx), run, skipped, werr)
	if r.Metrics != nil {
		r.Metrics.RunDuration.Observe(r.Clock.Now().Sub(start).Seconds())
	}
	log.Info("run finished", "status", run.Status, "eligible", run.Eligible, "rendered", run.Rendered,
		"sent", run.Sent, "failed", run.Failed, "skipped", run.Skipped)
	return run, err
}

// exclusion says why a donor with activity gets no letter, or "".
func exclusion(d *domain.Donor) string {
	switch {
	case d.Status == domain.DonorErased:
		return SkipErased
	case d.Status == domain.DonorUnsubscribed:
		return SkipUnsubscribed
	case d.Email == "":
		return SkipNoEmail
	}
	return ""
}

func (r *Runner) finish(ctx context.Context, run *domain.Run, skipped map[string]int, cause error) (*domain.Run, error) {
	b, _ := json.Marshal(skipped)
	run.Exceptions = string(b)
	run.FinishedAt = r.Clock.Now().Unix()
	run.Status = domain.RunSucceeded
	if cause != nil {
		run.Status, run.Error = domain.RunFailed, cause.Error()
	} else if run.Failed > 0 {
		run.Status = domain.RunFailed
		run.Error = fmt.Sprintf("%d statements failed", run.Failed)
	}
	if err := r.Store.UpdateRun(ctx, run); err != nil {
		return run, fmt.Errorf("run %s: %w", run.Period, errors.Join(cause, err))
	}
	if cause != nil {
		return run, fmt.Errorf("run %s: %w", run.Period, cause)
	}
	return run, nil
}

// one makes, renders and sends one donor's statement. It returns the
// delivery status, "rendered" for a dry run, or SkipUnchanged.
func (r *Runner) one(ctx context.Context, run *domain.Run, sc *statement.Context, d *domain.Donor, dry bool) (string, error) {
	now := r.Clock.Now()
	prev, err := r.Store.LastSentStatement(ctx, d.ID, run.Period)
	if err != nil && domain.ErrorCode(err) != domain.ENOTFOUND {
		return "", err
	}
	issued := now
	if prev != nil {
		// Rebuild with the earlier letter's date: if nothing else differs,
		// the hash matches and the donor is not written to twice.
		old, err := domain.DecodeSnapshot([]byte(prev.Snapshot))
		if err != nil {
			return "", err
		}
		if t, err := time.ParseInLocation(time.DateOnly, old.IssuedOn, r.Builder.Location); err == nil {
			issued = t
		}
	}
	snap, err := r.Builder.Build(ctx, sc, d, issued)
	if err != nil {
		return "", err
	}
	enc, err := snap.Encode()
	if err != nil {
		return "", err
	}
	hash := domain.ContentHash(enc)
	corrected := ""
	if prev != nil {
		if prev.ContentHash == hash {
			return SkipUnchanged, nil
		}
		corrected = time.Unix(prev.SentAt, 0).In(r.Builder.Location).Format("2 January 2006")
		if snap, err = r.Builder.Build(ctx, sc, d, now); err != nil {
			return "", err
		}
		if enc, err = snap.Encode(); err != nil {
			return "", err
		}
		hash = domain.ContentHash(enc)
	}
	st := &domain.Statement{RunID: run.ID, DonorID: d.ID, Period: run.Period, Snapshot: string(enc), ContentHash: hash, CreatedAt: now.Unix()}
	if err := r.Store.InsertStatement(ctx, st); err != nil {
		return "", err
	}
	var pdf bytes.Buffer
	if err := r.Renderer.Render(&pdf, snap, hash); err != nil {
		return "", fmt.Errorf("render: %w", err)
	}
	if r.Metrics != nil {
		r.Metrics.StatementsRendered.Inc()
	}
	if r.PDFDir != "" {
		if err := writeFile(filepath.Join(r.PDFDir, strings.ReplaceAll(run.Period, "/", "-"), d.ID+".pdf"), pdf.Bytes()); err != nil {
			return "", err
		}
	}
	if dry {
		return "rendered", nil
	}
	return r.send(ctx, st, snap, d, pdf.Bytes(), corrected)
}

func (r *Runner) send(ctx context.Context, st *domain.Statement, snap *domain.Snapshot, d *domain.Donor, pdf []byte, corrected string) (string, error) {
	now := r.Clock.Now()
	dl := &domain.Delivery{StatementID: st.ID, Attempt: 1, Status: domain.DeliveryQueued,
		MessageID: fmt.Sprintf("%s.%d@%s", st.ID, 1, r.mailHost()), CreatedAt: now.Unix(), UpdatedAt: now.Unix()}
	if err := r.Store.InsertDelivery(ctx, dl); err != nil {
		return "", err
	}
	msg, err := r.message(snap, d, dl.MessageID, pdf, corrected, now)
	if err != nil {
		return "", err
	}
	sendErr := r.Mailer.Send(ctx, msg)
	dl.UpdatedAt = r.Clock.Now().Unix()
	switch {
	case sendErr == nil:
		dl.Status = domain.DeliverySent
	case mail.IsPermanent(sendErr):
		dl.Status, dl.Detail = domain.DeliveryPermFailed, sendErr.Error()
	default:
		dl.Status, dl.Detail = domain.DeliveryTempFailed, sendErr.Error()
	}
	if err := r.Store.UpdateDelivery(context.WithoutCancel(ctx), dl); err != nil {
		return "", errors.Join(sendErr, err)
	}
	if r.Metrics != nil {
		if sendErr == nil {
			r.Metrics.StatementsSent.Inc()
		} else {
			r.Metrics.StatementsFailed.Inc()
		}
	}
	if sendErr != nil {
		return dl.Status, fmt.Errorf("send statement %s: %w", st.ID, sendErr)
	}
	return dl.Status, nil
}

// message builds the email of a statement.
func (r *Runner) message(snap *domain.Snapshot, d *domain.Donor, messageID string, pdf []byte, corrected string, now time.Time) (*mail.Message, error) {
	var nets []string
	for _, t := range snap.Totals {
		nets = append(nets, money.New(t.Net, t.Currency).String())
	}
	data := wording.EmailData{
		LetterData: wording.LetterData{
			Donor: wording.NameParts{Name: d.Name, FirstName: wording.FirstName(d.Name)}, Org: snap.Org,
			Period: snap.Period, PeriodLabel: snap.PeriodLabel, NetText: strings.Join(nets, " and "),
			GiftCount: len(snap.Gifts), Impact: snap.Impact,
		},
		Corrected: corrected != "", CorrectedFrom: corrected,
	}
	headers := map[string]string{}
	if r.Links != nil {
		data.UnsubscribeURL = r.BaseURL + "/unsubscribe/" + r.Links.Token("unsubscribe", d.ID)
		headers["List-Unsubscribe"] = "<" + data.UnsubscribeURL + ">"
		headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
	}
	e, err := r.Templates.Email(data)
	if err != nil {
		return nil, err
	}
	slug := strings.ReplaceAll(snap.Period, "/", "-")
	return &mail.Message{
		From: r.Sender.From, FromName: r.Sender.FromName, ReplyTo: r.Sender.ReplyTo,
		To: d.Email, ToName: d.Name, Subject: e.Subject, Text: e.Text, HTML: e.HTML,
		Attachments: []mail.Attachment{{Name: "impact-statement-" + slug + ".pdf", ContentType: "application/pdf", Data: pdf}},
		MessageID:   messageID, Headers: headers, Date: now,
	}, nil
}

func (r *Runner) mailHost() string {
	if u, err := url.Parse(r.BaseURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "impactd.invalid"
}

func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write pdf: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write pdf: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write pdf: %w", err)
	}
	return nil
}
