package humanize

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/kerr"
)

func TestErrorNeverShowsRawNames(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"named D-Bus error with detail", dbus.Error{Name: kerr.DeviceGone.DBusName(), Body: []any{"drive KeepsakeDemo was removed"}},
			"The backup drive was disconnected during the backup. Plug it in again to finish. (Drive KeepsakeDemo was removed)"},
		{"not authorized", &dbus.Error{Name: kerr.NotAuthorized.DBusName(), Body: []any{""}},
			"You are not allowed to do this. An administrator can."},
		{"invalid args", dbus.Error{Name: "org.freedesktop.DBus.Error.InvalidArgs", Body: []any{"bad path"}},
			"Keepsake did not understand the request. (Bad path)"},
		{"service gone", dbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown", Body: []any{"The name is not activatable"}},
			"The backup service is not running. Start it with “systemctl start keepsake”."},
		{"no connection", ErrNoService, "The backup service is not running. Start it with “systemctl start keepsake”."},
		{"the client's not running", fmt.Errorf("list the backups of home: %w", kerr.New(kerr.ServiceNotRunning, "the Keepsake service (keepsaked) is not running")),
			"The backup service is not running. Start it with “systemctl start keepsake”."},
		{"a missing object is not a missing service", kerr.New(kerr.NotFound, ""),
			"It is no longer there: it may have been removed meanwhile."},
		{"something gone", dbus.Error{Name: kerr.NotFound.DBusName(), Body: []any{"snapshot x recorded no Flatpak installation"}},
			"It is no longer there: it may have been removed meanwhile. (Snapshot x recorded no Flatpak installation)"},
		{"unknown future name", dbus.Error{Name: kerr.DBusPrefix + "SomethingNew", Body: []any{"x"}},
			"Something went wrong. (X)"},
		{"plain Go error", errors.New("boom"), "Something went wrong. (Boom)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Error(c.err)
			if got != c.want {
				t.Errorf("Error() = %q, want %q", got, c.want)
			}
			if strings.Contains(got, "io.github") || strings.Contains(got, "org.freedesktop") {
				t.Errorf("raw error name shown: %q", got)
			}
		})
	}
}

// TestEveryNameHasASentence: every error name shared/kerr declares, read
// from its source so that a new name cannot be forgotten here.
func TestEveryNameHasASentence(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "shared", "kerr", "kerr.go"))
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`(?m)^\s+\w+\s+Name\s*=\s*"(\w+)"`).FindAllSubmatch(src, -1)
	if len(names) < 30 {
		t.Fatalf("read %d error names from kerr.go: the pattern no longer fits it", len(names))
	}
	for _, m := range names {
		if n := kerr.Name(m[1]); sentences[n] == "" && n != kerr.ServiceNotRunning {
			t.Errorf("no sentence for %s", n)
		}
	}
}

// TestSize: sizes are GLib's g_format_size, as in Files and the rest of
// GNOME: one decimal in every unit ("52.0 GB") and a no-break space
// before the unit, so that a line never breaks inside a size.
func TestSize(t *testing.T) {
	english(t)
	for _, c := range []struct {
		name string
		in   int64
		want string
	}{
		{"unknown", -1, "unknown"},
		{"nothing", 0, "0 bytes"},
		{"one byte", 1, "1 byte"},
		{"bytes", 999, "999 bytes"},
		{"a kilobyte is 1000 bytes", 1000, "1.0\u00a0kB"},
		{"megabytes", 1234567, "1.2\u00a0MB"},
		{"gigabytes keep their decimal", 52_000_000_000, "52.0\u00a0GB"},
		{"terabytes", 2_000_000_000_000, "2.0\u00a0TB"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Size(c.in); got != c.want {
				t.Errorf("Size(%d) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestWhenAndUntil(t *testing.T) {
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.Local)
	cases := []struct {
		name string
		got  string
		want string
	}{
		{"never", When(time.Time{}, now), "never"},
		{"seconds", When(now.Add(-20*time.Second), now), "just now"},
		{"minutes", When(now.Add(-5*time.Minute), now), "5 minutes ago"},
		{"today", When(now.Add(-3*time.Hour), now), "today at 07:00"},
		{"yesterday", When(now.Add(-20*time.Hour), now), "yesterday at 14:00"},
		{"this year", When(time.Date(2026, 3, 12, 9, 0, 0, 0, time.Local), now), "12 March at 09:00"},
		{"last year", When(time.Date(2025, 3, 12, 9, 0, 0, 0, time.Local), now), "12 March 2025"},
		{"due now", Until(now.Add(10*time.Second), now), "now"},
		{"in minutes", Until(now.Add(29*time.Minute+30*time.Second), now), "in 30 minutes"},
		{"in an hour", Until(now.Add(59*time.Minute+30*time.Second), now), "today at 10:59"},
		{"tomorrow", Until(now.Add(23*time.Hour), now), "tomorrow at 09:00"},
		{"unscheduled", Until(time.Time{}, now), "not scheduled"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestIntervalAndDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "only when you ask", time.Hour: "every hour", 30 * time.Minute: "every 30 minutes",
		6 * time.Hour: "every 6 hours", 24 * time.Hour: "every day", 48 * time.Hour: "every 2 days"} {
		if got := Interval(d); got != want {
			t.Errorf("Interval(%v) = %q, want %q", d, got, want)
		}
	}
	for d, want := range map[time.Duration]string{30 * time.Second: "less than a minute", 3 * time.Minute: "about 3 minutes",
		time.Hour: "about 1 hour", 90 * time.Minute: "about 1 hour 30 minutes"} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestProgress(t *testing.T) {
	english(t)
	now := time.Unix(1_800_000_000, 0)
	j := client.Job{FilesDone: 120, FilesTotal: 400, BytesDone: 5_000_000, BytesTotal: 20_000_000, Rate: 2_500_000,
		ExpectedEnd: now.Add(3 * time.Minute).UnixMicro()}
	if got, want := Progress(j, now), "120 of 400 files · 5.0\u00a0MB of 20.0\u00a0MB · 2.5\u00a0MB/s · about 3 minutes left"; got != want {
		t.Errorf("Progress = %q, want %q", got, want)
	}
	if got, want := Progress(client.Job{FilesDone: 13559, FilesTotal: 9, BytesDone: 213e6, BytesTotal: 3e6}, now), "13,559 files · 213.0\u00a0MB"; got != want {
		t.Errorf("Progress past the estimate = %q, want %q", got, want)
	}
	if got := Progress(client.Job{Phase: "scanning"}, now); got != "Scanning…" {
		t.Errorf("Progress of a fresh job = %q", got)
	}
}

func TestStateCountsProblems(t *testing.T) {
	idle := client.Profile{State: 1, LastSuccess: 1}
	cases := []struct {
		count  uint32
		listed []string
		want   string
	}{
		{0, nil, "Backups are up to date"},
		{1, []string{"/a: cannot read"}, "Backed up, with 1 problem"},
		{3, []string{"/a: x", "/b: x", "/c: x"}, "Backed up, with 3 problems"},
		{101, []string{"/a: x"}, "Backed up, with 101 problems"},
	}
	for _, c := range cases {
		p := idle
		p.LastProblemCount, p.LastProblems = c.count, c.listed
		if got := State(p); got != c.want {
			t.Errorf("State with %d problems = %q, want %q", c.count, got, c.want)
		}
	}
}

func TestFolders(t *testing.T) {
	const home = "/home/ann"
	cases := []struct {
		dirs []string
		want string
	}{
		{nil, ""},
		{[]string{"/home/ann/nas"}, "~/nas"},
		{[]string{"/home/ann/nas", "/home/ann/Mounts/photos", "/srv/usb"}, "~/nas, ~/Mounts/photos, /srv/usb"},
		{[]string{"/home/ann", "/a", "/b", "/c"}, "~, /a, /b, /c"},
		{[]string{"/a", "/b", "/c", "/d", "/e"}, "/a, /b, /c and 2 more"},
		{[]string{"/home/ann/caf\xe9"}, "~/caf\uFFFD"},
	}
	for _, c := range cases {
		if got := Folders(c.dirs, home, 3); got != c.want {
			t.Errorf("Folders(%q) = %q, want %q", c.dirs, got, c.want)
		}
	}
}
