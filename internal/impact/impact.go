// Package impact reads, validates and stores the organisation's impact
// updates: the figures each letter sets beside a donor's gifts.
package impact

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"impactd/internal/domain"
	"impactd/internal/period"
	"impactd/internal/store"
)

// MaxNarrative bounds the narrative: a letter has room for a paragraph, not an essay.
const MaxNarrative = 1200

// ParseYAML reads one impact update and validates it.
func ParseYAML(r io.Reader) (*domain.ImpactUpdate, error) {
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read impact update: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var u domain.ImpactUpdate
	if err := dec.Decode(&u); err != nil {
		return nil, domain.Errorf(domain.EINVALID, "impact update YAML: %v", err)
	}
	if err := Validate(&u); err != nil {
		return nil, err
	}
	return &u, nil
}

// Validate checks an update before it is stored.
func Validate(u *domain.ImpactUpdate) error {
	var errs []string
	p, err := period.Parse(u.Period)
	if err != nil {
		errs = append(errs, err.Error())
	} else {
		u.Period = p.String()
	}
	u.Title, u.Narrative, u.Source = strings.TrimSpace(u.Title), strings.TrimSpace(u.Narrative), strings.TrimSpace(u.Source)
	u.CorrectionReason = strings.TrimSpace(u.CorrectionReason)
	if u.Title == "" {
		errs = append(errs, "title is required")
	}
	if u.Source == "" {
		errs = append(errs, "source is required: every figure must be traceable")
	}
	if len(u.Narrative) > MaxNarrative {
		errs = append(errs, fmt.Sprintf("narrative is %d characters; at most %d", len(u.Narrative), MaxNarrative))
	}
	if _, err := time.Parse(time.DateOnly, u.AsOf); err != nil {
		errs = append(errs, fmt.Sprintf("as_of %q: want a date YYYY-MM-DD", u.AsOf))
	}
	if len(u.Metrics) == 0 {
		errs = append(errs, "at least one metric is required")
	}
	seen := map[string]bool{}
	for i, m := range u.Metrics {
		switch {
		case m.Key == "" || strings.ContainsAny(m.Key, " \t\n"):
			errs = append(errs, fmt.Sprintf("metric %d: key must be one word", i+1))
		case seen[m.Key]:
			errs = append(errs, fmt.Sprintf("metric %q appears twice", m.Key))
		}
		seen[m.Key] = true
		if strings.TrimSpace(m.Label) == "" {
			errs = append(errs, fmt.Sprintf("metric %q: label is required", m.Key))
		}
		if m.Period == nil && m.Cumulative == nil {
			errs = append(errs, fmt.Sprintf("metric %q: give a period or a cumulative value", m.Key))
		}
		if (m.Period != nil && *m.Period < 0) || (m.Cumulative != nil && *m.Cumulative < 0) {
			errs = append(errs, fmt.Sprintf("metric %q: values cannot be negative", m.Key))
		}
	}
	if len(errs) > 0 {
		return domain.Errorf(domain.EINVALID, "impact update: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Import stores the update as a new draft version, unless the latest version
// for its period already says exactly the same, in which case that version is
// returned and created is false. Importing the same file twice is therefore
// safe. Once a version is published, a changed update is a correction and
// must carry a CorrectionReason (the store refuses it otherwise).
func Import(ctx context.Context, s *store.Store, u *domain.ImpactUpdate, now time.Time) (stored *domain.ImpactUpdate, created bool, err error) {
	if err := Validate(u); err != nil {
		return nil, false, err
	}
	err = s.InTx(ctx, func(tx *store.Tx) error {
		latest, err := tx.LatestImpactUpdate(ctx, u.Period, u.Programme)
		if err == nil && sameContent(latest, u) {
			stored = latest
			return nil
		}
		if err != nil && domain.ErrorCode(err) != domain.ENOTFOUND {
			return err
		}
		u.CreatedAt = now.Unix()
		if err := tx.CreateImpactUpdate(ctx, u); err != nil {
			return err
		}
		stored, created = u, true
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("import impact update: %w", err)
	}
	return stored, created, nil
}

// Publish makes a draft the update donors see. approvedBy names who approved it.
func Publish(ctx context.Context, s *store.Store, id, approvedBy string, now time.Time) error {
	// The store names the operation in its own errors; its domain errors
	// (not found, already published, no approver) say enough on their own.
	return s.PublishImpactUpdate(ctx, id, approvedBy, now.Unix())
}

// ExportYAML writes an update as YAML that ImportYAML reads back, headed by
// a comment saying which stored version it is.
func ExportYAML(w io.Writer, u *domain.ImpactUpdate) error {
	fmt.Fprintf(w, "# impact update %s: %s version %d, %s", u.ID, u.Period, u.Version, u.Status)
	if u.ApprovedBy != "" {
		fmt.Fprintf(w, ", approved by %s", oneLine(u.ApprovedBy))
	}
	if u.Supersedes != "" {
		fmt.Fprintf(w, ", corrects %s", u.Supersedes)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "# To correct a published update, change the figures, set correction_reason and import the file.")
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(u); err != nil {
		return fmt.Errorf("export impact update: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("export impact update: %w", err)
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func sameContent(a, b *domain.ImpactUpdate) bool {
	return a.Title == b.Title && a.Programme == b.Programme && a.Narrative == b.Narrative && a.Source == b.Source && a.AsOf == b.AsOf &&
		a.DemoData == b.DemoData && reflect.DeepEqual(normMetrics(a.Metrics), normMetrics(b.Metrics))
}

func normMetrics(ms []domain.Metric) []domain.Metric {
	if len(ms) == 0 {
		return nil
	}
	return ms
}
