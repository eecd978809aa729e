package application

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/diamondburned/gotk4/pkg/gio/v2"
	"github.com/diamondburned/gotk4/pkg/glib/v2"
	"github.com/keepsake/keepsake/app/humanize"
)

func TestClock24(t *testing.T) {
	for _, c := range []struct {
		name, format string
		want         bool
	}{
		{"24 hours", "24h", true},
		{"12 hours", "12h", false},
		{"an unknown value is GNOME's default", "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Clock24(c.format); got != c.want {
				t.Errorf("Clock24(%q) = %v, want %v", c.format, got, c.want)
			}
		})
	}
}

// TestFollowsGNOMEsClockFormat: the app's times switch between 12 and
// 24 hours when GNOME's setting changes, as the desktop's clock does
// (GSettings' memory backend stands in for dconf).
func TestFollowsGNOMEsClockFormat(t *testing.T) {
	if gio.SettingsSchemaSourceGetDefault().Lookup(clockSchema, true) == nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the org.gnome.desktop.interface schema is missing (gsettings-desktop-schemas)")
		}
		t.Skip("the org.gnome.desktop.interface schema is missing: install gsettings-desktop-schemas")
	}
	t.Setenv("GSETTINGS_BACKEND", "memory")
	t.Cleanup(func() { humanize.SetClock24(true) })
	changes := 0
	s := followClock(func() { changes++ })
	if s == nil {
		t.Fatal("followClock found no settings where the schema is installed")
	}
	if !humanize.Clock24() {
		t.Fatal("the default clock-format is not 24 hours")
	}
	now := time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)
	wait := func(n int) {
		t.Helper()
		for end := time.Now().Add(5 * time.Second); changes < n && time.Now().Before(end); {
			glib.MainContextDefault().Iteration(false)
		}
		if changes < n {
			t.Fatalf("%d changes seen, want %d", changes, n)
		}
	}
	s.SetString("clock-format", "12h")
	wait(1)
	if got := humanize.DateTitle(now.Add(-time.Hour), now, humanize.Minutes); got != "Today at 2:00 PM" {
		t.Errorf("after 12h: %q", got)
	}
	s.SetString("clock-format", "24h")
	wait(2)
	if got := humanize.DateTitle(now.Add(-time.Hour), now, humanize.Minutes); got != "Today at 14:00" {
		t.Errorf("after 24h: %q", got)
	}
	s.SetString("gtk-theme", "HighContrast")
	for i := 0; i < 10; i++ {
		glib.MainContextDefault().Iteration(false)
	}
	if changes != 2 {
		t.Errorf("another key's change redrew the times (%d changes)", changes)
	}
}

// TestNoClockSchema: without GNOME's schemas (another desktop, a bare
// runtime) the app starts on a 24-hour clock instead of aborting, as
// GSettings does for a schema it does not know. It runs in a child
// process: the schema source is read once per process.
func TestNoClockSchema(t *testing.T) {
	if os.Getenv("KEEPSAKE_TEST_NO_SCHEMA") == "1" {
		if src := gio.SettingsSchemaSourceGetDefault(); src != nil && src.Lookup(clockSchema, true) != nil {
			t.Fatal("the schema is still found: this run proves nothing")
		}
		if s := followClock(func() {}); s != nil {
			t.Fatal("settings made without the schema")
		}
		if !humanize.Clock24() {
			t.Fatal("not on a 24-hour clock")
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoClockSchema$", "-test.v")
	cmd.Env = append(os.Environ(), "KEEPSAKE_TEST_NO_SCHEMA=1", "XDG_DATA_DIRS="+t.TempDir(), "XDG_DATA_HOME="+t.TempDir(), "GSETTINGS_SCHEMA_DIR=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("without the schema: %v\n%s", err, out)
	}
}
