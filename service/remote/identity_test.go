package remote

import (
	"fmt"
	"github.com/keepsake/keepsake/service/internal/sshtest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/keepsake/keepsake/shared/kerr"
)

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	st, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
}

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	st, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode()
}

func TestIdentityMadeOnce(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "state", "ssh")
	id, err := LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	if id.KeyFile() != filepath.Join(dir, "id_ed25519") {
		t.Fatalf("KeyFile = %q", id.KeyFile())
	}
	host, _ := os.Hostname()
	f := strings.Fields(id.PublicKey())
	if len(f) != 3 || f[0] != "ssh-ed25519" || !strings.HasPrefix(f[1], "AAAA") || f[2] != "keepsake@"+host {
		t.Fatalf("PublicKey = %q", id.PublicKey())
	}
	if m := mode(t, dir); m != os.ModeDir|0o700 {
		t.Fatalf("folder mode %v, want drwx------", m)
	}
	if m := mode(t, id.KeyFile()); m != 0o600 {
		t.Fatalf("key mode %v, want -rw-------", m)
	}
	pub, err := os.ReadFile(id.KeyFile() + ".pub")
	if err != nil || strings.TrimSpace(string(pub)) != id.PublicKey() {
		t.Fatalf(".pub = %q, %v; want %q", pub, err, id.PublicKey())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Fatalf("the folder holds %d entries, want the key and its .pub", len(ents))
	}
	ino := inode(t, id.KeyFile())

	again, err := LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.PublicKey() != id.PublicKey() || inode(t, again.KeyFile()) != ino {
		t.Fatalf("second call made a new key: %q", again.PublicKey())
	}

	// A lost or stale .pub comes back from the private key; loose modes
	// are tightened.
	os.Remove(id.KeyFile() + ".pub")
	os.Chmod(dir, 0o755)
	os.Chmod(id.KeyFile(), 0o644)
	if again, err = LoadOrCreateIdentity(dir); err != nil || again.PublicKey() != id.PublicKey() {
		t.Fatalf("after losing the .pub: %v, %q", err, again.PublicKey())
	}
	if pub, _ := os.ReadFile(id.KeyFile() + ".pub"); strings.TrimSpace(string(pub)) != id.PublicKey() {
		t.Fatalf(".pub not rewritten: %q", pub)
	}
	if mode(t, dir) != os.ModeDir|0o700 || mode(t, id.KeyFile()) != 0o600 {
		t.Fatalf("modes not tightened: %v %v", mode(t, dir), mode(t, id.KeyFile()))
	}
	if got := id.Fingerprint(); got != keygenFingerprint(t, id.KeyFile()+".pub") {
		t.Fatalf("Fingerprint = %q, ssh-keygen -l says %q", got, keygenFingerprint(t, id.KeyFile()+".pub"))
	}
}

func TestIdentityConcurrentFirstUse(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ssh")
	keys := make([]string, 4)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := LoadOrCreateIdentity(dir)
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = id.PublicKey()
		}()
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if k != keys[0] {
			t.Fatalf("concurrent first uses disagree: %q", keys)
		}
	}
}

func TestIdentityRefuses(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		setup func(t *testing.T, dir string) string // returns the dir to load
		root  bool
		want  kerr.Name
	}{
		"relative folder": {setup: func(t *testing.T, dir string) string { return "ssh" }, want: kerr.InvalidArgs},
		"symlinked folder": {setup: func(t *testing.T, dir string) string {
			real := filepath.Join(dir, "real")
			os.Mkdir(real, 0o700)
			os.Symlink(real, filepath.Join(dir, "ssh"))
			return filepath.Join(dir, "ssh")
		}, want: kerr.UnsafePath},
		"a file, not a folder": {setup: func(t *testing.T, dir string) string {
			os.WriteFile(filepath.Join(dir, "ssh"), nil, 0o600)
			return filepath.Join(dir, "ssh")
		}, want: kerr.UnsafePath},
		"symlinked key": {setup: func(t *testing.T, dir string) string {
			os.Mkdir(filepath.Join(dir, "ssh"), 0o700)
			os.WriteFile(filepath.Join(dir, "other"), []byte("x"), 0o600)
			os.Symlink(filepath.Join(dir, "other"), filepath.Join(dir, "ssh", "id_ed25519"))
			return filepath.Join(dir, "ssh")
		}, want: kerr.UnsafePath},
		"folder of another user": {root: true, setup: func(t *testing.T, dir string) string {
			os.Mkdir(filepath.Join(dir, "ssh"), 0o700)
			if err := os.Chown(filepath.Join(dir, "ssh"), 12345, 12345); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, "ssh")
		}, want: kerr.UnsafePath},
		"key of another user": {root: true, setup: func(t *testing.T, dir string) string {
			os.Mkdir(filepath.Join(dir, "ssh"), 0o700)
			os.WriteFile(filepath.Join(dir, "ssh", "id_ed25519"), []byte("x"), 0o600)
			if err := os.Chown(filepath.Join(dir, "ssh", "id_ed25519"), 12345, 12345); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, "ssh")
		}, want: kerr.UnsafePath},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if c.root {
				sshtest.NeedRoot(t)
			}
			tmp := t.TempDir()
			dir := c.setup(t, tmp)
			id, err := LoadOrCreateIdentity(dir)
			if !kerr.Is(err, c.want) {
				t.Fatalf("LoadOrCreateIdentity = %v, %v (%s); want %s", id, err, kerr.NameOf(err), c.want)
			}
			if _, err := os.Stat(filepath.Join(tmp, "real", "id_ed25519")); err == nil {
				t.Fatal("a key was made through the symlink")
			}
		})
	}
}

func TestAuthorizedKeysLine(t *testing.T) {
	t.Parallel()
	id, err := LoadOrCreateIdentity(filepath.Join(t.TempDir(), "ssh"))
	if err != nil {
		t.Fatal(err)
	}
	pub := id.PublicKey()
	cases := map[string]struct {
		readOnly bool
		paths    []string
		command  string // "" for no line
	}{
		"read the whole computer": {readOnly: true, command: `rrsync -ro /`},
		"read one folder":         {readOnly: true, paths: []string{"/home/u"}, command: `rrsync -ro /home/u`},
		"write into a folder":     {paths: []string{"/srv/restore/"}, command: `rrsync -wo /srv/restore`},
		"quotes and spaces":       {paths: []string{`/srv/my "x" 'y' $HOME`}, command: `rrsync -wo '/srv/my \"x\" '\''y'\'' $HOME'`},
		"backslash before quote":  {paths: []string{`/srv/a\"b`}, command: `rrsync -wo '/srv/a\\"b'`},
		"write needs a folder":    {},
		"two folders":             {readOnly: true, paths: []string{"/a", "/b"}},
		"relative":                {paths: []string{"srv"}},
		"newline":                 {paths: []string{"/srv/a\nb"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got := id.AuthorizedKeysLine(c.readOnly, c.paths...)
			want := ""
			if c.command != "" {
				want = fmt.Sprintf(`restrict,command="%s" %s`, c.command, pub)
			}
			if got != want {
				t.Fatalf("AuthorizedKeysLine = %q\nwant                 %q", got, want)
			}
		})
	}
}
