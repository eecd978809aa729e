package cli_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/keepsake/keepsake/service/cli"
	"github.com/keepsake/keepsake/service/internal/realfs"
)

func writeSecret(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	must(t, os.WriteFile(p, []byte(s+"\n"), 0o600))
	return p
}

// failsWith runs keepsakectl --json expecting a named error.
func failsWith(t *testing.T, drive, name string, args ...string) jsonError {
	t.Helper()
	out, errs, code := ctl(t, drive, append([]string{"--json"}, args...)...)
	var e jsonError
	lastJSON(t, out, &e)
	if code != cli.ExitError || e.Error != name {
		t.Fatalf("keepsakectl %v: exit %d, %+v %s; want %s", args, code, e, errs, name)
	}
	return e
}

// namesBelow lists every name below dir (a locked folder lists the
// encrypted forms).
func namesBelow(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			out = append(out, d.Name())
		}
		return nil
	})
	return out
}

// An encrypted drive from setup to disaster recovery: nothing of the
// backed-up names or contents is on the disk in the clear; the passphrase
// and the recovery key each unlock it; a wrong passphrase changes nothing;
// a new passphrase replaces the old one with the data untouched.
func TestEncryptedDrive(t *testing.T) {
	drive := realfs.NewLoop(t, realfs.LoopOptions{FSType: "ext4", SizeMB: 64, MkfsArgs: []string{"-O", "encrypt"}})
	t.Cleanup(func() { ctl(t, drive.Mount, "lock") })
	token := make([]byte, 8)
	rand.Read(token)
	name := "TopSecretPlan-" + hex.EncodeToString(token)
	text := "the-secret-text-" + hex.EncodeToString(token) + "\n"
	src := filepath.Join(t.TempDir(), "home")
	realfs.WriteTree(t, src, map[string]string{
		name + ".txt":        strings.Repeat(text, 500),
		name + "/inside.txt": text,
		"plain.txt":          "ordinary",
	})
	pass := writeSecret(t, "correct horse battery staple")

	var ini struct {
		Repository  string
		RecoveryKey string `json:"recovery_key"`
		Encrypted   bool
	}
	lastJSON(t, mustCtl(t, drive.Mount, "--json", "init", "--encrypt", "--passphrase-file", pass), &ini)
	if !ini.Encrypted || len(strings.Split(ini.RecoveryKey, "-")) != 7 {
		t.Fatalf("init --encrypt said %+v", ini)
	}
	mustCtl(t, drive.Mount, "backup", src)
	data := filepath.Join(drive.Mount, "Keepsake", "data")
	if !strings.Contains(strings.Join(namesBelow(t, data), " "), name) {
		t.Fatal("the unlocked drive does not show the backed-up name")
	}

	mustCtl(t, drive.Mount, "lock")
	e := failsWith(t, drive.Mount, "Locked", "snapshots")
	if !strings.Contains(e.Message, "keepsakectl --repo "+drive.Mount+" unlock") {
		t.Errorf("a locked drive says %q, want how to unlock", e.Message)
	}
	locked := namesBelow(t, data)
	if len(locked) < 3 {
		t.Fatalf("a locked drive lists %v", locked)
	}
	for _, n := range locked {
		if strings.Contains(n, "TopSecret") || n == "catalog.db" || n == "testhost" || n == "latest" {
			t.Fatalf("a locked drive shows the name %q", n)
		}
	}

	// The raw disk: the marker is there in the clear (so this search
	// finds what is there), the names and the text are not.
	drive.Unmount()
	img, err := os.ReadFile(drive.Image)
	must(t, err)
	if !bytes.Contains(img, []byte(`"scheme": "fscrypt-v2"`)) {
		t.Fatal("the marker is not in the image: the search proves nothing")
	}
	for _, secret := range []string{name, strings.TrimSpace(text), "TopSecretPlan", "plain.txt", "ordinary"} {
		if bytes.Contains(img, []byte(secret)) {
			t.Errorf("the raw disk holds %q in the clear", secret)
		}
	}
	img = nil
	drive.Remount()
	failsWith(t, drive.Mount, "Locked", "snapshots")

	marker, _ := os.ReadFile(filepath.Join(drive.Mount, "Keepsake", "keepsake.repo"))
	failsWith(t, drive.Mount, "WrongPassphrase", "unlock", "--passphrase-file", writeSecret(t, "correct horse battery stapler"))
	failsWith(t, drive.Mount, "MistypedRecoveryKey", "unlock", "--recovery-key", "--passphrase-file", writeSecret(t, "A"+ini.RecoveryKey[2:]))
	failsWith(t, drive.Mount, "Locked", "snapshots")
	if now, _ := os.ReadFile(filepath.Join(drive.Mount, "Keepsake", "keepsake.repo")); !bytes.Equal(now, marker) {
		t.Fatal("a failed unlock changed the marker")
	}

	mustCtl(t, drive.Mount, "unlock", "--passphrase-file", pass)
	must(t, os.WriteFile(filepath.Join(src, "plain.txt"), []byte("changed"), 0o644))
	mustCtl(t, drive.Mount, "backup", src)
	if s := snapshots(t, drive.Mount); len(s) != 2 {
		t.Fatalf("snapshots after unlocking: %+v", s)
	}
	restored := func(what string) {
		t.Helper()
		to := t.TempDir()
		mustCtl(t, drive.Mount, "restore", "latest", src, "--to", to)
		if got, want := realfs.Digest(t, filepath.Join(to, "home")), realfs.Digest(t, src); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: restored %v, want %v", what, got, want)
		}
	}
	restored("after unlocking with the passphrase")

	mustCtl(t, drive.Mount, "lock")
	rk := writeSecret(t, strings.ToLower(strings.ReplaceAll(ini.RecoveryKey, "-", " ")))
	mustCtl(t, drive.Mount, "unlock", "--recovery-key", "--passphrase-file", rk)
	restored("after unlocking with the recovery key")
	mustCtl(t, drive.Mount, "lock")

	newPass := writeSecret(t, "a new and longer passphrase")
	failsWith(t, drive.Mount, "WrongPassphrase", "change-passphrase", "--passphrase-file", writeSecret(t, "guess guess"), "--new-passphrase-file", newPass)
	failsWith(t, drive.Mount, "InvalidArgs", "change-passphrase", "--passphrase-file", pass, "--new-passphrase-file", writeSecret(t, "short"))
	mustCtl(t, drive.Mount, "change-passphrase", "--passphrase-file", pass, "--new-passphrase-file", newPass)
	failsWith(t, drive.Mount, "WrongPassphrase", "unlock", "--passphrase-file", pass)
	mustCtl(t, drive.Mount, "unlock", "--passphrase-file", newPass)
	restored("after the change of passphrase")
	mustCtl(t, drive.Mount, "verify")
}

// A drive whose ext4 lacks the encrypt feature is refused with what to
// do, and nothing is written to it.
func TestEncryptRefusedWithoutFeature(t *testing.T) {
	drive := realfs.NewLoop(t, realfs.LoopOptions{FSType: "ext4", SizeMB: 32, MkfsArgs: []string{"-O", "^encrypt"}})
	e := failsWith(t, drive.Mount, "UnsupportedFilesystem", "init", "--encrypt", "--passphrase-file", writeSecret(t, "long enough passphrase"))
	if !strings.Contains(e.Message, "tune2fs -O encrypt") {
		t.Fatalf("message %q does not say how to enable encryption", e.Message)
	}
	if _, err := os.Stat(filepath.Join(drive.Mount, "Keepsake")); err == nil {
		t.Fatal("a refused init left a Keepsake folder")
	}
}

// Asked on the terminal: twice for a new passphrase, and the two must
// agree; too short a passphrase is refused before anything is written.
func TestEncryptPrompts(t *testing.T) {
	tests := []struct {
		name    string
		answers []string
		want    string
	}{
		{"the two differ", []string{"one passphrase", "another passphrase"}, "the two passphrases differ"},
		{"too short", []string{"short", "short"}, "needs at least 8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			drive := t.TempDir()
			var prompts []string
			var out, errb bytes.Buffer
			env := &cli.Env{Stdout: &out, Stderr: &errb, AskSecret: func(prompt string) ([]byte, error) {
				prompts = append(prompts, prompt)
				return []byte(tt.answers[len(prompts)-1]), nil
			}}
			code := cli.Run(env, []string{"--repo", drive, "init", "--encrypt"})
			if code != cli.ExitError || !strings.Contains(errb.String(), tt.want) || len(prompts) != 2 {
				t.Fatalf("exit %d, %q after prompts %q; want %q", code, errb.String(), prompts, tt.want)
			}
			if ents, _ := os.ReadDir(drive); len(ents) != 0 {
				t.Fatalf("the drive holds %v", ents)
			}
		})
	}
}

// A drive with unencrypted backups cannot be encrypted in place:
// init --encrypt says so and changes nothing; with --set-aside the old
// backups stay whole in "Keepsake (not encrypted)", readable with --repo
// there, and the new encrypted repository starts beside them.
func TestEncryptBesidePlainBackups(t *testing.T) {
	drive := realfs.NewLoop(t, realfs.LoopOptions{FSType: "ext4", SizeMB: 64, MkfsArgs: []string{"-O", "encrypt"}})
	t.Cleanup(func() { ctl(t, drive.Mount, "lock") })
	src := filepath.Join(t.TempDir(), "home")
	realfs.WriteTree(t, src, map[string]string{"letter.txt": "dear drive", "photos/cat.jpg": strings.Repeat("meow", 4096)})
	mustCtl(t, drive.Mount, "init")
	mustCtl(t, drive.Mount, "backup", src)
	pass := writeSecret(t, "correct horse battery staple")
	before := realfs.Digest(t, filepath.Join(drive.Mount, "Keepsake"))

	e := failsWith(t, drive.Mount, "InvalidArgs", "init", "--encrypt", "--passphrase-file", pass)
	if !strings.Contains(e.Message, "holds unencrypted backups, which cannot be encrypted where they are: add --set-aside") {
		t.Errorf("init --encrypt on unencrypted backups says %q", e.Message)
	}
	if _, err := os.Stat(filepath.Join(drive.Mount, "Keepsake (not encrypted)")); err == nil {
		t.Fatal("a refused init --encrypt set the backups aside")
	}

	var ini struct {
		RecoveryKey string `json:"recovery_key"`
		Encrypted   bool
	}
	lastJSON(t, mustCtl(t, drive.Mount, "--json", "init", "--encrypt", "--set-aside", "--passphrase-file", pass), &ini)
	if !ini.Encrypted || ini.RecoveryKey == "" {
		t.Fatalf("init --encrypt --set-aside said %+v", ini)
	}
	aside := filepath.Join(drive.Mount, "Keepsake (not encrypted)")
	after := realfs.Digest(t, aside)
	// Only its log gains a line: "set aside".
	for k, v := range before {
		if k != "lock" && !strings.HasPrefix(k, "catalog.db") && after[k] != v {
			t.Errorf("the set-aside backups changed at %s", k)
		}
	}
	// The old backups restore with --repo on their folder.
	to := filepath.Join(t.TempDir(), "back")
	mustCtl(t, aside, "restore", "latest", src, "--to", to)
	want, got := realfs.Digest(t, src), realfs.Digest(t, filepath.Join(to, filepath.Base(src)))
	for k, v := range want {
		if got[k] != v {
			t.Errorf("restored from the set-aside backups: %s differs", k)
		}
	}
	// And the drive's repository is the new, encrypted one.
	mustCtl(t, drive.Mount, "backup", src)
	if _, err := os.Stat(filepath.Join(drive.Mount, "Keepsake", "data", "catalog.db")); err != nil {
		t.Errorf("the new repository is not the encrypted one: %v", err)
	}
}
