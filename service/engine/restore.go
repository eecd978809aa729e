package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/fsmeta"
	"github.com/keepsake/keepsake/service/repo"
	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// RestoreOptions configure a restore.
type RestoreOptions struct {
	Host     string
	Snapshot string   // a name or "latest"
	Paths    []string // absolute source paths as backed up
	// To, if set, receives each item as To/<base name>; otherwise items go
	// back to where they were.
	To string
	// Overwrite replaces existing entries. Without it a clash restores
	// beside the existing entry as "name (restored YYYY-MM-DD HH.MM).ext".
	Overwrite bool
	Actor     catalog.Actor
	// Owner restores uid and gid; it defaults to on for root only.
	Owner *bool
	// As, when set, reads the snapshot and writes the destination with
	// these credentials instead of the process's (the service restores
	// for a user): the kernel then refuses what that user could not read
	// or write, and new files belong to the user. The catalog is still
	// read with the process's own rights.
	As *Credentials
	// ReadAll, with As, reads the stored files with the process's rights
	// and only writes with As's: for an administrator allowed to restore
	// any user's files (the caller has checked that).
	ReadAll  bool
	Progress func(Progress)
	Warn     func(Warning)
}

// RestoredItem says where one requested path went.
type RestoredItem struct {
	Path string `json:"path"`
	To   string `json:"to"`
}

// RestoreResult is the outcome of a restore.
type RestoreResult struct {
	Snapshot string         `json:"snapshot"`
	Items    []RestoredItem `json:"items"`
	Files    int64          `json:"files"`
	Dirs     int64          `json:"dirs"`
	Bytes    int64          `json:"bytes"`
	Warnings []Warning      `json:"warnings,omitempty"`
}

// Restore brings entries of a snapshot back. Every path below the
// destination is resolved with openat2 so that no symlink and no ".." can
// lead a write outside it, and only the restored items themselves get
// their recorded metadata: never the folders above them.
func Restore(ctx context.Context, r *repo.Repo, opts RestoreOptions) (*RestoreResult, error) {
	if len(opts.Paths) == 0 {
		return nil, kerr.New(kerr.InvalidArgs, "nothing to restore: give at least one path")
	}
	for _, p := range opts.Paths {
		if err := checkAbs(p); err != nil {
			return nil, err
		}
		if p == "/" {
			return nil, kerr.New(kerr.InvalidArgs, "restore a folder, not the whole snapshot root")
		}
	}
	if opts.To != "" {
		if strings.Contains(opts.To, "\x00") {
			return nil, kerr.New(kerr.InvalidArgs, "bad destination")
		}
		abs, err := filepath.Abs(opts.To)
		if err != nil {
			return nil, kerr.Wrap(kerr.InvalidArgs, err, "destination %q", opts.To)
		}
		opts.To = abs
	}
	cat, err := catalog.Open(r.CatalogPath())
	if err != nil {
		return nil, err
	}
	defer cat.Close()
	s, err := cat.Snapshot(opts.Host, opts.Snapshot)
	if err != nil {
		return nil, err
	}
	snapRoot, err := unix.Open(r.SnapshotDir(s.Host, s.Name), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open snapshot %s: %w", s.Name, err)
	}
	defer unix.Close(snapRoot)
	owner := os.Geteuid() == 0
	if opts.Owner != nil {
		owner = *opts.Owner
	}
	if opts.As != nil {
		owner = false // a user cannot give files away
	}
	rs := &restorer{ctx: ctx, cat: cat, snap: s, snapRoot: snapRoot, opts: opts, owner: owner,
		links: map[[2]uint64]placed{}, res: &RestoreResult{Snapshot: s.Name}, start: time.Now()}
	run := func() (*RestoreResult, error) {
		defer rs.setBase("/") // closes the last stored folder
		for _, p := range opts.Paths {
			if err := rs.item(p); err != nil {
				return rs.res, err
			}
		}
		return rs.res, nil
	}
	if opts.As != nil {
		return restoreAs(opts.As, run)
	}
	return run()
}

type placed struct {
	dirfd int
	name  string
}

type restorer struct {
	ctx      context.Context
	cat      *catalog.Catalog
	snap     catalog.Snapshot
	snapRoot int
	opts     RestoreOptions
	owner    bool
	links    map[[2]uint64]placed // source inode -> first restored name
	res      *RestoreResult
	start    time.Time
	fds      []int
	// base is the stored folder reads start from, baseDir its source
	// path ("" for the snapshot root). Restoring as a user, it is the
	// stored parent of the item, opened with the service's rights: the
	// snapshot's own folders are root's, and the caller was checked
	// against the stored owner and mode of the folders above the item.
	// Everything below it is read with the user's rights.
	base    int
	baseDir string
}

func (rs *restorer) item(p string) error {
	v, err := rs.cat.Lookup(rs.snap, p)
	if err != nil {
		return err
	}
	if err := rs.setBase(filepath.Dir(p)); err != nil {
		return err
	}
	parent := filepath.Dir(p)
	if rs.opts.To != "" {
		parent = rs.opts.To
	}
	dfd, err := openDestRoot(parent, rs.opts.To != "")
	if err != nil {
		return err
	}
	rs.fds = append(rs.fds, dfd)
	defer rs.closeFds()

	name := v.Name
	if exists(dfd, name) && !rs.opts.Overwrite {
		name = clashName(dfd, name, rs.snap.Time, v.Meta.Type == fsmeta.Dir)
	}
	top, err := rs.entry(dfd, name, v)
	if err != nil {
		return err
	}
	var dirs []dirApply
	if v.Meta.Type == fsmeta.Dir {
		dirs = append(dirs, dirApply{fd: top, meta: v.Meta, path: p})
		sub, err := rs.cat.Subtree(rs.snap, p)
		if err != nil {
			return err
		}
		fdOf := map[string]int{p: top}
		for _, c := range sub {
			if err := rs.ctx.Err(); err != nil {
				return kerr.Wrap(kerr.Cancelled, err, "restore cancelled")
			}
			pfd, ok := fdOf[c.Dir]
			if !ok {
				continue // under an entry that could not be restored
			}
			fd, err := rs.entry(pfd, c.Name, c)
			if err != nil {
				return err
			}
			if c.Meta.Type == fsmeta.Dir {
				fdOf[c.Path()] = fd
				dirs = append(dirs, dirApply{fd: fd, meta: c.Meta, path: c.Path()})
			}
		}
	}
	// Directories last, deepest first: creating children moves mtime.
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := fsmeta.ApplyFd(dirs[i].fd, dirs[i].meta, fsmeta.ApplyOptions{Owner: rs.owner, Xattrs: true}); err != nil {
			return fmt.Errorf("restore metadata of %s: %w", dirs[i].path, err)
		}
	}
	to := filepath.Join(parent, name)
	rs.res.Items = append(rs.res.Items, RestoredItem{Path: p, To: to})
	return rs.cat.Audit(rs.opts.Actor, "restored", rs.snap.Host, rs.snap.Name, p, "to "+to)
}

type dirApply struct {
	fd   int
	meta fsmeta.Meta
	path string
}

func (rs *restorer) closeFds() {
	for _, fd := range rs.fds {
		unix.Close(fd)
	}
	rs.fds = nil
	// The hardlink map holds descriptors just closed: a later item must
	// not link through a number the kernel may hand out again.
	clear(rs.links)
}

func exists(dirfd int, name string) bool {
	var st unix.Stat_t
	return unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
}

// clashName finds a free "name (restored YYYY-MM-DD HH.MM).ext" beside an
// existing entry; the date is the snapshot's, so versions stay apart. The
// extension stays last so the file still opens with the right app.
func clashName(dirfd int, name string, t time.Time, dir bool) string {
	ext := filepath.Ext(name)
	// Folders have no extension: "org.gnome.Maps (restored …)", not
	// "org.gnome (restored …).Maps".
	if dir || ext == name || len(ext) > 8 || strings.ContainsAny(ext, " ") {
		ext = ""
	}
	stem := strings.TrimSuffix(name, ext)
	stamp := t.Local().Format("2006-01-02 15.04")
	cand := stem + " (restored " + stamp + ")" + ext
	for i := 2; exists(dirfd, cand); i++ {
		cand = fmt.Sprintf("%s (restored %s %d)%s", stem, stamp, i, ext)
	}
	return cand
}

// entry restores one entry as name in dirfd and returns, for a directory,
// an open descriptor of it (closed at the end of the item).
func (rs *restorer) entry(dirfd int, name string, v catalog.Version) (int, error) {
	if err := checkName(name); err != nil {
		return -1, err
	}
	m := v.Meta
	apply := fsmeta.ApplyOptions{Owner: rs.owner, Xattrs: true}
	switch m.Type {
	case fsmeta.Dir:
		var st unix.Stat_t
		err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			// --overwrite: a file or symlink stands where the folder goes.
			if err := unix.Unlinkat(dirfd, name, 0); err != nil {
				return -1, fmt.Errorf("replace %s: %w", v.Path(), err)
			}
		}
		if err := unix.Mkdirat(dirfd, name, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
			return -1, targetError(err, "create folder "+v.Path())
		}
		fd, err := openBeneath(dirfd, name, unix.O_PATH|unix.O_DIRECTORY, 0)
		if err != nil {
			return -1, unsafePathErr(err, v.Path())
		}
		rs.fds = append(rs.fds, fd)
		rs.res.Dirs++
		return fd, nil
	case fsmeta.File:
		return -1, rs.file(dirfd, name, v, apply)
	case fsmeta.Symlink:
		tmp := tmpName(name)
		if err := unix.Symlinkat(m.LinkTarget, dirfd, tmp); err != nil {
			return -1, targetError(err, "create symlink "+v.Path())
		}
		if err := fsmeta.ApplyAt(dirfd, tmp, m, apply); err != nil {
			unix.Unlinkat(dirfd, tmp, 0)
			return -1, fmt.Errorf("restore metadata of %s: %w", v.Path(), err)
		}
		return -1, rs.place(dirfd, tmp, name, v)
	case fsmeta.Fifo, fsmeta.CharDev, fsmeta.BlockDev:
		kind := map[fsmeta.Type]uint32{fsmeta.Fifo: unix.S_IFIFO, fsmeta.CharDev: unix.S_IFCHR, fsmeta.BlockDev: unix.S_IFBLK}[m.Type]
		tmp := tmpName(name)
		if err := unix.Mknodat(dirfd, tmp, kind|m.Mode&07777, int(m.Rdev)); err != nil {
			rs.warn(v.Path(), "not restored: "+err.Error())
			return -1, nil
		}
		if err := fsmeta.ApplyAt(dirfd, tmp, m, apply); err != nil {
			unix.Unlinkat(dirfd, tmp, 0)
			return -1, fmt.Errorf("restore metadata of %s: %w", v.Path(), err)
		}
		return -1, rs.place(dirfd, tmp, name, v)
	default:
		rs.warn(v.Path(), "a "+m.Type.String()+" is recorded but cannot be restored")
		return -1, nil
	}
}

// file restores a regular file: into a temporary name, checked against the
// catalog's SHA-256, then renamed over the destination, so a failed
// restore never leaves half a file where the user looks.
func (rs *restorer) file(dirfd int, name string, v catalog.Version, apply fsmeta.ApplyOptions) error {
	if in, ok := rs.links[[2]uint64{v.Meta.Dev, v.Meta.Ino}]; ok && v.Meta.Nlink > 1 {
		tmp := tmpName(name)
		if unix.Linkat(in.dirfd, in.name, dirfd, tmp, 0) == nil {
			rs.res.Files++
			return rs.place(dirfd, tmp, name, v)
		}
	}
	rel := strings.TrimPrefix(v.Path(), rs.baseDir+"/")
	sfd, err := rs.openStored(rel)
	if err != nil {
		return fmt.Errorf("open stored copy of %s: %w", v.Path(), err)
	}
	defer unix.Close(sfd)
	var st unix.Stat_t
	if err := unix.Fstat(sfd, &st); err != nil {
		return fmt.Errorf("stat stored copy of %s: %w", v.Path(), err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return kerr.New(kerr.Failed, "the stored copy of %s in %s is not a regular file", v.Path(), rs.snap.Name)
	}
	tmp := tmpName(name)
	// Read and write: the copy is hashed from the destination, so the
	// check covers what was written, holes included.
	ofd, err := openBeneath(dirfd, tmp, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, 0o600)
	if err != nil {
		return unsafePathErr(targetError(err, "create "+name), v.Path())
	}
	defer unix.Close(ofd)
	// Only the data ranges: a sparse file comes back with its holes.
	n, err := copyData(sfd, ofd, st.Size)
	if err == nil && n != st.Size {
		err = fmt.Errorf("the stored copy of %s shrank while being read", v.Path())
	}
	if err == nil && v.SHA256 != nil {
		var sum []byte
		if sum, err = hashFd(ofd, n); err == nil && !bytes.Equal(sum, v.SHA256) {
			err = kerr.New(kerr.Failed, "the stored copy of %s in %s is damaged (its SHA-256 differs from the catalog); try another snapshot", v.Path(), rs.snap.Name)
		}
	}
	if err == nil {
		err = fsmeta.ApplyFd(ofd, v.Meta, apply)
	}
	if err != nil {
		unix.Unlinkat(dirfd, tmp, 0)
		return targetError(err, "restore "+v.Path())
	}
	rs.res.Files++
	rs.res.Bytes += n
	if rs.opts.Progress != nil {
		rs.opts.Progress(Progress{Phase: "restoring", Files: rs.res.Files, Bytes: rs.res.Bytes, Elapsed: time.Since(rs.start), Current: v.Path()})
	}
	if err := rs.place(dirfd, tmp, name, v); err != nil {
		return err
	}
	if v.Meta.Nlink > 1 {
		if d, err := unix.Dup(dirfd); err == nil {
			rs.fds = append(rs.fds, d)
			rs.links[[2]uint64{v.Meta.Dev, v.Meta.Ino}] = placed{dirfd: d, name: name}
		}
	}
	return nil
}

// place renames a finished temporary entry to its name. rename(2) replaces
// a symlink itself, never what it points at.
func (rs *restorer) place(dirfd int, tmp, name string, v catalog.Version) error {
	if err := unix.Renameat(dirfd, tmp, dirfd, name); err != nil {
		unix.Unlinkat(dirfd, tmp, 0)
		if errors.Is(err, unix.EISDIR) || errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST) {
			return kerr.Wrap(kerr.InvalidArgs, err, "cannot put %s over the folder that stands in its place", v.Path())
		}
		return targetError(err, "restore "+v.Path())
	}
	if v.Meta.Type != fsmeta.File {
		rs.res.Files++
	}
	return nil
}

func tmpName(name string) string {
	// Short and fixed-length: the real name may already be NAME_MAX long.
	return fmt.Sprintf(".keepsake-restore-%d", time.Now().UnixNano())
}

func (rs *restorer) warn(p, msg string) {
	w := Warning{Path: p, Message: msg}
	rs.res.Warnings = append(rs.res.Warnings, w)
	if rs.opts.Warn != nil {
		rs.opts.Warn(w)
	}
}
