package fsmeta

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os/user"
	"sort"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/keepsake/keepsake/service/internal/longpath"
)

// Type is the kind of a file system entry. 0 is Unknown, as in the D-Bus API.
type Type uint8

const (
	Unknown Type = iota
	File
	Dir
	Symlink
	Fifo
	Socket
	CharDev
	BlockDev
)

var typeNames = [...]string{"unknown", "file", "dir", "symlink", "fifo", "socket", "chardev", "blockdev"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "unknown"
}

// Stored reports whether entries of this type get a copy in a snapshot tree.
// Sockets, device nodes and fifos are only recorded in the catalog: a backup
// drive mounted nosuid,nodev should never hold device nodes.
func (t Type) Stored() bool { return t == File || t == Dir || t == Symlink }

// Xattr is one extended attribute.
type Xattr struct {
	Name  string
	Value []byte
}

// Meta is everything Keepsake records about one entry.
type Meta struct {
	Type       Type
	Mode       uint32 // permission bits with setuid, setgid and sticky (07777)
	UID, GID   uint32
	User       string
	Group      string
	Size       int64
	MtimeNs    int64
	CtimeNs    int64
	Dev, Ino   uint64
	Nlink      uint64
	Rdev       uint64
	LinkTarget string
	Xattrs     []Xattr
}

// FromStat fills the stat-derived fields of a Meta.
func FromStat(st *unix.Stat_t) Meta {
	m := Meta{
		Mode:    st.Mode & 07777,
		UID:     st.Uid,
		GID:     st.Gid,
		Size:    st.Size,
		MtimeNs: st.Mtim.Nano(),
		CtimeNs: st.Ctim.Nano(),
		Dev:     st.Dev,
		Ino:     st.Ino,
		Nlink:   uint64(st.Nlink),
		Rdev:    st.Rdev,
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		m.Type = File
	case unix.S_IFDIR:
		m.Type = Dir
	case unix.S_IFLNK:
		m.Type = Symlink
	case unix.S_IFIFO:
		m.Type = Fifo
	case unix.S_IFSOCK:
		m.Type = Socket
	case unix.S_IFCHR:
		m.Type = CharDev
	case unix.S_IFBLK:
		m.Type = BlockDev
	}
	if m.Type != File {
		// Only regular files have a content size worth keeping.
		m.Size = 0
	}
	return m
}

// Lstat reads the metadata of path without following a final symlink,
// including the symlink target, xattrs and owner names.
// path may be longer than PATH_MAX.
func Lstat(path string) (Meta, error) {
	dirfd, name, done, err := longpath.Split(path)
	if err != nil {
		return Meta{}, fmt.Errorf("lstat %s: %w", path, err)
	}
	defer done()
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return Meta{}, fmt.Errorf("lstat %s: %w", path, err)
	}
	m := FromStat(&st)
	if err := m.CompleteAt(dirfd, name); err != nil {
		return m, err
	}
	return m, nil
}

// Complete adds what a stat does not give: symlink target, xattrs and names.
// path may be longer than PATH_MAX.
func (m *Meta) Complete(path string) error {
	dirfd, name, done, err := longpath.Split(path)
	if err != nil {
		return fmt.Errorf("open the folder of %s: %w", path, err)
	}
	defer done()
	return m.CompleteAt(dirfd, name)
}

// CompleteAt is Complete for name in the open folder dirfd, the way the
// engine's walk knows its entries.
func (m *Meta) CompleteAt(dirfd int, name string) error {
	if m.Type == Symlink {
		t, err := readlinkAt(dirfd, name)
		if err != nil {
			return err
		}
		m.LinkTarget = t
	}
	// The xattr calls take no directory descriptor: name the entry through
	// the descriptor's /proc link, which stays short however deep it is.
	p := name
	if dirfd != unix.AT_FDCWD {
		p = "/proc/self/fd/" + strconv.Itoa(dirfd) + "/" + name
	}
	xs, err := readXattrs(p, name)
	if err != nil {
		return err
	}
	m.Xattrs = xs
	m.User, m.Group = UserName(m.UID), GroupName(m.GID)
	return nil
}

func readlinkAt(dirfd int, name string) (string, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", fmt.Errorf("readlink %s: %w", name, err)
		}
		if n < len(buf) {
			return string(buf[:n]), nil
		}
		buf = make([]byte, 2*len(buf))
	}
}

// ReadXattrs lists and reads every extended attribute of path (not following
// symlinks), sorted by name. A filesystem without xattr support gives none.
func ReadXattrs(path string) ([]Xattr, error) { return readXattrs(path, path) }

// readXattrs reads the xattrs of path and names it shown in errors.
func readXattrs(path, shown string) ([]Xattr, error) {
	size, err := unix.Llistxattr(path, nil)
	if err != nil || size == 0 {
		if err != nil && !unsupported(err) {
			return nil, fmt.Errorf("list xattrs of %s: %w", shown, err)
		}
		return nil, nil
	}
	names := make([]byte, size)
	size, err = unix.Llistxattr(path, names)
	if err != nil {
		return nil, fmt.Errorf("list xattrs of %s: %w", shown, err)
	}
	var out []Xattr
	for _, n := range bytes.Split(names[:size], []byte{0}) {
		if len(n) == 0 {
			continue
		}
		name := string(n)
		v, err := getxattr(path, name)
		if err != nil {
			if errors.Is(err, unix.ENODATA) {
				continue // removed between list and get
			}
			return nil, fmt.Errorf("read xattr %s of %s: %w", name, shown, err)
		}
		out = append(out, Xattr{Name: name, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func getxattr(path, name string) ([]byte, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Lgetxattr(path, name, buf)
		if errors.Is(err, unix.ERANGE) {
			sz, err2 := unix.Lgetxattr(path, name, nil)
			if err2 != nil {
				return nil, err2
			}
			buf = make([]byte, sz+1)
			continue
		}
		if err != nil {
			return nil, err
		}
		return append([]byte(nil), buf[:n]...), nil
	}
}

func unsupported(err error) bool {
	return errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS)
}

// EncodeXattrs packs xattrs into one blob for the catalog: for each, a
// uvarint name length, the name, a uvarint value length and the value.
func EncodeXattrs(xs []Xattr) []byte {
	if len(xs) == 0 {
		return nil
	}
	var b []byte
	for _, x := range xs {
		b = binary.AppendUvarint(b, uint64(len(x.Name)))
		b = append(b, x.Name...)
		b = binary.AppendUvarint(b, uint64(len(x.Value)))
		b = append(b, x.Value...)
	}
	return b
}

// DecodeXattrs is the inverse of EncodeXattrs.
func DecodeXattrs(b []byte) ([]Xattr, error) {
	var out []Xattr
	for len(b) > 0 {
		name, rest, err := chunk(b)
		if err != nil {
			return nil, err
		}
		val, rest, err := chunk(rest)
		if err != nil {
			return nil, err
		}
		out = append(out, Xattr{Name: string(name), Value: append([]byte{}, val...)})
		b = rest
	}
	return out, nil
}

func chunk(b []byte) ([]byte, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return nil, nil, errors.New("decode xattrs: truncated")
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}

var names struct {
	sync.Mutex
	users, groups map[uint32]string
}

// UserName returns the login name for uid, or "" when unknown. Results are
// cached: a backup asks for the same few ids hundreds of thousands of times.
func UserName(uid uint32) string {
	return lookupCached(&names.users, uid, func(s string) (string, error) {
		u, err := user.LookupId(s)
		if err != nil {
			return "", err
		}
		return u.Username, nil
	})
}

// GroupName returns the group name for gid, or "" when unknown.
func GroupName(gid uint32) string {
	return lookupCached(&names.groups, gid, func(s string) (string, error) {
		g, err := user.LookupGroupId(s)
		if err != nil {
			return "", err
		}
		return g.Name, nil
	})
}

func lookupCached(m *map[uint32]string, id uint32, look func(string) (string, error)) string {
	names.Lock()
	defer names.Unlock()
	if *m == nil {
		*m = map[uint32]string{}
	}
	if n, ok := (*m)[id]; ok {
		return n
	}
	n, err := look(strconv.FormatUint(uint64(id), 10))
	if err != nil {
		n = ""
	}
	(*m)[id] = n
	return n
}
