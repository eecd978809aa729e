package usecase

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/engine"
	"github.com/keepsake/keepsake/service/repo"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/grammar"
	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// BackupRequest is one backup run (the engine's options: sources,
// exclusions, changed folders, dry run, extras, progress).
type BackupRequest = engine.BackupOptions

// Drive is a repository opened for writing a backup, without a catalog
// held open: the engine opens its own.
type Drive struct{ R *repo.Repo }

// OpenDrive opens the repository at dir for a backup or maintenance.
func OpenDrive(dir string) (*Drive, error) {
	r, err := repo.Open(dir)
	if err != nil {
		return nil, err
	}
	return &Drive{R: r}, nil
}

// InitDrive writes a new repository to dir after probing its filesystem
// (a FAT drive is UnsupportedFilesystem with the reason) and logs it.
func InitDrive(dir string, a Actor) (*Drive, error) {
	r, err := repo.Init(dir)
	if err != nil {
		return nil, err
	}
	c, err := catalog.Open(r.CatalogPath())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.Audit(a, "init", "", "", r.Root, r.Marker.Caps.FSType); err != nil {
		return nil, err
	}
	return &Drive{R: r}, nil
}

// DeviceGone checks whether the filesystem of the drive mounted at mp
// still answers, by reading the repository marker: a DeviceGone error
// when it does not (EIO from a pulled USB drive, ENODEV, ENXIO), nil
// otherwise (an answer that is an error of another kind included).
func DeviceGone(mp string) error {
	_, err := os.ReadFile(filepath.Join(repo.Resolve(mp), repo.MarkerName))
	for _, e := range []error{unix.EIO, unix.ENODEV, unix.ENXIO, unix.ESHUTDOWN} {
		if errors.Is(err, e) {
			return kerr.Wrap(kerr.DeviceGone, err, "the backup drive stopped answering (unplugged or failing): nothing half-done is kept; plug it in again to finish")
		}
	}
	return nil
}

// Marker is what a repository says of itself.
func (d *Drive) Marker() repo.Marker { return d.R.Marker }

// MinFreeBytes is what a min-free text ("2%", "20GiB") leaves free on this
// drive.
func (d *Drive) MinFreeBytes(text string) (int64, error) {
	if text == "" {
		return 0, nil
	}
	z, err := grammar.ParseSize(text)
	if err != nil {
		return 0, kerr.New(kerr.InvalidArgs, "min-free: %v", err)
	}
	_, size, err := repo.Space(d.R.Root)
	if err != nil {
		return 0, err
	}
	return z.Of(size), nil
}

// Backup writes a snapshot.
func (d *Drive) Backup(ctx context.Context, q BackupRequest) (api.BackupResult, *BackupDetails, error) {
	res, err := engine.Backup(ctx, d.R, q)
	if err != nil {
		return api.BackupResult{}, res, err
	}
	return api.BackupResult{Snapshot: res.Snapshot, Files: uint64(res.Files), Dirs: uint64(res.Dirs), Bytes: uint64(res.Bytes),
		Copied: uint64(res.Copied), CopiedBytes: uint64(res.CopiedBytes), New: uint64(res.New), Modified: uint64(res.Modified),
		Deleted: uint64(res.Deleted), Moved: uint64(res.Moved), ReadDirs: uint64(res.ReadDirs), ReusedDirs: uint64(res.ReusedDirs),
		PatchedDirs: uint64(res.PatchedDirs),
		FullScan:    q.ChangedDirs == nil, Warnings: uint32(len(res.Warnings)), Received: uint64(res.ReceivedBytes),
		Problems: Problems(res), ProblemCount: uint32(len(res.Warnings) - len(res.SkippedMounts)),
		SkippedMounts: pathList(res.SkippedMounts)}, res, nil
}

// Problems lists a backup's warnings about entries it could not take (up
// to api.MaxProblems), leaving out the mount points it skipped on purpose.
func Problems(res *engine.Result) []string {
	skipped := map[string]bool{}
	for _, m := range res.SkippedMounts {
		skipped[m] = true
	}
	var out []string
	for _, w := range res.Warnings {
		if skipped[w.Path] || len(out) == api.MaxProblems {
			continue
		}
		out = append(out, w.Path+": "+w.Message)
	}
	return out
}

func pathList(ps []string) []api.Path {
	out := make([]api.Path, len(ps))
	for i, p := range ps {
		out[i] = api.Path(p)
	}
	return out
}

// ApplyPolicy stores a retention policy on the drive when it differs from
// the one there (a profile's policy follows the configuration).
func (d *Drive) ApplyPolicy(p Policy, a Actor) error {
	cat, err := catalog.Open(d.R.CatalogPath())
	if err != nil {
		return err
	}
	defer cat.Close()
	have, err := cat.Policy()
	if err != nil || have == p {
		return err
	}
	return cat.SetPolicy(p, a)
}

// Prune applies the drive's retention policy to host's snapshots.
func (d *Drive) Prune(ctx context.Context, host string, a Actor) error {
	_, err := engine.Prune(ctx, d.R, engine.PruneOptions{Host: host, Actor: a})
	return err
}

// Repo opens the drive's catalog for queries as host.
func (d *Drive) Repo(host string) (*Repo, error) {
	cat, err := catalog.Open(d.R.CatalogPath())
	if err != nil {
		return nil, err
	}
	return &Repo{R: d.R, Cat: cat, Host: host, own: true}, nil
}
