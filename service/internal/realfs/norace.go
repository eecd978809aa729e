//go:build !race

package realfs

const raceEnabled = false
