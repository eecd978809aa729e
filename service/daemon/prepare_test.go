package daemon_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/internal/bustest"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// prepareRules: group ks-admins plays the administrators, who may erase
// drives (and describe them, which needs configure).
const prepareRules = `
polkit.addRule(function(action, subject) {
	var ok = ["io.github.keepsake.keepsake1.prepare-drive", "io.github.keepsake.keepsake1.configure"];
	if (ok.indexOf(action.id) >= 0 && subject.isInGroup("ks-admins")) {
		return polkit.Result.YES;
	}
	return polkit.Result.NOT_HANDLED;
});
`

// hashImage is the SHA-256 of a test drive's image file.
func hashImage(t *testing.T, d drive) string {
	t.Helper()
	exec.Command("sync").Run()
	f, err := os.Open(d.img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func blkidOf(t *testing.T, dev, tag string) string {
	t.Helper()
	out, _ := exec.Command("blkid", "-p", "-o", "value", "-s", tag, dev).Output()
	return strings.TrimSpace(string(out))
}

var tokenRE = regexp.MustCompile(`'token': <'([0-9a-f]+)'>`)

// TestPrepareDrive erases loop devices through the service: who may, what
// a stale confirmation does, btrfs and ext4, the drive enrolled and
// backed up to, and keepsakectl prepare-drive.
func TestPrepareDrive(t *testing.T) {
	realfs.RequireCommands(t, "gdbus", "wipefs", "mkfs.btrfs", "mkfs.ext4", "blkid", "e2label")
	s := startService(t, prepareRules)
	bustest.User(t, "ks-prep-admin", "ks-admins")
	bustest.User(t, "ks-prep-user")
	a := &authz{t: t, s: s}
	d := newDrive(t, "OLDDATA", 256)
	other := newDrive(t, "OTHER", 256)
	mgr := dbusapi.ManagerPath

	var token string
	t.Run("a plain user is refused and nothing is written", func(t *testing.T) {
		before := hashImage(t, d)
		r := a.gdbus("ks-prep-user", mgr, "Manager.DescribeDevice", gv(d.dev), gvOpts())
		if r.outcome() != "NotAuthorized" {
			t.Fatalf("DescribeDevice as a user: %s %s", r.outcome(), r.out)
		}
		info, err := s.client.DescribeDevice(bg, d.dev, api.Auth{})
		if err != nil {
			t.Fatal(err)
		}
		token = info.Token
		r = a.gdbus("ks-prep-user", mgr, "Manager.PrepareDrive", gv(d.dev), gvOpts("'confirm': <"+gv(token)+">"))
		if r.outcome() != "NotAuthorized" {
			t.Fatalf("PrepareDrive as a user: %s %s", r.outcome(), r.out)
		}
		time.Sleep(500 * time.Millisecond) // a job would have started by now
		if hashImage(t, d) != before {
			t.Fatal("the drive changed after a refused call")
		}
	})

	t.Run("refusals through the service", func(t *testing.T) {
		if _, err := s.client.DescribeDevice(bg, "/dev/keepsake-none", api.Auth{}); !kerr.Is(err, kerr.DriveNotFound) {
			t.Errorf("no device: %v", err)
		}
		mnt := t.TempDir()
		if err := unix.Mount(other.dev, mnt, "ext4", 0, ""); err != nil {
			t.Fatal(err)
		}
		_, err := s.client.DescribeDevice(bg, other.dev, api.Auth{})
		unix.Unmount(mnt, 0)
		if !kerr.Is(err, kerr.DeviceInUse) {
			t.Errorf("mounted: %v", err)
		}
		for _, o := range []api.PrepareOptions{{Filesystem: "vfat", Confirm: "x"}, {Label: strings.Repeat("x", 300), Confirm: "x"}, {}} {
			if _, err := s.client.PrepareDrive(bg, d.dev, o); !kerr.Is(err, kerr.InvalidArgs) {
				t.Errorf("PrepareDrive(%+v) = %v, want InvalidArgs", o, err)
			}
		}
	})

	t.Run("a stale confirmation erases nothing", func(t *testing.T) {
		before, otherBefore := hashImage(t, d), hashImage(t, other)
		// Another device than the one described.
		job, err := s.client.PrepareDrive(bg, other.dev, api.PrepareOptions{Confirm: token})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.wait(job); !kerr.Is(err, kerr.ConfirmationStale) {
			t.Fatalf("another device: %v, want ConfirmationStale", err)
		}
		// The same device, changed since it was described.
		if out, err := exec.Command("e2label", other.dev, "RENAMED").CombinedOutput(); err != nil {
			t.Fatalf("e2label: %v %s", err, out)
		}
		info, err := s.client.DescribeDevice(bg, other.dev, api.Auth{})
		if err != nil {
			t.Fatal(err)
		}
		if info.Label != "RENAMED" || info.Token == token {
			t.Fatalf("described %+v", info)
		}
		exec.Command("e2label", other.dev, "OTHER").Run()
		otherBefore = hashImage(t, other)
		job, err = s.client.PrepareDrive(bg, other.dev, api.PrepareOptions{Confirm: info.Token})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.wait(job); !kerr.Is(err, kerr.ConfirmationStale) {
			t.Fatalf("changed device: %v, want ConfirmationStale", err)
		}
		if hashImage(t, d) != before || hashImage(t, other) != otherBefore {
			t.Fatal("a stale confirmation changed a drive")
		}
	})

	var btrfsUUID string
	t.Run("an administrator makes it btrfs", func(t *testing.T) {
		r := a.gdbus("ks-prep-admin", mgr, "Manager.DescribeDevice", gv(d.dev), gvOpts())
		if r.errName != "" {
			t.Fatalf("DescribeDevice as admin: %s %s", r.errName, r.stderr)
		}
		for _, want := range []string{"'label': <'OLDDATA'>", "'filesystem': <'ext4'>", "'uuid': <'" + d.uuid + "'>", "'loop': <true>", "'size': <uint64 268435456>"} {
			if !strings.Contains(r.out, want) {
				t.Errorf("description lacks %s: %s", want, r.out)
			}
		}
		m := tokenRE.FindStringSubmatch(r.out)
		if m == nil {
			t.Fatalf("no token in %s", r.out)
		}
		r = a.gdbus("ks-prep-admin", mgr, "Manager.PrepareDrive", gv(d.dev), gvOpts("'confirm': <"+gv(m[1])+">"))
		if r.errName != "" {
			t.Fatalf("PrepareDrive as admin: %s %s", r.errName, r.stderr)
		}
		j, err := s.wait(jobOf(t, r.out))
		if err != nil {
			t.Fatal(err)
		}
		res, err := j.PrepareResult()
		if err != nil {
			t.Fatal(err)
		}
		if res.Filesystem != "btrfs" || res.Label != "Keepsake" || !res.Enrolled || res.Device != d.dev || res.UUID == d.uuid {
			t.Fatalf("result %+v", res)
		}
		if blkidOf(t, d.dev, "TYPE") != "btrfs" || blkidOf(t, d.dev, "LABEL") != "Keepsake" || blkidOf(t, d.dev, "UUID") != res.UUID {
			t.Fatalf("blkid disagrees with %+v", res)
		}
		dr, err := s.client.Drive(bg, res.UUID)
		if err != nil || !dr.Enrolled || !dr.Present {
			t.Fatalf("drive %+v, %v", dr, err)
		}
		btrfsUUID = res.UUID
	})

	t.Run("ext4 on request, then a backup to it", func(t *testing.T) {
		info, err := s.client.DescribeDevice(bg, d.dev, api.Auth{})
		if err != nil {
			t.Fatal(err)
		}
		if !info.Repository || info.UUID != btrfsUUID {
			t.Fatalf("the prepared drive described as %+v", info)
		}
		job, err := s.client.PrepareDrive(bg, d.dev, api.PrepareOptions{Filesystem: "ext4", Label: "KS Backup", Confirm: info.Token})
		if err != nil {
			t.Fatal(err)
		}
		j, err := s.wait(job)
		if err != nil {
			t.Fatal(err)
		}
		res, _ := j.PrepareResult()
		if blkidOf(t, d.dev, "TYPE") != "ext4" || blkidOf(t, d.dev, "LABEL") != "KS Backup" || !res.Enrolled {
			t.Fatalf("result %+v; blkid %s %q", res, blkidOf(t, d.dev, "TYPE"), blkidOf(t, d.dev, "LABEL"))
		}
		src := t.TempDir()
		realfs.WriteTree(t, src, map[string]string{"a.txt": "hello\n", "sub/b.txt": "world\n"})
		settings := api.Settings{Sources: paths(src), Drive: ptr(res.UUID), Interval: ptr(uint64(0)), OnChange: ptr(false), OnPlug: ptr(false)}
		if _, err := s.client.CreateProfile(bg, "prep", settings, api.Auth{}); err != nil {
			t.Fatal(err)
		}
		job, err = s.client.BackupNow(bg, "prep", api.BackupOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.wait(job); err != nil {
			t.Fatalf("backup to the prepared drive: %v", err)
		}
		s.restoreAndCompare("prep", src)
	})

	t.Run("keepsakectl prepare-drive", func(t *testing.T) {
		out, errOut, code := s.ctl("prepare-drive", other.dev, "--yes", "--filesystem", "ext4", "--label", "CLIDRIVE")
		if code != 0 {
			t.Fatalf("exit %d: %s %s", code, out, errOut)
		}
		uuid := blkidOf(t, other.dev, "UUID")
		for _, want := range []string{"OTHER", "ext4", "CLIDRIVE", uuid, "Everything on it will be erased"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if blkidOf(t, other.dev, "LABEL") != "CLIDRIVE" {
			t.Errorf("blkid label %q", blkidOf(t, other.dev, "LABEL"))
		}
		// Not on a terminal and without --yes: nothing is erased.
		before := hashImage(t, other)
		if _, errOut, code := s.ctl("prepare-drive", other.dev); code != 2 || !strings.Contains(errOut, "--yes") {
			t.Errorf("without --yes: exit %d %s", code, errOut)
		}
		if _, errOut, code := s.ctl("prepare-drive", "/dev/keepsake-none", "--yes"); code != 1 || !strings.Contains(errOut, "no device") {
			t.Errorf("no such device: exit %d %s", code, errOut)
		}
		if hashImage(t, other) != before {
			t.Error("the drive changed")
		}
		var drives []client.Drive
		drives, _ = s.client.Drives(bg)
		found := false
		for _, dr := range drives {
			found = found || (dr.UUID == uuid && dr.Enrolled)
		}
		if !found {
			t.Errorf("the drive keepsakectl prepared is not enrolled: %+v", drives)
		}
	})
}
