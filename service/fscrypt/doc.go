// Package fscrypt is Keepsake's interface to the kernel's filesystem
// encryption (fscrypt, v2 policies) and nothing else: it sets a policy on
// an empty folder, reads a folder's policy, adds a key to the filesystem's
// keyring and removes it again.
//
// Keys live in the keyring of the filesystem (the superblock), not of a
// process: a key added by keepsakectl stays after it exits, until it is
// removed or the filesystem is unmounted. While the key is absent, the
// kernel shows the folder's names in their encrypted form and refuses to
// read or create files in it.
//
// Every policy set here is v2 with AES-256-XTS for contents and
// AES-256-CTS for names (the kernel's recommended default), padded to 32
// bytes. What the key is and how it is kept is not this package's job
// (see service/keywrap); the key identifier the kernel derives from the
// key is what ties a folder to its key.
//
// Errors users meet are named (shared/kerr): a filesystem that cannot
// encrypt, or an ext4 filesystem made without the encrypt feature, is
// UnsupportedFilesystem with what to do, and carries ErrNotSupported or
// ErrFeatureOff for errors.Is.
//
//	id, err := fscrypt.AddKey(dir, masterKey) // the identifier of the key
//	err = fscrypt.SetPolicy(dir, id)          // dir must be empty
//	st, err := fscrypt.Status(dir)            // st.Encrypted, st.Key == fscrypt.KeyPresent
//	res, err := fscrypt.RemoveKey(dir, id, fscrypt.AllUsers)
package fscrypt
