package exclude

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExcluded(t *testing.T) {
	homes := []string{"/home/ann", "/root"}
	tests := []struct {
		name     string
		patterns []string
		path     string
		dir      bool
		want     bool
	}{
		{"base glob any depth", []string{"*.tmp"}, "/home/ann/a/b/x.tmp", false, true},
		{"base glob no match", []string{"*.tmp"}, "/home/ann/x.tmpl", false, false},
		{"dir-only on dir", []string{"node_modules/"}, "/src/app/node_modules", true, true},
		{"dir-only on file", []string{"node_modules/"}, "/src/app/node_modules", false, false},
		{"anchored at root", []string{"/home/*/Downloads/"}, "/home/ann/Downloads", true, true},
		{"anchored not elsewhere", []string{"/home/*/Downloads/"}, "/data/home/ann/Downloads", true, false},
		{"home anchored first home", []string{"~/.cache/"}, "/home/ann/.cache", true, true},
		{"home anchored second home", []string{"~/.cache/"}, "/root/.cache", true, true},
		{"home anchored not deeper", []string{"~/.cache/"}, "/home/ann/src/.cache", true, false},
		{"slash pattern any depth", []string{"build/out"}, "/x/y/build/out", true, true},
		{"double star middle", []string{"/srv/**/logs"}, "/srv/a/b/c/logs", true, true},
		{"double star zero dirs", []string{"/srv/**/logs"}, "/srv/logs", true, true},
		{"negation re-includes", []string{"*.log", "!keep.log"}, "/a/keep.log", false, false},
		{"last match wins", []string{"!keep.log", "*.log"}, "/a/keep.log", false, true},
		{"escaped bang", []string{`\!odd`}, "/a/!odd", false, true},
		{"comment ignored", []string{"# *.txt"}, "/a/b.txt", false, false},
		{"question and class", []string{"file?.[ch]"}, "/a/file1.c", false, true},
		{"flatpak cache default", DefaultPatterns(), "/home/ann/.var/app/org.x.Y/cache", true, true},
		{"flatpak data kept", DefaultPatterns(), "/home/ann/.var/app/org.x.Y/data", true, false},
		{"trash default", DefaultPatterns(), "/home/ann/.local/share/Trash", true, true},
		{"volume trash default", DefaultPatterns(), "/media/usb/.Trash-1000", true, true},
		{"plain cache name kept", DefaultPatterns(), "/home/ann/cache", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(tt.patterns, homes)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Excluded(tt.path, tt.dir); got != tt.want {
				t.Errorf("Excluded(%q, dir=%v) with %q = %v, want %v", tt.path, tt.dir, tt.patterns, got, tt.want)
			}
		})
	}
}

func TestBadPatternIsNamed(t *testing.T) {
	_, err := New([]string{"ok", "a["}, nil)
	if err == nil || !strings.Contains(err.Error(), `"a["`) {
		t.Fatalf("error %v does not name the bad pattern", err)
	}
}

func TestCacheDirTagged(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    bool
	}{
		{"valid", cacheDirSignature + "\n# made by a tool\n", true},
		{"wrong signature", "Signature: 0000000000000000000000000000000\n", false},
		{"short", "Signature: 8a47", false},
		{"missing", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.content != "" {
				if err := os.WriteFile(filepath.Join(dir, "CACHEDIR.TAG"), []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := CacheDirTagged(dir); got != tt.want {
				t.Errorf("CacheDirTagged = %v, want %v", got, tt.want)
			}
		})
	}
}

func BenchmarkExcluded(b *testing.B) {
	pats := append(DefaultPatterns(), "*.tmp", "*.o", "node_modules/", "/home/*/Downloads/", "build/out", "*.iso", ".git/", "target/", "~/VMs/", "*.swp")
	m, err := New(pats, []string{"/home/ann", "/root"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		m.Excluded("/home/ann/projects/keepsake/service/engine/backup.go", false)
	}
}
