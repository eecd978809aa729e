package repo

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/keepsake/keepsake/service/fscrypt"
	"github.com/keepsake/keepsake/service/keywrap"
	"github.com/keepsake/keepsake/shared/kerr"
)

// SchemeFscryptV2 is the only encryption scheme so far: the kernel's
// filesystem encryption, v2 policy, on the data folder.
const SchemeFscryptV2 = "fscrypt-v2"

// Encryption is the marker's section for an encrypted repository: what
// unlocking needs, none of it secret.
type Encryption struct {
	Scheme string `json:"scheme"`
	// Folder is the encrypted folder beside the marker (DataName).
	Folder    string `json:"folder"`
	Contents  string `json:"contents"`
	Filenames string `json:"filenames"`
	Padding   int    `json:"padding"`
	// KeyIdentifier is the kernel's identifier of the master key (hex): it
	// is in the folder's policy and checks an unwrapped key.
	KeyIdentifier string `json:"key_identifier"`
	// Keys are the master key wrapped under the passphrase (Argon2id
	// parameters and salt included) and under the recovery key.
	Keys keywrap.Keys `json:"keys"`
}

// Secret unlocks an encrypted repository: a passphrase, or a recovery key
// as typed.
type Secret struct {
	Passphrase  []byte
	RecoveryKey string
	// UseRecoveryKey picks RecoveryKey (an empty passphrase is no secret
	// at all, so the choice is explicit).
	UseRecoveryKey bool
}

func (s Secret) unwrap(k keywrap.Keys) ([]byte, error) {
	if s.UseRecoveryKey {
		rk, err := keywrap.ParseRecoveryKey(s.RecoveryKey)
		if err != nil {
			return nil, err
		}
		return k.UnwrapRecovery(rk)
	}
	return k.UnwrapPassphrase(s.Passphrase)
}

func (e *Encryption) keyID() (fscrypt.KeyID, error) {
	id, err := fscrypt.ParseKeyID(e.KeyIdentifier)
	if err != nil {
		return id, kerr.Wrap(kerr.Damaged, err, "the repository's marker")
	}
	return id, nil
}

// unlocked returns the data folder when its key is in the kernel, else
// Locked.
func (e *Encryption) unlocked(root string) (string, error) {
	if e.Scheme != SchemeFscryptV2 || e.Folder != DataName {
		return "", kerr.New(kerr.NotARepository, "%s is encrypted with %q in %q: this Keepsake knows %s in %s: update Keepsake", root, e.Scheme, e.Folder, SchemeFscryptV2, DataName)
	}
	id, err := e.keyID()
	if err != nil {
		return "", err
	}
	data := filepath.Join(root, e.Folder)
	st, err := fscrypt.Status(data)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", root, err)
	}
	if !st.Encrypted || st.Policy.Key != id {
		return "", kerr.New(kerr.Damaged, "%s: the folder %s is not encrypted with the key the marker names (%s)", root, e.Folder, e.KeyIdentifier)
	}
	if st.Key != fscrypt.KeyPresent {
		return "", kerr.New(kerr.Locked, "%s is an encrypted Keepsake drive and it is locked", root)
	}
	return data, nil
}

// unlockHint adds what to type to a Locked error.
func unlockHint(err error, dir string) error {
	if kerr.Is(err, kerr.Locked) {
		return kerr.New(kerr.Locked, "%s is an encrypted Keepsake drive and it is locked: unlock it with keepsakectl --repo %s unlock", Resolve(dir), dir)
	}
	return err
}

// InitEncrypted creates an encrypted repository at dir (a drive): the
// plaintext marker in dir/Keepsake and the encrypted folder beside it,
// unlocked. It returns the recovery key, to be shown once. The
// filesystem must be able to encrypt (ext4 with the encrypt feature);
// otherwise nothing is left behind. A drive that holds a repository
// already is refused: an existing one cannot be encrypted in place.
func InitEncrypted(dir string, passphrase []byte, p keywrap.Params) (*Repo, keywrap.RecoveryKey, error) {
	root := Resolve(dir)
	if _, err := os.Lstat(filepath.Join(root, MarkerName)); err == nil {
		return nil, keywrap.RecoveryKey{}, kerr.New(kerr.InvalidArgs,
			"%s holds a Keepsake repository already; an encrypted one is made on a drive without one (a repository cannot be encrypted in place)", root)
	}
	parent := filepath.Dir(root)
	fi, err := os.Stat(parent)
	if err != nil || !fi.IsDir() {
		return nil, keywrap.RecoveryKey{}, kerr.New(kerr.PathNotFound, "init: %s is not a directory", parent)
	}
	caps, err := Probe(parent)
	if err != nil {
		return nil, keywrap.RecoveryKey{}, err
	}
	master, err := keywrap.NewMasterKey()
	if err != nil {
		return nil, keywrap.RecoveryKey{}, err
	}
	defer clear(master)
	keys, rk, err := keywrap.Wrap(master, passphrase, p)
	if err != nil {
		return nil, rk, err
	}

	_, statErr := os.Lstat(root)
	madeRoot := errors.Is(statErr, os.ErrNotExist)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, rk, fmt.Errorf("init %s: %w", root, err)
	}
	data := filepath.Join(root, DataName)
	id, err := encryptFolder(data, master)
	if err != nil {
		// Leave the drive as it was: an empty folder made here goes, and
		// so does a key that no folder uses.
		os.Remove(data)
		if madeRoot {
			os.Remove(root)
		}
		return nil, rk, err
	}
	m := Marker{Format: FormatEncrypted, UUID: newUUID(), Created: time.Now().UTC(), Caps: caps, Encryption: &Encryption{
		Scheme: SchemeFscryptV2, Folder: DataName, Contents: "AES-256-XTS", Filenames: "AES-256-CTS", Padding: 32,
		KeyIdentifier: id.String(), Keys: keys,
	}}
	// The marker comes last: until it is there, the drive holds no
	// repository, and init may be run again.
	if err := writeMarker(root, m); err != nil {
		return nil, rk, err
	}
	r, err := Open(root)
	return r, rk, err
}

// encryptFolder makes data an empty folder encrypted with master (its key
// added to the kernel) and returns the key's identifier. An empty folder
// left by an init that stopped before its marker is made anew.
func encryptFolder(data string, master []byte) (fscrypt.KeyID, error) {
	if ents, err := os.ReadDir(data); err == nil && len(ents) == 0 {
		os.Remove(data)
	}
	if err := os.Mkdir(data, 0o755); err != nil {
		return fscrypt.KeyID{}, fmt.Errorf("init %s: %w", data, err)
	}
	id, err := fscrypt.AddKey(data, master)
	if err != nil {
		return id, err
	}
	if err := fscrypt.SetPolicy(data, id); err != nil {
		fscrypt.RemoveKey(data, id, fscrypt.AllUsers)
		return id, err
	}
	return id, nil
}

func writeMarker(root string, m Marker) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("write the marker of %s: %w", root, err)
	}
	if err := WriteFileAtomic(filepath.Join(root, MarkerName), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write the marker of %s: %w", root, err)
	}
	return nil
}

// encryption reads the marker of an encrypted repository; a plain one is
// InvalidArgs.
func encryption(dir string) (Marker, error) {
	m, err := ReadMarker(dir)
	if err != nil {
		return m, err
	}
	if m.Encryption == nil {
		return m, kerr.New(kerr.InvalidArgs, "%s is not an encrypted repository: there is nothing to unlock or lock", Resolve(dir))
	}
	return m, nil
}

// Unlock adds the repository's key to the kernel, unwrapped with s: its
// files can be read and written until Lock or until the drive is
// unmounted. A wrong secret (WrongPassphrase, WrongRecoveryKey,
// MistypedRecoveryKey) changes nothing. Unlocking an unlocked repository
// checks the secret all the same.
func Unlock(dir string, s Secret) error {
	master, err := MasterKey(dir, s)
	if err != nil {
		return err
	}
	defer clear(master)
	return UnlockWithKey(dir, master)
}

// MasterKey unwraps the repository's master key with s and checks it
// against the identifier the marker names. The caller clears it after
// use. The service keeps it (root-only) for drives whose key it is asked
// to remember.
func MasterKey(dir string, s Secret) ([]byte, error) {
	m, err := encryption(dir)
	if err != nil {
		return nil, err
	}
	want, err := m.Encryption.keyID()
	if err != nil {
		return nil, err
	}
	master, err := s.unwrap(m.Encryption.Keys)
	if err != nil {
		return nil, fmt.Errorf("unlock %s: %w", Resolve(dir), err)
	}
	if id, err := fscrypt.Identifier(master); err != nil || id != want {
		clear(master)
		return nil, kerr.New(kerr.Damaged, "unlock %s: the unwrapped key is not the one the marker names (%s): the marker is damaged", Resolve(dir), want)
	}
	return master, nil
}

// UnlockWithKey adds master, the repository's unwrapped master key, to
// the kernel. A key that is not this repository's is refused before the
// kernel sees it (WrongPassphrase: a remembered key of a drive since
// made anew).
func UnlockWithKey(dir string, master []byte) error {
	m, err := encryption(dir)
	if err != nil {
		return err
	}
	want, err := m.Encryption.keyID()
	if err != nil {
		return err
	}
	// Checked before the kernel sees it: a key that is not this folder's
	// must not be added at all.
	if id, err := fscrypt.Identifier(master); err != nil || id != want {
		return kerr.New(kerr.WrongPassphrase, "unlock %s: the key given is not this drive's (%s)", Resolve(dir), want)
	}
	data := filepath.Join(Resolve(dir), m.Encryption.Folder)
	if _, err := fscrypt.AddKey(data, master); err != nil {
		return fmt.Errorf("unlock %s: %w", Resolve(dir), err)
	}
	_, err = m.Encryption.unlocked(Resolve(dir))
	return err
}

// EncryptionState is what the marker and the kernel say of a repository.
type EncryptionState struct {
	// Encrypted: the marker has an encryption section.
	Encrypted bool
	// Locked: encrypted and its key is not in the kernel.
	Locked bool
	// KeyIdentifier names the master key (hex); "" when not encrypted.
	KeyIdentifier string
}

// State reads whether the repository at dir is encrypted and locked;
// NotARepository when there is none.
func State(dir string) (EncryptionState, error) {
	m, err := ReadMarker(dir)
	if err != nil {
		return EncryptionState{}, err
	}
	if m.Encryption == nil {
		return EncryptionState{}, nil
	}
	st := EncryptionState{Encrypted: true, KeyIdentifier: m.Encryption.KeyIdentifier}
	if _, err := m.Encryption.unlocked(Resolve(dir)); err != nil {
		if !kerr.Is(err, kerr.Locked) {
			return st, err
		}
		st.Locked = true
	}
	return st, nil
}

// Lock removes the repository's key from the kernel (for every user when
// run as root), so the drive shows only encrypted names. A backup or
// restore running on it is Busy; so are files of it still open.
func Lock(dir string) error {
	m, err := encryption(dir)
	if err != nil {
		return err
	}
	id, err := m.Encryption.keyID()
	if err != nil {
		return err
	}
	root := Resolve(dir)
	if r, err := Open(dir); err == nil {
		// Not while a writer runs: it would be stopped with files half
		// written (they stay, but its snapshot fails).
		if err := r.Lock(); err != nil {
			return err
		}
		r.Unlock()
	} else if kerr.Is(err, kerr.Locked) {
		return nil
	}
	scope := fscrypt.OwnClaim
	if os.Geteuid() == 0 {
		scope = fscrypt.AllUsers
	}
	res, err := fscrypt.RemoveKey(filepath.Join(root, m.Encryption.Folder), id, scope)
	if err != nil {
		return fmt.Errorf("lock %s: %w", root, err)
	}
	if res.OtherUsers {
		return kerr.New(kerr.NotAuthorized, "lock %s: other users unlocked it too, so it stays unlocked for them: lock it as root", root)
	}
	return nil
}

// ChangePassphrase rewraps the master key, unwrapped with old (the
// passphrase or the recovery key), under a new passphrase with new
// Argon2id parameters and salt. Nothing else changes: the data, the key
// and the recovery key stay; the drive may be locked or unlocked.
func ChangePassphrase(dir string, old Secret, passphrase []byte, p keywrap.Params) error {
	m, err := encryption(dir)
	if err != nil {
		return err
	}
	master, err := old.unwrap(m.Encryption.Keys)
	if err != nil {
		return fmt.Errorf("change the passphrase of %s: %w", Resolve(dir), err)
	}
	defer clear(master)
	if err := m.Encryption.Keys.SetPassphrase(master, passphrase, p); err != nil {
		return err
	}
	return writeMarker(Resolve(dir), m)
}
