package remote

import (
	"bytes"
	"context"
	"errors"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/service/internal/sshtest"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keepsake/keepsake/shared/grammar"
	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

func grammarRemote(s string) grammar.Remote {
	r, err := grammar.ParseRemote(s)
	if err != nil {
		panic(err)
	}
	return r
}

func write(t *testing.T, p, content string, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v: %s", name, args, err, out)
	}
	return string(out)
}

// entry is what must arrive of one file: everything Lstat and the
// xattr and ACL calls say.
type meta struct {
	mode      os.FileMode
	uid, gid  uint32
	mtime     int64
	size      int64
	content   string
	target    string
	xattrs    map[string]string
	acl       string
	ino, nlnk uint64
}

func metaOf(t *testing.T, p string) meta {
	t.Helper()
	st, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	m := meta{mode: st.Mode(), uid: sys.Uid, gid: sys.Gid, mtime: st.ModTime().UnixNano(), ino: sys.Ino, nlnk: uint64(sys.Nlink)}
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		m.target, _ = os.Readlink(p)
	case st.Mode().IsRegular():
		data, _ := os.ReadFile(p)
		m.content, m.size = string(data), st.Size()
	}
	m.xattrs = map[string]string{}
	buf := make([]byte, 4096)
	if n, err := unix.Llistxattr(p, buf); err == nil {
		for _, name := range strings.Split(string(buf[:n]), "\x00") {
			if name == "" || strings.HasPrefix(name, "system.posix_acl") || strings.HasPrefix(name, "security.") {
				continue
			}
			v := make([]byte, 4096)
			k, _ := unix.Lgetxattr(p, name, v)
			m.xattrs[name] = string(v[:max(k, 0)])
		}
	}
	if st.Mode()&fs.ModeSymlink == 0 {
		if out, err := exec.Command("getfacl", "-c", "-n", "-p", p).Output(); err == nil {
			m.acl = string(out)
		}
	}
	return m
}

// sameMeta compares everything but the inode and link count.
func sameMeta(a, b meta) bool {
	a.ino, b.ino, a.nlnk, b.nlnk = 0, 0, 0, 0
	return a.mode == b.mode && a.uid == b.uid && a.gid == b.gid && a.mtime == b.mtime && a.size == b.size &&
		a.content == b.content && a.target == b.target && a.acl == b.acl && len(a.xattrs) == len(b.xattrs) && func() bool {
		for k, v := range a.xattrs {
			if b.xattrs[k] != v {
				return false
			}
		}
		return true
	}()
}

// TestPullTree pulls every kind of entry from a computer whose whole
// filesystem Keepsake may read (root behind rrsync -ro /) and finds it
// exact in Dest, and nothing anywhere else.
func TestPullTree(t *testing.T) {
	t.Parallel()
	_, tr := startTrusted(t, true)
	src := filepath.Join(t.TempDir(), "home")
	when := time.Date(2021, 5, 6, 7, 8, 9, 123456789, time.UTC)
	write(t, filepath.Join(src, "file"), "hello\n", 0o644)
	write(t, filepath.Join(src, "hard1"), "two names\n", 0o640)
	if err := os.Mkdir(filepath.Join(src, "sub"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(src, "hard1"), filepath.Join(src, "sub", "hard2")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(src, "xattr"), "attributes\n", 0o644)
	if err := unix.Setxattr(filepath.Join(src, "xattr"), "user.x", []byte("value"), 0); err != nil {
		t.Fatalf("setxattr: %v", err)
	}
	write(t, filepath.Join(src, "acl"), "acl\n", 0o640)
	run(t, "setfacl", "-m", "u:12345:r", filepath.Join(src, "acl"))
	if err := os.Symlink("/etc", filepath.Join(src, "etc-link")); err != nil {
		t.Fatal(err)
	}
	// A folder outside both trees that nothing may touch (other tests
	// add users meanwhile, so /etc itself changes).
	sentinel := t.TempDir()
	if err := os.Symlink(sentinel, filepath.Join(src, "sentinel-link")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(src, "new\nline"), "newline\n", 0o644)
	write(t, filepath.Join(src, "bad\xff\xfename"), "not utf-8\n", 0o644)
	write(t, filepath.Join(src, "secret"), "someone else's\n", 0o600)
	if err := os.Chown(filepath.Join(src, "secret"), 12345, 12346); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(src, "setuid"), "#!/bin/sh\n", 0o4755)
	if err := unix.Mkfifo(filepath.Join(src, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A disk image: 1 MiB of data in the middle of 16 MiB of hole.
	write(t, filepath.Join(src, "disk.img"), "", 0o644)
	must(t, os.Truncate(filepath.Join(src, "disk.img"), 16<<20))
	img, err := os.OpenFile(filepath.Join(src, "disk.img"), os.O_WRONLY, 0)
	must(t, err)
	_, err = img.WriteAt(bytes.Repeat([]byte("data"), 1<<18), 8<<20)
	must(t, err)
	must(t, img.Close())
	// Times last: a directory's mtime changes with its entries.
	filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{unix.NsecToTimespec(when.UnixNano()), unix.NsecToTimespec(when.UnixNano())}, unix.AT_SYMLINK_NOFOLLOW)
		return nil
	})
	src2 := filepath.Join(t.TempDir(), "srv, too")
	write(t, filepath.Join(src2, "data"), "second path\n", 0o644)
	sentinelBefore := metaOf(t, sentinel)

	o := tr.opts(t, src, src2)
	var progress []PullProgress
	o.Progress = func(p PullProgress) { progress = append(progress, p) }
	received := map[string]bool{}
	o.Received = func(p string) { received[p] = true }
	st, err := Pull(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	// Every regular file is named once its data is in, odd names as they
	// are; of two hardlinked names, rsync sends one and links the other.
	for _, top := range []string{src, src2} {
		filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() || strings.HasSuffix(p, "/hard1") || strings.HasSuffix(p, "/hard2") {
				return err
			}
			if !received[p] {
				t.Errorf("%q arrived unnamed", p)
			}
			delete(received, p)
			return nil
		})
	}
	if received[filepath.Join(src, "hard1")] == received[filepath.Join(src, "sub", "hard2")] {
		t.Errorf("of two hardlinked names, want one named: %v", received)
	}
	delete(received, filepath.Join(src, "hard1"))
	delete(received, filepath.Join(src, "sub", "hard2"))
	if len(received) != 0 {
		t.Errorf("named, yet not regular files sent: %v", received)
	}
	if len(st.Warnings) != 0 {
		t.Fatalf("warnings: %q", st.Warnings)
	}
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		got := filepath.Join(o.Dest, p)
		if d.Type()&fs.ModeNamedPipe != 0 {
			if _, err := os.Lstat(got); err == nil {
				t.Errorf("the fifo %q was made in Dest", p)
			}
			return nil
		}
		want := metaOf(t, p)
		if _, err := os.Lstat(got); err != nil {
			t.Errorf("%q did not arrive: %v", p, err)
			return nil
		}
		if g := metaOf(t, got); !sameMeta(g, want) {
			t.Errorf("%q arrived as\n%+v\nwant\n%+v", p, g, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := metaOf(t, filepath.Join(o.Dest, src, "hard1")), metaOf(t, filepath.Join(o.Dest, src, "sub", "hard2")); a.ino != b.ino || a.nlnk != 2 {
		t.Errorf("the hardlinked pair arrived as inodes %d and %d (%d links)", a.ino, b.ino, a.nlnk)
	}
	if m := metaOf(t, filepath.Join(o.Dest, src, "xattr")); m.xattrs["user.x"] != "value" {
		t.Errorf("xattr user.x = %q", m.xattrs["user.x"])
	}
	if m := metaOf(t, filepath.Join(o.Dest, src, "acl")); !strings.Contains(m.acl, "user:12345:r--") {
		t.Errorf("ACL arrived as %q", m.acl)
	}
	if m := metaOf(t, filepath.Join(o.Dest, src, "secret")); m.uid != 12345 || m.gid != 12346 || m.mode != 0o600 {
		t.Errorf("secret arrived as %d:%d %v", m.uid, m.gid, m.mode)
	}
	if m := metaOf(t, filepath.Join(o.Dest, src2, "data")); m.content != "second path\n" {
		t.Errorf("the second path arrived as %+v", m)
	}
	// The symlink is a symlink; nothing was written through it.
	if m := metaOf(t, filepath.Join(o.Dest, src, "etc-link")); m.mode&fs.ModeSymlink == 0 || m.target != "/etc" {
		t.Errorf("etc-link arrived as %v -> %q", m.mode, m.target)
	}
	if after := metaOf(t, sentinel); !sameMeta(sentinelBefore, after) || !empty(sentinel) {
		t.Errorf("the folder a symlink points to changed")
	}
	if m := metaOf(t, filepath.Join(o.Dest, src, "sentinel-link")); m.target != sentinel {
		t.Errorf("sentinel-link arrived as %v -> %q", m.mode, m.target)
	}
	ents, _ := os.ReadDir(src)
	for _, e := range ents {
		if _, err := os.Lstat(filepath.Join("/etc", e.Name())); err == nil {
			t.Errorf("/etc/%s appeared", e.Name())
		}
	}
	var outside []string
	top, _ := os.ReadDir(o.Dest)
	for _, e := range top {
		outside = append(outside, e.Name())
	}
	if !slices.Equal(outside, []string{"tmp"}) {
		t.Errorf("Dest holds %q, want only the sources' own paths (tmp)", outside)
	}
	if _, err := os.Lstat(filepath.Join(o.Dest, "etc")); err == nil {
		t.Errorf("a copy of /etc arrived in Dest")
	}
	// The image's hole stays a hole (rsync --sparse): 1 MiB of blocks,
	// not 16.
	var ist unix.Stat_t
	must(t, unix.Stat(filepath.Join(o.Dest, src, "disk.img"), &ist))
	if used := ist.Blocks * 512; ist.Size != 16<<20 || used < 1<<20 || used > 2<<20 {
		t.Errorf("disk.img arrived with size %d using %d bytes of blocks, want 16 MiB using about 1 MiB", ist.Size, used)
	}
	// rsync's figures: eleven regular files, one of them the second name of
	// a hardlink, which is linked, not sent; the fifo left out.
	if st.RegularFiles != 11 || st.FilesTransferred != 10 || st.TotalSize == 0 || st.BytesSent == 0 || st.BytesRequested == 0 {
		t.Errorf("stats %+v", st)
	}
	if len(progress) == 0 || progress[len(progress)-1].Percent != 100 || progress[len(progress)-1].Checked != progress[len(progress)-1].Total {
		t.Errorf("progress %+v", progress)
	}
}

// TestRestrictedKeys shows that the authorized_keys lines do what they
// say, as an ordinary user: -ro / lets a pull through and refuses a push
// and a shell command; -wo DIR takes a push into DIR only and refuses a
// pull; a key not listed is refused.
func TestRestrictedKeys(t *testing.T) {
	t.Parallel()
	sshtest.NeedRoot(t)
	reader, writer, stranger := newTrust(t, nil), newTrust(t, nil), newTrust(t, nil)
	sshd := sshtest.StartSSHD(t, sshtest.SSHDOptions{})
	src := filepath.Join(sshd.Home(), "docs")
	write(t, filepath.Join(src, "a"), "read me\n", 0o644)
	inbox := filepath.Join(sshd.Home(), `restore "here" 'now'`)
	if err := os.Mkdir(inbox, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "chown", "-R", sshd.User(), src, inbox)
	sshd.AuthorizeKeys(reader.id.AuthorizedKeysLine(true), writer.id.AuthorizedKeysLine(false, inbox))
	for _, tr := range []*trust{&reader, &writer, &stranger} {
		tr.sshd = sshd
		if err := tr.kh.Accept(sshd.Remote(), hostKeys(sshd)); err != nil {
			t.Fatal(err)
		}
	}
	local := filepath.Join(t.TempDir(), "pushed")
	write(t, local, "pushed\n", 0o644)
	sshOf := func(t *testing.T, tr trust) string {
		ssh, err := sshCommand(sshd.Remote(), tr.id.KeyFile(), tr.kh.Path, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return ssh
	}
	push := func(t *testing.T, tr trust, to string) (string, error) {
		out, err := exec.Command("rsync", "-a", "-e", sshOf(t, tr), local, sshd.User()+"@127.0.0.1:"+to).CombinedOutput()
		return string(out), err
	}
	ran := filepath.Join(t.TempDir(), "shell-ran")
	cases := []struct {
		name string
		try  func(t *testing.T)
	}{
		{"read-only pulls", func(t *testing.T) {
			o := reader.opts(t, src)
			if _, err := Pull(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			if data, _ := os.ReadFile(filepath.Join(o.Dest, src, "a")); string(data) != "read me\n" {
				t.Fatalf("pulled %q", data)
			}
		}},
		{"read-only updates a pulled tree", func(t *testing.T) {
			// What a pull into a btrfs snapshot of the previous one does
			// (Update): rsync deletes on this side only, which rrsync -ro
			// lets through; what did not change is left as it is.
			dir, other := filepath.Join(sshd.Home(), "updated"), filepath.Join(sshd.Home(), "other")
			for _, n := range []string{"keep", "change", "gone"} {
				write(t, filepath.Join(dir, n), n+"\n", 0o644)
			}
			write(t, filepath.Join(other, "x"), "x\n", 0o644)
			run(t, "chown", "-R", sshd.User(), dir, other)
			o := reader.opts(t, dir, other)
			if _, err := Pull(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			var before, after unix.Stat_t
			if err := unix.Lstat(filepath.Join(o.Dest, dir, "keep"), &before); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(dir, "gone")); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(dir, "change"), "changed\n", 0o644)
			run(t, "chown", sshd.User(), filepath.Join(dir, "change"))
			if err := os.RemoveAll(other); err != nil {
				t.Fatal(err)
			}
			o.Update = true
			st, err := Pull(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			// A path the other side no longer has is named, for the
			// engine to leave out: rsync deletes nothing of it.
			if !slices.Equal(st.Missing, []string{other}) {
				t.Errorf("missing %q, want %q", st.Missing, other)
			}
			if _, err := os.Lstat(filepath.Join(o.Dest, dir, "gone")); !os.IsNotExist(err) {
				t.Errorf("a file deleted on the other computer is still there: %v", err)
			}
			if data, _ := os.ReadFile(filepath.Join(o.Dest, dir, "change")); string(data) != "changed\n" {
				t.Errorf("changed file holds %q", data)
			}
			if err := unix.Lstat(filepath.Join(o.Dest, dir, "keep"), &after); err != nil || after.Ino != before.Ino || after.Ctim != before.Ctim {
				t.Errorf("the unchanged file was written again (%v)", err)
			}
		}},
		{"read-only refuses a push", func(t *testing.T) {
			out, err := push(t, reader, src+"/")
			if err == nil || !strings.Contains(out, "read-only") {
				t.Fatalf("push through a read-only key: %v: %s", err, out)
			}
			if _, err := os.Stat(filepath.Join(src, "pushed")); err == nil {
				t.Fatal("the push arrived")
			}
		}},
		{"read-only refuses a shell", func(t *testing.T) {
			words := rsyncSplit(sshOf(t, reader))
			out, err := exec.Command(words[0], append(words[1:], "-l", sshd.User(), "127.0.0.1", "touch", ran)...).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "rrsync error") {
				t.Fatalf("a command through a read-only key: %v: %s", err, out)
			}
			if _, err := os.Stat(ran); err == nil {
				t.Fatal("the command ran")
			}
		}},
		{"write-only takes a push", func(t *testing.T) {
			if out, err := push(t, writer, "/"); err != nil {
				t.Fatalf("push: %v: %s", err, out)
			}
			if data, _ := os.ReadFile(filepath.Join(inbox, "pushed")); string(data) != "pushed\n" {
				t.Fatalf("pushed %q", data)
			}
		}},
		{"write-only refuses a pull", func(t *testing.T) {
			o := writer.opts(t, src)
			_, err := Pull(context.Background(), o)
			if !kerr.Is(err, kerr.RemoteRefused) || !empty(o.Dest) {
				t.Fatalf("pull through a write-only key: %v (%s)", err, kerr.NameOf(err))
			}
		}},
		{"an unknown key is refused", func(t *testing.T) {
			o := stranger.opts(t, src)
			_, err := Pull(context.Background(), o)
			if !kerr.Is(err, kerr.RemoteRefused) || !strings.Contains(err.Error(), "publickey") || !empty(o.Dest) {
				t.Fatalf("pull with an unknown key: %v (%s)", err, kerr.NameOf(err))
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// rrsync -wo admits one session at a time (it locks its
			// folder): the writer's cases run one after the other.
			if !strings.HasPrefix(c.name, "write-only") {
				t.Parallel()
			}
			c.try(t)
		})
	}
}

// TestPullHostKeys: a pull never goes to a computer whose host key is not
// the accepted one, and writes nothing then.
func TestPullHostKeys(t *testing.T) {
	t.Parallel()
	sshd, tr := startTrusted(t, false)
	src := filepath.Join(sshd.Home(), "docs")
	write(t, filepath.Join(src, "a"), "a\n", 0o644)
	run(t, "chown", "-R", sshd.User(), src)

	o := tr.opts(t, src)
	if _, err := Pull(context.Background(), o); err != nil {
		t.Fatalf("pull with the accepted key: %v", err)
	}
	if err := tr.kh.Forget(sshd.Remote()); err != nil {
		t.Fatal(err)
	}
	o = tr.opts(t, src)
	_, err := Pull(context.Background(), o)
	if !kerr.Is(err, kerr.HostKeyUnknown) || !empty(o.Dest) {
		t.Fatalf("pull from an unknown host: %v (%s)", err, kerr.NameOf(err))
	}

	old := hostKeys(sshd)
	if err := tr.kh.Accept(sshd.Remote(), old); err != nil {
		t.Fatal(err)
	}
	sshd.RotateHostKey()
	o = tr.opts(t, src)
	_, err = Pull(context.Background(), o)
	if !kerr.Is(err, kerr.HostKeyChanged) || !empty(o.Dest) {
		t.Fatalf("pull after the host key changed: %v (%s)", err, kerr.NameOf(err))
	}
	if !strings.Contains(err.Error(), old[0].Fingerprint()) || !strings.Contains(err.Error(), hostKeys(sshd)[0].Fingerprint()) {
		t.Errorf("the message lacks the old or the new fingerprint: %v", err)
	}
	if got, _ := tr.kh.Accepted(sshd.Remote()); !sameKeys(got, old) {
		t.Errorf("the accepted keys changed to %v", got)
	}
	if err := tr.kh.Verify(context.Background(), sshd.Remote(), 5*time.Second); !kerr.Is(err, kerr.HostKeyChanged) {
		t.Errorf("Verify: %v", err)
	}
}

// TestPullLinkDest: a second pull links what did not change to the first.
func TestPullLinkDest(t *testing.T) {
	t.Parallel()
	_, tr := startTrusted(t, true)
	src := filepath.Join(t.TempDir(), "docs")
	write(t, filepath.Join(src, "same"), "unchanged\n", 0o644)
	write(t, filepath.Join(src, "edited"), "before\n", 0o644)
	first := tr.opts(t, src)
	if _, err := Pull(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(src, "edited"), "after, longer\n", 0o644)
	second := tr.opts(t, src)
	second.LinkDest = first.Dest
	var received []string
	second.Received = func(p string) { received = append(received, p) }
	st, err := Pull(context.Background(), second)
	if err != nil {
		t.Fatal(err)
	}
	// Only what came over the wire is named for reading early.
	if want := []string{filepath.Join(src, "edited")}; !slices.Equal(received, want) {
		t.Errorf("received %q, want %q", received, want)
	}
	if a, b := inode(t, filepath.Join(first.Dest, src, "same")), inode(t, filepath.Join(second.Dest, src, "same")); a != b {
		t.Errorf("the unchanged file was copied (inodes %d, %d)", a, b)
	}
	if a, b := inode(t, filepath.Join(first.Dest, src, "edited")), inode(t, filepath.Join(second.Dest, src, "edited")); a == b {
		t.Errorf("the edited file is linked to its old version")
	}
	if data, _ := os.ReadFile(filepath.Join(second.Dest, src, "edited")); string(data) != "after, longer\n" {
		t.Errorf("edited = %q", data)
	}
	if st.FilesTransferred != 1 {
		t.Errorf("second pull transferred %d files, want 1", st.FilesTransferred)
	}
}

// processesMentioning lists our processes whose command line contains s.
func processesMentioning(s string) []string {
	var found []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil || e.Name() == strconv.Itoa(os.Getpid()) {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Contains(cmdline, []byte(s)) && sshtest.Alive(mustAtoi(e.Name())) {
			found = append(found, e.Name()+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return found
}

func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// TestPullCancel: cancelling mid-transfer stops rsync and ssh at once,
// here and on the other computer, and says Cancelled.
func TestPullCancel(t *testing.T) {
	t.Parallel()
	sshd, tr := startTrusted(t, true)
	src := filepath.Join(t.TempDir(), "big")
	data := make([]byte, 8<<20)
	for i := range data {
		data[i] = byte(i * 7 / 3)
	}
	write(t, filepath.Join(src, "big"), string(data), 0o644)

	o := tr.opts(t, src)
	o.BandwidthLimit = 1 << 20 // 8 seconds for the whole file
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var here, there []string // processes during the transfer
	go func() {
		// Cancel once the receiver writes the file.
		for ctx.Err() == nil {
			if ents, _ := os.ReadDir(filepath.Join(o.Dest, src)); len(ents) > 0 {
				time.Sleep(100 * time.Millisecond)
				here = append(processesMentioning(o.Dest), processesMentioning(tr.kh.Path)...)
				for _, pid := range sshd.Sessions() {
					there = append(there, strconv.Itoa(pid))
				}
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	start := time.Now()
	_, err := Pull(ctx, o)
	if len(here) < 2 || len(there) == 0 {
		t.Errorf("during the transfer: rsync and ssh %q, on the other side %q", here, there)
	}
	if !kerr.Is(err, kerr.Cancelled) {
		t.Fatalf("Pull = %v (%s), want Cancelled", err, kerr.NameOf(err))
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the cancelled pull took %v", d)
	}
	if ps := processesMentioning(o.Dest); len(ps) > 0 {
		t.Errorf("rsync left running: %q", ps)
	}
	if ps := processesMentioning(tr.kh.Path); len(ps) > 0 {
		t.Errorf("ssh left running: %q", ps)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(sshd.Sessions()) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if ps := sshd.Sessions(); len(ps) > 0 {
		t.Errorf("the other computer's rsync left running: %v", ps)
	}
	// rsync removed its partial file.
	if ents, _ := os.ReadDir(filepath.Join(o.Dest, src)); len(ents) != 0 {
		t.Errorf("left in Dest: %v", ents)
	}
}

// TestPullWarnings: files that vanish or cannot be read are warnings; the
// rest of the pull is good.
func TestPullWarnings(t *testing.T) {
	t.Parallel()
	sshd, tr := startTrusted(t, false)
	src := filepath.Join(sshd.Home(), "docs")
	write(t, filepath.Join(src, "a-big"), strings.Repeat("x", 1<<20), 0o644)
	write(t, filepath.Join(src, "readable"), "fine\n", 0o644)
	write(t, filepath.Join(src, "z-victim"), "gone soon\n", 0o644)
	run(t, "chown", "-R", sshd.User(), src)
	write(t, filepath.Join(src, "unreadable"), "root's\n", 0o600) // root's, in the user's folder
	gone := filepath.Join(sshd.Home(), "gone")

	o := tr.opts(t, src, gone)
	o.BandwidthLimit = 1 << 20 // a-big takes about a second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// The file list is complete before data flows: once a-big
		// arrives, z-victim is listed but not yet read.
		for ctx.Err() == nil {
			ents, _ := os.ReadDir(filepath.Join(o.Dest, src))
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), ".a-big.") || e.Name() == "a-big" {
					os.Remove(filepath.Join(src, "z-victim"))
					return
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	st, err := Pull(ctx, o)
	if err != nil {
		t.Fatalf("Pull = %v", err)
	}
	all := strings.Join(st.Warnings, "\n")
	for _, want := range []string{"vanished", "z-victim", "unreadable", "Permission denied (13)", "gone", "No such file or directory"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "rsync error:") {
		t.Errorf("warnings hold rsync's summary line:\n%s", all)
	}
	if data, _ := os.ReadFile(filepath.Join(o.Dest, src, "readable")); string(data) != "fine\n" {
		t.Errorf("readable = %q", data)
	}
	if _, err := os.Stat(filepath.Join(o.Dest, src, "a-big")); err != nil {
		t.Errorf("a-big: %v", err)
	}
}

// TestPullNothingThere: when none of the paths exists on the computer the
// pull fails with PathNotFound instead of making an empty snapshot.
func TestPullNothingThere(t *testing.T) {
	t.Parallel()
	sshd, tr := startTrusted(t, false)
	o := tr.opts(t, filepath.Join(sshd.Home(), "gone"), "/nonexistent-keepsake")
	_, err := Pull(context.Background(), o)
	if !kerr.Is(err, kerr.PathNotFound) || !strings.Contains(err.Error(), "No such file or directory") {
		t.Fatalf("Pull = %v (%s), want PathNotFound", err, kerr.NameOf(err))
	}
}

// TestPullWithoutACLSupport: a remote rsync built without ACLs or xattrs
// refuses -A and -X; the pull asks again without them and says so.
func TestPullWithoutACLSupport(t *testing.T) {
	t.Parallel()
	sshtest.NeedRoot(t)
	tr := newTrust(t, nil)
	sshd := sshtest.StartSSHD(t, sshtest.SSHDOptions{})
	tr.sshd = sshd
	if err := tr.kh.Accept(sshd.Remote(), hostKeys(sshd)); err != nil {
		t.Fatal(err)
	}
	// An rsync that knows neither: it refuses the option as rsync does.
	wrapper := filepath.Join(sshd.Home(), "old-rsync")
	write(t, wrapper, `#!/bin/sh
set -f
set -- $SSH_ORIGINAL_COMMAND
short=${4%%e.*}
case "$short" in
*A*) echo "rsync: ACLs are not supported on this server" >&2; exit 1;;
*X*) echo "rsync: extended attributes are not supported on this server" >&2; exit 1;;
esac
exec rrsync -ro /
`, 0o755)
	sshd.AuthorizeKeys(`restrict,command="` + wrapper + `" ` + tr.id.PublicKey())
	src := filepath.Join(sshd.Home(), "docs")
	write(t, filepath.Join(src, "a"), "a\n", 0o644)
	run(t, "chown", "-R", sshd.User(), src)
	unix.Setxattr(filepath.Join(src, "a"), "user.x", []byte("1"), 0)

	o := tr.opts(t, src)
	st, err := Pull(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(st.Warnings, "\n")
	if !strings.Contains(all, "ACLs were not copied") || !strings.Contains(all, "extended attributes were not copied") {
		t.Errorf("warnings: %q", st.Warnings)
	}
	if data, _ := os.ReadFile(filepath.Join(o.Dest, src, "a")); string(data) != "a\n" {
		t.Errorf("a = %q", data)
	}
	if m := metaOf(t, filepath.Join(o.Dest, src, "a")); len(m.xattrs) != 0 {
		t.Errorf("xattrs arrived without -X: %v", m.xattrs)
	}
}

// TestPullOptions: bad options are refused before anything runs.
func TestPullOptions(t *testing.T) {
	t.Parallel()
	tr := newTrust(t, nil)
	r := grammarRemote("ssh://u@127.0.0.1:2222/home/u")
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	write(t, filepath.Join(full, "x"), "x", 0o644)
	link := filepath.Join(dir, "link")
	os.Symlink(t.TempDir(), link)
	file := filepath.Join(dir, "file")
	write(t, file, "", 0o644)
	good := PullOptions{Remote: r, KeyFile: tr.id.KeyFile(), KnownHostsFile: tr.kh.Path, Dest: t.TempDir()}
	cases := map[string]struct {
		change func(o *PullOptions)
		want   kerr.Name
	}{
		"no dest":            {func(o *PullOptions) { o.Dest = "" }, kerr.InvalidArgs},
		"missing dest":       {func(o *PullOptions) { o.Dest = filepath.Join(dir, "none") }, kerr.InvalidArgs},
		"dest not empty":     {func(o *PullOptions) { o.Dest = full }, kerr.InvalidArgs},
		"dest a symlink":     {func(o *PullOptions) { o.Dest = link }, kerr.UnsafePath},
		"dest a file":        {func(o *PullOptions) { o.Dest = file }, kerr.InvalidArgs},
		"no paths":           {func(o *PullOptions) { o.Remote.Paths = nil }, kerr.InvalidArgs},
		"relative path":      {func(o *PullOptions) { o.Remote.Paths = []string{"home"} }, kerr.InvalidArgs},
		"dot dot":            {func(o *PullOptions) { o.Remote.Paths = []string{"/home/../etc"} }, kerr.InvalidArgs},
		"host is an option":  {func(o *PullOptions) { o.Remote.Host = "-oProxyCommand=touch /tmp/x" }, kerr.InvalidArgs},
		"user is an option":  {func(o *PullOptions) { o.Remote.User = "-oProxyCommand=x" }, kerr.InvalidArgs},
		"relative key":       {func(o *PullOptions) { o.KeyFile = "id" }, kerr.InvalidArgs},
		"key with a newline": {func(o *PullOptions) { o.KeyFile = "/a\nb" }, kerr.InvalidArgs},
		"known hosts ${}":    {func(o *PullOptions) { o.KnownHostsFile = "/x/${HOME}" }, kerr.InvalidArgs},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			o := good
			o.Remote.Paths = slices.Clone(good.Remote.Paths)
			c.change(&o)
			if _, err := Pull(context.Background(), o); !kerr.Is(err, c.want) {
				t.Fatalf("Pull = %v (%s), want %s", err, kerr.NameOf(err), c.want)
			}
		})
	}
}

// TestPullOddPaths: the key, known_hosts and source paths may hold
// spaces, quotes and '%'; the source paths any byte.
func TestPullOddPaths(t *testing.T) {
	t.Parallel()
	sshd, _ := startTrusted(t, true)
	dir := filepath.Join(t.TempDir(), `it's "odd" %d 50%`)
	id, err := LoadOrCreateIdentity(filepath.Join(dir, "ssh"))
	if err != nil {
		t.Fatal(err)
	}
	kh := KnownHosts{Path: filepath.Join(dir, "known hosts")}
	if err := kh.Accept(sshd.Remote(), hostKeys(sshd)); err != nil {
		t.Fatal(err)
	}
	sshd.AuthorizeKeys(id.AuthorizedKeysLine(true))
	src := filepath.Join(t.TempDir(), "a b", "it's", "new\nline", "%41 *?[x]", "bad\xff", "-dash")
	write(t, filepath.Join(src, "f"), "odd\n", 0o644)
	decoy := filepath.Join(filepath.Dir(src), "%41 *?[y]")
	write(t, filepath.Join(decoy, "f"), "decoy\n", 0o644)
	dest := t.TempDir()
	if _, err := Pull(context.Background(), PullOptions{Remote: sshd.Remote(src), KeyFile: id.KeyFile(), KnownHostsFile: kh.Path, Dest: dest}); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dest, src, "f")); string(data) != "odd\n" {
		t.Fatalf("f = %q", data)
	}
	if _, err := os.Stat(filepath.Join(dest, decoy)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a wildcard in the path was expanded: %v", err)
	}
}

// TestPullIPv6: an IPv6 address travels in brackets to rsync and into
// known_hosts.
func TestPullIPv6(t *testing.T) {
	t.Parallel()
	sshd, tr := startTrusted(t, true)
	src := filepath.Join(t.TempDir(), "docs")
	write(t, filepath.Join(src, "a"), "six\n", 0o644)
	r, ok := sshd.RemoteIPv6(src)
	if !ok {
		realfs.Unavailable(t, "no IPv6 loopback here: sshd does not answer on ::1")
	}
	ctx := context.Background()
	keys, err := ScanHostKeys(ctx, r, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.kh.Accept(r, keys); err != nil {
		t.Fatal(err)
	}
	if err := tr.kh.Verify(ctx, r, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(tr.kh.Path); !strings.Contains(string(data), "[::1]:"+strconv.Itoa(sshd.Port())+" ") {
		t.Fatalf("known_hosts:\n%s", data)
	}
	o := tr.opts(t)
	o.Remote = r
	if _, err := Pull(ctx, o); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(o.Dest, src, "a")); string(data) != "six\n" {
		t.Fatalf("a = %q", data)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestPullExcludesOnTheOtherSide: excluded files are not transferred,
// through rrsync too; their patterns travel over rsync's protocol.
func TestPullExcludesOnTheOtherSide(t *testing.T) {
	t.Parallel()
	_, tr := startTrusted(t, true)
	src := filepath.Join(t.TempDir(), "home")
	write(t, filepath.Join(src, "keep.txt"), "kept\n", 0o644)
	write(t, filepath.Join(src, "sub", "big.tmp"), strings.Repeat("x", 1<<20), 0o644)
	write(t, filepath.Join(src, "node_modules", "pkg", "index.js"), "module\n", 0o644)
	write(t, filepath.Join(src, "it's odd.tmp"), "odd\n", 0o644)
	o := tr.opts(t, src)
	o.Excludes = []string{"*.tmp", "node_modules/"}
	st, err := Pull(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]bool{"keep.txt": true, "sub": true, "sub/big.tmp": false, "node_modules": false, "it's odd.tmp": false} {
		if _, err := os.Lstat(filepath.Join(o.Dest, src, rel)); (err == nil) != want {
			t.Errorf("%s arrived: %v, want %v", rel, err == nil, want)
		}
	}
	if st.BytesSent > 1<<19 {
		t.Errorf("%d bytes came over the wire: the excluded 1 MiB file was sent", st.BytesSent)
	}
}
