package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keepsake/keepsake/service/internal/realfs"
)

// TestUserBackupWithUnreadableEntries: a person (not root) backs up a tree
// to a drive of their own with --repo; a folder and a file in it they may
// not read are one warning each, the backup completes and says it is
// partial, and everything else is in the snapshot.
func TestUserBackupWithUnreadableEntries(t *testing.T) {
	realfs.RequireRoot(t, "making a user account to run keepsakectl as")
	realfs.RequireCommands(t, "useradd", "userdel", "runuser")
	bin := buildCtl(t)
	u := newLocalUser(t)
	src, drive := filepath.Join(u.home, "work"), filepath.Join(u.home, "drive")
	realfs.WriteTree(t, src, map[string]string{
		"notes.txt":         "mine",
		"locked/secret.txt": "root's, inside my tree",
		"open/readme.txt":   "readable",
		"open/not-mine.txt": "unreadable file",
	})
	if err := os.Mkdir(drive, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{src, drive} {
		if err := filepath.Walk(p, func(q string, _ os.FileInfo, _ error) error { return os.Lchown(q, u.uid, u.gid) }); err != nil {
			t.Fatal(err)
		}
	}
	// A folder and a file the user may not read (root's, as left by a
	// sudo make install, say).
	for _, p := range []string{filepath.Join(src, "locked"), filepath.Join(src, "open", "not-mine.txt")} {
		if err := os.Chown(p, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(src, "locked"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(src, "open", "not-mine.txt"), 0o600); err != nil {
		t.Fatal(err)
	}

	if out, err := u.as(t, bin, "--repo", drive, "init"); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	out, err := u.as(t, bin, "--repo", drive, "backup", src)
	if err != nil {
		t.Fatalf("a backup with unreadable entries failed: %v\n%s", err, out)
	}
	for _, want := range []string{
		"warning: " + filepath.Join(src, "locked") + ": cannot read folder",
		"warning: " + filepath.Join(src, "open", "not-mine.txt") + ": cannot read: permission denied",
		"Partial: 2 files or folders could not be backed up",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	snaps, err := filepath.Glob(filepath.Join(drive, "Keepsake", "*", "2*"))
	if err != nil || len(snaps) != 1 {
		t.Fatalf("snapshots: %q, %v", snaps, err)
	}
	for rel, want := range map[string]string{"notes.txt": "mine", "open/readme.txt": "readable"} {
		if b, err := os.ReadFile(filepath.Join(snaps[0], src, rel)); err != nil || string(b) != want {
			t.Errorf("%s in the snapshot: %q, %v", rel, b, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(snaps[0], src, "open", "not-mine.txt")); !os.IsNotExist(err) {
		t.Errorf("the unreadable file is in the snapshot: %v", err)
	}
	if out, err := u.as(t, bin, "--repo", drive, "verify"); err != nil {
		t.Fatalf("verify: %v\n%s", err, out)
	}
}
