package remote

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/keepsake/keepsake/shared/grammar"
	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// PushOptions configure a Push.
type PushOptions struct {
	// Remote is the account and the one folder there that restores go
	// into; its key line is Identity.AuthorizedKeysLine with that folder
	// (rrsync -wo DIR), which confines every write to it.
	Remote grammar.Remote
	// KeyFile and KnownHostsFile are as in PullOptions.
	KeyFile, KnownHostsFile string
	// Timeout bounds connecting (0: 30 seconds).
	Timeout time.Duration
	// Root is a snapshot folder; Paths are absolute paths below it
	// ("/home/u/x"), each of which arrives as <folder>/home/u/x there.
	Root  string
	Paths []string
	// Progress, when set, is called from another goroutine as data goes.
	Progress func(PullProgress)
}

// Push sends paths of a snapshot into the other computer's restore
// folder with rsync over ssh: contents, modes, times and symlinks (as
// symlinks); owners are the account's there.
//
// The paths are read beneath Root only: a path through a symlink in the
// snapshot (the other computer's own, pointing anywhere on this one) is
// refused with UnsafePath before anything is sent. The list travels over
// rsync's own protocol from this side (--files-from), never through a
// shell.
//
// Errors: InvalidArgs, UnsafePath, PathNotFound, HostKeyUnknown,
// HostKeyChanged, RemoteRefused (login refused, or the key may not
// write: a read-only rrsync line), HostUnreachable, NoSpace (the folder
// there is full), Cancelled, TransferFailed.
func Push(ctx context.Context, opts PushOptions) (PullStats, error) {
	r := opts.Remote
	if err := checkRemote(r); err != nil {
		return PullStats{}, err
	}
	if err := checkPaths(r); err != nil {
		return PullStats{}, err
	}
	if len(r.Paths) != 1 {
		return PullStats{}, kerr.New(kerr.InvalidArgs, "restores go into one folder of %s, not %d", r.Address(), len(r.Paths))
	}
	if len(opts.Paths) == 0 {
		return PullStats{}, kerr.New(kerr.InvalidArgs, "nothing to send")
	}
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return PullStats{}, kerr.Wrap(kerr.InvalidArgs, err, "snapshot folder %q", opts.Root)
	}
	for _, p := range opts.Paths {
		if err := beneath(root, p); err != nil {
			return PullStats{}, err
		}
	}
	ssh, err := sshCommand(r, opts.KeyFile, opts.KnownHostsFile, opts.Timeout)
	if err != nil {
		return PullStats{}, err
	}
	// The destination is the folder the key line confines writes to:
	// rrsync -wo DIR takes "." as DIR. No --modify-window=-1 here: rsync
	// sends it to the receiving side as "-@-1", which rrsync refuses.
	args := []string{"-rlpt", "-H", "--sparse", "--relative", "--no-D", "--no-inc-recursive",
		"--info=progress2,stats2", "--no-human-readable", "--files-from=-", "--from0", "-e", ssh,
		"--", root + "/", rsyncHost(r) + ":."}
	res := runRsync(ctx, args, fileList(opts.Paths), &outputParser{progress: opts.Progress})
	if ctx.Err() != nil {
		return PullStats{}, kerr.Wrap(kerr.Cancelled, ctx.Err(), "sending to %s cancelled", r.Address())
	}
	if res.startErr != nil {
		return PullStats{}, kerr.Wrap(kerr.TransferFailed, res.startErr, "start rsync")
	}
	st := res.stats
	switch res.code {
	case 0:
		return st, nil
	case 23, 24:
		return st, kerr.New(kerr.TransferFailed, "some files could not be sent to %s: %s", r.Address(), strings.Join(res.tail, "; "))
	}
	if noSpaceRe.MatchString(res.stderr) {
		return PullStats{}, kerr.New(kerr.NoSpace, "the folder on %s is full: %s", r.Address(), noSpaceRe.FindString(res.stderr))
	}
	err = classify(r, opts.KnownHostsFile, res)
	if kerr.Is(err, kerr.TransferFailed) || kerr.Is(err, kerr.NoSpace) || kerr.Is(err, kerr.DeviceGone) {
		return PullStats{}, kerr.New(kerr.TransferFailed, "rsync to %s failed (code %d): %s", r.Address(), res.code, strings.Join(res.tail, "; "))
	}
	return PullStats{}, err
}

// beneath checks that p names an entry below root reached without a
// symlink: rsync --relative would follow one in the middle of the path.
func beneath(root, p string) error {
	if !filepath.IsAbs(p) || filepath.Clean(p) != p || p == "/" {
		return kerr.New(kerr.InvalidArgs, "%q is not a clean absolute path below the snapshot's root", p)
	}
	cur := root
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, part := range parts {
		cur = filepath.Join(cur, part)
		var st unix.Stat_t
		if err := unix.Lstat(cur, &st); err != nil {
			if os.IsNotExist(err) {
				return kerr.New(kerr.PathNotFound, "%s is not in the snapshot", p)
			}
			return kerr.Wrap(kerr.Failed, err, "read %s in the snapshot", p)
		}
		if i < len(parts)-1 && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return kerr.New(kerr.UnsafePath, "%s goes through %s, which is not a folder in the snapshot (a symlink of the other computer's)", p, "/"+strings.Join(parts[:i+1], "/"))
		}
	}
	return nil
}
