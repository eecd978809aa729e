package usecase_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/flatpak"
	"github.com/keepsake/keepsake/service/internal/bustest"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/kerr"
)

const (
	fpHello    = "app/org.test.Hello/x86_64/stable"
	fpBye      = "app/org.test.Bye/x86_64/stable"
	fpPlatform = "runtime/org.test.Platform/x86_64/1"
	fpGhost    = "ks-nosuch-user" // a user this machine does not have
)

// fpDrive is a drive whose first snapshot recorded three installations
// (the system's, one of a user this machine lacks, one of "nobody") and
// whose second recorded none, read on a machine without flatpak.
type fpDrive struct {
	drive, home   string
	withApps, not string
	noFlatpak     usecase.FlatpakOptions
}

func newFPDrive(t *testing.T) fpDrive {
	t.Helper()
	base := t.TempDir()
	must(t, os.Chmod(base, 0o755))
	must(t, os.Chmod(filepath.Dir(base), 0o755))
	f := fpDrive{drive: filepath.Join(base, "drive"), home: filepath.Join(base, "home"),
		noFlatpak: usecase.FlatpakOptions{Flatpak: filepath.Join(base, "no-flatpak")}}
	must(t, os.MkdirAll(f.drive, 0o755))
	for p, mode := range map[string]os.FileMode{".var/app/org.test.Hello/config/hello.conf": 0o644, ".var/app/org.test.Bye/data/notes.txt": 0o600} {
		must(t, os.MkdirAll(filepath.Dir(filepath.Join(f.home, p)), 0o755))
		must(t, os.WriteFile(filepath.Join(f.home, p), []byte(p), mode))
	}
	must(t, os.Chmod(filepath.Join(f.home, ".var/app/org.test.Bye"), 0o700))
	commit := strings.Repeat("ab", 32)
	local := []flatpak.Remote{{Name: "local", URL: "file:///srv/repo"}}
	invs := []flatpak.Inventory{
		{Installation: flatpak.Installation{Scope: flatpak.ScopeSystem, User: "root", Dir: "/var/lib/flatpak"}, Remotes: local,
			Refs: []flatpak.Ref{
				{Ref: fpHello, Kind: flatpak.KindApp, ID: "org.test.Hello", Arch: "x86_64", Branch: "stable", Origin: "local", Commit: commit, Version: "1.2.3", InstalledSize: 4096},
				{Ref: fpPlatform, Kind: flatpak.KindRuntime, ID: "org.test.Platform", Arch: "x86_64", Branch: "1", Origin: "local", Commit: commit, InstalledSize: 1 << 20},
			}},
		{Installation: flatpak.Installation{Scope: flatpak.ScopeUser, User: fpGhost, UID: 4242, GID: 4242, Home: f.home, Dir: filepath.Join(f.home, ".local/share/flatpak")},
			Remotes: local, Refs: []flatpak.Ref{{Ref: fpBye, Kind: flatpak.KindApp, ID: "org.test.Bye", Arch: "x86_64", Branch: "stable", Origin: "local", Commit: commit}}},
		{Installation: flatpak.Installation{Scope: flatpak.ScopeUser, User: "nobody", UID: 65534, GID: 65534, Home: "/nonexistent", Dir: "/nonexistent/.local/share/flatpak"},
			Remotes: local, Refs: []flatpak.Ref{{Ref: fpBye, Kind: flatpak.KindApp, ID: "org.test.Bye", Arch: "x86_64", Branch: "stable", Origin: "local", Commit: commit}}},
	}
	d, err := usecase.InitDrive(f.drive, usecase.CurrentActor())
	must(t, err)
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	backup := func(extras []usecase.Extra) string {
		t.Helper()
		res, _, err := d.Backup(context.Background(), usecase.BackupRequest{Host: "old-box", Sources: []string{f.home}, Extras: extras,
			Actor: usecase.CurrentActor(), Now: func() time.Time { return at }})
		must(t, err)
		at = at.Add(time.Hour)
		return res.Snapshot
	}
	f.withApps = backup([]usecase.Extra{{Name: usecase.FlatpakFile, Data: flatpak.Text(invs)}})
	f.not = backup(nil)
	return f
}

// rowsOf indexes rows by "installation ref", with "state data".
func rowsOf(refs []api.FlatpakRef) map[string]string {
	m := map[string]string{}
	for _, r := range refs {
		m[r.Installation+" "+r.Ref] = r.State + " " + map[bool]string{true: "data", false: "-"}[r.Data]
	}
	return m
}

// What a snapshot recorded, beside what this machine has (nothing: it
// has no flatpak), for each caller only the installations they may see;
// app data found where it was backed up, if they may see it.
func TestListFlatpaks(t *testing.T) {
	f := newFPDrive(t)
	x := fixture{drive: f.drive}.open(t, usecase.OpenOptions{ThisHost: "new-box", ReadOnly: true})
	ctx := context.Background()
	root := usecase.Caller{UID: 0, Name: "root", Home: f.home, All: true}
	nobody := usecase.Caller{UID: 65534, GID: 65534, Name: "nobody", Home: f.home}
	other := usecase.Caller{UID: 4343, GID: 4343, Name: "other", Home: f.home}
	for _, tc := range []struct {
		name string
		c    usecase.Caller
		want map[string]string
	}{
		{"root sees every installation", root, map[string]string{
			"system " + fpHello: "missing data", "system " + fpPlatform: "missing -",
			"user:" + fpGhost + " " + fpBye: "missing data", "user:nobody " + fpBye: "missing -"}},
		{"a user sees the system's and their own", nobody, map[string]string{
			"system " + fpHello: "missing data", "system " + fpPlatform: "missing -", "user:nobody " + fpBye: "missing -"}},
		{"another user sees the system's", other, map[string]string{
			"system " + fpHello: "missing data", "system " + fpPlatform: "missing -"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refs, err := x.ListFlatpaks(ctx, tc.c, usecase.FlatpakListRequest{Snapshot: f.withApps, Flatpak: f.noFlatpak,
				Warn: func(err error) { t.Errorf("warned: %v", err) }})
			must(t, err)
			if got := rowsOf(refs); len(got) != len(tc.want) || !equalMaps(got, tc.want) {
				t.Errorf("rows %v, want %v", got, tc.want)
			}
			for _, r := range refs {
				if r.Ref == fpHello && (r.Version != "1.2.3" || r.Origin != "local" || r.InstalledSize != 4096 || r.Kind != "app" || r.ID != "org.test.Hello") {
					t.Errorf("Hello: %+v", r)
				}
			}
		})
	}
	_, err := x.ListFlatpaks(ctx, root, usecase.FlatpakListRequest{Snapshot: f.not, Flatpak: f.noFlatpak})
	if !kerr.Is(err, kerr.NotFound) || !strings.Contains(err.Error(), "recorded no Flatpak apps") {
		t.Errorf("a snapshot that recorded nothing: %v", err)
	}
}

func equalMaps(a, b map[string]string) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return len(a) == len(b)
}

// A restore is checked in two steps: the installation and who may
// restore it, then (once an administrator is settled) what it asks for.
func TestPlanFlatpakRestore(t *testing.T) {
	f := newFPDrive(t)
	x := fixture{drive: f.drive}.open(t, usecase.OpenOptions{ThisHost: "new-box", ReadOnly: true})
	ctx := context.Background()
	root := usecase.Caller{UID: 0, Name: "root", All: true}
	nobody := usecase.Caller{UID: 65534, GID: 65534, Name: "nobody"}
	other := usecase.Caller{UID: 4343, GID: 4343, Name: "other"}
	for _, tc := range []struct {
		name        string
		c           usecase.Caller
		q           usecase.FlatpakRestoreRequest
		planErr     kerr.Name
		inst        string
		admin       bool
		checkErr    kerr.Name
		checkSaying string
	}{
		{name: "root: the system's by default", c: root, inst: "system"},
		{name: "root: one app by id", c: root, q: usecase.FlatpakRestoreRequest{Refs: []string{"org.test.Hello", fpPlatform}}, inst: "system"},
		{name: "root: an app the snapshot lacks", c: root, q: usecase.FlatpakRestoreRequest{Refs: []string{"org.test.Nope"}}, inst: "system",
			checkErr: kerr.NotFound, checkSaying: "org.test.Nope was not installed in the system installation"},
		{name: "a user: their own by default", c: nobody, inst: "user:nobody"},
		{name: "a user: the system's", c: nobody, q: usecase.FlatpakRestoreRequest{Installation: "system"}, inst: "system", admin: true},
		{name: "a user: another's", c: other, q: usecase.FlatpakRestoreRequest{Installation: "user:nobody"}, inst: "user:nobody", admin: true},
		{name: "a user without one", c: other, planErr: kerr.NotFound},
		{name: "a user not on this machine", c: root, q: usecase.FlatpakRestoreRequest{Installation: "user:" + fpGhost}, inst: "user:" + fpGhost,
			checkErr: kerr.NotFound, checkSaying: "does not exist on this machine"},
		{name: "a bad installation", c: root, q: usecase.FlatpakRestoreRequest{Installation: "all"}, planErr: kerr.InvalidArgs},
		{name: "a bad ref", c: root, q: usecase.FlatpakRestoreRequest{Refs: []string{"a b"}}, planErr: kerr.InvalidArgs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.Snapshot, q.Flatpak = f.withApps, f.noFlatpak
			p, err := x.PlanFlatpakRestore(ctx, tc.c, q)
			if tc.planErr != "" {
				if !kerr.Is(err, tc.planErr) {
					t.Fatalf("plan: %v, want %s", err, tc.planErr)
				}
				return
			}
			must(t, err)
			if p.Installation != tc.inst || p.NeedsAdmin != tc.admin || p.Snapshot != f.withApps {
				t.Errorf("plan: %s, needs admin %v, snapshot %s; want %s, %v", p.Installation, p.NeedsAdmin, p.Snapshot, tc.inst, tc.admin)
			}
			err = p.Check()
			if tc.checkErr == "" && err != nil || tc.checkErr != "" && (!kerr.Is(err, tc.checkErr) || !strings.Contains(err.Error(), tc.checkSaying)) {
				t.Errorf("check: %v, want %s %q", err, tc.checkErr, tc.checkSaying)
			}
		})
	}
	if _, err := x.PlanFlatpakRestore(ctx, root, usecase.FlatpakRestoreRequest{Snapshot: f.not}); !kerr.Is(err, kerr.NotFound) {
		t.Errorf("a snapshot that recorded nothing: %v", err)
	}
}

// One app's data comes back as the caller, beside newer data unless
// overwrite; refused for an app the snapshot holds no data of, a caller
// without a home, and data the caller could not read.
func TestRestoreAppData(t *testing.T) {
	f := newFPDrive(t)
	x := fixture{drive: f.drive}.open(t, usecase.OpenOptions{ThisHost: "new-box"})
	ctx := context.Background()
	me := usecase.Caller{UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Name: "me", Home: f.home, All: os.Getuid() == 0}
	conf := filepath.Join(f.home, ".var/app/org.test.Hello/config/hello.conf")
	must(t, os.WriteFile(conf, []byte("newer"), 0o644))
	res, err := x.RestoreAppData(ctx, me, usecase.AppDataRequest{Snapshot: f.withApps, AppID: "org.test.Hello"})
	must(t, err)
	beside := string(res.Restored[0])
	if filepath.Dir(beside) != filepath.Join(f.home, ".var/app") || !strings.Contains(beside, " (restored ") || res.Snapshot != f.withApps {
		t.Fatalf("restore beside: %+v", res)
	}
	if b, _ := os.ReadFile(conf); string(b) != "newer" {
		t.Errorf("the newer data changed: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(beside, "config/hello.conf")); string(b) != ".var/app/org.test.Hello/config/hello.conf" {
		t.Errorf("the restored data: %q", b)
	}
	if _, err := x.RestoreAppData(ctx, me, usecase.AppDataRequest{Snapshot: f.withApps, AppID: "org.test.Hello", Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(conf); string(b) != ".var/app/org.test.Hello/config/hello.conf" {
		t.Errorf("after overwrite: %q", b)
	}

	for _, tc := range []struct {
		name   string
		c      usecase.Caller
		app    string
		want   kerr.Name
		saying string
	}{
		{"no data of it", me, "org.test.Nothing", kerr.PathNotFound, "holds no data of org.test.Nothing"},
		{"not an app id", me, "../../etc", kerr.InvalidArgs, "not a Flatpak app id"},
		{"no home", usecase.Caller{UID: 4343, Name: "other"}, "org.test.Hello", kerr.PathNotFound, "has no home folder"},
		{"data the caller could not read", usecase.Caller{UID: 4343, GID: 4343, Name: "other", Home: f.home}, "org.test.Bye", kerr.NotAuthorized, "may not restore"},
	} {
		_, err := x.CheckAppData(tc.c, usecase.AppDataRequest{Snapshot: f.withApps, AppID: tc.app})
		if !kerr.Is(err, tc.want) || !strings.Contains(err.Error(), tc.saying) {
			t.Errorf("%s: %v, want %s %q", tc.name, err, tc.want, tc.saying)
		}
	}
}

// The whole round on a real system installation: record it with a backup
// (and its offline copy), lose every app, its remote and the app's data
// and the network repository, then list and restore from the drive.
func TestFlatpakRoundTrip(t *testing.T) {
	realfs.RequireRoot(t, "a flatpak system installation")
	realfs.RequireCommands(t, "flatpak", "gpg", "busybox", "tar", "bwrap")
	// Not t.TempDir(): flatpak's helpers must reach the repository.
	dir, err := os.MkdirTemp("", "keepsake-usecase-fp-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	must(t, os.Chmod(dir, 0o755))
	repo := realfs.NewFlatpakRepo(t, dir, "org.test.Keepsake")
	built := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rt := strings.TrimPrefix(repo.Runtime(t, "org.test.Platform", "1", built), "runtime/")
	repo.App(t, "org.test.Hello", "stable", rt, "1.2.3", built)

	sysDir, rootHome := filepath.Join(dir, "system"), filepath.Join(dir, "root-home")
	must(t, os.MkdirAll(rootHome, 0o755))
	bus := bustest.StartSystemBus(t)
	env := []string{"HOME=" + rootHome, "FLATPAK_SYSTEM_DIR=" + sysDir, "FLATPAK_USER_DIR=" + filepath.Join(rootHome, "flatpak"), "DBUS_SYSTEM_BUS_ADDRESS=" + bus.Address}
	// Only the system installation: this machine's users are not the test's.
	opts := usecase.FlatpakOptions{Env: env, Users: []flatpak.Installation{}}
	fp := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("flatpak", append([]string{"--system"}, args...)...)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "HOME=" + rootHome}, env...)
		cmd.Dir = "/"
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("flatpak %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	fp("remote-add", "--gpg-import="+repo.KeyFile, "--collection-id=org.test.Keepsake", "local", repo.URL)
	fp("install", "-y", "--noninteractive", "local", "org.test.Hello")
	before := fp("list", "--columns=ref,origin,active")

	home := filepath.Join(dir, "home")
	conf := filepath.Join(home, ".var/app/org.test.Hello/config/hello.conf")
	must(t, os.MkdirAll(filepath.Dir(conf), 0o755))
	must(t, os.WriteFile(conf, []byte("greeting=hi\n"), 0o644))
	me := usecase.Caller{UID: 0, Name: "root", Home: home, All: true}

	ctx := context.Background()
	rec := usecase.RecordFlatpaks(ctx, []string{home}, opts)
	if got := rec.Installations(); len(got) != 1 || got[0] != "system" || len(rec.Warnings) != 0 {
		t.Fatalf("recorded %v, warnings %v", got, rec.Warnings)
	}
	if rec.OfflineSize() == 0 {
		t.Errorf("no offline size")
	}
	drive := filepath.Join(dir, "drive")
	must(t, os.MkdirAll(drive, 0o755))
	d, err := usecase.InitDrive(drive, me.Actor())
	must(t, err)
	_, _, err = d.Backup(ctx, usecase.BackupRequest{Host: "box", Sources: []string{home}, Extras: rec.Extras(), Actor: me.Actor()})
	must(t, err)
	if w := d.UpdateFlatpakOffline(ctx, "box", rec, opts); len(w) != 0 {
		t.Fatalf("offline copy: %v", w)
	}
	if _, err := os.Stat(filepath.Join(drive, "Keepsake", "flatpak-offline", "box", "system", ".ostree", "repo", "config")); err != nil {
		t.Fatalf("the offline copy: %v", err)
	}

	// Everything gone, and the network with it.
	fp("uninstall", "-y", "--noninteractive", "--all")
	fp("remote-delete", "--force", "local")
	must(t, os.RemoveAll(filepath.Join(home, ".var")))
	must(t, os.Rename(repo.Dir, repo.Dir+".away"))
	defer os.Rename(repo.Dir+".away", repo.Dir)

	x := fixture{drive: drive}.open(t, usecase.OpenOptions{ThisHost: "box"})
	list := func(what string, want map[string]string) {
		t.Helper()
		refs, err := x.ListFlatpaks(ctx, me, usecase.FlatpakListRequest{Snapshot: "latest", Flatpak: opts})
		must(t, err)
		if got := rowsOf(refs); !equalMaps(got, want) {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	list("after losing the apps", map[string]string{"system " + fpHello: "missing data", "system " + fpPlatform: "missing -"})

	p, err := x.PlanFlatpakRestore(ctx, me, usecase.FlatpakRestoreRequest{Snapshot: "latest", Offline: true, Data: true, Flatpak: opts})
	must(t, err)
	must(t, p.Check())
	var phases []string
	installed := 0
	out, err := p.Run(ctx, usecase.FlatpakProgress{Phase: func(s string) { phases = append(phases, s) },
		Installed: func(done, total int, ref string) { installed = done }})
	must(t, err)
	got := map[string]string{}
	for _, o := range out.Outcomes {
		got[o.Kind+" "+string(o.Ref)] = o.Outcome + " " + o.Message + string(o.To)
	}
	want := map[string]string{"remote local": "installed ", "app " + fpHello: "installed ",
		"data " + filepath.Join(home, ".var/app/org.test.Hello"): "restored " + filepath.Join(home, ".var/app/org.test.Hello")}
	for k, w := range want {
		if !strings.HasPrefix(got[k], w) {
			t.Errorf("%s: %q, want %q…", k, got[k], w)
		}
	}
	if _, failed := out.Counts(); failed != 0 || out.Outcomes[0].Kind != "remote" || out.Outcomes[len(out.Outcomes)-1].Kind != api.KindData {
		t.Errorf("outcomes %v", got)
	}
	if strings.Join(phases, ",") != "installing,restoring app data" || installed != 1 {
		t.Errorf("phases %v, %d installed", phases, installed)
	}
	if after := fp("list", "--columns=ref,origin,active"); after != before {
		t.Errorf("flatpak list after the restore:\n%s\nbefore:\n%s", after, before)
	}
	if b, err := os.ReadFile(conf); err != nil || string(b) != "greeting=hi\n" {
		t.Errorf("the app's data: %q %v", b, err)
	}
	list("after the restore", map[string]string{"system " + fpHello: "same data", "system " + fpPlatform: "same -"})
}
