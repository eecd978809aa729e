// Package atomicfile replaces small files so that a reader, or a crash,
// sees the old content or the new one and never a mix: the catalog's
// marker, the configuration, the service's state and status files.
package atomicfile
