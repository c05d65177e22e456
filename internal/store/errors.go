package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// IsTransient reports whether a database error is one that waiting cures:
// the server restarting or unreachable, a connection reset or terminated,
// an administrator's shutdown (57P01, 57P03), a serialization failure or
// deadlock (40001, 40P01) on PostgreSQL; SQLite busy or locked beyond
// busy_timeout (another process holds the write lock). Workers and the
// commands that wait for a run back off and try again on such errors
// instead of giving up; any other error is a real failure.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code[:min(2, len(pg.Code))] {
		case "08", // connection exception
			"53", // insufficient resources (too many connections, out of memory)
			"57": // operator intervention: admin/crash shutdown, cannot connect now
			return pg.Code != "57014" // query_canceled is ours, not the server's
		case "40": // transaction rollback: serialization failure, deadlock
			return true
		}
		return false
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		switch lite.Code() & 0xff { // the primary code of an extended one
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
		return false
	}
	var connect *pgconn.ConnectError
	var netErr net.Error
	var opErr *net.OpError
	return errors.As(err, &connect) || errors.As(err, &netErr) || errors.As(err, &opErr) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, pgconn.ErrConnClosed) ||
		pgconn.SafeToRetry(err) || pgconn.Timeout(err)
}
