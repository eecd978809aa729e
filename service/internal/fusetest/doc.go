// Package fusetest mounts a small FUSE filesystem made by a test, for the
// faults no real disk gives on demand: a file whose reads fail with EIO
// (a failing disk, a network filesystem losing its server) and one that
// vanishes between being listed and being opened. Only tests import it.
package fusetest
