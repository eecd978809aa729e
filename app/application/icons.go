package application

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/diamondburned/gotk4/pkg/gdk/v4"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/keepsake/keepsake/data"
)

// addIcons makes the app's own icons findable when it runs from a build
// tree (build-aux/run.sh, the UI tests): installed, it finds them in the
// hicolor theme and this does nothing.
func addIcons() {
	theme := gtk.IconThemeGetForDisplay(gdk.DisplayGetDefault())
	if theme == nil || theme.HasIcon(ID) {
		return
	}
	base := os.Getenv("XDG_RUNTIME_DIR")
	if base == "" {
		base = os.TempDir()
	}
	dir := filepath.Join(base, fmt.Sprintf("keepsake-icons-%d", os.Getuid()))
	err := fs.WalkDir(data.Icons, "icons", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := data.Icons.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o600)
	})
	if err == nil {
		theme.AddSearchPath(filepath.Join(dir, "icons"))
	}
}
