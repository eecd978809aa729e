package daemon_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/service/internal/bustest"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/service/internal/sshtest"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// Other computers, end to end: a real keepsaked on a private bus with
// real polkitd pulls real sshd instances on 127.0.0.1 (one account and
// one sshd per "computer", host keys made by the test) with real rsync,
// into an ext4 loop drive (and a btrfs one, where each pull is a
// subvolume, for the kill and the shared storage). Everything is asserted the way a user would
// check it: over the bus, in the status files, and on the drive itself.

const errHostKeyChanged = "io.github.keepsake.Keepsake1.Error.HostKeyChanged"

// remoteRig is keepsaked with a quick scheduler and a quick probe of
// computers that did not answer, and an enrolled drive.
type remoteRig struct {
	t     *testing.T
	s     *service
	dr    drive
	key   string // GetRemoteKey's authorized_keys line
	start time.Time
}

// mark logs how long the test has run, at a step worth timing.
func (r *remoteRig) mark(step string) {
	r.t.Logf("%6.2fs %s", time.Since(r.start).Seconds(), step)
}

func newRemoteRig(t *testing.T, rules string, driveMB int) *remoteRig {
	t.Helper()
	return newRemoteRigOn(t, "ext4", rules, driveMB)
}

// newRemoteRigOn is newRemoteRig with a drive of filesystem fstype.
func newRemoteRigOn(t *testing.T, fstype, rules string, driveMB int) *remoteRig {
	t.Helper()
	sshtest.NeedRoot(t)
	start := time.Now()
	s := startService(t, rules, "--tick", "200ms", "--remote-probe", "1s")
	dr := newDriveOf(t, fstype, "KSCOMPUTERS", driveMB)
	s.waitFor("the drive", 10*time.Second, func() bool {
		d, err := s.client.Drive(bg, dr.uuid)
		return err == nil && d.Present
	})
	if err := s.client.Enroll(bg, dr.uuid, client.EnrollOptions{}); err != nil {
		t.Fatal(err)
	}
	key, err := s.client.RemoteKey(bg, api.RemoteKeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, `restrict,command="rrsync -ro /" ssh-ed25519 `) || strings.Contains(key, "\n") {
		t.Fatalf("GetRemoteKey: %q, want one restricted read-only ed25519 line", key)
	}
	r := &remoteRig{t: t, s: s, dr: dr, key: key, start: start}
	r.mark("keepsaked started, drive enrolled")
	return r
}

// computer is another computer: an sshd of its own on 127.0.0.1 with an
// account of its own, whose folder data (in the account's home) is
// backed up by the profile of the same name, into the host folder of the
// same name on the drive.
type computer struct {
	name string
	sshd *sshtest.SSHD
	data string
}

// newComputer starts the computer with an empty data folder. Nothing
// trusts it yet.
func (r *remoteRig) newComputer(name string) *computer {
	r.t.Helper()
	sshd := sshtest.StartSSHD(r.t, sshtest.SSHDOptions{})
	c := &computer{name: name, sshd: sshd, data: filepath.Join(sshd.Home(), "data")}
	c.mkdir(r.t, "")
	return c
}

// source is the profile's source: ssh://user@127.0.0.1:port/home/user/data.
func (c *computer) source() string {
	return fmt.Sprintf("ssh://%s@127.0.0.1:%d%s", c.sshd.User(), c.sshd.Port(), c.data)
}

// mkdir makes a folder below data, owned by the account.
func (c *computer) mkdir(t *testing.T, rel string) {
	t.Helper()
	p := filepath.Join(c.data, rel)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, c.sshd.UID(), c.sshd.GID()); err != nil {
		t.Fatal(err)
	}
}

// write writes a file below data, owned by the account.
func (c *computer) write(t *testing.T, rel, content string, mode os.FileMode) string {
	t.Helper()
	c.mkdir(t, filepath.Dir(rel))
	p := filepath.Join(c.data, rel)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, c.sshd.UID(), c.sshd.GID()); err != nil {
		t.Fatal(err)
	}
	return p
}

// addProfile creates the computer's profile over the bus, with the drive
// and the host folder set (all computers are 127.0.0.1 here), plus
// settings.
func (r *remoteRig) addProfile(c *computer, settings api.Settings) {
	r.t.Helper()
	settings.Sources = paths(c.source())
	settings.Drive = ptr(r.dr.uuid)
	if settings.Host == nil {
		settings.Host = ptr(c.name)
	}
	if _, err := r.s.client.CreateProfile(bg, c.name, settings, api.Auth{}); err != nil {
		r.t.Fatalf("CreateProfile %s: %v", c.name, err)
	}
	p := r.s.profile(c.name)
	if !p.Remote || p.Host != *settings.Host {
		r.t.Fatalf("profile %s: Remote %v Host %q, want another computer named %q", c.name, p.Remote, p.Host, *settings.Host)
	}
}

// fingerprint is the fingerprint of the computer's own ed25519 host key,
// read from its key file: what an administrator compares on that
// computer.
func (c *computer) fingerprint(t *testing.T) string {
	t.Helper()
	for _, k := range c.sshd.HostKeys() {
		if k.Type == "ssh-ed25519" {
			return k.Fingerprint
		}
	}
	t.Fatalf("computer %s has no ed25519 host key", c.name)
	return ""
}

// trust does what an administrator does: the key line into the
// computer's authorized_keys, ScanHostKeys, compare, AcceptHostKey.
func (r *remoteRig) trust(c *computer) {
	t := r.t
	t.Helper()
	c.sshd.AuthorizeKeys(r.key)
	keys, state, err := r.s.client.ScanHostKeys(bg, c.name, api.Auth{})
	if err != nil {
		t.Fatalf("ScanHostKeys %s: %v", c.name, err)
	}
	if state != "new" {
		t.Errorf("ScanHostKeys %s: state %q, want new", c.name, state)
	}
	want := map[string]string{}
	for _, k := range c.sshd.HostKeys() {
		want[k.Type] = k.Fingerprint
	}
	got := map[string]string{}
	for _, k := range keys {
		got[k.Type] = k.Fingerprint
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ScanHostKeys %s offers %v; the computer's own keys are %v", c.name, got, want)
	}
	if err := r.s.client.AcceptHostKey(bg, c.name, c.fingerprint(t), api.Auth{}); err != nil {
		t.Fatalf("AcceptHostKey %s: %v", c.name, err)
	}
	if hk := r.s.profile(c.name).HostKey; hk != "accepted" {
		t.Fatalf("HostKey of %s after AcceptHostKey: %q", c.name, hk)
	}
}

// backup runs BackupNow and waits for the job; it must succeed.
func (r *remoteRig) backup(name string) client.Job {
	r.t.Helper()
	job, err := r.s.client.BackupNow(bg, name, api.BackupOptions{})
	if err != nil {
		r.t.Fatalf("BackupNow %s: %v", name, err)
	}
	j, err := r.s.wait(job)
	if err != nil {
		r.t.Fatalf("backup of %s: %v", name, err)
	}
	return j
}

// waitSuccess waits for a success of the profile later than after (µs).
func (r *remoteRig) waitSuccess(name string, after int64, timeout time.Duration) client.Profile {
	r.t.Helper()
	var p client.Profile
	deadline := time.Now().Add(timeout)
	for {
		var err error
		p, err = r.s.client.Profile(bg, name)
		if err == nil && p.LastSuccess > after && p.StateName() != "running" {
			return p
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("no backup of %s within %v: state %s, result %q (%s), last attempt %v, next run %v, host key %q\nkeepsaked log:\n%s",
				name, timeout, p.StateName(), p.LastResult, p.LastMessage, client.Time(p.LastAttempt), client.Time(p.NextRun), p.HostKey, r.s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// onDrive mounts the drive read-only while the service has it unmounted
// and runs fn with the repository's folder.
func (r *remoteRig) onDrive(fn func(ks string)) {
	r.t.Helper()
	r.s.waitFor("the service to unmount the drive", 15*time.Second, func() bool { return len(mountedUnder(r.t, r.s.runDir())) == 0 })
	mnt, err := os.MkdirTemp("", "ks-remote-drive-")
	if err != nil {
		r.t.Fatal(err)
	}
	defer os.Remove(mnt)
	opts := "ro,noload"
	if r.dr.fstype == "btrfs" {
		opts = "ro"
	}
	if out, err := exec.Command("mount", "-o", opts, r.dr.dev, mnt).CombinedOutput(); err != nil {
		r.t.Fatalf("mount: %v %s", err, out)
	}
	// The service sees mounts come and go a moment later: a job started
	// before it saw this one go would look for the drive where it was.
	// Wait for it to see the mount, then for it to see it gone.
	mountedAt := func(want string) func() bool {
		return func() bool {
			d, err := r.s.client.Drive(bg, r.dr.uuid)
			return err == nil && d.MountPoint == want
		}
	}
	r.s.waitFor("the service to see the drive mounted", 10*time.Second, mountedAt(mnt))
	defer func() {
		unmountTest(r.t, mnt)
		r.s.waitFor("the service to see the drive unmounted", 10*time.Second, mountedAt(""))
	}()
	fn(filepath.Join(mnt, "Keepsake"))
}

// used is the bytes in use on the drive, read with the drive unmounted
// by the service so that everything is on disk: statfs's, and on btrfs
// `btrfs filesystem df`'s data and metadata (statfs there counts a whole
// metadata chunk as used once it is allocated).
func (r *remoteRig) used() int64 {
	r.t.Helper()
	var n int64
	r.onDrive(func(ks string) {
		if r.dr.fstype == "btrfs" {
			n = realfs.BtrfsUsed(r.t, ks)
			return
		}
		var st unix.Statfs_t
		if err := unix.Statfs(ks, &st); err != nil {
			r.t.Fatal(err)
		}
		n = int64(st.Blocks-st.Bfree) * st.Bsize
	})
	return n
}

// snapshotNames are the snapshots of a host folder (not partial ones).
func snapshotNames(t *testing.T, ks, host string) []string {
	t.Helper()
	var out []string
	for _, n := range dirNames(filepath.Join(ks, host)) {
		if n != "latest" && !strings.Contains(n, ".") {
			out = append(out, n)
		}
	}
	return out
}

// treeState describes every entry below root (relative path: type, mode,
// owner, mtime, inode, content hash, link target): equal states are the
// same files, byte for byte and inode for inode.
func treeState(t *testing.T, root string) map[string]string {
	t.Helper()
	return realfs.DigestOf(t, root, realfs.DigestOptions{Meta: true, Inode: true})
}

func fileHash(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// diffStates lists the paths whose state differs.
func diffStates(a, b map[string]string) []string {
	var out []string
	for k, v := range a {
		if b[k] != v {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// inode is a file's inode number.
func inode(t *testing.T, p string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// pullProcesses lists what of a pull from c still runs: this side's rsync
// and ssh (their command lines name the computer's port), sshd's sessions
// for the account and anything running as the account.
func pullProcesses(c *computer) []string {
	port := "-p " + strconv.Itoa(c.sshd.Port())
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		raw, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(raw) == 0 {
			continue // gone, or a kernel thread
		}
		cmd := strings.TrimSpace(string(bytes.ReplaceAll(raw, []byte{0}, []byte{' '})))
		status, _ := os.ReadFile("/proc/" + e.Name() + "/status")
		uid := -1
		for _, l := range strings.Split(string(status), "\n") {
			if f := strings.Fields(l); len(f) > 1 && f[0] == "Uid:" {
				uid, _ = strconv.Atoi(f[1])
			}
			if f := strings.Fields(l); len(f) > 1 && f[0] == "State:" && f[1] == "Z" {
				uid = -2 // a zombie runs nothing
			}
		}
		if uid == -2 {
			continue
		}
		fields := strings.Fields(cmd)
		prog := ""
		if len(fields) > 0 {
			prog = filepath.Base(fields[0])
		}
		switch {
		case uid == c.sshd.UID(),
			(prog == "rsync" || prog == "ssh") && strings.Contains(cmd, port),
			strings.HasPrefix(cmd, "sshd: "+c.sshd.User()):
			out = append(out, fmt.Sprintf("%d (uid %d): %s", pid, uid, cmd))
		}
	}
	return out
}

// checkNoPullProcesses fails when a pull from c left processes running
// (after grace for them to notice their peer is gone).
func checkNoPullProcesses(t *testing.T, c *computer, grace time.Duration) {
	t.Helper()
	deadline := time.Now().Add(grace)
	var first []string
	for {
		left := pullProcesses(c)
		if len(left) == 0 {
			if len(first) > 0 {
				t.Logf("pull processes that took a moment to end:\n%s", strings.Join(first, "\n"))
			}
			return
		}
		if first == nil {
			first = left
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes of the pull from %s still run %v later:\n%s", c.name, grace, strings.Join(left, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRemoteThreeComputersOneDrive: three computers, each trusted the way
// an administrator does it (key line, ScanHostKeys, AcceptHostKey), are
// backed up by the scheduler alone to one drive, each in its own host
// folder, byte for byte; root browses them over the bus; the status file
// has a line per computer.
func TestRemoteThreeComputersOneDrive(t *testing.T) {
	r := newRemoteRig(t, "", 128)
	s := r.s
	names := []string{"alpha", "beta", "gamma"}
	var cs []*computer
	for i, name := range names {
		c := r.newComputer(name)
		c.write(t, "notes.txt", "the notes of "+name+"\n", 0o644)
		c.write(t, "private/diary.txt", strings.Repeat(name+" private ", 100+i), 0o600)
		c.write(t, "photos/"+name+".jpg", strings.Repeat(fmt.Sprint(i), 20000), 0o644)
		cs = append(cs, c)
		// Created before the computer trusts the service: the scheduler
		// finds it due at once and must cope.
		r.addProfile(c, api.Settings{})
	}
	r.mark("computers started")
	for _, c := range cs {
		r.trust(c)
	}
	r.mark("computers trusted")
	for _, c := range cs {
		p := r.waitSuccess(c.name, 0, 30*time.Second)
		r.mark(c.name + " backed up")
		if p.LastResult != "" || p.LastSnapshot == "" || p.LastReceived == 0 || p.HostKey != "accepted" {
			t.Errorf("profile %s after its backup: result %q snapshot %q received %d host key %q",
				c.name, p.LastResult, p.LastSnapshot, p.LastReceived, p.HostKey)
		}
	}
	jobs, err := s.client.Jobs(bg)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Operation == "backup" && j.Trigger == "manual" {
			t.Errorf("job %s was started by hand; the scheduler should have done all: %+v", j.Path, j)
		}
	}

	// Over the bus, as root.
	for _, c := range cs {
		snaps, err := s.client.Snapshots(bg, c.name, api.ListOptions{})
		if err != nil {
			t.Fatalf("ListSnapshots %s: %v", c.name, err)
		}
		if len(snaps) != 1 || snaps[0].Host != c.name || snaps[0].Name != s.profile(c.name).LastSnapshot {
			t.Fatalf("ListSnapshots %s: %+v", c.name, snaps)
		}
		entries, err := s.client.List(bg, c.name, "latest", c.data, api.ListOptions{})
		if err != nil {
			t.Fatalf("ListDirectory %s: %v", c.name, err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, fmt.Sprintf("%s:%s:%d", e.Name, e.Type, e.UID))
		}
		uid := c.sshd.UID()
		want := []string{fmt.Sprintf("notes.txt:file:%d", uid), fmt.Sprintf("photos:dir:%d", uid), fmt.Sprintf("private:dir:%d", uid)}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("ListDirectory %s %s: %v, want %v", c.name, c.data, got, want)
		}
	}

	// On the drive: a host folder per computer, for root only, each
	// snapshot the computer's files and nothing else.
	r.onDrive(func(ks string) {
		hosts := dirNames(ks)
		for _, c := range cs {
			fi, err := os.Stat(filepath.Join(ks, c.name))
			if err != nil || fi.Mode().Perm() != 0o700 || !fi.IsDir() {
				t.Errorf("host folder %s: %v %v, want a 0700 folder", c.name, fi.Mode(), err)
			}
			snaps := snapshotNames(t, ks, c.name)
			if len(snaps) != 1 || snaps[0] != s.profile(c.name).LastSnapshot {
				t.Fatalf("snapshots of %s on the drive: %v", c.name, snaps)
			}
			snap := filepath.Join(ks, c.name, snaps[0])
			want, got := treeState(t, c.data), treeState(t, snap+c.data)
			for k, v := range want {
				// Inodes differ (a copy); type, mode, owner, time, bytes not.
				if stripIno(got[k]) != stripIno(v) {
					t.Errorf("%s: stored %s is %q, the computer has %q", c.name, k, got[k], v)
				}
			}
			if len(got) != len(want) {
				t.Errorf("%s: %d entries stored, the computer has %d", c.name, len(got), len(want))
			}
			homes := dirNames(filepath.Join(snap, "home"))
			if len(homes) != 1 || homes[0] != c.sshd.User() {
				t.Errorf("snapshot of %s holds homes %v, want only %s", c.name, homes, c.sshd.User())
			}
		}
		t.Logf("repository folders: %v", hosts)
	})

	// The status file, one line per computer.
	st := readStatus(t, s.runDir())
	for _, c := range cs {
		l := st[c.name]
		rec, _ := strconv.ParseInt(l["received"], 10, 64)
		if l["host"] != c.name || l["remote"] != "yes" || l["age-hours"] != "0" || l["overdue"] != "no" || rec <= 0 || l["result"] != "ok" {
			t.Errorf("status line of %s: %v", c.name, l)
		}
	}
}

// stripIno drops the inode from a treeState description.
func stripIno(desc string) string { return stripField(desc, "ino=") }

// stripField drops a field ("ino=", "mtime=") from a treeState description.
func stripField(desc, prefix string) string {
	var keep []string
	for _, w := range strings.Fields(desc) {
		if !strings.HasPrefix(w, prefix) {
			keep = append(keep, w)
		}
	}
	return strings.Join(keep, " ")
}

// TestRemoteComputerUnreachable: a computer that does not answer is
// HostUnreachable in the profile and the status file, is not a failure
// with back-off, and is backed up by the next probe once it answers,
// without anyone asking.
func TestRemoteComputerUnreachable(t *testing.T) {
	r := newRemoteRig(t, "", 64)
	s := r.s
	c := r.newComputer("roamer")
	c.write(t, "report.txt", "written while travelling\n", 0o644)
	// Trusted while at home, with the interval off so that nothing runs
	// yet; then it leaves, and the interval is set.
	r.addProfile(c, api.Settings{Interval: ptr(uint64(0))})
	r.trust(c)
	c.sshd.Stop()
	if err := s.client.Configure(bg, c.name, api.Settings{Interval: ptr(uint64(3600))}, api.Auth{}); err != nil {
		t.Fatal(err)
	}
	// Another that never answered: nothing listens on its port. Its
	// host folder would be named after the address.
	const nowhere = "nowhere"
	if _, err := s.client.CreateProfile(bg, nowhere, api.Settings{Sources: paths(fmt.Sprintf("ssh://nobody@127.0.0.1:%d/home", sshtest.FreePort(t))),
		Drive: ptr(r.dr.uuid)}, api.Auth{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.client.ScanHostKeys(bg, nowhere, api.Auth{}); kerr.NameOf(err) != kerr.HostUnreachable {
		t.Errorf("ScanHostKeys of a computer that does not answer: %v, want HostUnreachable", err)
	}

	for _, name := range []string{c.name, nowhere} {
		s.waitFor(name+" to be HostUnreachable", 15*time.Second, func() bool {
			p := s.profile(name)
			return p.LastResult == "HostUnreachable" && p.LastAttempt > 0
		})
		s.waitFor("the status line of "+name, 5*time.Second, func() bool {
			return readStatus(t, s.runDir())[name]["result"] == "HostUnreachable"
		})
		l := readStatus(t, s.runDir())[name]
		if l["remote"] != "yes" || l["last-success"] != "-" || l["age-hours"] != "-" {
			t.Errorf("status line of %s: %v", name, l)
		}
	}
	first := s.profile(c.name).LastAttempt
	// Not a failure: no back-off (the state's failure count stays 0, the
	// next run is not pushed back), and it is tried again at the next
	// probe.
	s.waitFor("a second probe of roamer", 10*time.Second, func() bool { return s.profile(c.name).LastAttempt > first })
	for _, name := range []string{c.name, nowhere} {
		p := s.profile(name)
		if p.NextRun > time.Now().UnixMicro() || p.LastSuccess != 0 {
			t.Errorf("%s after failed probes: next run %v, last success %v", name, client.Time(p.NextRun), client.Time(p.LastSuccess))
		}
		if n := stateFailures(t, s, name); n != 0 {
			t.Errorf("%s: %d failures counted for a computer that was away", name, n)
		}
	}
	if jobs, _ := s.client.Jobs(bg); len(jobs) != 0 {
		t.Errorf("jobs were started for computers that do not answer: %+v", jobs)
	}

	// Home again: the next probe backs it up by itself.
	c.sshd.Start()
	p := r.waitSuccess(c.name, 0, 20*time.Second)
	if p.LastResult != "" || p.LastReceived == 0 {
		t.Errorf("roamer after coming home: %+v", p)
	}
	jobs, err := s.client.Jobs(bg)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Profile == dbusapi.ProfilePath(c.name) && j.Trigger == "manual" {
			t.Errorf("roamer's backup was started by hand: %+v", j)
		}
	}
	s.waitFor("roamer's status line to say ok", 5*time.Second, func() bool {
		return readStatus(t, s.runDir())[c.name]["result"] == "ok"
	})
	r.onDrive(func(ks string) {
		snaps := snapshotNames(t, ks, c.name)
		if len(snaps) != 1 {
			t.Fatalf("roamer's snapshots: %v", snaps)
		}
		got, err := os.ReadFile(filepath.Join(ks, c.name, snaps[0]) + c.data + "/report.txt")
		if err != nil || string(got) != "written while travelling\n" {
			t.Errorf("roamer's report on the drive: %q %v", got, err)
		}
		if _, err := os.Lstat(filepath.Join(ks, "127.0.0.1")); err == nil {
			t.Errorf("a host folder was made for the computer that never answered")
		}
	})
}

// stateFile is the service's state file.
func stateFile(s *service) string { return filepath.Join(s.dir, "state", "state.json") }

// stateFailures is the failure count the service keeps for a profile.
func stateFailures(t *testing.T, s *service, name string) int {
	t.Helper()
	data, err := os.ReadFile(stateFile(s))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Profiles map[string]struct {
			Failures int `json:"failures"`
		} `json:"profiles"`
	}
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	return st.Profiles[name].Failures
}

// TestRemoteComputersShareStorage: the same files (content, mode, owner,
// time) on two computers are stored once, and a folder renamed on one
// computer costs nothing after the next pull, though it came over the
// wire again.
func TestRemoteComputersShareStorage(t *testing.T) { remoteComputersShareStorage(t, "ext4") }

// TestRemoteComputersShareStorageOnBtrfs is the same on a btrfs drive,
// where each pull is a subvolume and stored content is reflinked: the
// second computer's photos and the renamed folder hold no data of their
// own (btrfs filesystem du's exclusive bytes).
func TestRemoteComputersShareStorageOnBtrfs(t *testing.T) { remoteComputersShareStorage(t, "btrfs") }

func remoteComputersShareStorage(t *testing.T, fstype string) {
	r := newRemoteRigOn(t, fstype, "", 300)
	s := r.s
	office, laptop := r.newComputer("office"), r.newComputer("laptop")
	// ~50 MB of photos, copied with cp -a to both: same bytes, mode,
	// owner (root) and time.
	stage := filepath.Join(t.TempDir(), "photos")
	os.Mkdir(stage, 0o755)
	for i := 0; i < 10; i++ {
		writeBlob(t, filepath.Join(stage, fmt.Sprintf("img%02d.raw", i)), 5<<20)
	}
	mt := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for i := 0; i < 10; i++ {
		os.Chtimes(filepath.Join(stage, fmt.Sprintf("img%02d.raw", i)), mt, mt)
	}
	for _, c := range []*computer{office, laptop} {
		if out, err := exec.Command("cp", "-a", stage, c.data+"/photos").CombinedOutput(); err != nil {
			t.Fatalf("cp -a: %v %s", err, out)
		}
		c.write(t, "own.txt", "only on "+c.name+"\n", 0o644)
		r.addProfile(c, api.Settings{Interval: ptr(uint64(0))})
		r.trust(c)
	}

	u0 := r.used()
	j := r.backup(office.name)
	u1 := r.used()
	j2 := r.backup(laptop.name)
	u2 := r.used()
	res1, _ := j.BackupResult()
	res2, _ := j2.BackupResult()
	t.Logf("drive use: empty %d, +office %d (received %d), +laptop %d (received %d)", u0, u1-u0, res1.Received, u2-u1, res2.Received)
	if u1-u0 < 50<<20 {
		t.Fatalf("the first computer's 50 MB took only %d bytes on the drive", u1-u0)
	}
	if res2.Received < 50<<20 {
		t.Errorf("the second computer's pull received %d bytes: the files did not come over the wire", res2.Received)
	}
	if u2-u1 >= 5<<20 {
		t.Errorf("the same 50 MB from a second computer took %d bytes more on the drive, want < 5 MB", u2-u1)
	}
	officeSnap := filepath.Join(office.name, res1.Snapshot)
	r.onDrive(func(ks string) {
		officeSnap := filepath.Join(ks, officeSnap)
		laptopSnap := filepath.Join(ks, laptop.name, res2.Snapshot)
		if fstype == "btrfs" {
			// Subvolumes share content by reflinks, not inodes.
			if n := realfs.BtrfsExclusive(t, laptopSnap); n >= 1<<20 {
				t.Errorf("laptop's snapshot holds %d bytes of its own: the photos are stored twice", n)
			}
		}
		for i := 0; i < 10; i++ {
			name := fmt.Sprintf("photos/img%02d.raw", i)
			a, b := inode(t, officeSnap+office.data+"/"+name), inode(t, laptopSnap+laptop.data+"/"+name)
			if a != b && fstype != "btrfs" {
				t.Errorf("%s: inode %d in office's snapshot, %d in laptop's: stored twice", name, a, b)
			}
		}
		// (Inode numbers are a subvolume's own on btrfs.)
		if fstype != "btrfs" && inode(t, officeSnap+office.data+"/own.txt") == inode(t, laptopSnap+laptop.data+"/own.txt") {
			t.Errorf("different files share an inode")
		}
	})

	// A folder renamed on the laptop.
	if err := os.Rename(filepath.Join(laptop.data, "photos"), filepath.Join(laptop.data, "photos-2026")); err != nil {
		t.Fatal(err)
	}
	j3 := r.backup(laptop.name)
	u3 := r.used()
	res3, _ := j3.BackupResult()
	t.Logf("rename of a 50 MB folder: drive use +%d bytes, received %d", u3-u2, res3.Received)
	if u3-u2 >= 1<<20 {
		t.Errorf("a renamed folder cost %d bytes on the drive, want < 1 MB", u3-u2)
	}
	r.onDrive(func(ks string) {
		snaps := snapshotNames(t, ks, laptop.name)
		if len(snaps) != 2 {
			t.Fatalf("laptop's snapshots: %v", snaps)
		}
		newest, officeSnap := filepath.Join(ks, laptop.name, snaps[1]), filepath.Join(ks, officeSnap)
		if fstype == "btrfs" {
			if n := realfs.BtrfsExclusive(t, newest); n >= 1<<20 {
				t.Errorf("the snapshot after the rename holds %d bytes of its own: the folder is a new copy", n)
			}
		}
		for i := 0; i < 10; i++ {
			name := fmt.Sprintf("img%02d.raw", i)
			p := newest + laptop.data + "/photos-2026/" + name
			if fstype != "btrfs" && inode(t, p) != inode(t, officeSnap+office.data+"/photos/"+name) {
				t.Errorf("renamed %s is a new copy", name)
			}
			if fileHash(t, p) != fileHash(t, filepath.Join(stage, name)) {
				t.Errorf("renamed %s differs from the original", name)
			}
		}
		if _, err := os.Lstat(newest + laptop.data + "/photos"); err == nil {
			t.Errorf("the old folder name is still in the newest snapshot")
		}
	})
	if hits, err := s.client.Search(bg, laptop.name, "img03.raw", api.SearchOptions{}); err != nil || len(hits) == 0 {
		t.Errorf("Search of the laptop for img03.raw: %v %v", hits, err)
	}
}

// TestRemoteKilledMidPull: keepsaked killed with SIGKILL while rsync is
// pulling leaves earlier snapshots and the catalog intact and no rsync or
// ssh running; restarted, the next run completes.
func TestRemoteKilledMidPull(t *testing.T) { remoteKilledMidPull(t, "ext4") }

// TestRemoteKilledMidPullOnBtrfs is the same on a btrfs drive: the pull
// killed is a snapshot of the first pull's subvolume, brought up to date
// by rsync in place; after the restart no .partial subvolume is left and
// each snapshot is a read-only subvolume.
func TestRemoteKilledMidPullOnBtrfs(t *testing.T) { remoteKilledMidPull(t, "btrfs") }

func remoteKilledMidPull(t *testing.T, fstype string) {
	r := newRemoteRigOn(t, fstype, "", 700)
	s := r.s
	c := r.newComputer("bigbox")
	c.write(t, "small/a.txt", "a\n", 0o644)
	c.write(t, "small/b.txt", "b\n", 0o600)
	r.addProfile(c, api.Settings{Interval: ptr(uint64(0))})
	r.trust(c)
	first := r.backup(c.name)
	firstRes, _ := first.BackupResult()
	var before map[string]string
	r.onDrive(func(ks string) { before = treeState(t, filepath.Join(ks, c.name, firstRes.Snapshot)) })
	r.mark("first snapshot made and read")

	const nBig, bigSize = 10, 32 << 20
	c.mkdir(t, "big")
	for i := 0; i < nBig; i++ {
		p := filepath.Join(c.data, "big", fmt.Sprintf("blob%02d", i))
		writeBlob(t, p, bigSize)
		os.Chown(p, c.sshd.UID(), c.sshd.GID())
	}
	r.mark(fmt.Sprintf("%d MB written on the computer", nBig*bigSize>>20))
	job, err := s.client.BackupNow(bg, c.name, api.BackupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Wait for the pull to be under way: the job says it pulls, the
	// snapshot's .partial folder exists and holds some of the big files.
	var partial string
	done := func() []string {
		var names []string
		for _, n := range dirNames(filepath.Join(partial, c.data[1:], "big")) {
			if !strings.HasPrefix(n, ".") {
				names = append(names, n)
			}
		}
		return names
	}
	deadline := time.Now().Add(60 * time.Second)
	phase := ""
	for {
		if time.Now().After(deadline) {
			t.Fatalf("the pull never got under way (phase %q, partial %q)", phase, partial)
		}
		j, err := s.client.Job(bg, job)
		if err != nil {
			t.Fatal(err)
		}
		if j.Finished {
			t.Fatalf("the pull of %d MB finished before it could be killed: %s %s", nBig*bigSize>>20, j.ErrorName, j.Message)
		}
		phase = j.Phase
		if partial == "" {
			if mps := mountedUnder(t, s.runDir()); len(mps) == 1 {
				ps, _ := filepath.Glob(filepath.Join(mps[0], "Keepsake", c.name, "*.partial"))
				if len(ps) == 1 {
					partial = ps[0]
				}
			}
		}
		if strings.HasPrefix(phase, "pulling") && partial != "" && len(done()) > 0 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	r.mark("pull under way")
	if running := pullProcesses(c); len(running) < 2 {
		t.Fatalf("the pull's processes are not found as running (so their absence would prove nothing): %q", running)
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	go func() { s.cmd.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Fatal("keepsaked did not die of SIGKILL")
	}
	s.cmd = nil
	killedAt := time.Now()
	// Nothing of the pull runs on: not rsync, not ssh, not the other
	// computer's side.
	checkNoPullProcesses(t, c, 5*time.Second)
	t.Logf("pull processes gone %v after the kill", time.Since(killedAt).Round(time.Millisecond))
	got := done()
	t.Logf("killed in phase %q with %d of %d big files in %s", phase, len(got), nBig, filepath.Base(partial))
	if len(got) == 0 || len(got) >= nBig {
		t.Fatalf("the kill did not land mid-transfer: %d of %d files in the partial snapshot", len(got), nBig)
	}

	// Started again: the leftovers are cleaned and the next run completes.
	s.start()
	r.mark("keepsaked restarted")
	j, err := s.wait(r.backupJob(c.name))
	if err != nil {
		t.Fatalf("the backup after the restart: %v", err)
	}
	res, _ := j.BackupResult()
	r.mark(fmt.Sprintf("the next run completed (received %d bytes)", res.Received))
	// The killed run left the drive mounted; the restarted service takes
	// that mount as its own and lets go of it after the run.
	s.waitFor("the drive the killed run left mounted to be unmounted", 15*time.Second, func() bool {
		return len(mountedUnder(t, s.runDir())) == 0
	})
	r.onDrive(func(ks string) {
		if diff := diffStates(before, treeState(t, filepath.Join(ks, c.name, firstRes.Snapshot))); len(diff) > 0 {
			t.Errorf("the earlier snapshot changed: %v", diff)
		}
		left, _ := filepath.Glob(filepath.Join(ks, c.name, "*.partial"))
		if len(left) > 0 {
			t.Errorf("left on the drive: %v", left)
		}
		snaps := snapshotNames(t, ks, c.name)
		if len(snaps) != 2 || snaps[1] != res.Snapshot {
			t.Fatalf("snapshots after the restart: %v (the run made %s)", snaps, res.Snapshot)
		}
		if fstype == "btrfs" {
			// The killed pull's subvolume is gone.
			onlySubvolumes(t, filepath.Dir(ks), c.name, snaps)
		}
		for i := 0; i < nBig; i++ {
			rel := fmt.Sprintf("/big/blob%02d", i)
			if fileHash(t, filepath.Join(ks, c.name, res.Snapshot)+c.data+rel) != fileHash(t, c.data+rel) {
				t.Errorf("%s differs from the computer's", rel)
			}
		}
	})
	vj, err := s.client.Verify(bg, c.name, api.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.wait(vj)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	vr, _ := v.VerifyResult()
	if len(vr.Damaged) > 0 || len(vr.CatalogProblems) > 0 || len(vr.Snapshots) != 2 || vr.Files == 0 {
		t.Errorf("verify after the kill: %+v", vr)
	}
	r.mark("verified")
	checkNoPullProcesses(t, c, 5*time.Second)
}

// backupJob starts BackupNow and returns the job.
func (r *remoteRig) backupJob(name string) dbus.ObjectPath {
	r.t.Helper()
	job, err := r.s.client.BackupNow(bg, name, api.BackupOptions{})
	if err != nil {
		r.t.Fatalf("BackupNow %s: %v", name, err)
	}
	return job
}

// TestRemoteHostKeyChanged: a computer that presents another host key is
// refused (HostKeyChanged, nothing written); a wrong fingerprint accepts
// nothing; the new fingerprint, once accepted, lets the next backup run.
func TestRemoteHostKeyChanged(t *testing.T) {
	r := newRemoteRig(t, "", 64)
	s := r.s
	c := r.newComputer("rebuilt")
	c.write(t, "doc.txt", "version 1\n", 0o644)
	r.addProfile(c, api.Settings{Interval: ptr(uint64(0))})
	r.trust(c)
	first := r.backup(c.name)
	known := filepath.Join(s.dir, "state", "ssh", "known_hosts")
	readKnown := func() string {
		b, err := os.ReadFile(known)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	oldKnown, oldFP := readKnown(), c.fingerprint(t)
	var before map[string]string
	r.onDrive(func(ks string) { before = treeState(t, ks+"/"+c.name) })

	c.write(t, "doc.txt", "version 2, after the reinstall\n", 0o644)
	c.sshd.RotateHostKey()
	newFP := c.fingerprint(t)
	j, err := s.wait(r.backupJob(c.name))
	if err == nil || j.ErrorName != errHostKeyChanged {
		t.Fatalf("backup with a changed host key: %q %v, want %s", j.ErrorName, err, errHostKeyChanged)
	}
	if !strings.Contains(j.Message, oldFP) || !strings.Contains(j.Message, newFP) {
		t.Errorf("the message does not name the accepted (%s) and the presented (%s) key: %s", oldFP, newFP, j.Message)
	}
	p := s.profile(c.name)
	if p.LastResult != "HostKeyChanged" || p.HostKey != "changed" || p.LastSnapshot != first.Message {
		t.Errorf("profile after the refused pull: result %q host key %q last snapshot %q (was %q)", p.LastResult, p.HostKey, p.LastSnapshot, first.Message)
	}
	if l := readStatus(t, s.runDir())[c.name]; l["result"] != "HostKeyChanged" {
		t.Errorf("status line: %v", l)
	}
	r.onDrive(func(ks string) {
		after := treeState(t, ks+"/"+c.name)
		// The host folder's own time moves: the pull's folder was made
		// and removed in it. Nothing else may change.
		before["."], after["."] = stripField(before["."], "mtime="), stripField(after["."], "mtime=")
		if diff := diffStates(before, after); len(diff) > 0 {
			t.Errorf("the refused pull changed the drive: %v", diff)
		}
	})
	checkNoPullProcesses(t, c, 5*time.Second)

	keys, state, err := s.client.ScanHostKeys(bg, c.name, api.Auth{})
	if err != nil || state != "changed" {
		t.Fatalf("ScanHostKeys after the change: %q %v", state, err)
	}
	offered := ""
	for _, k := range keys {
		offered += k.Fingerprint + " "
	}
	if !strings.Contains(offered, newFP) || strings.Contains(offered, oldFP) {
		t.Errorf("ScanHostKeys offers %s; the computer's key is now %s", offered, newFP)
	}
	for _, wrong := range []string{oldFP, "SHA256:" + strings.Repeat("A", 43), ""} {
		err := s.client.AcceptHostKey(bg, c.name, wrong, api.Auth{})
		if kerr.NameOf(err) != kerr.HostKeyChanged {
			t.Errorf("AcceptHostKey %q: %v, want HostKeyChanged", wrong, err)
		}
		if readKnown() != oldKnown {
			t.Fatalf("AcceptHostKey %q changed the accepted keys:\n%s", wrong, readKnown())
		}
		if hk := s.profile(c.name).HostKey; hk != "changed" {
			t.Errorf("HostKey after accepting a wrong fingerprint: %q", hk)
		}
	}
	if err := s.client.AcceptHostKey(bg, c.name, newFP, api.Auth{}); err != nil {
		t.Fatalf("AcceptHostKey of the new key: %v", err)
	}
	if hk := s.profile(c.name).HostKey; hk != "accepted" {
		t.Errorf("HostKey after accepting the new key: %q", hk)
	}
	if now := readKnown(); now == oldKnown || strings.Count(now, "\n") != 1 {
		t.Errorf("accepted keys after accepting the new one:\n%s", now)
	}
	second := r.backup(c.name)
	r.onDrive(func(ks string) {
		got, err := os.ReadFile(filepath.Join(ks, c.name, second.Message) + c.data + "/doc.txt")
		if err != nil || string(got) != "version 2, after the reinstall\n" {
			t.Errorf("doc.txt after the new key was accepted: %q %v", got, err)
		}
	})
	if p := s.profile(c.name); p.LastResult != "" || p.HostKey != "accepted" {
		t.Errorf("profile after the backup with the new key: result %q host key %q", p.LastResult, p.HostKey)
	}
}

// TestRemoteComputerOddNames: a symlink to /etc, a name with a newline
// and one that is not UTF-8 are stored as they are on the other computer,
// come back byte for byte over the bus, and nothing is written anywhere
// but the new snapshot (and the catalog).
func TestRemoteComputerOddNames(t *testing.T) {
	r := newRemoteRig(t, "", 64)
	s := r.s
	c := r.newComputer("oddbox")
	newline, notUTF8 := "line\nbreak.txt", "caf\xe9-\xff\xfe.txt"
	c.write(t, "odd/"+newline, "a name with a newline\n", 0o644)
	c.write(t, "odd/"+notUTF8, "a Latin-1 name\n", 0o644)
	link := filepath.Join(c.data, "odd", "etc-link")
	if err := os.Symlink("/etc", link); err != nil {
		t.Fatal(err)
	}
	os.Lchown(link, c.sshd.UID(), c.sshd.GID())
	r.addProfile(c, api.Settings{Interval: ptr(uint64(0))})
	r.trust(c)
	var before map[string]string
	r.onDrive(func(ks string) { before = treeState(t, ks) })
	etcBefore := strings.Join(etcNames(), "\x00")
	etcInfo, _ := os.Stat("/etc")

	j := r.backup(c.name)
	snap := j.Message

	if strings.Join(etcNames(), "\x00") != etcBefore {
		t.Errorf("/etc gained or lost entries during the pull")
	}
	if fi, _ := os.Stat("/etc"); !fi.ModTime().Equal(etcInfo.ModTime()) {
		t.Errorf("/etc was modified during the pull")
	}
	odd := "/" + filepath.Join(c.name, snap) + c.data + "/odd"
	r.onDrive(func(ks string) {
		after := treeState(t, ks)
		for _, p := range diffStates(before, after) {
			// The repository folder gains the host folder (its time
			// moves); the writer's lock file and the catalog change.
			if p == "." && stripField(before[p], "mtime=") == stripField(after[p], "mtime=") ||
				p == "lock" || strings.HasPrefix(p, "catalog.db") || p == c.name || strings.HasPrefix(p, c.name+"/") {
				continue
			}
			t.Errorf("the pull changed %q on the drive (outside its snapshot and the catalog)", p)
		}
		for p := range after {
			if _, ok := before[p]; !ok && strings.HasPrefix(p, c.name+"/") && !strings.HasPrefix(p, c.name+"/"+snap) && p != c.name+"/latest" {
				t.Errorf("the pull wrote %q in the host folder, outside its snapshot", p)
			}
		}
		got := dirNames(ks + odd)
		want := []string{"etc-link", newline, notUTF8}
		sort.Strings(want)
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("stored names %q, want %q", got, want)
		}
		if tgt, err := os.Readlink(ks + odd + "/etc-link"); err != nil || tgt != "/etc" {
			t.Errorf("stored etc-link: %q %v, want a symlink to /etc", tgt, err)
		}
		for name, content := range map[string]string{newline: "a name with a newline\n", notUTF8: "a Latin-1 name\n"} {
			if b, err := os.ReadFile(ks + odd + "/" + name); err != nil || string(b) != content {
				t.Errorf("stored %q: %q %v", name, b, err)
			}
		}
	})

	// Over the bus: the names come back exactly, once decoded.
	entries, err := s.client.List(bg, c.name, "latest", c.data+"/odd", api.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]api.Entry{}
	for _, e := range entries {
		seen[string(e.Name)] = e
		if string(e.Path) != c.data+"/odd/"+string(e.Name) {
			t.Errorf("entry %q has path %q", e.Name, e.Path)
		}
	}
	if e, ok := seen["etc-link"]; !ok || e.Type != api.TypeSymlink || e.Target != "/etc" {
		t.Errorf("ListDirectory etc-link: %+v", e)
	}
	for _, name := range []string{newline, notUTF8} {
		if e, ok := seen[name]; !ok || e.Type != api.TypeFile {
			t.Errorf("ListDirectory lacks %q (has %q)", name, dirKeys(seen))
		}
	}
	// On the wire the name that is not UTF-8 travels encoded.
	var raw []map[string]dbus.Variant
	if err := s.client.Conn().Object(dbusapi.BusName, dbusapi.ProfilePath(c.name)).Call(dbusapi.ProfileInterface+".ListDirectory", 0,
		"latest", c.data+"/odd", map[string]dbus.Variant{}).Store(&raw); err != nil {
		t.Fatal(err)
	}
	wire := map[string]bool{}
	for _, m := range raw {
		wire[m["name"].Value().(string)] = true
	}
	if !wire[api.EncodePath(notUTF8)] || api.EncodePath(notUTF8) == notUTF8 || !wire[newline] {
		t.Errorf("names on the wire: %q", dirKeysB(wire))
	}

	// Restored, the link stays a link and the names stay exact.
	to := t.TempDir()
	rj, err := s.client.Restore(bg, c.name, "latest", []string{c.data + "/odd"}, api.RestoreOptions{To: api.Path(to)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.wait(rj); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if tgt, err := os.Readlink(filepath.Join(to, "odd", "etc-link")); err != nil || tgt != "/etc" {
		t.Errorf("restored etc-link: %q %v", tgt, err)
	}
	for _, name := range []string{newline, notUTF8} {
		if _, err := os.Lstat(filepath.Join(to, "odd", name)); err != nil {
			t.Errorf("restored %q: %v", name, err)
		}
	}

	// Sent back to the computer: not before an administrator names a
	// folder there, then into that folder only, through the service's key
	// in a write-only line of another account there.
	sendBack := func(paths []string, o api.RestoreOptions) (client.Job, error) {
		t.Helper()
		o.ToComputer = true
		job, err := s.client.Restore(bg, c.name, "latest", paths, o)
		if err != nil {
			return client.Job{}, err
		}
		return s.wait(job)
	}
	if _, err := sendBack([]string{c.data + "/odd"}, api.RestoreOptions{}); !kerr.Is(err, kerr.InvalidArgs) || !strings.Contains(err.Error(), "restore-to") {
		t.Errorf("send back with no restore-to: %v (%s), want InvalidArgs naming restore-to", err, kerr.NameOf(err))
	}
	owner := c.sshd.AddAccount() // its key line below, once its home is known
	inbox := filepath.Join(owner.Home, "Restored")
	line, err := s.client.RemoteKey(bg, api.RemoteKeyOptions{WriteDir: inbox})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(line, `restrict,command="rrsync -wo `) {
		t.Fatalf("write-dir key line %q", line)
	}
	mustRun(t, "install", "-d", "-o", owner.User, "-g", owner.User, inbox)
	mustWrite(t, filepath.Join(owner.Home, ".ssh", "authorized_keys"), line+"\n", owner.UID, owner.GID)
	restoreTo := fmt.Sprintf("ssh://%s@127.0.0.1:%d%s", owner.User, c.sshd.Port(), inbox)
	if err := s.client.Configure(bg, c.name, api.Settings{RestoreTo: ptr(restoreTo)}, api.Auth{}); err != nil {
		t.Fatalf("Configure restore-to: %v", err)
	}
	if got := s.profile(c.name).RestoreTo; got != restoreTo {
		t.Errorf("RestoreTo %q, want %q", got, restoreTo)
	}
	if _, err := sendBack([]string{c.data + "/odd"}, api.RestoreOptions{To: api.Path(t.TempDir())}); !kerr.Is(err, kerr.InvalidArgs) {
		t.Errorf("to and to-computer together: %v, want InvalidArgs", err)
	}
	if _, err := sendBack([]string{c.data + "/odd/etc-link/passwd"}, api.RestoreOptions{}); err == nil {
		t.Error("a path through the computer's symlink to /etc was sent")
	}
	sj, err := sendBack([]string{c.data + "/odd"}, api.RestoreOptions{})
	if err != nil {
		t.Fatalf("send back: %v", err)
	}
	res, err := sj.RestoreResult()
	if err != nil {
		t.Fatal(err)
	}
	if want := restoreTo + c.data + "/odd"; len(res.Restored) != 1 || string(res.Restored[0]) != want {
		t.Errorf("sent to %q, want %q", res.Restored, want)
	}
	for name, content := range map[string]string{newline: "a name with a newline\n", notUTF8: "a Latin-1 name\n"} {
		p := filepath.Join(inbox, c.data, "odd", name)
		b, err := os.ReadFile(p)
		var st syscall.Stat_t
		syscall.Lstat(p, &st)
		if err != nil || string(b) != content || int(st.Uid) != owner.UID {
			t.Errorf("sent %q: %q %v, uid %d (want the account's %d)", name, b, err, st.Uid, owner.UID)
		}
	}
	if tgt, err := os.Readlink(filepath.Join(inbox, c.data, "odd", "etc-link")); err != nil || tgt != "/etc" {
		t.Errorf("sent etc-link: %q %v, want a symlink", tgt, err)
	}
	filepath.WalkDir(owner.Home, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "passwd" {
			t.Errorf("this machine's /etc/passwd was sent: %s", p)
		}
		if err == nil && !strings.HasPrefix(p, inbox) && p != owner.Home && !strings.HasPrefix(p, filepath.Join(owner.Home, ".")) {
			t.Errorf("written outside the restore folder: %s", p)
		}
		return err
	})
}

func mustRun(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %q: %v: %s", name, args, err, out)
	}
}

func mustWrite(t *testing.T, p, content string, uid, gid int) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, uid, gid); err != nil {
		t.Fatal(err)
	}
}

func dirKeys(m map[string]api.Entry) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestRemoteComputerAuthorization: the methods that trust a computer are
// an administrator's; another computer's files are for root,
// administrators (browse-all) and the profile's viewers, and what a
// viewer restores is the viewer's. Each call is made for real as that
// user (gdbus under setpriv), polkitd deciding.
func TestRemoteComputerAuthorization(t *testing.T) {
	r := newRemoteRig(t, authzRules, 64)
	s := r.s
	a := &authz{t: t, s: s, uids: map[string]uint32{ksRoot: 0}}
	defer a.logMatrix()
	for name, groups := range map[string][]string{ksOwner: {"ks-local"}, ksOther: {"ks-local"}, ksAdmin: {"ks-local", "ks-admins"}, ksRemote: nil} {
		uid, _ := bustest.User(t, name, groups...)
		a.uids[name] = uid
	}
	const restored = "FromDesk"
	scratchPaths(t, "/home/"+ksOwner+"/"+restored, "/home/"+ksOther+"/"+restored, "/home/"+ksAdmin+"/"+restored, "/home/"+ksRemote+"/"+restored)
	rootTo := t.TempDir()

	c := r.newComputer("desk")
	secret := c.write(t, "secret.txt", "desk secret\n", 0o600)
	c.write(t, "shared/readme.txt", "readme\n", 0o644)
	gone := c.write(t, "gone.txt", "soon gone\n", 0o644)
	r.addProfile(c, api.Settings{Interval: ptr(uint64(0)), Viewers: &[]uint32{a.uids[ksOther]}})
	if p := s.profile(c.name); fmt.Sprint(p.Viewers) != fmt.Sprint([]uint32{a.uids[ksOther]}) {
		t.Fatalf("Viewers %v", p.Viewers)
	}
	mgr, desk := dbusapi.ManagerPath, dbusapi.ProfilePath(c.name)
	known := filepath.Join(s.dir, "state", "ssh", "known_hosts")
	fp := c.fingerprint(t)
	c.sshd.AuthorizeKeys(r.key)

	var cases []authzCase
	each := func(who []string, tc authzCase) {
		for _, u := range who {
			tc.user = u
			cases = append(cases, tc)
		}
	}
	refused := []string{ksOwner, ksOther, ksRemote} // the viewer included: trusting is not viewing
	nothingAccepted := func(t *testing.T, _ gdbusResult) {
		if _, err := os.Stat(known); err == nil {
			b, _ := os.ReadFile(known)
			t.Errorf("a refused AcceptHostKey accepted keys:\n%s", b)
		}
		if hk := s.profile(c.name).HostKey; hk != "new" {
			t.Errorf("HostKey after a refused AcceptHostKey: %q", hk)
		}
	}
	each(refused, authzCase{method: "Manager.GetRemoteKey", path: mgr, args: []string{gvOpts()}, want: errNotAuthorized})
	each([]string{ksAdmin, ksRoot}, authzCase{method: "Manager.GetRemoteKey", path: mgr, args: []string{gvOpts()},
		check: func(t *testing.T, res gdbusResult) {
			if !strings.Contains(res.out, "rrsync -ro /") {
				t.Errorf("GetRemoteKey: %s", res.out)
			}
		}})
	each(refused, authzCase{method: "Profile.ScanHostKeys", path: desk, args: []string{gvOpts()}, want: errNotAuthorized})
	each(refused, authzCase{method: "Profile.AcceptHostKey", path: desk, args: []string{gv(fp), gvOpts()}, want: errNotAuthorized, check: nothingAccepted})
	each([]string{ksAdmin, ksRoot}, authzCase{method: "Profile.ScanHostKeys", path: desk, args: []string{gvOpts()},
		check: func(t *testing.T, res gdbusResult) {
			if !strings.Contains(res.out, fp) || !strings.Contains(res.out, "'new'") {
				t.Errorf("ScanHostKeys: %s", res.out)
			}
		}})
	each([]string{ksAdmin}, authzCase{method: "Profile.AcceptHostKey", path: desk, args: []string{gv(fp), gvOpts()},
		check: func(t *testing.T, _ gdbusResult) {
			if hk := s.profile(c.name).HostKey; hk != "accepted" {
				t.Errorf("HostKey after an administrator accepted it: %q", hk)
			}
		}})
	a.run(cases)
	cases = nil

	r.backup(c.name)
	os.Remove(gone)
	r.backup(c.name)

	// Browsing and restoring: refused to plain users, allowed to the
	// viewer, administrators and root, who see everything.
	plain := []string{ksOwner, ksRemote}
	seers := []string{ksOther, ksAdmin, ksRoot}
	queries := []authzCase{
		{method: "Profile.ListSnapshots", args: []string{gvOpts()}, check: replyCount("pinned", 2)},
		{method: "Profile.ListDirectory", args: []string{gv("latest"), gv(c.data), gvOpts()}, check: replyHas(secret, c.data+"/shared")},
		{method: "Profile.Search", args: []string{gv("*.txt"), gvOpts()}, check: replyHas(secret, gone)},
		{method: "Profile.Versions", args: []string{gv(secret), gvOpts()}, check: replyCount("sha256", 1)},
		{method: "Profile.Deleted", args: []string{gv(c.data), gvOpts()}, check: replyHas(gone)},
	}
	for _, q := range queries {
		q.path = desk
		chk := q.check
		q.check = nil
		q.want = errNotAuthorized
		each(plain, q)
		q.want, q.check = "", chk
		each(seers, q)
	}
	restoreTo := func(user string) string {
		if user == ksRoot {
			return rootTo
		}
		return "/home/" + user + "/" + restored
	}
	for _, u := range append(plain, seers...) {
		tc := authzCase{method: "Profile.Restore", label: "secret.txt", user: u, path: desk,
			args: []string{gv("latest"), gvList(secret), gvOpts("'to': <" + gv(restoreTo(u)) + ">")}}
		dest := filepath.Join(restoreTo(u), "secret.txt")
		if u == ksOwner || u == ksRemote {
			tc.want = errNotAuthorized
			tc.check = func(t *testing.T, _ gdbusResult) {
				if _, err := os.Lstat(dest); err == nil {
					t.Errorf("%s got %s", u, dest)
				}
			}
		} else {
			uid := a.uids[u]
			tc.check = func(t *testing.T, res gdbusResult) {
				if j := a.waitJob(jobOf(t, res.out)); j.ErrorName != "" {
					t.Fatalf("restore job: %s: %s", j.ErrorName, j.Message)
				}
				// The restorer's, not the other computer's uid.
				want := fmt.Sprintf("uid %d mode -rw------- %q", uid, "desk secret\n")
				if got := fileState(dest); got != want {
					t.Errorf("restored by %s: %s, want %s (the other computer's uid is %d)", u, got, want, c.sshd.UID())
				}
			}
		}
		cases = append(cases, tc)
	}
	a.run(cases)
}

// TestRemoteComputerOverdueStatus: the status files tell scripts about
// each computer (host, remote, age, overdue, bytes received); a computer
// away longer than its overdue-days is overdue=yes in the text file and
// "overdue": true in status.json, and the text file stays plain ASCII
// even for a host name that is not.
func TestRemoteComputerOverdueStatus(t *testing.T) {
	r := newRemoteRig(t, "", 64)
	s := r.s
	c := r.newComputer("travel")
	c.write(t, "itinerary.txt", strings.Repeat("day by day\n", 500), 0o644)
	const host = "büro-laptop"
	r.addProfile(c, api.Settings{OverdueDays: ptr(uint32(1)), Host: ptr(host)})
	r.trust(c)
	p := r.waitSuccess(c.name, 0, 20*time.Second)
	s.waitFor("the status line after the backup", 5*time.Second, func() bool {
		return readStatus(t, s.runDir())[c.name]["result"] == "ok"
	})
	l := readStatus(t, s.runDir())[c.name]
	received, _ := strconv.ParseInt(l["received"], 10, 64)
	if l["host"] != "b?ro-laptop" || l["remote"] != "yes" || l["age-hours"] != "0" || l["overdue"] != "no" ||
		received <= 0 || received != int64(p.LastReceived) {
		t.Errorf("status line after a backup (LastReceived %d): %v", p.LastReceived, l)
	}

	// The computer goes away, and three days pass (as the service's state
	// says: it is edited while the service is stopped).
	c.sshd.Stop()
	s.stop()
	data, err := os.ReadFile(stateFile(s))
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	ps := st["profiles"].(map[string]any)[c.name].(map[string]any)
	then := time.Now().Add(-73 * time.Hour).UTC().Format(time.RFC3339Nano)
	ps["last_success"], ps["last_attempt"] = then, then
	if data, err = json.Marshal(st); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stateFile(s), data, 0o600); err != nil {
		t.Fatal(err)
	}
	s.start()

	s.waitFor("the status line to say overdue and unreachable", 15*time.Second, func() bool {
		l := readStatus(t, s.runDir())[c.name]
		return l["overdue"] == "yes" && l["result"] == "HostUnreachable"
	})
	text, err := os.ReadFile(filepath.Join(s.runDir(), "status"))
	if err != nil {
		t.Fatal(err)
	}
	l = readStatus(t, s.runDir())[c.name]
	if l["host"] != "b?ro-laptop" || l["remote"] != "yes" || l["age-hours"] != "73" || l["received"] != strconv.FormatInt(received, 10) {
		t.Errorf("status line of the overdue computer: %v", l)
	}
	for i, b := range text {
		if b >= 0x80 || b < ' ' && b != '\n' {
			t.Fatalf("the status file is not plain ASCII: byte %#x at %d:\n%s", b, i, text)
		}
	}
	js, err := os.ReadFile(filepath.Join(s.runDir(), "status.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sj struct {
		Profiles []struct {
			Name     string `json:"name"`
			Host     string `json:"host"`
			Remote   bool   `json:"remote"`
			Overdue  bool   `json:"overdue"`
			AgeHours *int64 `json:"age_hours"`
			Received *int64 `json:"received"`
			Result   string `json:"result"`
		} `json:"profiles"`
	}
	if err := json.Unmarshal(js, &sj); err != nil {
		t.Fatal(err)
	}
	if len(sj.Profiles) != 1 || sj.Profiles[0].Host != host || !sj.Profiles[0].Remote || !sj.Profiles[0].Overdue ||
		sj.Profiles[0].AgeHours == nil || *sj.Profiles[0].AgeHours != 73 || sj.Profiles[0].Received == nil || *sj.Profiles[0].Received != received {
		t.Errorf("status.json:\n%s", js)
	}
	if !bytes.Contains(js, []byte(`"overdue": true`)) {
		t.Errorf("status.json lacks \"overdue\": true:\n%s", js)
	}
	sts, err := s.client.Status(bg, api.Auth{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != 1 || !sts[0].Overdue || sts[0].Host != host || sts[0].AgeHours != 73 || !sts[0].Remote {
		t.Errorf("GetStatus: %+v", sts)
	}
	if p := s.profile(c.name); !p.Overdue || p.OverdueDays != 1 || p.Host != host {
		t.Errorf("profile: Overdue %v OverdueDays %d Host %q", p.Overdue, p.OverdueDays, p.Host)
	}
}

func dirKeysB(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestRemotePullsTakeTurns: two computers backed up to one drive at once
// take turns instead of the second failing with Busy: the second job
// says whose backup it waits for, their transfers never overlap, and both
// succeed.
func TestRemotePullsTakeTurns(t *testing.T) {
	r := newRemoteRig(t, "", 256)
	s := r.s
	var cs []*computer
	for i, name := range []string{"alpha", "beta"} {
		c := r.newComputer(name)
		// Incompressible data, so that each transfer lasts a moment.
		data := make([]byte, 24<<20)
		rand.New(rand.NewSource(int64(i))).Read(data)
		c.write(t, "big.bin", string(data), 0o644)
		r.addProfile(c, api.Settings{Interval: ptr(uint64(0))})
		r.trust(c)
		cs = append(cs, c)
	}
	var jobs []dbus.ObjectPath
	for _, c := range cs {
		j, err := s.client.BackupNow(bg, c.name, api.BackupOptions{})
		if err != nil {
			t.Fatalf("BackupNow %s: %v", c.name, err)
		}
		jobs = append(jobs, j)
	}
	transferring := func(c *computer) bool {
		for _, l := range pullProcesses(c) {
			if strings.Contains(l, "rsync ") && !strings.Contains(l, "(uid "+strconv.Itoa(c.sshd.UID())+")") {
				return true
			}
		}
		return false
	}
	seen := map[string]int{}
	waited := ""
	deadline := time.Now().Add(2 * time.Minute)
	for {
		a, b := transferring(cs[0]), transferring(cs[1])
		if a && b {
			t.Fatal("the two computers' transfers run at the same time")
		}
		if a {
			seen[cs[0].name]++
		}
		if b {
			seen[cs[1].name]++
		}
		done := 0
		for _, p := range jobs {
			j, err := s.client.Job(bg, p)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(j.Phase, "waiting for the backup of ") {
				waited = j.Phase
			}
			if j.Finished {
				done++
				if j.ErrorName != "" {
					t.Fatalf("job %s failed: %s: %s", p, j.ErrorName, j.Message)
				}
			}
		}
		if done == len(jobs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the backups did not finish")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if waited == "" {
		t.Error("neither job waited for the other")
	} else {
		t.Logf("a job said %q", waited)
	}
	for _, c := range cs {
		if seen[c.name] == 0 {
			t.Errorf("the transfer of %s was never seen: the overlap check proves nothing", c.name)
		}
		if p := s.profile(c.name); p.LastResult != "" || p.LastSnapshot == "" {
			t.Errorf("%s: result %q snapshot %q", c.name, p.LastResult, p.LastSnapshot)
		}
	}
}
