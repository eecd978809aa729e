package engine

import (
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// Credentials are a user's identity for file access: uid, primary gid and
// supplementary groups.
type Credentials struct {
	UID    uint32
	GID    uint32
	Groups []uint32
}

// restoreAs runs fn on an OS thread whose filesystem identity is c.
// setfsuid, setfsgid and setgroups (the raw system calls) change only the
// calling thread, so fn runs in its own goroutine locked to a thread that
// is never unlocked: when the goroutine ends, the Go runtime retires the
// thread instead of handing its changed identity to other goroutines. fn
// must not start goroutines that touch files.
func restoreAs(c *Credentials, fn func() (*RestoreResult, error)) (*RestoreResult, error) {
	type out struct {
		res *RestoreResult
		err error
	}
	ch := make(chan out, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: see above
		gids := make([]int, len(c.Groups))
		for i, g := range c.Groups {
			gids[i] = int(g)
		}
		if err := unix.Setgroups(gids); err != nil {
			ch <- out{nil, fmt.Errorf("restore as uid %d: setgroups: %w", c.UID, err)}
			return
		}
		unix.Setfsgid(int(c.GID))
		unix.Setfsuid(int(c.UID))
		// setfsuid reports the previous id, never an error: ask again
		// to be sure the switch happened before writing anything.
		if got, _ := unix.SetfsuidRetUid(-1); got != int(c.UID) {
			ch <- out{nil, fmt.Errorf("restore as uid %d: setfsuid did not take (fsuid %d)", c.UID, got)}
			return
		}
		res, err := fn()
		ch <- out{res, err}
	}()
	o := <-ch
	return o.res, o.err
}

// setBase makes the stored folder dir the start of reads (see
// restorer.base): opened with the service's own rights when restoring as
// a user, else the snapshot root.
func (rs *restorer) setBase(dir string) error {
	if rs.base > 0 && rs.base != rs.snapRoot {
		unix.Close(rs.base)
	}
	rs.base, rs.baseDir = rs.snapRoot, ""
	if rs.opts.As == nil || dir == "/" {
		return nil
	}
	var fd int
	err := rs.asService(func() (err error) {
		fd, err = openBeneath(rs.snapRoot, strings.TrimPrefix(dir, "/"), unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
		return err
	})
	if err != nil {
		return fmt.Errorf("open stored folder %s: %w", dir, err)
	}
	rs.base, rs.baseDir = fd, dir
	return nil
}

// asService runs fn with the process's own filesystem identity, then
// returns to the user's (see restoreAs).
func (rs *restorer) asService(fn func() error) error {
	c := rs.opts.As
	if c == nil {
		return fn()
	}
	unix.Setfsuid(0)
	unix.Setfsgid(0)
	err := fn()
	unix.Setfsgid(int(c.GID))
	unix.Setfsuid(int(c.UID))
	if got, _ := unix.SetfsuidRetUid(-1); got != int(c.UID) {
		panic("restore: could not give up the service's rights") // never write as root for a user
	}
	return err
}

// openStored opens a stored file below the current base for reading:
// with the user's rights, or the service's with ReadAll.
func (rs *restorer) openStored(rel string) (int, error) {
	if rs.opts.As == nil || !rs.opts.ReadAll {
		return openBeneath(rs.base, rel, unix.O_RDONLY|unix.O_NOFOLLOW, 0)
	}
	var fd int
	err := rs.asService(func() (err error) {
		fd, err = openBeneath(rs.base, rel, unix.O_RDONLY|unix.O_NOFOLLOW, 0)
		return err
	})
	return fd, err
}
