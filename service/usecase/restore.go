package usecase

import (
	"context"
	"errors"
	"path"
	"strings"
	"time"

	"github.com/keepsake/keepsake/service/engine"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/grammar"
	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// RestoreRequest asks for entries of a snapshot back.
type RestoreRequest struct {
	Snapshot string
	Paths    []string
	// To, if set, receives each item as To/<name>; otherwise items go back
	// where they were.
	To string
	// Overwrite replaces existing entries; without it a clash is restored
	// beside as "name (restored DATE).ext".
	Overwrite bool
	// ToComputer sends the paths to the other computer a pulled snapshot
	// came from, into its restore folder, with Send (Trust.Send: only the
	// service has one), instead of writing them here.
	ToComputer bool
	Send       *Sender
	Progress   func(Progress)
	Warn       func(Warning)
}

// CheckRestore checks a restore before it starts, so that a refusal is the
// request's error rather than a failed job: the arguments, the snapshot
// (returned by its name) and that the caller may see every path.
func (x *Repo) CheckRestore(c Caller, q RestoreRequest) (string, error) {
	if err := CheckRestoreArgs(q); err != nil {
		return "", err
	}
	s, err := x.Snapshot(q.Snapshot)
	if err != nil {
		return "", err
	}
	sc := x.Scope(c)
	for _, p := range q.Paths {
		v, err := x.Cat.Lookup(s, p)
		if err != nil {
			return "", err
		}
		if !sc.CanSee(s, v) {
			return "", kerr.New(kerr.NotAuthorized, "you may not restore %s: you could not read it when it was backed up", p)
		}
	}
	return s.Name, nil
}

// CheckRestoreArgs checks a restore's arguments alone, before any drive
// is touched.
func CheckRestoreArgs(q RestoreRequest) error {
	if len(q.Paths) == 0 || len(q.Paths) > 10000 {
		return kerr.New(kerr.InvalidArgs, "give between 1 and 10000 paths to restore")
	}
	for _, p := range q.Paths {
		if err := CheckPath(p); err != nil {
			return err
		}
	}
	if q.To != "" {
		if err := CheckPath(q.To); err != nil {
			return err
		}
		if q.ToComputer {
			return kerr.New(kerr.InvalidArgs, "a restore goes to a folder here or to the other computer, not both")
		}
	}
	if q.Snapshot == "" || strings.ContainsAny(q.Snapshot, "/\x00") {
		return kerr.New(kerr.InvalidArgs, "snapshot %q is not a snapshot name", q.Snapshot)
	}
	return nil
}

// Restore brings entries back, read and written with the caller's rights
// (root: the process's own), after CheckRestore.
func (x *Repo) Restore(ctx context.Context, c Caller, q RestoreRequest) (api.RestoreResult, error) {
	name, err := x.CheckRestore(c, q)
	if err != nil {
		return api.RestoreResult{}, err
	}
	q.Snapshot = name
	return x.restore(ctx, c, q)
}

// restore restores a checked request (q.Snapshot is a snapshot's name).
func (x *Repo) restore(ctx context.Context, c Caller, q RestoreRequest) (api.RestoreResult, error) {
	if q.ToComputer {
		return x.send(ctx, q)
	}
	var out api.RestoreResult
	opts := engine.RestoreOptions{Host: x.Host, Snapshot: q.Snapshot, Paths: q.Paths, To: q.To,
		Overwrite: q.Overwrite, Actor: c.Actor(), As: c.Credentials(), ReadAll: c.All && !c.Root(),
		Progress: q.Progress, Warn: q.Warn}
	if snap, err := x.Snapshot(q.Snapshot); err == nil {
		if _, remote := x.RemoteOf(snap); remote {
			// Another computer's user ids name nobody here: what is
			// restored belongs to whoever restores it, root included.
			no := false
			opts.Owner = &no
		}
	}
	res, err := engine.Restore(ctx, x.R, opts)
	if err != nil {
		return out, writeRefused(err, c)
	}
	out = api.RestoreResult{Snapshot: res.Snapshot, Files: uint64(res.Files), Dirs: uint64(res.Dirs), Bytes: uint64(res.Bytes),
		Paths: []api.Path{}, Restored: []api.Path{}}
	for _, it := range res.Items {
		out.Paths = append(out.Paths, api.Path(it.Path))
		out.Restored = append(out.Restored, api.Path(it.To))
	}
	return out, nil
}

// writeRefused names a restore the kernel refused for the caller's rights
// (a destination they may not write to) as NotAuthorized.
func writeRefused(err error, c Caller) error {
	if kerr.NameOf(err) == kerr.Failed && (errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM)) {
		who := c.Name
		if who == "" {
			who = "you"
		}
		return kerr.Wrap(kerr.NotAuthorized, err, "%s may not write there (restores are written with your own rights)", who)
	}
	return err
}

// Sender sends files of a snapshot folder to another computer's restore
// folder (service/remote's Push with the service's key).
type Sender struct {
	// To is the folder there, as an ssh:// address with its one path.
	To   grammar.Remote
	Send func(ctx context.Context, root string, paths []string, progress func(sentBytes int64)) (files, bytes int64, err error)
}

// send puts paths of a pulled snapshot into the other computer's restore
// folder: each arrives as <folder>/<path> there.
func (x *Repo) send(ctx context.Context, q RestoreRequest) (api.RestoreResult, error) {
	if q.Send == nil {
		return api.RestoreResult{}, kerr.New(kerr.InvalidArgs, "files are sent back to another computer by the service, with its key (keepsakectl without --repo); from the drive, fetch them there with rsync")
	}
	snap, err := x.Snapshot(q.Snapshot)
	if err != nil {
		return api.RestoreResult{}, err
	}
	if _, remote := x.RemoteOf(snap); !remote {
		return api.RestoreResult{}, kerr.New(kerr.InvalidArgs, "snapshot %s is of this computer: only another computer's files are sent back to it", q.Snapshot)
	}
	start := time.Now()
	files, bytes, err := q.Send.Send(ctx, x.R.SnapshotDir(x.Host, snap.Name), q.Paths, func(n int64) {
		if q.Progress != nil {
			q.Progress(Progress{Phase: "sending", CopiedBytes: n, Bytes: n, Elapsed: time.Since(start)})
		}
	})
	if err != nil {
		return api.RestoreResult{}, err
	}
	out := api.RestoreResult{Snapshot: snap.Name, Files: uint64(max(files, 0)), Bytes: uint64(max(bytes, 0)), Paths: []api.Path{}, Restored: []api.Path{}}
	dir := q.Send.To.Paths[0]
	for _, p := range q.Paths {
		to := q.Send.To
		to.Paths = []string{path.Join(dir, p)}
		out.Paths = append(out.Paths, api.Path(p))
		out.Restored = append(out.Restored, api.Path(to.String()))
	}
	return out, nil
}
