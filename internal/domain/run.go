package domain

// Run is one attempt to produce and send the statements of a period.
type Run struct {
	ID       string `db:"id" json:"id"`
	Period   string `db:"period" json:"period"`
	Trigger  string `db:"triggered_by" json:"triggered_by"` // "schedule", "cli", "console", "demo"
	Reason   string `db:"reason" json:"reason"`
	Status   string `db:"status" json:"status"` // RunRunning, RunSucceeded, RunFailed
	DryRun   int    `db:"dry_run" json:"dry_run"`
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
	Force int `db:"forced" json:"force"`
	// Actor is who started the run: "schedule", or a staff member or token name.
	Actor string `db:"actor" json:"actor"`
	// TickAt is the schedule tick (unix seconds) that created the run; 0 otherwise.
	TickAt int64 `db:"tick_at" json:"tick_at,omitempty"`
	// Interrupted counts sends cut off by a crash between handing the message
	// to the relay and recording the outcome; each was sent again with the
	// same Message-ID, so these are the only possible duplicates.
	Interrupted int `db:"interrupted" json:"interrupted"`
	Retrying    int `db:"retrying" json:"retrying"`
	// Flags counts letters that went out but deserve a look, by reason
	// (no_postal_address, mixed_currencies), as a JSON object.
	Flags       string `db:"flags" json:"flags"`
	SummarySent int    `db:"summary_sent" json:"-"`
}

// Run scopes.
const (
	RunScopePeriod    = "period"
	RunScopeFailed    = "failed"
	RunScopeUnsent    = "unsent"
	RunScopeDonor     = "donor"
	RunScopeStatement = "statement"
)

// Run states.
const (
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
)

// Statement is one donor's letter for one period: the frozen snapshot, its
// content hash, and the run that produced it. The PDF is re-rendered from the
// snapshot whenever it is needed.
type Statement struct {
	ID          string `db:"id" json:"id"`
	RunID       string `db:"run_id" json:"run_id"`
	DonorID     string `db:"donor_id" json:"donor_id"`
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
