package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/keepsake/keepsake/service/internal/atomicfile"
	"github.com/keepsake/keepsake/shared/kerr"
)

// FileName is the state file's name in the state directory.
const FileName = "state.json"

// MaxJobs is how many finished jobs the history keeps; older ones drop out.
const MaxJobs = 200

// version is the file format. A file with another version is treated as
// damaged: it was written by a different Keepsake.
const version = 1

// ProfileState is what the service remembers about a profile's backups.
type ProfileState struct {
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	// LastResult is the error name of the last attempt; "" is success.
	LastResult   kerr.Name `json:"last_result,omitempty"`
	LastMessage  string    `json:"last_message,omitempty"`
	LastSnapshot string    `json:"last_snapshot,omitempty"`
	// Failures counts consecutive failed attempts; a success resets it.
	Failures int `json:"failures,omitempty"`
	// LastReceived is what the last successful pull of another computer
	// transferred, in bytes.
	LastReceived int64 `json:"last_received,omitempty"`
	// Problems are what the last successful backup could not take (see
	// api.BackupResult.Problems), ProblemCount how many there were in
	// all: a backup with problems is "partial".
	Problems     []string `json:"problems,omitempty"`
	ProblemCount int      `json:"problem_count,omitempty"`
	// SkippedMounts are the other filesystems inside the sources that the
	// last successful backup left out.
	SkippedMounts []string `json:"skipped_mounts,omitempty"`
}

// DriveState is what the service remembers about a drive, by filesystem
// UUID.
type DriveState struct {
	LastSeen time.Time `json:"last_seen,omitzero"`
	Label    string    `json:"label,omitempty"`
	FSType   string    `json:"fstype,omitempty"`
	// Enrolled: the drive holds a repository this service writes to.
	Enrolled bool `json:"enrolled,omitempty"`
	// Encrypted: its repository is encrypted, as its marker said when it
	// was last mounted (shown while it is away or locked).
	Encrypted bool `json:"encrypted,omitempty"`
	// Free and Size are the bytes free and in all when it was last
	// mounted, so the space left can be shown while it is away.
	Free int64 `json:"free,omitempty"`
	Size int64 `json:"size,omitempty"`
}

// JobRecord is one finished job in the history.
type JobRecord struct {
	ID        uint64    `json:"id"`
	Operation string    `json:"operation"`
	Profile   string    `json:"profile,omitempty"`
	UID       uint32    `json:"uid"`
	Started   time.Time `json:"started,omitzero"`
	Ended     time.Time `json:"ended,omitzero"`
	Error     kerr.Name `json:"error,omitempty"` // "" is success
	Message   string    `json:"message,omitempty"`
}

type file struct {
	Version   int                     `json:"version"`
	NextJobID uint64                  `json:"next_job_id,omitempty"`
	Profiles  map[string]ProfileState `json:"profiles"`
	Drives    map[string]DriveState   `json:"drives"`
	Jobs      []JobRecord             `json:"jobs"`
}

// Store is the state, loaded, and the file it is saved to. It is safe for
// concurrent use; each change is saved before the method returns, and a
// change that cannot be saved is not kept.
type Store struct {
	path string
	mu   sync.Mutex
	st   file
}

func fresh() file {
	return file{Version: version, Profiles: map[string]ProfileState{}, Drives: map[string]DriveState{}}
}

// Open loads the state in dir, creating dir (0700: the history names
// users' profiles and files) if it is missing. A missing state file is a
// fresh state. A damaged one is renamed to state.json.corrupt-<UTC time>
// and a fresh state is returned with a warning describing what happened;
// the service should log warnings and carry on. Only failures to read or
// create anything are errors.
func Open(dir string) (*Store, []error, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("create state directory: %w", err)
	}
	s := &Store{path: filepath.Join(dir, FileName), st: fresh()}
	var warnings []error
	// Temporary files left by a crash mid-save are never the state.
	olds, _ := filepath.Glob(filepath.Join(dir, "."+FileName+".tmp-*"))
	for _, o := range olds {
		os.Remove(o)
	}
	data, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return s, nil, nil
	case err != nil:
		// Unreadable is not damaged: starting fresh here could throw
		// away good state over a passing problem.
		return nil, nil, fmt.Errorf("read state: %w", err)
	}
	if perr := s.decode(data); perr != nil {
		aside, err := moveAside(s.path, time.Now())
		if err != nil {
			return nil, nil, fmt.Errorf("state file %s is damaged (%v) and cannot be moved aside: %w", s.path, perr, err)
		}
		s.st = fresh()
		warnings = append(warnings, fmt.Errorf("state file %s was damaged (%v); moved it to %s and started with empty state (backup times and job history are forgotten, backups are not)", s.path, perr, aside))
	}
	return s, warnings, nil
}

// moveAside renames path to path.corrupt-<UTC time>, never over an earlier
// damaged copy: each may be what someone wants to inspect.
func moveAside(path string, now time.Time) (string, error) {
	base := path + ".corrupt-" + now.UTC().Format("20060102T150405Z")
	aside := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(aside); errors.Is(err, os.ErrNotExist) {
			break
		}
		aside = fmt.Sprintf("%s-%d", base, i)
	}
	return aside, os.Rename(path, aside)
}

func (s *Store) decode(data []byte) error {
	var f file
	if err := json.Unmarshal(data, &f); err != nil {
		return err
	}
	if f.Version != version {
		return fmt.Errorf("format version %d, want %d", f.Version, version)
	}
	if f.Profiles == nil {
		f.Profiles = map[string]ProfileState{}
	}
	if f.Drives == nil {
		f.Drives = map[string]DriveState{}
	}
	if len(f.Jobs) > MaxJobs {
		f.Jobs = f.Jobs[len(f.Jobs)-MaxJobs:]
	}
	for _, j := range f.Jobs {
		f.NextJobID = max(f.NextJobID, j.ID+1)
	}
	s.st = f
	return nil
}

// Profile returns the state of the named profile; the zero ProfileState if
// it has none yet.
func (s *Store) Profile(name string) ProfileState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.Profiles[name]
}

// UpdateProfile changes the named profile's state with fn and saves. If the
// save fails, the change is undone and the error returned. fn runs with the
// store locked: it must not call the Store.
func (s *Store) UpdateProfile(name string, fn func(*ProfileState)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, had := s.st.Profiles[name]
	ps := old
	fn(&ps)
	s.st.Profiles[name] = ps
	if err := s.save(); err != nil {
		if had {
			s.st.Profiles[name] = old
		} else {
			delete(s.st.Profiles, name)
		}
		return err
	}
	return nil
}

// RemoveProfile forgets a profile's state (its jobs stay in the history).
func (s *Store) RemoveProfile(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, had := s.st.Profiles[name]
	if !had {
		return nil
	}
	delete(s.st.Profiles, name)
	if err := s.save(); err != nil {
		s.st.Profiles[name] = old
		return err
	}
	return nil
}

// Drive returns the state of the drive with filesystem UUID uuid; the zero
// DriveState if it was never seen.
func (s *Store) Drive(uuid string) DriveState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.Drives[uuid]
}

// Drives returns every drive's state by UUID, a copy.
func (s *Store) Drives() map[string]DriveState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]DriveState, len(s.st.Drives))
	for k, v := range s.st.Drives {
		out[k] = v
	}
	return out
}

// UpdateDrive changes a drive's state with fn and saves; like
// UpdateProfile, a failed save is undone.
func (s *Store) UpdateDrive(uuid string, fn func(*DriveState)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, had := s.st.Drives[uuid]
	ds := old
	fn(&ds)
	s.st.Drives[uuid] = ds
	if err := s.save(); err != nil {
		if had {
			s.st.Drives[uuid] = old
		} else {
			delete(s.st.Drives, uuid)
		}
		return err
	}
	return nil
}

// ForgetDrive drops what is kept of a drive (one that was only seen,
// never used).
func (s *Store) ForgetDrive(uuid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, had := s.st.Drives[uuid]
	if !had {
		return nil
	}
	delete(s.st.Drives, uuid)
	if err := s.save(); err != nil {
		s.st.Drives[uuid] = old
		return err
	}
	return nil
}

// NextJobID returns a job id never returned before, also across restarts
// as far as saved state reaches: ids continue after the highest saved one.
// It saves nothing itself; the counter is saved with the next change.
func (s *Store) NextJobID() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.NextJobID == 0 {
		s.st.NextJobID = 1 // 0 is no job
	}
	id := s.st.NextJobID
	s.st.NextJobID++
	return id
}

// AddJob appends a finished job to the history, dropping the oldest beyond
// MaxJobs, and saves.
func (s *Store) AddJob(j JobRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, oldNext := s.st.Jobs, s.st.NextJobID
	jobs := make([]JobRecord, 0, min(len(old)+1, MaxJobs))
	if len(old)+1 > MaxJobs {
		old = old[len(old)+1-MaxJobs:]
	}
	jobs = append(append(jobs, old...), j)
	s.st.Jobs = jobs
	s.st.NextJobID = max(s.st.NextJobID, j.ID+1)
	if err := s.save(); err != nil {
		s.st.Jobs, s.st.NextJobID = old, oldNext
		return err
	}
	return nil
}

// Jobs returns the history, oldest first, a copy.
func (s *Store) Jobs() []JobRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]JobRecord(nil), s.st.Jobs...)
}

// save writes the state atomically; s.mu is held. The file is 0600: it
// is the service's own.
func (s *Store) save() error {
	data, err := json.MarshalIndent(&s.st, "", "\t")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := atomicfile.Write(s.path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("save state %s: %w", s.path, err)
	}
	return nil
}
