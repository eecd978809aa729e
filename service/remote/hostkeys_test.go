package remote

import (
	"context"
	"github.com/keepsake/keepsake/service/internal/sshtest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/shared/grammar"
	"github.com/keepsake/keepsake/shared/kerr"
)

// keygenFingerprint is ssh-keygen -l's fingerprint of a public key file.
func keygenFingerprint(t *testing.T, pubFile string) string {
	t.Helper()
	out, err := exec.Command("ssh-keygen", "-l", "-E", "sha256", "-f", pubFile).Output()
	if err != nil {
		t.Fatalf("ssh-keygen -lf %s: %v", pubFile, err)
	}
	f := strings.Fields(string(out))
	if len(f) < 2 {
		t.Fatalf("ssh-keygen -lf: %q", out)
	}
	return f[1]
}

func TestFingerprintMatchesSSHKeygen(t *testing.T) {
	t.Parallel()
	cases := map[string][]string{
		"ed25519":   {"-t", "ed25519"},
		"ecdsa 256": {"-t", "ecdsa", "-b", "256"},
		"ecdsa 384": {"-t", "ecdsa", "-b", "384"},
		"ecdsa 521": {"-t", "ecdsa", "-b", "521"},
		"rsa":       {"-t", "rsa", "-b", "1024"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			key := filepath.Join(t.TempDir(), "key")
			if out, err := exec.Command("ssh-keygen", append(args, "-q", "-N", "", "-f", key)...).CombinedOutput(); err != nil {
				t.Fatalf("ssh-keygen: %v: %s", err, out)
			}
			data, _ := os.ReadFile(key + ".pub")
			f := strings.Fields(string(data))
			k := HostKey{Type: f[0], Key: f[1]}
			if !k.valid() {
				t.Fatalf("%v is not valid", k)
			}
			if got, want := k.Fingerprint(), keygenFingerprint(t, key+".pub"); got != want {
				t.Fatalf("Fingerprint = %q, ssh-keygen -l says %q", got, want)
			}
		})
	}
}

// knownHostsFile is what OpenSSH says about a host in a known_hosts file.
func keygenFind(t *testing.T, file, host string) string {
	t.Helper()
	out, _ := exec.Command("ssh-keygen", "-F", host, "-f", file).Output()
	return string(out)
}

func TestKnownHostsFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keys := map[string]HostKey{}
	for _, kind := range []string{"ed25519", "ecdsa", "ed25519-2"} {
		key := filepath.Join(dir, kind)
		exec.Command("ssh-keygen", "-q", "-t", strings.TrimSuffix(kind, "-2"), "-N", "", "-f", key).Run()
		data, _ := os.ReadFile(key + ".pub")
		f := strings.Fields(string(data))
		keys[kind] = HostKey{Type: f[0], Key: f[1]}
	}
	ed, ec, ed2 := keys["ed25519"], keys["ecdsa"], keys["ed25519-2"]
	kh := KnownHosts{Path: filepath.Join(dir, "state", "known_hosts")}
	// Lines that are not Keepsake's, or not about these hosts, stay.
	other := "# kept\n|1|c2FsdA==|aGFzaA== " + ed.String() + "\nelsewhere " + ed.String() + "\n"
	os.Mkdir(filepath.Dir(kh.Path), 0o700)
	os.WriteFile(kh.Path, []byte(other), 0o644)

	nas := grammar.Remote{Host: "nas"}
	box := grammar.Remote{Host: "127.0.0.1", Port: 2222}
	six := grammar.Remote{Host: "::1", Port: 2200}
	type expect map[*grammar.Remote][]HostKey
	steps := []struct {
		name  string
		do    func() error
		want  expect
		lines string // the file after the step
	}{
		{"nothing accepted", func() error { return nil },
			expect{&nas: nil, &box: nil}, other},
		{"accept at port 22", func() error { return kh.Accept(nas, []HostKey{ec, ed}) },
			expect{&nas: {ed, ec}, &box: nil},
			other + "nas " + ec.String() + "\nnas " + ed.String() + "\n"},
		{"accept at another port", func() error { return kh.Accept(box, []HostKey{ed}) },
			expect{&nas: {ed, ec}, &box: {ed}},
			other + "nas " + ec.String() + "\nnas " + ed.String() + "\n[127.0.0.1]:2222 " + ed.String() + "\n"},
		{"accept replaces", func() error { return kh.Accept(nas, []HostKey{ed2}) },
			expect{&nas: {ed2}, &box: {ed}},
			other + "[127.0.0.1]:2222 " + ed.String() + "\nnas " + ed2.String() + "\n"},
		{"ipv6", func() error { return kh.Accept(six, []HostKey{ec}) },
			expect{&six: {ec}, &box: {ed}},
			other + "[127.0.0.1]:2222 " + ed.String() + "\nnas " + ed2.String() + "\n[::1]:2200 " + ec.String() + "\n"},
		{"forget", func() error { return kh.Forget(nas) },
			expect{&nas: nil, &box: {ed}, &six: {ec}},
			other + "[127.0.0.1]:2222 " + ed.String() + "\n[::1]:2200 " + ec.String() + "\n"},
		{"forget what is not there", func() error { return kh.Forget(nas) },
			expect{&nas: nil, &box: {ed}},
			other + "[127.0.0.1]:2222 " + ed.String() + "\n[::1]:2200 " + ec.String() + "\n"},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		for r, want := range s.want {
			got, err := kh.Accepted(*r)
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("%s: Accepted(%s) = %v, %v; want %v", s.name, r.Address(), got, err, want)
			}
		}
		data, _ := os.ReadFile(kh.Path)
		if string(data) != s.lines {
			t.Fatalf("%s: file\n%s\nwant\n%s", s.name, data, s.lines)
		}
	}
	if m := mode(t, kh.Path); m != 0o600 {
		t.Fatalf("known_hosts mode %v, want 0600", m)
	}
	// OpenSSH reads the entries as written.
	if out := keygenFind(t, kh.Path, "[127.0.0.1]:2222"); !strings.Contains(out, ed.Key) {
		t.Fatalf("ssh-keygen -F [127.0.0.1]:2222 does not find the key:\n%s", out)
	}
	if out := keygenFind(t, kh.Path, "[::1]:2200"); !strings.Contains(out, ec.Key) {
		t.Fatalf("ssh-keygen -F [::1]:2200 does not find the key:\n%s", out)
	}
	// A line naming several hosts loses only the forgotten one.
	os.WriteFile(kh.Path, []byte("nas,[127.0.0.1]:2222 "+ed.String()+"\n"), 0o600)
	if err := kh.Forget(box); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(kh.Path); string(data) != "nas "+ed.String()+"\n" {
		t.Fatalf("after forgetting one of two hosts: %q", data)
	}
	for name, bad := range map[string][]HostKey{"none": nil, "not base64": {{Type: "ssh-ed25519", Key: "!!"}},
		"type mismatch": {{Type: "ssh-rsa", Key: ed.Key}}} {
		if err := kh.Accept(nas, bad); !kerr.Is(err, kerr.InvalidArgs) {
			t.Errorf("Accept(%s) = %v, want InvalidArgs", name, err)
		}
	}
	if _, err := (KnownHosts{Path: "relative"}).Accepted(nas); !kerr.Is(err, kerr.InvalidArgs) {
		t.Errorf("a relative known_hosts path: %v", err)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	sshd := sshtest.StartSSHD(t, sshtest.SSHDOptions{})
	ctx := context.Background()
	kh := KnownHosts{Path: filepath.Join(t.TempDir(), "known_hosts")}
	r := sshd.Remote()

	if err := kh.Verify(ctx, r, 5*time.Second); !kerr.Is(err, kerr.HostKeyUnknown) {
		t.Fatalf("Verify before accepting: %v, want HostKeyUnknown", err)
	}
	scanned, err := ScanHostKeys(ctx, r, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !sameKeys(scanned, hostKeys(sshd)) {
		t.Fatalf("ScanHostKeys = %v, the server has %v", scanned, hostKeys(sshd))
	}
	for _, k := range scanned {
		pub := filepath.Join(t.TempDir(), "k.pub")
		os.WriteFile(pub, []byte(k.String()+"\n"), 0o600)
		if k.Fingerprint() != keygenFingerprint(t, pub) {
			t.Fatalf("fingerprint of scanned %s: %s, ssh-keygen says %s", k.Type, k.Fingerprint(), keygenFingerprint(t, pub))
		}
	}
	if err := kh.Accept(r, scanned); err != nil {
		t.Fatal(err)
	}
	if err := kh.Verify(ctx, r, 5*time.Second); err != nil {
		t.Fatalf("Verify after accepting: %v", err)
	}
	// Another port of the same host is another computer.
	other := r
	other.Port = sshtest.FreePort(t)
	if err := kh.Verify(ctx, other, 5*time.Second); !kerr.Is(err, kerr.HostKeyUnknown) {
		t.Fatalf("Verify of another port: %v, want HostKeyUnknown", err)
	}

	old := hostKeys(sshd)
	sshd.RotateHostKey()
	err = kh.Verify(ctx, r, 5*time.Second)
	if !kerr.Is(err, kerr.HostKeyChanged) {
		t.Fatalf("Verify after the key changed: %v, want HostKeyChanged", err)
	}
	for _, k := range append(old, hostKeys(sshd)...) {
		if !strings.Contains(err.Error(), k.Fingerprint()) {
			t.Errorf("the message lacks %s: %v", k.Fingerprint(), err)
		}
	}
	// Only what was accepted is: the new key is not taken on silently.
	if got, _ := kh.Accepted(r); !sameKeys(got, old) {
		t.Fatalf("accepted keys changed to %v", got)
	}
}

func sameKeys(a, b []HostKey) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	cmp := func(x, y HostKey) int { return strings.Compare(x.String(), y.String()) }
	slices.SortFunc(a, cmp)
	slices.SortFunc(b, cmp)
	return slices.Equal(a, b)
}

func TestReachable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sshd := sshtest.StartSSHD(t, sshtest.SSHDOptions{})
	if err := Reachable(ctx, sshd.Remote(), 2*time.Second); err != nil {
		t.Fatalf("Reachable(sshd) = %v", err)
	}
	nobody := grammar.Remote{Host: "127.0.0.1", Port: sshtest.FreePort(t), Paths: []string{"/"}}
	err := Reachable(ctx, nobody, 2*time.Second)
	if !kerr.Is(err, kerr.HostUnreachable) || !strings.Contains(err.Error(), nobody.Address()) {
		t.Fatalf("Reachable(nothing listening) = %v, want HostUnreachable naming %s", err, nobody.Address())
	}
	if _, err := ScanHostKeys(ctx, nobody, 2*time.Second); !kerr.Is(err, kerr.HostUnreachable) {
		t.Fatalf("ScanHostKeys(nothing listening) = %v, want HostUnreachable", err)
	}
	tr := newTrust(t, nil)
	dest := t.TempDir()
	_, err = Pull(ctx, PullOptions{Remote: nobody, KeyFile: tr.id.KeyFile(), KnownHostsFile: tr.kh.Path, Dest: dest, Timeout: 2 * time.Second})
	if !kerr.Is(err, kerr.HostUnreachable) {
		t.Fatalf("Pull(nothing listening) = %v, want HostUnreachable", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := Reachable(cancelled, sshd.Remote(), time.Second); !kerr.Is(err, kerr.Cancelled) {
		t.Fatalf("Reachable(cancelled) = %v", err)
	}
	bad := grammar.Remote{Host: "-oProxyCommand=x", Port: 22}
	if err := Reachable(ctx, bad, time.Second); !kerr.Is(err, kerr.InvalidArgs) {
		t.Fatalf("Reachable(%q) = %v, want InvalidArgs", bad.Host, err)
	}
}
