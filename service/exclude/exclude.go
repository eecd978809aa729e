package exclude

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// kind says how a pattern component is matched. The special kinds exist
// because Excluded runs for every entry of a backup and most components are
// plain names or "*.ext", which need no glob engine.
type kind uint8

const (
	literal kind = iota // exact name, escapes removed
	suffix              // "*" followed by a literal
	prefix              // a literal followed by "*"
	glob                // anything else; handed to path.Match
	anyDirs             // "**": any number of components
)

// part is one compiled path component of a pattern.
type part struct {
	kind kind
	s    string
}

func (p *part) match(name string) bool {
	switch p.kind {
	case literal:
		return name == p.s
	case suffix:
		return strings.HasSuffix(name, p.s)
	case prefix:
		return strings.HasPrefix(name, p.s)
	case glob:
		ok, _ := path.Match(p.s, name) // validated in New
		return ok
	}
	return true // anyDirs
}

// rule is one compiled pattern; a "~/" pattern becomes one rule per home.
type rule struct {
	negate  bool
	dirOnly bool
	// baseOnly rules have a single part matched against the base name at
	// any depth, so the rest of the path is never looked at.
	baseOnly bool
	// parts match the path components below the root.
	parts []part
}

// Matcher decides which absolute paths a backup skips. Safe for concurrent
// use after New: it is never modified again.
type Matcher struct {
	rules []rule
}

// New compiles gitignore-style patterns (see the package documentation).
// homes lists the home directories that "~/" in a pattern stands for, each
// of them. A bad pattern gives an error naming it.
func New(patterns []string, homes []string) (*Matcher, error) {
	var homeParts [][]part
	seen := map[string]bool{}
	for _, h := range homes {
		if !filepath.IsAbs(h) {
			return nil, fmt.Errorf("exclude home directory %q: not absolute", h)
		}
		h = filepath.Clean(h)
		if seen[h] {
			continue // a home listed twice would only double the rules
		}
		seen[h] = true
		var ps []part
		for _, c := range strings.Split(h, "/") {
			if c != "" {
				// Home paths are real names: glob characters in them are literal.
				ps = append(ps, part{kind: literal, s: c})
			}
		}
		homeParts = append(homeParts, ps)
	}

	m := &Matcher{}
	for _, p := range patterns {
		rs, err := compile(p, homeParts)
		if err != nil {
			return nil, fmt.Errorf("exclude pattern %q: %w", p, err)
		}
		m.rules = append(m.rules, rs...)
	}
	return m, nil
}

// compile turns one pattern line into rules; comments and blank lines give
// none.
func compile(p string, homes [][]part) ([]rule, error) {
	p = trimTrailingSpace(p)
	if p == "" || p[0] == '#' {
		return nil, nil
	}
	var r rule
	if p[0] == '!' {
		r.negate, p = true, p[1:]
	}
	if strings.HasSuffix(p, "/") {
		r.dirOnly, p = true, strings.TrimRight(p, "/")
	}

	var anchors [][]part // components a rule starts with; nil means the root
	switch {
	case p == "~" || strings.HasPrefix(p, "~/"):
		if len(homes) == 0 {
			// No home to anchor at: the pattern cannot match anything.
			// Still validate it, so a typo shows up everywhere alike.
			_, err := compileParts(p[1:])
			return nil, err
		}
		anchors, p = homes, p[1:]
	case strings.HasPrefix(p, "/"):
		anchors = [][]part{nil}
	case !strings.Contains(p, "/"):
		r.baseOnly = true
		anchors = [][]part{nil}
	default:
		// Several source folders have no common base to anchor at, so a
		// relative path matches wherever it occurs.
		anchors = [][]part{{{kind: anyDirs}}}
	}

	rest, err := compileParts(p)
	if err != nil {
		return nil, err
	}
	out := make([]rule, 0, len(anchors))
	for _, a := range anchors {
		rr := r
		rr.parts = append(append([]part(nil), a...), rest...)
		rr.parts = collapseAnyDirs(rr.parts)
		if len(rr.parts) == 0 {
			// Only the root (or a home that is "/") is left, and the root
			// is never excluded.
			return nil, errors.New("matches nothing")
		}
		out = append(out, rr)
	}
	return out, nil
}

// compileParts splits p at slashes and compiles each component.
func compileParts(p string) ([]part, error) {
	var parts []part
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "":
			continue // leading slash or "a//b"
		case ".", "..":
			// Paths are clean, so these would silently never match.
			return nil, errors.New(`"." and ".." are not allowed`)
		case "**":
			parts = append(parts, part{kind: anyDirs})
			continue
		}
		if _, err := path.Match(c, ""); err != nil {
			return nil, err
		}
		parts = append(parts, compilePart(c))
	}
	return parts, nil
}

// compilePart picks the cheapest way to match a valid component.
func compilePart(c string) part {
	if lit, ok := unescape(c); ok {
		return part{kind: literal, s: lit}
	}
	if c[0] == '*' {
		if lit, ok := unescape(c[1:]); ok {
			return part{kind: suffix, s: lit}
		}
	}
	// unescape rejects a dangling backslash, so an escaped final "\*" falls
	// through to glob.
	if c[len(c)-1] == '*' {
		if lit, ok := unescape(c[:len(c)-1]); ok {
			return part{kind: prefix, s: lit}
		}
	}
	return part{kind: glob, s: c}
}

// unescape returns c without backslash escapes if it holds no unescaped
// glob characters.
func unescape(c string) (string, bool) {
	if !strings.ContainsAny(c, `*?[\`) {
		return c, true
	}
	var b strings.Builder
	for i := 0; i < len(c); i++ {
		switch c[i] {
		case '*', '?', '[':
			return "", false
		case '\\':
			i++
			if i == len(c) {
				return "", false
			}
		}
		b.WriteByte(c[i])
	}
	return b.String(), true
}

// collapseAnyDirs merges runs of "**", which mean the same as one and would
// otherwise multiply the backtracking in matchParts.
func collapseAnyDirs(ps []part) []part {
	out := ps[:0]
	for i, p := range ps {
		if p.kind == anyDirs && i > 0 && ps[i-1].kind == anyDirs {
			continue
		}
		out = append(out, p)
	}
	return out
}

// trimTrailingSpace drops trailing spaces, tabs and a CR (from files with
// CRLF line ends), but keeps a space escaped with a backslash, as gitignore
// does.
func trimTrailingSpace(p string) string {
	for len(p) > 0 {
		c := p[len(p)-1]
		if c != ' ' && c != '\t' && c != '\r' {
			break
		}
		// Count the backslashes before it: an odd number escapes it.
		n := 0
		for i := len(p) - 2; i >= 0 && p[i] == '\\'; i-- {
			n++
		}
		if n%2 == 1 {
			break
		}
		p = p[:len(p)-1]
	}
	return p
}

// Excluded reports whether the absolute, clean path is excluded; isDir tells
// whether it is a directory. Only the path itself is judged: the caller walks
// top-down and does not descend into excluded directories, as in gitignore,
// where a file inside an excluded directory is never asked about.
func (m *Matcher) Excluded(absPath string, isDir bool) bool {
	rel := strings.TrimPrefix(absPath, "/")
	if rel == "" {
		return false // the root has no name to match
	}
	name := rel[strings.LastIndexByte(rel, '/')+1:]
	excluded := false
	for i := range m.rules {
		r := &m.rules[i]
		if r.negate != excluded || (r.dirOnly && !isDir) {
			continue // cannot change the outcome
		}
		// The last part must match the base name whatever the rule is;
		// checking it first rejects nearly every rule without walking rel.
		last := &r.parts[len(r.parts)-1]
		if last.kind != anyDirs && !last.match(name) {
			continue
		}
		if r.baseOnly || matchParts(r.parts, rel) {
			excluded = !r.negate
		}
	}
	return excluded
}

// matchParts reports whether parts match all of rel, a slash-separated path
// without a leading slash. It slices rel instead of splitting it, so it does
// not allocate.
func matchParts(parts []part, rel string) bool {
	for len(parts) > 0 {
		p := &parts[0]
		if p.kind == anyDirs {
			parts = parts[1:]
			if len(parts) == 0 {
				// A trailing "**" matches what is inside, not the directory
				// itself, so "a/**" with "!a/keep" can re-include a/keep.
				return rel != ""
			}
			for {
				if matchParts(parts, rel) {
					return true
				}
				i := strings.IndexByte(rel, '/')
				if i < 0 {
					return false
				}
				rel = rel[i+1:]
			}
		}
		if rel == "" {
			return false
		}
		comp, next := rel, ""
		if i := strings.IndexByte(rel, '/'); i >= 0 {
			comp, next = rel[:i], rel[i+1:]
		}
		if !p.match(comp) {
			return false
		}
		parts, rel = parts[1:], next
	}
	return rel == ""
}

// DefaultPatterns are the exclusions applied unless the user turns them off:
// caches and trash, which are large, churn all the time, and are never
// missed after a restore.
func DefaultPatterns() []string {
	return []string{
		"~/.cache/",             // XDG cache directory
		"~/.local/share/Trash/", // the desktop trash in the home
		".Trash-*/",             // the desktop trash on other file systems
		"~/.var/app/*/cache/",   // Flatpak apps' XDG cache directories
		"~/.thumbnails/",        // pre-XDG thumbnail cache, still written by some apps
		// Flatpak's own object stores: reinstallable from their remotes
		// (the snapshot records what was installed), and so heavily
		// hardlinked that copying them would cost more than the apps.
		"/var/lib/flatpak/", "~/.local/share/flatpak/",
		// Kernel and runtime file systems, for a backup of "/": their
		// files are not data, and some never end.
		"/proc/", "/sys/", "/dev/", "/run/",
	}
}

// Homes returns the home directories "~/" stands for: $HOME if set, /root,
// and the home of every regular account (uid >= 1000) in /etc/passwd, so a
// backup run as root or as a service still skips every user's caches.
// Deduplicated and cleaned.
func Homes() []string {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		// Without the account list, $HOME and /root are still worth having.
		return homesFrom(os.Getenv("HOME"), nil)
	}
	defer f.Close()
	return homesFrom(os.Getenv("HOME"), f)
}

// homesFrom is Homes with its inputs passed in, for tests. passwd may be nil.
func homesFrom(home string, passwd io.Reader) []string {
	seen := map[string]bool{}
	var out []string
	add := func(h string) {
		if !filepath.IsAbs(h) {
			return
		}
		h = filepath.Clean(h)
		if h == "/" || h == "/nonexistent" || seen[h] {
			return
		}
		seen[h] = true
		out = append(out, h)
	}
	add(home)
	add("/root")
	if passwd == nil {
		return out
	}
	sc := bufio.NewScanner(passwd)
	for sc.Scan() {
		// name:password:uid:gid:gecos:home:shell
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 7 {
			continue
		}
		uid, err := strconv.Atoi(fields[2])
		// 65534 is nobody. The shell is not checked: an account with
		// nologin may still own files in a backed-up folder, and an extra
		// home costs only a few rules.
		if err != nil || uid < 1000 || uid == 65534 {
			continue
		}
		add(fields[5])
	}
	// A read error leaves a partial list, which still beats none.
	return out
}

// cacheDirSignature starts every valid CACHEDIR.TAG
// (https://bford.info/cachedir/).
const cacheDirSignature = "Signature: 8a477f597d28d172789f06886806bc55"

// CacheDirTagged reports whether dir holds a valid CACHEDIR.TAG, by which
// tools mark directories that can be regenerated. It reads at most the
// 43-byte signature, since it runs for every directory of a backup.
func CacheDirTagged(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "CACHEDIR.TAG"))
	if err != nil {
		return false
	}
	defer f.Close()
	var buf [len(cacheDirSignature)]byte
	if _, err := io.ReadFull(f, buf[:]); err != nil {
		return false // missing, unreadable or too short
	}
	return string(buf[:]) == cacheDirSignature
}
