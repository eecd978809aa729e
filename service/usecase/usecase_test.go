package usecase_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/grammar"
	"github.com/keepsake/keepsake/shared/kerr"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// fixture is a drive with two snapshots of one source as host "old-box":
// report.txt modified between them, gone.txt deleted, a private file.
type fixture struct {
	drive, src string
	snaps      []string
	me         usecase.Caller
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	base := t.TempDir()
	// Other users must be able to reach the source, as in a home folder.
	must(t, os.Chmod(base, 0o755))
	must(t, os.Chmod(filepath.Dir(base), 0o755))
	f := fixture{drive: filepath.Join(base, "drive"), src: filepath.Join(base, "src")}
	must(t, os.MkdirAll(f.drive, 0o755))
	must(t, os.MkdirAll(filepath.Join(f.src, "docs"), 0o755))
	write := func(rel, s string, mode os.FileMode) {
		must(t, os.WriteFile(filepath.Join(f.src, rel), []byte(s), mode))
	}
	write("docs/report.txt", "first draft", 0o644)
	write("gone.txt", "soon deleted", 0o644)
	write("caf\xe9.txt", "latin-1 name", 0o644)
	write("secret.txt", "private", 0o600)
	d, err := usecase.InitDrive(f.drive, usecase.CurrentActor())
	must(t, err)
	ctx := context.Background()
	at := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	backup := func() {
		t.Helper()
		res, _, err := d.Backup(ctx, usecase.BackupRequest{Host: "old-box", Sources: []string{f.src}, Actor: usecase.CurrentActor(),
			Now: func() time.Time { return at }})
		must(t, err)
		f.snaps = append(f.snaps, res.Snapshot)
	}
	backup()
	write("docs/report.txt", "second draft, longer", 0o644)
	must(t, os.Remove(filepath.Join(f.src, "gone.txt")))
	at = at.Add(26 * time.Hour)
	backup()
	f.me = usecase.Caller{UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), All: os.Getuid() == 0}
	return f
}

func (f fixture) open(t *testing.T, o usecase.OpenOptions) *usecase.Repo {
	t.Helper()
	x, err := usecase.Open(f.drive, o)
	must(t, err)
	t.Cleanup(func() { x.Close() })
	x.Now = func() time.Time { return time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC) }
	return x
}

// On a machine with another name, a drive holding one host is that host's.
func TestOpenPicksTheOnlyHost(t *testing.T) {
	f := newFixture(t)
	x := f.open(t, usecase.OpenOptions{ThisHost: "new-box", ReadOnly: true})
	if x.Host != "old-box" {
		t.Fatalf("host %q, want old-box", x.Host)
	}
	snaps, err := x.Snapshots(false)
	must(t, err)
	if len(snaps) != 2 || snaps[0].Name != f.snaps[0] || snaps[1].Host != "old-box" {
		t.Fatalf("snapshots %+v", snaps)
	}
}

// With several hosts and none called like this machine, the error names
// them and says how to pick.
func TestOpenNamesTheHosts(t *testing.T) {
	f := newFixture(t)
	d, err := usecase.OpenDrive(f.drive)
	must(t, err)
	_, _, err = d.Backup(context.Background(), usecase.BackupRequest{Host: "laptop", Sources: []string{f.src}, Actor: usecase.CurrentActor()})
	must(t, err)
	_, err = usecase.Open(f.drive, usecase.OpenOptions{ThisHost: "new-box"})
	if !kerr.Is(err, kerr.InvalidArgs) || !strings.Contains(err.Error(), "laptop, old-box") || !strings.Contains(err.Error(), "--host") {
		t.Fatalf("err %v", err)
	}
	x := f.open(t, usecase.OpenOptions{ThisHost: "laptop"})
	if x.Host != "laptop" {
		t.Fatalf("this machine's own host should win: %q", x.Host)
	}
}

// Snapshots are named by name, "latest", or a time as people type it: the
// newest snapshot at or before it.
func TestSnapshotByTime(t *testing.T) {
	f := newFixture(t)
	x := f.open(t, usecase.OpenOptions{ThisHost: "old-box"})
	for _, c := range []struct{ in, want string }{
		{"latest", f.snaps[1]},
		{f.snaps[0], f.snaps[0]},
		{"2026-11-30", ""}, // its start: before the first snapshot
		{"2026-11-30T12:00", f.snaps[0]},
		{"2026-12-01T11:00", f.snaps[0]}, // local zone of the clock: UTC here
		{"yesterday", f.snaps[0]},
		{"today", f.snaps[1]},
		{"3d", ""},
		{"now", f.snaps[1]},
	} {
		s, err := x.Snapshot(c.in)
		if c.want == "" {
			if !kerr.Is(err, kerr.SnapshotNotFound) || !strings.Contains(err.Error(), c.in) {
				t.Errorf("%q: %v %v, want SnapshotNotFound naming it", c.in, s.Name, err)
			}
			continue
		}
		if err != nil || s.Name != c.want {
			t.Errorf("%q: %q %v, want %q", c.in, s.Name, err, c.want)
		}
	}
}

func TestQueries(t *testing.T) {
	f := newFixture(t)
	x := f.open(t, usecase.OpenOptions{ThisHost: "old-box", ReadOnly: true})
	report := filepath.Join(f.src, "docs", "report.txt")

	ls, err := x.List(f.me, usecase.ListRequest{Snapshot: "latest", Dir: f.src})
	must(t, err)
	var names []string
	for _, e := range ls {
		names = append(names, string(e.Name))
	}
	if got := strings.Join(names, ","); got != "caf\xe9.txt,docs,secret.txt" {
		t.Fatalf("ls %q", got)
	}
	one, err := x.List(f.me, usecase.ListRequest{Snapshot: "latest", Dir: report})
	must(t, err)
	if len(one) != 1 || one[0].Size != uint64(len("second draft, longer")) || one[0].Mode != 0o644 || one[0].Type != api.TypeFile {
		t.Fatalf("ls of a file: %+v", one)
	}

	hits, err := x.Search(f.me, usecase.SearchRequest{Pattern: "report"})
	must(t, err)
	if len(hits) != 2 || string(hits[0].Path) != report || hits[0].First.IsZero() {
		t.Fatalf("search: %+v", hits)
	}
	if _, err := x.Search(f.me, usecase.SearchRequest{Pattern: "x", Limit: 10001}); !kerr.Is(err, kerr.InvalidArgs) {
		t.Fatalf("limit 10001: %v", err)
	}

	vs, err := x.Versions(f.me, report)
	must(t, err)
	if len(vs) != 2 || vs[0].Size != uint64(len("second draft, longer")) || vs[1].Snapshots[0] != f.snaps[0] {
		t.Fatalf("versions: %+v", vs)
	}

	gone, err := x.Deleted(f.me, f.src, time.Time{})
	must(t, err)
	if len(gone) != 1 || string(gone[0].Name) != "gone.txt" || gone[0].LastSnapshot != f.snaps[0] {
		t.Fatalf("deleted: %+v", gone)
	}

	// A file named in Latin-1 is found and listed by its exact bytes.
	latin, err := x.Versions(f.me, filepath.Join(f.src, "caf\xe9.txt"))
	must(t, err)
	if len(latin) != 1 || string(latin[0].Paths[0]) != filepath.Join(f.src, "caf\xe9.txt") {
		t.Fatalf("versions of a Latin-1 name: %+v", latin)
	}
}

// Another user sees only what they could read: not the private file, and
// restoring it is refused by name.
func TestScopeOfAnotherUser(t *testing.T) {
	f := newFixture(t)
	x := f.open(t, usecase.OpenOptions{ThisHost: "old-box", ReadOnly: true})
	other := usecase.Caller{UID: 4242, GID: 4242, Name: "other"}
	ls, err := x.List(other, usecase.ListRequest{Snapshot: "latest", Dir: f.src})
	must(t, err)
	for _, e := range ls {
		if e.Name == "secret.txt" {
			t.Fatalf("another user sees the private file: %+v", ls)
		}
	}
	hits, err := x.Search(other, usecase.SearchRequest{Pattern: "secret"})
	must(t, err)
	if len(hits) != 0 {
		t.Fatalf("another user finds the private file: %+v", hits)
	}
	_, err = x.CheckRestore(other, usecase.RestoreRequest{Snapshot: "latest", Paths: []string{filepath.Join(f.src, "secret.txt")}})
	if !kerr.Is(err, kerr.NotAuthorized) {
		t.Fatalf("restore of another's private file: %v", err)
	}
}

func TestRestorePruneVerify(t *testing.T) {
	f := newFixture(t)
	x := f.open(t, usecase.OpenOptions{ThisHost: "old-box"})
	ctx := context.Background()
	to := t.TempDir()
	res, err := x.Restore(ctx, f.me, usecase.RestoreRequest{Snapshot: "yesterday", Paths: []string{filepath.Join(f.src, "docs", "report.txt")}, To: to})
	must(t, err)
	data, err := os.ReadFile(filepath.Join(to, "report.txt"))
	must(t, err)
	if string(data) != "first draft" || res.Snapshot != f.snaps[0] || string(res.Restored[0]) != filepath.Join(to, "report.txt") || res.Files != 1 {
		t.Fatalf("restore: %+v, %q", res, data)
	}
	if _, err := x.Restore(ctx, f.me, usecase.RestoreRequest{Snapshot: "latest", Paths: []string{"docs/report.txt"}}); !kerr.Is(err, kerr.InvalidArgs) {
		t.Fatalf("a relative path: %v", err)
	}

	// Sending back to another computer: this computer's own snapshot is
	// not one, and without the service's sender there is nothing to send
	// with; neither calls the sender.
	sent := false
	send := &usecase.Sender{To: mustRemote(t, "ssh://me@laptop/home/me/Restored"),
		Send: func(context.Context, string, []string, func(int64)) (int64, int64, error) {
			sent = true
			return 0, 0, nil
		}}
	for name, q := range map[string]usecase.RestoreRequest{
		"this computer's snapshot": {Snapshot: "latest", Paths: []string{filepath.Join(f.src, "docs")}, ToComputer: true, Send: send},
		"no sender":                {Snapshot: "latest", Paths: []string{filepath.Join(f.src, "docs")}, ToComputer: true},
		"here and there":           {Snapshot: "latest", Paths: []string{filepath.Join(f.src, "docs")}, ToComputer: true, Send: send, To: to},
	} {
		if _, err := x.Restore(ctx, f.me, q); !kerr.Is(err, kerr.InvalidArgs) || sent {
			t.Errorf("%s: %v (sent %v), want InvalidArgs and nothing sent", name, err, sent)
		}
	}

	vr, _, err := x.Verify(ctx, usecase.VerifyRequest{})
	must(t, err)
	if vr.Files == 0 || len(vr.Damaged) != 0 || len(vr.CatalogProblems) != 0 {
		t.Fatalf("verify: %+v", vr)
	}
	if _, _, err := x.Verify(ctx, usecase.VerifyRequest{Sample: 150}); !kerr.Is(err, kerr.InvalidArgs) {
		t.Fatalf("sample 150: %v", err)
	}

	pr, _, err := x.Prune(ctx, usecase.PruneRequest{DryRun: true, Free: "100%", Actor: usecase.CurrentActor()})
	must(t, err)
	if !pr.DryRun || len(pr.Removed) != 1 || pr.Removed[0] != f.snaps[0] {
		t.Fatalf("prune --dry-run --free 100%%: %+v", pr)
	}
	if got := pr.Summary(); !strings.Contains(got, "would remove 1 snapshot and keep 1,") {
		t.Fatalf("summary %q", got)
	}
	if _, _, err := x.Prune(ctx, usecase.PruneRequest{Free: "lots"}); !kerr.Is(err, kerr.InvalidArgs) {
		t.Fatalf("free lots: %v", err)
	}
}

// A drive this user may only read (here: mounted read-only) can be
// listed and searched, and nothing is written to it.
func TestReadOnlyDrive(t *testing.T) {
	realfs.RequireRoot(t, "a read-only bind mount")
	f := newFixture(t)
	ro := t.TempDir()
	if out, err := exec.Command("mount", "--bind", "-o", "ro", f.drive, ro).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", ro).Run() })
	before := listing(t, f.drive)
	x, err := usecase.Open(ro, usecase.OpenOptions{ThisHost: "new-box", ReadOnly: true})
	must(t, err)
	hits, err := x.Search(f.me, usecase.SearchRequest{Pattern: "report"})
	must(t, err)
	ls, err := x.List(f.me, usecase.ListRequest{Snapshot: "latest", Dir: f.src})
	must(t, err)
	must(t, x.Close())
	if len(hits) != 2 || len(ls) != 3 {
		t.Fatalf("search %d hits, ls %d entries", len(hits), len(ls))
	}
	if after := listing(t, f.drive); after != before {
		t.Fatalf("the drive changed:\n%s\n---\n%s", before, after)
	}
}

func listing(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	must(t, filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			b.WriteString(p + " " + fi.ModTime().String() + " " + fi.Mode().String() + "\n")
		}
		return nil
	}))
	return b.String()
}

func mustRemote(t *testing.T, s string) grammar.Remote {
	t.Helper()
	r, err := grammar.ParseRemote(s)
	must(t, err)
	return r
}
