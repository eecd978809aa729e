package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/internal/longpath"
	"github.com/keepsake/keepsake/service/repo"
	"github.com/keepsake/keepsake/service/retention"
	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// deletingSuffix marks a snapshot folder being removed: renamed first, so
// the snapshot disappears at once and a crash leaves a name the next run
// recognises and finishes removing.
const deletingSuffix = ".deleting"

// PruneOptions configure a prune.
type PruneOptions struct {
	Host   string // "" for every host
	DryRun bool
	// Free, if set, thins the oldest unpinned snapshots (never the
	// newest) until the drive has this many bytes free, instead of
	// applying the policy.
	Free  int64
	Actor catalog.Actor
	Now   func() time.Time
	// Progress is called as snapshots are removed.
	Progress func(Progress)
}

// PrunedSnapshot is one snapshot a prune removes (or would).
type PrunedSnapshot struct {
	Host   string `json:"host"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
	Freed  int64  `json:"freed,omitempty"` // what it alone held (dry run only)
}

// PruneResult says what went and what it freed.
type PruneResult struct {
	DryRun  bool             `json:"dry_run"`
	Policy  string           `json:"policy"`
	Removed []PrunedSnapshot `json:"removed"`
	Kept    int              `json:"kept"`
	// Freed is measured on the drive for a real run (estimated from the
	// catalog for a dry run).
	Freed     int64 `json:"freed"`
	FreeAfter int64 `json:"free_after"`
}

// Prune applies the repository's retention policy, or thins snapshots
// until Free bytes are free. The newest snapshot of each host and pinned
// snapshots are never removed.
func Prune(ctx context.Context, r *repo.Repo, opts PruneOptions) (*PruneResult, error) {
	cat, unlock, err := lockCatalog(r)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := recoverAll(r, cat); err != nil {
		return nil, err
	}
	res, err := prune(ctx, r, cat, opts)
	if err != nil && kerr.NameOf(err) == kerr.Failed && catalog.IsFull(err) {
		err = targetError(err, "prune")
	}
	return res, err
}

func recoverAll(r *repo.Repo, cat *catalog.Catalog) error {
	hosts, err := r.Hosts()
	if err != nil {
		return err
	}
	for _, h := range hosts {
		if err := Recover(r, cat, h); err != nil {
			return err
		}
	}
	return nil
}

func prune(ctx context.Context, r *repo.Repo, cat *catalog.Catalog, opts PruneOptions) (*PruneResult, error) {
	policy, err := cat.Policy()
	if err != nil {
		return nil, err
	}
	res := &PruneResult{DryRun: opts.DryRun, Policy: policy.String()}
	snaps, err := cat.Snapshots(opts.Host)
	if err != nil {
		return nil, err
	}
	byHost := map[string][]catalog.Snapshot{}
	for _, s := range snaps {
		byHost[s.Host] = append(byHost[s.Host], s)
	}
	if opts.Free > 0 {
		res.Policy = fmt.Sprintf("free %d bytes", opts.Free)
		return res, thin(ctx, r, cat, byHost, opts, res)
	}
	var victims []catalog.Snapshot
	reasons := map[int64]string{}
	for _, list := range byHost {
		in := make([]retention.Snapshot, len(list))
		byID := map[int64]catalog.Snapshot{}
		for i, s := range list {
			in[i] = retention.Snapshot{ID: s.ID, Time: s.Time, Pinned: s.Pinned}
			byID[s.ID] = s
		}
		for _, d := range policy.Apply(in, opts.Now()) {
			if d.Keep {
				res.Kept++
				continue
			}
			victims = append(victims, byID[d.ID])
			reasons[d.ID] = "retention: " + policy.String()
		}
	}
	sort.Slice(victims, func(i, j int) bool { return victims[i].ID < victims[j].ID })
	return res, remove(ctx, r, cat, victims, reasons, opts, res)
}

// thin removes the oldest removable snapshot, one at a time, until the
// drive has opts.Free bytes free or nothing more may go.
func thin(ctx context.Context, r *repo.Repo, cat *catalog.Catalog, byHost map[string][]catalog.Snapshot, opts PruneOptions, res *PruneResult) error {
	var cands []catalog.Snapshot
	for _, list := range byHost {
		for i, s := range list {
			if i == len(list)-1 {
				res.Kept++ // the newest of its host
				continue
			}
			if s.Pinned {
				res.Kept++
				continue
			}
			cands = append(cands, s)
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].Time.Before(cands[j].Time) })
	free, err := FreeSpace(r.Root)
	if err != nil {
		return err
	}
	estimate := free
	for _, s := range cands {
		if estimate >= opts.Free {
			res.Kept++
			continue
		}
		reason := fmt.Sprintf("space: %d bytes free, %d wanted", estimate, opts.Free)
		if opts.DryRun {
			f, err := cat.Freed([]int64{s.ID})
			if err != nil {
				return err
			}
			estimate += f
		}
		if err := remove(ctx, r, cat, []catalog.Snapshot{s}, map[int64]string{s.ID: reason}, opts, res); err != nil {
			return err
		}
		if !opts.DryRun {
			if estimate, err = FreeSpace(r.Root); err != nil {
				return err
			}
		}
	}
	return nil
}

// remove deletes snapshots: each folder is renamed aside first (it is gone
// from view at once), then the catalog forgets them in one transaction,
// then the folders are deleted. A crash at any point leaves either the
// snapshot whole, or a ".deleting" folder the next run removes.
func remove(ctx context.Context, r *repo.Repo, cat *catalog.Catalog, victims []catalog.Snapshot, reasons map[int64]string, opts PruneOptions, res *PruneResult) error {
	if len(victims) == 0 {
		var err error
		res.FreeAfter, err = FreeSpace(r.Root)
		return err
	}
	before, err := FreeSpace(r.Root)
	if err != nil {
		return err
	}
	for _, s := range victims {
		p := PrunedSnapshot{Host: s.Host, Name: s.Name, Reason: reasons[s.ID]}
		if opts.DryRun {
			// Only a dry run estimates per snapshot; a real run measures
			// the total on the drive.
			if p.Freed, err = cat.Freed([]int64{s.ID}); err != nil {
				return err
			}
		}
		res.Removed = append(res.Removed, p)
	}
	if opts.DryRun {
		ids := make([]int64, len(victims))
		for i, s := range victims {
			ids[i] = s.ID
		}
		f, err := cat.Freed(ids)
		res.Freed += f
		res.FreeAfter = before + res.Freed
		return err
	}
	// The catalog forgets them first, in one transaction that also notes
	// the folders still to remove: from then on no reader lists them, and
	// a crash leaves a note the next run acts on.
	if err := cat.DeleteSnapshots(victims, opts.Actor, reasons[victims[0].ID]); err != nil {
		return err
	}
	start := time.Now()
	for i, s := range victims {
		if err := ctx.Err(); err != nil {
			return kerr.Wrap(kerr.Cancelled, err, "prune cancelled; the rest is removed on the next run")
		}
		if err := removeSnapshotDir(r, cat, s.Host, s.Name); err != nil {
			return err
		}
		if opts.Progress != nil {
			opts.Progress(Progress{Phase: "pruning", Files: int64(i + 1), TotalFiles: int64(len(victims)), TotalsCounted: true, Elapsed: time.Since(start), Current: s.Name})
		}
	}
	// What was freed must show before it is measured: pruning for space
	// would otherwise go on removing snapshots that are already enough.
	if err := storeFor(r).settle(r.Root); err != nil {
		return targetError(err, "wait for the removed snapshots' space")
	}
	after, err := FreeSpace(r.Root)
	if err != nil {
		return err
	}
	res.Freed += after - before
	res.FreeAfter = after
	return nil
}

// removeSnapshotDir removes a forgotten snapshot's folder: renamed aside
// first, so it vanishes from view at once, then deleted, then the note
// in the catalog is cleared.
func removeSnapshotDir(r *repo.Repo, cat *catalog.Catalog, host, name string) error {
	dir := r.SnapshotDir(host, name)
	if err := os.Rename(dir, dir+deletingSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
		return targetError(err, "set aside snapshot "+name)
	}
	if err := storeFor(r).remove(dir + deletingSuffix); err != nil {
		return targetError(err, "remove snapshot "+name)
	}
	return cat.DeleteDone(host, name)
}

// FreeSpace is the space available to the caller on the filesystem of dir.
func FreeSpace(dir string) (int64, error) {
	free, _, err := repo.Space(dir)
	return free, err
}

// RemoveTree deletes a folder tree with several goroutines: a snapshot is
// hundreds of thousands of hardlinks, and unlinking them from two folders
// at once is faster than rm -rf walking one at a time. Symlinks are removed,
// never followed.
func RemoveTree(root string, workers int) error {
	if _, err := os.Lstat(root); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	var (
		mu       sync.Mutex
		dirs     []string // every folder seen, for the rmdir pass
		queue    = []string{root}
		pending  = 1
		firstErr error
		cond     = sync.NewCond(&mu)
	)
	dirs = append(dirs, root)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				for len(queue) == 0 && pending > 0 {
					cond.Wait()
				}
				if len(queue) == 0 {
					mu.Unlock()
					cond.Broadcast()
					return
				}
				d := queue[len(queue)-1]
				queue = queue[:len(queue)-1]
				mu.Unlock()
				subdirs, err := unlinkFiles(d)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				queue = append(queue, subdirs...)
				dirs = append(dirs, subdirs...)
				pending += len(subdirs) - 1
				mu.Unlock()
				cond.Broadcast()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	// Deepest first: a folder is empty once its subfolders are gone.
	sort.Slice(dirs, func(i, j int) bool { return strings.Count(dirs[i], "/") > strings.Count(dirs[j], "/") })
	for _, d := range dirs {
		if err := rmdir(d); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("remove %s: %w", d, err)
		}
	}
	return nil
}

// rmdir removes the empty folder d, whose path may be of any length.
func rmdir(d string) error {
	dirfd, name, done, err := longpath.Split(d)
	if err != nil {
		return err
	}
	defer done()
	return unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR)
}

// unlinkFiles removes every non-folder entry of dir and returns its
// subfolders.
func unlinkFiles(dir string) ([]string, error) {
	fd, err := longpath.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	f := os.NewFile(uintptr(fd), dir)
	defer f.Close()
	var subdirs []string
	for {
		ents, err := f.ReadDir(1024)
		for _, e := range ents {
			if e.IsDir() {
				subdirs = append(subdirs, filepath.Join(dir, e.Name()))
				continue
			}
			if err := unix.Unlinkat(fd, e.Name(), 0); err != nil && !errors.Is(err, unix.ENOENT) {
				return subdirs, fmt.Errorf("remove %s: %w", filepath.Join(dir, e.Name()), err)
			}
		}
		if err != nil || len(ents) == 0 {
			break
		}
	}
	return subdirs, nil
}
