package engine

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/fsmeta"
	"github.com/keepsake/keepsake/service/internal/longpath"
	"github.com/keepsake/keepsake/service/repo"
	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// VerifyOptions configure a verification.
type VerifyOptions struct {
	Host     string
	Snapshot string // one snapshot (a name or "latest"); "" for all of the host's
	// SamplePercent, if between 1 and 99, checks that share of the
	// content, a different slice on each run, so that a scheduled
	// verification covers everything over time.
	SamplePercent int
	Progress      func(Progress)
}

// Damage is one problem found.
type Damage struct {
	Snapshot string `json:"snapshot"`
	Path     string `json:"path"`
	Problem  string `json:"problem"`
	SHA256   string `json:"sha256,omitempty"` // what the catalog expects
}

// VerifyResult is the outcome of a verification.
type VerifyResult struct {
	Snapshots       []string `json:"snapshots"`
	Files           int64    `json:"files"`  // file entries checked
	Hashed          int64    `json:"hashed"` // distinct stored inodes read
	Bytes           int64    `json:"bytes"`  // bytes read
	Slice           int      `json:"slice,omitempty"`
	Of              int      `json:"of,omitempty"`
	Damaged         []Damage `json:"damaged"`
	CatalogProblems []string `json:"catalog_problems"`
}

// Verify re-hashes stored files against the catalog, checks that every
// catalog entry has its file and every file its catalog entry, and checks
// the catalog itself (SQLite's integrity_check and Keepsake's invariants).
// It returns a Damaged error, with the result, when anything is wrong.
func Verify(ctx context.Context, r *repo.Repo, opts VerifyOptions) (*VerifyResult, error) {
	cat, err := catalog.Open(r.CatalogPath())
	if err != nil {
		return nil, err
	}
	defer cat.Close()
	res := &VerifyResult{Damaged: []Damage{}, CatalogProblems: []string{}}
	problems, err := cat.IntegrityCheck()
	if err != nil {
		return nil, kerr.Wrap(kerr.CatalogCorrupt, err, "catalog integrity check")
	}
	res.CatalogProblems = append(res.CatalogProblems, problems...)
	inv, err := cat.Invariants()
	if err != nil {
		return nil, err
	}
	res.CatalogProblems = append(res.CatalogProblems, inv...)

	var snaps []catalog.Snapshot
	if opts.Snapshot != "" {
		s, err := cat.Snapshot(opts.Host, opts.Snapshot)
		if err != nil {
			return nil, err
		}
		snaps = []catalog.Snapshot{s}
	} else if snaps, err = cat.Snapshots(opts.Host); err != nil {
		return nil, err
	}
	slice, of := 0, 1
	if p := opts.SamplePercent; p > 0 && p < 100 {
		of = (100 + p - 1) / p
		if slice, err = cat.NextSlice(of); err != nil {
			return nil, err
		}
		res.Slice, res.Of = slice, of
	}
	sums := map[storedKey][]byte{} // stored inode -> its SHA-256, read once
	subvolumes := onBtrfs(r.Root)
	start := time.Now()
	for _, s := range snaps {
		res.Snapshots = append(res.Snapshots, s.Name)
		root := r.SnapshotDir(s.Host, s.Name)
		err := cat.StoredFiles(s, slice, of, func(v catalog.Version) error {
			if err := ctx.Err(); err != nil {
				return kerr.Wrap(kerr.Cancelled, err, "verification cancelled")
			}
			res.Files++
			want := hex.EncodeToString(v.SHA256)
			bad := func(problem string) {
				res.Damaged = append(res.Damaged, Damage{Snapshot: s.Name, Path: v.Path(), Problem: problem, SHA256: want})
			}
			var st unix.Stat_t
			p := root + v.Path()
			if err := longpath.Lstat(p, &st); err != nil {
				bad("missing")
				return nil
			}
			if st.Mode&unix.S_IFMT != unix.S_IFREG {
				bad("not a regular file")
				return nil
			}
			key := keyOf(&st, subvolumes)
			sum, ok := sums[key]
			if !ok {
				fd, err := longpath.Open(p, unix.O_RDONLY|unix.O_NOFOLLOW, 0)
				if err != nil {
					bad("unreadable: " + err.Error())
					return nil
				}
				sum, err = hashFd(fd, st.Size)
				unix.Close(fd)
				if err != nil {
					bad("unreadable: " + err.Error())
					return nil
				}
				sums[key] = sum
				res.Hashed++
				res.Bytes += st.Size
			}
			switch {
			case st.Size != v.Meta.Size:
				bad(fmt.Sprintf("size %d, the catalog says %d", st.Size, v.Meta.Size))
			case !bytes.Equal(sum, v.SHA256):
				bad("content differs from the catalog's SHA-256")
			}
			if opts.Progress != nil && res.Files%1000 == 0 {
				opts.Progress(Progress{Phase: "verifying", Files: res.Files, Bytes: res.Bytes, Elapsed: time.Since(start), Current: v.Path()})
			}
			return nil
		})
		if err != nil {
			return res, err
		}
		if of == 1 {
			if err := strayFiles(cat, s, root, res); err != nil {
				return res, err
			}
		}
	}
	sort.SliceStable(res.Damaged, func(i, j int) bool { return res.Damaged[i].Path < res.Damaged[j].Path })
	if len(res.Damaged) > 0 || len(res.CatalogProblems) > 0 {
		return res, kerr.New(kerr.Damaged, "%d damaged files and %d catalog problems found", len(res.Damaged), len(res.CatalogProblems))
	}
	return res, nil
}

// strayFiles reports entries on the drive that the catalog does not list
// for that snapshot, folder by folder.
func strayFiles(cat *catalog.Catalog, s catalog.Snapshot, root string, res *VerifyResult) error {
	var walk func(dir string) error
	walk = func(dir string) error {
		listed, err := cat.List(s, dir)
		if err != nil {
			return err
		}
		known := map[string]fsmeta.Type{}
		for _, v := range listed {
			known[v.Name] = v.Meta.Type
		}
		ents, err := longpath.ReadDir(root + dir)
		if err != nil {
			res.Damaged = append(res.Damaged, Damage{Snapshot: s.Name, Path: dir, Problem: "folder unreadable: " + err.Error()})
			return nil
		}
		onDisk := make(map[string]bool, len(ents))
		for _, e := range ents {
			onDisk[e.Name()] = true
		}
		// Folders and symlinks the catalog lists must be there too (files
		// were checked, and hashed, already).
		for _, v := range listed {
			if t := v.Meta.Type; t != fsmeta.File && t.Stored() && !onDisk[v.Name] {
				res.Damaged = append(res.Damaged, Damage{Snapshot: s.Name, Path: v.Path(), Problem: "missing " + t.String()})
			}
		}
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			if dir == "/" && e.Name() == catalog.ExtraDir && e.IsDir() {
				continue // the snapshot's own extra files, not backed-up ones
			}
			if _, ok := known[e.Name()]; !ok {
				res.Damaged = append(res.Damaged, Damage{Snapshot: s.Name, Path: p, Problem: "on the drive but not in the catalog"})
				continue
			}
			if e.IsDir() {
				if err := walk(p); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk("/")
}

// RepairResult says what a repair fixed.
type RepairResult struct {
	Repaired   []Damage `json:"repaired"`
	Unrepaired []Damage `json:"unrepaired"`
}

// Repair re-verifies and mends damaged or missing files from an intact
// stored copy (another inode with the same content) or from the source
// file when it still has that content. What it cannot mend it reports.
func Repair(ctx context.Context, r *repo.Repo, opts VerifyOptions) (*RepairResult, error) {
	if err := r.Lock(); err != nil {
		return nil, err
	}
	defer r.Unlock()
	opts.SamplePercent = 0
	vr, err := Verify(ctx, r, opts)
	if err != nil && !kerr.Is(err, kerr.Damaged) {
		return nil, err
	}
	cat, err := catalog.Open(r.CatalogPath())
	if err != nil {
		return nil, err
	}
	defer cat.Close()
	res := &RepairResult{Repaired: []Damage{}, Unrepaired: []Damage{}}
	fixed := map[string]string{} // sha256 -> a repaired copy to link
	for _, d := range vr.Damaged {
		if d.SHA256 == "" {
			res.Unrepaired = append(res.Unrepaired, d)
			continue
		}
		s, err := cat.Snapshot(opts.Host, d.Snapshot)
		if err != nil {
			return nil, err
		}
		v, err := cat.Lookup(s, d.Path)
		if err != nil {
			res.Unrepaired = append(res.Unrepaired, d)
			continue
		}
		dst := r.SnapshotDir(s.Host, s.Name) + d.Path
		reseal, err := unseal(r.SnapshotDir(s.Host, s.Name))
		if err == nil {
			err = mend(cat, r, v, dst, fixed)
			if rerr := reseal(); err == nil {
				err = rerr
			}
		}
		if err != nil {
			d.Problem += "; not repaired: " + err.Error()
			res.Unrepaired = append(res.Unrepaired, d)
			continue
		}
		res.Repaired = append(res.Repaired, d)
		if err := cat.Audit(catalog.CurrentActor(), "repaired", s.Host, s.Name, d.Path, d.Problem); err != nil {
			return nil, err
		}
	}
	if len(res.Unrepaired) > 0 {
		return res, kerr.New(kerr.Damaged, "%d files could not be repaired: no intact copy is left", len(res.Unrepaired))
	}
	return res, nil
}

// mend replaces dst with intact content for version v: a link to an
// earlier repair, or a copy of an intact stored file or of the source.
func mend(cat *catalog.Catalog, r *repo.Repo, v catalog.Version, dst string, fixed map[string]string) error {
	want := string(v.SHA256)
	// Everything happens beside dst, in its folder opened once: the path
	// may be longer than the kernel takes in one call, and the temporary
	// copy must be made there, not in the working folder (a short path
	// from longpath.Split is relative to it).
	dir, err := longpath.Open(filepath.Dir(dst), unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("open the folder of %s: %w", dst, err)
	}
	defer unix.Close(dir)
	name := filepath.Base(dst)
	// The snapshot's folder keeps its times: it is part of the backup.
	var dirSt unix.Stat_t
	if err := unix.Fstat(dir, &dirSt); err != nil {
		return fmt.Errorf("stat the folder of %s: %w", dst, err)
	}
	defer keepTimes(dir, filepath.Dir(dst), &dirSt)
	const tmp = ".keepsake-repair"
	unix.Unlinkat(dir, tmp, 0)
	if p, ok := fixed[want]; ok && linkInto(p, dir, tmp) == nil {
		return unix.Renameat(dir, tmp, dir, name)
	}
	var damaged unix.Stat_t
	haveDamaged := unix.Fstatat(dir, name, &damaged, unix.AT_SYMLINK_NOFOLLOW) == nil
	places, err := cat.Where(v.SHA256)
	if err != nil {
		return err
	}
	var sources []string
	for _, pl := range places {
		for _, sn := range pl.Snapshots {
			sources = append(sources, r.SnapshotDir(pl.Host, sn)+pl.Path)
		}
	}
	sources = append(sources, v.Path()) // the original, on this machine
	for _, src := range sources {
		var st unix.Stat_t
		if longpath.Lstat(src, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || (haveDamaged && st.Ino == damaged.Ino && st.Dev == damaged.Dev) {
			continue
		}
		if err := copyVerified(src, dir, tmp, v); err != nil {
			continue
		}
		if err := unix.Renameat(dir, tmp, dir, name); err != nil {
			unix.Unlinkat(dir, tmp, 0)
			return err
		}
		fixed[want] = dst
		return nil
	}
	return fmt.Errorf("no intact copy of %s", strings.TrimPrefix(hex.EncodeToString(v.SHA256), ""))
}

// keepTimes sets the folder (dirfd, or path when dirfd is AT_FDCWD) back
// to the access and modification times in st.
func keepTimes(dirfd int, path string, st *unix.Stat_t) {
	if dirfd != unix.AT_FDCWD {
		path = "/proc/self/fd/" + strconv.Itoa(dirfd)
	}
	unix.UtimesNanoAt(unix.AT_FDCWD, path, []unix.Timespec{st.Atim, st.Mtim}, 0)
}

// linkInto hardlinks the file at path (of any length) as name in dir.
func linkInto(path string, dir int, name string) error {
	from, fromName, done, err := longpath.Split(path)
	if err != nil {
		return err
	}
	defer done()
	return unix.Linkat(from, fromName, dir, name, 0)
}

// copyVerified copies src to name in dir only if src has v's content, and
// gives it v's metadata.
func copyVerified(src string, dir int, name string, v catalog.Version) error {
	in, err := longpath.Open(src, unix.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer unix.Close(in)
	var st unix.Stat_t
	if err := unix.Fstat(in, &st); err != nil {
		return err
	}
	sum, err := hashFd(in, st.Size)
	if err != nil || !bytes.Equal(sum, v.SHA256) {
		return fmt.Errorf("content differs")
	}
	out, err := unix.Openat(dir, name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	defer unix.Close(out)
	if _, err := copyData(in, out, st.Size); err != nil {
		unix.Unlinkat(dir, name, 0)
		return err
	}
	if got, err := hashFd(out, st.Size); err != nil || !bytes.Equal(got, v.SHA256) {
		unix.Unlinkat(dir, name, 0)
		return fmt.Errorf("copy differs")
	}
	return fsmeta.ApplyFile(out, v.Meta, fsmeta.ApplyOptions{Owner: os.Geteuid() == 0, Xattrs: true})
}

// storedKey names a stored file for verification, which reads each once.
type storedKey struct {
	dev, ino uint64
	ctimeNs  int64
	size     int64
}

// keyOf is a stored file's key: its inode (the names of one hardlinked
// file share it). On btrfs a snapshot subvolume has a device number of its
// own, and a file unchanged across snapshots has the same inode number and
// the same ctime in each (a snapshot keeps them, and shares the data): it
// is known without the device, by inode, ctime and size. A file the
// engine wrote anew, even under a number used before, has a ctime of its
// own.
func keyOf(st *unix.Stat_t, subvolumes bool) storedKey {
	k := storedKey{dev: st.Dev, ino: st.Ino}
	if subvolumes {
		k = storedKey{ino: st.Ino, ctimeNs: unix.TimespecToNsec(st.Ctim), size: st.Size}
	}
	return k
}
