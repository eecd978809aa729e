package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keepsake/keepsake/shared/kerr"
)

func restore(f *fixture, opts RestoreOptions) (*RestoreResult, error) {
	opts.Host = "testhost"
	if opts.Snapshot == "" {
		opts.Snapshot = "latest"
	}
	return Restore(context.Background(), f.repo, opts)
}

func TestRestoreNeverOverwritesByDefault(t *testing.T) {
	f := newFixture(t)
	f.write("doc.txt", "old")
	f.backup(nil)
	f.write("doc.txt", "new work")
	res, err := restore(f, RestoreOptions{Paths: []string{f.path("doc.txt")}})
	must(t, err)
	if b, _ := os.ReadFile(f.path("doc.txt")); string(b) != "new work" {
		t.Fatalf("existing file overwritten: %q", b)
	}
	to := res.Items[0].To
	if !strings.HasPrefix(filepath.Base(to), "doc (restored ") || !strings.HasSuffix(to, ").txt") {
		t.Fatalf("restored beside as %q, want \"doc (restored YYYY-MM-DD HH.MM).txt\"", to)
	}
	if b, _ := os.ReadFile(to); string(b) != "old" {
		t.Errorf("restored copy = %q", b)
	}
	// A second restore finds the first one's name taken too.
	res2, err := restore(f, RestoreOptions{Paths: []string{f.path("doc.txt")}})
	must(t, err)
	if res2.Items[0].To == to {
		t.Error("second restore reused the first one's name")
	}
	if _, err := restore(f, RestoreOptions{Paths: []string{f.path("doc.txt")}, Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(f.path("doc.txt")); string(b) != "old" {
		t.Errorf("--overwrite left %q", b)
	}
}

func TestRestoreAppliesOnlySelectedMetadata(t *testing.T) {
	f := newFixture(t)
	f.write("deep/er/file", "x")
	must(t, os.Chmod(f.path("deep"), 0o700))
	f.backup(nil)
	to := filepath.Join(t.TempDir(), "new", "place")
	_, err := restore(f, RestoreOptions{Paths: []string{f.path("deep/er/file")}, To: to})
	must(t, err)
	fi, err := os.Stat(filepath.Join(to, "file"))
	must(t, err)
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("file mode %v", fi.Mode())
	}
	if b, _ := os.ReadFile(filepath.Join(to, "file")); string(b) != "x" {
		t.Errorf("content %q", b)
	}
	// The created parents are plain folders, not copies of "deep".
	pfi, err := os.Stat(to)
	must(t, err)
	if pfi.Mode().Perm() == 0o700 {
		t.Error("the destination got the metadata of a parent that was not selected")
	}
}

func TestRestoreRefusesHostileDestinations(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(f *fixture, outside string) RestoreOptions
		want    kerr.Name
	}{
		{
			name: "in-place folder replaced by a symlink to outside",
			prepare: func(f *fixture, outside string) RestoreOptions {
				must(t, os.RemoveAll(f.path("docs")))
				must(t, os.Symlink(outside, f.path("docs")))
				return RestoreOptions{Paths: []string{f.path("docs/a.txt")}}
			},
			want: kerr.UnsafePath,
		},
		{
			name: "dot-dot in the requested path",
			prepare: func(f *fixture, outside string) RestoreOptions {
				return RestoreOptions{Paths: []string{f.path("docs") + "/../../../" + filepath.Base(outside) + "/x"}}
			},
			want: kerr.InvalidArgs,
		},
		{
			name: "overwrite a symlink that points outside",
			prepare: func(f *fixture, outside string) RestoreOptions {
				must(t, os.Remove(f.path("docs/a.txt")))
				must(t, os.Symlink(filepath.Join(outside, "victim"), f.path("docs/a.txt")))
				return RestoreOptions{Paths: []string{f.path("docs/a.txt")}, Overwrite: true}
			},
			want: "", // allowed: the symlink itself is replaced
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.write("docs/a.txt", "secret")
			f.backup(nil)
			outside := t.TempDir()
			opts := tt.prepare(f, outside)
			_, err := restore(f, opts)
			if kerr.NameOf(err) != tt.want {
				t.Fatalf("restore error %v (%s), want %q", err, kerr.NameOf(err), tt.want)
			}
			ents, _ := os.ReadDir(outside)
			if len(ents) != 0 {
				t.Errorf("something was written outside: %v", ents)
			}
			if tt.want == "" {
				fi, err := os.Lstat(f.path("docs/a.txt"))
				if err != nil || !fi.Mode().IsRegular() {
					t.Errorf("symlink not replaced by the file: %v %v", fi, err)
				}
			}
		})
	}
}

func TestRestoreFolderWithHardlinks(t *testing.T) {
	f := newFixture(t)
	f.write("p/a", "A")
	must(t, os.Link(f.path("p/a"), f.path("p/b")))
	must(t, os.Symlink("a", f.path("p/s")))
	f.backup(nil)
	to := t.TempDir()
	res, err := restore(f, RestoreOptions{Paths: []string{f.path("p")}, To: to})
	must(t, err)
	if res.Files != 3 || res.Dirs != 1 {
		t.Errorf("files=%d dirs=%d", res.Files, res.Dirs)
	}
	if inode(t, filepath.Join(to, "p/a")) != inode(t, filepath.Join(to, "p/b")) {
		t.Error("hardlinked pair restored as two files")
	}
	if tgt, _ := os.Readlink(filepath.Join(to, "p/s")); tgt != "a" {
		t.Errorf("symlink target %q", tgt)
	}
}

func TestRestoreUnknownSnapshotAndPath(t *testing.T) {
	f := newFixture(t)
	f.write("a", "a")
	f.backup(nil)
	if _, err := restore(f, RestoreOptions{Snapshot: "1999-01-01T000000Z", Paths: []string{f.path("a")}, To: t.TempDir()}); !kerr.Is(err, kerr.SnapshotNotFound) {
		t.Errorf("unknown snapshot: %v", err)
	}
	if _, err := restore(f, RestoreOptions{Paths: []string{f.path("nope")}, To: t.TempDir()}); !kerr.Is(err, kerr.PathNotFound) {
		t.Errorf("unknown path: %v", err)
	}
}
