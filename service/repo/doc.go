// Package repo knows the on-drive layout of a Keepsake repository: the
// marker, the catalog's place, one folder per host with its snapshots, the
// lock that keeps a second writer out, and the probe that decides whether a
// filesystem can hold hardlink snapshots at all.
//
//	<mount>/Keepsake/
//	  keepsake.repo            marker (JSON): format, UUID, probed capabilities
//	  catalog.db               SQLite catalog
//	  lock                     flock(2) target while a writer runs
//	  <host>/2026-11-22T100000Z/          a complete snapshot
//	  <host>/2026-11-22T110000Z.partial/  in progress, never listed
//	  <host>/latest -> 2026-11-22T100000Z
package repo
