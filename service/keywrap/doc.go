// Package keywrap keeps an encrypted drive's master key: it makes one,
// wraps it (AES-256-GCM) under a key derived from the passphrase with
// Argon2id and, separately, under a random recovery key, and unwraps it
// with either. Changing the passphrase rewraps the same master key, so
// nothing on the drive is encrypted again.
//
// The wrapped keys, the KDF parameters and the salt are stored in the
// clear (the drive's marker): they are worth nothing without the
// passphrase or the recovery key, and an attacker's guessing costs one
// Argon2id run (about half a second and 64 MiB) per passphrase tried.
//
// A recovery key is shown to a person once, in groups of base32 letters,
// and typed back in: it carries a checksum, so a typo is
// MistypedRecoveryKey rather than WrongRecoveryKey. A wrong passphrase is
// WrongPassphrase (shared/kerr).
//
//	master, _ := keywrap.NewMasterKey()
//	keys, rk, err := keywrap.Wrap(master, passphrase, keywrap.DefaultParams)
//	fmt.Println(rk) // once: "ABCDEFGH-IJKLMNOP-..."
//	master, err = keys.UnwrapPassphrase(passphrase)
//	rk, err = keywrap.ParseRecoveryKey(typed)
//	master, err = keys.UnwrapRecovery(rk)
//	err = keys.SetPassphrase(master, newPassphrase, keywrap.DefaultParams)
package keywrap
