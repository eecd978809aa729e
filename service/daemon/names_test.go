package daemon_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/keepsake/keepsake/service/internal/bustest"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/shared/api"
)

// File names are bytes: a Latin-1 name (old archives, Windows copies) and
// a name with a newline are found by search, their versions listed and
// restored by the name the service gave, through the bus, by an ordinary
// user with keepsakectl.
func TestNamesThatAreNotUTF8(t *testing.T) {
	const user = "ks-names"
	s := startService(t, `
polkit.addRule(function(action, subject) {
	var ok = ["io.github.keepsake.keepsake1.browse", "io.github.keepsake.keepsake1.restore"];
	if (subject.user == "`+user+`" && ok.indexOf(action.id) >= 0) {
		return polkit.Result.YES;
	}
	return polkit.Result.NOT_HANDLED;
});
`)
	uid, gid := bustest.User(t, user)
	dr := newDrive(t, "KSNAMES", 300)
	home := t.TempDir()
	must(t, os.Chmod(home, 0o755))
	must(t, os.Chmod(filepath.Dir(home), 0o755))
	src := filepath.Join(home, "Archive")
	names := map[string]string{"caf\xe9 menu.txt": "latin-1 bytes", "two\nlines.txt": "a newline in the name"}
	must(t, os.MkdirAll(src, 0o700))
	for name, content := range names {
		must(t, os.WriteFile(filepath.Join(src, name), []byte(content), 0o600))
		must(t, os.Lchown(filepath.Join(src, name), int(uid), int(gid)))
	}
	must(t, os.Chown(src, int(uid), int(gid)))
	s.ctlOK("create-profile", "archive", src)
	s.ctlOK("configure", "interval=off", "on-change=no", "on-plug=no")
	s.ctlOK("enroll", dr.uuid)
	s.ctlOK("backup-now")

	ctl := s.bus.Share(t, realfs.Build(t, "service/cmd/keepsakectl"))
	asUser := func(args ...string) string {
		t.Helper()
		out, errOut, code := s.bus.AsUser(t, user, ctl, args...)
		if code != 0 {
			t.Fatalf("keepsakectl %q as %s: exit %d\n%s%s", args, user, code, out, errOut)
		}
		return out
	}
	to := filepath.Join(home, "Restored")
	must(t, os.Mkdir(to, 0o755))
	must(t, os.Chown(to, int(uid), int(gid)))
	for name, content := range names {
		pattern := strings.Fields(strings.ReplaceAll(name, "\n", " "))[0][:3] // "caf", "two"
		var hits []api.SearchHit
		must(t, json.Unmarshal([]byte(asUser("--json", "search", pattern)), &hits))
		if len(hits) != 1 || string(hits[0].Path) != filepath.Join(src, name) {
			t.Fatalf("search %q found %+v, want %q", pattern, hits, filepath.Join(src, name))
		}
		// The path as --json printed it (escaped where it is not UTF-8)
		// names the file for versions and restore.
		printed := api.EncodePath(string(hits[0].Path))
		var vs []api.Version
		must(t, json.Unmarshal([]byte(asUser("--json", "versions", printed)), &vs))
		if len(vs) != 1 || string(vs[0].Paths[0]) != filepath.Join(src, name) || vs[0].Size != uint64(len(content)) {
			t.Fatalf("versions of %q: %+v", name, vs)
		}
		evs := jsonLines(t, asUser("--json", "restore", "latest", printed, "--to", to))
		res := evs[len(evs)-1]
		if res["event"] != "result" {
			t.Fatalf("restore --json: %v", evs)
		}
		got, err := os.ReadFile(filepath.Join(to, name))
		if err != nil || string(got) != content {
			t.Fatalf("restored %q: %q %v (result %v)", name, got, err, res)
		}
		fi, err := os.Lstat(filepath.Join(to, name))
		must(t, err)
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != uid {
			t.Fatalf("restored %q belongs to uid %d, not the user (%d)", name, st.Uid, uid)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// ctlOK runs keepsakectl as root through the service and fails the test
// unless it succeeds.
func (s *service) ctlOK(args ...string) string {
	s.t.Helper()
	out, errOut, code := s.ctl(args...)
	if code != 0 {
		s.t.Fatalf("keepsakectl %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}
