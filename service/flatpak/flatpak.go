package flatpak

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// Installation scopes.
const (
	ScopeSystem = "system"
	ScopeUser   = "user"
)

// Ref kinds.
const (
	KindApp     = "app"
	KindRuntime = "runtime"
)

// Installation is one Flatpak installation: the system-wide one, or one
// user's.
type Installation struct {
	Scope string // ScopeSystem or ScopeUser
	// User, UID, GID and Home are the installation's owner: root (and no
	// Home) for the system installation.
	User     string
	UID, GID uint32
	Home     string
	Dir      string // the installation directory, e.g. /var/lib/flatpak
}

// Ref is one installed app or runtime.
type Ref struct {
	Ref     string // full ref: "app/org.example.App/x86_64/stable"
	Kind    string // KindApp or KindRuntime
	ID      string
	Arch    string
	Branch  string
	Origin  string // the remote it was installed from
	Commit  string // the deployed commit (64 hex digits)
	Version string // the release version its AppStream data gives, if any
	// Timestamp is the deployed commit's date in seconds since the epoch,
	// 0 when unknown.
	Timestamp     int64
	InstalledSize int64 // bytes
}

// Remote is a configured remote of an installation.
type Remote struct {
	Name         string
	URL          string
	CollectionID string
	Title        string
	// Filter is the path of the remote's filter file, FilterText its
	// content when it could be read: the path may be gone on restore.
	Filter     string
	FilterText string
	// GPGKey holds the keys imported for this remote (OpenPGP packets, as
	// `flatpak remote-add --gpg-import` takes them); empty when it relies
	// on the system keyrings or on no key.
	GPGKey        []byte
	GPGVerify     bool
	Disabled      bool
	NoEnumerate   bool   // xa.noenumerate: hidden from search, as for .flatpakref origins
	NoDeps        bool   // xa.nodeps: not used for dependencies
	Priority      int    // xa.prio; 0 when not set
	DefaultBranch string // xa.default-branch
	Subset        string // xa.subset: the named subset of the repository used
	// What the remote's owner says about it (shown by software centres).
	Comment, Description, Homepage, Icon string
}

// Inventory is everything recorded about one installation.
type Inventory struct {
	Installation Installation
	Refs         []Ref
	Remotes      []Remote
	// Overrides maps "global" or an app id to the keyfile text of its
	// `flatpak override` settings.
	Overrides map[string]string
	Pinned    []string // `flatpak pin` patterns
	Masked    []string // `flatpak mask` patterns
}

// GlobalOverride is the Overrides key of the settings for every app.
const GlobalOverride = "global"

// Options says which flatpak to run and where to look.
type Options struct {
	// Flatpak is the flatpak binary; "" finds "flatpak" in PATH.
	Flatpak string
	// Env is added to the clean environment flatpak runs in (PATH, HOME,
	// LC_ALL=C, DBUS_SYSTEM_BUS_ADDRESS when set), overriding it, e.g.
	// FLATPAK_SYSTEM_DIR in tests. The installation's own directory
	// (FLATPAK_SYSTEM_DIR or FLATPAK_USER_DIR set to Installation.Dir)
	// always wins.
	Env []string
	// Users are the user installations to look at; nil means every user
	// of /etc/passwd whose ~/.local/share/flatpak is a directory they own.
	// A Dir left empty is Home/.local/share/flatpak.
	Users []Installation
	// Passwd is the passwd file read when Users is nil; "" is /etc/passwd.
	Passwd string
}

func (o Options) binary() (string, error) {
	name := o.Flatpak
	if name == "" {
		name = "flatpak"
	}
	return exec.LookPath(name)
}

// Installations finds the system installation and the users'
// installations. With no flatpak binary it returns nil and no error: no
// Flatpaks, which never fails a backup.
func Installations(ctx context.Context, opts Options) ([]Installation, error) {
	if _, err := opts.binary(); err != nil {
		return nil, nil
	}
	var out []Installation
	sys := Installation{Scope: ScopeSystem, User: "root"}
	r, err := newRunner(sys, opts)
	if err != nil {
		return nil, err
	}
	// The first line is the default system installation (FLATPAK_SYSTEM_DIR
	// or the compiled-in path); further lines are installations.d extras,
	// which Keepsake does not handle yet.
	b, err := r.flatpakGlobal(ctx, "--installations")
	if err != nil {
		return nil, fmt.Errorf("find the system installation: %w", err)
	}
	if line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n"); line != "" {
		sys.Dir = filepath.Clean(strings.TrimSpace(line))
		if fi, err := os.Stat(sys.Dir); err == nil && fi.IsDir() {
			out = append(out, sys)
		}
	}
	users := opts.Users
	if users == nil {
		users, err = passwdInstallations(opts.Passwd)
		if err != nil {
			return nil, err
		}
	}
	for _, u := range users {
		u.Scope = ScopeUser
		if u.Dir == "" {
			u.Dir = filepath.Join(u.Home, ".local", "share", "flatpak")
		}
		out = append(out, u)
	}
	return out, nil
}

// passwdInstallations lists the users of a passwd file with a flatpak
// directory they own in their home.
func passwdInstallations(passwd string) ([]Installation, error) {
	if passwd == "" {
		passwd = "/etc/passwd"
	}
	f, err := os.Open(passwd)
	if err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	defer f.Close()
	var out []Installation
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 7 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		uid, err1 := strconv.ParseUint(fields[2], 10, 32)
		gid, err2 := strconv.ParseUint(fields[3], 10, 32)
		home := fields[5]
		if err1 != nil || err2 != nil || !filepath.IsAbs(home) || home == "/" {
			continue
		}
		dir := filepath.Join(home, ".local", "share", "flatpak")
		// Two accounts sharing a home would list one installation twice.
		if seen[dir] {
			continue
		}
		// Owned by the user: an installation is theirs only if they own
		// it, whatever a home directory of someone else contains.
		fi, err := os.Stat(dir)
		if err != nil || !fi.IsDir() {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Uid != uint32(uid) {
			continue
		}
		seen[dir] = true
		out = append(out, Installation{Scope: ScopeUser, User: fields[0], UID: uint32(uid), GID: uint32(gid), Home: home, Dir: dir})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", passwd, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].User < out[j].User })
	return out, nil
}

// DataDir is where the app appID keeps its data for the user whose home is
// home: ~/.var/app/ID. Apps of the system installation keep theirs in each
// user's home too. An id that is not a valid app id gives "".
func DataDir(home, appID string) string {
	if !validID(appID) || home == "" {
		return ""
	}
	return filepath.Join(home, ".var", "app", appID)
}

// validID says whether s is a Flatpak app or runtime id: two or more
// dot-separated elements of letters, digits, "_" and "-". It is laxer than
// flatpak (which also rejects leading digits) and only keeps ids read from
// a snapshot from naming paths or options.
func validID(s string) bool {
	if len(s) == 0 || len(s) > 255 || s[0] == '-' {
		return false
	}
	elems := strings.Split(s, ".")
	if len(elems) < 2 {
		return false
	}
	for _, e := range elems {
		if e == "" {
			return false
		}
		for _, c := range e {
			if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}

// validToken says whether s is safe as a flatpak argument that is not an
// option and as a file name: arches, branches, remote names.
func validToken(s string) bool {
	if s == "" || len(s) > 255 || s[0] == '-' || s == "." || s == ".." {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c == '-' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// parseRef splits "KIND/ID/ARCH/BRANCH".
func parseRef(s string) (kind, id, arch, branch string, err error) {
	p := strings.Split(s, "/")
	if len(p) != 4 || (p[0] != KindApp && p[0] != KindRuntime) || !validID(p[1]) || !validToken(p[2]) || !validToken(p[3]) {
		return "", "", "", "", fmt.Errorf("invalid ref %q", s)
	}
	return p[0], p[1], p[2], p[3], nil
}

// validPattern says whether s can be a pin or mask pattern: a ref or a
// partial one with "*" globs.
func validPattern(s string) bool {
	if s == "" || len(s) > 512 || s[0] == '-' {
		return false
	}
	for _, c := range s {
		if c <= ' ' || c == 0x7f || c == ';' {
			return false
		}
	}
	return true
}

var errNoFlatpak = errors.New("flatpak is not installed")
