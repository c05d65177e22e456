//go:build unix

package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// fileLock is an open file with an exclusive flock on it.
type fileLock struct{ f *os.File }

// lockFile creates path and locks it; the lock lasts while the file is open
// in this process, and the kernel drops it when the process dies.
func lockFile(path string) (fileLock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fileLock{}, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fileLock{}, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return fileLock{}, err
	}
	return fileLock{f: f}, nil
}

func (l fileLock) release() error {
	if l.f == nil {
		return nil
	}
	_ = os.Remove(l.f.Name())
	return l.f.Close() // closing drops the flock
}

// fileLocked reports whether some process holds the lock on path. A file
// that is missing, or whose lock can be taken, belongs to no live process;
// the file is then removed.
func fileLocked(path string) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	switch err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); {
	case errors.Is(err, syscall.EWOULDBLOCK):
		return true, nil
	case err != nil:
		return false, err
	}
	_ = os.Remove(path)
	return false, nil
}
