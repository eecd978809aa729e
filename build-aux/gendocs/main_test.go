package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The man pages and completions meson installs are written for every
// command, and the bash completion is named like the command.
func TestWrite(t *testing.T) {
	out := t.TempDir()
	if err := write(out); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"man1/keepsakectl.1", "man1/keepsakectl-restore.1", "man1/keepsakectl-backup-now.1",
		"man1/keepsakectl-flatpak-restore.1", "keepsakectl", "_keepsakectl", "keepsakectl.fish"} {
		data, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || len(data) == 0 {
			t.Fatalf("%s: %v (%d bytes)", name, err, len(data))
		}
	}
	page, _ := os.ReadFile(filepath.Join(out, "man1/keepsakectl-restore.1"))
	if !strings.Contains(string(page), "--overwrite") || !strings.Contains(string(page), "--repo") {
		t.Errorf("the restore page lacks its flags or the global ones:\n%s", page)
	}
}
