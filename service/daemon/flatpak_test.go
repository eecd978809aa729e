package daemon_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/internal/bustest"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/kerr"
)

const (
	// fpUser has a Flatpak installation of their own; a name of its own,
	// so the flatpak package's tests (user ksflatpak) may run alongside.
	fpUser     = "ks-fpuser"
	fpOther    = "ks-fpother" // another user with an installation
	fpProfile  = "apps"
	fpHello    = "app/org.test.Hello/x86_64/stable"
	fpBye      = "app/org.test.Bye/x86_64/stable"
	fpPlatform = "runtime/org.test.Platform/x86_64/1"
)

// fpRules let fpUser browse and restore, as an active local session
// would; changing settings and the system installation stay an
// administrator's.
const fpRules = `
polkit.addRule(function(action, subject) {
	var ok = ["io.github.keepsake.keepsake1.browse", "io.github.keepsake.keepsake1.restore"];
	if (subject.user == "` + fpUser + `" && ok.indexOf(action.id) >= 0) {
		return polkit.Result.YES;
	}
	return polkit.Result.NOT_HANDLED;
});
`

// fpFixture is keepsaked with a temporary system installation, a user with
// an installation of their own, a signed local repository with a runtime
// and two apps, and a profile backing up the user's home on a loop drive.
type fpFixture struct {
	t        *testing.T
	s        *service
	drive    drive
	repo     *realfs.FlatpakRepo
	sysDir   string // the system installation
	rootHome string // HOME of root's flatpak commands and of keepsaked
	home     string // the user's home
	uid, gid uint32
	ctl      string // keepsakectl, runnable by the user
}

func newFPFixture(t *testing.T, fstype string) *fpFixture {
	realfs.RequireCommands(t, "flatpak", "gpg", "busybox", "bwrap", "tar", "mount", "umount")
	// Not t.TempDir(): the user's flatpak reads the repository.
	dir, err := os.MkdirTemp("", "keepsake-fp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := &fpFixture{t: t, sysDir: filepath.Join(dir, "system"), rootHome: filepath.Join(dir, "root-home")}
	f.repo = realfs.NewFlatpakRepo(t, dir, "org.test.Keepsake")
	built := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rt := strings.TrimPrefix(f.repo.Runtime(t, "org.test.Platform", "1", built), "runtime/")
	f.repo.App(t, "org.test.Hello", "stable", rt, "1.2.3", built)
	f.repo.App(t, "org.test.Bye", "stable", rt, "", built)
	if err := os.MkdirAll(f.rootHome, 0o755); err != nil {
		t.Fatal(err)
	}

	// keepsaked's HOME is the test's: flatpak run as root must not make
	// an installation in /root that later backups would find.
	f.s = startServiceEnv(t, fpRules, []string{"FLATPAK_SYSTEM_DIR=" + f.sysDir, "HOME=" + f.rootHome})
	// The drive is mounted below the service's run directory, and the
	// user's flatpak writes and reads the user's offline copy there: let
	// others through the test's private temp directory, as /run is.
	for _, d := range []string{filepath.Dir(f.s.dir), f.s.dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f.uid, f.gid = bustest.User(t, fpUser)
	u, err := user.Lookup(fpUser)
	if err != nil {
		t.Fatal(err)
	}
	f.home = u.HomeDir
	// The user outlives the test: start and end with no Flatpak state.
	scratchPaths(t, filepath.Join(f.home, ".local"), filepath.Join(f.home, ".var"), filepath.Join(f.home, ".cache"))
	f.ctl = f.s.bus.Share(t, realfs.Build(t, "service/cmd/keepsakectl"))
	bustest.User(t, fpOther)
	other, err := user.Lookup(fpOther)
	if err != nil {
		t.Fatal(err)
	}
	scratchPaths(t, filepath.Join(other.HomeDir, ".local"), filepath.Join(other.HomeDir, ".var"), filepath.Join(other.HomeDir, ".cache"))

	f.drive = newDriveOf(t, fstype, "KSAPPS", 300)
	f.s.waitFor("the drive", 10*time.Second, func() bool {
		d, err := f.s.client.Drive(bg, f.drive.uuid)
		return err == nil && d.Present
	})
	// Both users' homes are backed up: their installations are in the
	// profile's scope (one whose home is not backed up is not recorded).
	settings := api.Settings{Sources: paths(f.home, other.HomeDir), Interval: ptr(uint64(0)), OnChange: ptr(false), OnPlug: ptr(false)}
	if _, err := f.s.client.CreateProfile(bg, fpProfile, settings, api.Auth{}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.client.Enroll(bg, f.drive.uuid, client.EnrollOptions{Profile: fpProfile}); err != nil {
		t.Fatal(err)
	}
	return f
}

// fp runs flatpak the way a person would: on the system installation
// ("system") as root, on a user's ("user" for fpUser, "user:NAME") as
// that user. It fails the test on error.
func (f *fpFixture) fp(scope string, args ...string) string {
	f.t.Helper()
	out, err := f.tryFP(scope, args...)
	if err != nil {
		f.t.Fatalf("flatpak --%s %s: %v\n%s", scope, strings.Join(args, " "), err, out)
	}
	return out
}

func (f *fpFixture) tryFP(scope string, args ...string) (string, error) {
	if name, ok := strings.CutPrefix(scope, "user"); ok {
		name = strings.TrimPrefix(name, ":")
		if name == "" {
			name = fpUser
		}
		// The user's flatpak asks the system bus about parental controls
		// before installing; AsUser points it at the test's bus.
		args = append([]string{"LC_ALL=C", "FLATPAK_SYSTEM_DIR=" + f.sysDir, "flatpak", "--user"}, args...)
		out, errOut, code := f.s.bus.AsUser(f.t, name, "env", args...)
		if code != 0 {
			return out + errOut, fmt.Errorf("exit %d", code)
		}
		return out, nil
	}
	cmd := exec.Command("flatpak", append([]string{"--system"}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "HOME=" + f.rootHome, "FLATPAK_SYSTEM_DIR=" + f.sysDir,
		"FLATPAK_USER_DIR=" + filepath.Join(f.rootHome, "flatpak"), "DBUS_SYSTEM_BUS_ADDRESS=" + f.s.bus.Address}
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// userFile writes a file below the user's home, owned by the user, with
// the folders leading to it.
func (f *fpFixture) userFile(rel, content string) {
	f.t.Helper()
	p := filepath.Join(f.home, rel)
	for d := filepath.Dir(p); d != f.home; d = filepath.Dir(d) {
		defer os.Chown(d, int(f.uid), int(f.gid))
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Chown(p, int(f.uid), int(f.gid)); err != nil {
		f.t.Fatal(err)
	}
}

// wantUserFile checks a file of the user's home: its content and owner.
func (f *fpFixture) wantUserFile(rel, content string) {
	f.t.Helper()
	p := filepath.Join(f.home, rel)
	data, err := os.ReadFile(p)
	if err != nil {
		f.t.Errorf("%s: %v", p, err)
		return
	}
	if string(data) != content {
		f.t.Errorf("%s holds %q, want %q", p, data, content)
	}
	fi, _ := os.Stat(p)
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != f.uid || st.Gid != f.gid {
		f.t.Errorf("%s is owned by %d:%d, want the user's %d:%d", p, st.Uid, st.Gid, f.uid, f.gid)
	}
}

// backup backs the profile up as root and returns the snapshot. Snapshot
// names have a resolution of a second: it waits that long first.
func (f *fpFixture) backup() string {
	f.t.Helper()
	time.Sleep(1100 * time.Millisecond)
	job, err := f.s.client.BackupNow(bg, fpProfile, api.BackupOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	j, err := f.s.wait(job)
	if err != nil {
		f.t.Fatalf("backup: %v", err)
	}
	return j.Message
}

// userCtl runs keepsakectl --json as the user and returns its JSON lines
// and exit code.
func (f *fpFixture) userCtl(args ...string) ([]map[string]any, int) {
	f.t.Helper()
	out, errOut, code := f.s.bus.AsUser(f.t, fpUser, f.ctl, append([]string{"--json", "--profile", fpProfile}, args...)...)
	if errOut != "" && code == 0 {
		f.t.Logf("keepsakectl %s: %s", strings.Join(args, " "), errOut)
	}
	return jsonLines(f.t, out), code
}

// rootCtl runs keepsakectl --json as root, failing the test on an
// unexpected exit code.
func (f *fpFixture) rootCtl(want int, args ...string) []map[string]any {
	f.t.Helper()
	out, errOut, code := f.s.ctl(append([]string{"--json", "--profile", fpProfile}, args...)...)
	if code != want {
		f.t.Fatalf("keepsakectl %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, errOut)
	}
	return jsonLines(f.t, out)
}

// rows indexes ListFlatpaks rows by "installation kind/id", leaving out
// installations of other users of this machine.
func (f *fpFixture) rows(ls []map[string]any) map[string]map[string]any {
	m := map[string]map[string]any{}
	for _, r := range ls {
		in := fmt.Sprint(r["installation"])
		if in != "system" && in != "user:"+fpUser {
			continue
		}
		m[in+" "+fmt.Sprint(r["ref"])] = r
	}
	return m
}

// wantRows checks states and data flags of rows: want maps
// "installation ref" to "state data".
func wantRows(t *testing.T, what string, got map[string]map[string]any, want map[string]string) {
	t.Helper()
	for k, w := range want {
		r, ok := got[k]
		if !ok {
			t.Errorf("%s: no row for %s", what, k)
			continue
		}
		if g := fmt.Sprintf("%v %v", r["state"], r["data"]); g != w {
			t.Errorf("%s: %s is %q, want %q (%v)", what, k, g, w, r)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d rows, want %d: %v", what, len(got), len(want), got)
	}
}

// lastEvent is the last JSON line of a keepsakectl run.
func lastEvent(t *testing.T, evs []map[string]any) map[string]any {
	t.Helper()
	if len(evs) == 0 {
		t.Fatal("keepsakectl printed nothing")
	}
	return evs[len(evs)-1]
}

// wantResults checks the per-ref outcomes of a Flatpak restore (the
// "results" of keepsakectl's result event, or a job's Result): each key
// of want must have an outcome starting with its value.
func wantResults(t *testing.T, what string, got map[string]any, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k].(string); !ok || !strings.HasPrefix(g, w) {
			t.Errorf("%s: %s is %v, want %s…", what, k, got[k], w)
		}
	}
	if len(got) != len(want) {
		keys := make([]string, 0, len(got))
		for k, v := range got {
			keys = append(keys, fmt.Sprintf("%s=%v", k, v))
		}
		sort.Strings(keys)
		t.Errorf("%s: results %v, want %d of them", what, keys, len(want))
	}
}

func jobResults(j client.Job) map[string]any {
	m := map[string]any{}
	for k, v := range j.Result {
		m[k] = v.Value()
	}
	return m
}

// onDrive mounts the drive while the service has it unmounted, runs fn on
// its mount point and unmounts it again.
func (f *fpFixture) onDrive(fn func(mnt string)) {
	f.t.Helper()
	unmounted := func() bool {
		d, err := f.s.client.Drive(bg, f.drive.uuid)
		return err == nil && d.MountPoint == "" && len(mountedUnder(f.t, f.s.runDir())) == 0
	}
	f.s.waitFor("the service to unmount the drive", 20*time.Second, unmounted)
	mnt := f.t.TempDir()
	if out, err := exec.Command("mount", "-o", "nosuid,nodev", f.drive.dev, mnt).CombinedOutput(); err != nil {
		f.t.Fatalf("mount %s: %v\n%s", f.drive.dev, err, out)
	}
	defer func() {
		unmountTest(f.t, mnt)
		// The service must not take the test's mount for its own.
		f.s.waitFor("the service to see the drive unmounted", 20*time.Second, unmounted)
	}()
	fn(mnt)
}

// TestFlatpakBackupAndRestore: keepsaked records the apps of the system
// installation and of a user's with each backup, lists them against what
// is installed, and reinstalls them with their remotes, overrides and the
// user's app data: the user their own installation (keepsakectl run as
// the user), root the system one; from the network and from the offline
// copy on the drive. Real flatpak, polkitd, dbus-daemon and a loop drive,
// fully offline.
func TestFlatpakBackupAndRestore(t *testing.T) { flatpakBackupAndRestore(t, "ext4") }

// TestFlatpakBackupAndRestoreOnBtrfs is the same with a btrfs drive, whose
// snapshots are subvolumes.
func TestFlatpakBackupAndRestoreOnBtrfs(t *testing.T) { flatpakBackupAndRestore(t, "btrfs") }

func flatpakBackupAndRestore(t *testing.T, fstype string) {
	f := newFPFixture(t, fstype)
	s := f.s

	// What the machine has: the system installation with both apps from a
	// signed remote with a collection id, and an override; the user's own
	// with the runtime and one app from a remote of their own, an
	// override, and the app's data.
	f.fp("system", "remote-add", "--gpg-import="+f.repo.KeyFile, "--collection-id=org.test.Keepsake", "local", f.repo.URL)
	f.fp("system", "install", "-y", "--noninteractive", "local", "org.test.Hello", "org.test.Bye")
	f.fp("system", "override", "--filesystem=home", "org.test.Hello")
	f.fp("user", "remote-add", "--gpg-import="+f.repo.KeyFile, "--collection-id=org.test.Keepsake", "mine", f.repo.URL)
	f.fp("user", "install", "-y", "--noninteractive", "mine", fpPlatform)
	f.fp("user", "install", "-y", "--noninteractive", "mine", "org.test.Bye")
	f.fp("user", "override", "--socket=wayland", "org.test.Bye")
	// Another user's app, on the system's runtime.
	f.fp("user:"+fpOther, "remote-add", "--gpg-import="+f.repo.KeyFile, "theirs", f.repo.URL)
	f.fp("user:"+fpOther, "install", "-y", "--noninteractive", "theirs", "org.test.Bye")
	sysList := f.fp("system", "list", "--columns=ref,origin,active")
	userList := f.fp("user", "list", "--columns=ref,origin,active")
	userRemotes := f.fp("user", "remotes", "--columns=name,url,collection")
	const (
		byeData   = ".var/app/org.test.Bye/data/notes.txt"
		byeConfig = ".var/app/org.test.Bye/config/settings.ini"
		byeCache  = ".var/app/org.test.Bye/cache/blob"
		helloConf = ".var/app/org.test.Hello/config/hello.conf"
	)
	f.userFile(byeData, "my notes\n")
	f.userFile(byeConfig, "[ui]\ndark=true\n")
	f.userFile(byeCache, "throwaway")
	f.userFile(helloConf, "greeting=hi\n")

	first := f.backup()

	// The snapshot holds the app data but neither cache/ nor flatpak's
	// object store.
	list := func(dir string) []string {
		ds, err := s.client.List(bg, fpProfile, first, dir, api.ListOptions{})
		if err != nil {
			t.Fatalf("list %s: %v", dir, err)
		}
		var names []string
		for _, d := range ds {
			names = append(names, string(d.Name))
		}
		sort.Strings(names)
		return names
	}
	if got := list(filepath.Join(f.home, ".var/app/org.test.Bye")); strings.Join(got, " ") != "config data" {
		t.Errorf("the snapshot's ~/.var/app/org.test.Bye holds %v, want config and data (no cache)", got)
	}
	if got := list(filepath.Join(f.home, ".local/share")); len(got) != 0 {
		t.Errorf("the snapshot holds flatpak's object store: ~/.local/share has %v", got)
	}

	// Right after the backup: every app is the same as installed, and the
	// user's data is in the snapshot. The user sees the system
	// installation and their own.
	evs, code := f.userCtl("flatpaks")
	if code != 0 {
		t.Fatalf("flatpaks as the user: exit %d %v", code, evs)
	}
	wantRows(t, "flatpaks as the user", f.rows(evs), map[string]string{
		"system " + fpHello: "same true", "system " + fpBye: "same true", "system " + fpPlatform: "same false",
		"user:" + fpUser + " " + fpBye: "same true", "user:" + fpUser + " " + fpPlatform: "same false",
	})
	for _, r := range evs {
		if r["installation"] == "user:"+fpOther {
			t.Errorf("the user sees another user's installation: %v", r)
		}
	}
	if r := f.rows(evs)["system "+fpHello]; r["version"] != "1.2.3" || r["installed_version"] != "1.2.3" || r["origin"] != "local" {
		t.Errorf("Hello: %v", r)
	}
	// Root sees every installation.
	ds, err := s.client.Flatpaks(bg, fpProfile, "latest", api.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rootRows := map[string]api.FlatpakRef{}
	seesOther := false
	for _, d := range ds {
		if d.Installation == "user:"+fpOther && d.Ref == fpBye && d.Origin == "theirs" {
			seesOther = true
		}
		if d.Installation == "user:"+fpUser {
			rootRows[d.Ref] = d
		}
	}
	if !seesOther {
		t.Errorf("root does not see the other user's installation")
	}
	if r, ok := rootRows[fpBye]; !ok || r.State != "same" || !r.Data {
		t.Errorf("root with all-users, the user's Bye: %+v", r)
	}
	// The table a person reads.
	if out, _, code := s.bus.AsUser(t, fpUser, f.ctl, "--profile", fpProfile, "flatpaks", first); code != 0 ||
		!strings.Contains(out, "INSTALLATION") || !regexpMatch(`system\s+app\s+org\.test\.Hello\s+stable\s+1\.2\.3\s+same\s+yes`, out) {
		t.Errorf("flatpaks table (exit %d):\n%s", code, out)
	}

	// Everything goes: apps, remotes, overrides, the user's data.
	f.fp("system", "uninstall", "-y", "--noninteractive", "--all")
	f.fp("system", "remote-delete", "--force", "local")
	f.fp("system", "override", "--reset", "org.test.Hello")
	f.fp("user", "uninstall", "-y", "--noninteractive", "--all")
	f.fp("user", "remote-delete", "--force", "mine")
	f.fp("user", "override", "--reset", "org.test.Bye")
	if err := os.RemoveAll(filepath.Join(f.home, ".var/app/org.test.Bye")); err != nil {
		t.Fatal(err)
	}
	evs, _ = f.userCtl("flatpaks")
	wantRows(t, "flatpaks after uninstalling", f.rows(evs), map[string]string{
		"system " + fpHello: "missing true", "system " + fpBye: "missing true", "system " + fpPlatform: "missing false",
		"user:" + fpUser + " " + fpBye: "missing true", "user:" + fpUser + " " + fpPlatform: "missing false",
	})

	// The user may not restore the system installation.
	evs, code = f.userCtl("flatpak-restore", "latest", "--installation", "system")
	if ev := lastEvent(t, evs); code != 1 || ev["error"] != string(kerr.NotAuthorized) {
		t.Errorf("the user restoring the system installation: exit %d %v", code, evs)
	}
	// Nor another user's, nor one the snapshot does not have.
	evs, code = f.userCtl("flatpak-restore", "latest", "--installation", "user:"+fpOther)
	if ev := lastEvent(t, evs); code != 1 || ev["error"] != string(kerr.NotAuthorized) {
		t.Errorf("the user restoring another user's installation: exit %d %v", code, evs)
	}
	// Asking for an app they never had tells nothing either.
	evs, code = f.userCtl("flatpak-restore", "latest", "org.test.Nope", "--installation", "user:"+fpOther)
	if ev := lastEvent(t, evs); code != 1 || ev["error"] != string(kerr.NotAuthorized) {
		t.Errorf("the user probing another user's installation: exit %d %v", code, evs)
	}
	evs, code = f.userCtl("flatpak-restore", "latest", "--installation", "user:nobody")
	if ev := lastEvent(t, evs); code != 1 || ev["error"] != string(kerr.NotFound) {
		t.Errorf("restoring an installation the snapshot lacks: exit %d %v", code, evs)
	}

	// Nor an app the snapshot never had: said by the call, before any job.
	if _, err := s.client.RestoreFlatpaks(bg, fpProfile, "latest", []string{"org.test.Nope"}, api.FlatpakRestoreOptions{Installation: "user:" + fpUser}); !kerr.Is(err, kerr.NotFound) || !strings.Contains(err.Error(), "org.test.Nope") {
		t.Errorf("restoring an app the snapshot lacks: %v", err)
	}

	// Their own: the remote, runtime, app, override and data come back,
	// done as the user.
	evs, code = f.userCtl("flatpak-restore", "latest")
	ev := lastEvent(t, evs)
	if code != 0 || ev["event"] != "result" {
		t.Fatalf("the user restoring their installation: exit %d %v", code, evs)
	}
	wantResults(t, "the user's restore", outcomes(ev), map[string]string{
		"remote mine": "installed", "runtime " + fpPlatform: "installed", "app " + fpBye: "installed",
		"override org.test.Bye": "installed", "pin " + fpPlatform: "present",
		"data " + filepath.Join(f.home, ".var/app/org.test.Bye"): "restored to " + filepath.Join(f.home, ".var/app/org.test.Bye"),
	})
	if got := f.fp("user", "list", "--columns=ref,origin,active"); got != userList {
		t.Errorf("flatpak --user list after the restore:\n%s\nbefore:\n%s", got, userList)
	}
	if got := f.fp("user", "remotes", "--columns=name,url,collection"); got != userRemotes {
		t.Errorf("flatpak --user remotes after the restore:\n%s\nbefore:\n%s", got, userRemotes)
	}
	if got := f.fp("user", "override", "--show", "org.test.Bye"); !strings.Contains(got, "sockets=wayland;") {
		t.Errorf("the user's override of Bye after the restore:\n%s", got)
	}
	for _, p := range []string{filepath.Join(f.home, ".local/share/flatpak/repo/config"), filepath.Join(f.home, ".local/share/flatpak/overrides/org.test.Bye")} {
		if fi, err := os.Stat(p); err != nil || fi.Sys().(*syscall.Stat_t).Uid != f.uid {
			t.Errorf("%s is not the user's after the restore (%v)", p, err)
		}
	}
	f.wantUserFile(byeData, "my notes\n")
	f.wantUserFile(byeConfig, "[ui]\ndark=true\n")
	if _, err := os.Lstat(filepath.Join(f.home, ".var/app/org.test.Bye/cache")); err == nil {
		t.Errorf("cache/ came back")
	}
	if out := f.fp("user", "run", "org.test.Bye"); !strings.Contains(out, "hello from org.test.Bye") {
		t.Errorf("the restored app does not run: %q", out)
	}

	// Root restores the system installation: one app, then the rest.
	job, err := s.client.RestoreFlatpaks(bg, fpProfile, "latest", []string{"org.test.Hello"}, api.FlatpakRestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.wait(job)
	if err != nil {
		t.Fatalf("system restore of Hello: %v (%v)", err, j.Result)
	}
	// The runtime came as the app's dependency: not a result of its own.
	wantResults(t, "the system restore of Hello", jobResults(j), map[string]string{
		"remote local": "installed", "app " + fpHello: "installed", "override org.test.Hello": "installed",
	})
	if got := f.fp("system", "list", "--app", "--columns=ref"); got != "org.test.Hello/x86_64/stable\n" {
		t.Errorf("after restoring Hello alone the system has:\n%s", got)
	}
	job, err = s.client.RestoreFlatpaks(bg, fpProfile, "latest", nil, api.FlatpakRestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if j, err = s.wait(job); err != nil {
		t.Fatalf("system restore: %v (%v)", err, j.Result)
	}
	wantResults(t, "the system restore", jobResults(j), map[string]string{
		"remote local": "present", "app " + fpHello: "present", "app " + fpBye: "installed", "override org.test.Hello": "present",
	})
	if got := f.fp("system", "list", "--columns=ref,origin,active"); got != sysList {
		t.Errorf("flatpak --system list after the restore:\n%s\nbefore:\n%s", got, sysList)
	}
	if got := f.fp("system", "override", "--show", "org.test.Hello"); !strings.Contains(got, "filesystems=home;") {
		t.Errorf("the system override of Hello after the restore:\n%s", got)
	}
	evs, _ = f.userCtl("flatpaks")
	wantRows(t, "flatpaks after the restores", f.rows(evs), map[string]string{
		"system " + fpHello: "same true", "system " + fpBye: "same true", "system " + fpPlatform: "same false",
		"user:" + fpUser + " " + fpBye: "same true", "user:" + fpUser + " " + fpPlatform: "same false",
	})

	// Rolling one app's data back: the newer data stays and the old comes
	// beside it, unless the user says overwrite.
	f.userFile(byeData, "newer notes\n")
	evs, code = f.userCtl("app-data-restore", first, "org.test.Bye")
	ev = lastEvent(t, evs)
	restored, _ := ev["restored"].([]any)
	beside := ""
	if len(restored) == 1 {
		beside = fmt.Sprint(restored[0])
	}
	if code != 0 || filepath.Dir(beside) != filepath.Join(f.home, ".var/app") || !strings.Contains(beside, " (restored ") {
		t.Fatalf("app-data-restore: exit %d %v", code, evs)
	}
	f.wantUserFile(byeData, "newer notes\n")
	rel, _ := filepath.Rel(f.home, beside)
	f.wantUserFile(filepath.Join(rel, "data/notes.txt"), "my notes\n")
	f.wantUserFile(filepath.Join(rel, "config/settings.ini"), "[ui]\ndark=true\n")
	if _, code = f.userCtl("app-data-restore", first, "org.test.Bye", "--overwrite"); code != 0 {
		t.Fatalf("app-data-restore --overwrite: exit %d", code)
	}
	f.wantUserFile(byeData, "my notes\n")
	// An app the snapshot holds no data of.
	if evs, code = f.userCtl("app-data-restore", first, "org.test.Nothing"); code != 1 || lastEvent(t, evs)["error"] != string(kerr.PathNotFound) {
		t.Errorf("app-data-restore of an app without data: exit %d %v", code, evs)
	}

	// The offline copy: its size first, then on.
	var want int64
	for _, r := range rootRows {
		want += int64(r.InstalledSize)
	}
	size := lastEvent(t, f.rootCtl(0, "flatpak-offline-size"))
	if n, _ := size["bytes"].(float64); int64(n) < want || want == 0 {
		t.Errorf("flatpak-offline-size: %v, want at least the user's apps' %d bytes", size, want)
	}
	f.rootCtl(0, "configure", "flatpak-offline=yes")
	if on, off := f.setting("Flatpak"), f.setting("FlatpakOffline"); !on || !off {
		t.Fatalf("after configure flatpak-offline=yes: Flatpak %v FlatpakOffline %v", on, off)
	}
	withOffline := f.backup()
	f.onDrive(func(mnt string) {
		// Plain files a person can read without Keepsake.
		txt, err := os.ReadFile(filepath.Join(mnt, "Keepsake", "testhost", withOffline, ".keepsake", "flatpak.txt"))
		if err != nil || !bytes.Contains(txt, []byte(fpHello)) || !bytes.Contains(txt, []byte(f.repo.URL)) {
			t.Errorf("flatpak.txt of %s: %v\n%s", withOffline, err, txt)
		}
		for who, uid := range map[string]uint32{"system": 0, "user-" + fpUser: f.uid} {
			cfg := filepath.Join(mnt, "Keepsake", "flatpak-offline", "testhost", who, ".ostree", "repo", "config")
			if fi, err := os.Stat(cfg); err != nil || fi.Sys().(*syscall.Stat_t).Uid != uid {
				t.Errorf("offline copy of %s: %v", who, err)
			}
		}
	})

	// No repository any more, no apps, no remotes.
	if err := os.Rename(f.repo.Dir, f.repo.Dir+".away"); err != nil {
		t.Fatal(err)
	}
	defer os.Rename(f.repo.Dir+".away", f.repo.Dir)
	for _, scope := range []string{"system", "user"} {
		f.fp(scope, "uninstall", "-y", "--noninteractive", "--all")
	}
	f.fp("system", "remote-delete", "--force", "local")
	f.fp("user", "remote-delete", "--force", "mine")

	// From the network it cannot work; one failure never stops the rest.
	job, err = s.client.RestoreFlatpaks(bg, fpProfile, "latest", nil, api.FlatpakRestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j, err = s.wait(job)
	if !kerr.Is(err, kerr.Failed) {
		t.Fatalf("restore with the repository gone: %v, want Failed", err)
	}
	wantResults(t, "restore with the repository gone", jobResults(j), map[string]string{
		"remote local": "installed", "app " + fpHello: "failed", "app " + fpBye: "failed",
		// Uninstalling left the override in place.
		"override org.test.Hello": "present",
	})
	// From the offline copy it does.
	job, err = s.client.RestoreFlatpaks(bg, fpProfile, "latest", nil, api.FlatpakRestoreOptions{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	if j, err = s.wait(job); err != nil {
		t.Fatalf("offline system restore: %v %v", err, j.Result)
	}
	if got := f.fp("system", "list", "--columns=ref,origin,active"); got != sysList {
		t.Errorf("flatpak --system list after the offline restore:\n%s\nbefore:\n%s", got, sysList)
	}
	evs, code = f.userCtl("flatpak-restore", "latest", "--offline", "--no-data")
	if ev := lastEvent(t, evs); code != 0 {
		t.Fatalf("the user's offline restore: exit %d %v", code, ev)
	} else if res := outcomes(ev); res["app "+fpBye] != "installed" {
		t.Errorf("the user's offline restore: %v", res)
	}
	if got := f.fp("user", "list", "--columns=ref,origin,active"); got != userList {
		t.Errorf("flatpak --user list after the offline restore:\n%s\nbefore:\n%s", got, userList)
	}

	// Disaster recovery with no service: keepsakectl --repo on the drive,
	// as root, lists what the snapshot recorded against this machine and
	// reinstalls the system installation from the offline copy.
	f.fp("system", "uninstall", "-y", "--noninteractive", "--all")
	f.onDrive(func(mnt string) {
		repoCtl := func(want int, args ...string) string {
			t.Helper()
			cmd := exec.Command(realfs.Build(t, "service/cmd/keepsakectl"), append([]string{"--repo", mnt, "--host", "testhost"}, args...)...)
			cmd.Env = append(os.Environ(), "FLATPAK_SYSTEM_DIR="+f.sysDir, "HOME="+f.rootHome, "DBUS_SYSTEM_BUS_ADDRESS="+s.bus.Address)
			var o, e bytes.Buffer
			cmd.Stdout, cmd.Stderr = &o, &e
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if code != want {
				t.Fatalf("keepsakectl --repo %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, o.String(), e.String())
			}
			return o.String()
		}
		rows := map[string]map[string]any{}
		for _, r := range jsonLines(t, repoCtl(0, "--json", "flatpaks", withOffline)) {
			rows[fmt.Sprint(r["installation"], " ", r["ref"])] = r
		}
		wantRows(t, "flatpaks --repo", f.rows(mapsOf(rows)), map[string]string{
			"system " + fpHello: "missing false", "system " + fpBye: "missing false", "system " + fpPlatform: "missing false",
			"user:" + fpUser + " " + fpBye: "same true", "user:" + fpUser + " " + fpPlatform: "same false",
		})
		out := repoCtl(0, "flatpak-restore", withOffline, "--offline")
		if !regexpMatch(`app\s+`+fpHello+`\s+installed`, out) {
			t.Errorf("keepsakectl --repo flatpak-restore --offline:\n%s", out)
		}
	})
	if got := f.fp("system", "list", "--columns=ref,origin,active"); got != sysList {
		t.Errorf("flatpak --system list after keepsakectl --repo flatpak-restore:\n%s\nbefore:\n%s", got, sysList)
	}

	// Flatpak backup off: the snapshot records no apps, and says so.
	f.rootCtl(0, "configure", "flatpak=no", "flatpak-offline=no")
	if on, off := f.setting("Flatpak"), f.setting("FlatpakOffline"); on || off {
		t.Fatalf("after configure flatpak=no flatpak-offline=no: Flatpak %v FlatpakOffline %v", on, off)
	}
	without := f.backup()
	_, err = s.client.Flatpaks(bg, fpProfile, without, api.ListOptions{})
	if !kerr.Is(err, kerr.NotFound) || !strings.Contains(err.Error(), "recorded no Flatpak apps") {
		t.Errorf("ListFlatpaks of a snapshot made with flatpak=no: %v", err)
	}
	if _, err := s.client.RestoreFlatpaks(bg, fpProfile, without, nil, api.FlatpakRestoreOptions{}); !kerr.Is(err, kerr.NotFound) {
		t.Errorf("RestoreFlatpaks of a snapshot made with flatpak=no: %v", err)
	}
	f.onDrive(func(mnt string) {
		if _, err := os.Stat(filepath.Join(mnt, "Keepsake", "testhost", without, ".keepsake", "flatpak.txt")); err == nil {
			t.Errorf("snapshot %s made with flatpak=no has a flatpak.txt", without)
		}
		if fstype != "btrfs" {
			return
		}
		// The snapshots the apps were restored from are read-only
		// subvolumes, the one without apps too.
		out, err := exec.Command("btrfs", "subvolume", "list", "-r", mnt).Output()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), "Keepsake/testhost/"+without) {
			t.Errorf("snapshot %s is not among the read-only subvolumes:\n%s", without, out)
		}
	})
}

// setting reads a boolean property of the profile.
func (f *fpFixture) setting(name string) bool {
	f.t.Helper()
	v, err := f.s.client.Conn().Object(dbusapi.BusName, client.ProfilePath(fpProfile)).GetProperty(dbusapi.ProfileInterface + "." + name)
	if err != nil {
		f.t.Fatal(err)
	}
	b, ok := v.Value().(bool)
	if !ok {
		f.t.Fatalf("property %s is %s", name, v.Signature())
	}
	return b
}

func mapsOf(m map[string]map[string]any) []map[string]any {
	var out []map[string]any
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// regexpMatch says whether s has a match of pattern (a table line).
func regexpMatch(pattern, s string) bool {
	return regexp.MustCompile(`(?m)` + pattern).MatchString(s)
}

// outcomes reads the outcomes of keepsakectl flatpak-restore's result
// event as "KIND REF": "installed", "present", "failed: why" or
// "restored to PATH", the words of the Job's Result.
func outcomes(ev map[string]any) map[string]any {
	m := map[string]any{}
	list, _ := ev["outcomes"].([]any)
	for _, x := range list {
		o, _ := x.(map[string]any)
		v := fmt.Sprint(o["outcome"])
		switch {
		case v == "restored":
			v = "restored to " + fmt.Sprint(o["to"])
		case v == "failed" && o["message"] != nil:
			v = "failed: " + fmt.Sprint(o["message"])
		}
		m[fmt.Sprint(o["kind"])+" "+fmt.Sprint(o["ref"])] = v
	}
	return m
}
