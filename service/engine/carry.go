package engine

import (
	"path/filepath"
	"sort"
	"strings"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/fsmeta"
	"golang.org/x/sys/unix"
)

// Carrying folders over: on a btrfs drive the snapshot begins as a copy
// of the previous one (inPlace), so with the watcher's journal a folder
// in which nothing changed, at any depth, is already right in the
// snapshot, and its entries are already right in the catalog (a version
// stays open until a run ends it). Such a folder is not entered at all:
// an unchanged run costs the snapshot and the commit, a run with changes
// costs the changed folders and their ancestors, not the tree.
//
// What the walk does not see it cannot sweep either: instead of ending
// every listing it did not visit (EndUnvisited), the run ends only the
// listings of folders it saw leave (sweepDropped), and takes the totals
// of the carried folders from the previous snapshot's. A full scan on
// btrfs sweeps the same way: it costs the folders walked, where
// EndUnvisited reads every entry of the catalog twice.

// carrying is the bookkeeping of a run that carries folders over.
type carrying struct {
	dirtySorted []string // the changed folders (ChangedDirs), sorted
	// prevDirs are where the previous snapshot had the folders held by
	// the folders this run walked: each is walked, carried, or dropped.
	prevDirs []string
	// prevSeen are the previous entries of the walked folders, dropped
	// those of the folders dropped below them: the previous snapshot's
	// totals less both are what the carried folders hold.
	prevSeen, dropped tally
}

// tally counts entries as a snapshot's totals do: folders, everything
// else, and the size of each.
type tally struct {
	files, dirs, bytes int64
}

func (t *tally) add(m fsmeta.Meta) {
	if m.Type == fsmeta.Dir {
		t.dirs++
	} else {
		t.files++
	}
	t.bytes += m.Size
}

// notePrev takes note of a slice of previous entries of a folder being
// walked (from: where the previous snapshot had it).
func (b *backup) notePrev(from string, prevKids map[string]catalog.Version) {
	for _, v := range prevKids {
		b.prevSeen.add(v.Meta)
		if v.Meta.Type == fsmeta.Dir {
			b.prevDirs = append(b.prevDirs, filepath.Join(from, v.Name))
		}
	}
}

// changedBelow says whether a changed folder lies below p.
func (b *backup) changedBelow(p string) bool {
	prefix := strings.TrimSuffix(p, "/") + "/"
	i := sort.SearchStrings(b.dirtySorted, prefix)
	return i < len(b.dirtySorted) && strings.HasPrefix(b.dirtySorted[i], prefix)
}

// Patching a folder: with names from the watcher (ChangedNames), a folder
// in which only some entries changed is not listed either. The snapshot
// holds its previous entries; only the names reported, and the folders
// below which something changed, are looked at, each stat'ed on its own:
// one that is gone is removed, one that is new or changed is written, as
// in a folder read whole. The other entries stay as they are, in the
// snapshot and in the catalog, like a carried folder's.

// patchNames are the names of patched folder p to look at: those
// reported, and those of its folders with a change at or below them.
func (b *backup) patchNames(p string) []string {
	set := map[string]bool{}
	for _, n := range b.patch[p] {
		set[n] = true
	}
	prefix := strings.TrimSuffix(p, "/") + "/"
	for i := sort.SearchStrings(b.dirtySorted, prefix); i < len(b.dirtySorted) && strings.HasPrefix(b.dirtySorted[i], prefix); i++ {
		rest := b.dirtySorted[i][len(prefix):]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			rest = rest[:j]
		}
		set[rest] = true
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	return names
}

// linkedPeers are the other names of the files among names that have
// several (hardlinks): a file written through one name changed at all of
// them, but the watcher reports only the name it was written through, and
// a folder it does not report keeps the old copy. Each is one the
// previous snapshot had with the file's inode and the source still has
// as that inode. Only the files the journal names are stat'ed here.
func linkedPeers(cat *catalog.Catalog, host string, names []string) ([]string, error) {
	var peers []string
	seen := map[string]bool{}
	for _, n := range names {
		var st unix.Stat_t
		if unix.Lstat(n, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink < 2 {
			continue
		}
		paths, err := cat.LinkedNames(host, st.Ino)
		if err != nil {
			return nil, err
		}
		for _, p := range paths {
			var pst unix.Stat_t
			if p == n || seen[p] || unix.Lstat(p, &pst) != nil || pst.Dev != st.Dev || pst.Ino != st.Ino {
				continue
			}
			seen[p] = true
			peers = append(peers, p)
		}
	}
	return peers, nil
}

// onlyNames is the previous entries of names alone.
func onlyNames(kids map[string]catalog.Version, names []string) map[string]catalog.Version {
	out := make(map[string]catalog.Version, len(names))
	for _, n := range names {
		if v, ok := kids[n]; ok {
			out[n] = v
		}
	}
	return out
}

// namedKids reads the previous entries of names alone, one name at a time.
func (w *walker) namedKids(from string, dirID int64, names []string) (map[string]catalog.Version, error) {
	out := make(map[string]catalog.Version, len(names))
	for _, n := range names {
		// [n, n+"\x00") holds n alone.
		kids, err := w.b.txn.ChildrenRange(from, dirID, n, n+"\x00", false)
		if err != nil {
			return nil, err
		}
		for k, v := range kids {
			out[k] = v
		}
	}
	return out, nil
}

// patched says folder p, found in mode, is patched: the run carries
// folders over, the snapshot holds the previous snapshot's folder at p
// (kept in place), and only names in it were reported.
func (w *walker) patched(p, from string, mode walkMode, kept bool) bool {
	b := w.b
	return b.carry && mode == scan && kept && from == p && b.patch[p] != nil
}

// carryOver leaves out of the walk the folders the snapshot holds as
// they were: taken over whole from the previous snapshot at the same
// path (kept), not reported changed (reuse) and nothing reported below.
// Their listings are claimed, so nothing else takes them and the sweep
// leaves them open. It returns the folders still to walk.
func (b *backup) carryOver(subdirs []*entry) []*entry {
	walk := subdirs[:0]
	for _, e := range subdirs {
		if e.mode == reuse && e.kept && e.from == e.path && !b.changedBelow(e.path) {
			if l := b.txn.PrevListing(e.from); l != 0 && !b.claimed[l] {
				b.claimed[l] = true
				b.res.CarriedDirs++
				continue
			}
		}
		walk = append(walk, e)
	}
	return walk
}

// sweepDropped ends the previous entries of every folder the walked
// folders held that neither the walk nor a carry took: deleted, moved
// out of the backup, excluded, skipped or a mount point now, with all
// that was below them. Then it completes the totals with the carried
// folders'.
func (b *backup) sweepDropped() error {
	for len(b.prevDirs) > 0 {
		p := b.prevDirs[len(b.prevDirs)-1]
		b.prevDirs = b.prevDirs[:len(b.prevDirs)-1]
		l := b.txn.PrevListing(p)
		if l == 0 || b.claimed[l] {
			continue
		}
		b.claimed[l] = true
		kids, err := b.txn.EndListing(p, l)
		if err != nil {
			return err
		}
		names := make([]string, 0, len(kids))
		for n := range kids {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			v := kids[n]
			b.dropped.add(v.Meta)
			b.noteDeleted(v)
			if v.Meta.Type == fsmeta.Dir {
				b.prevDirs = append(b.prevDirs, filepath.Join(p, n))
			}
		}
	}
	if !b.carry {
		return nil // every folder walked: the totals are the walk's
	}
	carried := tally{
		files: b.prev.Files - b.prevSeen.files - b.dropped.files,
		dirs:  b.prev.Dirs - b.prevSeen.dirs - b.dropped.dirs,
		bytes: b.prev.Bytes - b.prevSeen.bytes - b.dropped.bytes,
	}
	b.res.Files += carried.files
	b.res.Dirs += carried.dirs
	b.res.Bytes += carried.bytes
	b.res.Unchanged += carried.files
	b.res.ReusedDirs += b.res.CarriedDirs + carried.dirs
	return nil
}
