package usecase

import (
	"testing"

	"github.com/keepsake/keepsake/service/config"
	"github.com/keepsake/keepsake/shared/kerr"
)

// Who may see what, as the kernel decided when the entry was backed up:
// caller × stored owner × mode × groups × access.
func TestAllowed(t *testing.T) {
	alice := Caller{UID: 1000, GID: 1000, Groups: []uint32{1000, 27}, Name: "alice"}
	bob := Caller{UID: 1001, GID: 1001, Name: "bob"}
	root := Caller{UID: 0, GID: 0, Name: "root"}
	admin := Caller{UID: 1002, GID: 1002, Name: "carol", All: true}
	file := func(uid, gid, mode uint32) Stored { return Stored{UID: uid, GID: gid, Mode: mode, Type: "file"} }
	dir := func(uid, gid, mode uint32) Stored { return Stored{UID: uid, GID: gid, Mode: mode, Type: "dir"} }
	cases := []struct {
		name string
		c    Caller
		st   Stored
		a    Access
		want bool
	}{
		{"owner reads own private file", alice, file(1000, 1000, 0o600), See, true},
		{"owner without read bit", alice, file(1000, 1000, 0o200), See, false},
		{"other user, private file", bob, file(1000, 1000, 0o600), See, false},
		{"other user, world-readable", bob, file(1000, 1000, 0o644), See, true},
		{"group member, group-readable", alice, file(0, 27, 0o640), See, true},
		{"group member via primary gid", alice, file(0, 1000, 0o640), See, true},
		{"not in group, group-readable only", bob, file(0, 27, 0o640), See, false},
		{"owner bits win over group bits", alice, file(1000, 27, 0o040), See, false},
		{"group bits win over other bits", alice, file(0, 27, 0o604), See, false},
		{"root sees everything", root, file(1000, 1000, 0o000), See, true},
		{"administrator with all-users", admin, file(1000, 1000, 0o000), See, true},
		{"symlink needs no read bit", bob, Stored{UID: 1000, GID: 1000, Mode: 0o000, Type: "symlink"}, See, true},
		{"list own folder", alice, dir(1000, 1000, 0o700), ListDir, true},
		{"list needs read and search", alice, dir(1000, 1000, 0o300), ListDir, false},
		{"list others' private folder", bob, dir(1000, 1000, 0o700), ListDir, false},
		{"enter a search-only folder", bob, dir(1000, 1000, 0o711), Enter, true},
		{"enter needs search bit", bob, dir(1000, 1000, 0o744), Enter, false},
		{"a file cannot be entered", alice, file(1000, 1000, 0o755), Enter, false},
		{"a file cannot be listed", alice, file(1000, 1000, 0o755), ListDir, false},
		{"root lists anything", root, dir(1000, 1000, 0o000), ListDir, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Allowed(tc.c, tc.st, tc.a); got != tc.want {
				t.Errorf("Allowed(%s, %+v, %d) = %v, want %v", tc.c.Name, tc.st, tc.a, got, tc.want)
			}
		})
	}
}

func TestRemoteViewer(t *testing.T) {
	pc := config.DefaultProfile("laptop")
	pc.Sources, pc.Viewers = []string{"ssh://me@laptop/home/me"}, []uint32{1000}
	refuse := func() error { return kerr.New(kerr.NotAuthorized, "polkit said no") }
	allow := func() error { return nil }
	broken := func() error { return kerr.New(kerr.Failed, "polkit is not running") }
	cases := []struct {
		name  string
		uid   uint32
		admin func() error
		want  kerr.Name // "" = sees every file
	}{
		{"root", 0, refuse, ""},
		{"a viewer", 1000, refuse, ""},
		{"an administrator", 1001, allow, ""},
		{"anyone else", 1002, refuse, kerr.NotAuthorized},
		{"polkit failing is not a refusal", 1002, broken, kerr.Failed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := RemoteViewer(Caller{UID: c.uid}, pc, c.admin)
			if c.want != "" {
				if kerr.NameOf(err) != c.want {
					t.Fatalf("err %v, want %s", err, c.want)
				}
				return
			}
			if err != nil || !got.All || got.UID != c.uid {
				t.Fatalf("%+v, %v: want every file, as uid %d", got, err, c.uid)
			}
		})
	}
}
