package app

import "runtime/debug"

// TuneGC trades memory for speed unless the operator chose (GOGC,
// GOMEMLIMIT): rendering a letter allocates 0.3–13 MB that dies at once, and
// with Go's default GOGC=100 a statement run spent about a third of its CPU
// collecting. At 400 a 10,000-donor run went from 282 to 383 letters/s with a
// peak RSS of 157 MB (cmd/runbench); the 256 MiB soft limit keeps a long-running
// server bounded whatever the heap does.
func TuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(256 << 20)
	}
}
