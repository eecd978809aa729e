package usecase

import (
	"unicode/utf8"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/keywrap"
	"github.com/keepsake/keepsake/service/repo"
	"github.com/keepsake/keepsake/shared/kerr"
)

// Secret unlocks an encrypted drive: its passphrase, or its recovery key
// as typed (UseRecoveryKey).
type Secret = repo.Secret

// MinPassphrase is the fewest characters a new passphrase may have. The
// passphrase is all that stands between a lost drive and its contents;
// Argon2id makes each guess cost, but not enough for "1234".
const MinPassphrase = 8

// CheckPassphrase refuses a new passphrase that is too short to protect
// a drive.
func CheckPassphrase(p []byte) error {
	if n := utf8.RuneCount(p); n < MinPassphrase {
		return kerr.New(kerr.InvalidArgs, "the passphrase has %d characters; it needs at least %d (a few words are easy to remember and hard to guess)", n, MinPassphrase)
	}
	return nil
}

// InitEncryptedDrive writes a new encrypted repository to dir (ext4 with
// the encrypt feature; anything else is UnsupportedFilesystem with what
// to do), leaves it unlocked, logs it and returns the recovery key in the
// form a person copies down: it is never stored and must be shown now.
func InitEncryptedDrive(dir string, passphrase []byte, a Actor) (*Drive, string, error) {
	if err := CheckPassphrase(passphrase); err != nil {
		return nil, "", err
	}
	r, rk, err := repo.InitEncrypted(dir, passphrase, keywrap.DefaultParams)
	if err != nil {
		return nil, "", err
	}
	c, err := catalog.Open(r.CatalogPath())
	if err != nil {
		return nil, "", err
	}
	defer c.Close()
	if err := c.Audit(a, "init", "", "", r.Dir, r.Marker.Caps.FSType+", encrypted"); err != nil {
		return nil, "", err
	}
	return &Drive{R: r}, rk.String(), nil
}

// UnlockDrive adds the drive's key to the kernel: every use case on it
// works until LockDrive or until it is unmounted. A wrong secret
// (WrongPassphrase, WrongRecoveryKey, MistypedRecoveryKey) changes
// nothing.
func UnlockDrive(dir string, s Secret) error { return repo.Unlock(dir, s) }

// LockDrive removes the drive's key from the kernel: its names show
// encrypted, its contents cannot be read. Busy while a backup or restore
// runs on it.
func LockDrive(dir string) error { return repo.Lock(dir) }

// ChangePassphrase sets a new passphrase, proven by the old one or by
// the recovery key; the data and the recovery key stay as they are.
func ChangePassphrase(dir string, old Secret, passphrase []byte) error {
	if err := CheckPassphrase(passphrase); err != nil {
		return err
	}
	return repo.ChangePassphrase(dir, old, passphrase, keywrap.DefaultParams)
}

// Encrypted says whether the repository is an encrypted one.
func (d *Drive) Encrypted() bool { return d.R.Encrypted() }

// Dir is the drive's Keepsake folder (where the marker is).
func (d *Drive) Dir() string { return d.R.Dir }
