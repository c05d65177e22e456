//go:build race

package main

// raceEnabled: the kill test uses fewer donors under the race detector,
// which makes rendering about ten times slower.
const raceEnabled = true
