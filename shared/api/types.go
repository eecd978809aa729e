package api

import (
	"encoding/json"
	"fmt"
	"github.com/godbus/dbus/v5"
	"strconv"
	"time"
)

// Mode is a file's permission bits (and setuid, setgid, sticky): u on the
// bus, "0644" in JSON.
type Mode uint32

func (m Mode) String() string { return fmt.Sprintf("%04o", uint32(m)) }

// MarshalJSON writes the octal form people read.
func (m Mode) MarshalJSON() ([]byte, error) { return json.Marshal(m.String()) }

// UnmarshalJSON reads the octal form.
func (m *Mode) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	n, err := strconv.ParseUint(s, 8, 32)
	*m = Mode(n)
	return err
}

// Entry types.
const (
	TypeFile    = "file"
	TypeDir     = "dir"
	TypeSymlink = "symlink"
)

// Snapshot is one snapshot of a host (ListSnapshots).
type Snapshot struct {
	Name   string    `key:"name" json:"name"`
	Host   string    `key:"host" json:"host"`
	Time   time.Time `key:"time" json:"time"`
	Files  uint64    `key:"files" json:"files"`
	Bytes  uint64    `key:"bytes" json:"bytes"`
	Pinned bool      `key:"pinned" json:"pinned"`
}

// Entry is a file, folder or link as a snapshot holds it (ListDirectory).
type Entry struct {
	Path Path `key:"path" json:"path"`
	Name Path `key:"name" json:"name"`
	// Type is file, dir, symlink, fifo, socket, chardev or blockdev.
	Type  string    `key:"type" json:"type"`
	Size  uint64    `key:"size" json:"size"`
	Mode  Mode      `key:"mode" json:"mode"`
	UID   uint32    `key:"uid" json:"uid"`
	GID   uint32    `key:"gid" json:"gid"`
	User  string    `key:"user" json:"user"`
	Group string    `key:"group" json:"group"`
	Mtime time.Time `key:"mtime" json:"mtime"`
	// Target is a symlink's target ("" otherwise).
	Target Path `key:"target" json:"target"`
	// SHA256 is a file's content hash in hex ("" for other types).
	SHA256 string `key:"sha256" json:"sha256"`
}

// SearchHit is one version of a file whose name matched (Search).
type SearchHit struct {
	Entry
	// Snapshots hold this version, oldest first.
	Snapshots []string  `key:"snapshots" json:"snapshots"`
	First     time.Time `key:"first" json:"first"`
	Last      time.Time `key:"last" json:"last"`
}

// Version is one distinct content a file had (Versions).
type Version struct {
	SHA256 string    `key:"sha256" json:"sha256"`
	Size   uint64    `key:"size" json:"size"`
	Mtime  time.Time `key:"mtime" json:"mtime"`
	// Paths it had while it had this content (renames followed).
	Paths     []Path    `key:"paths" json:"paths"`
	Snapshots []string  `key:"snapshots" json:"snapshots"`
	First     time.Time `key:"first" json:"first"`
	Last      time.Time `key:"last" json:"last"`
}

// DeletedFile is a file gone from a folder (Deleted).
type DeletedFile struct {
	Entry
	// LastSnapshot is the newest snapshot that holds it.
	LastSnapshot string `key:"last-snapshot" json:"last_snapshot"`
}

// Status is a profile's state as /run/keepsake/status.json says (GetStatus).
type Status struct {
	Name         string    `key:"name" json:"name"`
	State        string    `key:"state" json:"state"`
	Result       string    `key:"result" json:"result"`
	Message      string    `key:"message" json:"message"`
	LastSuccess  time.Time `key:"last-success" json:"last_success"`
	LastAttempt  time.Time `key:"last-attempt" json:"last_attempt"`
	NextDue      time.Time `key:"next-due" json:"next_due"`
	Drive        string    `key:"drive" json:"drive"`
	DrivePresent bool      `key:"drive-present" json:"drive_present"`
	// TargetFree is -1 when unknown.
	TargetFree int64 `key:"target-free" json:"target_free"`
	// Host is the computer, as named on the drive; Remote: another
	// computer pulled over ssh.
	Host   string `key:"host" json:"host"`
	Remote bool   `key:"remote" json:"remote"`
	// AgeHours since the last success, -1 for never; Overdue: older than
	// the profile's overdue-days.
	AgeHours int64 `key:"age-hours" json:"age_hours"`
	Overdue  bool  `key:"overdue" json:"overdue"`
	// Received is what the last pull transferred, -1 if unknown.
	Received int64 `key:"received" json:"received"`
}

// FlatpakRef is an app or runtime a snapshot recorded, beside what is
// installed now (ListFlatpaks).
type FlatpakRef struct {
	// Installation is "system" or "user:NAME".
	Installation  string `key:"installation" json:"installation"`
	Ref           string `key:"ref" json:"ref"`
	Kind          string `key:"kind" json:"kind"`
	ID            string `key:"id" json:"id"`
	Branch        string `key:"branch" json:"branch"`
	Origin        string `key:"origin" json:"origin"`
	Version       string `key:"version" json:"version"`
	Commit        string `key:"commit" json:"commit"`
	InstalledSize uint64 `key:"installed-size" json:"installed_size"`
	// State: missing, older, newer, same or different; unknown when
	// this machine's installation could not be looked at.
	State            string `key:"state" json:"state"`
	InstalledVersion string `key:"installed-version" json:"installed_version"`
	// Data: the snapshot holds the caller's ~/.var/app/ID.
	Data bool `key:"data" json:"data"`
}

// BackupResult is the Result of a backup Job.
type BackupResult struct {
	Snapshot    string `key:"snapshot" json:"snapshot"`
	Files       uint64 `key:"files" json:"files"`
	Dirs        uint64 `key:"dirs" json:"dirs"`
	Bytes       uint64 `key:"bytes" json:"bytes"`
	Copied      uint64 `key:"copied" json:"copied"`
	CopiedBytes uint64 `key:"copied-bytes" json:"copied_bytes"`
	New         uint64 `key:"new" json:"new"`
	Modified    uint64 `key:"modified" json:"modified"`
	Deleted     uint64 `key:"deleted" json:"deleted"`
	Moved       uint64 `key:"moved" json:"moved"`
	ReadDirs    uint64 `key:"read-dirs" json:"read_dirs"`
	ReusedDirs  uint64 `key:"reused-dirs" json:"reused_dirs"`
	// PatchedDirs are folders of which only the entries the watcher saw
	// change were looked at (a btrfs drive).
	PatchedDirs uint64 `key:"patched-dirs" json:"patched_dirs"`
	FullScan    bool   `key:"full-scan" json:"full_scan"`
	Warnings    uint32 `key:"warnings" json:"warnings"`
	// Received is what a pull of another computer transferred.
	Received uint64 `key:"received" json:"received"`
	// Problems are the entries the backup could not take, each as "PATH:
	// what happened" (at most MaxProblems; Warnings counts them all): an
	// unreadable file, one that vanished, a name the drive refuses. A
	// backup with problems completed: it is "partial".
	Problems []string `key:"problems" json:"problems,omitempty"`
	// ProblemCount counts them all (Problems lists at most MaxProblems).
	ProblemCount uint32 `key:"problem-count" json:"problem_count"`
	// SkippedMounts are the mount points of other filesystems inside the
	// sources that were kept as empty folders (see Settings.IncludeMounts).
	SkippedMounts []Path `key:"skipped-mounts" json:"skipped_mounts,omitempty"`
}

// MaxProblems is how many problems a BackupResult lists.
const MaxProblems = 100

// HostKey is an ssh host key another computer offers (ScanHostKeys).
type HostKey struct {
	Type        string `key:"type" json:"type"`
	Fingerprint string `key:"fingerprint" json:"fingerprint"`
}

// RemoteKeyOptions are GetRemoteKey's options.
type RemoteKeyOptions struct {
	Auth
	// WriteDir asks for a key line that may only write into this folder
	// of the other computer (pushing restores back).
	WriteDir string `key:"write-dir"`
}

// RestoreResult is the Result of a restore Job.
type RestoreResult struct {
	Snapshot string `key:"snapshot" json:"snapshot"`
	Files    uint64 `key:"files" json:"files"`
	Dirs     uint64 `key:"dirs" json:"dirs"`
	Bytes    uint64 `key:"bytes" json:"bytes"`
	// Paths restored and where each went, in the same order.
	Paths    []Path `key:"paths" json:"paths"`
	Restored []Path `key:"restored" json:"restored"`
}

// PruneResult is the Result of a prune Job.
type PruneResult struct {
	DryRun bool `key:"dry-run" json:"dry_run"`
	// Policy is the retention policy applied, in words.
	Policy  string   `key:"policy" json:"policy"`
	Removed []string `key:"removed" json:"removed"`
	// RemovedFreed and RemovedWhy go with Removed, one each: the bytes
	// only that snapshot held, and why it went.
	RemovedFreed []uint64 `key:"removed-freed" json:"removed_freed"`
	RemovedWhy   []string `key:"removed-why" json:"removed_why"`
	// Kept is how many snapshots remain.
	Kept uint32 `key:"kept" json:"kept"`
	// Freed bytes (a dry run: an estimate); FreeAfter is the drive's free
	// space afterwards.
	Freed     uint64 `key:"freed" json:"freed"`
	FreeAfter uint64 `key:"free-after" json:"free_after"`
}

// VerifyResult is the Result of a verify Job.
type VerifyResult struct {
	// Snapshots checked.
	Snapshots []string `key:"snapshots" json:"snapshots"`
	Files     uint64   `key:"files" json:"files"`
	Bytes     uint64   `key:"bytes" json:"bytes"`
	// Slice of Of: the part of the content a sampled run checked (Of 0:
	// everything).
	Slice uint32 `key:"slice" json:"slice"`
	Of    uint32 `key:"of" json:"of"`
	// Damaged: "SNAPSHOT PATH: what is wrong", one per problem.
	Damaged         []string `key:"damaged" json:"damaged"`
	CatalogProblems []string `key:"catalog-problems" json:"catalog_problems"`
}

// DeviceInfo describes a block device before it is erased
// (Manager.DescribeDevice): what erasing it destroys, and the token that
// confirms it.
type DeviceInfo struct {
	// Device is the path under /dev.
	Device string `key:"device" json:"device"`
	Size   uint64 `key:"size" json:"size"`
	// Model is the vendor and model the kernel reports ("" for a loop
	// device); BackingFile is a loop device's image file.
	Model       string `key:"model" json:"model"`
	Removable   bool   `key:"removable" json:"removable"`
	Loop        bool   `key:"loop" json:"loop"`
	BackingFile string `key:"backing-file" json:"backing_file"`
	// Filesystem, Label and UUID are what is on the whole device now
	// ("" for none); PartitionTable is its type (dos, gpt) if it has one.
	Filesystem     string `key:"filesystem" json:"filesystem"`
	Label          string `key:"label" json:"label"`
	UUID           string `key:"uuid" json:"uuid"`
	PartitionTable string `key:"partition-table" json:"partition_table"`
	// Partitions: "NAME SIZE FILESYSTEM LABEL", one per partition.
	Partitions []string `key:"partitions" json:"partitions"`
	// Repository: it holds Keepsake backups (of any computer).
	Repository bool `key:"repository" json:"repository"`
	// Token names this device as it is now: PrepareDrive's confirm must
	// carry it, so that a drive swapped or changed since it was shown is
	// not erased.
	Token string `key:"token" json:"token"`
}

// PrepareOptions are Manager.PrepareDrive's options.
type PrepareOptions struct {
	Auth
	// Filesystem is btrfs (the default) or ext4.
	Filesystem string `key:"filesystem"`
	// Label is the new filesystem's label (default "Keepsake").
	Label string `key:"label"`
	// Confirm is the Token DescribeDevice gave.
	Confirm string `key:"confirm"`
	// Enroll (default true): false makes the filesystem and stops, so
	// that Drive.EnrollEncrypted can follow.
	Enroll *bool `key:"enroll"`
}

// PrepareResult is the Result of a prepare-drive Job.
type PrepareResult struct {
	Device     string `key:"device" json:"device"`
	UUID       string `key:"uuid" json:"uuid"`
	Label      string `key:"label" json:"label"`
	Filesystem string `key:"filesystem" json:"filesystem"`
	// Enrolled: the repository was written and the service backs up to
	// the drive once a profile names it.
	Enrolled bool `key:"enrolled" json:"enrolled"`
}

// Secret proves who may unlock an encrypted drive: its passphrase or its
// recovery key (as typed: case, spaces and dashes do not matter), one of
// the two.
type Secret struct {
	Passphrase  string `key:"passphrase"`
	RecoveryKey string `key:"recovery-key"`
}

// UnlockOptions are Drive.Unlock's options.
type UnlockOptions struct {
	Auth
	Secret
	// Remember keeps the key in the service (root-only), which then
	// unlocks the drive by itself; it needs configure besides.
	Remember bool `key:"remember"`
}

// ChangePassphraseOptions are Drive.ChangePassphrase's options: the
// current secret as proof, and the new passphrase (at least 8
// characters).
type ChangePassphraseOptions struct {
	Auth
	Secret
	NewPassphrase string `key:"new-passphrase"`
}

// EnrollEncryptedOptions are Drive.EnrollEncrypted's options.
type EnrollEncryptedOptions struct {
	Auth
	// Passphrase is the new drive's passphrase (at least 8 characters).
	Passphrase string `key:"passphrase"`
	// Profile is the object of the profile whose drive this becomes
	// (dbusapi.ProfilePath; "" for none).
	Profile dbus.ObjectPath `key:"profile"`
	// Remember keeps the key in the service, as Unlock's.
	Remember bool `key:"remember"`
	// EnableFeature turns on ext4's encrypt feature (tune2fs -O encrypt)
	// when it is off (Drive.Encryptable "feature-off").
	EnableFeature bool `key:"enable-feature"`
	// SetAside lets a drive that holds unencrypted backups take an
	// encrypted repository: the old one is renamed to "Keepsake (not
	// encrypted)" and kept as it is.
	SetAside bool `key:"set-aside"`
}

// The values of Drive.Encryptable besides "" (an encrypted repository can
// be made on it as it is).
const (
	// EncryptableFeatureOff: ext4 without the encrypt feature;
	// EnrollEncrypted with enable-feature turns it on.
	EncryptableFeatureOff = "feature-off"
	// EncryptableFilesystem: a filesystem this kernel cannot encrypt
	// (btrfs, xfs...); erasing it as ext4 (PrepareDrive) can.
	EncryptableFilesystem = "filesystem"
)
