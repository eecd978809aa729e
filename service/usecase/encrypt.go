package usecase

import (
	"fmt"
	"path/filepath"
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
//
// A drive that holds unencrypted backups is refused with InvalidArgs
// saying what InitEncryptedBeside does instead.
func InitEncryptedDrive(dir string, passphrase []byte, a Actor) (*Drive, string, error) {
	if HoldsPlainBackups(dir) {
		return nil, "", PlainBackupsThere(dir)
	}
	return initEncrypted(dir, passphrase, a, "")
}

// HoldsPlainBackups says whether the drive at dir holds an unencrypted
// repository (which InitEncryptedDrive refuses and InitEncryptedBeside
// sets aside).
func HoldsPlainBackups(dir string) bool {
	m, err := repo.ReadMarker(dir)
	return err == nil && m.Encryption == nil
}

// PlainBackupsThere is the error for an encrypted repository asked for
// where unencrypted backups are (where names the drive).
func PlainBackupsThere(where string) error {
	return kerr.New(kerr.InvalidArgs,
		"%s holds unencrypted backups, which cannot be encrypted where they are: set them aside (kept as they are in the folder %q) to begin encrypted backups beside them", where, AsideName)
}

// AsideName is the folder unencrypted backups are kept in when an
// encrypted repository takes their place (InitEncryptedBeside).
const AsideName = repo.AsideName

func initEncrypted(dir string, passphrase []byte, a Actor, aside string) (*Drive, string, error) {
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
	detail := r.Marker.Caps.FSType + ", encrypted"
	if aside != "" {
		detail += "; the unencrypted backups were set aside in " + aside
	}
	if err := c.Audit(a, "init", "", "", r.Dir, detail); err != nil {
		return nil, "", err
	}
	return &Drive{R: r}, rk.String(), nil
}

// InitEncryptedBeside is InitEncryptedDrive for a drive that may hold an
// unencrypted repository already: a repository cannot be encrypted in
// place, so the old one is renamed to "Keepsake (not encrypted)" (its
// backups kept as they are, readable with --repo on that folder) and the
// encrypted one is made in its place. When making it fails, the old one
// is put back. It returns the folder the old one went to ("" when the
// drive held none).
func InitEncryptedBeside(dir string, passphrase []byte, a Actor) (*Drive, string, string, error) {
	if err := CheckPassphrase(passphrase); err != nil {
		return nil, "", "", err
	}
	m, err := repo.ReadMarker(dir)
	if kerr.Is(err, kerr.NotARepository) {
		d, rk, err := initEncrypted(dir, passphrase, a, "")
		return d, rk, "", err
	}
	if err != nil {
		return nil, "", "", err
	}
	if m.Encryption != nil {
		return nil, "", "", kerr.New(kerr.InvalidArgs, "the backups on %s are encrypted already", dir)
	}
	if err := auditDrive(dir, a, "set-aside", "to make an encrypted repository in its place"); err != nil {
		return nil, "", "", err
	}
	aside, err := repo.SetAside(dir)
	if err != nil {
		return nil, "", "", err
	}
	d, rk, err := initEncrypted(dir, passphrase, a, filepath.Base(aside))
	if err != nil {
		if perr := repo.PutBack(dir, aside); perr != nil {
			return nil, "", aside, fmt.Errorf("%w (and the unencrypted backups stay in %s: %v)", err, aside, perr)
		}
		return nil, "", "", err
	}
	return d, rk, aside, nil
}

// UnlockDrive adds the drive's key to the kernel: every use case on it
// works until LockDrive or until it is unmounted. A wrong secret
// (WrongPassphrase, WrongRecoveryKey, MistypedRecoveryKey) changes
// nothing. The unlock is written to the drive's audit log (how, never
// the secret).
func UnlockDrive(dir string, s Secret, a Actor) error {
	if err := repo.Unlock(dir, s); err != nil {
		return err
	}
	return auditDrive(dir, a, "unlock", secretKind(s))
}

// UnlockDriveKey is UnlockDrive that also returns the unwrapped master
// key, for a front end that keeps it to unlock the drive by itself later
// (keepsaked's remembered keys). The caller clears it after use.
func UnlockDriveKey(dir string, s Secret, a Actor) ([]byte, error) {
	master, err := repo.MasterKey(dir, s)
	if err != nil {
		return nil, err
	}
	if err := repo.UnlockWithKey(dir, master); err != nil {
		clear(master)
		return nil, err
	}
	if err := auditDrive(dir, a, "unlock", secretKind(s)+", key remembered"); err != nil {
		clear(master)
		return nil, err
	}
	return master, nil
}

// UnlockDriveWithKey unlocks the drive with its unwrapped master key (a
// remembered one), unless it is unlocked already: it says whether it
// unlocked it. A key that is not the drive's changes nothing
// (WrongPassphrase).
func UnlockDriveWithKey(dir string, master []byte, a Actor) (bool, error) {
	st, err := repo.State(dir)
	if err != nil {
		return false, err
	}
	if !st.Encrypted {
		return false, kerr.New(kerr.NotARepository, "%s is not an encrypted Keepsake drive: there is nothing to unlock", repo.Resolve(dir))
	}
	if !st.Locked {
		return false, nil
	}
	if err := repo.UnlockWithKey(dir, master); err != nil {
		return false, err
	}
	return true, auditDrive(dir, a, "unlock", "remembered key")
}

// LockDrive removes the drive's key from the kernel: its names show
// encrypted, its contents cannot be read. Busy while a backup or restore
// runs on it. The lock is audited first, while the log can still be
// written.
func LockDrive(dir string, a Actor) error {
	st, err := repo.State(dir)
	if err != nil {
		return err
	}
	if st.Encrypted && !st.Locked {
		if err := auditDrive(dir, a, "lock", ""); err != nil {
			return err
		}
	}
	return repo.Lock(dir)
}

// ChangePassphrase sets a new passphrase, proven by the old one or by
// the recovery key; the data and the recovery key stay as they are. On an
// unlocked drive it is audited (a locked drive's log cannot be written).
func ChangePassphrase(dir string, old Secret, passphrase []byte, a Actor) error {
	if err := CheckPassphrase(passphrase); err != nil {
		return err
	}
	if err := repo.ChangePassphrase(dir, old, passphrase, keywrap.DefaultParams); err != nil {
		return err
	}
	return auditDrive(dir, a, "change-passphrase", "proven by "+secretKind(old))
}

// AuditDrive writes an entry to the drive's audit log when the drive can
// be written to (unlocked, if encrypted); a locked drive is skipped
// without an error: its log is inside what is locked.
func AuditDrive(dir string, a Actor, action, detail string) error {
	return auditDrive(dir, a, action, detail)
}

func auditDrive(dir string, a Actor, action, detail string) error {
	r, err := repo.Open(dir)
	if kerr.Is(err, kerr.Locked) {
		return nil
	}
	if err != nil {
		return err
	}
	c, err := catalog.Open(r.CatalogPath())
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Audit(a, action, "", "", r.Dir, detail)
}

// secretKind names the kind of a secret for the audit log, never the
// secret itself.
func secretKind(s Secret) string {
	if s.UseRecoveryKey {
		return "recovery key"
	}
	return "passphrase"
}

// EncryptionState says whether a drive's repository is encrypted and
// locked.
type EncryptionState = repo.EncryptionState

// DriveEncryption reads the encryption state of the repository at dir;
// NotARepository when there is none.
func DriveEncryption(dir string) (EncryptionState, error) { return repo.State(dir) }

// MasterKeyCheck unwraps the master key with s without unlocking: a
// proof of the secret (the caller clears the key).
func MasterKeyCheck(dir string, s Secret) ([]byte, error) { return repo.MasterKey(dir, s) }

// Encrypted says whether the repository is an encrypted one.
func (d *Drive) Encrypted() bool { return d.R.Encrypted() }

// Dir is the drive's Keepsake folder (where the marker is).
func (d *Drive) Dir() string { return d.R.Dir }
