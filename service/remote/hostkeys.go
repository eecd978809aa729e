package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/keepsake/keepsake/service/internal/atomicfile"
	"github.com/keepsake/keepsake/shared/grammar"
	"github.com/keepsake/keepsake/shared/kerr"
)

// HostKey is one public host key of a computer, as known_hosts and
// ssh-keyscan write it.
type HostKey struct {
	// Type is the key's algorithm: "ssh-ed25519", "ecdsa-sha2-nistp256",
	// "ssh-rsa"...
	Type string
	// Key is the key blob in standard base64.
	Key string
}

// Fingerprint is the key's fingerprint as ssh-keygen -l prints it:
// "SHA256:" and the unpadded base64 of the SHA-256 of the key blob.
func (k HostKey) Fingerprint() string {
	blob, err := base64.StdEncoding.DecodeString(k.Key)
	if err != nil {
		return "SHA256:(not base64)"
	}
	sum := sha256.Sum256(blob)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// String is "type key", a known_hosts entry without its host.
func (k HostKey) String() string { return k.Type + " " + k.Key }

// valid reports whether the key is well formed: base64 whose first field
// (an SSH string) is the key's type.
func (k HostKey) valid() bool {
	if k.Type == "" || strings.ContainsAny(k.Type, " \t\r\n") {
		return false
	}
	blob, err := base64.StdEncoding.DecodeString(k.Key)
	if err != nil || len(blob) < 4 {
		return false
	}
	n := binary.BigEndian.Uint32(blob)
	return uint64(n) <= uint64(len(blob)-4) && string(blob[4:4+n]) == k.Type
}

// describe lists fingerprints for a message: "SHA256:... (ssh-ed25519)".
func describe(keys []HostKey) string {
	var s []string
	for _, k := range keys {
		s = append(s, k.Fingerprint()+" ("+k.Type+")")
	}
	return strings.Join(s, ", ")
}

// typeRank orders keys as ssh prefers them.
func typeRank(t string) int {
	switch {
	case t == "ssh-ed25519":
		return 0
	case strings.HasPrefix(t, "ecdsa-"):
		return 1
	case t == "ssh-rsa":
		return 2
	}
	return 3
}

func sortKeys(keys []HostKey) {
	sort.SliceStable(keys, func(i, j int) bool { return typeRank(keys[i].Type) < typeRank(keys[j].Type) })
}

// seconds rounds a timeout up to whole seconds, at least 1, as ssh's
// options take it.
func seconds(d time.Duration) int {
	if d <= 0 {
		return 30
	}
	return int(math.Max(1, math.Ceil(d.Seconds())))
}

// ScanHostKeys asks the computer for its host keys (ed25519, ecdsa, rsa)
// with ssh-keyscan, without logging in. The keys are unverified: show
// their fingerprints to someone who can check them on the computer, and
// Accept them only then. A computer that does not answer, or answers
// without an ssh server, is HostUnreachable.
func ScanHostKeys(ctx context.Context, r grammar.Remote, timeout time.Duration) ([]HostKey, error) {
	if err := checkRemote(r); err != nil {
		return nil, err
	}
	if err := Reachable(ctx, r, timeout); err != nil {
		return nil, err
	}
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ssh-keyscan", "-p", strconv.Itoa(r.SSHPort()), "-T", strconv.Itoa(seconds(timeout)),
		"-t", "ed25519,ecdsa,rsa", "--", r.Host)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, kerr.Wrap(kerr.Cancelled, ctx.Err(), "scan the host keys of %s", r.Address())
	}
	if err != nil {
		return nil, kerr.Wrap(kerr.Failed, err, "ssh-keyscan %s: %s", r.Address(), lastLines(stderr.String(), 3))
	}
	var keys []HostKey
	seen := map[HostKey]bool{}
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || strings.HasPrefix(f[0], "#") {
			continue
		}
		k := HostKey{Type: f[1], Key: f[2]}
		if k.valid() && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, kerr.New(kerr.HostUnreachable, "%s answers but offers no ssh host key: is it an ssh server?", r.Address())
	}
	sortKeys(keys)
	return keys, nil
}

// KnownHosts is a known_hosts file that belongs to the service: the host
// keys it has accepted, one entry per line as OpenSSH writes them,
// "host type key" for port 22 and "[host]:port type key" otherwise. ssh
// reads it with -o UserKnownHostsFile. Entries for other hosts, comments
// and hashed entries are kept as they are. Changes are made by one
// process (the service); within it they are serialized.
type KnownHosts struct {
	Path string
}

// knownHostsMu serializes changes to known_hosts files in this process.
var knownHostsMu sync.Mutex

// hostPattern is how known_hosts names the remote's address.
func hostPattern(r grammar.Remote) string {
	if r.SSHPort() == 22 {
		return r.Host
	}
	return "[" + r.Host + "]:" + strconv.Itoa(r.SSHPort())
}

// read returns the file's lines; a missing file has none.
func (k KnownHosts) read() ([]string, error) {
	if k.Path == "" || !filepath.IsAbs(k.Path) {
		return nil, kerr.New(kerr.InvalidArgs, "known_hosts path %q is not absolute", k.Path)
	}
	data, err := os.ReadFile(k.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, kerr.Wrap(kerr.Failed, err, "read accepted host keys")
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines, nil
}

// entry splits a known_hosts line into its host patterns and key; ok is
// false for comments, blank lines, markers (@revoked, @cert-authority)
// and malformed lines.
func entry(line string) (hosts []string, key HostKey, ok bool) {
	f := strings.Fields(line)
	if len(f) < 3 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], "@") {
		return nil, HostKey{}, false
	}
	return strings.Split(f[0], ","), HostKey{Type: f[1], Key: f[2]}, true
}

// Accepted returns the keys accepted for r's address (host and port), in
// ssh's order of preference; none when nothing was accepted.
func (k KnownHosts) Accepted(r grammar.Remote) ([]HostKey, error) {
	lines, err := k.read()
	if err != nil {
		return nil, err
	}
	want := hostPattern(r)
	var keys []HostKey
	for _, line := range lines {
		hosts, key, ok := entry(line)
		if !ok {
			continue
		}
		for _, h := range hosts {
			if strings.EqualFold(h, want) {
				keys = append(keys, key)
				break
			}
		}
	}
	sortKeys(keys)
	return keys, nil
}

// Accept makes keys the accepted host keys of r's address, replacing any
// accepted before. The file is replaced atomically and is 0600.
func (k KnownHosts) Accept(r grammar.Remote, keys []HostKey) error {
	if err := checkRemote(r); err != nil {
		return err
	}
	if len(keys) == 0 {
		return kerr.New(kerr.InvalidArgs, "no host keys to accept for %s", r.Address())
	}
	for _, key := range keys {
		if !key.valid() {
			return kerr.New(kerr.InvalidArgs, "%q is not a valid %s host key", key.Key, key.Type)
		}
	}
	return k.rewrite(r, keys)
}

// Forget removes every accepted key of r's address.
func (k KnownHosts) Forget(r grammar.Remote) error {
	return k.rewrite(r, nil)
}

// rewrite drops r's address from every entry and appends keys for it.
func (k KnownHosts) rewrite(r grammar.Remote, keys []HostKey) error {
	knownHostsMu.Lock()
	defer knownHostsMu.Unlock()
	lines, err := k.read()
	if err != nil {
		return err
	}
	want := hostPattern(r)
	var out []string
	changed := false
	for _, line := range lines {
		hosts, key, ok := entry(line)
		if !ok {
			out = append(out, line)
			continue
		}
		var keep []string
		for _, h := range hosts {
			if !strings.EqualFold(h, want) {
				keep = append(keep, h)
			}
		}
		switch {
		case len(keep) == len(hosts):
			out = append(out, line)
		case len(keep) > 0:
			out = append(out, strings.Join(keep, ",")+" "+key.String())
			changed = true
		default:
			changed = true
		}
	}
	for _, key := range keys {
		out = append(out, want+" "+key.String())
		changed = true
	}
	if !changed {
		return nil
	}
	data := strings.Join(out, "\n")
	if len(out) > 0 {
		data += "\n"
	}
	if err := os.MkdirAll(filepath.Dir(k.Path), 0o700); err != nil {
		return kerr.Wrap(kerr.Failed, err, "save accepted host keys")
	}
	if err := atomicfile.Write(k.Path, []byte(data), 0o600); err != nil {
		return kerr.Wrap(kerr.Failed, err, "save accepted host keys")
	}
	return nil
}

// Verify checks that the computer presents the host key accepted for its
// address: HostKeyUnknown when none was accepted, HostKeyChanged (with the
// accepted and the presented fingerprints) when, for some key type, it
// presents another key than the accepted one, or none of the accepted
// types at all.
func (k KnownHosts) Verify(ctx context.Context, r grammar.Remote, timeout time.Duration) error {
	accepted, err := k.Accepted(r)
	if err != nil {
		return err
	}
	if len(accepted) == 0 {
		return kerr.New(kerr.HostKeyUnknown, "no host key is accepted for %s yet", r.Address())
	}
	presented, err := ScanHostKeys(ctx, r, timeout)
	if err != nil {
		return err
	}
	byType := map[string]map[string]bool{}
	for _, a := range accepted {
		if byType[a.Type] == nil {
			byType[a.Type] = map[string]bool{}
		}
		byType[a.Type][a.Key] = true
	}
	matched, differs := false, false
	for _, p := range presented {
		if keys, ok := byType[p.Type]; ok {
			if keys[p.Key] {
				matched = true
			} else {
				differs = true
			}
		}
	}
	if differs || !matched {
		return kerr.New(kerr.HostKeyChanged, "the host key of %s has changed: accepted %s; it now presents %s",
			r.Address(), describe(accepted), describe(presented))
	}
	return nil
}
