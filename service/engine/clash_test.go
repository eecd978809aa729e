package engine

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestClashName(t *testing.T) {
	dir := t.TempDir()
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	when := time.Date(2026, 11, 20, 10, 30, 0, 0, time.Local)
	for _, tc := range []struct {
		name, in string
		dir      bool
		want     string
	}{
		{"file keeps its extension last", "report.odt", false, "report (restored 2026-11-20 10.30).odt"},
		{"folder named like an app id", "org.gnome.Maps", true, "org.gnome.Maps (restored 2026-11-20 10.30)"},
		{"dotfile", ".bashrc", false, ".bashrc (restored 2026-11-20 10.30)"},
		{"long suffix is not an extension", "archive.verylongext", false, "archive.verylongext (restored 2026-11-20 10.30)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := clashName(fd, tc.in, when, tc.dir); got != tc.want {
				t.Errorf("clashName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
