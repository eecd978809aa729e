package apps

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	"github.com/diamondburned/gotk4/pkg/glib/v2"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/keepsake/keepsake/app/ui"
	"github.com/keepsake/keepsake/shared/client"
)

func TestZZShot(t *testing.T) {
	if os.Getenv("KEEPSAKE_SHOT") == "" {
		t.Skip()
	}
	runtime.LockOSThread()
	gtk.Init()
	adw.Init()
	spin := func(d time.Duration) {
		ctx := glib.MainContextDefault()
		end := time.Now().Add(d)
		for time.Now().Before(end) {
			for ctx.Iteration(false) {
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, w := range []int{360, 800} {
		win := gtk.NewWindow()
		env := &ui.Env{Client: func() *client.Client { return nil }, Profile: func() string { return "home" },
			Window: func() *gtk.Window { return win }, Toast: func(string) {}, History: func(string) {}}
		p := New(env)
		p.home = "/home/ann"
		p.me = "ann"
		now := time.Now()
		p.snaps = []Snapshot{{Name: "a", Time: now.Add(-time.Hour)}, {Name: "b", Time: now.Add(-30 * time.Hour)}}
		p.filling = true
		p.SnapshotList.Splice(0, 0, []string{SnapshotLabel(p.snaps[0], now), SnapshotLabel(p.snaps[1], now)})
		p.filling = false
		p.readAppInfos()
		p.show(GroupApps([]App{
			{Installation: "system", Kind: "app", ID: "org.gnome.TextEditor", Ref: "app/org.gnome.TextEditor/x86_64/stable", State: "missing", Version: "45.1", Data: true},
			{Installation: "system", Kind: "app", ID: "org.mozilla.firefox", Ref: "app/org.mozilla.firefox/x86_64/stable", State: "older", Version: "121.0", InstalledVersion: "119.0.1", Data: true},
			{Installation: "user:ann", Kind: "app", ID: "com.example.VeryLongApplicationIdentifierThatGoesOn", Ref: "app/com.example.VeryLongApplicationIdentifierThatGoesOn/x86_64/stable", State: "same", Version: "1.0"},
		}, p.names))
		p.showResults([]Outcome{
			{Installation: "system", Kind: "app", Ref: "app/org.gnome.TextEditor/x86_64/stable", Status: Installed},
			{Installation: "system", Kind: "app", Ref: "app/org.gimp.GIMP/x86_64/stable", Status: Failed, Reason: "no remote refs found similar to ‘org.gimp.GIMP’"},
			{Installation: "system", Kind: "data", Ref: "/home/ann/.var/app/org.gnome.TextEditor", Status: Restored, Reason: "/home/ann/.var/app/org.gnome.TextEditor (restored 2026-11-30 08.00)"},
		})
		win.SetDefaultSize(w, 700)
		win.SetChild(p)
		win.Present()
		spin(1200 * time.Millisecond)
		name := map[int]string{360: "narrow", 800: "wide"}[w]
		exec.Command("import", "-window", "root", "-crop", "900x720+0+0", "/tmp/shot-apps-"+name+".png").Run()
		p.confirmRollBack(p.insts[0].Apps[0])
		spin(800 * time.Millisecond)
		exec.Command("import", "-window", "root", "-crop", "900x720+0+0", "/tmp/shot-apps-dialog-"+name+".png").Run()
		win.Destroy()
	}
}
