package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/config"
	"github.com/keepsake/keepsake/shared/api"
)

// TestConcurrentConfigChanges: 50 configuration changes sent at once, of
// different kinds (folders added to one profile, settings of another, new
// profiles), all stick: none is lost to another that read the
// configuration before it was saved. Checked in the saved file and on the
// bus.
func TestConcurrentConfigChanges(t *testing.T) {
	s := startService(t, "")
	for _, name := range []string{"many", "settings"} {
		if _, err := s.client.CreateProfile(bg, name, api.Settings{}, api.Auth{}); err != nil {
			t.Fatal(err)
		}
	}
	root := t.TempDir()
	var edits []func() error
	var wantSources []string
	for i := range 30 {
		dir := filepath.Join(root, fmt.Sprintf("folder-%02d", i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		wantSources = append(wantSources, dir)
		edits = append(edits, func() error { return s.client.AddSource(bg, "many", dir, api.Auth{}) })
	}
	setting := func(k, v string) api.Settings {
		var s api.Settings
		if err := s.Set(k, v); err != nil {
			t.Fatal(err)
		}
		return s
	}
	settings := []api.Settings{
		setting("interval", "7200"), setting("quiet", "120"), setting("on-change", "no"), setting("on-plug", "no"),
		setting("skip-on-battery", "yes"), setting("flatpak", "no"), setting("flatpak-offline", "yes"),
		setting("retention", "keep-last=5 daily=7"), setting("min-free", "5%"), setting("excludes", "*.tmp"),
	}
	for _, set := range settings {
		edits = append(edits, func() error { return s.client.Configure(bg, "settings", set, api.Auth{}) })
	}
	var wantNew []string
	for i := range 10 {
		name := fmt.Sprintf("new-%02d", i)
		wantNew = append(wantNew, name)
		edits = append(edits, func() error {
			_, err := s.client.CreateProfile(bg, name, setting("interval", fmt.Sprint(3600*(i+1))), api.Auth{})
			return err
		})
	}
	if len(edits) != 50 {
		t.Fatalf("%d edits, want 50", len(edits))
	}

	start := make(chan struct{})
	errs := make([]error, len(edits))
	var wg sync.WaitGroup
	for i, edit := range edits {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = edit()
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("edit %d: %v", i, err)
		}
	}

	check := func(where string, sources []string, set config.Profile, created map[string]uint64) {
		t.Helper()
		sort.Strings(sources)
		if !reflect.DeepEqual(sources, wantSources) {
			t.Errorf("%s: profile many has %d of the 30 folders: %q", where, len(sources), sources)
		}
		want := config.DefaultProfile("settings")
		want.Interval, want.Quiet, want.OnChange, want.OnPlug = 7200e9, 120e9, false, false
		want.SkipOnBattery, want.Flatpak, want.FlatpakOffline = true, false, true
		want.Retention, want.MinFree, want.Excludes = "keep-last=5 daily=7", "5%", []string{"*.tmp"}
		if !reflect.DeepEqual(set, want) {
			t.Errorf("%s: profile settings is\n%+v, want\n%+v", where, set, want)
		}
		for i, name := range wantNew {
			if iv, ok := created[name]; !ok || iv != uint64(3600*(i+1)) {
				t.Errorf("%s: profile %s: present %v, interval %d s", where, name, ok, iv)
			}
		}
	}

	cfg, err := config.Load(s.configPath())
	if err != nil {
		t.Fatal(err)
	}
	var set config.Profile
	var sources []string
	created := map[string]uint64{}
	for _, pc := range cfg.Profiles {
		switch pc.Name {
		case "many":
			sources = pc.Sources
		case "settings":
			set = pc
		default:
			created[pc.Name] = uint64(pc.Interval.Seconds())
		}
	}
	check("the configuration file", sources, set, created)

	ps, err := s.client.Profiles(bg)
	if err != nil {
		t.Fatal(err)
	}
	set, sources, created = config.Profile{}, nil, map[string]uint64{}
	for _, p := range ps {
		switch p.Name {
		case "many":
			sources = p.Sources
		case "settings":
			set = config.Profile{Name: p.Name, Owner: p.Owner, Sources: nilIfEmpty(p.Sources), Excludes: nilIfEmpty(p.Excludes),
				Drive: p.DriveUUID, Interval: secs(p.Interval), OnChange: p.OnChange, Quiet: secs(p.QuietPeriod),
				OnPlug: p.OnPlug, SkipOnBattery: p.SkipOnBattery, Flatpak: p.Flatpak, FlatpakOffline: p.FlatpakOffline,
				Retention: p.Retention, MinFree: "5%", // MinFree is not a property
				OverdueDays: int(p.OverdueDays)}
			if len(p.Viewers) > 0 {
				set.Viewers = p.Viewers
			}
		default:
			created[p.Name] = p.Interval
		}
	}
	check("the Profile properties", sources, set, created)
}

func secs(n uint64) (d time.Duration) { return time.Duration(n) * 1e9 }

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
