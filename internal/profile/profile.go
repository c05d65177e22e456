// Package profile starts a CPU profile for the benchmark commands.
package profile

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// CPU writes a CPU profile to path until the returned stop is called; an
// empty path profiles nothing.
func CPU(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
