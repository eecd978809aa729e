// Package grammar reads and writes the values people type into every
// front end: sizes ("500M", "20 GiB", "2%"), times ("2026-12-01",
// "yesterday", "36h", "7d") and durations ("30m", "1d12h"). One parser for
// each, so keepsakectl, keepsake.conf, D-Bus settings and the app agree on
// what "2G" means (2 GiB, as df and du print it; "2 GB" in the app is the
// same) and on what "yesterday" is.
//
// It is pure Go with no dependencies, in shared/ so the app can use it;
// the use-case layer (service/usecase) is where the service and the CLI
// use it.
package grammar
