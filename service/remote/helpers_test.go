package remote

import (
	"github.com/keepsake/keepsake/service/internal/sshtest"
	"os"
	"path/filepath"
	"testing"
)

// trust is Keepsake's side of a test computer: its identity and a
// known_hosts file that accepts the computer's host keys.
type trust struct {
	id   *Identity
	kh   KnownHosts
	sshd *sshtest.SSHD
}

// newTrust makes an identity and a known_hosts file with sshd's keys.
func newTrust(t *testing.T, sshd *sshtest.SSHD) trust {
	t.Helper()
	dir := t.TempDir()
	id, err := LoadOrCreateIdentity(filepath.Join(dir, "ssh"))
	if err != nil {
		t.Fatal(err)
	}
	kh := KnownHosts{Path: filepath.Join(dir, "known_hosts")}
	if sshd != nil {
		if err := kh.Accept(sshd.Remote(), hostKeys(sshd)); err != nil {
			t.Fatal(err)
		}
	}
	return trust{id: id, kh: kh, sshd: sshd}
}

// opts are PullOptions for paths of the trusted computer into a new
// empty folder.
func (tr trust) opts(t *testing.T, paths ...string) PullOptions {
	t.Helper()
	dest := filepath.Join(t.TempDir(), "snapshot")
	if err := os.Mkdir(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	return PullOptions{Remote: tr.sshd.Remote(paths...), KeyFile: tr.id.KeyFile(), KnownHostsFile: tr.kh.Path, Dest: dest, Timeout: 10e9}
}

// startTrusted starts an sshd that authorizes a new identity with the
// given rrsync restriction line maker, and returns both.
func startTrusted(t *testing.T, root bool) (*sshtest.SSHD, trust) {
	t.Helper()
	sshtest.NeedRoot(t)
	tr := newTrust(t, nil)
	sshd := sshtest.StartSSHD(t, sshtest.SSHDOptions{Root: root, AuthorizedKeys: []string{tr.id.AuthorizedKeysLine(true)}})
	if err := tr.kh.Accept(sshd.Remote(), hostKeys(sshd)); err != nil {
		t.Fatal(err)
	}
	tr.sshd = sshd
	return sshd, tr
}

// hostKeys are the test server's host keys as this package reads them.
func hostKeys(s *sshtest.SSHD) []HostKey {
	var out []HostKey
	for _, k := range s.HostKeys() {
		out = append(out, HostKey{Type: k.Type, Key: k.Key})
	}
	return out
}
