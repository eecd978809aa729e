package repo

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keepsake/keepsake/service/fscrypt"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/service/keywrap"
	"github.com/keepsake/keepsake/shared/kerr"
)

// cheap keeps Argon2id fast here; the CLI tests use the real parameters.
var cheap = keywrap.Params{Time: 1, MemoryKiB: 64, Threads: 1}

func encryptDrive(t *testing.T) *realfs.LoopDrive {
	return realfs.NewLoop(t, realfs.LoopOptions{FSType: "ext4", SizeMB: 32, MkfsArgs: []string{"-O", "encrypt"}})
}

func TestEncryptedRepository(t *testing.T) {
	drive := encryptDrive(t)
	pass := Secret{Passphrase: []byte("first passphrase")}
	r, rk, err := InitEncrypted(drive.Mount, pass.Passphrase, cheap)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Lock(drive.Mount) })
	keepsake := filepath.Join(drive.Mount, DirName)
	if r.Dir != keepsake || r.Root != filepath.Join(keepsake, DataName) || !r.Encrypted() || r.Marker.Format != FormatEncrypted {
		t.Fatalf("repo %+v", r)
	}
	if ents, _ := os.ReadDir(keepsake); len(ents) != 2 {
		t.Fatalf("the Keepsake folder holds %v, want the marker and %s only", ents, DataName)
	}
	if err := os.WriteFile(r.CatalogPath(), []byte("catalog"), 0o644); err != nil {
		t.Fatal(err)
	}
	marker, _ := os.ReadFile(filepath.Join(keepsake, MarkerName))

	// Locked: Open says so and how to unlock; Init never writes over it.
	if err := Lock(drive.Mount); err != nil {
		t.Fatal(err)
	}
	for what, open := range map[string]func() (*Repo, error){
		"open": func() (*Repo, error) { return Open(drive.Mount) },
		"init": func() (*Repo, error) { return Init(drive.Mount) },
	} {
		if _, err := open(); !kerr.Is(err, kerr.Locked) || !strings.Contains(err.Error(), "keepsakectl --repo "+drive.Mount+" unlock") {
			t.Errorf("%s of a locked repository: %v, want Locked saying how to unlock", what, err)
		}
	}
	ls, _ := os.ReadDir(filepath.Join(keepsake, DataName))
	for _, e := range ls {
		if e.Name() == CatalogName || e.Name() == LockName {
			t.Errorf("a locked repository lists %v", ls)
		}
	}
	if _, _, err := InitEncrypted(drive.Mount, []byte("x"), cheap); !kerr.Is(err, kerr.InvalidArgs) {
		t.Errorf("init --encrypt over a repository: %v, want InvalidArgs", err)
	}
	if err := Lock(drive.Mount); err != nil {
		t.Errorf("locking a locked repository: %v", err)
	}

	wrong := []struct {
		name  string
		s     Secret
		named kerr.Name
	}{
		{"wrong passphrase", Secret{Passphrase: []byte("First passphrase")}, kerr.WrongPassphrase},
		{"mistyped recovery key", Secret{UseRecoveryKey: true, RecoveryKey: strings.Replace(rk.String(), rk.String()[:1], "7", 1)}, kerr.MistypedRecoveryKey},
		{"no recovery key", Secret{UseRecoveryKey: true}, kerr.MistypedRecoveryKey},
	}
	if rk.String()[0] == '7' {
		wrong[1].s.RecoveryKey = "A" + rk.String()[1:]
	}
	for _, tt := range wrong {
		t.Run(tt.name, func(t *testing.T) {
			if err := Unlock(drive.Mount, tt.s); kerr.NameOf(err) != tt.named {
				t.Fatalf("unlock: %v (%s), want %s", err, kerr.NameOf(err), tt.named)
			}
			if _, err := Open(drive.Mount); !kerr.Is(err, kerr.Locked) {
				t.Fatalf("after a failed unlock: %v, want still Locked", err)
			}
			if now, _ := os.ReadFile(filepath.Join(keepsake, MarkerName)); !bytes.Equal(now, marker) {
				t.Fatal("a failed unlock changed the marker")
			}
		})
	}

	for _, s := range []Secret{pass, {UseRecoveryKey: true, RecoveryKey: strings.ToLower(rk.String())}} {
		if err := Unlock(drive.Mount, s); err != nil {
			t.Fatalf("unlock (recovery key %v): %v", s.UseRecoveryKey, err)
		}
		r, err := Open(drive.Mount)
		if err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(r.CatalogPath()); err != nil || string(b) != "catalog" {
			t.Fatalf("after unlocking: %q, %v", b, err)
		}
		if err := Lock(drive.Mount); err != nil {
			t.Fatal(err)
		}
	}

	// A new passphrase: the old one stops working, the recovery key not.
	if err := ChangePassphrase(drive.Mount, Secret{Passphrase: []byte("nope")}, []byte("second"), cheap); !kerr.Is(err, kerr.WrongPassphrase) {
		t.Fatalf("change with a wrong passphrase: %v", err)
	}
	if err := ChangePassphrase(drive.Mount, pass, []byte("second passphrase"), cheap); err != nil {
		t.Fatal(err)
	}
	if err := Unlock(drive.Mount, pass); !kerr.Is(err, kerr.WrongPassphrase) {
		t.Fatalf("old passphrase after the change: %v", err)
	}
	if err := Unlock(drive.Mount, Secret{Passphrase: []byte("second passphrase")}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(keepsake, DataName, CatalogName)); err != nil || string(b) != "catalog" {
		t.Fatalf("data after the change: %q, %v", b, err)
	}
	if err := Lock(drive.Mount); err != nil {
		t.Fatal(err)
	}
	if err := ChangePassphrase(drive.Mount, Secret{UseRecoveryKey: true, RecoveryKey: rk.String()}, []byte("third passphrase"), cheap); err != nil {
		t.Fatalf("a forgotten passphrase replaced with the recovery key: %v", err)
	}
	if err := Unlock(drive.Mount, Secret{Passphrase: []byte("third passphrase")}); err != nil {
		t.Fatal(err)
	}

	// A plain repository has nothing to unlock.
	plain := t.TempDir()
	if _, err := Init(plain); err != nil {
		t.Fatal(err)
	}
	if err := Unlock(plain, pass); !kerr.Is(err, kerr.InvalidArgs) {
		t.Errorf("unlock of a plain repository: %v", err)
	}
}

// A drive that cannot encrypt is refused before anything is left on it.
func TestInitEncryptedRefused(t *testing.T) {
	drive := realfs.NewLoop(t, realfs.LoopOptions{FSType: "ext4", SizeMB: 32, MkfsArgs: []string{"-O", "^encrypt"}})
	before, _ := os.ReadDir(drive.Mount)
	_, _, err := InitEncrypted(drive.Mount, []byte("passphrase"), cheap)
	if !kerr.Is(err, kerr.UnsupportedFilesystem) || !errors.Is(err, fscrypt.ErrFeatureOff) || !strings.Contains(err.Error(), "tune2fs -O encrypt") {
		t.Fatalf("init --encrypt without the encrypt feature: %v", err)
	}
	if after, _ := os.ReadDir(drive.Mount); len(after) != len(before) {
		t.Fatalf("the drive held %v, now %v", before, after)
	}
	if _, _, err := InitEncrypted(drive.Mount, nil, cheap); !kerr.Is(err, kerr.InvalidArgs) {
		t.Fatalf("an empty passphrase: %v", err)
	}
}
