package cli

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/i18n"
	"github.com/keepsake/keepsake/shared/kerr"
)

// Backend is what the commands that work both ways run on: the use cases
// on a drive (--repo), or the service over the bus. Both return the
// shared/api structs, so both print the same.
type Backend interface {
	Snapshots(ctx context.Context) ([]api.Snapshot, error)
	List(ctx context.Context, q usecase.ListRequest, all bool) ([]api.Entry, error)
	Search(ctx context.Context, q usecase.SearchRequest, all bool) ([]api.SearchHit, error)
	Versions(ctx context.Context, path string, all bool) ([]api.Version, error)
	Deleted(ctx context.Context, dir string, since time.Time, all bool) ([]api.DeletedFile, error)
	Restore(ctx context.Context, q usecase.RestoreRequest, all bool, bar *progressBar) (api.RestoreResult, error)
	Prune(ctx context.Context, q usecase.PruneRequest, bar *progressBar) (api.PruneResult, error)
	Verify(ctx context.Context, q usecase.VerifyRequest, bar *progressBar) (api.VerifyResult, error)
	Flatpaks(ctx context.Context, snapshot string, all bool) ([]api.FlatpakRef, error)
	RestoreFlatpaks(ctx context.Context, q usecase.FlatpakRestoreRequest, bar *progressBar) (api.FlatpakRestoreResult, error)
	RestoreAppData(ctx context.Context, q usecase.AppDataRequest, bar *progressBar) (api.RestoreResult, error)
	Close() error
}

// access says how a command uses the drive: reading only lets a user who
// may read a drive but not write to it use the command.
type access int

const (
	readOnly access = iota
	readWrite
)

// backend opens the drive (--repo) or connects to the service.
func (env *Env) open(a access) (Backend, error) {
	if env.backend != nil {
		return env.backend, nil
	}
	if env.Repo != "" {
		b, err := env.openDrive(a)
		if err != nil {
			return nil, err
		}
		env.backend = b
	} else {
		b, err := env.connect()
		if err != nil {
			return nil, err
		}
		env.backend = b
	}
	return env.backend, nil
}

// driveBackend runs the use cases on a drive, as the user running
// keepsakectl (root sees everything; others what they could read).
type driveBackend struct {
	x *usecase.Repo
	c usecase.Caller
	// t is env.t: its errors' sentences.
	t func(string) string
}

func (env *Env) openDrive(a access) (*driveBackend, error) {
	if env.Profile != "" {
		return nil, usage(i18n.T("--profile picks one of the service's profiles; with --repo use --host"))
	}
	x, err := usecase.Open(env.Repo, usecase.OpenOptions{Host: env.Host, ThisHost: env.ThisHost, ReadOnly: a == readOnly})
	if err != nil {
		return nil, err
	}
	groups, _ := os.Getgroups()
	gids := make([]uint32, len(groups))
	for i, g := range groups {
		gids[i] = uint32(g)
	}
	return &driveBackend{x: x, c: usecase.CurrentCaller(uint32(os.Geteuid()), uint32(os.Getegid()), gids), t: env.t}, nil
}

func (b *driveBackend) Close() error { return b.x.Close() }

// caller is the user, or everyone's files for all (root only: on a drive
// the kernel is the only authority, and root is the one who may).
func (b *driveBackend) caller(all bool) (usecase.Caller, error) {
	if all && !b.c.Root() {
		return b.c, kerr.New(kerr.NotAuthorized, "%s", b.t(i18n.Noop("only root sees every user's files on a drive: run keepsakectl as root")))
	}
	return b.c, nil
}

func (b *driveBackend) Snapshots(context.Context) ([]api.Snapshot, error) {
	return b.x.Snapshots(false)
}

func (b *driveBackend) List(_ context.Context, q usecase.ListRequest, all bool) ([]api.Entry, error) {
	c, err := b.caller(all)
	if err != nil {
		return nil, err
	}
	return b.x.List(c, q)
}

func (b *driveBackend) Search(_ context.Context, q usecase.SearchRequest, all bool) ([]api.SearchHit, error) {
	c, err := b.caller(all)
	if err != nil {
		return nil, err
	}
	return b.x.Search(c, q)
}

func (b *driveBackend) Versions(_ context.Context, path string, all bool) ([]api.Version, error) {
	c, err := b.caller(all)
	if err != nil {
		return nil, err
	}
	return b.x.Versions(c, path)
}

func (b *driveBackend) Deleted(_ context.Context, dir string, since time.Time, all bool) ([]api.DeletedFile, error) {
	c, err := b.caller(all)
	if err != nil {
		return nil, err
	}
	return b.x.Deleted(c, dir, since)
}

func (b *driveBackend) Restore(ctx context.Context, q usecase.RestoreRequest, all bool, bar *progressBar) (api.RestoreResult, error) {
	c, err := b.caller(all)
	if err != nil {
		return api.RestoreResult{}, err
	}
	q.Progress, q.Warn = bar.engine, bar.warn
	defer bar.done()
	return b.x.Restore(ctx, c, q)
}

func (b *driveBackend) Prune(ctx context.Context, q usecase.PruneRequest, bar *progressBar) (api.PruneResult, error) {
	q.Actor, q.Progress = b.c.Actor(), bar.engine
	defer bar.done()
	res, _, err := b.x.Prune(ctx, q)
	return res, err
}

func (b *driveBackend) Verify(ctx context.Context, q usecase.VerifyRequest, bar *progressBar) (api.VerifyResult, error) {
	q.Progress = bar.engine
	defer bar.done()
	res, _, err := b.x.Verify(ctx, q)
	return res, err
}

// busBackend asks keepsaked, about one profile.
type busBackend struct {
	env     *Env
	c       *client.Client
	profile string
}

func (env *Env) connect() (*busBackend, error) {
	if env.Host != "" {
		return nil, usage(i18n.T("--host picks a computer's backups on a drive: use it with --repo (the service backs up this computer)"))
	}
	c, err := client.Connect()
	if err != nil {
		return nil, err
	}
	return &busBackend{env: env, c: c}, nil
}

func (b *busBackend) Close() error { return b.c.Close() }

// auth is the option every call carries: scripts never want a password
// prompt they cannot answer.
func (b *busBackend) auth() api.Auth { return api.Auth{NoUserInteraction: !b.env.Terminal} }

func (b *busBackend) list(all bool) api.ListOptions {
	return api.ListOptions{Auth: b.auth(), Scope: api.Scope{AllUsers: all}}
}

// name is --profile, or the only profile there is.
func (b *busBackend) name(ctx context.Context) (string, error) {
	if b.profile != "" {
		return b.profile, nil
	}
	if b.env.Profile != "" {
		b.profile = b.env.Profile
		return b.profile, nil
	}
	ps, err := b.c.Profiles(ctx)
	if err != nil {
		return "", err
	}
	switch len(ps) {
	case 0:
		// TRANSLATORS: keepsakectl create-profile NAME SOURCE... is a command
		// to type (NAME and SOURCE may be translated).
		return "", kerr.New(kerr.NotFound, "%s", b.env.t(i18n.Noop("no backup profile yet: make one with keepsakectl create-profile NAME SOURCE...")))
	case 1:
		b.profile = ps[0].Name
		return b.profile, nil
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	// TRANSLATORS: %s is a list of the profiles' names.
	return "", usagef(i18n.T("there are several profiles (%s): say which with --profile NAME"), strings.Join(names, ", "))
}

func (b *busBackend) Snapshots(ctx context.Context) ([]api.Snapshot, error) {
	p, err := b.name(ctx)
	if err != nil {
		return nil, err
	}
	return b.c.Snapshots(ctx, p, api.ListOptions{Auth: b.auth()})
}

func (b *busBackend) List(ctx context.Context, q usecase.ListRequest, all bool) ([]api.Entry, error) {
	p, err := b.name(ctx)
	if err != nil {
		return nil, err
	}
	return b.c.List(ctx, p, q.Snapshot, q.Dir, b.list(all))
}

func (b *busBackend) Search(ctx context.Context, q usecase.SearchRequest, all bool) ([]api.SearchHit, error) {
	p, err := b.name(ctx)
	if err != nil {
		return nil, err
	}
	return b.c.Search(ctx, p, q.Pattern, api.SearchOptions{Auth: b.auth(), Scope: api.Scope{AllUsers: all},
		In: api.Path(q.In), Since: q.Since, Until: q.Until, Limit: uint32(q.Limit)})
}

func (b *busBackend) Versions(ctx context.Context, path string, all bool) ([]api.Version, error) {
	p, err := b.name(ctx)
	if err != nil {
		return nil, err
	}
	return b.c.Versions(ctx, p, path, b.list(all))
}

func (b *busBackend) Deleted(ctx context.Context, dir string, since time.Time, all bool) ([]api.DeletedFile, error) {
	p, err := b.name(ctx)
	if err != nil {
		return nil, err
	}
	return b.c.Deleted(ctx, p, dir, api.DeletedOptions{Auth: b.auth(), Scope: api.Scope{AllUsers: all}, Since: since})
}

// follow waits for a job with a progress bar; Ctrl-C cancels it.
func (b *busBackend) follow(ctx context.Context, start func(p string) (dbus.ObjectPath, error), bar *progressBar) (client.Job, error) {
	p, err := b.name(ctx)
	if err != nil {
		return client.Job{}, err
	}
	job, err := start(p)
	if err != nil {
		return client.Job{}, err
	}
	defer bar.done()
	j, err := b.c.Wait(ctx, job, bar.job)
	if ctx.Err() != nil {
		// Interrupted: cancel the job rather than leave it running.
		b.c.Cancel(context.Background(), job, b.auth())
	}
	return j, err
}

func (b *busBackend) Restore(ctx context.Context, q usecase.RestoreRequest, all bool, bar *progressBar) (api.RestoreResult, error) {
	j, err := b.follow(ctx, func(p string) (dbus.ObjectPath, error) {
		return b.c.Restore(ctx, p, q.Snapshot, q.Paths, api.RestoreOptions{Auth: b.auth(), Scope: api.Scope{AllUsers: all},
			To: api.Path(q.To), Overwrite: q.Overwrite, ToComputer: q.ToComputer})
	}, bar)
	if err != nil {
		return api.RestoreResult{}, err
	}
	return j.RestoreResult()
}

func (b *busBackend) Prune(ctx context.Context, q usecase.PruneRequest, bar *progressBar) (api.PruneResult, error) {
	j, err := b.follow(ctx, func(p string) (dbus.ObjectPath, error) {
		return b.c.Prune(ctx, p, api.PruneOptions{Auth: b.auth(), Free: q.Free, DryRun: q.DryRun})
	}, bar)
	if err != nil {
		return api.PruneResult{}, err
	}
	return j.PruneResult()
}

func (b *busBackend) Verify(ctx context.Context, q usecase.VerifyRequest, bar *progressBar) (api.VerifyResult, error) {
	j, err := b.follow(ctx, func(p string) (dbus.ObjectPath, error) {
		return b.c.Verify(ctx, p, api.VerifyOptions{Auth: b.auth(), Sample: uint32(q.Sample)})
	}, bar)
	res, rerr := j.VerifyResult()
	if err == nil {
		err = rerr
	}
	return res, err
}
