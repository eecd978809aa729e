package fsmeta

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

func TestXattrsEncodeRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		xs   []Xattr
	}{
		{"none", nil},
		{"one", []Xattr{{"user.a", []byte("1")}}},
		{"binary and empty", []Xattr{{"system.posix_acl_access", []byte{2, 0, 0, 0, 1, 0, 6, 0}}, {"user.empty", []byte{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeXattrs(EncodeXattrs(tt.xs))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.xs) || (len(got) > 0 && !reflect.DeepEqual(got, tt.xs)) {
				t.Fatalf("round trip %v -> %v", tt.xs, got)
			}
		})
	}
	if _, err := DecodeXattrs([]byte{5, 'a'}); err == nil {
		t.Error("truncated blob decoded")
	}
}

func TestLstatAndApplySymlink(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("target/../x", filepath.Join(dir, "l")); err != nil {
		t.Fatal(err)
	}
	m, err := Lstat(filepath.Join(dir, "l"))
	if err != nil || m.Type != Symlink || m.LinkTarget != "target/../x" {
		t.Fatalf("Lstat = %+v, %v", m, err)
	}
	m.MtimeNs = 1_000_000_123
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := ApplyAt(fd, "l", m, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	got, _ := Lstat(filepath.Join(dir, "l"))
	if got.MtimeNs != 1_000_000_123 {
		t.Errorf("symlink mtime %d", got.MtimeNs)
	}
}

func TestApplyFileSetsModeAndTime(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(p, unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	want := Meta{Type: File, Mode: 0o751, MtimeNs: 1234567890123456789, Xattrs: []Xattr{{"user.k", []byte("v")}}}
	if err := ApplyFile(fd, want, ApplyOptions{Xattrs: true}); err != nil {
		t.Fatal(err)
	}
	got, err := Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if got.Mode != 0o751 || got.MtimeNs != want.MtimeNs {
		t.Errorf("mode %o mtime %d", got.Mode, got.MtimeNs)
	}
	if len(got.Xattrs) != 1 || string(got.Xattrs[0].Value) != "v" {
		t.Errorf("xattrs %+v", got.Xattrs)
	}
}
