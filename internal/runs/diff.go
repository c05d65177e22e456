package runs

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"impactd/internal/domain"
)

// Diff lists what differs between two snapshots, one "path: old → new" line
// per changed value, in path order; the issue date, which every correction
// changes, is left out. It is what staff read to see why a corrected letter
// went out.
func Diff(before, after *domain.Snapshot) string {
	if before == nil || after == nil {
		return ""
	}
	a, b := flatten(before), flatten(after)
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var lines []string
	for k := range keys {
		if k == "issued_on" || a[k] == b[k] {
			continue
		}
		lines = append(lines, fmt.Sprintf("%s: %s → %s", k, orNone(a[k]), orNone(b[k])))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// flatten turns a snapshot into path → JSON value, e.g. "totals[0].net" → "5750".
func flatten(s *domain.Snapshot) map[string]string {
	out := map[string]string{}
	b, err := json.Marshal(s)
	if err != nil {
		return out
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return out
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(p, e)
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		default:
			enc, _ := json.Marshal(x)
			out[path] = string(enc)
		}
	}
	walk("", v)
	return out
}
