package grammar

import (
	"fmt"
	"net"
	"net/netip"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/keepsake/keepsake/shared/kerr"
)

// remoteScheme starts every source on another computer.
const remoteScheme = "ssh://"

// Remote is a source on another computer, reached with ssh:
// ssh://[user@]host[:port]/path[,/path2...].
type Remote struct {
	// User is the account to log in as; "" is ssh's default (the
	// invoking user's name or the ssh configuration's User).
	User string
	// Host is a lower-case host name, an IPv4 address or an IPv6 address
	// (without brackets).
	Host string
	// Port is the ssh port; 0 means 22.
	Port int
	// Paths are absolute, clean paths on the remote, in the order given,
	// without duplicates. They are bytes: any byte but NUL may occur.
	Paths []string
}

// userPattern is a conservative portable user name: a letter or '_'
// first, then letters, digits, '_', '.', '-'; at most 32 bytes.
var userPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,31}$`)

// hostLabel is one label of a host name (RFC 1123).
var hostLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// IsRemote reports whether s names a source on another computer (it starts
// with ssh://, in any case).
func IsRemote(s string) bool {
	return len(s) >= len(remoteScheme) && strings.EqualFold(s[:len(remoteScheme)], remoteScheme)
}

// ParseRemote reads ssh://[user@]host[:port]/path[,/path2...]. An IPv6
// address goes in brackets (ssh://[::1]:2222/x). Several paths are
// separated by commas; in a path, %XX stands for the byte XX, so a comma is
// %2C, a percent sign %25, and any other byte may be written. Each path
// must be absolute and must not contain ".." (a trailing "/", "//" and "."
// components are tidied away). Port 22 is stored as 0, so the canonical
// form has no ":22". The host is lower-cased.
func ParseRemote(s string) (Remote, error) {
	bad := func(format string, args ...any) (Remote, error) {
		return Remote{}, kerr.New(kerr.InvalidArgs, "remote source %q: %s", s, fmt.Sprintf(format, args...))
	}
	if !IsRemote(s) {
		return bad("does not start with ssh://")
	}
	rest := s[len(remoteScheme):]
	slash := strings.IndexByte(rest, '/')
	if slash < 0 {
		return bad("no path: write ssh://host/path (ssh://host/ for the whole computer)")
	}
	authority, paths := rest[:slash], rest[slash:]
	var r Remote
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		r.User, authority = authority[:at], authority[at+1:]
		if !userPattern.MatchString(r.User) {
			return bad("%q is not a user name (letters, digits, '_', '.', '-', starting with a letter or '_', at most 32)", r.User)
		}
	}
	host, port := authority, ""
	if strings.HasPrefix(authority, "[") {
		end := strings.IndexByte(authority, ']')
		if end < 0 {
			return bad("an IPv6 address lacks its closing ']'")
		}
		host, port = authority[1:end], authority[end+1:]
		if port != "" && !strings.HasPrefix(port, ":") {
			return bad("unexpected %q after the IPv6 address", port)
		}
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return bad("%q in brackets is not an IPv6 address (zones are not supported)", host)
		}
		host = a.String()
		port = strings.TrimPrefix(port, ":")
		if port == "" && strings.HasSuffix(authority, ":") {
			return bad("the port after ':' is missing")
		}
	} else {
		if i := strings.IndexByte(authority, ':'); i >= 0 {
			host, port = authority[:i], authority[i+1:]
			if strings.IndexByte(port, ':') >= 0 {
				return bad("an IPv6 address must be written in brackets: ssh://[%s]/path", authority)
			}
			if port == "" {
				return bad("the port after ':' is missing")
			}
		}
		h, err := checkHost(host)
		if err != nil {
			return bad("%v", err)
		}
		host = h
	}
	r.Host = host
	if port != "" {
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil || p == 0 || port[0] == '+' {
			return bad("port %q is not a number from 1 to 65535", port)
		}
		if p != 22 {
			r.Port = int(p)
		}
	}
	seen := map[string]bool{}
	for _, raw := range strings.Split(paths, ",") {
		p, err := decodeRemotePath(raw)
		if err != nil {
			return bad("%v", err)
		}
		if !seen[p] {
			seen[p] = true
			r.Paths = append(r.Paths, p)
		}
	}
	return r, nil
}

// checkHost accepts an IPv4 address or a host name and returns it in
// canonical form.
func checkHost(host string) (string, error) {
	if host == "" {
		return "", fmt.Errorf("the host is missing")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if !a.Is4() {
			return "", fmt.Errorf("an IPv6 address must be written in brackets: ssh://[%s]/path", host)
		}
		return a.String(), nil
	}
	h := strings.ToLower(host)
	if len(h) > 253 {
		return "", fmt.Errorf("the host name is longer than 253 characters")
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if !hostLabel.MatchString(l) {
			return "", fmt.Errorf("%q is not a host name or an IP address (letters, digits and '-' between dots)", host)
		}
	}
	// A last label of digits only would be read as a (partial) IPv4
	// address by the resolver ("10.1" is 10.0.0.1).
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "", fmt.Errorf("%q is not a host name or an IPv4 address", host)
	}
	return h, nil
}

// decodeRemotePath decodes the %XX escapes of one path and checks it.
func decodeRemotePath(raw string) (string, error) {
	if !strings.HasPrefix(raw, "/") {
		if raw == "" {
			return "", fmt.Errorf("an empty path (two commas, or a comma at the end)")
		}
		return "", fmt.Errorf("path %q is not absolute (each path after a comma starts with '/')", raw)
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
			return "", fmt.Errorf("path %q: '%%' must be followed by two hex digits (write %%25 for '%%')", raw)
		}
		v, _ := strconv.ParseUint(raw[i+1:i+3], 16, 8)
		b.WriteByte(byte(v))
		i += 2
	}
	p := b.String()
	if strings.IndexByte(p, 0) >= 0 {
		return "", fmt.Errorf("path %q contains a NUL byte", raw)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return "", fmt.Errorf("path %q contains '..'", raw)
		}
	}
	return path.Clean(p), nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// String is the canonical form, which ParseRemote reads back to the same
// Remote. In paths, '%', ',', control characters, bytes that are not
// UTF-8 and characters that do not print are written as %XX.
func (r Remote) String() string {
	var b strings.Builder
	b.WriteString(remoteScheme)
	if r.User != "" {
		b.WriteString(r.User)
		b.WriteByte('@')
	}
	if strings.IndexByte(r.Host, ':') >= 0 {
		b.WriteString("[" + r.Host + "]")
	} else {
		b.WriteString(r.Host)
	}
	if r.Port != 0 && r.Port != 22 {
		b.WriteString(":" + strconv.Itoa(r.Port))
	}
	if len(r.Paths) == 0 {
		b.WriteByte('/')
	}
	for i, p := range r.Paths {
		if i > 0 {
			b.WriteByte(',')
		}
		escapeRemotePath(&b, p)
	}
	return b.String()
}

func escapeRemotePath(b *strings.Builder, p string) {
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRuneInString(p[i:])
		plain := r != utf8.RuneError && r != '%' && r != ',' && (r == ' ' || unicode.IsGraphic(r))
		if r == utf8.RuneError && n == 3 {
			plain = true // U+FFFD itself, written in UTF-8
		}
		if plain {
			b.WriteString(p[i : i+n])
		} else {
			for _, c := range []byte(p[i : i+n]) {
				fmt.Fprintf(b, "%%%02X", c)
			}
		}
		i += n
	}
}

// SSHPort is the port to dial: Port, or 22 when Port is 0.
func (r Remote) SSHPort() int {
	if r.Port == 0 {
		return 22
	}
	return r.Port
}

// Address is "host:port" to dial ("[::1]:22" for IPv6).
func (r Remote) Address() string {
	return net.JoinHostPort(r.Host, strconv.Itoa(r.SSHPort()))
}

// DefaultName is the name of the computer's folder on a backup drive when
// none is chosen: the host, with every character other than letters,
// digits, '.', '_' and '-' replaced by '_' ("::1" is "__1"). It is never
// "", "." or "..", and never contains '/'.
func (r Remote) DefaultName() string {
	n := []byte(r.Host)
	for i, c := range n {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			n[i] = '_'
		}
	}
	name := string(n)
	if strings.Trim(name, ".") == "" {
		return "remote" + strings.Repeat("_", len(name))
	}
	if name[0] == '.' {
		name = "_" + name[1:]
	}
	return name
}
