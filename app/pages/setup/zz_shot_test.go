package setup

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
	win := gtk.NewWindow()
	env := &ui.Env{
		Client:  func() *client.Client { return nil },
		State:   func() live.State { return live.State{} },
		Profile: func() string { return "" },
		Window:  func() *gtk.Window { return win },
		Toast:   func(m string) {},
		Refresh: func() {},
	}
	p := New(env, func() {})
	win.SetChild(p)
	w, h := 360, 700
	fmt.Sscan(os.Getenv("SHOT"), &w)
	win.SetDefaultSize(w, h)
	win.Present()
	p.Update(live.State{Drives: []client.Drive{
		{UUID: "fat", Label: "CAMERA", Filesystem: "vfat", Size: 64e9, Free: 1e9, Present: true, Unusable: "FAT cannot keep hard links or Linux permissions"},
		{UUID: "ext", Label: "Passport & Co", Filesystem: "ext4", Size: 1e12, Free: 9e11, Present: true},
		{UUID: "old", Label: "Old Backups", Filesystem: "ext4", Size: 5e11, Free: 1e11, Present: true, Enrolled: true},
		{UUID: "gone", Label: "Desk Drive", Filesystem: "ext4", Size: 5e11, Free: -1},
	}})
	shot := func(n int) {
		for i := 0; i < 50; i++ {
			pump()
			time.Sleep(20 * time.Millisecond)
		}
		exec.Command("import", "-window", "root", "-crop", fmt.Sprintf("%dx%d+0+0", w, h), fmt.Sprintf("/tmp/shot-%d-%d.png", w, n)).Run()
	}
	shot(1)
	p.driveRows[1].Activate()
	p.NextButton.Emit("clicked")
	shot(2)
	p.NextButton.Emit("clicked")
	shot(3)
	p.NextButton.Emit("clicked")
	shot(4)
	p.StartButton.Emit("clicked")
	waitFor(t, func() bool { return !p.running })
	shot(5)
}
