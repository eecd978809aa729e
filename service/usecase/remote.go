package usecase

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/engine"
	"github.com/keepsake/keepsake/service/exclude"
	"github.com/keepsake/keepsake/service/remote"
	"github.com/keepsake/keepsake/shared/grammar"
	"github.com/keepsake/keepsake/shared/kerr"
)

// ScanTimeout bounds asking another computer for its host key or whether
// it answers at all: a laptop that left the network must not hold up the
// others.
const ScanTimeout = 10 * time.Second

// Trust is the service's own ssh identity and the host keys its
// administrator accepted, kept root-only in the service's state folder
// (Dir/ssh). Nothing of the invoking user's ssh setup is used.
type Trust struct{ Dir string }

func (t Trust) sshDir() string { return filepath.Join(t.Dir, "ssh") }

func (t Trust) knownHosts() remote.KnownHosts {
	return remote.KnownHosts{Path: filepath.Join(t.sshDir(), "known_hosts")}
}

// Identity is the service's ed25519 key, made on first use.
func (t Trust) Identity() (*remote.Identity, error) {
	if err := os.MkdirAll(t.Dir, 0o755); err != nil {
		return nil, kerr.Wrap(kerr.Failed, err, "state folder %s", t.Dir)
	}
	return remote.LoadOrCreateIdentity(t.sshDir())
}

// KeyLine is the line to put in the other computer's
// ~/.ssh/authorized_keys: the service's key, allowed only a read-only
// rsync of the whole file system (rrsync -ro /), or, with writeDir, only
// writing into that one folder (to push restored files back).
func (t Trust) KeyLine(writeDir string) (string, error) {
	id, err := t.Identity()
	if err != nil {
		return "", err
	}
	var line string
	if writeDir == "" {
		line = id.AuthorizedKeysLine(true)
	} else {
		line = id.AuthorizedKeysLine(false, writeDir)
	}
	if line == "" {
		return "", kerr.New(kerr.InvalidArgs, "write folder %q: give one absolute folder on the other computer", writeDir)
	}
	return line, nil
}

// HostKeyState is what the service knows of a computer's host key.
type HostKeyState string

const (
	// HostKeyNew: no key accepted for this address yet.
	HostKeyNew HostKeyState = "new"
	// HostKeyAccepted: the computer offers a key the administrator
	// accepted.
	HostKeyAccepted HostKeyState = "accepted"
	// HostKeyDifferent: the computer offers keys, none of them the
	// accepted one: a reinstalled computer, or someone in between.
	HostKeyDifferent HostKeyState = "changed"
)

// HostKeyInfo is a key a computer offers now.
type HostKeyInfo struct {
	Type        string
	Fingerprint string
}

// HostKeys asks the computer for its host keys (ssh-keyscan) and compares
// them with the accepted ones.
func (t Trust) HostKeys(ctx context.Context, r grammar.Remote) ([]HostKeyInfo, HostKeyState, error) {
	offered, err := remote.ScanHostKeys(ctx, r, ScanTimeout)
	if err != nil {
		return nil, "", err
	}
	accepted, err := t.knownHosts().Accepted(r)
	if err != nil {
		return nil, "", err
	}
	state := HostKeyNew
	if len(accepted) > 0 {
		state = HostKeyDifferent
	}
	var out []HostKeyInfo
	for _, k := range offered {
		out = append(out, HostKeyInfo{Type: k.Type, Fingerprint: k.Fingerprint()})
		for _, a := range accepted {
			if a == k {
				state = HostKeyAccepted
			}
		}
	}
	return out, state, nil
}

// AcceptHostKey records the computer's host keys after the administrator
// compared fingerprint with the one the computer shows (ssh-keygen -lf
// /etc/ssh/ssh_host_ed25519_key.pub there). It asks the computer again
// and accepts only when it still offers that key: what is accepted is
// what was read, never whatever answers next. A key accepted earlier is
// replaced (the computer was reinstalled).
func (t Trust) AcceptHostKey(ctx context.Context, r grammar.Remote, fingerprint string) error {
	offered, err := remote.ScanHostKeys(ctx, r, ScanTimeout)
	if err != nil {
		return err
	}
	for _, k := range offered {
		if k.Fingerprint() == fingerprint {
			if _, err := t.Identity(); err != nil { // the folder, root-only
				return err
			}
			return t.knownHosts().Accept(r, []remote.HostKey{k})
		}
	}
	return kerr.New(kerr.HostKeyChanged, "%s does not offer the host key %s (it offers %s): nothing was accepted",
		r.Address(), fingerprint, fingerprints(offered))
}

func fingerprints(keys []remote.HostKey) string {
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += ", "
		}
		s += k.Fingerprint()
	}
	if s == "" {
		s = "none"
	}
	return s
}

// Remote is another computer's address.
type Remote = grammar.Remote

// ReachableWithin says whether the computer answers on its ssh port
// within timeout (HostUnreachable when it does not).
func ReachableWithin(ctx context.Context, r Remote, timeout time.Duration) error {
	return remote.Reachable(ctx, r, timeout)
}

// HasHostKey says whether a host key is accepted for the computer.
func (t Trust) HasHostKey(r Remote) bool {
	keys, err := t.knownHosts().Accepted(r)
	return err == nil && len(keys) > 0
}

// Fetch pulls the computer with the service's key, trusting only the
// accepted host keys.
func (t Trust) Fetch(r grammar.Remote) (engine.Fetch, error) {
	id, err := t.Identity()
	if err != nil {
		return nil, err
	}
	return pullWith(r, id.KeyFile(), t.knownHosts().Path), nil
}

// Send sends restores into the other computer's folder to (a profile's
// restore-to) with the service's key, trusting only accepted host keys.
func (t Trust) Send(to grammar.Remote) (*Sender, error) {
	id, err := t.Identity()
	if err != nil {
		return nil, err
	}
	kh := t.knownHosts().Path
	return &Sender{To: to, Send: func(ctx context.Context, root string, paths []string, progress func(int64)) (int64, int64, error) {
		st, err := remote.Push(ctx, remote.PushOptions{Remote: to, KeyFile: id.KeyFile(), KnownHostsFile: kh, Root: root, Paths: paths,
			Progress: func(p remote.PullProgress) { progress(p.Bytes) }})
		return st.FilesTransferred, st.TransferredSize, err
	}}, nil
}

// UserFetch pulls the computer as the invoking user, with that user's ssh
// keys, agent and known_hosts (keepsakectl --repo without the service).
func UserFetch(r grammar.Remote) engine.Fetch { return pullWith(r, "", "") }

func pullWith(r grammar.Remote, keyFile, knownHosts string) engine.Fetch {
	return func(ctx context.Context, req engine.FetchRequest) ([]engine.Warning, error) {
		st, err := remote.Pull(ctx, remote.PullOptions{Remote: r, KeyFile: keyFile, KnownHostsFile: knownHosts,
			Dest: req.Dest, LinkDest: req.LinkDest, Update: req.Update, Excludes: exclude.RsyncPatterns(req.Excludes),
			Progress: func(p remote.PullProgress) { req.Received(p.Bytes) }, Received: req.Arrived})
		if err != nil {
			return nil, err
		}
		req.Received(st.BytesSent)
		for _, p := range st.Missing {
			req.Gone(p)
		}
		var ws []engine.Warning
		for _, w := range st.Warnings {
			ws = append(ws, engine.Warning{Path: r.Host, Message: w})
		}
		return ws, nil
	}
}

// RemoteFile is the snapshot file naming the computer a snapshot was
// pulled from (<snapshot>/.keepsake/remote: its ssh:// address).
const RemoteFile = "remote"

// PullRequest makes q a backup of another computer: its paths, the
// transfer, and the address recorded with the snapshot.
func PullRequest(q BackupRequest, r grammar.Remote, fetch engine.Fetch) BackupRequest {
	q.Sources, q.Fetch = r.Paths, fetch
	q.Extras = append(q.Extras, engine.Extra{Name: RemoteFile, Data: []byte(r.String() + "\n")})
	return q
}

// RemoteOf says whether a snapshot was pulled from another computer, and
// from which address.
func (x *Repo) RemoteOf(s catalog.Snapshot) (string, bool) {
	data, err := x.Cat.SnapshotFile(s, RemoteFile)
	if err != nil || len(data) == 0 {
		return "", false
	}
	return strings.TrimSpace(string(data)), true
}

// ForHost is the same open drive seen as another host's (a profile that
// backs up another computer); closing it leaves the drive open.
func (x *Repo) ForHost(host string) *Repo {
	y := *x
	y.Host, y.own = host, false
	return &y
}
