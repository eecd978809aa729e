package fscrypt_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keepsake/keepsake/service/fscrypt"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/shared/kerr"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, fscrypt.KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// The whole life of an encrypted folder on a real ext4 drive made with the
// encrypt feature: key in, policy set, files written, key out (encrypted
// names only, contents unreadable), key in again (all back).
func TestEncryptLockUnlock(t *testing.T) {
	drive := realfs.NewLoop(t, realfs.LoopOptions{FSType: "ext4", SizeMB: 32, MkfsArgs: []string{"-O", "encrypt"}})
	dir := filepath.Join(drive.Mount, "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	key := newKey(t)
	id, err := fscrypt.AddKey(drive.Mount, key)
	if err != nil {
		t.Fatal(err)
	}
	if id == (fscrypt.KeyID{}) {
		t.Fatal("the kernel returned no key identifier")
	}
	if mine, err := fscrypt.Identifier(key); err != nil || mine != id {
		t.Fatalf("Identifier = %v, %v; the kernel says %v", mine, err, id)
	}
	if again, err := fscrypt.AddKey(dir, key); err != nil || again != id {
		t.Fatalf("adding the same key again: %v, %v (want %v)", again, err, id)
	}
	if err := fscrypt.SetPolicy(dir, id); err != nil {
		t.Fatal(err)
	}
	if err := fscrypt.SetPolicy(dir, id); err != nil {
		t.Fatalf("setting the same policy again: %v", err)
	}
	p, err := fscrypt.GetPolicy(dir)
	want := fscrypt.Policy{Version: 2, Contents: fscrypt.ContentsMode, Filenames: fscrypt.FilenamesMode, Flags: fscrypt.Flags, Key: id}
	if err != nil || p != want {
		t.Fatalf("policy %+v, %v; want %+v", p, err, want)
	}
	if err := os.WriteFile(filepath.Join(dir, "secret-name.txt"), []byte("secret text"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := fscrypt.Status(dir)
	if err != nil || !st.Encrypted || st.Key != fscrypt.KeyPresent || !st.Unlocked() {
		t.Fatalf("status while unlocked %+v, %v", st, err)
	}

	// A file held open keeps the key until it is closed.
	f, err := os.Open(filepath.Join(dir, "secret-name.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fscrypt.RemoveKey(dir, id, fscrypt.AllUsers); !errors.Is(err, fscrypt.ErrFilesBusy) || !kerr.Is(err, kerr.Busy) {
		t.Fatalf("removing the key with a file open: %v, want ErrFilesBusy named Busy", err)
	}
	f.Close()
	if _, err := fscrypt.RemoveKey(dir, id, fscrypt.AllUsers); err != nil {
		t.Fatal(err)
	}
	st, err = fscrypt.Status(dir)
	if err != nil || !st.Encrypted || st.Key != fscrypt.KeyAbsent || st.Unlocked() {
		t.Fatalf("status after removing the key %+v, %v", st, err)
	}
	ls := names(t, dir)
	if len(ls) != 1 || strings.Contains(ls[0], "secret") {
		t.Fatalf("a locked folder lists %q, want one encrypted name", ls)
	}
	if _, err := os.ReadFile(filepath.Join(dir, ls[0])); err == nil {
		t.Fatal("a locked file could be read")
	}
	if _, err := fscrypt.RemoveKey(dir, id, fscrypt.AllUsers); err != nil {
		t.Fatalf("removing an absent key: %v, want no error", err)
	}

	if _, err := fscrypt.AddKey(dir, key); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "secret-name.txt")); err != nil || string(b) != "secret text" {
		t.Fatalf("after unlocking: %q, %v", b, err)
	}
	if ks, err := fscrypt.KeyStatusOf(drive.Mount, id); err != nil || ks != fscrypt.KeyPresent {
		t.Fatalf("key status %v, %v", ks, err)
	}
	if _, err := fscrypt.RemoveKey(dir, id, fscrypt.AllUsers); err != nil {
		t.Fatal(err)
	}
}

func TestErrors(t *testing.T) {
	drive := realfs.NewLoop(t, realfs.LoopOptions{FSType: "ext4", SizeMB: 32, MkfsArgs: []string{"-O", "encrypt"}})
	key := newKey(t)
	id, err := fscrypt.AddKey(drive.Mount, key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fscrypt.RemoveKey(drive.Mount, id, fscrypt.AllUsers) })
	mkdir := func(name string) string {
		p := filepath.Join(drive.Mount, name)
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	full := mkdir("full")
	os.WriteFile(filepath.Join(full, "x"), nil, 0o644)
	encrypted := mkdir("encrypted")
	if err := fscrypt.SetPolicy(encrypted, id); err != nil {
		t.Fatal(err)
	}
	other, err := fscrypt.AddKey(drive.Mount, newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fscrypt.RemoveKey(drive.Mount, other, fscrypt.AllUsers) })
	plain := mkdir("plain")
	file := filepath.Join(drive.Mount, "file")
	os.WriteFile(file, nil, 0o644)

	tests := []struct {
		name  string
		do    func() error
		want  error
		named kerr.Name
	}{
		{"policy on a folder with files", func() error { return fscrypt.SetPolicy(full, id) }, fscrypt.ErrNotEmpty, kerr.InvalidArgs},
		{"another key on an encrypted folder", func() error { return fscrypt.SetPolicy(encrypted, other) }, fscrypt.ErrOtherPolicy, kerr.InvalidArgs},
		{"policy on a file", func() error { return fscrypt.SetPolicy(file, id) }, nil, kerr.InvalidArgs},
		{"policy on a missing folder", func() error { return fscrypt.SetPolicy(filepath.Join(drive.Mount, "nope"), id) }, os.ErrNotExist, kerr.Failed},
		{"policy of a plain folder", func() error { _, err := fscrypt.GetPolicy(plain); return err }, fscrypt.ErrNotEncrypted, kerr.Failed},
		{"a key of the wrong size", func() error { _, err := fscrypt.AddKey(plain, key[:32]); return err }, nil, kerr.Failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) || kerr.NameOf(err) != tt.named {
				t.Fatalf("got %v (%s), want %v named %s", err, kerr.NameOf(err), tt.want, tt.named)
			}
		})
	}
	if st, err := fscrypt.Status(plain); err != nil || st.Encrypted || !st.Unlocked() {
		t.Fatalf("status of a plain folder %+v, %v", st, err)
	}
}

// Filesystems that cannot encrypt are refused with a named error that
// says what to do.
func TestUnsupportedFilesystems(t *testing.T) {
	noFeature := realfs.NewLoop(t, realfs.LoopOptions{FSType: "ext4", SizeMB: 32, MkfsArgs: []string{"-O", "^encrypt"}})
	tmpfs := t.TempDir()
	realfs.RequireCommands(t, "mount")
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", tmpfs).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", tmpfs).Run() })

	tests := []struct {
		name   string
		dir    string
		want   error
		advice string
	}{
		{"ext4 without the encrypt feature", noFeature.Mount, fscrypt.ErrFeatureOff, "tune2fs -O encrypt " + noFeature.Device},
		{"tmpfs", tmpfs, fscrypt.ErrNotSupported, "mkfs.ext4 -O encrypt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(tt.dir, "data")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			checks := map[string]func() error{
				"set policy": func() error { return fscrypt.SetPolicy(dir, fscrypt.KeyID{1}) },
				"add key":    func() error { _, err := fscrypt.AddKey(dir, newKey(t)); return err },
				"status":     func() error { _, err := fscrypt.Status(dir); return err },
			}
			for what, do := range checks {
				err := do()
				if !errors.Is(err, tt.want) || !kerr.Is(err, kerr.UnsupportedFilesystem) || !strings.Contains(err.Error(), tt.advice) {
					t.Errorf("%s: %v, want %v named UnsupportedFilesystem saying %q", what, err, tt.want, tt.advice)
				}
			}
			if ls := names(t, tt.dir); !bytes.Contains([]byte(strings.Join(ls, " ")), []byte("data")) {
				t.Errorf("the folder is gone: %v", ls)
			}
		})
	}
}

func TestKeyIDRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"32 hex digits", "00112233445566778899aabbccddeeff", true},
		{"too short", "0011", false},
		{"not hex", strings.Repeat("zz", 16), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := fscrypt.ParseKeyID(tt.in)
			if (err == nil) != tt.ok || tt.ok && id.String() != tt.in {
				t.Fatalf("ParseKeyID(%q) = %v, %v", tt.in, id, err)
			}
		})
	}
}
