package grammar

import (
	"reflect"
	"strings"
	"testing"

	"github.com/keepsake/keepsake/shared/kerr"
)

func TestParseRemote(t *testing.T) {
	cases := map[string]struct {
		in    string
		want  Remote
		canon string // "" when in is canonical already
		addr  string
		name  string
		bad   string // part of the error message
	}{
		"host and path":        {in: "ssh://nas/home", want: Remote{Host: "nas", Paths: []string{"/home"}}, addr: "nas:22", name: "nas"},
		"user port two paths":  {in: "ssh://u@h:2222/home/u,/etc", want: Remote{User: "u", Host: "h", Port: 2222, Paths: []string{"/home/u", "/etc"}}, addr: "h:2222", name: "h"},
		"whole computer":       {in: "ssh://root@server.example.org/", want: Remote{User: "root", Host: "server.example.org", Paths: []string{"/"}}, name: "server.example.org"},
		"ipv4":                 {in: "ssh://10.0.0.7:2200/srv", want: Remote{Host: "10.0.0.7", Port: 2200, Paths: []string{"/srv"}}, addr: "10.0.0.7:2200", name: "10.0.0.7"},
		"ipv6":                 {in: "ssh://[::1]:2222/x", want: Remote{Host: "::1", Port: 2222, Paths: []string{"/x"}}, addr: "[::1]:2222", name: "__1"},
		"ipv6 no port":         {in: "ssh://me@[2001:DB8::0:1]/x", want: Remote{User: "me", Host: "2001:db8::1", Paths: []string{"/x"}}, canon: "ssh://me@[2001:db8::1]/x", addr: "[2001:db8::1]:22", name: "2001_db8__1"},
		"port 22 is default":   {in: "ssh://h:22/x", want: Remote{Host: "h", Paths: []string{"/x"}}, canon: "ssh://h/x"},
		"upper case":           {in: "SSH://Laptop.LAN/Users", want: Remote{Host: "laptop.lan", Paths: []string{"/Users"}}, canon: "ssh://laptop.lan/Users", name: "laptop.lan"},
		"dotted user":          {in: "ssh://jane.doe@h/x", want: Remote{User: "jane.doe", Host: "h", Paths: []string{"/x"}}},
		"escaped comma":        {in: "ssh://h/a%2Cb,/c", want: Remote{Host: "h", Paths: []string{"/a,b", "/c"}}, canon: "ssh://h/a%2Cb,/c"},
		"any byte":             {in: "ssh://h/bad%FFname/new%0Aline/100%25", want: Remote{Host: "h", Paths: []string{"/bad\xffname/new\nline/100%"}}},
		"lower hex":            {in: "ssh://h/a%2cb", want: Remote{Host: "h", Paths: []string{"/a,b"}}, canon: "ssh://h/a%2Cb"},
		"utf-8 stays":          {in: "ssh://h/home/zoë/My Files", want: Remote{Host: "h", Paths: []string{"/home/zoë/My Files"}}},
		"tidied":               {in: "ssh://h/home//u/./docs/", want: Remote{Host: "h", Paths: []string{"/home/u/docs"}}, canon: "ssh://h/home/u/docs"},
		"duplicate dropped":    {in: "ssh://h/a,/a/,/b", want: Remote{Host: "h", Paths: []string{"/a", "/b"}}, canon: "ssh://h/a,/b"},
		"not ssh":              {in: "/home/u", bad: "ssh://"},
		"other scheme":         {in: "sftp://h/x", bad: "ssh://"},
		"no path":              {in: "ssh://h", bad: "no path"},
		"no host":              {in: "ssh:///x", bad: "host is missing"},
		"no host with user":    {in: "ssh://u@/x", bad: "host is missing"},
		"empty user":           {in: "ssh://@h/x", bad: "user name"},
		"user with space":      {in: "ssh://a b@h/x", bad: "user name"},
		"user starts with -":   {in: "ssh://-oProxyCommand=x@h/x", bad: "user name"},
		"user too long":        {in: "ssh://" + strings.Repeat("u", 33) + "@h/x", bad: "user name"},
		"host starts with -":   {in: "ssh://-oProxyCommand=x/x", bad: "not a host name"},
		"host underscore":      {in: "ssh://my_host/x", bad: "not a host name"},
		"host trailing dot":    {in: "ssh://h./x", bad: "not a host name"},
		"host all digits":      {in: "ssh://10.1/x", bad: "not a host name or an IPv4"},
		"bad ipv4":             {in: "ssh://300.1.1.1/x", bad: "not a host name or an IPv4"},
		"bare ipv6":            {in: "ssh://::1/x", bad: "brackets"},
		"bare ipv6 full":       {in: "ssh://2001:db8::1:22/x", bad: "brackets"},
		"ipv4 in brackets":     {in: "ssh://[10.0.0.1]/x", bad: "not an IPv6"},
		"unclosed bracket":     {in: "ssh://[::1/x", bad: "closing"},
		"ipv6 zone":            {in: "ssh://[fe80::1%25eth0]/x", bad: "zones"},
		"junk after bracket":   {in: "ssh://[::1]x/y", bad: "after the IPv6"},
		"port zero":            {in: "ssh://h:0/x", bad: "port"},
		"port too big":         {in: "ssh://h:65536/x", bad: "port"},
		"port word":            {in: "ssh://h:ssh/x", bad: "port"},
		"port plus":            {in: "ssh://h:+22/x", bad: "port"},
		"port empty":           {in: "ssh://h:/x", bad: "port"},
		"ipv6 port empty":      {in: "ssh://[::1]:/x", bad: "port"},
		"relative second path": {in: "ssh://h/a,b", bad: "not absolute"},
		"empty second path":    {in: "ssh://h/a,", bad: "empty path"},
		"dot dot":              {in: "ssh://h/home/../etc", bad: "'..'"},
		"escaped dot dot":      {in: "ssh://h/home/%2E%2E/etc", bad: "'..'"},
		"nul":                  {in: "ssh://h/a%00b", bad: "NUL"},
		"bad escape":           {in: "ssh://h/100%", bad: "two hex digits"},
		"bad escape digits":    {in: "ssh://h/a%zzb", bad: "two hex digits"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r, err := ParseRemote(c.in)
			if c.bad != "" {
				if err == nil {
					t.Fatalf("ParseRemote(%q) = %+v, want an error", c.in, r)
				}
				if !kerr.Is(err, kerr.InvalidArgs) || !strings.Contains(err.Error(), c.bad) {
					t.Fatalf("ParseRemote(%q): %v (%s), want InvalidArgs mentioning %q", c.in, err, kerr.NameOf(err), c.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(r, c.want) {
				t.Fatalf("ParseRemote(%q) = %#v, want %#v", c.in, r, c.want)
			}
			canon := c.canon
			if canon == "" {
				canon = c.in
			}
			if r.String() != canon {
				t.Fatalf("String() = %q, want %q", r.String(), canon)
			}
			back, err := ParseRemote(r.String())
			if err != nil || !reflect.DeepEqual(back, r) {
				t.Fatalf("%q does not read back: %#v, %v", r.String(), back, err)
			}
			if c.addr != "" && r.Address() != c.addr {
				t.Fatalf("Address() = %q, want %q", r.Address(), c.addr)
			}
			if c.name != "" && r.DefaultName() != c.name {
				t.Fatalf("DefaultName() = %q, want %q", r.DefaultName(), c.name)
			}
			if !IsRemote(c.in) {
				t.Fatalf("IsRemote(%q) = false", c.in)
			}
		})
	}
}

func TestRemoteStringEscapes(t *testing.T) {
	// Every byte but NUL, alone and in runs, survives String and
	// ParseRemote.
	var all []byte
	for b := 1; b < 256; b++ {
		all = append(all, byte(b))
	}
	paths := []string{"/" + strings.ReplaceAll(string(all), "/", ""), "/a,b%c", "/\u2028\u202e\ufffd", "/tab\there", "/é/ü"}
	r := Remote{User: "u", Host: "h", Port: 2222, Paths: paths}
	s := r.String()
	if strings.ContainsAny(s, "\x00\n\t\x7f\u2028\u202e") || strings.Count(s, ",") != len(paths)-1 {
		t.Fatalf("String() = %q leaves bytes unescaped", s)
	}
	back, err := ParseRemote(s)
	if err != nil || !reflect.DeepEqual(back, r) {
		t.Fatalf("%q reads back as %#v, %v", s, back, err)
	}
}

func TestDefaultNameIsAFolderName(t *testing.T) {
	for name, host := range map[string]string{"empty": "", "dot": ".", "dot dot": "..", "slash": "a/b", "dot first": ".hidden", "ipv6": "fe80::1", "nul": "a\x00b"} {
		t.Run(name, func(t *testing.T) {
			n := Remote{Host: host}.DefaultName()
			if n == "" || n == "." || n == ".." || strings.ContainsAny(n, "/\x00") || n[0] == '.' {
				t.Fatalf("DefaultName of host %q = %q", host, n)
			}
		})
	}
}

func TestIsRemote(t *testing.T) {
	for in, want := range map[string]bool{"ssh://h/x": true, "SSH://h/x": true, "ssh:/h": false, "/home": false, "": false, "ssh": false} {
		if IsRemote(in) != want {
			t.Errorf("IsRemote(%q) = %v, want %v", in, !want, want)
		}
	}
}
