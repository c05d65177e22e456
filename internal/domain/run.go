package domain

// Run is one attempt to produce and send the statements of a period.
type Run struct {
	ID string `db:"id" json:"id"`
	// Series is the kind of letter the run makes (SeriesImpact, SeriesAnnual).
	Series   Series `db:"series" json:"series"`
	Period   string `db:"period" json:"period"`
	Trigger  string `db:"triggered_by" json:"triggered_by"` // "schedule", "cli", "console", "api", "demo"
	Reason   string `db:"reason" json:"reason"`
	Status   string `db:"status" json:"status"` // RunRunning, RunPaused, RunSucceeded, RunFailed
	DryRun   bool   `db:"dry_run" json:"dry_run"`
	Eligible int    `db:"eligible" json:"eligible"`
	Rendered int    `db:"rendered" json:"rendered"`
	Sent     int    `db:"sent" json:"sent"`
	Failed   int    `db:"failed" json:"failed"`
	Skipped  int    `db:"skipped" json:"skipped"`
	Error    string `db:"error" json:"error,omitempty"`
	// Exceptions counts the donors left out, by reason, as a JSON object.
	Exceptions string `db:"exceptions" json:"exceptions"`
	StartedAt  int64  `db:"started_at" json:"started_at"`
	FinishedAt int64  `db:"finished_at" json:"finished_at,omitempty"`

	// Scope says which donors the run considers: RunScopePeriod (everyone
	// eligible), RunScopeFailed, RunScopeUnsent, RunScopeDonor (DonorID) or
	// RunScopeStatement (resend StatementID as it is).
	Scope       string `db:"scope" json:"scope"`
	DonorID     string `db:"donor_id" json:"donor_id,omitempty"`
	StatementID string `db:"statement_id" json:"statement_id,omitempty"`
	// Force sends a statement even when an identical one was delivered.
	Force bool `db:"forced" json:"force"`
	// Actor is who started the run: "schedule", or a staff member or token name.
	Actor string `db:"actor" json:"actor"`
	// TickAt is the schedule tick (unix seconds) that created the run; 0 otherwise.
	TickAt int64 `db:"tick_at" json:"tick_at,omitempty"`
	// Interrupted counts sends cut off by a crash between handing the message
	// to the relay and recording the outcome; each was sent again with the
	// same Message-ID, so these are the only possible duplicates.
	Interrupted int `db:"interrupted" json:"interrupted"`
	Retrying    int `db:"retrying" json:"retrying"`
	// Flags counts letters that went out (or, in a dry run, were rendered)
	// but deserve a look, by reason (no_postal_address, mixed_currencies),
	// as a JSON object.
	Flags       string `db:"flags" json:"flags"`
	SummarySent bool   `db:"summary_sent" json:"-"`
	// PauseReason is why the run was last paused (the relay refused us, or
	// too many sends failed in a row); it stays after a resume, for the
	// report. PausedAt is when, Pauses how many times.
	PauseReason string `db:"pause_reason" json:"pause_reason,omitempty"`
	PausedAt    int64  `db:"paused_at" json:"paused_at,omitempty"`
	Pauses      int    `db:"pauses" json:"pauses,omitempty"`
}

// Unfinished reports whether the run still has work to do: it is running,
// or paused until someone resumes it.
func (r *Run) Unfinished() bool { return r.Status == RunRunning || r.Status == RunPaused }

// Run scopes.
const (
	RunScopePeriod    = "period"
	RunScopeFailed    = "failed"
	RunScopeUnsent    = "unsent"
	RunScopeDonor     = "donor"
	RunScopeStatement = "statement"
)

// Run states. A paused run keeps its jobs but none is worked until it is
// resumed; running and paused runs are unfinished.
const (
	RunRunning   = "running"
	RunPaused    = "paused"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
)

// Job is one donor's share of a run: build the snapshot, render, send,
// record. Each step is committed, so any process can take it over.
type Job struct {
	ID         string `db:"id" json:"id"`
	RunID      string `db:"run_id" json:"run_id"`
	DonorID    string `db:"donor_id" json:"donor_id"`
	Status     string `db:"status" json:"status"` // Job*
	SkipReason string `db:"skip_reason" json:"skip_reason,omitempty"`
	// Failure says why a failed job failed (Fail*).
	Failure       string `db:"failure" json:"failure,omitempty"`
	Attempts      int    `db:"attempts" json:"attempts"`
	RunAfterMS    int64  `db:"run_after_ms" json:"run_after_ms,omitempty"`
	LockedBy      string `db:"locked_by" json:"-"`
	LockedUntilMS int64  `db:"locked_until_ms" json:"-"`
	StatementID   string `db:"statement_id" json:"statement_id,omitempty"`
	Rendered      bool   `db:"rendered" json:"rendered"`
	// Interrupted counts this job's sends cut off by a crash.
	Interrupted   int    `db:"interrupted" json:"interrupted"`
	NoAddress     bool   `db:"no_address" json:"no_address"`
	MixedCurrency bool   `db:"mixed_currency" json:"mixed_currency"`
	LastError     string `db:"last_error" json:"last_error,omitempty"`
	CreatedAt     int64  `db:"created_at" json:"created_at"`
	UpdatedAt     int64  `db:"updated_at" json:"updated_at"`
}

// JobView is a job as the API lists it: with its statement's hash and what
// it corrects, and the status of its newest delivery.
type JobView struct {
	Job
	ContentHash    string `db:"content_hash" json:"content_hash,omitempty"`
	Replaces       string `db:"replaces" json:"replaces,omitempty"`
	Diff           string `db:"diff" json:"diff,omitempty"`
	DeliveryStatus string `db:"delivery_status" json:"delivery_status,omitempty"`
	DeliveryDetail string `db:"delivery_detail" json:"delivery_detail,omitempty"`
}

// Job states. A pending job with attempts > 0 is waiting to retry a send.
const (
	JobPending  = "pending"
	JobRunning  = "running"
	JobSent     = "sent"
	JobRendered = "rendered" // dry run: rendered, not sent
	JobSkipped  = "skipped"
	JobFailed   = "failed"
)

// Reasons a donor gets no letter, the keys of a run's exceptions report.
const (
	SkipErased       = "erased"
	SkipMerged       = "merged"
	SkipUnsubscribed = "unsubscribed"
	SkipNoEmail      = "no_email"
	SkipBounced      = "bounced"
	// SkipNetNotPositive: the donor's net giving in the period is zero or
	// less in every currency (gifts refunded in full, or only refunds of
	// earlier gifts): a letter would thank them for nothing, or for a
	// negative amount. Forcing does not change it.
	SkipNetNotPositive = "net_not_positive"
	SkipUnchanged      = "already_sent_unchanged"
	SkipAlreadySent    = "already_sent"
	// SkipSentByOtherRun: another run holds the same letter's send attempt,
	// open or delivered (the database refused a second one).
	SkipSentByOtherRun = "sent_by_another_run"
	// SkipNoConsent: an impact letter (direct marketing) for a donor
	// without marketing consent, when IMPACTD_MARKETING_CONSENT_METADATA
	// says where consent is recorded.
	SkipNoConsent = "no_marketing_consent"
)

// Reasons a job failed.
const (
	// FailRender: the letter or its email could not be made from this
	// donor's data (a template error); retrying would fail the same way.
	FailRender = "render"
	// FailBounced: the recipient's mail server refused the address for good.
	FailBounced = "bounced"
	// FailRefused: the message was refused for good, not the address.
	FailRefused = "refused"
	// FailGaveUp: temporary failures used up the send attempts.
	FailGaveUp = "gave_up"
)

// RunCounts are a run's live counts, from its jobs.
type RunCounts struct {
	Jobs        int            `json:"jobs"`
	Eligible    int            `json:"eligible"` // jobs not skipped at planning or since
	Queued      int            `json:"queued"`   // pending, never tried
	Running     int            `json:"running"`
	Retrying    int            `json:"retrying"` // pending after a temporary failure
	Rendered    int            `json:"rendered"`
	Sent        int            `json:"sent"`
	DryRendered int            `json:"dry_rendered"`
	Failed      int            `json:"failed"`
	Skipped     int            `json:"skipped"`
	Interrupted int            `json:"interrupted"`
	SkippedBy   map[string]int `json:"skipped_by"`
	FailedBy    map[string]int `json:"failed_by"`
	Flagged     map[string]int `json:"flagged"`
}

// Open is the number of jobs not yet in a terminal status.
func (c RunCounts) Open() int { return c.Queued + c.Running + c.Retrying }

// Done is the number of jobs in a terminal status.
func (c RunCounts) Done() int { return c.Jobs - c.Open() }

// Statement is one donor's letter for one period: the frozen snapshot, its
// content hash, and the run that produced it. The PDF is re-rendered from the
// snapshot whenever it is needed.
type Statement struct {
	ID          string `db:"id" json:"id"`
	RunID       string `db:"run_id" json:"run_id"`
	DonorID     string `db:"donor_id" json:"donor_id"`
	Series      Series `db:"series" json:"series"`
	Period      string `db:"period" json:"period"`
	Snapshot    string `db:"snapshot" json:"-"` // canonical JSON of Snapshot
	ContentHash string `db:"content_hash" json:"content_hash"`
	CreatedAt   int64  `db:"created_at" json:"created_at"`
	// Replaces is the delivered statement this one corrects; "" for a first letter.
	Replaces string `db:"replaces" json:"replaces,omitempty"`
	// Diff lists what changed from the replaced statement's snapshot, one
	// "path: old → new" per line.
	Diff string `db:"diff" json:"diff,omitempty"`
}

// Delivery is one email attempt for a statement.
type Delivery struct {
	ID          string `db:"id" json:"id"`
	StatementID string `db:"statement_id" json:"statement_id"`
	Attempt     int    `db:"attempt" json:"attempt"`
	Status      string `db:"status" json:"status"`
	MessageID   string `db:"message_id" json:"message_id"`
	Detail      string `db:"detail" json:"detail,omitempty"` // the mail server's answer, or why suppressed
	CreatedAt   int64  `db:"created_at" json:"created_at"`
	UpdatedAt   int64  `db:"updated_at" json:"updated_at"`

	// The letter this attempt delivers, copied from its statement so that
	// the database can refuse a second open or delivered attempt of the same
	// letter (see LetterKey): the donor, the period, the statement's
	// LetterKey and ForceKey.
	DonorID   string `db:"donor_id" json:"-"`
	Series    Series `db:"series" json:"-"`
	Period    string `db:"period" json:"-"`
	LetterKey string `db:"letter_key" json:"-"`
	// ForceKey is "" unless a person forced a resend: then it is the
	// forcing run's id, which lets that run deliver the letter once more.
	ForceKey string `db:"force_key" json:"-"`
}

// Delivery states.
const (
	DeliveryQueued     = "queued"
	DeliverySent       = "sent"
	DeliveryTempFailed = "failed_temporary"
	DeliveryPermFailed = "failed_permanent"
	DeliverySuppressed = "suppressed"
	// DeliverySending is an attempt handed to the relay whose outcome is not
	// yet recorded; one still in this state after a crash is interrupted.
	DeliverySending = DeliveryQueued
	// DeliveryInterrupted is an attempt cut off by a crash mid-send: the
	// relay may or may not have taken the message.
	DeliveryInterrupted = "interrupted"
)

// Bounce is an address a recipient's mail server refused for good: no
// letter goes to it until a person clears it.
type Bounce struct {
	Email     string `db:"email" json:"email"`
	Detail    string `db:"detail" json:"detail"` // the server's answer
	RunID     string `db:"run_id" json:"run_id,omitempty"`
	CreatedAt int64  `db:"created_at" json:"created_at"`
}

// LetterKey identifies what a letter says, whatever day it is dated: the
// content hash of its snapshot with the issue date left out. Two runs that
// build the same donor's letter on either side of midnight get the same
// key, so the database's one-letter rule (Delivery) holds across the date
// change; a correction, which changes an amount or says what it corrects,
// gets a new one.
func LetterKey(s *Snapshot) (string, error) {
	c := *s
	c.IssuedOn = ""
	enc, err := c.Encode()
	if err != nil {
		return "", err
	}
	return ContentHash(enc), nil
}

// NetPositive reports whether a snapshot thanks the donor for something:
// some currency's net total for the period is above zero, or the period
// shows no activity at all (a monthly supporter between gifts, whose letter
// names no amount).
func NetPositive(s *Snapshot) bool {
	if len(s.Totals) == 0 {
		return true
	}
	for _, t := range s.Totals {
		if t.Net > 0 {
			return true
		}
	}
	return false
}
