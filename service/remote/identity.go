package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/keepsake/keepsake/service/internal/atomicfile"
	"github.com/keepsake/keepsake/shared/kerr"
)

// keyName is the private key's file name in an identity's folder; the
// public key is keyName + ".pub".
const keyName = "id_ed25519"

// Identity is Keepsake's own ssh key, the one other computers authorize.
type Identity struct {
	keyFile string
	pub     string // "ssh-ed25519 AAAA... keepsake@host"
}

// LoadOrCreateIdentity returns the key in dir, making dir (0700) and an
// ed25519 key dir/id_ed25519 (0600, no passphrase, comment
// keepsake@<hostname>) the first time. dir must not be a symlink and must
// belong to the process's effective user; looser modes of dir and the key
// are tightened. A missing or stale id_ed25519.pub is rewritten from the
// private key.
func LoadOrCreateIdentity(dir string) (*Identity, error) {
	if !filepath.IsAbs(dir) {
		return nil, kerr.New(kerr.InvalidArgs, "identity folder %q is not an absolute path", dir)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, kerr.Wrap(kerr.Failed, err, "make the parent of identity folder %s", dir)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, kerr.Wrap(kerr.Failed, err, "make identity folder %s", dir)
	}
	if err := checkOwned(dir, true); err != nil {
		return nil, err
	}
	keyFile := filepath.Join(dir, keyName)
	if _, err := os.Lstat(keyFile); errors.Is(err, fs.ErrNotExist) {
		if err := createKey(dir, keyFile); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, kerr.Wrap(kerr.Failed, err, "read identity key %s", keyFile)
	}
	if err := checkOwned(keyFile, false); err != nil {
		return nil, err
	}
	pub, err := publicOf(keyFile)
	if err != nil {
		return nil, err
	}
	pubFile := keyFile + ".pub"
	if old, err := os.ReadFile(pubFile); err != nil || !sameKey(strings.TrimSpace(string(old)), pub) {
		if err := atomicfile.Write(pubFile, []byte(pub+"\n"), 0o644); err != nil {
			return nil, kerr.Wrap(kerr.Failed, err, "write public key %s", pubFile)
		}
	}
	return &Identity{keyFile: keyFile, pub: pub}, nil
}

// checkOwned refuses a symlink, a file of the wrong type or one owned by
// another user, and tightens the mode to 0700 (folders) or 0600 (files).
func checkOwned(p string, dir bool) error {
	st, err := os.Lstat(p)
	if err != nil {
		return kerr.Wrap(kerr.Failed, err, "check %s", p)
	}
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		return kerr.New(kerr.UnsafePath, "%s is a symlink: Keepsake keeps its ssh key only in a real folder", p)
	case dir && !st.IsDir():
		return kerr.New(kerr.UnsafePath, "%s is not a folder", p)
	case !dir && !st.Mode().IsRegular():
		return kerr.New(kerr.UnsafePath, "%s is not a regular file", p)
	}
	if uid := st.Sys().(*syscall.Stat_t).Uid; int(uid) != os.Geteuid() {
		return kerr.New(kerr.UnsafePath, "%s belongs to uid %d, not to uid %d that runs Keepsake", p, uid, os.Geteuid())
	}
	want := fs.FileMode(0o600)
	if dir {
		want = 0o700
	}
	if st.Mode().Perm() != want {
		if err := os.Chmod(p, want); err != nil {
			return kerr.Wrap(kerr.Failed, err, "restrict the mode of %s", p)
		}
	}
	return nil
}

// createKey makes the key in a temporary folder inside dir and links it
// into place, so that a crash or a concurrent caller never leaves a half
// written key: the first link wins and the loser uses the winner's key.
func createKey(dir, keyFile string) error {
	tmp, err := os.MkdirTemp(dir, ".new-key-*")
	if err != nil {
		return kerr.Wrap(kerr.Failed, err, "make a key in %s", dir)
	}
	defer os.RemoveAll(tmp)
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	host = strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f {
			return '_'
		}
		return r
	}, host)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	newKey := filepath.Join(tmp, keyName)
	cmd := exec.CommandContext(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "keepsake@"+host, "-f", newKey)
	if out, err := cmd.CombinedOutput(); err != nil {
		return kerr.Wrap(kerr.Failed, err, "ssh-keygen: %s", strings.TrimSpace(string(out)))
	}
	if err := os.Chmod(newKey, 0o600); err != nil {
		return kerr.Wrap(kerr.Failed, err, "make key")
	}
	if err := os.Link(newKey, keyFile); err != nil && !errors.Is(err, fs.ErrExist) {
		return kerr.Wrap(kerr.Failed, err, "install key %s", keyFile)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// publicOf asks ssh-keygen for the public key line of a private key; it
// also proves the key is readable and unencrypted.
func publicOf(keyFile string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ssh-keygen", "-y", "-f", keyFile)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	cmd.Stdin = strings.NewReader("")
	if err := cmd.Run(); err != nil {
		return "", kerr.Wrap(kerr.Failed, err, "read the public half of %s: %s", keyFile, strings.TrimSpace(stderr.String()))
	}
	pub := strings.TrimSpace(out.String())
	if f := strings.Fields(pub); len(f) < 2 || f[0] != "ssh-ed25519" {
		return "", kerr.New(kerr.Failed, "%s is not an ed25519 key: %q", keyFile, pub)
	}
	return pub, nil
}

// sameKey compares the type and key of two public key lines, ignoring the
// comment.
func sameKey(a, b string) bool {
	fa, fb := strings.Fields(a), strings.Fields(b)
	return len(fa) >= 2 && len(fb) >= 2 && fa[0] == fb[0] && fa[1] == fb[1]
}

// KeyFile is the private key's path, for ssh -i.
func (id *Identity) KeyFile() string { return id.keyFile }

// PublicKey is the public key line: "ssh-ed25519 AAAA... keepsake@host".
func (id *Identity) PublicKey() string { return id.pub }

// Fingerprint is the key's SHA256 fingerprint as ssh-keygen -l prints it.
func (id *Identity) Fingerprint() string {
	f := strings.Fields(id.pub)
	return HostKey{Type: f[0], Key: f[1]}.Fingerprint()
}

// AuthorizedKeysLine is the line to add to ~/.ssh/authorized_keys on the
// other computer so that this key may do one thing only:
//
//   - readOnly, no path: read the whole computer, nothing else:
//     restrict,command="rrsync -ro /" ssh-ed25519 AAAA... keepsake@host
//   - readOnly, one folder: read only below it (rrsync then shows that
//     folder as "/", so pulls must name paths relative to it);
//   - not readOnly, one folder: only write into it (rrsync -wo DIR), for
//     pushing restores back.
//
// "restrict" turns off forwarding, terminals and ~/.ssh/rc. The folder is
// quoted for the remote shell and for authorized_keys. The result is ""
// when the request cannot be expressed: not readOnly without exactly one
// folder, more than one folder, a relative path, or a path with a NUL,
// carriage return or newline.
func (id *Identity) AuthorizedKeysLine(readOnly bool, paths ...string) string {
	dir, mode := "/", "-ro"
	switch {
	case len(paths) > 1:
		return ""
	case len(paths) == 1:
		dir = paths[0]
	case !readOnly:
		return ""
	}
	if !readOnly {
		mode = "-wo"
	}
	if !filepath.IsAbs(dir) || strings.ContainsAny(dir, "\x00\r\n") {
		return ""
	}
	command := "rrsync " + mode + " " + shellQuote(filepath.Clean(dir))
	return fmt.Sprintf("restrict,command=\"%s\" %s", strings.ReplaceAll(command, `"`, `\"`), id.pub)
}

// shellQuote quotes s for a POSIX shell, leaving plain words alone.
func shellQuote(s string) string {
	plain := s != ""
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("/._-+:@,=%", c) >= 0) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
