package exclude

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// rule is one compiled pattern.
type rule struct {
	negate  bool
	dirOnly bool
	// base, when set, is matched against the last path component only.
	base string
	// parts are the components of an anchored pattern ("**" allowed).
	parts []string
}

// Matcher decides which absolute paths a backup skips. It is safe for
// concurrent use.
type Matcher struct {
	rules []rule
}

// New compiles gitignore-style patterns; "~/" stands for each of homes.
func New(patterns []string, homes []string) (*Matcher, error) {
	m := &Matcher{}
	for _, p := range patterns {
		rs, err := compile(p, homes)
		if err != nil {
			return nil, err
		}
		m.rules = append(m.rules, rs...)
	}
	return m, nil
}

func compile(p string, homes []string) ([]rule, error) {
	orig := p
	p = strings.TrimRight(p, " \t\r")
	if p == "" || strings.HasPrefix(p, "#") {
		return nil, nil
	}
	var r rule
	if strings.HasPrefix(p, "!") {
		r.negate, p = true, p[1:]
	} else if strings.HasPrefix(p, `\!`) || strings.HasPrefix(p, `\#`) {
		p = p[1:]
	}
	if strings.HasSuffix(p, "/") && !strings.HasSuffix(p, `\/`) {
		r.dirOnly = true
		p = strings.TrimRight(p, "/")
	}
	if p == "" {
		return nil, fmt.Errorf("exclude pattern %q: empty", orig)
	}
	if _, err := path.Match(p, ""); err != nil {
		return nil, fmt.Errorf("exclude pattern %q: %w", orig, err)
	}
	var anchors []string
	switch {
	case strings.HasPrefix(p, "~/"):
		for _, h := range homes {
			anchors = append(anchors, strings.TrimSuffix(filepath.Clean(h), "/")+p[1:])
		}
		if len(anchors) == 0 {
			return nil, nil
		}
	case strings.HasPrefix(p, "/"):
		anchors = []string{p}
	case !strings.Contains(p, "/"):
		r.base = p
		return []rule{r}, nil
	default:
		anchors = []string{"/**/" + p}
	}
	var out []rule
	for _, a := range anchors {
		rr := r
		rr.parts = strings.Split(strings.Trim(path.Clean(a), "/"), "/")
		out = append(out, rr)
	}
	return out, nil
}

// Excluded reports whether the clean absolute path is excluded. Only the
// path itself is judged: the caller does not descend into an excluded
// directory.
func (m *Matcher) Excluded(absPath string, isDir bool) bool {
	excluded := false
	var comps []string
	for i := range m.rules {
		r := &m.rules[i]
		if r.negate != excluded || (r.dirOnly && !isDir) {
			// A rule that cannot change the outcome is skipped.
			continue
		}
		var ok bool
		if r.base != "" {
			ok, _ = path.Match(r.base, path.Base(absPath))
		} else {
			if comps == nil {
				comps = strings.Split(strings.Trim(absPath, "/"), "/")
			}
			ok = matchParts(r.parts, comps)
		}
		if ok {
			excluded = !r.negate
		}
	}
	return excluded
}

// matchParts matches pattern components against path components, "**"
// standing for any number of components.
func matchParts(pat, comps []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			pat = pat[1:]
			if len(pat) == 0 {
				return true
			}
			for i := 0; i <= len(comps); i++ {
				if matchParts(pat, comps[i:]) {
					return true
				}
			}
			return false
		}
		if len(comps) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], comps[0]); !ok {
			return false
		}
		pat, comps = pat[1:], comps[1:]
	}
	return len(comps) == 0
}

// DefaultPatterns are skipped unless the user turns them off: caches and
// trash, which are large, change all the time and are never missed.
func DefaultPatterns() []string {
	return []string{
		"~/.cache/",
		"~/.local/share/Trash/",
		".Trash-*/",
		"~/.var/app/*/cache/",
		"~/.thumbnails/",
	}
}

// Homes lists the home directories "~/" stands for: $HOME, /root and the
// home of every regular account (uid >= 1000) in /etc/passwd.
func Homes() []string {
	seen := map[string]bool{}
	var out []string
	add := func(h string) {
		if h == "" || !filepath.IsAbs(h) || h == "/" || h == "/nonexistent" {
			return
		}
		h = filepath.Clean(h)
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	add(os.Getenv("HOME"))
	add("/root")
	if f, err := os.Open("/etc/passwd"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Split(sc.Text(), ":")
			if len(fields) < 7 {
				continue
			}
			if uid, err := strconv.Atoi(fields[2]); err == nil && uid >= 1000 && uid < 65534 {
				add(fields[5])
			}
		}
	}
	return out
}

// cacheDirSignature starts every valid CACHEDIR.TAG
// (https://bford.info/cachedir/).
const cacheDirSignature = "Signature: 8a477f597d28d172789f06886806bc55"

// CacheDirTagged reports whether dir holds a valid CACHEDIR.TAG.
func CacheDirTagged(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "CACHEDIR.TAG"))
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, len(cacheDirSignature))
	if _, err := io.ReadFull(f, buf); err != nil {
		return false
	}
	return string(buf) == cacheDirSignature
}
