package runner

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"impactd/internal/store"
)

// A worker holds a liveness lock for as long as it works (store.LivenessLock:
// a PostgreSQL session advisory lock, or an flock beside the SQLite file),
// and claims nothing while it does not hold it. Every worker looks, about
// once a second, at the workers that hold leases on jobs: one whose lock is
// free has died, and once it has looked dead for TakeoverGrace its leases
// are ended, so that its jobs are claimed in seconds rather than when the
// lease expires. The grace rides out a PostgreSQL restart, which drops
// every session's lock at once: live workers take theirs again within a
// second or two, and their jobs stay theirs. The lease remains the fallback.

// liveness is a Runner's lock and what it knows of the others.
type liveness struct {
	ok       atomic.Bool // the lock is held now: the workers may claim
	mu       sync.Mutex  // guards what follows; not held while a claim waits on ok
	lock     *store.LivenessLock
	refs     int // Work calls in progress that share the lock
	checked  time.Time
	suspects map[string]time.Time // worker → when it was first seen dead
}

func (l *liveness) held() bool { return l.ok.Load() }

// holdLiveness takes the lock for a Work call, or shares the one taken. The
// database being unavailable is not an error: keepLiveness tries again,
// and the workers claim nothing meanwhile.
func (r *Runner) holdLiveness(ctx context.Context) error {
	l := &r.sh.live
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refs++
	if l.lock != nil {
		return nil
	}
	lock, err := r.Store.HoldLiveness(ctx, r.WorkerID)
	switch {
	case err == nil:
		l.lock = lock
		l.ok.Store(true)
	case store.IsTransient(err):
		r.Log.Warn("liveness lock not taken yet; the database is unavailable", "err", err)
	default:
		l.refs--
		return fmt.Errorf("work: %w", err)
	}
	return nil
}

// releaseLiveness gives the lock up when the last Work call ends.
func (r *Runner) releaseLiveness() {
	l := &r.sh.live
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refs--
	if l.refs > 0 || l.lock == nil {
		return
	}
	if err := l.lock.Release(); err != nil {
		r.Log.Warn("liveness lock not released; it goes with the connection", "err", err)
	}
	l.lock = nil
	l.ok.Store(false)
}

// keepLiveness, about once a second, makes sure this worker's lock is held
// (taking it again after a database restart) and takes over the jobs of
// workers that have looked dead for the grace period.
func (r *Runner) keepLiveness(ctx context.Context) {
	l := &r.sh.live
	if !l.mu.TryLock() {
		return // another Work call of this process is at it
	}
	defer l.mu.Unlock()
	now := time.Now()
	if now.Sub(l.checked) < time.Second {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	l.checked = now
	if l.lock == nil {
		lock, err := r.Store.HoldLiveness(ctx, r.WorkerID)
		if err != nil {
			r.Log.Warn("liveness lock not taken; claiming nothing until it is", "err", err)
			return
		}
		l.lock = lock
	} else if err := l.lock.Check(ctx); err != nil {
		if l.ok.Swap(false) {
			r.Log.Warn("liveness lock lost; claiming nothing until it is taken again", "err", err)
		}
		return
	}
	if !l.ok.Swap(true) {
		r.Log.Info("liveness lock held")
	}
	r.takeOver(ctx, l, now)
}

// takeOver ends the leases of workers that have looked dead for longer
// than the grace. Called with l.mu held.
func (r *Runner) takeOver(ctx context.Context, l *liveness, now time.Time) {
	holders, err := r.Store.LeaseHolders(ctx, r.Clock.Now().UnixMilli())
	if err != nil {
		return
	}
	if l.suspects == nil {
		l.suspects = map[string]time.Time{}
	}
	seen := map[string]bool{}
	for _, w := range holders {
		if w == r.WorkerID || w == "" {
			continue
		}
		seen[w] = true
		alive, err := r.Store.Alive(ctx, w)
		if err != nil {
			return // cannot tell: take nothing
		}
		if alive {
			delete(l.suspects, w)
			continue
		}
		since, ok := l.suspects[w]
		if !ok {
			l.suspects[w] = now
			continue
		}
		if now.Sub(since) < r.Options.TakeoverGrace {
			continue
		}
		n, err := r.Store.ExpireLeases(ctx, w)
		if err != nil {
			return
		}
		delete(l.suspects, w)
		r.Log.Warn("worker died; its jobs are taken over", "worker", w, "jobs", n, "dead_for_ms", now.Sub(since).Milliseconds())
	}
	for w := range l.suspects {
		if !seen[w] {
			delete(l.suspects, w)
		}
	}
}
