package realfs

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FlatpakRepo is a local Flatpak repository built offline for tests: a
// runtime made of busybox and apps that print a line, exported with the
// real flatpak CLI. With a collection id the repository is GPG-signed with
// a key generated on the spot (what `flatpak create-usb` needs).
type FlatpakRepo struct {
	Dir          string // the OSTree repository
	URL          string // file:// URL of Dir, for `flatpak remote-add`
	CollectionID string // "" when the repository has none
	KeyFile      string // the signing key's public part (binary), "" when unsigned
	KeyID        string // the signing key's fingerprint, "" when unsigned

	work   string
	gnupg  string
	builds int
}

// NewFlatpakRepo creates an empty repository in dir/repo. dir must be
// reachable by every user who installs from it (not under t.TempDir(),
// whose parents are private to root). A non-empty collectionID also makes
// a GPG key and signs every commit and the summary with it.
func NewFlatpakRepo(t testing.TB, dir, collectionID string) *FlatpakRepo {
	t.Helper()
	RequireCommands(t, "flatpak", "busybox", "gzip")
	r := &FlatpakRepo{
		Dir:          filepath.Join(dir, "repo"),
		CollectionID: collectionID,
		work:         filepath.Join(dir, "build"),
	}
	r.URL = "file://" + r.Dir
	if err := os.MkdirAll(r.work, 0o755); err != nil {
		t.Fatal(err)
	}
	if collectionID == "" {
		return r
	}
	RequireCommands(t, "gpg")
	r.gnupg = filepath.Join(r.work, "gnupg")
	if err := os.Mkdir(r.gnupg, 0o700); err != nil {
		t.Fatal(err)
	}
	r.gpg(t, "--batch", "--passphrase", "", "--quick-gen-key", "Keepsake Test <test@keepsake.invalid>", "ed25519", "sign", "never")
	for _, line := range strings.Split(r.gpg(t, "--with-colons", "--list-keys"), "\n") {
		if f := strings.Split(line, ":"); len(f) > 9 && f[0] == "fpr" {
			r.KeyID = f[9]
			break
		}
	}
	if r.KeyID == "" {
		t.Fatal("gpg made no key")
	}
	r.KeyFile = filepath.Join(dir, "key.gpg")
	if err := os.WriteFile(r.KeyFile, []byte(r.gpg(t, "--export", r.KeyID)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// gpg-agent outlives gpg: stop the one this key started.
		cmd := exec.Command("gpgconf", "--kill", "gpg-agent")
		cmd.Env = append(os.Environ(), "GNUPGHOME="+r.gnupg)
		cmd.Run()
	})
	return r
}

func (r *FlatpakRepo) gpg(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command("gpg", args...)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+r.gnupg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func (r *FlatpakRepo) flatpak(t testing.TB, args ...string) {
	t.Helper()
	if r.CollectionID != "" && (args[0] == "build-export" || args[0] == "build-update-repo") {
		args = append([]string{args[0], "--collection-id=" + r.CollectionID, "--gpg-sign=" + r.KeyID}, args[1:]...)
	}
	cmd := exec.Command("flatpak", args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if r.gnupg != "" {
		cmd.Env = append(cmd.Env, "GNUPGHOME="+r.gnupg)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("flatpak %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (r *FlatpakRepo) buildDir(t testing.TB) string {
	t.Helper()
	r.builds++
	d := filepath.Join(r.work, fmt.Sprint(r.builds))
	if err := os.MkdirAll(filepath.Join(d, "files", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// Runtime exports the runtime id/x86_64/branch (busybox as /usr/bin/sh)
// with a commit dated when.
func (r *FlatpakRepo) Runtime(t testing.TB, id, branch string, when time.Time) string {
	t.Helper()
	d := r.buildDir(t)
	// build-export --runtime commits usr/ (files/ must exist too: it is
	// how flatpak recognises a build directory).
	usrBin := filepath.Join(d, "usr", "bin")
	if err := os.MkdirAll(usrBin, 0o755); err != nil {
		t.Fatal(err)
	}
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(usrBin, "busybox"), string(data), 0o755)
	if err := os.Symlink("busybox", filepath.Join(usrBin, "sh")); err != nil {
		t.Fatal(err)
	}
	ref := id + "/x86_64/" + branch
	writeFile(t, filepath.Join(d, "metadata"), "[Runtime]\nname="+id+"\nruntime="+ref+"\nsdk="+ref+"\n", 0o644)
	r.flatpak(t, "build-export", "--runtime", "--timestamp="+when.UTC().Format(time.RFC3339), r.Dir, d, branch)
	return "runtime/" + ref
}

// App exports the app id/x86_64/branch running on runtime ("ID/ARCH/BRANCH")
// with a commit dated when. A non-empty version ships AppStream data with
// that release, which is where `flatpak list` finds an app's version.
func (r *FlatpakRepo) App(t testing.TB, id, branch, runtime, version string, when time.Time) string {
	t.Helper()
	d := r.buildDir(t)
	writeFile(t, filepath.Join(d, "files", "bin", "hello"), "#!/bin/sh\necho hello from "+id+"\n", 0o755)
	writeFile(t, filepath.Join(d, "metadata"), "[Application]\nname="+id+"\nruntime="+runtime+"\n", 0o644)
	if version != "" {
		xml := `<?xml version="1.0" encoding="UTF-8"?>
<components version="0.14" origin="flatpak">
  <component type="desktop-application">
    <id>` + id + `</id><name>` + id + `</name><summary>A test app</summary>
    <releases><release version="` + version + `" timestamp="` + fmt.Sprint(when.Unix()) + `"/></releases>
  </component>
</components>
`
		var gz bytes.Buffer
		w := gzip.NewWriter(&gz)
		w.Write([]byte(xml))
		w.Close()
		writeFile(t, filepath.Join(d, "files", "share", "app-info", "xmls", id+".xml.gz"), gz.String(), 0o644)
	}
	r.flatpak(t, "build-finish", d, "--command=hello")
	r.flatpak(t, "build-export", "--timestamp="+when.UTC().Format(time.RFC3339), r.Dir, d, branch)
	return "app/" + id + "/x86_64/" + branch
}

// writeFile writes content to path with mode, creating parent directories.
func writeFile(t testing.TB, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
