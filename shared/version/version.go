// Package version is Keepsake's version, one for every binary. meson sets
// it from the project's version (meson.build) with
// -ldflags=-X github.com/keepsake/keepsake/shared/version.Version=…, and
// so do the scripts in build-aux; a plain `go build` says it is a
// development build.
package version

// Version is the release this was built from.
var Version = "0.0.0-dev"
