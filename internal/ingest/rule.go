package ingest

import (
	"fmt"
	"strings"
)

// Rule decides which charges are donations, for accounts that also sell
// merchandise or tickets. The zero Rule accepts every succeeded charge.
type Rule struct {
	metadata map[string]string // any key=value pair matching
	prices   map[string]bool   // any invoice line with one of these prices
}

// ParseRule reads IMPACTD_DONATION_RULE: "" or "all"; or clauses separated
// by ";", any of which may match: "metadata:KEY=VALUE[,KEY=VALUE]" and
// "price:PRICE_ID[,PRICE_ID]".
func ParseRule(s string) (Rule, error) {
	var r Rule
	s = strings.TrimSpace(s)
	if s == "" || s == "all" {
		return r, nil
	}
	for _, clause := range strings.Split(s, ";") {
		kind, list, ok := strings.Cut(strings.TrimSpace(clause), ":")
		if !ok || strings.TrimSpace(list) == "" {
			return Rule{}, fmt.Errorf("IMPACTD_DONATION_RULE %q: want all, metadata:KEY=VALUE or price:PRICE_ID", s)
		}
		for _, item := range strings.Split(list, ",") {
			item = strings.TrimSpace(item)
			switch kind {
			case "metadata":
				k, v, ok := strings.Cut(item, "=")
				if !ok || k == "" {
					return Rule{}, fmt.Errorf("IMPACTD_DONATION_RULE: metadata clause %q: want KEY=VALUE", item)
				}
				if r.metadata == nil {
					r.metadata = map[string]string{}
				}
				r.metadata[strings.TrimSpace(k)] = strings.TrimSpace(v)
			case "price":
				if r.prices == nil {
					r.prices = map[string]bool{}
				}
				r.prices[item] = true
			default:
				return Rule{}, fmt.Errorf("IMPACTD_DONATION_RULE: unknown clause %q: want metadata:KEY=VALUE or price:PRICE_ID", kind)
			}
		}
	}
	return r, nil
}

// Matches reports whether a charge with this metadata (and invoice line prices) is a gift.
func (r Rule) Matches(md map[string]string, prices []string) bool {
	if r.metadata == nil && r.prices == nil {
		return true
	}
	for k, v := range r.metadata {
		if md[k] == v {
			return true
		}
	}
	for _, p := range prices {
		if r.prices[p] {
			return true
		}
	}
	return false
}
