package cli_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/keepsake/keepsake/service/internal/sshtest"
)

// localUser is an account of this computer that runs keepsakectl with its
// own ssh key and known_hosts, as someone backing up another computer to
// a drive without the service does.
type localUser struct {
	name, home string
	uid, gid   int
}

func newLocalUser(t *testing.T) localUser {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	name := "ksc" + hex.EncodeToString(b[:])
	if out, err := exec.Command("useradd", "-m", "-s", "/bin/sh", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("userdel", "-f", "-r", name).Run() })
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	lu := localUser{name: name, home: u.HomeDir}
	lu.uid, _ = strconv.Atoi(u.Uid)
	lu.gid, _ = strconv.Atoi(u.Gid)
	return lu
}

// as runs a command as the user, in their home, with their environment.
func (u localUser) as(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("runuser", append([]string{"-u", u.name, "--"}, args...)...)
	cmd.Dir = u.home
	cmd.Env = []string{"HOME=" + u.home, "PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// buildCtl builds keepsakectl where every user may run it.
func buildCtl(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ksctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "keepsakectl")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/keepsake/keepsake/service/cmd/keepsakectl").CombinedOutput(); err != nil {
		t.Fatalf("build keepsakectl: %v\n%s", err, out)
	}
	return bin
}

// With --repo, keepsakectl backs up another computer over ssh with the
// invoking user's own key and known_hosts, and refuses a computer whose
// host key the user never accepted, by name.
func TestBackupAnotherComputerWithoutTheService(t *testing.T) {
	sshtest.NeedRoot(t)
	me := newLocalUser(t)
	bin := buildCtl(t)
	if out, err := me.as(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(me.home, ".ssh", "id_ed25519")); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(filepath.Join(me.home, ".ssh", "id_ed25519.pub"))
	if err != nil {
		t.Fatal(err)
	}
	laptop := sshtest.StartSSHD(t, sshtest.SSHDOptions{AuthorizedKeys: []string{strings.TrimSpace(string(pub))}})
	stranger := sshtest.StartSSHD(t, sshtest.SSHDOptions{AuthorizedKeys: []string{strings.TrimSpace(string(pub))}})

	// The laptop's files, its owner's.
	docs := filepath.Join(laptop.Home(), "docs")
	files := map[string]string{"report.txt": "quarterly numbers\n", "line\nbreak.txt": "a newline in the name", "caf\xe9.txt": "latin-1 name"}
	must(t, os.MkdirAll(docs, 0o755))
	for name, body := range files {
		must(t, os.WriteFile(filepath.Join(docs, name), []byte(body), 0o644))
	}
	must(t, os.Symlink("/etc", filepath.Join(docs, "etc-link")))
	exec.Command("chown", "-R", fmt.Sprintf("%d:%d", laptop.UID(), laptop.GID()), docs).Run()

	// Only the laptop is in the user's known_hosts.
	var known strings.Builder
	for _, k := range laptop.HostKeys() {
		fmt.Fprintf(&known, "[127.0.0.1]:%d %s\n", laptop.Port(), k.String())
	}
	must(t, os.WriteFile(filepath.Join(me.home, ".ssh", "known_hosts"), []byte(known.String()), 0o600))
	exec.Command("chown", "-R", me.name, filepath.Join(me.home, ".ssh")).Run()

	drive := filepath.Join(me.home, "drive")
	if out, err := me.as(t, "mkdir", drive); err != nil {
		t.Fatal(out, err)
	}
	if out, err := me.as(t, bin, "--repo", drive, "init"); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	addr := fmt.Sprintf("ssh://%s@127.0.0.1:%d%s", laptop.User(), laptop.Port(), docs)
	out, err := me.as(t, bin, "--repo", drive, "--host", "laptop", "--json", "backup", addr)
	if err != nil {
		t.Fatalf("backup of the laptop: %v\n%s", err, out)
	}
	var res struct {
		Snapshot      string `json:"snapshot"`
		Host          string `json:"host"`
		New           int64  `json:"new"`
		ReceivedBytes int64  `json:"received_bytes"`
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	must(t, json.Unmarshal([]byte(lines[len(lines)-1]), &res))
	if res.Host != "laptop" || res.New != 4 || res.ReceivedBytes == 0 {
		t.Errorf("result %+v, want host laptop, 4 new entries and bytes received\n%s", res, out)
	}
	stored := filepath.Join(drive, "Keepsake", "laptop", res.Snapshot) + docs
	for name, body := range files {
		got, err := os.ReadFile(filepath.Join(stored, name))
		if err != nil || string(got) != body {
			t.Errorf("%q stored as %q (%v), want %q", name, got, err, body)
		}
	}
	if target, err := os.Readlink(filepath.Join(stored, "etc-link")); err != nil || target != "/etc" {
		t.Errorf("symlink stored as %q (%v)", target, err)
	}
	// The drive says where the snapshot came from.
	if got, err := os.ReadFile(filepath.Join(drive, "Keepsake", "laptop", res.Snapshot, ".keepsake", "remote")); err != nil || !strings.HasPrefix(string(got), "ssh://") {
		t.Errorf(".keepsake/remote = %q, %v", got, err)
	}
	// ls shows the names byte for byte (non-UTF-8 bytes escaped as --json does).
	out, err = me.as(t, bin, "--repo", drive, "--host", "laptop", "ls", "latest", docs)
	if err != nil || !strings.Contains(out, "report.txt") || !strings.Contains(out, "etc-link") {
		t.Errorf("ls: %v\n%s", err, out)
	}

	// A computer never accepted: refused by name, nothing written.
	addr2 := fmt.Sprintf("ssh://%s@127.0.0.1:%d%s", stranger.User(), stranger.Port(), stranger.Home())
	out, err = me.as(t, bin, "--repo", drive, "--host", "stranger", "--json", "backup", addr2)
	if err == nil || !strings.Contains(out, `"error":"HostKeyUnknown"`) {
		t.Errorf("backup of a computer whose key was never accepted: %v\n%s\nwant the error HostKeyUnknown", err, out)
	}
	if ents, _ := os.ReadDir(filepath.Join(drive, "Keepsake", "stranger")); len(ents) > 0 {
		t.Errorf("left on the drive for the refused computer: %v", ents)
	}
}
