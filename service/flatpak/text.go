package flatpak

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/keepsake/keepsake/shared/kerr"
)

// TextFormat is the version of the text form Text writes.
const TextFormat = 1

// textHeader opens the text form: what the file is and how to use it by hand.
const textHeader = `# Keepsake: the Flatpak apps of this machine when the snapshot was taken.
#
# One [installation] after another (the system-wide one, then each user's),
# each followed by its remotes, apps and runtimes, override settings, pins
# and masks. To put an installation back by hand, run its commented
# "flatpak" commands in order: as root for the system installation, as the
# user for a user's. Runtimes come with the apps that need them.
#
# The uncommented lines are what Keepsake reads back: "key = value", a
# quoted value being a Go/C string literal, and "key =" followed by lines
# indented by two spaces for text spanning several lines.
`

// Text renders inventories as plain text that a person can read and
// follow and that ParseText reads back.
func Text(invs []Inventory) []byte {
	var w textWriter
	w.WriteString(textHeader)
	w.WriteString("\n")
	w.kv("format", strconv.Itoa(TextFormat))
	for _, inv := range invs {
		w.inventory(inv)
	}
	return w.Bytes()
}

type textWriter struct{ bytes.Buffer }

func (w *textWriter) comment(format string, args ...any) {
	w.WriteString("# " + fmt.Sprintf(format, args...) + "\n")
}

func (w *textWriter) section(kind, name string) {
	w.WriteString("\n[" + kind)
	if name != "" {
		w.WriteString(" " + quoteName(name))
	}
	w.WriteString("]\n")
}

func (w *textWriter) kv(key, value string) {
	w.WriteString(key + " = " + quoteValue(value) + "\n")
}

func (w *textWriter) kvOpt(key, value string) {
	if value != "" {
		w.kv(key, value)
	}
}

// block writes text spanning lines, each indented by two spaces.
func (w *textWriter) block(key, text string) {
	w.WriteString(key + " =\n")
	text = normText(text)
	if text == "" {
		return
	}
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if line == "" {
			w.WriteString("\n")
		} else {
			w.WriteString("  " + line + "\n")
		}
	}
}

func (w *textWriter) inventory(inv Inventory) {
	inst := inv.Installation
	flag := "--" + inst.Scope
	w.section("installation", "")
	if inst.Scope == ScopeUser {
		w.comment("The installation of user %s. Run the commands below as %s.", inst.User, inst.User)
	} else {
		w.comment("The system-wide installation. Run the commands below as root.")
	}
	w.kv("scope", inst.Scope)
	w.kv("dir", inst.Dir)
	w.kvOpt("user", inst.User)
	w.kv("uid", strconv.FormatUint(uint64(inst.UID), 10))
	w.kv("gid", strconv.FormatUint(uint64(inst.GID), 10))
	w.kvOpt("home", inst.Home)
	for _, p := range inv.Pinned {
		w.kv("pinned", p)
	}
	for _, p := range inv.Masked {
		w.kv("masked", p)
	}

	for _, rm := range inv.Remotes {
		w.section("remote", rm.Name)
		args := []string{"flatpak", flag, "remote-add"}
		if len(rm.GPGKey) > 0 {
			w.comment("Save the gpg-key lines below, without their two leading spaces, as %s, then:", shellQuote(rm.Name+".gpg"))
			args = append(args, "--gpg-import="+rm.Name+".gpg")
		}
		if rm.FilterText != "" {
			w.comment("If %s is gone, save the filter-text lines below there first, then:", rm.Filter)
		}
		args = append(args, remoteAddFlags(rm, rm.Filter)...)
		args = append(args, rm.Name, rm.URL)
		w.comment("  %s", shellJoin(args))
		w.kv("url", rm.URL)
		w.kvOpt("collection-id", rm.CollectionID)
		w.kvOpt("title", rm.Title)
		w.kv("gpg-verify", strconv.FormatBool(rm.GPGVerify))
		w.kv("disabled", strconv.FormatBool(rm.Disabled))
		if rm.NoEnumerate {
			w.kv("no-enumerate", "true")
		}
		if rm.NoDeps {
			w.kv("no-deps", "true")
		}
		if rm.Priority != 0 {
			w.kv("priority", strconv.Itoa(rm.Priority))
		}
		w.kvOpt("default-branch", rm.DefaultBranch)
		w.kvOpt("subset", rm.Subset)
		w.kvOpt("comment", rm.Comment)
		w.kvOpt("description", rm.Description)
		w.kvOpt("homepage", rm.Homepage)
		w.kvOpt("icon", rm.Icon)
		w.kvOpt("filter", rm.Filter)
		if rm.FilterText != "" {
			w.block("filter-text", rm.FilterText)
		}
		if len(rm.GPGKey) > 0 {
			w.block("gpg-key", armor(rm.GPGKey))
		}
	}

	for _, ref := range inv.Refs {
		w.section("ref", ref.Ref)
		w.comment("  %s", shellJoin([]string{"flatpak", flag, "install", ref.Origin, ref.Ref}))
		w.kv("origin", ref.Origin)
		w.kvOpt("commit", ref.Commit)
		w.kvOpt("version", ref.Version)
		if ref.Timestamp != 0 {
			w.kv("date", time.Unix(ref.Timestamp, 0).UTC().Format(time.RFC3339))
		}
		w.kv("installed-size", strconv.FormatInt(ref.InstalledSize, 10))
	}

	names := make([]string, 0, len(inv.Overrides))
	for name := range inv.Overrides {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		w.section("override", name)
		w.comment("Put the keyfile lines below, without their two leading spaces, in")
		w.comment("%s/overrides/%s", inst.Dir, name)
		w.block("keyfile", inv.Overrides[name])
	}

	if len(inv.Pinned)+len(inv.Masked) > 0 {
		w.WriteString("\n")
		w.comment("Last, for this installation:")
		for _, p := range inv.Pinned {
			w.comment("  %s", shellJoin([]string{"flatpak", flag, "pin", p}))
		}
		for _, p := range inv.Masked {
			w.comment("  %s", shellJoin([]string{"flatpak", flag, "mask", p}))
		}
	}
}

// remoteAddFlags are the `flatpak remote-add` options that recreate rm,
// with filter as its filter file. The GPG key is the caller's business.
func remoteAddFlags(rm Remote, filter string) []string {
	var args []string
	if !rm.GPGVerify {
		args = append(args, "--no-gpg-verify")
	}
	if rm.CollectionID != "" {
		args = append(args, "--collection-id="+rm.CollectionID)
	}
	if rm.Title != "" {
		args = append(args, "--title="+rm.Title)
	}
	if filter != "" {
		args = append(args, "--filter="+filter)
	}
	if rm.Disabled {
		args = append(args, "--disable")
	}
	if rm.NoEnumerate {
		args = append(args, "--no-enumerate")
	}
	if rm.NoDeps {
		args = append(args, "--no-use-for-deps")
	}
	if rm.Priority != 0 {
		args = append(args, "--prio="+strconv.Itoa(rm.Priority))
	}
	for _, o := range []struct{ flag, value string }{
		{"--default-branch=", rm.DefaultBranch}, {"--subset=", rm.Subset}, {"--comment=", rm.Comment},
		{"--description=", rm.Description}, {"--homepage=", rm.Homepage}, {"--icon=", rm.Icon},
	} {
		if o.value != "" {
			args = append(args, o.flag+o.value)
		}
	}
	return args
}

// quoteValue leaves a value as it is when it reads back unchanged, and
// quotes it otherwise (blanks at either end, control characters, a
// leading quote, empty).
func quoteValue(s string) string {
	if s == "" || s[0] == '"' || strings.TrimSpace(s) != s || strings.ContainsFunc(s, isControl) {
		return strconv.Quote(s)
	}
	return s
}

// quoteName is quoteValue for section names, which also end at "]".
func quoteName(s string) string {
	if strings.ContainsAny(s, " ]") {
		return strconv.Quote(s)
	}
	return quoteValue(s)
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f }

func unquote(s string) (string, error) {
	if strings.HasPrefix(s, `"`) {
		return strconv.Unquote(s)
	}
	return s, nil
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.,/:=@+%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

// ParseText reads what Text wrote.
func ParseText(b []byte) ([]Inventory, error) {
	p := textParser{lines: strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")}
	if err := p.parse(); err != nil {
		return nil, kerr.Wrap(kerr.Damaged, err, "read the Flatpak inventory")
	}
	return p.invs, nil
}

type textParser struct {
	lines  []string
	invs   []Inventory
	format bool

	kind   string // current section kind
	inv    *Inventory
	remote *Remote
	ref    *Ref
	over   string
}

func (p *textParser) parse() error {
	for i := 0; i < len(p.lines); i++ {
		line := p.lines[i]
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "" || line[0] == '#':
			continue
		case line[0] == '[':
			if err := p.header(trimmed); err != nil {
				return fmt.Errorf("line %d: %w", i+1, err)
			}
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || line[0] == ' ' {
			return fmt.Errorf("line %d: expected \"key = value\", found %q", i+1, line)
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if value == "" {
			// A block: indented lines, blank lines inside it kept.
			var text []string
			j := i + 1
			for ; j < len(p.lines); j++ {
				l := p.lines[j]
				if strings.HasPrefix(l, "  ") {
					text = append(text, l[2:])
				} else if strings.TrimSpace(l) == "" {
					text = append(text, "")
				} else {
					break
				}
			}
			for len(text) > 0 && text[len(text)-1] == "" {
				text = text[:len(text)-1]
			}
			i += len(text)
			value = normText(strings.Join(text, "\n"))
		} else {
			var err error
			if value, err = unquote(value); err != nil {
				return fmt.Errorf("line %d: bad quoted value %s", i+1, value)
			}
		}
		if err := p.set(key, value); err != nil {
			return fmt.Errorf("line %d: %w", i+1, err)
		}
	}
	if !p.format {
		return fmt.Errorf("no format line")
	}
	for i := range p.invs {
		if err := checkInventory(p.invs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (p *textParser) header(line string) error {
	if !strings.HasSuffix(line, "]") {
		return fmt.Errorf("bad section header %q", line)
	}
	kind, name, _ := strings.Cut(line[1:len(line)-1], " ")
	name, err := unquote(strings.TrimSpace(name))
	if err != nil {
		return fmt.Errorf("bad section name in %q", line)
	}
	if !p.format {
		return fmt.Errorf("section before the format line")
	}
	p.kind, p.remote, p.ref, p.over = kind, nil, nil, ""
	if kind == "installation" {
		p.invs = append(p.invs, Inventory{Overrides: map[string]string{}})
		p.inv = &p.invs[len(p.invs)-1]
		return nil
	}
	if p.inv == nil {
		if kind == "remote" || kind == "ref" || kind == "override" {
			return fmt.Errorf("[%s] outside an installation", kind)
		}
		return nil
	}
	switch kind {
	case "remote":
		if !validToken(name) {
			return fmt.Errorf("bad remote name %q", name)
		}
		p.inv.Remotes = append(p.inv.Remotes, Remote{Name: name, GPGVerify: true})
		p.remote = &p.inv.Remotes[len(p.inv.Remotes)-1]
	case "ref":
		k, id, arch, branch, err := parseRef(name)
		if err != nil {
			return err
		}
		p.inv.Refs = append(p.inv.Refs, Ref{Ref: name, Kind: k, ID: id, Arch: arch, Branch: branch})
		p.ref = &p.inv.Refs[len(p.inv.Refs)-1]
	case "override":
		if name != GlobalOverride && !validID(name) {
			return fmt.Errorf("bad override name %q", name)
		}
		p.over = name
		p.inv.Overrides[name] = ""
	}
	// Sections of later formats are skipped, not refused.
	return nil
}

func (p *textParser) set(key, value string) error {
	var err error
	switch {
	case p.kind == "" && key == "format":
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 {
			return fmt.Errorf("bad format %q", value)
		}
		if n > TextFormat {
			return fmt.Errorf("format %d is newer than this Keepsake reads (%d)", n, TextFormat)
		}
		p.format = true
	case p.kind == "installation":
		inst := &p.inv.Installation
		switch key {
		case "scope":
			inst.Scope = value
		case "dir":
			inst.Dir = value
		case "user":
			inst.User = value
		case "uid":
			inst.UID, err = parseID(value)
		case "gid":
			inst.GID, err = parseID(value)
		case "home":
			inst.Home = value
		case "pinned":
			p.inv.Pinned = append(p.inv.Pinned, value)
		case "masked":
			p.inv.Masked = append(p.inv.Masked, value)
		}
	case p.remote != nil:
		rm := p.remote
		switch key {
		case "url":
			rm.URL = value
		case "collection-id":
			rm.CollectionID = value
		case "title":
			rm.Title = value
		case "gpg-verify":
			rm.GPGVerify, err = strconv.ParseBool(value)
		case "disabled":
			rm.Disabled, err = strconv.ParseBool(value)
		case "no-enumerate":
			rm.NoEnumerate, err = strconv.ParseBool(value)
		case "no-deps":
			rm.NoDeps, err = strconv.ParseBool(value)
		case "priority":
			rm.Priority, err = strconv.Atoi(value)
		case "default-branch":
			rm.DefaultBranch = value
		case "subset":
			rm.Subset = value
		case "comment":
			rm.Comment = value
		case "description":
			rm.Description = value
		case "homepage":
			rm.Homepage = value
		case "icon":
			rm.Icon = value
		case "filter":
			rm.Filter = value
		case "filter-text":
			rm.FilterText = value
		case "gpg-key":
			rm.GPGKey, err = dearmor(value)
		}
	case p.ref != nil:
		ref := p.ref
		switch key {
		case "origin":
			ref.Origin = value
		case "commit":
			ref.Commit = value
		case "version":
			ref.Version = value
		case "date":
			var t time.Time
			if t, err = time.Parse(time.RFC3339, value); err == nil {
				ref.Timestamp = t.Unix()
			}
		case "installed-size":
			ref.InstalledSize, err = strconv.ParseInt(value, 10, 64)
		}
	case p.over != "":
		if key == "keyfile" {
			p.inv.Overrides[p.over] = value
		}
	}
	if err != nil {
		return fmt.Errorf("bad %s %q", key, value)
	}
	return nil
}

func parseID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err
}

// checkInventory refuses an inventory with an unknown scope, or names
// that could be taken for options or paths (it may come from a drive
// anyone could have edited).
func checkInventory(inv Inventory) error {
	inst := inv.Installation
	if inst.Scope != ScopeSystem && inst.Scope != ScopeUser {
		return fmt.Errorf("installation %s: unknown scope %q", inst.Dir, inst.Scope)
	}
	for _, rm := range inv.Remotes {
		if !validToken(rm.Name) {
			return fmt.Errorf("bad remote name %q", rm.Name)
		}
	}
	for name := range inv.Overrides {
		if name != GlobalOverride && !validID(name) {
			return fmt.Errorf("bad override name %q", name)
		}
	}
	for _, ref := range inv.Refs {
		if _, _, _, _, err := parseRef(ref.Ref); err != nil {
			return err
		}
		if !validToken(ref.Origin) {
			return fmt.Errorf("ref %s: bad origin %q", ref.Ref, ref.Origin)
		}
	}
	for _, list := range [][]string{inv.Pinned, inv.Masked} {
		for _, pat := range list {
			if !validPattern(pat) {
				return fmt.Errorf("bad pin or mask pattern %q", pat)
			}
		}
	}
	return nil
}

const (
	armorBegin = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
	armorEnd   = "-----END PGP PUBLIC KEY BLOCK-----"
)

// armor is OpenPGP ASCII armor (RFC 4880 section 6), which gpg and
// `flatpak remote-add --gpg-import` read.
func armor(data []byte) string {
	var b strings.Builder
	b.WriteString(armorBegin + "\n\n")
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 64 {
		b.WriteString(enc[:64] + "\n")
		enc = enc[64:]
	}
	if enc != "" {
		b.WriteString(enc + "\n")
	}
	c := crc24(data)
	b.WriteString("=" + base64.StdEncoding.EncodeToString([]byte{byte(c >> 16), byte(c >> 8), byte(c)}) + "\n")
	b.WriteString(armorEnd + "\n")
	return b.String()
}

// dearmor reads what armor wrote, checking the checksum when present.
func dearmor(text string) ([]byte, error) {
	lines := strings.Split(text, "\n")
	i := 0
	for i < len(lines) && strings.TrimSpace(lines[i]) != armorBegin {
		i++
	}
	if i == len(lines) {
		return nil, fmt.Errorf("no %s line", armorBegin)
	}
	// Armor headers ("Version: ...") end at a blank line.
	for i++; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
		if strings.TrimSpace(lines[i]) == armorEnd || !strings.Contains(lines[i], ": ") {
			break
		}
	}
	var body strings.Builder
	crc := ""
	end := false
	for ; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		switch {
		case l == "":
		case l == armorEnd:
			end = true
		case strings.HasPrefix(l, "="):
			crc = l[1:]
		default:
			body.WriteString(l)
		}
		if end {
			break
		}
	}
	if !end {
		return nil, fmt.Errorf("no %s line", armorEnd)
	}
	data, err := base64.StdEncoding.DecodeString(body.String())
	if err != nil {
		return nil, fmt.Errorf("key block: %w", err)
	}
	if crc != "" {
		want, err := base64.StdEncoding.DecodeString(crc)
		c := crc24(data)
		if err != nil || len(want) != 3 || want[0] != byte(c>>16) || want[1] != byte(c>>8) || want[2] != byte(c) {
			return nil, fmt.Errorf("key block: checksum mismatch")
		}
	}
	return data, nil
}

// crc24 is the OpenPGP armor checksum.
func crc24(data []byte) uint32 {
	crc := uint32(0xB704CE)
	for _, b := range data {
		crc ^= uint32(b) << 16
		for i := 0; i < 8; i++ {
			crc <<= 1
			if crc&0x1000000 != 0 {
				crc ^= 0x1864CFB
			}
		}
	}
	return crc & 0xFFFFFF
}
