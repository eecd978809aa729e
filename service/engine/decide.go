package engine

import (
	"bytes"
	"path/filepath"

	"github.com/keepsake/keepsake/service/catalog"

	"github.com/keepsake/keepsake/service/fsmeta"
	"golang.org/x/sys/unix"
)

type storedInode struct {
	path string // in this snapshot's folder
	sum  []byte
}

// decide picks each entry's work and starts it: unchanged files and
// symlinks are linked by one job for the whole directory; each other file
// gets a job that copies it, or hashes it and links content the catalog
// already has. The second names of source hardlinks wait for the last
// phase. It returns the entries the recorder will record.
func (w *walker) decide(bt *batch, entries []*entry) (out, subdirs []*entry, err error) {
	b := w.b
	out = entries[:0]
	var links []*entry
	for _, e := range entries {
		switch e.meta.Type {
		case fsmeta.Dir:
			if e.mode != reuse && !(e.prev != nil && sameStat(&e.prev.Meta, &e.meta)) {
				if err := e.complete(); err != nil {
					b.warn(e.path, err.Error())
				}
			}
			if !b.opts.DryRun {
				kept, err := false, error(nil)
				if e.movedIn && b.inPlace && w.renameIn(e) {
					kept = true
				} else {
					kept, err = b.store.mkdir(e.dir.dst, e.name, e.dir.inPlace && e.from == filepath.Join(e.dir.from, e.name))
				}
				if kept && w.entered != nil {
					// Taken: no move may rename it away now.
					w.entered[e.path] = true
				}
				if nameRefused(err) {
					// Recorded as skipped, and not walked: its previous
					// contents stay in the catalog as they were.
					e.skip = "the backup drive refuses this folder's name: " + err.Error()
					out = append(out, e)
					continue
				} else if err != nil {
					return out, subdirs, targetError(err, "create folder "+e.path)
				}
				e.kept = kept
			}
			subdirs = append(subdirs, e)
		case fsmeta.File:
			if e.meta.Nlink > 1 && e.mode != reuse {
				key := inodeKey(e.meta)
				if w.seenInodes[key] {
					e.clearLater = e.dir.inPlace
					w.later = append(w.later, e)
					continue
				}
				w.seenInodes[key] = true
			}
			if e.mode == reuse || (e.prev != nil && sameStat(&e.prev.Meta, &e.meta) && !b.opts.Rehash) {
				e.op = opLinkPrev
				links = append(links, e)
				break
			}
			if e.dir.inPlace && !b.opts.DryRun && w.metaInPlace(e) {
				break
			}
			if e.dir.inPlace {
				if err := w.clearDst(e); err != nil {
					return out, subdirs, err
				}
			}
			if err := e.complete(); err != nil {
				b.warn(e.path, err.Error())
			}
			e.op = opCopy
			twin, err := b.txn.HasTwin(e.meta.Size, e.meta.MtimeNs)
			if err != nil {
				return out, subdirs, err
			}
			if twin || b.opts.DryRun || b.opts.Rehash {
				e.op = opHash
			}
			w.start(bt, e)
		case fsmeta.Symlink:
			if e.mode == reuse || (e.prev != nil && sameStat(&e.prev.Meta, &e.meta) && !b.opts.Rehash) {
				e.op = opLinkPrev
				links = append(links, e)
				break
			}
			if e.dir.inPlace {
				if err := w.clearDst(e); err != nil {
					return out, subdirs, err
				}
			}
			if err := e.complete(); err != nil {
				b.warn(e.path, err.Error())
				continue
			}
			e.op = opSymlink
			w.start(bt, e)
		default:
			if e.dir.inPlace && (e.prev == nil || e.prev.Meta.Type != e.meta.Type) {
				// Recorded only: nothing of it may stay in the snapshot.
				if err := w.clearDst(e); err != nil {
					return out, subdirs, err
				}
			}
			if e.mode != reuse && !(e.prev != nil && sameStat(&e.prev.Meta, &e.meta)) {
				if err := e.complete(); err != nil {
					b.warn(e.path, err.Error())
				}
			}
		}
		out = append(out, e)
	}
	if len(links) > 0 && !b.opts.DryRun {
		bt.wg.Add(1)
		b.pool.jobs <- func() {
			defer bt.wg.Done()
			for _, e := range links {
				if !w.linkPrev(e) {
					w.do(e) // no previous copy to link: copy or recreate
				}
			}
		}
	}
	return out, subdirs, nil
}

func (w *walker) start(bt *batch, e *entry) {
	bt.wg.Add(1)
	w.b.pool.jobs <- func() {
		defer bt.wg.Done()
		w.do(e)
	}
}

// linkLater links the second and further names of source hardlinks to the
// copy of the first name, and records them.
func (w *walker) linkLater() error {
	b := w.b
	for _, e := range w.later {
		in, ok := b.inodes[inodeKey(e.meta)]
		if e.prev != nil && sameStat(&e.prev.Meta, &e.meta) {
			if err := b.txn.Full(e.prev); err != nil {
				return err
			}
			e.meta = e.prev.Meta
		} else if err := e.meta.Complete(e.path); err != nil {
			b.warn(e.path, err.Error())
		}
		e.dir = &dirFds{src: -1, prev: -1, dst: -1}
		if !b.opts.DryRun {
			if e.dir.dst = openDir(w.rel(e.path[:len(e.path)-len(e.name)])); e.dir.dst < 0 {
				return targetError(unix.ENOENT, "open snapshot folder of "+e.path)
			}
		}
		if e.clearLater && !b.opts.DryRun {
			if err := w.clearDst(e); err != nil {
				e.dir.close()
				return err
			}
		}
		e.sum, e.op, e.inodeFrom = in.sum, opLinkInode, in.path
		if !ok {
			e.op = opCopy // the first name was skipped: copy this one
		}
		if !b.opts.DryRun {
			w.do(e)
		}
		e.dir.close()
		if e.err != nil {
			return e.err
		}
		if err := w.recordEntries(e.dirID, []*entry{e}); err != nil {
			return err
		}
	}
	return nil
}

// noteInode remembers where the first name of a multi-link source file
// went, so its other names become links to it.
func (w *walker) noteInode(e *entry) {
	if e.meta.Type == fsmeta.File && e.meta.Nlink > 1 && e.mode != reuse && e.skip == "" {
		w.b.inodes[inodeKey(e.meta)] = storedInode{path: w.rel(e.path), sum: e.sum}
	}
}

func inodeKey(m fsmeta.Meta) [2]uint64 { return [2]uint64{m.Dev, m.Ino} }

// metaInPlace applies a change of metadata only (chmod, chown, xattrs or
// ACLs) to the copy the snapshot already holds, in a folder that came
// whole from the previous snapshot (btrfs): no new file, no new inode.
// Only when the source is the previous version's inode with its size and
// mtime (what the walk trusts as unchanged content, as for a renamed
// file), and the stored copy is this snapshot's alone (one link: a
// subvolume's inodes are its own). It reports whether it did; false
// leaves everything as it was for the usual path.
func (w *walker) metaInPlace(e *entry) bool {
	p := e.prev
	if p == nil || p.Meta.Type != fsmeta.File || len(p.SHA256) != 32 || w.b.opts.Rehash || e.meta.Nlink > 1 ||
		p.Meta.Ino != e.meta.Ino || p.Meta.Size != e.meta.Size || p.Meta.MtimeNs != e.meta.MtimeNs {
		return false
	}
	var st unix.Stat_t
	if unix.Fstatat(e.dir.dst, e.name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG ||
		st.Nlink != 1 || st.Size != e.meta.Size {
		return false
	}
	if err := e.meta.Complete(e.path); err != nil {
		return false
	}
	if err := fsmeta.ApplyAt(e.dir.dst, e.name, e.meta, fsmeta.ApplyOptions{Owner: w.b.chown, Xattrs: true, ExactXattrs: true}); err != nil {
		return false // the usual path replaces what is half done
	}
	e.sum, e.op, e.linked = p.SHA256, opLinkFound, true
	return true
}

// sameStat says an entry is unchanged without reading it: everything stat
// tells must match, ctime included, since it moves on any write, chmod,
// chown or xattr change even when mtime is set back.
//
// It takes pointers and reads only these fields: the recorder may be
// completing the other fields of a previous version (Txn.Full) meanwhile.
func sameStat(a, b *fsmeta.Meta) bool {
	return a.Type == b.Type && a.Size == b.Size && a.MtimeNs == b.MtimeNs && a.CtimeNs == b.CtimeNs &&
		a.Ino == b.Ino && a.Mode == b.Mode && a.UID == b.UID && a.GID == b.GID && a.Rdev == b.Rdev
}

// sameInodeMeta compares what a hardlink shares: two versions equal here
// and in content may be one inode in the repository.
func sameInodeMeta(a, b fsmeta.Meta) bool {
	return a.Type == b.Type && a.Mode == b.Mode && a.UID == b.UID && a.GID == b.GID && a.MtimeNs == b.MtimeNs &&
		a.LinkTarget == b.LinkTarget && a.Rdev == b.Rdev && bytes.Equal(fsmeta.EncodeXattrs(a.Xattrs), fsmeta.EncodeXattrs(b.Xattrs))
}

// record writes one directory's catalog rows once its work is done. It
// runs on the recorder goroutine, in walk order, which keeps the outcome
// (new or duplicate, the plan's order) the same from run to run.
func (w *walker) record(bt *batch) error {
	b := w.b
	for _, e := range bt.entries {
		if e.err != nil {
			return e.err
		}
	}
	for _, v := range bt.gone {
		if err := b.txn.End(v.ID); err != nil {
			return err
		}
		b.noteDeleted(v)
	}
	if err := w.recordEntries(bt.dirID, bt.entries); err != nil {
		return err
	}
	for _, e := range bt.entries {
		if e.op == opLinkPrev && e.prev != nil && !e.copied {
			e.sum = e.prev.SHA256
		}
		w.noteInode(e)
	}
	return nil
}

func (w *walker) recordEntries(dirID int64, entries []*entry) error {
	b := w.b
	var inserts []*entry
	for _, e := range entries {
		b.stats.files.Add(1)
		if e.meta.Type == fsmeta.Dir {
			b.res.Dirs++
		} else {
			b.res.Files++
		}
		if e.skip != "" {
			b.res.Skipped++
			b.warn(e.path, e.skip)
			b.plan(Skipped, e.path, "")
			if e.keptPrev {
				b.res.Bytes += e.prev.Meta.Size
				b.res.KeptPrevious++
				if err := b.txn.Audit("kept-previous", e.path, e.skip); err != nil {
					return err
				}
				continue
			}
			if e.meta.Type == fsmeta.Dir {
				b.res.Dirs-- // not walked: what it held ends with EndUnvisited
			} else {
				b.res.Files--
			}
			if e.prev != nil {
				if err := b.txn.End(e.prev.ID); err != nil {
					return err
				}
			}
			if err := b.txn.Audit("skipped", e.path, e.skip); err != nil {
				return err
			}
			continue
		}
		b.res.Bytes += e.meta.Size
		b.stats.bytes.Add(e.meta.Size)
		if e.hashed {
			b.res.Hashed++
		}
		if e.copied {
			b.res.Copied++
			b.res.CopiedBytes += e.meta.Size
		} else if e.linked || e.op == opLinkPrev && !e.asIs {
			b.res.Linked++
		}
		if e.mode == reuse && e.meta.Type != fsmeta.Dir || (e.op == opLinkPrev && !e.copied) {
			if e.withFolder && e.meta.Type != fsmeta.Dir {
				b.res.Moved++ // unchanged, in a folder that moved
			} else {
				b.res.Unchanged++
			}
			continue
		}
		if e.meta.Type == fsmeta.Dir && e.mode == reuse && e.prev != nil {
			continue // (one that moved here is new in this folder)
		}
		if e.prev != nil {
			if err := b.txn.Full(e.prev); err != nil {
				return err
			}
		}
		if e.prev != nil && e.prev.Meta.Type == e.meta.Type && sameInodeMeta(e.prev.Meta, e.meta) &&
			(e.meta.Type != fsmeta.File || sameSum(e.prev.SHA256, e.sum)) {
			// Same version; only ctime or inode moved (a touch that set
			// the same time back, a copy over itself).
			switch {
			case e.meta.Type == fsmeta.Dir:
			case e.withFolder:
				b.res.Moved++ // the same, in a folder that moved
			default:
				b.res.Unchanged++
			}
			if !sameStat(&e.prev.Meta, &e.meta) {
				if err := b.txn.UpdateStat(e.prev.ID, e.meta); err != nil {
					return err
				}
			}
			continue
		}
		if e.prev != nil {
			if err := b.txn.End(e.prev.ID); err != nil {
				return err
			}
		}
		inserts = append(inserts, e)
	}
	if len(inserts) == 0 {
		return nil
	}
	rows := make([]catalog.NewVersion, len(inserts))
	for i, e := range inserts {
		rows[i] = catalog.NewVersion{Name: e.name, Meta: e.meta, SHA256: e.sum, NewName: e.prev == nil}
	}
	known, err := b.txn.InsertBatch(dirID, rows)
	if err != nil {
		return targetError(err, "record the entries of a folder")
	}
	for i, e := range inserts {
		if e.meta.Type == fsmeta.Dir {
			continue
		}
		switch {
		case e.prev != nil && e.prev.Meta.Type == fsmeta.File && sameSum(e.prev.SHA256, e.sum):
			b.res.MetaOnly++
			b.plan(MetaOnly, e.path, "")
		case e.prev != nil:
			b.res.Modified++
			b.plan(Modified, e.path, "")
		case known[i]:
			b.noteExisting(e.path, e.sum)
		default:
			b.res.New++
			b.plan(New, e.path, "")
		}
	}
	return nil
}
