package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"

	"impactd/internal/textclean"
)

// cleanTextMigration (00011) cleans, once, the text stored before ingest
// cleaned it where it enters: names, postal addresses and designations go
// through internal/textclean as a new event's would, so that a control
// character a SQLite database kept from an old event never reaches a letter.
// Email addresses are left alone: they are keys, and a cleaned one could
// collide with another.
func cleanTextMigration(dialect string) *goose.Migration {
	bind := sqlx.QUESTION
	if dialect == Postgres {
		bind = sqlx.DOLLAR
	}
	address := func(s string) string {
		var lines []string
		for _, l := range strings.Split(s, "\n") {
			if l = textclean.Line(l, textclean.AddressLineMax); l != "" {
				lines = append(lines, l)
			}
		}
		return strings.Join(lines, "\n")
	}
	name := func(s string) string { return textclean.Line(s, textclean.NameMax) }
	designation := func(s string) string { return textclean.Line(s, textclean.DesignationMax) }
	type column struct {
		table, key, col string
		clean           func(string) string
	}
	columns := []column{
		{"donors", "id", "name", name}, {"donors", "id", "address", address},
		{"donations", "id", "designation", designation},
		{"payment_hints", "payment_intent_id", "name", name}, {"payment_hints", "payment_intent_id", "address", address},
		{"payment_hints", "payment_intent_id", "designation", designation},
	}
	up := func(ctx context.Context, tx *sql.Tx) error {
		for _, c := range columns {
			rows, err := tx.QueryContext(ctx, `SELECT `+c.key+`, `+c.col+` FROM `+c.table+` WHERE `+c.col+` <> ''`)
			if err != nil {
				return fmt.Errorf("clean %s.%s: %w", c.table, c.col, err)
			}
			changed := map[string]string{}
			for rows.Next() {
				var key, val string
				if err := rows.Scan(&key, &val); err != nil {
					rows.Close()
					return fmt.Errorf("clean %s.%s: %w", c.table, c.col, err)
				}
				if v := c.clean(val); v != val {
					changed[key] = v
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("clean %s.%s: %w", c.table, c.col, err)
			}
			update := sqlx.Rebind(bind, `UPDATE `+c.table+` SET `+c.col+` = ? WHERE `+c.key+` = ?`)
			for key, v := range changed {
				if _, err := tx.ExecContext(ctx, update, v, key); err != nil {
					return fmt.Errorf("clean %s.%s: %w", c.table, c.col, err)
				}
			}
		}
		return nil
	}
	return goose.NewGoMigration(11, &goose.GoFunc{RunTx: up}, &goose.GoFunc{}) // down: nothing to undo
}
