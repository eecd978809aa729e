//go:build race

package realfs

// raceEnabled: the tests run under the race detector, and so do the
// binaries they build.
const raceEnabled = true
