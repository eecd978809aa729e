package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keepsake/keepsake/service/cli"
)

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "usage: keepsakectl"},
		{"unknown command", []string{"--repo", "/x", "frobnicate"}, `unknown command "frobnicate"`},
		{"did you mean", []string{"snapshot"}, "Did you mean this?\n\tsnapshots"},
		{"drive-only command without --repo", []string{"init"}, "init works on a drive: add --repo DIR"},
		{"service command with --repo", []string{"--repo", "/x", "backup-now"}, "talks to the service: leave out --repo"},
		{"unknown option", []string{"--bogus"}, "unknown flag: --bogus"},
		{"unreadable time", []string{"--repo", "/x", "search", "x", "--since", "notatime"}, `--since: cannot read the time "notatime"`},
		{"sample over 100", []string{"verify", "--sample", "150"}, "sample is a percentage"},
		{"host without --repo", []string{"--host", "h", "snapshots"}, "--host picks a computer's backups on a drive"},
		{"backup without source", []string{"--repo", "/x", "backup"}, "at least one SOURCE"},
		{"restore without path", []string{"--repo", "/x", "restore", "latest"}, "restore SNAPSHOT PATH"},
		{"restore here and to the computer", []string{"--repo", "/x", "restore", "latest", "/a", "--to", "/b", "--to-computer"}, "a folder here or to the other computer, not both"},
		{"bad flag", []string{"--repo", "/x", "backup", "--nope", "/src"}, "backup: unknown flag: --nope"},
		{"flags after the command", []string{"snapshots", "--repo", "/x", "--json", "extra"}, "usage: keepsakectl snapshots"},
		{"prepare-drive without a device", []string{"prepare-drive"}, "usage: keepsakectl prepare-drive DEVICE"},
		{"prepare-drive, two devices", []string{"prepare-drive", "/dev/sdb", "/dev/sdc"}, "usage: keepsakectl prepare-drive DEVICE"},
		{"prepare-drive, unknown filesystem", []string{"prepare-drive", "/dev/sdb", "--filesystem", "vfat"}, `filesystem "vfat": a backup drive is made btrfs (the default) or ext4`},
		{"prepare-drive, ext4 label too long", []string{"prepare-drive", "/dev/sdb", "--filesystem", "ext4", "--label", "seventeen-bytes-x"}, "ext4 labels hold at most 16"},
		{"prepare-drive, not a device", []string{"prepare-drive", "backup.img", "--yes"}, `"backup.img" is not a device`},
		{"prepare-drive with --repo", []string{"--repo", "/x", "prepare-drive", "/dev/sdb"}, "talks to the service: leave out --repo"},
		{"remember on a drive directly", []string{"--repo", "/x", "unlock", "--remember"}, "--remember asks the service to keep the key: leave out --repo"},
		{"forget-key on a drive directly", []string{"--repo", "/x", "forget-key"}, "the service keeps remembered keys: leave out --repo"},
		{"enroll --remember without --encrypt", []string{"enroll", "KSDRIVE", "--remember"}, "--remember, --passphrase-file and --set-aside go with --encrypt"},
		{"passphrase on the command line", []string{"--repo", "/x", "unlock", "hunter22"}, "a passphrase is never an argument"},
		{"a passphrase flag", []string{"unlock", "--passphrase", "hunter22"}, "unknown flag: --passphrase"},
		{"passphrase file without --encrypt", []string{"--repo", "/x", "init", "--passphrase-file", "/p"}, "--passphrase-file goes with --encrypt"},
		{"no terminal to ask on", []string{"--repo", "/x", "unlock"}, "no terminal to ask for the passphrase on: use --passphrase-file"},
		{"no terminal for a recovery key", []string{"--repo", "/x", "unlock", "--recovery-key"}, "no terminal to ask for the passphrase on"},
		{"both passphrases from standard input", []string{"--repo", "/x", "change-passphrase", "--passphrase-file", "-", "--new-passphrase-file", "-"}, "only one of --passphrase-file and --new-passphrase-file"},
		{"unknown flag of unlock", []string{"--repo", "/x", "unlock", "--passphrase", "x"}, "unlock: unknown flag: --passphrase"},
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

func TestNotARepositoryIsNamed(t *testing.T) {
	out, errs, code := ctl(t, t.TempDir(), "--json", "snapshots")
	var e jsonError
	lastJSON(t, out, &e)
	if code != 1 || e.Event != "error" || e.Error != "NotARepository" || !strings.Contains(e.Message, "init") {
		t.Fatalf("exit %d, %+v %s", code, e, errs)
	}
}

func sample(t *testing.T) (drive, src string) {
	t.Helper()
	base := t.TempDir()
	drive, src = filepath.Join(base, "drive"), filepath.Join(base, "src")
	must(t, os.MkdirAll(drive, 0o755))
	must(t, os.MkdirAll(filepath.Join(src, "d"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "d", "a.txt"), []byte("a"), 0o644))
	must(t, os.WriteFile(filepath.Join(src, "b.txt"), []byte("bb"), 0o644))
	mustCtl(t, drive, "init")
	return drive, src
}

// --json backup prints progress events and one result; a script reads the
// last line.
func TestBackupJSONEvents(t *testing.T) {
	drive, src := sample(t)
	out := mustCtl(t, drive, "--json", "backup", src)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var events []string
	for _, l := range lines {
		var ev struct{ Event string }
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		events = append(events, ev.Event)
	}
	if events[0] != "progress" || events[len(events)-1] != "result" {
		t.Errorf("events %v: want progress first and result last", events)
	}
	var res struct {
		Event, Snapshot, Host  string
		Files, Dirs, Copied    int64
		CopiedBytes            int64 `json:"copied_bytes"`
		New, Unchanged, Linked int64
	}
	lastJSON(t, out, &res)
	if res.Host != "testhost" || res.Copied != 2 || res.CopiedBytes != 3 || res.New != 2 || res.Files != 2 {
		t.Errorf("result %+v", res)
	}
	lastJSON(t, mustCtl(t, drive, "--json", "backup", src), &res)
	if res.Unchanged != 2 || res.Linked != 2 || res.Copied != 0 {
		t.Errorf("second result %+v", res)
	}
}

// A dry run prints the plan; -v adds the paths.
func TestDryRunOutput(t *testing.T) {
	drive, src := sample(t)
	mustCtl(t, drive, "backup", src)
	must(t, os.WriteFile(filepath.Join(src, "c.txt"), []byte("new"), 0o644))
	must(t, os.Remove(filepath.Join(src, "b.txt")))
	out := mustCtl(t, drive, "-v", "backup", "--dry-run", src)
	for _, want := range []string{"Dry run", "new 1,", "deleted 1,", "unchanged 1,", "new       " + filepath.Join(src, "c.txt"), "deleted   " + filepath.Join(src, "b.txt")} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if s := snapshots(t, drive); len(s) != 1 {
		t.Errorf("dry run made a snapshot: %+v", s)
	}
}

// On a terminal a progress line is drawn on stderr and cleared at the end.
func TestProgressBarOnTerminal(t *testing.T) {
	drive, src := sample(t)
	var out, errb bytes.Buffer
	code := cli.Run(&cli.Env{Stdout: &out, Stderr: &errb, Terminal: true}, []string{"--repo", drive, "backup", src})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "\r\x1b[K") || !strings.Contains(errb.String(), "files") || !strings.Contains(errb.String(), "/s") {
		t.Errorf("no progress line on the terminal: %q", errb.String())
	}
	if strings.Contains(out.String(), "\x1b") {
		t.Error("escape codes leaked into stdout")
	}
	// With a previous snapshot to estimate from, the bar has a percentage
	// and an ETA.
	errb.Reset()
	if code := cli.Run(&cli.Env{Stdout: &out, Stderr: &errb, Terminal: true}, []string{"--repo", drive, "backup", src}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "%") || !strings.Contains(errb.String(), " left") || !strings.Contains(errb.String(), "[") {
		t.Errorf("no bar with time left on the second run: %q", errb.String())
	}
}

// --changed-dirs and --changed reject relative paths by name.
func TestChangedDirsValidation(t *testing.T) {
	for _, flag := range []string{"--changed-dirs", "--changed"} {
		t.Run(flag, func(t *testing.T) {
			drive, src := sample(t)
			list := filepath.Join(t.TempDir(), "list")
			must(t, os.WriteFile(list, []byte("relative/dir\n"), 0o644))
			out, _, code := ctl(t, drive, "--json", "backup", flag, list, src)
			var e jsonError
			lastJSON(t, out, &e)
			if code != 1 || e.Error != "InvalidArgs" || !strings.Contains(e.Message, flag+`: "relative/dir" is not an absolute path`) {
				t.Fatalf("exit %d %+v", code, e)
			}
		})
	}
}

// --changed looks at the entries it lists and their folders alone, as
// the service does with its watcher's journal: a listed file's new
// content is recorded; a file changed but not listed, in a folder not
// listed, keeps its old copy (the script said nothing changed there).
func TestChangedNames(t *testing.T) {
	drive, src := sample(t) // d/a.txt, b.txt
	mustCtl(t, drive, "backup", src)
	must(t, os.WriteFile(filepath.Join(src, "d", "a.txt"), []byte("a, changed"), 0o644))
	must(t, os.WriteFile(filepath.Join(src, "d", "new.txt"), []byte("new"), 0o644))
	must(t, os.WriteFile(filepath.Join(src, "b.txt"), []byte("b, not listed"), 0o644))
	list := filepath.Join(t.TempDir(), "list")
	must(t, os.WriteFile(list, []byte(filepath.Join(src, "d", "a.txt")+"\n"+filepath.Join(src, "d", "new.txt")+"\n"), 0o644))
	var res struct {
		Modified, New, Unchanged int64
		FullScan                 bool `json:"full_scan"`
	}
	lastJSON(t, mustCtl(t, drive, "--json", "backup", "--changed", list, src), &res)
	if res.Modified != 1 || res.New != 1 || res.FullScan {
		t.Errorf("result %+v: want 1 modified, 1 new, not a full scan", res)
	}
	latest := filepath.Join(drive, "Keepsake", "testhost", "latest", src)
	for rel, want := range map[string]string{"d/a.txt": "a, changed", "d/new.txt": "new", "b.txt": "bb"} {
		got, err := os.ReadFile(filepath.Join(latest, rel))
		if err != nil || string(got) != want {
			t.Errorf("%s in the snapshot: %q %v, want %q", rel, got, err, want)
		}
	}
}

func TestLsAndLogJSON(t *testing.T) {
	drive, src := sample(t)
	mustCtl(t, drive, "backup", src)
	var ls []struct {
		Name, Type, Mode, SHA256 string
		Size                     int64
	}
	lastJSON(t, mustCtl(t, drive, "--json", "ls", "latest", src), &ls)
	if len(ls) != 2 || ls[0].Name != "b.txt" || ls[0].Type != "file" || ls[0].Size != 2 || ls[0].Mode != "0644" || len(ls[0].SHA256) != 64 || ls[1].Type != "dir" {
		t.Errorf("ls %+v", ls)
	}
	var log []struct{ Action, User string }
	lastJSON(t, mustCtl(t, drive, "--json", "log"), &log)
	if len(log) != 2 || log[0].Action != "init" || log[1].Action != "backup" || log[1].User == "" {
		t.Errorf("log %+v", log)
	}
	out, _, code := ctl(t, drive, "--json", "ls", "2000-01-01T000000Z")
	var e jsonError
	lastJSON(t, out, &e)
	if code != 1 || e.Error != "SnapshotNotFound" {
		t.Errorf("unknown snapshot: %d %+v", code, e)
	}
}

// Exclusions from the command line and from a file, gitignore-style.
func TestBackupExclusions(t *testing.T) {
	drive, src := sample(t) // d/a.txt, b.txt
	must(t, os.WriteFile(filepath.Join(src, "skip.tmp"), []byte("t"), 0o644))
	must(t, os.MkdirAll(filepath.Join(src, "node_modules", "x"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "node_modules", "x", "y.js"), []byte("y"), 0o644))
	list := filepath.Join(t.TempDir(), "excludes")
	must(t, os.WriteFile(list, []byte("# build junk\nnode_modules/\n\n*.tmp\n"), 0o644))
	mustCtl(t, drive, "backup", "--exclude", "b.txt", "--exclude-from", list, src)
	var ls []struct{ Name string }
	lastJSON(t, mustCtl(t, drive, "--json", "ls", "latest", src), &ls)
	if len(ls) != 1 || ls[0].Name != "d" {
		t.Errorf("backed up %+v, want only d (b.txt, *.tmp and node_modules/ excluded)", ls)
	}
	out, _, code := ctl(t, drive, "--json", "backup", "--exclude", "a[", src)
	var e jsonError
	lastJSON(t, out, &e)
	if code != 1 || e.Error != "InvalidArgs" || !strings.Contains(e.Message, `"a["`) {
		t.Errorf("bad pattern: exit %d %+v", code, e)
	}
}

// Paths are taken from the current folder, as every command line tool
// does; --help is not a mistake.
func TestRelativePathsAndHelp(t *testing.T) {
	drive, src := sample(t)
	mustCtl(t, drive, "backup", src)
	var out, errb bytes.Buffer
	code := cli.Run(&cli.Env{Stdout: &out, Stderr: &errb, Cwd: filepath.Join(src, "d")},
		[]string{"--repo", drive, "--host", "testhost", "--json", "versions", "a.txt"})
	var vs []struct{ Paths []string }
	if code != 0 || json.Unmarshal(out.Bytes(), &vs) != nil || len(vs) != 1 || vs[0].Paths[0] != filepath.Join(src, "d", "a.txt") {
		t.Fatalf("versions a.txt from %s: exit %d %s %s", filepath.Join(src, "d"), code, out.String(), errb.String())
	}
	for _, args := range [][]string{{"--help"}, {"restore", "--help"}, {"--version"}} {
		out.Reset()
		if code := cli.Run(&cli.Env{Stdout: &out, Stderr: &errb}, args); code != 0 || out.Len() == 0 {
			t.Errorf("%v: exit %d, %q", args, code, out.String())
		}
	}
}
