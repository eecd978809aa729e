package engine

import (
	"bytes"

	"golang.org/x/sys/unix"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/fsmeta"
)

type storedInode struct {
	path string // in this snapshot's folder
	sum  []byte
}

// decide picks each entry's work and runs it in the pool, in rounds: first
// links, copies and hashes; then, for hashed files, a link to content found
// in the catalog or a copy; last, the second names of source hardlinks.
func (w *walker) decide(entries []*entry) error {
	b := w.b
	var first, inodeLinks []*entry
	inodesHere := map[[2]uint64]bool{}
	for _, e := range entries {
		switch e.meta.Type {
		case fsmeta.Dir:
			if e.mode != reuse && !(e.prev != nil && sameStat(e.prev.Meta, e.meta)) {
				if err := e.meta.Complete(e.path); err != nil {
					b.warn(e.path, err.Error())
				}
			}
			if !b.opts.DryRun {
				if err := unix.Mkdirat(e.dir.dst, e.name, 0o700); err != nil {
					return b.targetErr(err, "create folder "+e.path)
				}
			}
		case fsmeta.File:
			if e.meta.Nlink > 1 && e.mode != reuse {
				key := inodeKey(e.meta)
				if _, ok := b.inodes[key]; ok || inodesHere[key] {
					inodeLinks = append(inodeLinks, e)
					continue
				}
				inodesHere[key] = true
			}
			unchanged := e.mode == reuse || (e.prev != nil && sameStat(e.prev.Meta, e.meta))
			switch {
			case unchanged && !b.opts.Rehash:
				e.op = opLinkPrev
				// The common case, done here: a pool round trip would
				// cost more than the link.
				if b.opts.DryRun || w.linkPrev(e) {
					if e.prev != nil {
						e.sum = e.prev.SHA256
					}
					w.noteInode(e)
					continue
				}
			default:
				if err := e.meta.Complete(e.path); err != nil {
					b.warn(e.path, err.Error())
				}
				e.op = opCopy
				twin, err := b.txn.HasTwin(e.meta.Size, e.meta.MtimeNs)
				if err != nil {
					return err
				}
				if twin || b.opts.DryRun {
					e.op = opHash
				}
			}
			first = append(first, e)
		case fsmeta.Symlink:
			if e.mode == reuse || (e.prev != nil && sameStat(e.prev.Meta, e.meta) && !b.opts.Rehash) {
				e.op = opLinkPrev
				if b.opts.DryRun || w.linkPrev(e) {
					continue
				}
			} else {
				if err := e.meta.Complete(e.path); err != nil {
					b.warn(e.path, err.Error())
					continue
				}
				e.op = opSymlink
			}
			first = append(first, e)
		default:
			if e.mode != reuse && !(e.prev != nil && sameStat(e.prev.Meta, e.meta)) {
				if err := e.meta.Complete(e.path); err != nil {
					b.warn(e.path, err.Error())
				}
			}
		}
	}
	if err := w.runOps(first); err != nil {
		return err
	}
	var second []*entry
	for _, e := range first {
		if e.op != opHash || e.skip != "" {
			continue
		}
		e.op = opCopy
		if b.opts.Rehash && e.prev != nil && sameStat(e.prev.Meta, e.meta) && sameSum(e.prev.SHA256, e.sum) {
			e.op = opLinkPrev
		} else {
			cands, err := b.txn.Linkable(e.sum, e.meta, 4)
			if err != nil {
				return err
			}
			if len(cands) > 0 {
				e.cands, e.op = cands, opLinkFound
			}
		}
		if b.opts.DryRun {
			e.linked = e.op != opCopy
			continue
		}
		second = append(second, e)
	}
	if err := w.runOps(second); err != nil {
		return err
	}
	for _, e := range first {
		w.noteInode(e)
	}
	for _, e := range inodeLinks {
		in := b.inodes[inodeKey(e.meta)]
		e.inodeFrom, e.sum, e.op = in.path, in.sum, opLinkInode
		if e.prev != nil && sameStat(e.prev.Meta, e.meta) {
			if err := b.txn.Full(e.prev); err != nil {
				return err
			}
			e.meta = e.prev.Meta
		} else if err := e.meta.Complete(e.path); err != nil {
			b.warn(e.path, err.Error())
		}
	}
	if b.opts.DryRun {
		return nil
	}
	return w.runOps(inodeLinks)
}

// noteInode remembers where the first name of a multi-link source file
// went, so its other names become links to it.
func (w *walker) noteInode(e *entry) {
	if e.meta.Type == fsmeta.File && e.meta.Nlink > 1 && e.mode != reuse && e.skip == "" {
		w.b.inodes[inodeKey(e.meta)] = storedInode{path: w.rel(e.path), sum: e.sum}
	}
}

func inodeKey(m fsmeta.Meta) [2]uint64 { return [2]uint64{m.Dev, m.Ino} }

// sameStat says an entry is unchanged without reading it: everything stat
// tells must match, ctime included, since it moves on any write, chmod,
// chown or xattr change even when mtime is set back.
func sameStat(a, b fsmeta.Meta) bool {
	return a.Type == b.Type && a.Size == b.Size && a.MtimeNs == b.MtimeNs && a.CtimeNs == b.CtimeNs &&
		a.Ino == b.Ino && a.Mode == b.Mode && a.UID == b.UID && a.GID == b.GID && a.Rdev == b.Rdev
}

// sameInodeMeta compares what a hardlink shares: two versions equal here
// and in content may be one inode in the repository.
func sameInodeMeta(a, b fsmeta.Meta) bool {
	return a.Type == b.Type && a.Mode == b.Mode && a.UID == b.UID && a.GID == b.GID && a.MtimeNs == b.MtimeNs &&
		a.LinkTarget == b.LinkTarget && a.Rdev == b.Rdev && bytes.Equal(fsmeta.EncodeXattrs(a.Xattrs), fsmeta.EncodeXattrs(b.Xattrs))
}

// record writes the directory's catalog rows and counts the outcome.
func (w *walker) record(dirID int64, entries []*entry) error {
	b := w.b
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
				continue
			}
			b.res.Files--
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
		if e.copied {
			b.res.Copied++
			b.res.CopiedBytes += e.meta.Size
		} else if e.linked || e.op == opLinkPrev {
			b.res.Linked++
		}
		if e.mode == reuse && e.meta.Type != fsmeta.Dir || (e.op == opLinkPrev && !e.copied) {
			b.res.Unchanged++
			continue
		}
		if e.meta.Type == fsmeta.Dir && e.mode == reuse {
			continue
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
			if e.meta.Type != fsmeta.Dir {
				b.res.Unchanged++
			}
			if !sameStat(e.prev.Meta, e.meta) {
				if err := b.txn.UpdateStat(e.prev.ID, e.meta); err != nil {
					return err
				}
			}
			continue
		}
		existed := false
		if e.prev == nil && e.meta.Type == fsmeta.File && e.sum != nil {
			has, err := b.txn.HasContent(e.sum)
			if err != nil {
				return err
			}
			existed = has
		}
		if e.prev != nil {
			if err := b.txn.End(e.prev.ID); err != nil {
				return err
			}
		}
		if err := b.txn.Insert(dirID, e.name, e.meta, e.sum); err != nil {
			return b.targetErr(err, "record "+e.path)
		}
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
		case existed:
			b.newSums = append(b.newSums, pendingMove{path: e.path, sum: e.sum})
		default:
			b.res.New++
			b.plan(New, e.path, "")
		}
	}
	return nil
}

var _ = catalog.Stored{}
