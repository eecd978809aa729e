package flatpak

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"

	"github.com/keepsake/keepsake/shared/kerr"
)

// Limits on what is read from an installation: its files are small, and
// anything bigger is not flatpak's doing.
const (
	maxFile   = 1 << 20  // one file of the installation
	maxOutput = 64 << 20 // one command's output
)

// runner runs commands on one installation, as its owner.
type runner struct {
	bin  string
	inst Installation
	opts Options
	cred *syscall.Credential // nil: as this process
}

func newRunner(inst Installation, opts Options) (*runner, error) {
	bin, err := opts.binary()
	if err != nil {
		return nil, kerr.Wrap(kerr.NotFound, errNoFlatpak, "cannot run flatpak")
	}
	r := &runner{bin: bin, inst: inst, opts: opts}
	switch inst.Scope {
	case ScopeSystem:
	case ScopeUser:
		if inst.Home == "" || inst.Dir == "" {
			return nil, kerr.New(kerr.InvalidArgs, "user installation of %q has no home or directory", inst.User)
		}
		if uint32(os.Geteuid()) != inst.UID {
			r.cred = &syscall.Credential{Uid: inst.UID, Gid: inst.GID, Groups: groupsOf(inst)}
		}
	default:
		return nil, kerr.New(kerr.InvalidArgs, "unknown installation scope %q", inst.Scope)
	}
	return r, nil
}

// groupsOf is the owner's supplementary groups, as a login would have them.
func groupsOf(inst Installation) []uint32 {
	u, err := user.LookupId(strconv.FormatUint(uint64(inst.UID), 10))
	if err != nil {
		return nil
	}
	ids, err := u.GroupIds()
	if err != nil {
		return nil
	}
	var out []uint32
	for _, id := range ids {
		if g, err := strconv.ParseUint(id, 10, 32); err == nil {
			out = append(out, uint32(g))
		}
	}
	return out
}

// environ is a clean environment: the owner's identity, C locale (output
// is parsed), the installation's directory, the system bus (flatpak asks
// it about parental controls before installing an app), then Options.Env.
func (r *runner) environ() []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	env := []string{"PATH=" + path, "LC_ALL=C", "LANG=C"}
	if s := os.Getenv("DBUS_SYSTEM_BUS_ADDRESS"); s != "" {
		env = append(env, "DBUS_SYSTEM_BUS_ADDRESS="+s)
	}
	home := r.inst.Home
	if r.inst.Scope == ScopeSystem {
		if home = os.Getenv("HOME"); home == "" {
			home = "/root"
		}
	}
	env = append(env, "HOME="+home)
	if r.inst.User != "" {
		env = append(env, "USER="+r.inst.User, "LOGNAME="+r.inst.User)
	}
	env = append(env, r.opts.Env...)
	if r.inst.Dir != "" {
		if r.inst.Scope == ScopeUser {
			env = append(env, "FLATPAK_USER_DIR="+r.inst.Dir)
		} else {
			env = append(env, "FLATPAK_SYSTEM_DIR="+r.inst.Dir)
		}
	}
	return env
}

// run runs name as the installation's owner and returns its standard
// output; a failure carries its standard error.
func (r *runner) run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = r.environ()
	// The owner may not be able to enter this process's directory.
	cmd.Dir = "/"
	if r.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.cred}
	}
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr limitedBuffer
	stdout.max, stderr.max = maxOutput, 64<<10
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err == nil && stdout.over {
		err = fmt.Errorf("more than %d bytes of output", maxOutput)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, kerr.Wrap(kerr.Cancelled, ctx.Err(), "%s cancelled", name)
		}
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 1000 {
			msg = msg[len(msg)-1000:]
		}
		if msg != "" {
			return nil, fmt.Errorf("%w: %s", err, msg)
		}
		return nil, err
	}
	return stdout.Bytes(), nil
}

// flatpak runs flatpak on this installation (--system or --user).
func (r *runner) flatpak(ctx context.Context, args ...string) ([]byte, error) {
	out, err := r.run(ctx, nil, r.bin, append([]string{"--" + r.inst.Scope}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("flatpak %s: %w", args[0], err)
	}
	return out, nil
}

// flatpakGlobal runs flatpak with options that name no installation.
func (r *runner) flatpakGlobal(ctx context.Context, args ...string) ([]byte, error) {
	out, err := r.run(ctx, nil, r.bin, args...)
	if err != nil {
		return nil, fmt.Errorf("flatpak %s: %w", args[0], err)
	}
	return out, nil
}

// tree is a set of files read from an installation: regular files'
// contents and symlinks' targets, by path relative to where they were read.
type tree struct {
	files map[string][]byte
	links map[string]string
}

// The files Collect reads, relative to the installation directory. The
// shell expands the globs; a pattern that matches nothing stays as it is
// and tar skips it.
const treeScript = `cd -- "$1" 2>/dev/null || exit 0
exec tar -c -f - --ignore-failed-read --no-recursion -- repo/config repo/*.trustedkeys.gpg overrides/* app/*/*/*/active app/*/*/*/active/deploy runtime/*/*/*/active runtime/*/*/*/active/deploy 2>/dev/null`

// readTree reads the installation's own files as its owner: for a user's
// installation the kernel, not this code, decides what may be read, so a
// symlink to /etc/shadow planted there reads nothing.
func (r *runner) readTree(ctx context.Context) (tree, error) {
	out, err := r.run(ctx, nil, "/bin/sh", "-c", treeScript, "sh", r.inst.Dir)
	if err != nil {
		return tree{}, fmt.Errorf("read %s: %w", r.inst.Dir, err)
	}
	return untar(out)
}

// readFiles reads absolute paths as the owner; unreadable ones are left out.
func (r *runner) readFiles(ctx context.Context, paths []string) (tree, error) {
	args := append([]string{"-c", "-f", "-", "-P", "--ignore-failed-read", "--no-recursion", "--"}, paths...)
	cmd := `exec tar "$@" 2>/dev/null`
	out, err := r.run(ctx, nil, "/bin/sh", append([]string{"-c", cmd, "sh"}, args...)...)
	if err != nil {
		return tree{}, fmt.Errorf("read %s: %w", strings.Join(paths, ", "), err)
	}
	return untar(out)
}

func untar(b []byte) (tree, error) {
	t := tree{files: map[string][]byte{}, links: map[string]string{}}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return t, nil
		}
		if err != nil {
			return t, fmt.Errorf("read installation files: %w", err)
		}
		switch h.Typeflag {
		case tar.TypeReg:
			if h.Size > maxFile {
				continue
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				return t, fmt.Errorf("read installation files: %w", err)
			}
			t.files[h.Name] = data
		case tar.TypeSymlink:
			t.links[h.Name] = h.Linkname
		}
	}
}

// The script writeFile runs: a temporary file renamed over the target, so
// flatpak never reads half a file.
const writeScript = `umask 022
mkdir -p -- "$1" && cat > "$1/.$2.keepsake-tmp" && mv -f -- "$1/.$2.keepsake-tmp" "$1/$2"`

// writeFile writes dir/name as the installation's owner.
func (r *runner) writeFile(ctx context.Context, dir, name string, data []byte) error {
	if _, err := r.run(ctx, data, "/bin/sh", "-c", writeScript, "sh", dir, name); err != nil {
		return fmt.Errorf("write %s/%s: %w", dir, name, err)
	}
	return nil
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); len(p) > room {
		b.over = true
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
