package usecase

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/keepsake/keepsake/service/internal/atomicfile"
	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// KeyStore keeps the unwrapped master keys of the drives an administrator
// asked keepsaked to remember, one file per drive (named by its
// filesystem UUID) in a folder only root may enter (0700, files 0600).
// With a key there the service unlocks the drive by itself when it is
// plugged in or mounted, so backups run with nobody there to type the
// passphrase. Whoever can read the folder can read the drive: it is
// root's, like /etc/shadow.
type KeyStore struct{ Dir string }

// rememberedKey is a key file: the key and what it belongs to.
type rememberedKey struct {
	Drive         string    `json:"drive"`
	KeyIdentifier string    `json:"key_identifier"`
	Key           string    `json:"key"`
	Remembered    time.Time `json:"remembered"`
	By            string    `json:"by"`
}

func (ks KeyStore) path(drive string) (string, error) {
	if drive == "" || drive == "." || drive == ".." || filepath.Base(drive) != drive {
		return "", kerr.New(kerr.InvalidArgs, "drive %q: not a filesystem UUID", drive)
	}
	return filepath.Join(ks.Dir, drive), nil
}

// prepare makes the folder, or makes it root's and 0700 again if it was
// changed.
func (ks KeyStore) prepare() error {
	if err := os.Mkdir(ks.Dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("remembered keys: %w", err)
	}
	fi, err := os.Lstat(ks.Dir)
	if err != nil {
		return fmt.Errorf("remembered keys: %w", err)
	}
	if !fi.IsDir() {
		return kerr.New(kerr.UnsafePath, "remembered keys: %s is not a folder", ks.Dir)
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(ks.Dir, 0o700); err != nil {
			return fmt.Errorf("remembered keys: %w", err)
		}
	}
	if st, ok := fi.Sys().(*unix.Stat_t); ok && st.Uid != uint32(os.Geteuid()) {
		return kerr.New(kerr.UnsafePath, "remembered keys: %s belongs to uid %d, not to this service: remove it", ks.Dir, st.Uid)
	}
	return nil
}

// Remember keeps master (the drive's unwrapped master key, whose
// identifier is keyID) for drive.
func (ks KeyStore) Remember(drive, keyID string, master []byte, by string) error {
	p, err := ks.path(drive)
	if err != nil {
		return err
	}
	if err := ks.prepare(); err != nil {
		return err
	}
	b, err := json.Marshal(rememberedKey{Drive: drive, KeyIdentifier: keyID, Key: hex.EncodeToString(master), Remembered: time.Now().UTC(), By: by})
	if err != nil {
		return err
	}
	defer clear(b)
	if err := atomicfile.Write(p, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("remember the key of drive %s: %w", drive, err)
	}
	return nil
}

// Key is drive's remembered key (the caller clears it), with the key
// identifier it was remembered for; ok false when none is kept.
func (ks KeyStore) Key(drive string) (master []byte, keyID string, ok bool, err error) {
	p, err := ks.path(drive)
	if err != nil {
		return nil, "", false, err
	}
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, "", false, nil
	}
	if err != nil {
		return nil, "", false, fmt.Errorf("the remembered key of drive %s: %w", drive, err)
	}
	defer f.Close()
	var k rememberedKey
	if err := json.NewDecoder(f).Decode(&k); err != nil {
		return nil, "", false, fmt.Errorf("the remembered key of drive %s: %w", drive, err)
	}
	master, err = hex.DecodeString(k.Key)
	if err != nil {
		return nil, "", false, fmt.Errorf("the remembered key of drive %s: %w", drive, err)
	}
	return master, k.KeyIdentifier, true, nil
}

// Has says whether a key is kept for drive.
func (ks KeyStore) Has(drive string) bool {
	p, err := ks.path(drive)
	if err != nil {
		return false
	}
	_, err = os.Lstat(p)
	return err == nil
}

// Forget deletes drive's remembered key; false when there was none.
func (ks KeyStore) Forget(drive string) (bool, error) {
	p, err := ks.path(drive)
	if err != nil {
		return false, err
	}
	if err := os.Remove(p); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("forget the key of drive %s: %w", drive, err)
	}
	if d, err := os.Open(ks.Dir); err == nil {
		d.Sync()
		d.Close()
	}
	return true, nil
}

// Guessing a passphrase through the service is slowed down per drive:
// the first FreeTries wrong ones cost only their Argon2id run; after
// that each further try waits TryDelay before it is checked.
const (
	FreeTries   = 3
	MaxTryDelay = 60 * time.Second
)

// TryDelay is how long a try waits before it is checked, after failed
// wrong ones: nothing for the first FreeTries, then 1 s, 2 s, 4 s... up
// to MaxTryDelay.
func TryDelay(failed int) time.Duration {
	if failed < FreeTries {
		return 0
	}
	n := failed - FreeTries
	if n >= 6 {
		return MaxTryDelay
	}
	return min(time.Second<<n, MaxTryDelay)
}

// Throttle counts the wrong secrets tried on each drive and slows the
// tries down (TryDelay). Tries on one drive are checked one at a time, so
// tries sent together wait their turn instead of all skipping the wait.
// A success resets the drive's count. The count lives as long as the
// service: a restart gives the free tries again, which costs an attacker
// a restart (root) per three guesses.
type Throttle struct {
	mu     sync.Mutex
	drives map[string]*tries
}

type tries struct {
	mu     sync.Mutex
	failed int
}

func (t *Throttle) of(drive string) *tries {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.drives == nil {
		t.drives = map[string]*tries{}
	}
	tr := t.drives[drive]
	if tr == nil {
		tr = &tries{}
		t.drives[drive] = tr
	}
	return tr
}

// Try waits as the drive's failed tries say, then runs check (which
// unwraps the key with the secret given). A wrong passphrase or recovery
// key is counted, and its message says how many tries failed and how
// long the next one waits. A mistyped recovery key (its checksum) is no
// guess and is not counted.
func (t *Throttle) Try(ctx context.Context, drive string, check func() error) error {
	tr := t.of(drive)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if wait := TryDelay(tr.failed); wait > 0 {
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return kerr.Wrap(kerr.Cancelled, context.Cause(ctx), "stopped while waiting to check the passphrase")
		}
	}
	err := check()
	name := kerr.NameOf(err)
	switch {
	case err == nil:
		tr.failed = 0
		return nil
	case name == kerr.WrongPassphrase || name == kerr.WrongRecoveryKey:
		tr.failed++
		return kerr.New(name, "%v (%s)", err, triesNote(tr.failed))
	}
	return err
}

// Failed is how many wrong tries were counted on drive since its last
// success.
func (t *Throttle) Failed(drive string) int {
	tr := t.of(drive)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.failed
}

func triesNote(failed int) string {
	tries := "tries have"
	if failed == 1 {
		tries = "try has"
	}
	if wait := TryDelay(failed); wait > 0 {
		return fmt.Sprintf("%d %s failed on this drive: the next try waits %s before it is checked", failed, tries, seconds(wait))
	}
	return fmt.Sprintf("%d %s failed on this drive; after %d, each further try waits longer", failed, tries, FreeTries)
}

func seconds(d time.Duration) string {
	if n := int(d / time.Second); n != 1 {
		return fmt.Sprintf("%d seconds", n)
	}
	return "1 second"
}
