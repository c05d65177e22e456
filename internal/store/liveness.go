package store

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"path/filepath"
	"strings"
	"sync"
)

// A worker's liveness is something the operating system or the database
// releases the moment its process dies, so that others can take its jobs
// over in seconds instead of waiting out the lease:
//
//   - on PostgreSQL, a session advisory lock held on a connection of its
//     own for as long as the worker lives (its key derived from the worker
//     id); others look it up in pg_locks;
//   - on SQLite, an flock(2) on a file named for the worker in a folder
//     beside the database (DATABASE-workers/); others try to take it.
//
// The lease on each job stays as the fallback (a worker on a machine whose
// liveness cannot be checked is taken over when its lease expires).

// LivenessLock is this worker's liveness, held until Release.
type LivenessLock struct {
	s      *Store
	worker string
	mu     sync.Mutex
	conn   *sql.Conn // PostgreSQL: the session that holds the advisory lock; nil while lost
	file   fileLock  // SQLite
}

// HoldLiveness takes the liveness lock of worker.
func (s *Store) HoldLiveness(ctx context.Context, worker string) (*LivenessLock, error) {
	l := &LivenessLock{s: s, worker: worker}
	if s.dialect == SQLite {
		f, err := lockFile(livenessPath(s.path, worker))
		if err != nil {
			return nil, fmt.Errorf("hold liveness: %w", err)
		}
		l.file = f
		return l, nil
	}
	if err := l.Check(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// Check makes sure the lock is held, taking it again on a new session when
// the database dropped the old one (a restart, a terminated connection):
// a live worker must look alive again within the takeover grace. On SQLite
// the lock cannot be lost while the process lives.
func (l *LivenessLock) Check(ctx context.Context) error {
	if l.s.dialect == SQLite {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil {
		if err := l.conn.PingContext(ctx); err == nil {
			var one int
			if err = l.conn.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err == nil {
				return nil
			}
		}
		l.conn.Close()
		l.conn = nil
	}
	conn, err := l.s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("hold liveness: %w", err)
	}
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, livenessKey(l.worker)).Scan(&got); err != nil {
		conn.Close()
		return fmt.Errorf("hold liveness: %w", err)
	}
	if !got {
		conn.Close()
		return fmt.Errorf("hold liveness: the lock of worker %s is held by another session", l.worker)
	}
	l.conn = conn
	return nil
}

// Release gives the lock up: the worker is stopping.
func (l *LivenessLock) Release() error {
	if l.s.dialect == SQLite {
		return l.file.release()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return nil
	}
	_, err := l.conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, livenessKey(l.worker))
	cerr := l.conn.Close()
	l.conn = nil
	if err != nil {
		return fmt.Errorf("release liveness: %w", err)
	}
	return cerr
}

// Alive reports whether the worker's liveness lock is held by a live
// process. An error means the question could not be asked (the database is
// unreachable): callers must then take nobody's jobs.
func (s *Store) Alive(ctx context.Context, worker string) (bool, error) {
	if s.dialect == SQLite {
		alive, err := fileLocked(livenessPath(s.path, worker))
		if err != nil {
			return false, fmt.Errorf("alive: %w", err)
		}
		return alive, nil
	}
	k := uint64(livenessKey(worker))
	var held bool
	// A bigint advisory key is stored as classid (high 32 bits) and objid
	// (low 32 bits) with objsubid 1, per database.
	err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1)`, int64(k>>32), int64(k&0xffffffff)).Scan(&held)
	if err != nil {
		return false, fmt.Errorf("alive: %w", err)
	}
	return held, nil
}

// livenessKey is the advisory lock key of a worker. Keys are server-wide,
// and a worker id is random, so workers of different databases on one
// server do not collide.
func livenessKey(worker string) int64 {
	h := fnv.New64a()
	h.Write([]byte("impactd worker liveness\x00" + worker))
	return int64(h.Sum64())
}

// livenessPath is the lock file of a worker beside a SQLite database.
func livenessPath(dbPath, worker string) string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '@' {
			return r
		}
		return '_'
	}, worker)
	return filepath.Join(dbPath+"-workers", safe+".lock")
}
