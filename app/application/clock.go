package application

import (
	"github.com/diamondburned/gotk4/pkg/gio/v2"
	"github.com/keepsake/keepsake/app/humanize"
)

// clockSchema holds GNOME's clock-format setting ("24h" or "12h"), which
// the desktop's clock and every GNOME app follow.
const clockSchema = "org.gnome.desktop.interface"

// Clock24 reads a clock-format value: only "12h" is a 12-hour clock;
// anything else (and GNOME's default) is 24 hours.
func Clock24(format string) bool { return format != "12h" }

// followClock sets humanize's clock from GNOME's clock-format and calls
// changed after each change of it. It returns the settings to keep
// alive (a GSettings that is freed emits nothing), or nil where the
// schema is not installed (another desktop, a bare Flatpak runtime):
// then times stay on a 24-hour clock. gio.NewSettings on a missing
// schema aborts the program, hence the lookup first.
func followClock(changed func()) *gio.Settings {
	src := gio.SettingsSchemaSourceGetDefault()
	if src == nil {
		return nil
	}
	schema := src.Lookup(clockSchema, true)
	if schema == nil || !schema.HasKey("clock-format") {
		return nil
	}
	s := gio.NewSettings(clockSchema)
	humanize.SetClock24(Clock24(s.String("clock-format")))
	s.ConnectChanged(func(key string) {
		if key != "clock-format" {
			return
		}
		humanize.SetClock24(Clock24(s.String("clock-format")))
		changed()
	})
	return s
}
