package usecase

import (
	"context"
	"errors"
	"strings"

	"github.com/keepsake/keepsake/service/engine"
	"github.com/keepsake/keepsake/shared/api"
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
	Progress  func(Progress)
	Warn      func(Warning)
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
