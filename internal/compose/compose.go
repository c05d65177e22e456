// Package compose writes the emails impactd sends: a supporter's statement
// email (subject and bodies from the templates through internal/wording,
// the PDF attached, the unsubscribe and statement links from
// internal/links) and the summary of a run for the staff. It sends nothing
// and stores nothing: the worker hands what it composes to internal/mail.
package compose

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"impactd/internal/domain"
	"impactd/internal/links"
	"impactd/internal/mail"
	"impactd/internal/money"
	"impactd/internal/wording"
)

// Sender is who the letters come from.
type Sender struct{ From, FromName, ReplyTo string }

// Composer composes emails with one configuration.
type Composer struct {
	Templates *wording.Templates
	Sender    Sender
	BaseURL   string
	Links     *links.Signer // nil: no supporter links (unsubscribe, statement page)
	// StatementLinkTTL is how long the statement link in an email works; 0 is 90 days.
	StatementLinkTTL time.Duration
	Location         *time.Location // dates in the staff summary; nil is UTC
}

// Statement builds the email of a statement: snap is its snapshot, pdf the
// rendered letter, corrected the date ("2 January 2006") the statement it
// corrects was sent, or "". The caller sets MessageID and Date when it
// records the send attempt.
func (c *Composer) Statement(snap *domain.Snapshot, d *domain.Donor, statementID string, pdf []byte, corrected string, now time.Time) (*mail.Message, error) {
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
	annual := snap.Series.OrDefault() == domain.SeriesAnnual
	if annual {
		annualData(&data.LetterData, snap)
	}
	headers := map[string]string{}
	if c.Links != nil {
		data.UnsubscribeURL = links.SeriesUnsubscribeURL(c.BaseURL, c.Links, d.ID, snap.Series)
		headers["List-Unsubscribe"] = "<" + data.UnsubscribeURL + ">"
		headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
		ttl := c.StatementLinkTTL
		if ttl <= 0 {
			ttl = 90 * 24 * time.Hour
		}
		data.StatementURL = links.StatementURL(c.BaseURL, c.Links, statementID, now.Add(ttl))
	}
	e, err := c.Templates.For(snap.Series).Email(data)
	if err != nil {
		return nil, fmt.Errorf("compose statement email: %w", err)
	}
	name := snap.FileName()
	return &mail.Message{
		From: c.Sender.From, FromName: c.Sender.FromName, ReplyTo: c.Sender.ReplyTo,
		To: d.Email, ToName: d.Name, Subject: e.Subject, Text: e.Text, HTML: e.HTML,
		Attachments: []mail.Attachment{{Name: name, ContentType: "application/pdf", Data: pdf}},
		Headers:     headers, Date: now,
	}, nil
}

// annualData adds what the annual statement's email copy may use, from its
// snapshot: whether the year is a UK tax year and the Gift Aid reclaimed.
// It has no impact figures: the annual statement is a service message.
func annualData(d *wording.LetterData, snap *domain.Snapshot) {
	d.Impact = nil
	d.TaxYear = strings.Contains(snap.Period, "/")
	if g := snap.GiftAid; g != nil && g.Uplift.Amount > 0 {
		d.GiftAidEligibleText, d.GiftAidUpliftText = g.Eligible.String(), g.Uplift.String()
	}
}

// MessageID is the Message-ID of a statement's send attempt: stable per
// statement and attempt, so that a send cut off by a crash goes out again
// under the same one.
func (c *Composer) MessageID(statementID string, attempt int) string {
	return fmt.Sprintf("%s.%d@%s", statementID, attempt, c.mailHost())
}

// Summary is the staff email of a finished run. renderFailures are the
// run's letters that could not be made (at most a few, with their error).
func (c *Composer) Summary(run *domain.Run, renderFailures []domain.Job, to string, now time.Time) *mail.Message {
	var b strings.Builder
	dry := ""
	if run.DryRun {
		dry = " (dry run: nothing was sent)"
	}
	fmt.Fprintf(&b, "Statement run %s (%ss) for %s: %s%s.\n\n", run.ID, run.Series.Label(), run.Period, run.Status, dry)
	fmt.Fprintf(&b, "Started by %s (%s): %s\n", firstNonEmpty(run.Actor, run.Trigger), run.Trigger, run.Reason)
	fmt.Fprintf(&b, "Duration: %s\n\n", time.Duration(run.FinishedAt-run.StartedAt)*time.Second)
	fmt.Fprintf(&b, "Eligible:  %d\nRendered:  %d\nSent:      %d\nFailed:    %d\nSkipped:   %d\n", run.Eligible, run.Rendered, run.Sent, run.Failed, run.Skipped)
	if run.Interrupted > 0 {
		fmt.Fprintf(&b, "Interrupted sends (possible duplicates): %d\n", run.Interrupted)
	}
	if run.Pauses > 0 {
		fmt.Fprintf(&b, "Paused %d time(s) for the mail relay (nobody was marked bounced, failed or charged a send attempt for it), the last time because: %s\n",
			run.Pauses, run.PauseReason)
	}
	worth := "Sent, but worth a look"
	if run.DryRun {
		worth = "Rendered, worth a look"
	}
	fmt.Fprintf(&b, "\nLeft out, by reason: %s\n%s: %s\n", run.Exceptions, worth, run.Flags)
	if len(renderFailures) > 0 {
		fmt.Fprintf(&b, "\nLetters that could not be made (fix the template, then rerun the failed):\n")
		for _, j := range renderFailures {
			fmt.Fprintf(&b, "  %s: %s\n", j.DonorID, j.LastError)
		}
	}
	fmt.Fprintf(&b, "\nDetails: %s/api/v1/runs/%s\n", c.BaseURL, run.ID)
	return &mail.Message{From: c.Sender.From, FromName: c.Sender.FromName, To: to,
		Subject: fmt.Sprintf("impactd run %s%s %s: %d sent, %d failed", run.Period, seriesWords(run), run.Status, run.Sent, run.Failed),
		Text:    b.String(), MessageID: fmt.Sprintf("%s.summary@%s", run.ID, c.mailHost()), Date: now}
}

// Paused is the staff email of a run that paused: why, and how to resume.
func (c *Composer) Paused(run *domain.Run, counts domain.RunCounts, to string, now time.Time) *mail.Message {
	var b strings.Builder
	fmt.Fprintf(&b, "Statement run %s (%ss) for %s is paused: %s\n\n", run.ID, run.Series.Label(), run.Period, run.PauseReason)
	fmt.Fprintf(&b, "Nobody was marked bounced for it, and no letter failed or used a send attempt for it. %d of %d letters are sent; the rest wait.\n",
		counts.Sent, counts.Eligible)
	fmt.Fprintf(&b, "Once the mail relay is fixed, resume the run:\n\n  impactd run --resume %s\n\nor press Resume on %s/console/runs/%s\n", run.ID, c.BaseURL, run.ID)
	return &mail.Message{From: c.Sender.From, FromName: c.Sender.FromName, To: to,
		Subject: fmt.Sprintf("impactd run %s%s paused: %d of %d sent", run.Period, seriesWords(run), counts.Sent, counts.Eligible),
		Text:    b.String(), MessageID: fmt.Sprintf("%s.paused.%d@%s", run.ID, run.Pauses, c.mailHost()), Date: now}
}

// seriesWords names an annual run in a subject (" annual statements"); the
// impact letter's subjects read as they did before there were series.
func seriesWords(run *domain.Run) string {
	if run.Series.OrDefault() == domain.SeriesAnnual {
		return " annual statements"
	}
	return ""
}

func (c *Composer) mailHost() string {
	if u, err := url.Parse(c.BaseURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "impactd.invalid"
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
