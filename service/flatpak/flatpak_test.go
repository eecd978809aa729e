package flatpak_test

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/flatpak"
	"github.com/keepsake/keepsake/service/internal/bustest"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/shared/kerr"
)

const (
	hello    = "app/org.test.Hello/x86_64/stable"
	bye      = "app/org.test.Bye/x86_64/stable"
	platform = "runtime/org.test.Platform/x86_64/1"
	// The test user, created once and kept (see bustest.User).
	testUser = "ksflatpak"
)

// built is the date of the test repository's commits.
var built = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fixture is a signed local repository with a runtime and two apps, a
// temporary system installation, and a user's installation with a private
// system bus (flatpak asks the bus about parental controls before
// installing an app for a user).
type fixture struct {
	dir  string // 0755, so the test user reaches the repository
	repo *realfs.FlatpakRepo
	opts flatpak.Options
	sys  flatpak.Installation
	user flatpak.Installation

	rootHome string // HOME of the flatpak commands the test runs as root
	bus      string // the private system bus
}

func newFixture(t *testing.T) *fixture {
	realfs.RequireRoot(t, "flatpak system installations and other users")
	realfs.RequireCommands(t, "flatpak", "gpg", "busybox", "tar", "bwrap")
	dir, err := os.MkdirTemp("", "keepsake-flatpak-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := &fixture{dir: dir}
	f.repo = realfs.NewFlatpakRepo(t, dir, "org.test.Keepsake")
	rt := f.repo.Runtime(t, "org.test.Platform", "1", built)
	f.repo.App(t, "org.test.Hello", "stable", strings.TrimPrefix(rt, "runtime/"), "1.2.3", built)
	f.repo.App(t, "org.test.Bye", "stable", strings.TrimPrefix(rt, "runtime/"), "", built)

	f.sys = flatpak.Installation{Scope: flatpak.ScopeSystem, User: "root", Dir: filepath.Join(dir, "system")}
	// flatpak as root also opens root's own installation (and flatpak run
	// its ~/.var): keep both in the test's directory.
	f.rootHome = filepath.Join(dir, "root-home")
	f.opts.Env = []string{"FLATPAK_SYSTEM_DIR=" + f.sys.Dir, "FLATPAK_USER_DIR=" + filepath.Join(f.rootHome, "flatpak")}
	bus := bustest.StartSystemBus(t)
	f.bus = bus.Address
	f.opts.Env = append(f.opts.Env, "DBUS_SYSTEM_BUS_ADDRESS="+bus.Address)
	uid, gid := bustest.User(t, testUser)
	u, err := user.Lookup(testUser)
	if err != nil {
		t.Fatal(err)
	}
	f.user = flatpak.Installation{Scope: flatpak.ScopeUser, User: testUser, UID: uid, GID: gid, Home: u.HomeDir,
		Dir: filepath.Join(u.HomeDir, ".local", "share", "flatpak")}
	// The user stays between runs: start from no installation.
	clean := func() {
		os.RemoveAll(f.user.Dir)
		os.RemoveAll(filepath.Join(u.HomeDir, ".var"))
	}
	clean()
	t.Cleanup(clean)
	return f
}

// fp runs flatpak on an installation the way a person would: as root for
// the system one, as the user (with its default directory) for theirs.
func (f *fixture) fp(t *testing.T, inst flatpak.Installation, args ...string) string {
	t.Helper()
	out, err := f.try(inst, args...)
	if err != nil {
		t.Fatalf("flatpak --%s %s: %v\n%s", inst.Scope, strings.Join(args, " "), err, out)
	}
	return out
}

func (f *fixture) try(inst flatpak.Installation, args ...string) (string, error) {
	cmd := exec.Command("flatpak", append([]string{"--" + inst.Scope}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "FLATPAK_SYSTEM_DIR=" + f.sys.Dir, "DBUS_SYSTEM_BUS_ADDRESS=" + f.bus}
	cmd.Dir = "/"
	if inst.Scope == flatpak.ScopeUser {
		// As the user, with the default directory of their HOME.
		cmd.Env = append(cmd.Env, "HOME="+inst.Home)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: inst.UID, Gid: inst.GID}}
	} else {
		cmd.Env = append(cmd.Env, "HOME="+f.rootHome, "FLATPAK_USER_DIR="+filepath.Join(f.rootHome, "flatpak"))
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// view is what a person checks with flatpak itself: refs with their
// origin and commit, remotes with their settings, overrides, pins, masks.
func (f *fixture) view(t *testing.T, inst flatpak.Installation, apps ...string) map[string]string {
	t.Helper()
	v := map[string]string{
		"list":    f.fp(t, inst, "list", "--columns=ref,origin,active,version"),
		"remotes": f.fp(t, inst, "remotes", "--show-disabled", "--columns=name,url,collection,title,filter,priority,options"),
		"global":  f.fp(t, inst, "override", "--show"),
		"pins":    f.fp(t, inst, "pin"),
		"masks":   f.fp(t, inst, "mask"),
	}
	for _, app := range apps {
		v["override "+app] = f.fp(t, inst, "override", "--show", app)
	}
	return v
}

func results(t *testing.T, rs []flatpak.Result) map[string]flatpak.Result {
	t.Helper()
	m := map[string]flatpak.Result{}
	for _, r := range rs {
		m[r.Kind+" "+r.Ref] = r
	}
	return m
}

func wantOutcomes(t *testing.T, what string, got []flatpak.Result, want map[string]string) {
	t.Helper()
	m := results(t, got)
	for k, outcome := range want {
		if r, ok := m[k]; !ok {
			t.Errorf("%s: no result for %s", what, k)
		} else if r.Outcome != outcome {
			t.Errorf("%s: %s %s (%s), want %s", what, k, r.Outcome, r.Message, outcome)
		}
	}
	if len(m) != len(want) {
		t.Errorf("%s: results %+v, want %v", what, got, want)
	}
}

func TestBackupAndRestore(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sys, usr := f.sys, f.user

	// What a person set up: a signed remote with a collection id and a
	// disabled one with a filter, two apps, an override of one app and of
	// all apps, a pinned runtime and a mask; in their own installation,
	// a signed remote without a collection id, an app and its override.
	filter := filepath.Join(f.dir, "extra.filter")
	writeFile(t, filter, "deny *\nallow org.test.*\n")
	f.fp(t, sys, "remote-add", "--gpg-import="+f.repo.KeyFile, "--collection-id=org.test.Keepsake", "--title=Local test repo", "local", f.repo.URL)
	f.fp(t, sys, "remote-add", "--no-gpg-verify", "--disable", "--prio=5", "--filter="+filter, "extra", "file:///nonexistent/repo")
	f.fp(t, sys, "install", "-y", "--noninteractive", "local", "org.test.Hello", "org.test.Bye")
	f.fp(t, sys, "override", "--filesystem=home", "org.test.Hello")
	f.fp(t, sys, "override", "--nofilesystem=host-os")
	f.fp(t, sys, "pin", platform)
	f.fp(t, sys, "mask", "org.test.Bad*")
	f.fp(t, usr, "remote-add", "--gpg-import="+f.repo.KeyFile, "mine", f.repo.URL)
	f.fp(t, usr, "install", "-y", "--noninteractive", "mine", "org.test.Bye")
	f.fp(t, usr, "override", "--socket=wayland", "org.test.Bye")
	sysBefore := f.view(t, sys, "org.test.Hello", "org.test.Bye")
	usrBefore := f.view(t, usr, "org.test.Bye")

	// Backup.
	insts, err := flatpak.Installations(ctx, flatpak.Options{Env: f.opts.Env, Users: []flatpak.Installation{{User: usr.User, UID: usr.UID, GID: usr.GID, Home: usr.Home}}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(insts, []flatpak.Installation{sys, usr}) {
		t.Fatalf("Installations: %+v, want %+v", insts, []flatpak.Installation{sys, usr})
	}
	var saved []flatpak.Inventory
	for _, inst := range insts {
		inv, err := flatpak.Collect(ctx, inst, f.opts)
		if err != nil {
			t.Fatalf("Collect %s: %v", inst.Scope, err)
		}
		saved = append(saved, inv)
	}
	checkSystemInventory(t, f, saved[0], filter)
	checkUserInventory(t, f, saved[1])

	text := flatpak.Text(saved)
	parsed, err := flatpak.ParseText(text)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(parsed, saved) {
		t.Fatalf("ParseText(Text(inventories)) differs:\ngot  %+v\nwant %+v", parsed, saved)
	}
	for i, inv := range parsed {
		for _, st := range flatpak.Compare(inv, saved[i]) {
			if st.State != flatpak.StateSame {
				t.Errorf("right after the backup %s is %s", st.Ref.Ref, st.State)
			}
		}
	}

	// Everything goes: apps, remotes, overrides, pin, mask.
	f.fp(t, sys, "uninstall", "-y", "--noninteractive", "--all")
	f.fp(t, sys, "remote-delete", "--force", "local")
	f.fp(t, sys, "remote-delete", "--force", "extra")
	f.fp(t, sys, "override", "--reset", "org.test.Hello")
	f.fp(t, sys, "override", "--reset")
	f.fp(t, sys, "pin", "--remove", platform)
	f.fp(t, sys, "mask", "--remove", "org.test.Bad*")
	f.fp(t, usr, "uninstall", "-y", "--noninteractive", "--all")
	f.fp(t, usr, "remote-delete", "--force", "mine")
	f.fp(t, usr, "override", "--reset", "org.test.Bye")
	if gone, err := flatpak.Collect(ctx, sys, f.opts); err != nil {
		t.Fatal(err)
	} else {
		for _, st := range flatpak.Compare(parsed[0], gone) {
			if st.State != flatpak.StateMissing {
				t.Errorf("after uninstalling %s is %s", st.Ref.Ref, st.State)
			}
		}
	}

	// Restore from the text form, as from a snapshot. The system
	// inventory also names an app its repository never had: it fails on
	// its own.
	sysInv := parsed[0]
	sysInv.Refs = append(sysInv.Refs, flatpak.Ref{Ref: "app/org.test.Gone/x86_64/stable", Kind: flatpak.KindApp, ID: "org.test.Gone", Arch: "x86_64", Branch: "stable", Origin: "local"})
	var progress []string
	got, err := flatpak.Restore(ctx, sysInv, flatpak.RestoreOptions{Options: f.opts, Progress: func(done, total int, ref string) {
		progress = append(progress, strings.Join([]string{strconv.Itoa(done), strconv.Itoa(total), ref}, " "))
	}})
	if err != nil {
		t.Fatal(err)
	}
	wantOutcomes(t, "system restore", got, map[string]string{
		"remote local": flatpak.OutcomeInstalled, "remote extra": flatpak.OutcomeInstalled,
		"runtime " + platform: flatpak.OutcomeInstalled, "app " + hello: flatpak.OutcomeInstalled, "app " + bye: flatpak.OutcomeInstalled,
		"app app/org.test.Gone/x86_64/stable": flatpak.OutcomeFailed,
		"override global":                     flatpak.OutcomeInstalled, "override org.test.Hello": flatpak.OutcomeInstalled,
		// Installing a runtime on its own pins it: already there.
		"pin " + platform: flatpak.OutcomePresent, "mask org.test.Bad*": flatpak.OutcomeInstalled,
	})
	if r := results(t, got)["app app/org.test.Gone/x86_64/stable"]; !strings.Contains(r.Message, "org.test.Gone") {
		t.Errorf("the failure does not say what failed: %q", r.Message)
	}
	wantProgress := []string{"1 4 " + platform, "2 4 " + bye, "3 4 " + hello, "4 4 app/org.test.Gone/x86_64/stable"}
	if !reflect.DeepEqual(progress, wantProgress) {
		t.Errorf("progress %q, want %q", progress, wantProgress)
	}
	got, err = flatpak.Restore(ctx, parsed[1], flatpak.RestoreOptions{Options: f.opts})
	if err != nil {
		t.Fatal(err)
	}
	wantOutcomes(t, "user restore", got, map[string]string{
		"remote mine": flatpak.OutcomeInstalled, "app " + bye: flatpak.OutcomeInstalled, "override org.test.Bye": flatpak.OutcomeInstalled,
	})

	// flatpak shows what it showed before the backup.
	for what, view := range map[string][2]map[string]string{
		"system": {sysBefore, f.view(t, sys, "org.test.Hello", "org.test.Bye")},
		"user":   {usrBefore, f.view(t, usr, "org.test.Bye")},
	} {
		for k, before := range view[0] {
			if after := view[1][k]; after != before {
				t.Errorf("%s %s after restore:\n%s\nbefore:\n%s", what, k, after, before)
			}
		}
	}
	// And so does a new inventory, GPG keys included.
	for i, inst := range insts {
		now, err := flatpak.Collect(ctx, inst, f.opts)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(now, saved[i]) {
			t.Errorf("%s inventory after restore:\n%+v\nbefore:\n%+v", inst.Scope, now, saved[i])
		}
	}
	// The user's files are the user's: the restore ran as them.
	for _, p := range []string{filepath.Join(usr.Dir, "overrides", "org.test.Bye"), filepath.Join(usr.Dir, "repo", "mine.trustedkeys.gpg")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != usr.UID || st.Gid != usr.GID {
			t.Errorf("%s is owned by %d:%d, want %d:%d", p, st.Uid, st.Gid, usr.UID, usr.GID)
		}
	}

	// A second restore finds everything in place.
	got, err = flatpak.Restore(ctx, parsed[0], flatpak.RestoreOptions{Options: f.opts})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if r.Outcome != flatpak.OutcomePresent {
			t.Errorf("second restore: %s %s %s (%s)", r.Kind, r.Ref, r.Outcome, r.Message)
		}
	}
	if d := flatpak.DataDir(usr.Home, "org.test.Bye"); d != filepath.Join(usr.Home, ".var", "app", "org.test.Bye") {
		t.Errorf("DataDir: %s", d)
	}

	// The user's installation is read as the user: links planted there to
	// files only root may read (overrides/ into a private directory, a
	// remote's filter) yield nothing.
	secretDir := filepath.Join(f.dir, "secret")
	if err := os.Mkdir(secretDir, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(secretDir, "org.secret.App"), "TOP SECRET\n")
	overrides := filepath.Join(usr.Dir, "overrides")
	if err := os.RemoveAll(overrides); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secretDir, overrides); err != nil {
		t.Fatal(err)
	}
	os.Lchown(overrides, int(usr.UID), int(usr.GID))
	config := filepath.Join(usr.Dir, "repo", "config")
	data, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, config, strings.Replace(string(data), "[remote \"mine\"]\n", "[remote \"mine\"]\nxa.filter="+secretDir+"/org.secret.App\n", 1))
	planted, err := flatpak.Collect(ctx, usr, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(planted.Remotes) != 1 || planted.Remotes[0].Filter == "" {
		t.Fatalf("the planted filter is not in the inventory: %+v", planted.Remotes)
	}
	if text := flatpak.Text([]flatpak.Inventory{planted}); strings.Contains(string(text), "TOP SECRET") || len(planted.Overrides) != 0 {
		t.Errorf("root's file leaked into the user's inventory:\n%s", text)
	}
}

func checkSystemInventory(t *testing.T, f *fixture, inv flatpak.Inventory, filter string) {
	t.Helper()
	if len(inv.Refs) != 3 {
		t.Fatalf("system refs: %+v", inv.Refs)
	}
	for _, ref := range inv.Refs {
		// What flatpak itself says of the ref.
		commit := strings.TrimSpace(f.fp(t, f.sys, "info", "--show-commit", ref.Ref))
		size := strings.TrimSpace(f.fp(t, f.sys, "info", "--show-size", ref.Ref))
		if ref.Commit != commit || strconv.FormatInt(ref.InstalledSize, 10) != size || ref.Origin != "local" || ref.Timestamp != built.Unix() {
			t.Errorf("%s: commit %s size %d origin %s date %d; flatpak info: commit %s size %s; built %d",
				ref.Ref, ref.Commit, ref.InstalledSize, ref.Origin, ref.Timestamp, commit, size, built.Unix())
		}
	}
	if inv.Refs[1].Ref != hello || inv.Refs[1].Version != "1.2.3" || inv.Refs[0].Ref != bye || inv.Refs[0].Version != "" || inv.Refs[2].Ref != platform {
		t.Errorf("refs and versions: %+v", inv.Refs)
	}
	key, _ := os.ReadFile(f.repo.KeyFile)
	if len(inv.Remotes) != 2 {
		t.Fatalf("remotes: %+v", inv.Remotes)
	}
	extra, local := inv.Remotes[0], inv.Remotes[1]
	if local.Name != "local" || local.URL != f.repo.URL || local.CollectionID != "org.test.Keepsake" || local.Title != "Local test repo" ||
		!local.GPGVerify || local.Disabled || len(local.GPGKey) < len(key)/2 {
		t.Errorf("remote local: %+v", local)
	}
	if extra.Name != "extra" || extra.URL != "file:///nonexistent/repo" || extra.GPGVerify || !extra.Disabled || extra.Priority != 5 ||
		extra.Filter != filter || extra.FilterText != "deny *\nallow org.test.*\n" || len(extra.GPGKey) != 0 {
		t.Errorf("remote extra: %+v", extra)
	}
	if !strings.Contains(inv.Overrides["org.test.Hello"], "filesystems=home;") || !strings.Contains(inv.Overrides["global"], "filesystems=!host-os;") || len(inv.Overrides) != 2 {
		t.Errorf("overrides: %q", inv.Overrides)
	}
	if !reflect.DeepEqual(inv.Pinned, []string{platform}) || !reflect.DeepEqual(inv.Masked, []string{"org.test.Bad*"}) {
		t.Errorf("pinned %q masked %q", inv.Pinned, inv.Masked)
	}
}

func checkUserInventory(t *testing.T, f *fixture, inv flatpak.Inventory) {
	t.Helper()
	// The runtime came from the system installation.
	if len(inv.Refs) != 1 || inv.Refs[0].Ref != bye || inv.Refs[0].Origin != "mine" || len(inv.Refs[0].Commit) != 64 {
		t.Errorf("user refs: %+v", inv.Refs)
	}
	if len(inv.Remotes) != 1 || inv.Remotes[0].URL != f.repo.URL || inv.Remotes[0].CollectionID != "" || len(inv.Remotes[0].GPGKey) == 0 {
		t.Errorf("user remotes: %+v", inv.Remotes)
	}
	if !strings.Contains(inv.Overrides["org.test.Bye"], "sockets=wayland;") {
		t.Errorf("user overrides: %q", inv.Overrides)
	}
}

// The offline copy: made with create-usb from a signed repository with a
// collection id, it reinstalls the apps once the repository is gone.
func TestOfflineCopy(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sys, usr := f.sys, f.user
	f.fp(t, sys, "remote-add", "--gpg-import="+f.repo.KeyFile, "--collection-id=org.test.Keepsake", "local", f.repo.URL)
	f.fp(t, sys, "remote-add", "--no-gpg-verify", "--disable", "plain", "file:///nonexistent/repo")
	f.fp(t, sys, "install", "-y", "--noninteractive", "local", "org.test.Hello")
	f.fp(t, usr, "remote-add", "--gpg-import="+f.repo.KeyFile, "--collection-id=org.test.Keepsake", "local", f.repo.URL)
	f.fp(t, usr, "install", "-y", "--noninteractive", "local", "org.test.Bye")

	// flatpak create-usb copies an app only with its runtime, from the
	// same installation: the user's app on the system's runtime is left
	// out, with the reason.
	userInv, err := flatpak.Collect(ctx, usr, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := flatpak.CreateUSB(ctx, userInv, filepath.Join(f.dir, "usb-partial"), f.opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(cp.Refs) != 0 || len(cp.Skipped) != 1 || cp.Skipped[0].Ref != bye || !strings.Contains(cp.Skipped[0].Message, platform+" not installed") {
		t.Errorf("copy of an app whose runtime is elsewhere: %+v", cp)
	}
	f.fp(t, usr, "install", "-y", "--noninteractive", "local", platform)

	invs := map[string]flatpak.Inventory{}
	for _, inst := range []flatpak.Installation{sys, usr} {
		inv, err := flatpak.Collect(ctx, inst, f.opts)
		if err != nil {
			t.Fatal(err)
		}
		invs[inst.Scope] = inv
	}
	// An app from a remote without a collection id cannot be copied.
	sysInv := invs["system"]
	sysInv.Refs = append(sysInv.Refs, flatpak.Ref{Ref: "app/org.test.Plain/x86_64/stable", Kind: flatpak.KindApp, Origin: "plain", InstalledSize: 1 << 30})
	var sum int64
	for _, ref := range invs["system"].Refs {
		sum += ref.InstalledSize
	}
	if est := flatpak.EstimateUSB(sysInv); est != sum || est == 0 {
		t.Errorf("EstimateUSB = %d, want the installed size of the copyable refs, %d", est, sum)
	}

	copies := map[string]string{"system": filepath.Join(f.dir, "usb-system"), "user": filepath.Join(f.dir, "usb-user")}
	cp, err = flatpak.CreateUSB(ctx, sysInv, copies["system"], f.opts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cp.Refs, []string{hello, platform}) || len(cp.Skipped) != 1 || cp.Skipped[0].Ref != "app/org.test.Plain/x86_64/stable" || cp.Size < 100<<10 {
		t.Errorf("system copy: %+v", cp)
	}
	cp, err = flatpak.CreateUSB(ctx, invs["user"], copies["user"], f.opts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cp.Refs, []string{bye, platform}) || len(cp.Skipped) != 0 || cp.Size == 0 {
		t.Errorf("user copy: %+v", cp)
	}
	// The user's copy was made by the user.
	cfg := filepath.Join(copies["user"], ".ostree", "repo", "config")
	if fi, err := os.Stat(cfg); err != nil {
		t.Fatal(err)
	} else if fi.Sys().(*syscall.Stat_t).Uid != usr.UID {
		t.Errorf("%s is not the user's", cfg)
	}

	// No apps, no remote, no repository.
	for _, inst := range []flatpak.Installation{sys, usr} {
		f.fp(t, inst, "uninstall", "-y", "--noninteractive", "--all")
		f.fp(t, inst, "remote-delete", "--force", "local")
	}
	if err := os.Rename(f.repo.Dir, f.repo.Dir+".away"); err != nil {
		t.Fatal(err)
	}

	// Without the copy: the remote comes back, the app cannot.
	got, err := flatpak.Restore(ctx, invs["system"], flatpak.RestoreOptions{Options: f.opts, Refs: []string{"org.test.Hello"}})
	if err != nil {
		t.Fatal(err)
	}
	wantOutcomes(t, "restore without the copy", got, map[string]string{
		"remote local": flatpak.OutcomeInstalled, "remote plain": flatpak.OutcomePresent, "app " + hello: flatpak.OutcomeFailed,
	})

	// With it, both installations get their apps back.
	for _, inv := range []flatpak.Inventory{invs["system"], invs["user"]} {
		scope := inv.Installation.Scope
		got, err := flatpak.Restore(ctx, inv, flatpak.RestoreOptions{Options: f.opts, SideloadRepo: copies[scope]})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"remote local": flatpak.OutcomePresent}
		// Apps, and runtimes installed on their own (which flatpak pins).
		for _, ref := range inv.Refs {
			if ref.Kind == flatpak.KindApp || slices.Contains(inv.Pinned, ref.Ref) {
				want[ref.Kind+" "+ref.Ref] = flatpak.OutcomeInstalled
			}
		}
		for _, p := range inv.Pinned {
			want["pin "+p] = flatpak.OutcomePresent
		}
		if scope == "system" {
			want["remote plain"] = flatpak.OutcomePresent
		} else {
			want["remote local"] = flatpak.OutcomeInstalled
		}
		wantOutcomes(t, scope+" restore from the copy", got, want)
	}
	if list := f.fp(t, sys, "list", "--columns=ref"); list != "org.test.Hello/x86_64/stable\norg.test.Platform/x86_64/1\n" {
		t.Errorf("system installation after the restore:\n%s", list)
	}
	if list := f.fp(t, usr, "list", "--columns=ref"); list != "org.test.Bye/x86_64/stable\norg.test.Platform/x86_64/1\n" {
		t.Errorf("user installation after the restore:\n%s", list)
	}
	if out := f.fp(t, sys, "run", "org.test.Hello"); !strings.Contains(out, "hello from org.test.Hello") {
		t.Errorf("the restored app does not run: %q", out)
	}
}

func TestNoFlatpak(t *testing.T) {
	insts, err := flatpak.Installations(context.Background(), flatpak.Options{Flatpak: "/nonexistent/flatpak"})
	if insts != nil || err != nil {
		t.Errorf("Installations without flatpak: %v, %v; want nothing", insts, err)
	}
	inst := flatpak.Installation{Scope: flatpak.ScopeSystem, Dir: "/var/lib/flatpak"}
	if _, err := flatpak.Collect(context.Background(), inst, flatpak.Options{Flatpak: "/nonexistent/flatpak"}); !kerr.Is(err, kerr.NotFound) {
		t.Errorf("Collect without flatpak: %v", err)
	}
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
