// Package sshtest starts real sshd instances on 127.0.0.1, each with a
// fresh account and its own host keys, to pull from as from another
// computer in tests (of service/remote, the CLI and the daemon). It is a
// package of its own so that nothing of it, nor package testing, is
// linked into keepsaked.
package sshtest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"github.com/keepsake/keepsake/service/internal/proc"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keepsake/keepsake/shared/grammar"
)

// sshdPath is OpenSSH's server.
const sshdPath = "/usr/sbin/sshd"

// SSHDOptions configures StartSSHD.
type SSHDOptions struct {
	// AuthorizedKeys are the lines of the account's
	// ~/.ssh/authorized_keys (an Identity's AuthorizedKeysLine).
	AuthorizedKeys []string
	// Root makes the account an alias of root (uid 0, its own name and
	// home), as the account that backs up a whole computer is: it reads
	// every file. Otherwise the account is an ordinary user.
	Root bool
}

// SSHD is a running test sshd and its account.
type SSHD struct {
	t      testing.TB
	opts   SSHDOptions
	user   string
	home   string
	port   int
	dir    string // host keys, config, pid file
	config string
	keysAt string // the authorized_keys file
	uid    int
	gid    int
	others []Account // more accounts this sshd admits (AddAccount)
	log    *syncBuffer
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// syncBuffer is a bytes.Buffer for sshd's log, written by exec's copier.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// needs skips the test (or, when CI=true, fails it) when it cannot run
// here.
func needs(t testing.TB, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: a failure, not a skip)", why)
	}
	t.Skip(why)
}

// NeedRoot skips a test that needs root (fails it when CI=true).
func NeedRoot(t testing.TB) {
	t.Helper()
	needs(t, os.Geteuid() == 0, "needs root (to make user accounts, run sshd, give files away)")
}

// usersMu serializes useradd and userdel, which lock /etc/passwd.
var usersMu sync.Mutex

// StartSSHD makes a fresh account named kst<8 hex digits> (removed when
// the test ends) with the given authorized_keys, and starts
// /usr/sbin/sshd for it alone on a free port of 127.0.0.1 (and of ::1
// where there is IPv6) with new host keys, public key logins only. It is
// stopped, and anything its logins left running killed, when the test
// ends. It needs root, openssh-server and rsync: without them the test is
// skipped, or fails when the environment says CI=true. (A test killed
// before its cleanup leaves the account: userdel -f -r kst... removes it.)
func StartSSHD(t testing.TB, opts SSHDOptions) *SSHD {
	t.Helper()
	NeedRoot(t)
	for _, tool := range []string{sshdPath, "ssh", "ssh-keygen", "ssh-keyscan", "rsync", "rrsync", "useradd", "userdel"} {
		_, err := exec.LookPath(tool)
		needs(t, err == nil, fmt.Sprintf("needs %s (apt-get install openssh-server openssh-client rsync passwd)", tool))
	}
	s := &SSHD{t: t, opts: opts, dir: t.TempDir(), log: &syncBuffer{}}
	s.makeUser()
	for _, kind := range []string{"ed25519", "ecdsa"} {
		s.makeHostKey(kind)
	}
	s.AuthorizeKeys(opts.AuthorizedKeys...)
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("sshd on port %d for %s:\n%s", s.port, s.user, s.log.String())
		}
	})
	// Another test may take the free port before sshd binds it: try again
	// on a new one.
	for try := 0; ; try++ {
		s.port = FreePort(t)
		s.writeConfig()
		err := s.start()
		if err == nil {
			return s
		}
		if try == 4 || !strings.Contains(s.log.String(), "Address already in use") {
			t.Fatalf("start sshd: %v\n%s", err, s.log.String())
		}
	}
}

// makeUser adds the account, with a locked-but-usable password field ('*':
// with UsePAM no, sshd refuses accounts whose password is locked with '!').
func (s *SSHD) makeUser() {
	t := s.t
	var b [4]byte
	rand.Read(b[:])
	s.user = "kst" + hex.EncodeToString(b[:])
	args := []string{"-m", "-p", "*", "-s", "/bin/sh", "-c", "Keepsake test"}
	if s.opts.Root {
		args = append(args, "-o", "-u", "0", "-g", "0")
	}
	if out, err := users("useradd", append(args, s.user)...); err != nil {
		t.Fatalf("useradd %s: %v: %s", s.user, err, out)
	}
	t.Cleanup(func() {
		// -f: an alias of root is "in use" by every root process.
		if out, err := users("userdel", "-f", "-r", s.user); err != nil && !strings.Contains(out, "mail spool") {
			t.Errorf("userdel %s: %v: %s", s.user, err, out)
		}
	})
	u, err := user.Lookup(s.user)
	if err != nil {
		t.Fatal(err)
	}
	s.home = u.HomeDir
	s.uid, _ = strconv.Atoi(u.Uid)
	s.gid, _ = strconv.Atoi(u.Gid)
	ssh := filepath.Join(s.home, ".ssh")
	if err := os.Mkdir(ssh, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(ssh, s.uid, s.gid); err != nil {
		t.Fatal(err)
	}
	s.keysAt = filepath.Join(ssh, "authorized_keys")
}

// users runs useradd or userdel, waiting for another process's lock on
// /etc/passwd.
func users(tool string, args ...string) (string, error) {
	usersMu.Lock()
	defer usersMu.Unlock()
	var out []byte
	var err error
	for try := 0; try < 50; try++ {
		out, err = exec.Command(tool, args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "lock") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return string(out), err
}

func (s *SSHD) makeHostKey(kind string) {
	key := filepath.Join(s.dir, "ssh_host_"+kind+"_key")
	os.Remove(key)
	os.Remove(key + ".pub")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "", "-f", key).CombinedOutput(); err != nil {
		s.t.Fatalf("ssh-keygen host key: %v: %s", err, out)
	}
}

func (s *SSHD) writeConfig() {
	config := fmt.Sprintf(`# Keepsake test sshd for %[1]s
Port %[2]d
ListenAddress 127.0.0.1
ListenAddress [::1]
HostKey %[3]s/ssh_host_ed25519_key
HostKey %[3]s/ssh_host_ecdsa_key
PidFile %[3]s/sshd.pid
UsePAM no
AuthorizedKeysFile %[4]s .ssh/authorized_keys
StrictModes yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
PermitRootLogin prohibit-password
AllowUsers %[1]s%[5]s
PermitUserEnvironment no
AllowTcpForwarding no
AllowAgentForwarding no
X11Forwarding no
PermitTunnel no
PrintMotd no
UseDNS no
MaxStartups 64
LogLevel VERBOSE
`, s.user, s.port, s.dir, s.keysAt, s.otherUsers())
	s.config = filepath.Join(s.dir, "sshd_config")
	if err := os.WriteFile(s.config, []byte(config), 0o600); err != nil {
		s.t.Fatal(err)
	}
}

// Account is another ordinary account of the test computer.
type Account struct {
	User, Home string
	UID, GID   int
}

func (s *SSHD) otherUsers() string {
	var b strings.Builder
	for _, a := range s.others {
		b.WriteString(" " + a.User)
	}
	return b.String()
}

// AddAccount adds an ordinary account that this sshd admits with the
// given authorized_keys lines (a key the first account's lines already
// name gets this account's lines here: sshd reads each account's own
// file), and restarts sshd on the same port.
func (s *SSHD) AddAccount(lines ...string) Account {
	s.t.Helper()
	other := &SSHD{t: s.t, opts: SSHDOptions{}}
	other.makeUser()
	other.AuthorizeKeys(lines...)
	a := Account{User: other.user, Home: other.home, UID: other.uid, GID: other.gid}
	s.Stop()
	s.others = append(s.others, a)
	s.writeConfig()
	s.Start()
	return a
}

// AuthorizeKeys replaces the account's authorized_keys; sshd reads it at
// each login.
func (s *SSHD) AuthorizeKeys(lines ...string) {
	data := strings.Join(lines, "\n")
	if len(lines) > 0 {
		data += "\n"
	}
	if err := os.WriteFile(s.keysAt, []byte(data), 0o600); err != nil {
		s.t.Fatal(err)
	}
	if err := os.Chown(s.keysAt, s.uid, s.gid); err != nil {
		s.t.Fatal(err)
	}
}

// start runs sshd and waits until it accepts connections.
func (s *SSHD) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	cmd := exec.Command(sshdPath, "-D", "-e", "-f", s.config)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.address(), time.Second)
		if err == nil {
			c.Close()
			s.cmd, s.exited = cmd, exited
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("sshd exited at once")
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			return fmt.Errorf("sshd does not accept connections on %s", s.address())
		}
	}
}

func (s *SSHD) address() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Start starts sshd again, on the same port, after Stop.
func (s *SSHD) Start() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("restart sshd: %v\n%s", err, s.log.String())
	}
}

// Stop stops sshd and every process its logins started.
func (s *SSHD) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	pids := append(proc.Descendants(s.cmd.Process.Pid), s.cmd.Process.Pid)
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	deadline := time.Now().Add(2 * time.Second)
	for _, pid := range pids[:len(pids)-1] {
		for Alive(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if Alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	s.cmd = nil
}

// Alive reports whether pid runs (a zombie does not).
func Alive(pid int) bool { return proc.Alive(pid) }

// RotateHostKey gives the server new host keys (as a reinstall, or an
// impostor, would) and restarts it if it ran.
func (s *SSHD) RotateHostKey() {
	s.mu.Lock()
	running := s.cmd != nil
	s.mu.Unlock()
	s.Stop()
	for _, kind := range []string{"ed25519", "ecdsa"} {
		s.makeHostKey(kind)
	}
	if running {
		s.Start()
	}
}

// HostKey is one of the server's public host keys, with its fingerprint
// as ssh-keygen -l prints it: what an administrator reads on that
// computer, independent of the code under test.
type HostKey struct {
	Type, Key, Fingerprint string
}

// String is the key as known_hosts and .pub files write it.
func (k HostKey) String() string { return k.Type + " " + k.Key }

// HostKeys are the server's current public host keys.
func (s *SSHD) HostKeys() []HostKey {
	var keys []HostKey
	for _, kind := range []string{"ed25519", "ecdsa"} {
		pub := filepath.Join(s.dir, "ssh_host_"+kind+"_key.pub")
		data, err := os.ReadFile(pub)
		if err != nil {
			s.t.Fatal(err)
		}
		f := strings.Fields(string(data))
		out, err := exec.Command("ssh-keygen", "-l", "-E", "sha256", "-f", pub).Output()
		if err != nil {
			s.t.Fatalf("ssh-keygen -lf %s: %v", pub, err)
		}
		keys = append(keys, HostKey{Type: f[0], Key: f[1], Fingerprint: strings.Fields(string(out))[1]})
	}
	return keys
}

// Remote is this computer's address with paths, for Pull.
func (s *SSHD) Remote(paths ...string) grammar.Remote {
	return grammar.Remote{User: s.user, Host: "127.0.0.1", Port: s.port, Paths: paths}
}

// RemoteIPv6 is Remote over IPv6 loopback ([::1]); ok is false when
// sshd could not listen there (no IPv6 on this machine).
func (s *SSHD) RemoteIPv6(paths ...string) (r grammar.Remote, ok bool) {
	r = grammar.Remote{User: s.user, Host: "::1", Port: s.port, Paths: paths}
	c, err := net.DialTimeout("tcp", r.Address(), time.Second)
	if err != nil {
		return r, false
	}
	c.Close()
	return r, true
}

// User is the account's name.
func (s *SSHD) User() string { return s.user }

// Home is the account's home folder.
func (s *SSHD) Home() string { return s.home }

// UID is the account's uid (0 with Root).
func (s *SSHD) UID() int { return s.uid }

// GID is the account's primary gid.
func (s *SSHD) GID() int { return s.gid }

// Port is the port sshd listens on.
func (s *SSHD) Port() int { return s.port }

// Log is what sshd has logged so far.
func (s *SSHD) Log() string { return s.log.String() }

// FreePort returns a TCP port of 127.0.0.1 on which nothing listens.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Sessions are the processes the server runs for logins (sshd's
// children and theirs).
func (s *SSHD) Sessions() []int {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	return proc.Descendants(cmd.Process.Pid)
}
