package flatpak

import (
	"strings"
)

// keyFile is a parsed GLib key file (what repo/config and overrides are):
// groups of key=value lines. Values are kept raw; see unescape.
type keyFile map[string]map[string]string

// parseKeyFile reads a key file the way GKeyFile does: "#" comments,
// "[group]" headers, "key=value" with blanks around "=" ignored. Lines it
// cannot read are skipped: a remote with a damaged line is still worth
// recording.
func parseKeyFile(b []byte) keyFile {
	k := keyFile{}
	group := ""
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimLeft(strings.TrimRight(line, "\r"), " \t")
		switch {
		case line == "" || line[0] == '#':
		case line[0] == '[':
			if end := strings.LastIndexByte(line, ']'); end > 0 {
				group = line[1:end]
				if k[group] == nil {
					k[group] = map[string]string{}
				}
			}
		default:
			key, value, ok := strings.Cut(line, "=")
			if !ok || k[group] == nil {
				continue
			}
			k[group][strings.TrimRight(key, " \t")] = strings.TrimLeft(value, " \t")
		}
	}
	return k
}

// get returns a key's value with GKeyFile's escapes undone.
func (k keyFile) get(group, key string) string {
	return unescape(k[group][key], false)[0]
}

// list returns a key's value as a string list (";"-separated, "\;" for a
// literal semicolon), empty elements dropped.
func (k keyFile) list(group, key string) []string {
	var out []string
	for _, s := range unescape(k[group][key], true) {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// boolean returns a key's value as a GKeyFile boolean; def when unset or
// not a boolean.
func (k keyFile) boolean(group, key string, def bool) bool {
	switch strings.TrimSpace(k[group][key]) {
	case "true", "1":
		return true
	case "false", "0":
		return false
	}
	return def
}

// unescape undoes \s \n \t \r \\ (and, in a list, splits at unescaped ";"
// and undoes "\;").
func unescape(raw string, isList bool) []string {
	var out []string
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '\\' && i+1 < len(raw):
			i++
			switch raw[i] {
			case 's':
				b.WriteByte(' ')
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(raw[i])
			}
		case c == ';' && isList:
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	if !isList || b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}
