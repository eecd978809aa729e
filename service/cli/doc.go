// Package cli is keepsakectl: the command line over a repository (--repo)
// for scripts, benchmarks and disaster recovery. It turns the engine's
// callbacks into a progress bar on a terminal or JSON lines with --json.
package cli
