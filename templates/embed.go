// Package templates holds the default copy of letters and emails, embedded so
// the binary needs no files beside it. IMPACTD_TEMPLATES_DIR overrides any of
// them file by file.
package templates

import "embed"

// FS holds the default templates.
//
//go:embed *.tmpl
var FS embed.FS
