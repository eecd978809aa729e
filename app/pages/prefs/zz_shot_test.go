package prefs

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/app/ui"
	"github.com/keepsake/keepsake/shared/client"
)

func TestZZShot(t *testing.T) {
	if os.Getenv("SHOT") == "" {
		t.Skip()
	}
	runtime.LockOSThread()
	gtk.Init()
	adw.Init()
	main := gtk.NewWindow()
	st := live.State{
		Profiles: []client.Profile{{
			Name: "alice", Sources: []string{"/root", "/srv/music"}, Excludes: []string{"*.iso", "~/Videos/"},
			DriveUUID: "d1", Interval: 3600, OnChange: true, OnPlug: true, Retention: "time-machine", Flatpak: true,
		}},
		Drives: []client.Drive{
			{UUID: "d1", Label: "Passport", Filesystem: "ext4", Size: 1e12, Free: 4e11, Present: true, Enrolled: true},
			{UUID: "d2", Label: "CAMERA", Filesystem: "vfat", Present: true, Unusable: "FAT cannot keep hard links or Linux permissions"},
			{UUID: "d3", Label: "Spare", Filesystem: "xfs", Size: 2e12, Free: 2e12, Present: true},
			{UUID: "d4", Label: "Office Backups", Filesystem: "ext4", Size: 2e12, Free: 2e11, Enrolled: true, Warning: "not seen for 15 days"},
		},
	}
	env := &ui.Env{
		Client:  func() *client.Client { return nil },
		State:   func() live.State { return st },
		Profile: func() string { return "alice" },
		Window:  func() *gtk.Window { return main },
		Toast:   func(string) {},
		Refresh: func() {},
	}
	w, h := 360, 800
	fmt.Sscan(os.Getenv("SHOT"), &w)
	Open(env)
	current.SetDefaultSize(w, h)
	shot := func(n int) {
		for i := 0; i < 50; i++ {
			pump()
			time.Sleep(20 * time.Millisecond)
		}
		exec.Command("import", "-window", "root", "-crop", fmt.Sprintf("%dx%d+0+0", w, h), fmt.Sprintf("/tmp/pshot-%d-%d.png", w, n)).Run()
	}
	for i, name := range []string{"drives", "folders", "schedule", "apps"} {
		current.SetVisiblePageName(name)
		shot(i + 1)
	}
	current.OnChange.SetActive(false)
	shot(5)
}
