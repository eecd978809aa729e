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
//
// An encrypted repository (ext4 with fscrypt, format 2) keeps only the
// marker in the clear; its "encryption" section holds what unlocking
// needs (the key identifier, Argon2id parameters and salt, the master key
// wrapped under the passphrase and under the recovery key; see
// service/keywrap). Everything else is in the encrypted folder data/:
//
//	<mount>/Keepsake/
//	  keepsake.repo            marker, plaintext, with "encryption"
//	  data/                    fscrypt v2 (AES-256-XTS, AES-256-CTS names)
//	    catalog.db, lock, <host>/...   as above
//
// Repo.Root is where the catalog, the lock and the host folders are (the
// Keepsake folder, or data/ when encrypted), so the engine and the
// catalog work on both alike; Repo.Dir is the Keepsake folder. Open
// refuses a locked encrypted repository with Locked; Unlock adds its key
// to the kernel, Lock removes it, ChangePassphrase rewraps the key.
package repo
