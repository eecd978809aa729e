package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"regexp"
	"strconv"
	"strings"

	"github.com/keepsake/keepsake/shared/kerr"
)

// Load reads the configuration file at path. A missing file is not an
// error: it gives Default(), as on a fresh install.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return Default(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("open configuration: %w", err)
	}
	defer f.Close()
	return Parse(f, path)
}

// Parse reads a configuration file; file is the name its errors use. Every
// problem is a kerr.InvalidConfig error "file:line: what is wrong". Profiles
// start from DefaultProfile, so keys left out keep their defaults, and
// retention is stored in its canonical text.
func Parse(r io.Reader, file string) (*Config, error) {
	p := &parser{file: file, cfg: Default(), profileLine: map[string]int{}}
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			p.line++
			if p.line == 1 {
				line = strings.TrimPrefix(line, "\uFEFF") // a BOM from some editors
			}
			if perr := p.parseLine(strings.TrimRight(line, "\r\n")); perr != nil {
				return nil, perr
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", file, err)
		}
	}
	return p.cfg, nil
}

type parser struct {
	file string
	line int
	cfg  *Config

	// The section being read: global, or profile (an index into
	// cfg.Profiles); neither before the first header.
	inSection   bool
	global      bool
	profile     int
	keyLine     map[string]int // keys set in this section, for duplicates
	globalLine  int
	profileLine map[string]int
}

func (p *parser) errorf(format string, args ...any) error {
	return kerr.New(kerr.InvalidConfig, "%s:%d: %s", p.file, p.line, fmt.Sprintf(format, args...))
}

var headerRE = regexp.MustCompile(`^\[([^\]]*)\]\s*(?:#.*)?$`)
var profileHeaderRE = regexp.MustCompile(`^profile\s+"([^"]*)"$`)

func (p *parser) parseLine(raw string) error {
	line := strings.TrimSpace(raw)
	if line == "" || line[0] == '#' {
		return nil
	}
	if line[0] == '[' {
		return p.header(line)
	}
	k, v, ok := strings.Cut(line, "=")
	key := strings.TrimSpace(k)
	if !ok || key == "" {
		return p.errorf("expected key = value, [keepsake] or [profile \"name\"], got %q", line)
	}
	if !p.inSection {
		return p.errorf("key %q is outside a section (start with [keepsake] or [profile \"name\"])", key)
	}
	val, err := parseValue(v)
	if err != nil {
		return p.errorf("%s in %s: %v", key, p.section(), err)
	}
	if p.global {
		return p.globalKey(key, val)
	}
	return p.profileKey(key, val)
}

func (p *parser) section() string {
	if p.global {
		return "[keepsake]"
	}
	return fmt.Sprintf("[profile %q]", p.cfg.Profiles[p.profile].Name)
}

func (p *parser) header(line string) error {
	m := headerRE.FindStringSubmatch(line)
	if m == nil {
		return p.errorf("bad section header %q (want [keepsake] or [profile \"name\"])", line)
	}
	inner := strings.TrimSpace(m[1])
	p.inSection, p.keyLine = true, map[string]int{}
	if inner == "keepsake" {
		if p.globalLine != 0 {
			return p.errorf("duplicate section [keepsake] (first on line %d)", p.globalLine)
		}
		p.global, p.globalLine = true, p.line
		return nil
	}
	pm := profileHeaderRE.FindStringSubmatch(inner)
	if pm == nil {
		return p.errorf("bad section header %q (want [keepsake] or [profile \"name\"])", line)
	}
	name := pm[1]
	if err := checkName(name); err != nil {
		return p.errorf("profile name %q: %v", name, err)
	}
	if first, dup := p.profileLine[name]; dup {
		return p.errorf("duplicate profile %q (first on line %d)", name, first)
	}
	p.profileLine[name] = p.line
	p.cfg.Profiles = append(p.cfg.Profiles, DefaultProfile(name))
	p.global, p.profile = false, len(p.cfg.Profiles)-1
	return nil
}

// once refuses a second value for a key that is not repeatable: with two,
// which one the service used would be a guess.
func (p *parser) once(key string) error {
	if first, dup := p.keyLine[key]; dup {
		return p.errorf("%q is set twice in %s (first on line %d)", key, p.section(), first)
	}
	p.keyLine[key] = p.line
	return nil
}

func (p *parser) globalKey(key, val string) error {
	bad := func(err error) error { return p.errorf("%s in [keepsake]: %v", key, err) }
	switch key {
	case "missing-drive-days":
		n, err := parseDays(val)
		if err != nil {
			return bad(err)
		}
		p.cfg.MissingDriveDays = n
	case "on-failure":
		if strings.IndexByte(val, 0) >= 0 {
			return bad(errors.New("the command contains a NUL byte"))
		}
		p.cfg.OnFailure = val
	default:
		return p.errorf("unknown key %q in [keepsake]", key)
	}
	return p.once(key)
}

func (p *parser) profileKey(key, val string) error {
	pr := &p.cfg.Profiles[p.profile]
	bad := func(err error) error { return p.errorf("%s in %s: %v", key, p.section(), err) }
	var err error
	switch key {
	case "source":
		if err := checkSource(val); err != nil {
			return bad(err)
		}
		for _, s := range pr.Sources {
			if s == val {
				return bad(fmt.Errorf("%q is listed twice", val))
			}
		}
		pr.Sources = append(pr.Sources, val)
		return nil
	case "exclude":
		if err := checkExclude(val); err != nil {
			return bad(err)
		}
		pr.Excludes = append(pr.Excludes, val)
		return nil
	case "include-mount":
		if err := checkIncludeMount(val, pr.IncludeMounts); err != nil {
			return bad(err)
		}
		pr.IncludeMounts = append(pr.IncludeMounts, val)
		return nil
	case "owner":
		var n uint64
		n, err = strconv.ParseUint(val, 10, 32)
		if err != nil {
			err = fmt.Errorf("%q is not a numeric uid", val)
		}
		pr.Owner = uint32(n)
	case "drive":
		err = checkDrive(val)
		pr.Drive = val
	case "interval":
		pr.Interval, err = parseInterval(val)
	case "on-change":
		pr.OnChange, err = parseBool(val)
	case "quiet":
		pr.Quiet, err = parseDuration(val)
	case "on-plug":
		pr.OnPlug, err = parseBool(val)
	case "skip-on-battery":
		pr.SkipOnBattery, err = parseBool(val)
	case "flatpak":
		pr.Flatpak, err = parseBool(val)
	case "flatpak-offline":
		pr.FlatpakOffline, err = parseBool(val)
	case "retention":
		pol, perr := parseRetention(val)
		err = perr
		pr.Retention = RetentionText(pol)
	case "min-free":
		err = checkMinFree(val)
		pr.MinFree = val
	case "host":
		err = checkHost(val)
		pr.Host = val
	case "overdue-days":
		pr.OverdueDays, err = parseDays(val)
	case "restore-to":
		_, err = parseRestoreTo(val)
		pr.RestoreTo = val
	case "viewer":
		uid, err := parseUser(val)
		if err != nil {
			return bad(err)
		}
		pr.Viewers = append(pr.Viewers, uid)
		return nil
	default:
		return p.errorf("unknown key %q in %s", key, p.section())
	}
	if err != nil {
		return bad(err)
	}
	return p.once(key)
}

// parseValue reads what follows "=": a double-quoted Go string, or plain
// text up to a comment (a # at the start or after a space or tab), with
// surrounding blanks trimmed.
func parseValue(v string) (string, error) {
	v = strings.TrimLeft(v, " \t")
	if strings.HasPrefix(v, `"`) {
		end := -1
		for i := 1; i < len(v); i++ {
			if v[i] == '\\' {
				i++
			} else if v[i] == '"' {
				end = i
				break
			}
		}
		if end < 0 {
			return "", errors.New("the closing quote is missing")
		}
		s, err := strconv.Unquote(v[:end+1])
		if err != nil {
			return "", fmt.Errorf("bad escape in %s", v[:end+1])
		}
		if rest := strings.TrimLeft(v[end+1:], " \t"); rest != "" && rest[0] != '#' {
			return "", fmt.Errorf("unexpected text %q after the closing quote", rest)
		}
		return s, nil
	}
	for i := 0; i < len(v); i++ {
		if v[i] == '#' && (i == 0 || v[i-1] == ' ' || v[i-1] == '\t') {
			v = v[:i]
			break
		}
	}
	return strings.TrimRight(v, " \t"), nil
}

// parseDays reads a number of days after which something warns.
func parseDays(val string) (int, error) {
	n, err := strconv.Atoi(val)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number of days", val)
	}
	if n < 0 {
		return 0, fmt.Errorf("%d is negative (0 never warns)", n)
	}
	return n, nil
}

// parseUser reads a local user as a uid or a user name.
func parseUser(val string) (uint32, error) {
	if n, err := strconv.ParseUint(val, 10, 32); err == nil {
		return uint32(n), nil
	}
	u, err := user.Lookup(val)
	if err != nil {
		return 0, fmt.Errorf("%q is neither a uid nor a user of this computer", val)
	}
	n, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("user %q has uid %q", val, u.Uid)
	}
	return uint32(n), nil
}
