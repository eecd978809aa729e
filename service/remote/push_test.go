package remote

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/internal/sshtest"
	"github.com/keepsake/keepsake/shared/kerr"
)

// TestPush sends files of a snapshot into the one folder a write-only key
// (rrsync -wo DIR) allows on a real sshd, and refuses what would read
// outside the snapshot or write where the key may not.
func TestPush(t *testing.T) {
	t.Parallel()
	sshtest.NeedRoot(t)
	writer, reader := newTrust(t, nil), newTrust(t, nil)
	sshd := sshtest.StartSSHD(t, sshtest.SSHDOptions{})
	inbox := filepath.Join(sshd.Home(), "Restored")
	if err := os.Mkdir(inbox, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "chown", sshd.User(), inbox)
	sshd.AuthorizeKeys(writer.id.AuthorizedKeysLine(false, inbox), reader.id.AuthorizedKeysLine(true))
	for _, tr := range []*trust{&writer, &reader} {
		tr.sshd = sshd
		if err := tr.kh.Accept(sshd.Remote(), hostKeys(sshd)); err != nil {
			t.Fatal(err)
		}
	}
	// A snapshot of the other computer, with its own symlink to /etc.
	snap := filepath.Join(t.TempDir(), "2026-12-01T100000Z")
	docs := filepath.Join(snap, "home", "u", "docs")
	write(t, filepath.Join(docs, "report.txt"), "quarterly\n", 0o640)
	write(t, filepath.Join(docs, "odd", "new\nline"), "newline\n", 0o644)
	write(t, filepath.Join(docs, "odd", "bad\xff"), "not utf-8\n", 0o644)
	write(t, filepath.Join(snap, "home", "u", "other.txt"), "not asked for\n", 0o644)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink("/etc", filepath.Join(docs, "etc-link")))
	when := time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
	must(os.Chtimes(filepath.Join(docs, "report.txt"), when, when))

	opts := func(tr trust, paths ...string) PushOptions {
		return PushOptions{Remote: sshd.Remote(inbox), KeyFile: tr.id.KeyFile(), KnownHostsFile: tr.kh.Path,
			Timeout: 10 * time.Second, Root: snap, Paths: paths}
	}
	arrived := func(rel string) (string, os.FileInfo) {
		p := filepath.Join(inbox, rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return "", nil
		}
		data, _ := os.ReadFile(p)
		return string(data), fi
	}
	// One case after the other: rrsync -wo admits one session at a time.
	cases := []struct {
		name  string
		paths []string
		tr    trust
		err   kerr.Name
		check func(t *testing.T)
	}{
		{name: "a file and a folder", paths: []string{"/home/u/docs/report.txt", "/home/u/docs/odd"}, tr: writer, check: func(t *testing.T) {
			data, fi := arrived("home/u/docs/report.txt")
			if data != "quarterly\n" || fi.Mode().Perm() != 0o640 || !fi.ModTime().Equal(when) {
				t.Errorf("report.txt arrived as %q %v %v", data, fi.Mode(), fi.ModTime())
			}
			for name, want := range map[string]string{"new\nline": "newline\n", "bad\xff": "not utf-8\n"} {
				if data, _ := arrived("home/u/docs/odd/" + name); data != want {
					t.Errorf("%q arrived as %q", name, data)
				}
			}
			if _, fi := arrived("home/u/other.txt"); fi != nil {
				t.Error("a file not asked for was sent")
			}
		}},
		{name: "a symlink is sent as one", paths: []string{"/home/u/docs/etc-link"}, tr: writer, check: func(t *testing.T) {
			if target, err := os.Readlink(filepath.Join(inbox, "home/u/docs/etc-link")); err != nil || target != "/etc" {
				t.Errorf("etc-link arrived as %q, %v", target, err)
			}
		}},
		{name: "nothing is read through a symlink", paths: []string{"/home/u/docs/etc-link/passwd"}, tr: writer, err: kerr.UnsafePath, check: func(t *testing.T) {
			// (The symlink sent before points at this machine's /etc:
			// look without following it.)
			filepath.WalkDir(inbox, func(p string, d fs.DirEntry, err error) error {
				if err == nil && d.Name() == "passwd" {
					t.Errorf("this machine's /etc/passwd was sent: %s", p)
				}
				return err
			})
		}},
		{name: "a path not in the snapshot", paths: []string{"/home/u/missing"}, tr: writer, err: kerr.PathNotFound},
		{name: "a path with dot-dot", paths: []string{"/home/u/../../etc"}, tr: writer, err: kerr.InvalidArgs},
		{name: "a read-only key may not write", paths: []string{"/home/u/other.txt"}, tr: reader, err: kerr.RemoteRefused, check: func(t *testing.T) {
			if _, fi := arrived("home/u/other.txt"); fi != nil {
				t.Error("the read-only key wrote")
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, err := Push(context.Background(), opts(c.tr, c.paths...))
			if kerr.NameOf(err) != c.err && !(c.err == "" && err == nil) {
				t.Fatalf("err %v (%s), want %s", err, kerr.NameOf(err), c.err)
			}
			if err == nil && st.FilesTransferred == 0 && c.name == "a file and a folder" {
				t.Errorf("stats %+v", st)
			}
			if c.check != nil {
				c.check(t)
			}
		})
	}
}
