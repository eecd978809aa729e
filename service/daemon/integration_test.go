package daemon_test

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// makeTree writes dirs×files small files below root.
func makeTree(t *testing.T, root string, dirs, files int) {
	t.Helper()
	for d := 0; d < dirs; d++ {
		dir := filepath.Join(root, fmt.Sprintf("d%02d", d))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for f := 0; f < files; f++ {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d.txt", f)), []byte(fmt.Sprintf("file %d of %d\n", f, d)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// writeBlob writes n bytes to p: a random block repeated, so it is quick
// to make yet every file's content is distinct.
func writeBlob(t *testing.T, p string, n int64) {
	t.Helper()
	block := make([]byte, 1<<20)
	rand.Read(block)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for n > 0 {
		k := min(n, int64(len(block)))
		if _, err := f.Write(block[:k]); err != nil {
			t.Fatal(err)
		}
		n -= k
	}
}

// waitRunning waits until a job is past mounting (or has finished).
func (s *service) waitRunning(job dbus.ObjectPath) client.Job {
	s.t.Helper()
	var j client.Job
	deadline := time.Now().Add(30 * time.Second)
	for {
		var err error
		j, err = s.client.Job(bg, job)
		if err == nil && (j.Phase != "starting" && j.Phase != "mounting" || j.Finished) {
			return j
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("job %s never started (last %+v, %v)", job, j, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// signals collects the service's signals of one name.
type signals struct {
	mu   sync.Mutex
	seen []*dbus.Signal
}

func (s *service) collect(name string) *signals {
	conn := s.client.Conn()
	if err := conn.AddMatchSignal(dbus.WithMatchSender(dbusapi.BusName)); err != nil {
		s.t.Fatal(err)
	}
	ch := make(chan *dbus.Signal, 256)
	conn.Signal(ch)
	out := &signals{}
	go func() {
		for sig := range ch {
			if sig.Name == name {
				out.mu.Lock()
				out.seen = append(out.seen, sig)
				out.mu.Unlock()
			}
		}
	}()
	return out
}

func (sg *signals) count() int {
	sg.mu.Lock()
	defer sg.mu.Unlock()
	return len(sg.seen)
}

// jobReports is a job's state after each of its PropertiesChanged
// signals, from the signals collected (up to the one that says Finished).
func (s *service) jobReports(sg *signals, job dbus.ObjectPath) []client.Job {
	s.t.Helper()
	var out []client.Job
	s.waitFor("the job's last report", 5*time.Second, func() bool {
		out = nil
		cur := map[string]dbus.Variant{}
		sg.mu.Lock()
		defer sg.mu.Unlock()
		for _, sig := range sg.seen {
			if sig.Path != job || len(sig.Body) < 2 {
				continue
			}
			m, _ := sig.Body[1].(map[string]dbus.Variant)
			for k, v := range m {
				cur[k] = v
			}
			var j client.Job
			j.Phase, _ = cur["Phase"].Value().(string)
			j.Progress, _ = cur["Progress"].Value().(float64)
			j.BytesDone, _ = cur["BytesDone"].Value().(uint64)
			j.BytesTotal, _ = cur["BytesTotal"].Value().(uint64)
			j.Finished, _ = cur["Finished"].Value().(bool)
			out = append(out, j)
			if j.Finished {
				return true
			}
		}
		return false
	})
	return out
}

// restoreAndCompare restores a source folder of the latest snapshot
// through the service into a temp dir and compares it with the source.
func (s *service) restoreAndCompare(profile, src string) {
	s.t.Helper()
	to := s.t.TempDir()
	job, err := s.client.Restore(bg, profile, "latest", []string{src}, api.RestoreOptions{To: api.Path(to)})
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.wait(job); err != nil {
		s.t.Fatalf("restore: %v", err)
	}
	want := realfs.Digest(s.t, src)
	got := realfs.Digest(s.t, filepath.Join(to, filepath.Base(src)))
	if len(want) != len(got) {
		s.t.Fatalf("restored %d entries, source has %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			s.t.Fatalf("restored %s differs from the source", k)
		}
	}
}

// TestDriveLifecycle follows a profile through enrolment, a due backup,
// change-triggered backups that read only the changed folders, unplug and
// plug, cancel, and a drive pulled in the middle of a backup: on a real
// bus with polkitd, udevd and an ext4 loop device.
func TestDriveLifecycle(t *testing.T) { driveLifecycle(t, "ext4") }

// TestDriveLifecycleOnBtrfs is the same on a btrfs drive, where every
// snapshot is a read-only subvolume and a change-triggered backup enters
// only the changed folders. The drive is pulled during a backup as a
// person pulls it, its mounts detached and udev saying it is gone (btrfs
// has no shutdown ioctl to make its I/O fail, as the ext4 run does).
func TestDriveLifecycleOnBtrfs(t *testing.T) { driveLifecycle(t, "btrfs") }

func driveLifecycle(t *testing.T, fstype string) {
	s := startService(t, "")
	dr := newDriveOf(t, fstype, "KSUSB", 1200)
	src := filepath.Join(t.TempDir(), "Documents")
	makeTree(t, src, 20, 10)
	safe := s.collect(dbusapi.DriveInterface + ".SafeToRemove")

	s.waitFor("the drive object", 10*time.Second, func() bool {
		ds, _ := s.client.Drives(bg)
		for _, d := range ds {
			if d.UUID == dr.uuid && d.Present && d.Filesystem == fstype && d.Label == "KSUSB" && d.Unusable == "" {
				return true
			}
		}
		return false
	})
	if _, err := s.client.CreateProfile(bg, "home", api.Settings{Sources: paths(src), Quiet: ptr(uint64(1))}, api.Auth{}); err != nil {
		t.Fatal(err)
	}
	if p := s.profile("home"); p.StateName() != "no-drive" || p.Interval != 3600 || !p.OnChange || !p.OnPlug {
		t.Fatalf("new profile: %+v", p)
	}

	// Enrolling writes the repository; the profile has never succeeded,
	// so it is due and the backup starts by itself.
	if err := s.client.Enroll(bg, dr.uuid, client.EnrollOptions{Profile: "home"}); err != nil {
		t.Fatal(err)
	}
	job := s.nextJob("home", "", 20*time.Second)
	j, err := s.wait(job)
	if err != nil {
		t.Fatalf("first backup: %v", err)
	}
	if j.Trigger != "interval" || j.Operation != "backup" || !j.Result["full-scan"].Value().(bool) {
		t.Fatalf("first backup: trigger %q op %q result %v", j.Trigger, j.Operation, j.Result)
	}
	first := j.Message
	s.waitFor("SafeToRemove and the drive unmounted", 10*time.Second, func() bool {
		return safe.count() >= 1 && len(mountedUnder(t, s.runDir())) == 0
	})
	if d, err := s.client.Drive(bg, dr.uuid); err != nil || !d.Enrolled || d.Free <= 0 {
		t.Fatalf("drive after Enroll and a backup: %+v %v", d, err)
	}
	p := s.profile("home")
	if p.LastSnapshot != first || p.LastResult != "" || p.StateName() != "idle" || p.NextRun <= p.LastSuccess {
		t.Fatalf("profile after first backup (job said %q): %+v", first, p)
	}

	// A change in two folders: a change-triggered backup reads those only.
	os.WriteFile(filepath.Join(src, "d03", "f001.txt"), []byte("changed\n"), 0o644)
	os.WriteFile(filepath.Join(src, "d07", "new.txt"), []byte("new\n"), 0o644)
	job = s.nextJob("home", job, 30*time.Second)
	j, err = s.wait(job)
	if err != nil {
		t.Fatalf("change backup: %v", err)
	}
	readDirs := j.Result["read-dirs"].Value().(uint64)
	if j.Trigger != "change" || j.Result["full-scan"].Value().(bool) || readDirs > 2 || j.Result["new"].Value().(uint64) != 1 || j.Result["modified"].Value().(uint64) != 1 {
		t.Fatalf("change backup: trigger %q result %v", j.Trigger, j.Result)
	}
	// On btrfs the two folders are not even listed: the watcher's names
	// are looked at alone.
	if patched := j.Result["patched-dirs"].Value().(uint64); fstype == "btrfs" && (patched != 2 || readDirs != 0) {
		t.Fatalf("change backup on btrfs: read %d folders and patched %d, want 0 and 2", readDirs, patched)
	}
	s.restoreAndCompare("home", src)

	// Unplugged: a change waits for the drive; plugging it in backs up.
	realfs.UdevTrigger(t, "remove", dr.dev)
	s.waitFor("the drive to be absent", 10*time.Second, func() bool {
		return s.profile("home").StateName() == "waiting-for-drive"
	})
	os.WriteFile(filepath.Join(src, "d11", "while-away.txt"), []byte("written while the drive was away\n"), 0o644)
	time.Sleep(2500 * time.Millisecond) // longer than the quiet period
	if p := s.profile("home"); p.Job != dbusapi.NoPath {
		t.Fatalf("a job started without the drive: %+v", p)
	}
	realfs.UdevTrigger(t, "add", dr.dev)
	job = s.nextJob("home", job, 20*time.Second)
	j, err = s.wait(job)
	if err != nil || j.Trigger != "plug" {
		t.Fatalf("plug backup: trigger %q err %v", j.Trigger, err)
	}
	s.waitFor("unmount after the plug backup", 10*time.Second, func() bool { return len(mountedUnder(t, s.runDir())) == 0 })

	snaps := func() []string {
		ds, err := s.client.Snapshots(bg, "home", api.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, d := range ds {
			names = append(names, d.Name)
		}
		return names
	}
	before := snaps()
	if len(before) != 3 {
		t.Fatalf("snapshots %v, want 3", before)
	}

	// Cancel: the job ends Cancelled and leaves no partial snapshot. (No
	// change-triggered backup of the new data first: it is what is copied.)
	if err := s.client.Configure(bg, "home", api.Settings{OnChange: ptr(false)}, api.Auth{}); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(src, "big")
	os.MkdirAll(big, 0o755)
	for i := 0; i < 6; i++ {
		writeBlob(t, filepath.Join(big, fmt.Sprintf("blob%d", i)), 60<<20)
	}
	job, err = s.client.BackupNow(bg, "home", api.BackupOptions{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.client.BackupNow(bg, "home", api.BackupOptions{}); kerr.NameOf(err) != kerr.Busy {
		t.Fatalf("second BackupNow: %v, want Busy", err)
	}
	if j := s.waitRunning(job); j.Finished {
		t.Fatalf("the backup finished before it could be cancelled: %+v", j)
	}
	if err := s.client.Cancel(bg, job, api.Auth{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.wait(job); kerr.NameOf(err) != kerr.Cancelled {
		t.Fatalf("cancelled job: %v, want Cancelled", err)
	}
	if got := snaps(); strings.Join(got, " ") != strings.Join(before, " ") {
		t.Fatalf("snapshots after cancel %v, want %v", got, before)
	}
	s.checkNoPartial(dr)
	if fstype == "btrfs" {
		// One more backup, with the new data; then every snapshot is a
		// read-only subvolume, no other is left, and the newest restores
		// as the source is. Turning "back up on change" off kept the
		// watcher's journal: this backup reads only what changed.
		job, err = s.client.BackupNow(bg, "home", api.BackupOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if j, err := s.wait(job); err != nil || j.Result["full-scan"].Value() != false {
			t.Fatalf("backup after the cancel: %v, result %v (a full scan: the journal was lost)", err, j.Result)
		}
		s.restoreAndCompare("home", src)
		pulledMidBackupBtrfs(s, dr, src, job)
		s.restoreAndCompare("home", src)
		s.checkSubvolumes(dr, snaps())
		return
	}

	// The drive is pulled in the middle of a backup: I/O fails and udev
	// says it is gone. The job ends DeviceGone; the next plug completes.
	os.RemoveAll(big) // the cancelled run left nothing: make new content to copy
	os.MkdirAll(big, 0o755)
	for i := 0; i < 6; i++ {
		writeBlob(t, filepath.Join(big, fmt.Sprintf("other%d", i)), 60<<20)
	}
	job, err = s.client.BackupNow(bg, "home", api.BackupOptions{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if j := s.waitRunning(job); j.Finished {
		t.Fatalf("the backup finished before the drive could be pulled: %+v", j)
	}
	mps := mountedUnder(t, s.runDir())
	if len(mps) != 1 {
		t.Fatalf("mounted by the service during the backup: %v", mps)
	}
	shutdown(t, mps[0])
	realfs.UdevTrigger(t, "remove", dr.dev)
	if _, err := s.wait(job); kerr.NameOf(err) != kerr.DeviceGone {
		t.Fatalf("pulled drive: %v, want DeviceGone", err)
	}
	s.waitFor("the dead mount to be detached", 10*time.Second, func() bool { return len(mountedUnder(t, s.runDir())) == 0 })
	// Every report of the next job is collected from before it starts: a
	// watcher that subscribes once the job is seen can miss all of them
	// on a busy machine.
	changes := s.collect(dbusapi.PropertiesInterface + ".PropertiesChanged")
	realfs.UdevTrigger(t, "add", dr.dev)
	// This backup copies the 360 MB the pulled one could not, more than
	// the previous snapshot's size (the estimate): its Job reports bytes
	// moving on the way, never a fraction it cannot know, and ends at 1.
	job = s.nextJob("home", job, 30*time.Second)
	j, err = s.client.Wait(t.Context(), job, nil)
	if err != nil || j.Trigger != "plug" {
		t.Fatalf("backup after replug: trigger %q err %v", j.Trigger, err)
	}
	reports := s.jobReports(changes, job)
	moving, overclaimed := 0, 0
	for _, r := range reports {
		if r.Finished || r.Phase == "done" {
			continue // the outcome, published before Finished
		}
		if r.BytesDone > 0 {
			moving++
		}
		if r.Progress > 0.5 && r.BytesTotal == 0 || r.Progress >= 1 {
			overclaimed++
		}
	}
	if moving == 0 || overclaimed > 0 || j.Progress != 1 || j.Phase != "done" {
		var seen []string
		for _, r := range reports {
			seen = append(seen, fmt.Sprintf("%s %.2f %d/%d", r.Phase, r.Progress, r.BytesDone, r.BytesTotal))
		}
		t.Fatalf("progress of a 360 MB backup: %d reports with bytes moving, %d claiming too much, final %v %q: %v",
			moving, overclaimed, j.Progress, j.Phase, seen)
	}
	after := snaps()
	if len(after) != len(before)+1 || strings.Join(after[:len(before)], " ") != strings.Join(before, " ") {
		t.Fatalf("snapshots after replug %v, before %v", after, before)
	}
	s.restoreAndCompare("home", src)
	s.checkNoPartial(dr)
	if strings.Contains(s.log.String(), "panic") {
		t.Fatalf("keepsaked panicked:\n%s", s.log.String())
	}
}

// pulledMidBackupBtrfs pulls the btrfs drive during a backup of the
// watcher's changes the way a person and the UI test do: its mounts are
// detached under the service (umount -l; btrfs has no shutdown ioctl, so
// the detached filesystem goes on answering whoever still has it open)
// and udev says the device is gone. The job ends DeviceGone; plugged in
// again, a backup takes what the pulled one did not, and a search finds
// it at once: the last of the new files, and the big ones.
func pulledMidBackupBtrfs(s *service, dr drive, src string, last dbus.ObjectPath) {
	t := s.t
	t.Helper()
	// The watcher on, as a person has it, its quiet period longer than
	// the test: Back Up Now backs up its journal. Turned on, it backs up
	// the changes it saw while it was off: that backup ends first.
	if err := s.client.Configure(bg, "home", api.Settings{OnChange: ptr(true), Quiet: ptr(uint64(3600))}, api.Auth{}); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		js, err := s.client.Jobs(bg)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range js {
			if j.Profile == dbusapi.ProfilePath("home") && jobNumber(j.Path) > jobNumber(last) {
				s.wait(j.Path)
				last = j.Path
			}
		}
	}
	clips := filepath.Join(src, "Videos")
	os.MkdirAll(clips, 0o755)
	for i := 0; i < 6; i++ {
		writeBlob(t, filepath.Join(clips, fmt.Sprintf("clip%02d.bin", i)), 40<<20)
	}
	for i := 0; i < 3000; i++ {
		d := filepath.Join(src, "Letters", fmt.Sprintf("year%02d", i/1000))
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, fmt.Sprintf("letter%05d.txt", i)), fmt.Appendf(nil, "letter %d\n", i), 0o644)
	}
	job, err := s.client.BackupNow(bg, "home", api.BackupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if j := s.waitRunning(job); j.Finished {
		t.Fatalf("the backup finished before the drive could be pulled: %+v", j)
	}
	time.Sleep(200 * time.Millisecond)
	out, err := exec.Command("findmnt", "-rn", "-S", dr.dev, "-o", "TARGET").Output()
	if err != nil || len(strings.Fields(string(out))) == 0 {
		t.Fatalf("the drive is not mounted during the backup: %q %v", out, err)
	}
	for _, m := range strings.Fields(string(out)) {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			t.Fatalf("detach %s: %v", m, err)
		}
	}
	realfs.UdevTrigger(t, "remove", dr.dev)
	j, err := s.wait(job)
	if kerr.NameOf(err) != kerr.DeviceGone {
		t.Fatalf("pulled drive: %v (%+v), want DeviceGone", err, j.Result)
	}
	realfs.UdevTrigger(t, "add", dr.dev)
	job = s.nextJob("home", job, 30*time.Second)
	// The journal the pulled run did not commit is what this run backs up.
	if j, err = s.wait(job); err != nil || j.Trigger != "plug" || j.Result["full-scan"].Value().(bool) {
		t.Fatalf("backup after replug: trigger %q err %v result %v\nkeepsaked log:\n%s", j.Trigger, err, j.Result, s.log.String())
	}
	for _, name := range []string{"clip05.bin", "letter02999.txt"} {
		hits, err := s.client.Search(bg, "home", name, api.SearchOptions{})
		if err != nil || len(hits) != 1 || hits[0].Snapshots[len(hits[0].Snapshots)-1] != j.Message {
			t.Fatalf("search %s after the backup %s (result %v): %+v %v\nkeepsaked log:\n%s", name, j.Message, j.Result, hits, err, s.log.String())
		}
	}
}

// shutdown makes a mounted ext4 fail every I/O, as a pulled drive does
// (EXT4_IOC_SHUTDOWN, the same ioctl as XFS's GOINGDOWN).
func shutdown(t *testing.T, mp string) {
	t.Helper()
	const ext4IocShutdown = 0x8004587d
	const noLogFlush = 2
	fd, err := unix.Open(mp, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.IoctlSetPointerInt(fd, ext4IocShutdown, noLogFlush); err != nil {
		t.Fatalf("shut down %s: %v", mp, err)
	}
}

// checkSubvolumes mounts the btrfs drive read-only and checks its
// subvolumes (onlySubvolumes).
func (s *service) checkSubvolumes(dr drive, snaps []string) {
	s.t.Helper()
	s.readDrive(dr, func(mnt string) { onlySubvolumes(s.t, mnt, "testhost", snaps) })
}

// onlySubvolumes checks that each snapshot of host on the btrfs drive
// mounted at mnt is a read-only subvolume and that no other subvolume is
// left (an interrupted backup's, a deleted one's).
func onlySubvolumes(t *testing.T, mnt, host string, snaps []string) {
	t.Helper()
	for _, name := range snaps {
		out, err := exec.Command("btrfs", "property", "get", "-ts", filepath.Join(mnt, "Keepsake", host, name), "ro").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "ro=true" {
			t.Errorf("snapshot %s: %q %v, want a read-only subvolume", name, out, err)
		}
	}
	out, err := exec.Command("btrfs", "subvolume", "list", mnt).Output()
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(out), "\n"); n != len(snaps) {
		t.Errorf("%d subvolumes on the drive, %d snapshots:\n%s", n, len(snaps), out)
	}
}

// checkNoPartial mounts the drive read-only and checks there is no
// half-written snapshot left.
func (s *service) checkNoPartial(dr drive) {
	s.t.Helper()
	s.readDrive(dr, func(mnt string) {
		entries, err := os.ReadDir(filepath.Join(mnt, "Keepsake", "testhost"))
		if err != nil {
			s.t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".partial") || strings.HasSuffix(e.Name(), ".deleting") {
				s.t.Errorf("left on the drive: %s", e.Name())
			}
		}
	})
}

// TestFATDriveRefused: a FAT or exFAT drive (here through FUSE, as this
// kernel has neither: fusefat for FAT, exfat-fuse for exFAT, whose mount
// the table calls only "fuseblk") is listed with the reason it cannot be
// used, and Enroll refuses it without writing anything: the image holds
// the same bytes afterwards.
func TestFATDriveRefused(t *testing.T) {
	s := startService(t, "")
	for _, tc := range []struct {
		kind, label, fs string
		mount           func(dev, mnt string) []string // the command that mounts it
		unmount         []string
		// seen: the service takes the mount for the drive's (a fuseblk
		// mount names the device; fusefat's names "fusefat"). Enroll then
		// probes the mounted filesystem, which must know it by its boot
		// sector, the mount table saying only "fuseblk".
		seen bool
	}{
		{"vfat", "FATSTICK", "vfat", func(dev, mnt string) []string { return []string{"fusefat", "-o", "rw+", dev, mnt} }, []string{"fusermount", "-u"}, false},
		// noatime: exFAT keeps access times, which reading would change.
		{"exfat", "EXFATSTICK", "exfat", func(dev, mnt string) []string { return []string{"mount.exfat-fuse", "-o", "noatime", dev, mnt} }, []string{"umount"}, true},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			realfs.RequireCommands(t, tc.mount("", "")[0], tc.unmount[0])
			dev, uuid := realfs.UdevLoop(t, tc.kind, tc.label, 64)
			backing, err := os.ReadFile(filepath.Join("/sys/class/block", filepath.Base(dev), "loop", "backing_file"))
			if err != nil {
				t.Fatal(err)
			}
			img := strings.TrimSpace(string(backing))
			mnt := t.TempDir()
			mounted := false
			mount := func() {
				t.Helper()
				cmd := tc.mount(dev, mnt)
				if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
					t.Fatalf("%s: %v %s", cmd[0], err, out)
				}
				mounted = true
			}
			unmount := func() {
				t.Helper()
				var out []byte
				var err error
				for i := 0; i < 50; i++ { // busy for a moment after mounting
					if out, err = exec.Command(tc.unmount[0], append(tc.unmount[1:], mnt)...).CombinedOutput(); err == nil {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				if err != nil {
					t.Fatalf("unmount %s: %v %s", mnt, err, out)
				}
				mounted = false
				// fusefat writes its last blocks as it exits.
				for i := 0; i < 100 && exec.Command("pgrep", "-f", tc.mount("", "")[0]+" .*"+regexp.QuoteMeta(mnt)).Run() == nil; i++ {
					time.Sleep(50 * time.Millisecond)
				}
			}
			t.Cleanup(func() {
				if mounted {
					exec.Command("umount", "-l", mnt).Run()
				}
			})
			mount()
			if err := os.WriteFile(filepath.Join(mnt, "holiday.jpg"), []byte("photo"), 0o644); err != nil {
				t.Fatal(err)
			}
			unmount()
			before := realfs.FileSum(t, img)
			mount()

			var d client.Drive
			s.waitFor("the "+tc.kind+" drive object", 10*time.Second, func() bool {
				ds, _ := s.client.Drives(bg)
				for _, x := range ds {
					if x.UUID == uuid {
						d = x
						return !tc.seen || x.MountPoint == mnt
					}
				}
				return false
			})
			if !tc.seen && d.MountPoint != "" {
				t.Fatalf("the service took %s for the %s drive's mount", d.MountPoint, tc.kind)
			}
			wantUnusable := strings.ToUpper(tc.fs) + " drives cannot hold hardlinks, which every snapshot needs: reformat it as ext4 (or xfs, btrfs) to use it with Keepsake"
			if d.Filesystem != tc.fs || d.Unusable != wantUnusable || d.Enrolled {
				t.Errorf("%s drive: %+v, want filesystem %s, unusable %q", tc.kind, d, tc.fs, wantUnusable)
			}
			err = s.client.Enroll(bg, uuid, client.EnrollOptions{})
			if tc.seen {
				want := mnt + " is on a exFAT (FUSE) filesystem (fuseblk): Keepsake keeps every snapshot as a full tree of hardlinks, which this filesystem cannot hold. Reformat the drive as ext4"
				if kerr.NameOf(err) != kerr.UnsupportedFilesystem || !strings.HasPrefix(err.Error(), want) {
					t.Errorf("Enroll of a mounted %s drive: %v, want UnsupportedFilesystem %q...", tc.kind, err, want)
				}
			} else if kerr.NameOf(err) != kerr.UnsupportedFilesystem || !strings.Contains(err.Error(), "cannot enroll ") || !strings.HasSuffix(err.Error(), ": "+wantUnusable) {
				t.Errorf("Enroll of a %s drive: %v, want UnsupportedFilesystem \"cannot enroll ...: %s\"", tc.kind, err, wantUnusable)
			}
			if len(mountedUnder(t, s.runDir())) != 0 {
				t.Errorf("the service mounted the %s drive", tc.kind)
			}
			if b, err := os.ReadFile(filepath.Join(mnt, "holiday.jpg")); err != nil || string(b) != "photo" {
				t.Errorf("the file on the stick: %q %v", b, err)
			}
			unmount()
			if after := realfs.FileSum(t, img); after != before {
				t.Errorf("Enroll wrote to the %s image: sha256 %s before, %s after", tc.kind, before, after)
			}
		})
	}
}

// TestObjectsMatchXML introspects every kind of live object and checks
// its methods, signals and properties (names and types) against the XML.
func TestObjectsMatchXML(t *testing.T) {
	s := startService(t, "")
	dr := newDrive(t, "KSXML", 300)
	src := t.TempDir()
	makeTree(t, src, 2, 2)
	if _, err := s.client.CreateProfile(bg, "xml-check", api.Settings{Sources: paths(src), Interval: ptr(uint64(0))}, api.Auth{}); err != nil {
		t.Fatal(err)
	}
	if err := s.client.Enroll(bg, dr.uuid, client.EnrollOptions{Profile: "xml-check"}); err != nil {
		t.Fatal(err)
	}
	job, err := s.client.BackupNow(bg, "xml-check", api.BackupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := dbusapi.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for path, iface := range map[dbus.ObjectPath]string{
		dbusapi.ManagerPath:              dbusapi.ManagerInterface,
		dbusapi.ProfilePath("xml-check"): dbusapi.ProfileInterface,
		dbusapi.DrivePath(dr.uuid):       dbusapi.DriveInterface,
		job:                              dbusapi.JobInterface,
	} {
		var xml string
		if err := s.client.Conn().Object(dbusapi.BusName, path).Call("org.freedesktop.DBus.Introspectable.Introspect", 0).Store(&xml); err != nil {
			t.Fatalf("introspect %s: %v", path, err)
		}
		got := parseIntrospection(t, xml)[iface]
		w := want[iface]
		if fmt.Sprint(got) != fmt.Sprint(summary(w)) {
			t.Errorf("%s: live interface differs from the XML:\nlive %v\nxml  %v", path, got, summary(w))
		}
		var props map[string]dbus.Variant
		if err := s.client.Conn().Object(dbusapi.BusName, path).Call(dbusapi.PropertiesInterface+".GetAll", 0, iface).Store(&props); err != nil {
			t.Fatal(err)
		}
		for _, p := range w.Properties {
			v, ok := props[p.Name]
			if !ok {
				t.Errorf("%s: property %s missing from GetAll", path, p.Name)
			} else if v.Signature().String() != p.Type {
				t.Errorf("%s: property %s is %s, XML says %s", path, p.Name, v.Signature(), p.Type)
			}
		}
		if len(props) != len(w.Properties) {
			t.Errorf("%s: GetAll has %d properties, the XML %d", path, len(props), len(w.Properties))
		}
	}
	s.wait(job)
	// One reading of the whole tree (what the app does on every signal)
	// says what the per-kind calls say. Right after a job the service is
	// still settling (the drive is unmounted, its LastSeen moves), so the
	// two readings are compared until they are taken in a quiet moment.
	var objs client.Objects
	for try := 0; ; try++ {
		var err error
		objs, err = s.client.Objects(bg)
		if err != nil {
			t.Fatal(err)
		}
		m, err1 := s.client.Manager(bg)
		ps, err2 := s.client.Profiles(bg)
		ds, err3 := s.client.Drives(bg)
		js, err4 := s.client.Jobs(bg)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			t.Fatal(err)
		}
		if reflect.DeepEqual(objs, client.Objects{Manager: m, Profiles: ps, Drives: ds, Jobs: js}) {
			break
		}
		if try == 20 {
			t.Fatalf("Objects() = %+v\nper kind: %+v %+v %+v %+v", objs, m, ps, ds, js)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if len(objs.Profiles) != 1 || objs.Profiles[0].Name != "xml-check" || len(objs.Jobs) == 0 || objs.Manager.Version == "" {
		t.Errorf("Objects() misses the profile, the job or the manager: %+v", objs)
	}
	// busctl walks the tree from the root.
	out, err := exec.Command("busctl", "--address="+s.bus.Address, "tree", dbusapi.BusName).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "/io/github/keepsake/Keepsake1/profiles/xml_2dcheck") {
		t.Fatalf("busctl tree: %v\n%s", err, out)
	}
}
