package fscrypt

import (
	"crypto/hkdf"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// KeySize is the size of a master key for a v2 policy: the kernel derives
// every per-file key from it with HKDF-SHA512, so it takes the largest key
// it accepts.
const KeySize = unix.FSCRYPT_MAX_KEY_SIZE

// The modes of every policy Keepsake sets.
const (
	ContentsMode  = unix.FSCRYPT_MODE_AES_256_XTS
	FilenamesMode = unix.FSCRYPT_MODE_AES_256_CTS
	// Flags pads encrypted names to 32 bytes, so their lengths say less.
	Flags = unix.FSCRYPT_POLICY_FLAGS_PAD_32
)

// Errors to test with errors.Is; the errors returned wrap them in named
// ones (shared/kerr) with a message saying which folder and what to do.
var (
	// ErrNotSupported: the filesystem cannot encrypt at all (tmpfs, xfs,
	// btrfs, FAT...).
	ErrNotSupported = errors.New("the filesystem does not support encryption")
	// ErrFeatureOff: an ext4 filesystem made without the encrypt feature.
	ErrFeatureOff = errors.New("encryption is not enabled on this ext4 filesystem")
	// ErrNotEncrypted: the folder has no encryption policy.
	ErrNotEncrypted = errors.New("the folder is not encrypted")
	// ErrNotEmpty: a policy can only be set on an empty folder.
	ErrNotEmpty = errors.New("the folder is not empty")
	// ErrOtherPolicy: the folder is already encrypted, with another key
	// or other settings.
	ErrOtherPolicy = errors.New("the folder is already encrypted differently")
	// ErrKeyNotAdded: a v2 policy names a key this user has not added.
	ErrKeyNotAdded = errors.New("the key has not been added")
	// ErrFilesBusy: the key was removed but files using it are still
	// open; they stay readable until closed.
	ErrFilesBusy = errors.New("files using the key are still open")
)

// KeyID is the identifier the kernel derives from a key (HKDF-SHA512): it
// names the key in policies and in the keyring, and reveals nothing of it.
type KeyID [unix.FSCRYPT_KEY_IDENTIFIER_SIZE]byte

func (id KeyID) String() string { return hex.EncodeToString(id[:]) }

// Identifier computes the identifier the kernel derives from a v2 key
// (HKDF-SHA512, info "fscrypt\0" and context 1, as in fs/crypto/keyring.c),
// so a key can be checked against a stored identifier without the kernel.
func Identifier(key []byte) (KeyID, error) {
	var id KeyID
	b, err := hkdf.Key(sha512.New, key, nil, "fscrypt\x00\x01", len(id))
	if err != nil {
		return id, fmt.Errorf("key identifier: %w", err)
	}
	copy(id[:], b)
	return id, nil
}

// ParseKeyID reads a KeyID written by String.
func ParseKeyID(s string) (KeyID, error) {
	var id KeyID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("key identifier %q: want %d hex digits", s, 2*len(id))
	}
	copy(id[:], b)
	return id, nil
}

// Policy is a folder's encryption policy.
type Policy struct {
	Version   int // 2 (Keepsake never sets v1; a v1 folder reads as 1)
	Contents  uint8
	Filenames uint8
	Flags     uint8
	Key       KeyID // v2 only
}

// KeyStatus says whether a key is in the filesystem's keyring.
type KeyStatus int

const (
	KeyAbsent KeyStatus = iota
	KeyPresent
	// KeyIncompletelyRemoved: removed, but files using it were still
	// open; removing it again finishes once they are closed.
	KeyIncompletelyRemoved
)

func (s KeyStatus) String() string {
	switch s {
	case KeyPresent:
		return "present"
	case KeyIncompletelyRemoved:
		return "incompletely removed"
	}
	return "absent"
}

// FolderStatus is what Status finds out about a folder.
type FolderStatus struct {
	Encrypted bool
	Policy    Policy
	Key       KeyStatus // of Policy.Key; KeyAbsent when not encrypted
}

// Unlocked says whether the folder's contents can be read: not encrypted,
// or encrypted with its key present.
func (s FolderStatus) Unlocked() bool { return !s.Encrypted || s.Key == KeyPresent }

// RemoveScope says whose claims to a key RemoveKey drops.
type RemoveScope int

const (
	// OwnClaim drops this user's claim; the key goes only when no other
	// user has added it too.
	OwnClaim RemoveScope = iota
	// AllUsers drops every user's claim (root only): the folder is locked
	// for everyone.
	AllUsers
)

// RemoveResult says what else RemoveKey found.
type RemoveResult struct {
	// OtherUsers: other users still hold the key (OwnClaim only), so it
	// stays.
	OtherUsers bool
}

func ioctl(fd int, req uint, arg unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}

// open opens a folder (or any file) for an ioctl, without following a
// final symlink: the ioctls act on the inode, not on what a name points at.
func open(path string) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return fd, nil
}

// SetPolicy encrypts the empty folder dir with the key id (added first
// with AddKey, or by root). A folder that already has exactly this policy
// is left as it is.
func SetPolicy(dir string, id KeyID) error {
	fd, err := open(dir)
	if err != nil {
		return fmt.Errorf("encrypt %s: %w", dir, err)
	}
	defer unix.Close(fd)
	p := unix.FscryptPolicyV2{
		Version:                   unix.FSCRYPT_POLICY_V2,
		Contents_encryption_mode:  ContentsMode,
		Filenames_encryption_mode: FilenamesMode,
		Flags:                     Flags,
		Master_key_identifier:     id,
	}
	err = ioctl(fd, unix.FS_IOC_SET_ENCRYPTION_POLICY, unsafe.Pointer(&p))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EEXIST):
		return kerr.Wrap(kerr.InvalidArgs, ErrOtherPolicy, "encrypt %s: it is already encrypted with another key or settings", dir)
	case errors.Is(err, unix.ENOTEMPTY):
		return kerr.Wrap(kerr.InvalidArgs, ErrNotEmpty, "encrypt %s: only an empty folder can be encrypted", dir)
	case errors.Is(err, unix.ENOKEY):
		return fmt.Errorf("encrypt %s: %w (%v)", dir, ErrKeyNotAdded, err)
	case errors.Is(err, unix.ENOTDIR):
		return kerr.Wrap(kerr.InvalidArgs, err, "encrypt %s: not a folder", dir)
	}
	return unsupported(dir, fd, "encrypt", err)
}

// unsupported turns the errors of a filesystem that cannot encrypt into
// named ones that say what to do; others are returned with context.
func unsupported(dir string, fd int, op string, err error) error {
	if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.ENOTTY) && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("%s %s: %w", op, dir, err)
	}
	var st unix.Statfs_t
	if unix.Fstatfs(fd, &st) == nil && st.Type == unix.EXT4_SUPER_MAGIC && errors.Is(err, unix.EOPNOTSUPP) {
		dev := deviceOf(fd)
		return kerr.Wrap(kerr.UnsupportedFilesystem, ErrFeatureOff,
			"%s %s: the ext4 filesystem on %s was made without the encrypt feature (%v). "+
				"Enable it once, with the drive unmounted: umount %s && tune2fs -O encrypt %s (its data stays as it is); then mount it again",
			op, dir, dev, err, dev, dev)
	}
	if errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("%s %s: the kernel refused the encryption policy (AES-256-XTS/CTS, v2): %w", op, dir, err)
	}
	return kerr.Wrap(kerr.UnsupportedFilesystem, ErrNotSupported,
		"%s %s: its filesystem (%s) cannot encrypt folders (%v): encrypted Keepsake drives need ext4 (formatted with mkfs.ext4 -O encrypt, or enabled later with tune2fs -O encrypt)",
		op, dir, fsName(fd), err)
}

// deviceOf names the block device holding fd's filesystem, for a message
// ("/dev/sdb1"); "the drive's device" when sysfs does not say.
func deviceOf(fd int) string {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return "the drive's device"
	}
	b, err := os.ReadFile(fmt.Sprintf("/sys/dev/block/%d:%d/uevent", unix.Major(st.Dev), unix.Minor(st.Dev)))
	if err != nil {
		return "the drive's device"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if name, ok := strings.CutPrefix(l, "DEVNAME="); ok {
			return "/dev/" + name
		}
	}
	return "the drive's device"
}

func fsName(fd int) string {
	var st unix.Statfs_t
	if unix.Fstatfs(fd, &st) != nil {
		return "unknown"
	}
	switch st.Type {
	case unix.EXT4_SUPER_MAGIC:
		return "ext4"
	case unix.XFS_SUPER_MAGIC:
		return "xfs"
	case unix.BTRFS_SUPER_MAGIC:
		return "btrfs"
	case unix.TMPFS_MAGIC:
		return "tmpfs"
	case unix.MSDOS_SUPER_MAGIC:
		return "FAT"
	case unix.FUSE_SUPER_MAGIC:
		return "FUSE"
	}
	return fmt.Sprintf("type %#x", st.Type)
}

// GetPolicy reads the encryption policy of path; ErrNotEncrypted (not
// named: a plain folder is no user's mistake) when it has none.
func GetPolicy(path string) (Policy, error) {
	fd, err := open(path)
	if err != nil {
		return Policy{}, fmt.Errorf("read the encryption policy of %s: %w", path, err)
	}
	defer unix.Close(fd)
	return getPolicy(path, fd)
}

func getPolicy(path string, fd int) (Policy, error) {
	var arg unix.FscryptGetPolicyExArg
	arg.Size = uint64(len(arg.Policy))
	err := ioctl(fd, unix.FS_IOC_GET_ENCRYPTION_POLICY_EX, unsafe.Pointer(&arg))
	switch {
	case errors.Is(err, unix.ENODATA):
		return Policy{}, fmt.Errorf("%s: %w", path, ErrNotEncrypted)
	case err != nil:
		return Policy{}, unsupported(path, fd, "read the encryption policy of", err)
	}
	b := arg.Policy[:arg.Size]
	switch b[0] {
	case unix.FSCRYPT_POLICY_V2:
		v2 := (*unix.FscryptPolicyV2)(unsafe.Pointer(&arg.Policy[0]))
		return Policy{Version: 2, Contents: v2.Contents_encryption_mode, Filenames: v2.Filenames_encryption_mode,
			Flags: v2.Flags, Key: v2.Master_key_identifier}, nil
	case unix.FSCRYPT_POLICY_V1:
		return Policy{Version: 1, Contents: b[1], Filenames: b[2], Flags: b[3]}, nil
	}
	return Policy{}, fmt.Errorf("read the encryption policy of %s: unknown policy version %d", path, b[0])
}

// Status says whether path is encrypted and, for a v2 policy, whether its
// key is in the filesystem's keyring. Any user may ask.
func Status(path string) (FolderStatus, error) {
	fd, err := open(path)
	if err != nil {
		return FolderStatus{}, fmt.Errorf("encryption status of %s: %w", path, err)
	}
	defer unix.Close(fd)
	p, err := getPolicy(path, fd)
	if errors.Is(err, ErrNotEncrypted) {
		return FolderStatus{}, nil
	}
	if err != nil {
		return FolderStatus{}, err
	}
	st := FolderStatus{Encrypted: true, Policy: p}
	if p.Version != 2 {
		return st, nil
	}
	st.Key, err = keyStatus(path, fd, p.Key)
	return st, err
}

// KeyStatusOf says whether key id is in the keyring of the filesystem
// holding path.
func KeyStatusOf(path string, id KeyID) (KeyStatus, error) {
	fd, err := open(path)
	if err != nil {
		return KeyAbsent, fmt.Errorf("key status on %s: %w", path, err)
	}
	defer unix.Close(fd)
	return keyStatus(path, fd, id)
}

func keyStatus(path string, fd int, id KeyID) (KeyStatus, error) {
	var arg unix.FscryptGetKeyStatusArg
	arg.Key_spec = spec(id)
	if err := ioctl(fd, unix.FS_IOC_GET_ENCRYPTION_KEY_STATUS, unsafe.Pointer(&arg)); err != nil {
		return KeyAbsent, unsupported(path, fd, "key status on", err)
	}
	switch arg.Status {
	case unix.FSCRYPT_KEY_STATUS_PRESENT:
		return KeyPresent, nil
	case unix.FSCRYPT_KEY_STATUS_INCOMPLETELY_REMOVED:
		return KeyIncompletelyRemoved, nil
	}
	return KeyAbsent, nil
}

func spec(id KeyID) unix.FscryptKeySpecifier {
	s := unix.FscryptKeySpecifier{Type: unix.FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER}
	copy(s.U[:], id[:])
	return s
}

// mountRoot walks up from path to the top folder of its filesystem.
func mountRoot(path string) (string, error) {
	p, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return "", &os.PathError{Op: "stat", Path: p, Err: err}
	}
	for p != "/" {
		var up unix.Stat_t
		if err := unix.Lstat(filepath.Dir(p), &up); err != nil || up.Dev != st.Dev {
			break
		}
		p = filepath.Dir(p)
	}
	return p, nil
}

// addKeyArg is struct fscrypt_add_key_arg followed by its flexible raw[]
// member, laid out in one buffer as the kernel reads it.
type addKeyArg struct {
	unix.FscryptAddKeyArg
	raw [KeySize]byte
}

// AddKey adds key to the keyring of the filesystem holding path and
// returns the identifier the kernel derived from it. Adding a key that is
// there already is no error. The key must be KeySize bytes.
func AddKey(path string, key []byte) (KeyID, error) {
	if len(key) != KeySize {
		return KeyID{}, fmt.Errorf("add key on %s: key of %d bytes, want %d", path, len(key), KeySize)
	}
	fd, err := open(path)
	if err != nil {
		return KeyID{}, fmt.Errorf("add key on %s: %w", path, err)
	}
	defer unix.Close(fd)
	var arg addKeyArg
	// The kernel fills in the identifier; it reads the key from raw[].
	arg.Key_spec.Type = unix.FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER
	arg.Raw_size = uint32(len(key))
	copy(arg.raw[:], key)
	err = ioctl(fd, unix.FS_IOC_ADD_ENCRYPTION_KEY, unsafe.Pointer(&arg))
	clear(arg.raw[:]) // the secret is in the kernel now; no copy stays here
	if err != nil {
		if errors.Is(err, unix.EDQUOT) {
			return KeyID{}, fmt.Errorf("add key on %s: this user's key quota is used up: %w", path, err)
		}
		return KeyID{}, unsupported(path, fd, "add key on", err)
	}
	var id KeyID
	copy(id[:], arg.Key_spec.U[:len(id)])
	return id, nil
}

// RemoveKey removes key id from the keyring of the filesystem holding
// path, so that the folders it encrypts show only encrypted names. The
// kernel syncs and evicts their files first; files still open keep it
// (ErrFilesBusy, named Busy) until closed. A key that is not there is
// no error.
func RemoveKey(path string, id KeyID, scope RemoveScope) (RemoveResult, error) {
	// The ioctl goes to the filesystem's root: a descriptor on the
	// encrypted folder itself would be one of the open files that keep
	// the key.
	root, err := mountRoot(path)
	if err != nil {
		return RemoveResult{}, fmt.Errorf("remove key from %s: %w", path, err)
	}
	fd, err := open(root)
	if err != nil {
		return RemoveResult{}, fmt.Errorf("remove key from %s: %w", path, err)
	}
	defer unix.Close(fd)
	var arg unix.FscryptRemoveKeyArg
	arg.Key_spec = spec(id)
	req := uint(unix.FS_IOC_REMOVE_ENCRYPTION_KEY)
	if scope == AllUsers {
		req = unix.FS_IOC_REMOVE_ENCRYPTION_KEY_ALL_USERS
	}
	err = ioctl(fd, req, unsafe.Pointer(&arg))
	switch {
	case errors.Is(err, unix.ENOKEY):
		return RemoveResult{}, nil // not there: locked already
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return RemoveResult{}, kerr.Wrap(kerr.NotAuthorized, err, "remove key from %s for all users: only root may", path)
	case err != nil:
		return RemoveResult{}, unsupported(path, fd, "remove key from", err)
	}
	res := RemoveResult{OtherUsers: arg.Removal_status_flags&unix.FSCRYPT_KEY_REMOVAL_STATUS_FLAG_OTHER_USERS != 0}
	if arg.Removal_status_flags&unix.FSCRYPT_KEY_REMOVAL_STATUS_FLAG_FILES_BUSY != 0 {
		return res, kerr.Wrap(kerr.Busy, ErrFilesBusy, "remove key from %s: files in the encrypted folder are still open (close them, then lock again)", path)
	}
	return res, nil
}
