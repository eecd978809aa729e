package repo

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/keepsake/keepsake/service/internal/atomicfile"
	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// Names of things inside a repository.
const (
	DirName       = "Keepsake"
	MarkerName    = "keepsake.repo"
	CatalogName   = "catalog.db"
	LockName      = "lock"
	LatestName    = "latest"
	PartialSuffix = ".partial"
	// DataName is the encrypted folder of an encrypted repository: it
	// holds what a plain repository holds beside its marker.
	DataName = "data"
	// Format is the newest on-drive format version this code reads.
	Format = FormatEncrypted
	// FormatPlain is the format of a plain repository; plain ones keep it
	// so that older Keepsakes still read them.
	FormatPlain = 1
	// FormatEncrypted is the format of an encrypted repository: older
	// Keepsakes refuse it instead of writing a catalog beside the marker.
	FormatEncrypted = 2
)

// SnapshotLayout is the time format of snapshot folder names (always UTC).
const SnapshotLayout = "2006-01-02T150405Z"

// Marker is the content of keepsake.repo.
type Marker struct {
	Format  int          `json:"format"`
	UUID    string       `json:"uuid"`
	Created time.Time    `json:"created"`
	Caps    Capabilities `json:"capabilities"`
	// Encryption is set for an encrypted repository (see encrypt.go).
	Encryption *Encryption `json:"encryption,omitempty"`
}

// Repo is an opened repository.
type Repo struct {
	// Root holds the catalog, the lock and the host folders: the Keepsake
	// folder, or its encrypted data folder in an encrypted repository.
	Root string
	// Dir is the Keepsake folder, which holds the marker.
	Dir    string
	Marker Marker
	// lock is the writer lock's file while this process holds it. Jobs
	// share one Repo: the lock's release in one may meet another's take
	// (lockMu keeps the later take from being forgotten).
	lockMu sync.Mutex
	lock   *os.File
}

// Encrypted says whether the repository is an encrypted one.
func (r *Repo) Encrypted() bool { return r.Marker.Encryption != nil }

// Resolve maps what a user passes as --repo to the Keepsake folder: either
// the folder itself (it holds the marker) or the drive it lies on.
func Resolve(dir string) string {
	dir = filepath.Clean(dir)
	if _, err := os.Stat(filepath.Join(dir, MarkerName)); err == nil {
		return dir
	}
	return filepath.Join(dir, DirName)
}

// Init probes the filesystem at dir and creates dir/Keepsake. An existing
// repository is opened, not touched.
func Init(dir string) (*Repo, error) {
	root := Resolve(dir)
	// A marker there is a repository, even one that cannot be opened now
	// (locked, damaged, newer): its error is the answer, and the marker
	// is never written over.
	if _, err := os.Lstat(filepath.Join(root, MarkerName)); err == nil {
		return Open(dir)
	}
	fi, err := os.Stat(filepath.Dir(root))
	if err != nil || !fi.IsDir() {
		return nil, kerr.New(kerr.PathNotFound, "init: %s is not a directory", filepath.Dir(root))
	}
	caps, err := Probe(filepath.Dir(root))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("init %s: %w", root, err)
	}
	m := Marker{Format: FormatPlain, UUID: newUUID(), Created: time.Now().UTC(), Caps: caps}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := WriteFileAtomic(filepath.Join(root, MarkerName), append(b, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("init %s: %w", root, err)
	}
	return Open(root)
}

// Open opens the repository at dir (a drive or its Keepsake folder). An
// encrypted repository whose key is not in the kernel is Locked.
func Open(dir string) (*Repo, error) {
	root := Resolve(dir)
	m, err := ReadMarker(dir)
	if err != nil {
		return nil, err
	}
	if m.Encryption == nil {
		return &Repo{Root: root, Dir: root, Marker: m}, nil
	}
	data, err := m.Encryption.unlocked(root)
	if err != nil {
		return nil, unlockHint(err, dir)
	}
	return &Repo{Root: data, Dir: root, Marker: m}, nil
}

// ReadMarker reads the marker of the repository at dir (a drive or its
// Keepsake folder).
func ReadMarker(dir string) (Marker, error) {
	root := Resolve(dir)
	b, err := os.ReadFile(filepath.Join(root, MarkerName))
	if err != nil {
		return Marker{}, kerr.Wrap(kerr.NotARepository, err, "%s is not a Keepsake repository (run \"keepsakectl --repo %s init\" first)", dir, dir)
	}
	var m Marker
	if err := json.Unmarshal(b, &m); err != nil {
		return Marker{}, kerr.Wrap(kerr.NotARepository, err, "%s: damaged marker %s", root, MarkerName)
	}
	if m.Format > Format {
		return Marker{}, kerr.New(kerr.NotARepository, "%s has format %d; this Keepsake reads up to %d: update Keepsake", root, m.Format, Format)
	}
	if m.Format >= FormatEncrypted && m.Encryption == nil {
		return Marker{}, kerr.New(kerr.Damaged, "%s: the marker says format %d (encrypted) but has no encryption section", root, m.Format)
	}
	return m, nil
}

// Lock takes the repository's writer lock without waiting. A second writer
// gets a Busy error at once instead of queueing silently.
func (r *Repo) Lock() error {
	f, err := os.OpenFile(filepath.Join(r.Root, LockName), os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return fmt.Errorf("lock %s: %w", r.Root, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return kerr.New(kerr.Busy, "repository %s is busy: another backup, prune or restore is running on it", r.Root)
		}
		return fmt.Errorf("lock %s: %w", r.Root, err)
	}
	r.lockMu.Lock()
	r.lock = f
	r.lockMu.Unlock()
	return nil
}

// Unlock releases the writer lock.
func (r *Repo) Unlock() {
	r.lockMu.Lock()
	f := r.lock
	r.lock = nil
	r.lockMu.Unlock()
	if f != nil {
		f.Close()
	}
}

// CatalogPath is where the catalog lives.
func (r *Repo) CatalogPath() string { return filepath.Join(r.Root, CatalogName) }

// HostDir is the folder of one backed-up machine.
func (r *Repo) HostDir(host string) string { return filepath.Join(r.Root, host) }

// SnapshotDir is the folder of a complete snapshot.
func (r *Repo) SnapshotDir(host, name string) string { return filepath.Join(r.Root, host, name) }

// SnapshotName names a snapshot taken at t.
func SnapshotName(t time.Time) string { return t.UTC().Format(SnapshotLayout) }

// ParseSnapshotName returns the time a snapshot name stands for.
func ParseSnapshotName(name string) (time.Time, error) {
	return time.Parse(SnapshotLayout, name)
}

// Partials lists the in-progress folders left in a host folder.
func (r *Repo) Partials(host string) ([]string, error) {
	ents, err := os.ReadDir(r.HostDir(host))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", r.HostDir(host), err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && strings.HasSuffix(e.Name(), PartialSuffix) {
			out = append(out, strings.TrimSuffix(e.Name(), PartialSuffix))
		}
	}
	sort.Strings(out)
	return out, nil
}

// Hosts lists the host folders of the repository.
func (r *Repo) Hosts() ([]string, error) {
	ents, err := os.ReadDir(r.Root)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", r.Root, err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// SetLatest points host/latest at name, atomically.
func (r *Repo) SetLatest(host, name string) error {
	dir := r.HostDir(host)
	tmp := filepath.Join(dir, ".latest.tmp")
	os.Remove(tmp)
	if err := os.Symlink(name, tmp); err != nil {
		return fmt.Errorf("update latest: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, LatestName)); err != nil {
		return fmt.Errorf("update latest: %w", err)
	}
	return SyncDir(dir)
}

// SyncDir makes a directory's entries (renames, new names) durable.
func SyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// WriteFileAtomic writes a file by writing a temporary one beside it,
// syncing it, renaming it over the target and syncing the directory.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return atomicfile.Write(path, data, perm)
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
