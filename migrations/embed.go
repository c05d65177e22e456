// Package migrations holds the SQL schema, embedded so that the binary
// migrates its database without any file beside it.
package migrations

import "embed"

// FS holds the goose migrations; the same files run on SQLite and PostgreSQL.
//
//go:embed *.sql
var FS embed.FS
