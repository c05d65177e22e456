package domain

// ImpactUpdate is the organisation's figures for a period, with a short,
// aggregate narrative. Only published updates reach donors.
type ImpactUpdate struct {
	ID          string   `db:"id" json:"id" yaml:"-"`
	Period      string   `db:"period" json:"period" yaml:"period"`
	Programme   string   `db:"programme" json:"programme,omitempty" yaml:"programme,omitempty"`
	Version     int      `db:"version" json:"version" yaml:"version,omitempty"`
	Status      string   `db:"status" json:"status" yaml:"-"` // UpdateDraft, UpdatePublished
	Title       string   `db:"title" json:"title" yaml:"title"`
	Narrative   string   `db:"narrative" json:"narrative" yaml:"narrative"`
	Source      string   `db:"source" json:"source" yaml:"source"`
	AsOf        string   `db:"as_of" json:"as_of" yaml:"as_of"` // YYYY-MM-DD
	DemoData    int      `db:"demo_data" json:"demo_data" yaml:"demo_data,omitempty"`
	ApprovedBy  string   `db:"approved_by" json:"approved_by,omitempty" yaml:"approved_by,omitempty"`
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
}
