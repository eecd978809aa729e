package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/cli"
	"github.com/keepsake/keepsake/service/engine"
	"github.com/keepsake/keepsake/service/flatpak"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/service/repo"
)

func TestFlatpakUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"restore without snapshot", []string{"--repo", "/x", "flatpak-restore"}, "flatpak-restore SNAPSHOT"},
		{"bad installation", []string{"--repo", "/x", "flatpak-restore", "latest", "--installation", "bogus"}, `--installation is "system" or "user:NAME"`},
		{"user without a name", []string{"--repo", "/x", "flatpak-restore", "latest", "--installation=user:"}, `--installation is "system" or "user:NAME"`},
		{"two snapshots", []string{"--repo", "/x", "flatpaks", "a", "b"}, "flatpaks [SNAPSHOT]"},
		{"not an app id", []string{"--repo", "/x", "app-data-restore", "latest", "../etc"}, "is not a Flatpak app id"},
		{"service-only size with --repo", []string{"--repo", "/x", "flatpak-offline-size"}, "talks to the service: leave out --repo"},
		{"unknown option", []string{"--repo", "/x", "flatpak-restore", "latest", "--data"}, "flatpak-restore: unknown flag: --data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := cli.Run(&cli.Env{Stdout: &out, Stderr: &errb}, tt.args)
			if code != cli.ExitUsage || !strings.Contains(errb.String(), tt.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errb.String(), cli.ExitUsage, tt.want)
			}
		})
	}
}

// flatpakRow is a line of `flatpaks --json`.
type flatpakRow struct {
	Installation, Ref, Kind, ID, Branch, Origin, Version, State string
	InstalledVersion                                            string `json:"installed_version"`
	Data                                                        bool
}

// A drive whose snapshot recorded a system installation and the
// installation of a user this machine does not have, read with --repo on a
// machine with no Flatpak apps at all.
func TestRepoFlatpaks(t *testing.T) {
	base := t.TempDir()
	drive := filepath.Join(base, "drive")
	must(t, os.MkdirAll(drive, 0o755))
	mustCtl(t, drive, "init")
	// This machine's system installation: empty.
	sysDir := filepath.Join(base, "system")
	must(t, os.MkdirAll(sysDir, 0o755))
	t.Setenv("FLATPAK_SYSTEM_DIR", sysDir)

	home := filepath.Join(base, "home", "ann")
	for _, p := range []string{".var/app/org.test.Bye/data/notes.txt", "Documents/a.txt"} {
		must(t, os.MkdirAll(filepath.Dir(filepath.Join(home, p)), 0o755))
		must(t, os.WriteFile(filepath.Join(home, p), []byte(p), 0o644))
	}
	const (
		hello    = "app/org.test.Hello/x86_64/stable"
		bye      = "app/org.test.Bye/x86_64/stable"
		platform = "runtime/org.test.Platform/x86_64/1"
		annUser  = "ks-nosuch-user"
	)
	commit := strings.Repeat("ab", 32)
	local := []flatpak.Remote{{Name: "local", URL: "file:///srv/repo", GPGVerify: false}}
	invs := []flatpak.Inventory{
		{Installation: flatpak.Installation{Scope: flatpak.ScopeSystem, User: "root", Dir: "/var/lib/flatpak"}, Remotes: local,
			Refs: []flatpak.Ref{
				{Ref: hello, Kind: flatpak.KindApp, ID: "org.test.Hello", Arch: "x86_64", Branch: "stable", Origin: "local", Commit: commit, Version: "1.2.3", InstalledSize: 4096},
				{Ref: platform, Kind: flatpak.KindRuntime, ID: "org.test.Platform", Arch: "x86_64", Branch: "1", Origin: "local", Commit: commit, InstalledSize: 1 << 20},
			}},
		{Installation: flatpak.Installation{Scope: flatpak.ScopeUser, User: annUser, UID: 4242, GID: 4242, Home: home, Dir: filepath.Join(home, ".local/share/flatpak")},
			Remotes: local,
			Refs:    []flatpak.Ref{{Ref: bye, Kind: flatpak.KindApp, ID: "org.test.Bye", Arch: "x86_64", Branch: "stable", Origin: "local", Commit: commit}}},
	}
	r, err := repo.Open(drive)
	must(t, err)
	when := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	backup := func(extras []engine.Extra) string {
		t.Helper()
		res, err := engine.Backup(context.Background(), r, engine.BackupOptions{Host: "testhost", Sources: []string{home}, Extras: extras,
			Now: func() time.Time { return when }})
		must(t, err)
		when = when.Add(time.Hour)
		return res.Snapshot
	}
	withApps := backup([]engine.Extra{{Name: "flatpak.txt", Data: flatpak.Text(invs)}})
	without := backup(nil)

	out := mustCtl(t, drive, "--json", "flatpaks", withApps)
	rows := map[string]flatpakRow{}
	var list []flatpakRow
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("not a JSON list: %q", out)
	}
	for _, row := range list {
		rows[row.Installation+" "+row.Ref] = row
	}
	want := map[string]string{
		// Nothing is installed here; the user's data is in the snapshot,
		// found in the home they had.
		"system " + hello:             "missing 1.2.3 false",
		"system " + platform:          "missing  false",
		"user:" + annUser + " " + bye: "missing  true",
	}
	for k, w := range want {
		row, ok := rows[k]
		if got := row.State + " " + row.Version + " " + map[bool]string{true: "true", false: "false"}[row.Data]; !ok || got != w {
			t.Errorf("%s: %q (%+v), want %q", k, got, row, w)
		}
	}
	if len(rows) != len(want) {
		t.Errorf("rows %v, want %d", rows, len(want))
	}

	// The table a person reads.
	out = mustCtl(t, drive, "flatpaks", withApps)
	for _, s := range []string{"INSTALLATION", "org.test.Hello", "1.2.3", "missing", "user:" + annUser} {
		if !strings.Contains(out, s) {
			t.Errorf("flatpaks table lacks %q:\n%s", s, out)
		}
	}

	// A snapshot that recorded nothing says so.
	_, errOut, code := ctl(t, drive, "flatpaks", without)
	if code != 1 || !strings.Contains(errOut, "recorded no Flatpak apps") {
		t.Errorf("flatpaks of a snapshot without apps: exit %d %q", code, errOut)
	}
	var e jsonError
	out, _, _ = ctl(t, drive, "--json", "flatpaks", without)
	if lastJSON(t, out, &e); e.Error != "NotFound" {
		t.Errorf("--json error: %+v", e)
	}

	// Restores that cannot start say why.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"flatpak-restore", withApps, "--installation", "user:" + annUser}, "does not exist on this machine"},
		{[]string{"flatpak-restore", withApps, "--installation", "user:bob"}, `recorded no Flatpak installation "user:bob"`},
		{[]string{"flatpak-restore", without, "--installation", "system"}, "recorded no Flatpak apps"},
	} {
		_, errOut, code := ctl(t, drive, tc.args...)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("keepsakectl %v: exit %d %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
	t.Run("an app the snapshot lacks, as root", func(t *testing.T) {
		realfs.RequireRoot(t, "restoring to the system installation")
		_, errOut, code := ctl(t, drive, "flatpak-restore", withApps, "org.test.Nope")
		if code != 1 || !strings.Contains(errOut, "org.test.Nope was not installed") {
			t.Errorf("restoring an app the snapshot lacks: exit %d %q", code, errOut)
		}
	})
	// Last: as root it hands the drive to another user.
	t.Run("the system installation, as a user", func(t *testing.T) {
		const want = "keepsakectl: restoring the system installation needs root: run keepsakectl as root\n"
		if os.Geteuid() != 0 {
			_, errOut, code := ctl(t, drive, "flatpak-restore", withApps, "--installation", "system")
			if code != 1 || errOut != want {
				t.Errorf("restoring the system installation as a user: exit %d %q, want %q", code, errOut, want)
			}
			return
		}
		// As root: keepsakectl itself, run as nobody on a drive nobody
		// owns (a user's own stick: its catalog must be theirs to open).
		realfs.RequireCommands(t, "setpriv")
		bin := realfs.Build(t, "service/cmd/keepsakectl")
		must(t, os.Chmod(bin, 0o755))
		must(t, os.Chmod(filepath.Dir(bin), 0o755))
		for p := base; p != os.TempDir() && p != "/"; p = filepath.Dir(p) {
			must(t, os.Chmod(p, 0o755)) // the test's own folders, 0700 from t.TempDir
		}
		must(t, filepath.Walk(drive, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, 65534, 65534)
		}))
		cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
			bin, "--repo", drive, "--host", "testhost", "flatpak-restore", withApps, "--installation", "system")
		cmd.Dir = "/"
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || stderr.String() != want {
			t.Errorf("restoring the system installation as nobody: %v %q, want exit 1 and %q", err, stderr.String(), want)
		}
	})
}
