package exclude

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestExcluded(t *testing.T) {
	homes := []string{"/home/ann", "/root"}
	type check struct {
		path string
		dir  bool
		want bool
	}
	tests := []struct {
		name     string
		patterns []string
		checks   []check
	}{
		{"base glob at any depth", []string{"*.tmp"}, []check{
			{"/x.tmp", false, true},
			{"/home/ann/a/b/x.tmp", false, true},
			{"/home/ann/a/b/x.tmp", true, true},
			{"/home/ann/x.tmpl", false, false},
			{"/home/ann/x.tmp/y", false, false}, // only the path itself is judged
		}},
		{"base literal", []string{"core"}, []check{
			{"/a/core", false, true},
			{"/a/core.1", false, false},
			{"/core/a", false, false},
		}},
		{"base prefix glob", []string{"cache*"}, []check{
			{"/a/cache", true, true},
			{"/a/cache2", true, true},
			{"/a/xcache", true, false},
		}},
		{"question mark and class", []string{"file?.[ch]"}, []check{
			{"/a/file1.c", false, true},
			{"/a/fileX.h", false, true},
			{"/a/file12.c", false, false},
			{"/a/file1.o", false, false},
		}},
		{"star stays within a component", []string{"/a/*"}, []check{
			{"/a/b", false, true},
			{"/a/b/c", false, false},
		}},
		{"dir-only", []string{"node_modules/"}, []check{
			{"/src/app/node_modules", true, true},
			{"/src/app/node_modules", false, false},
		}},
		{"anchored at root", []string{"/home/*/Downloads/"}, []check{
			{"/home/ann/Downloads", true, true},
			{"/home/ann/Downloads", false, false},
			{"/data/home/ann/Downloads", true, false},
			{"/home/ann/x/Downloads", true, false},
		}},
		{"home anchored at each home", []string{"~/.cache/"}, []check{
			{"/home/ann/.cache", true, true},
			{"/root/.cache", true, true},
			{"/home/bob/.cache", true, false},
			{"/home/ann/src/.cache", true, false},
			{"/home/ann/.cache", false, false},
		}},
		{"home itself", []string{"~/"}, []check{
			{"/home/ann", true, true},
			{"/root", true, true},
			{"/home/ann/x", true, false},
		}},
		{"relative path at any depth", []string{"build/out"}, []check{
			{"/build/out", true, true},
			{"/x/y/build/out", true, true},
			{"/x/y/build/out/z", true, false},
			{"/x/build/y/out", true, false},
			{"/x/mybuild/out", true, false},
		}},
		{"leading double star", []string{"**/logs"}, []check{
			{"/logs", true, true},
			{"/a/b/logs", true, true},
			{"/a/b/logs2", true, false},
		}},
		{"middle double star", []string{"/srv/**/logs"}, []check{
			{"/srv/logs", true, true},
			{"/srv/a/b/c/logs", true, true},
			{"/srvx/logs", true, false},
			{"/srv/a/logs/x", true, false},
		}},
		{"trailing double star", []string{"/srv/**"}, []check{
			{"/srv", true, false},
			{"/srv/a", false, true},
			{"/srv/a/b", true, true},
		}},
		{"repeated double star", []string{"/a/**/**/b"}, []check{
			{"/a/b", false, true},
			{"/a/x/y/b", false, true},
		}},
		{"negation re-includes", []string{"*.log", "!keep.log"}, []check{
			{"/a/keep.log", false, false},
			{"/a/other.log", false, true},
		}},
		{"last match wins", []string{"!keep.log", "*.log"}, []check{
			{"/a/keep.log", false, true},
		}},
		{"exclude again after negation", []string{"*.log", "!keep.log", "/a/keep.log"}, []check{
			{"/a/keep.log", false, true},
			{"/b/keep.log", false, false},
		}},
		{"negation inside double star", []string{"/srv/**", "!/srv/keep"}, []check{
			{"/srv/keep", true, false},
			{"/srv/drop", true, true},
		}},
		{"dir-only negation leaves files", []string{"*.d", "!*.d/"}, []check{
			{"/a/x.d", true, false},
			{"/a/x.d", false, true},
		}},
		{"escaped bang", []string{`\!odd`}, []check{
			{"/a/!odd", false, true},
			{"/a/odd", false, false},
		}},
		{"escaped hash", []string{`\#notes`}, []check{
			{"/a/#notes", false, true},
		}},
		{"escaped star", []string{`a\*`}, []check{
			{"/x/a*", false, true},
			{"/x/ab", false, false},
		}},
		{"escaped star suffix", []string{`*\*`}, []check{
			{"/x/ab*", false, true},
			{"/x/ab", false, false},
		}},
		{"escaped trailing space", []string{`a\ `}, []check{
			{"/x/a ", false, true},
			{"/x/a", false, false},
		}},
		{"trailing space trimmed", []string{"a  \r"}, []check{
			{"/x/a", false, true},
		}},
		{"comment and blank ignored", []string{"# *.txt", "", "   "}, []check{
			{"/a/b.txt", false, false},
		}},
		{"root never excluded", []string{"*", "/**"}, []check{
			{"/", true, false},
			{"/a", true, true},
		}},
		{"no patterns", nil, []check{
			{"/a", true, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(tt.patterns, homes)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tt.checks {
				if got := m.Excluded(c.path, c.dir); got != c.want {
					t.Errorf("Excluded(%q, dir=%v) with %q = %v, want %v", c.path, c.dir, tt.patterns, got, c.want)
				}
			}
		})
	}
}

func TestDefaultPatterns(t *testing.T) {
	m, err := New(DefaultPatterns(), []string{"/home/u", "/root"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		dir  bool
		want bool
	}{
		{"cache dir", "/home/u/.cache", true, true},
		{"proc of a backup of /", "/proc", true, true},
		{"run of a backup of /", "/run", true, true},
		{"a folder named proc elsewhere kept", "/home/u/proc", true, false},
		{"root cache dir", "/root/.cache", true, true},
		{"cache file kept", "/home/u/.cache", false, false},
		{"flatpak cache", "/home/u/.var/app/org.x.Y/cache", true, true},
		{"flatpak data kept", "/home/u/.var/app/org.x.Y/data", true, false},
		{"flatpak config kept", "/home/u/.var/app/org.x.Y/config", true, false},
		{"plain cache name kept", "/home/u/cache", true, false},
		{"nested .cache kept", "/home/u/src/.cache", true, false},
		{"home trash", "/home/u/.local/share/Trash", true, true},
		{"volume trash", "/media/usb/.Trash-1000", true, true},
		{"thumbnails", "/home/u/.thumbnails", true, true},
		{"documents kept", "/home/u/Documents", true, false},
		{"system flatpak store", "/var/lib/flatpak", true, true},
		{"user flatpak store", "/home/u/.local/share/flatpak", true, true},
		{"other local share kept", "/home/u/.local/share/fonts", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.Excluded(tt.path, tt.dir); got != tt.want {
				t.Errorf("Excluded(%q, dir=%v) = %v, want %v", tt.path, tt.dir, got, tt.want)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		homes   []string
		want    string
	}{
		{"bad class", "a[", nil, `exclude pattern "a[": syntax error in pattern`},
		{"bad class in path", "/x/[a/y", nil, `exclude pattern "/x/[a/y": syntax error in pattern`},
		{"dangling escape", `a\`, nil, `exclude pattern "a\\": syntax error in pattern`},
		{"bad home pattern without homes", "~/a[", nil, `exclude pattern "~/a[": syntax error in pattern`},
		{"dot dot", "/a/../b", nil, `exclude pattern "/a/../b": "." and ".." are not allowed`},
		{"root only", "/", nil, `exclude pattern "/": matches nothing`},
		{"bang only", "!", nil, `exclude pattern "!": matches nothing`},
		{"relative home", "x", []string{"home/u"}, `exclude home directory "home/u": not absolute`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New([]string{"ok", tt.pattern}, tt.homes)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("New(%q) error = %v, want %s", tt.pattern, err, tt.want)
			}
		})
	}
}

func TestHomePatternWithoutHomes(t *testing.T) {
	m, err := New([]string{"~/.cache/"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Excluded("/.cache", true) {
		t.Error("~/ pattern without homes matched at the root")
	}
}

func TestHomesFrom(t *testing.T) {
	passwd := strings.Join([]string{
		"root:x:0:0:root:/root:/bin/bash",
		"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
		"ann:x:1000:1000:Ann:/home/ann:/bin/bash",
		"bob:x:1001:1001:Bob:/home/bob/:/bin/zsh",
		"svc:x:1002:1002::/nonexistent:/usr/sbin/nologin",
		"odd:x:1003:1003::relative:/bin/sh",
		"nobody:x:65534:65534:nobody:/var/empty:/usr/sbin/nologin",
		"broken line",
		"dup:x:1004:1004::/home/ann:/bin/bash",
	}, "\n")
	tests := []struct {
		name   string
		home   string
		passwd string
		want   []string
	}{
		{"home first, deduplicated", "/home/ann/", passwd, []string{"/home/ann", "/root", "/home/bob"}},
		{"home unset", "", passwd, []string{"/root", "/home/ann", "/home/bob"}},
		{"root home", "/", "", []string{"/root"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := homesFrom(tt.home, strings.NewReader(tt.passwd))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("homesFrom = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHomes(t *testing.T) {
	t.Setenv("HOME", "/tmp/keepsake-home/")
	got := Homes()
	if len(got) < 2 || got[0] != "/tmp/keepsake-home" || got[1] != "/root" {
		t.Errorf("Homes() = %q, want $HOME cleaned, then /root first", got)
	}
}

func TestCacheDirTagged(t *testing.T) {
	tests := []struct {
		name    string
		content *string
		want    bool
	}{
		{"valid", ptr(cacheDirSignature + "\n# This file is a cache directory tag.\n"), true},
		{"exactly the signature", ptr(cacheDirSignature), true},
		{"wrong signature", ptr("Signature: 0a477f597d28d172789f06886806bc55\n"), false},
		{"short", ptr("Signature: 8a47"), false},
		{"empty", ptr(""), false},
		{"missing", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.content != nil {
				if err := os.WriteFile(filepath.Join(dir, "CACHEDIR.TAG"), []byte(*tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := CacheDirTagged(dir); got != tt.want {
				t.Errorf("CacheDirTagged = %v, want %v", got, tt.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestExcludedDoesNotAllocate(t *testing.T) {
	m := benchMatcher(t)
	allocs := testing.AllocsPerRun(100, func() {
		m.Excluded("/home/ann/projects/keepsake/build/out", true)
		m.Excluded("/home/ann/projects/keepsake/service/engine/backup.go", false)
	})
	if allocs != 0 {
		t.Errorf("Excluded allocates %v times per call pair", allocs)
	}
}

func benchMatcher(tb testing.TB) *Matcher {
	pats := append(DefaultPatterns(),
		"*.tmp", "*.o", "node_modules/", "/home/*/Downloads/", "build/out",
		"*.iso", ".git/", "target/", "~/VMs/", "!~/VMs/keep.qcow2")
	m, err := New(pats, []string{"/home/ann", "/home/bob", "/root"})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func BenchmarkExcluded(b *testing.B) {
	m := benchMatcher(b)
	paths := []struct {
		path string
		dir  bool
	}{
		{"/home/ann/projects/keepsake/service/engine/backup.go", false},
		{"/home/ann/projects/keepsake/service/engine", true},
		{"/home/ann/projects/keepsake/build/out", true},
		{"/home/ann/.cache", true},
		{"/home/ann/Pictures/2024/IMG_0001.jpg", false},
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p := paths[i%len(paths)]
		m.Excluded(p.path, p.dir)
	}
}
