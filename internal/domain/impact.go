package domain

// ImpactUpdate is the organisation's figures for a period, with a short,
// aggregate narrative. Only published updates reach donors.
type ImpactUpdate struct {
	ID         string `db:"id" json:"id" yaml:"-"`
	Period     string `db:"period" json:"period" yaml:"period"`
	Programme  string `db:"programme" json:"programme,omitempty" yaml:"programme,omitempty"`
	Version    int    `db:"version" json:"version" yaml:"version,omitempty"`
	Status     string `db:"status" json:"status" yaml:"-"` // UpdateDraft, UpdatePublished
	Title      string `db:"title" json:"title" yaml:"title"`
	Narrative  string `db:"narrative" json:"narrative" yaml:"narrative"`
	Source     string `db:"source" json:"source" yaml:"source"`
	AsOf       string `db:"as_of" json:"as_of" yaml:"as_of"`                       // YYYY-MM-DD
	DemoData   bool   `db:"demo_data" json:"demo_data" yaml:"demo_data,omitempty"` // stored as 0/1
	ApprovedBy string `db:"approved_by" json:"approved_by,omitempty" yaml:"approved_by,omitempty"`
	// CorrectionReason says why this version replaces a published one; it is
	// required for every version after a publication.
	CorrectionReason string `db:"correction_reason" json:"correction_reason,omitempty" yaml:"correction_reason,omitempty"`
	// Supersedes is the id of the published version this one corrects.
	Supersedes string `db:"supersedes" json:"supersedes,omitempty" yaml:"-"`
	// CreatedBy names who drafted this version (an API token's name or the CLI).
	CreatedBy   string   `db:"created_by" json:"created_by,omitempty" yaml:"-"`
	CreatedAt   int64    `db:"created_at" json:"created_at" yaml:"-"`
	PublishedAt int64    `db:"published_at" json:"published_at,omitempty" yaml:"-"`
	Metrics     []Metric `db:"-" json:"metrics" yaml:"metrics"`
}

// Impact update states.
const (
	UpdateDraft     = "draft"
	UpdatePublished = "published"
)

// Metric is one figure of an impact update. Either value may be absent (-1 in
// storage, nil here) when the organisation does not publish it.
type Metric struct {
	Key        string `db:"key" json:"key" yaml:"key"`
	Label      string `db:"label" json:"label" yaml:"label"`
	Period     *int64 `db:"period_value" json:"period_value,omitempty" yaml:"period,omitempty"`
	Cumulative *int64 `db:"cumulative_value" json:"cumulative_value,omitempty" yaml:"cumulative,omitempty"`
	// CumulativeSince names where the cumulative figure starts, e.g. "2011".
	CumulativeSince string `db:"cumulative_since" json:"cumulative_since,omitempty" yaml:"cumulative_since,omitempty"`
	Unit            string `db:"unit" json:"unit,omitempty" yaml:"unit,omitempty"`
	// PeriodDemo and CumulativeDemo mark a value as demonstration data,
	// invented for a demo; the letter labels exactly those values. An update
	// with DemoData set and neither flag on any metric is demonstration data
	// throughout (how version 1 snapshots read).
	PeriodDemo     bool `db:"period_demo" json:"period_demo,omitempty" yaml:"period_demo,omitempty"`
	CumulativeDemo bool `db:"cumulative_demo" json:"cumulative_demo,omitempty" yaml:"cumulative_demo,omitempty"`
}
