package search

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
	for _, w := range []int{360, 800} {
		env := &ui.Env{Client: func() *client.Client { return nil }, Profile: func() string { return "home" },
			Window: func() *gtk.Window { return nil }, Toast: func(string) {}, History: func(string) {}}
		p := New(env)
		p.home = "/home/ann"
		p.latest = "s9"
		now := time.Now()
		p.setFolder("/home/ann/Documents/Very Long Folder Name For Testing/Reports")
		p.show(answer{groups: GroupHits([]Hit{
			{Path: "/home/ann/Documents/report & summary <final>.odt", Type: "file", Last: now, LastSnapshot: "s9"},
			{Path: "/home/ann/Documents/report & summary <final>.odt", Type: "file", Last: now.Add(-48 * time.Hour), LastSnapshot: "s7"},
			{Path: "/home/ann/Documents/Old/Very/Deep/Folder/Structure/That/Goes/On/report-2019-with-a-really-long-file-name-indeed.txt", Type: "file", Last: now.Add(-30 * 24 * time.Hour), LastSnapshot: "s2"},
			{Path: "/home/ann/report", Type: "symlink", Last: now.Add(-time.Hour), LastSnapshot: "s8"},
		})}, p.folder)
		win := gtk.NewWindow()
		win.SetDefaultSize(w, 600)
		win.SetChild(p)
		win.Present()
		ctx := glib.MainContextDefault()
		end := time.Now().Add(1500 * time.Millisecond)
		for time.Now().Before(end) {
			for ctx.Iteration(false) {
			}
			time.Sleep(10 * time.Millisecond)
		}
		exec.Command("import", "-window", "root", "-crop", "900x700+0+0", "/tmp/shot-search-"+map[int]string{360: "narrow", 800: "wide"}[w]+".png").Run()
		p.Stack.SetVisibleChildName("empty")
		end = time.Now().Add(800 * time.Millisecond)
		for time.Now().Before(end) {
			for ctx.Iteration(false) {
			}
			time.Sleep(10 * time.Millisecond)
		}
		exec.Command("import", "-window", "root", "-crop", "900x700+0+0", "/tmp/shot-search-empty-"+map[int]string{360: "narrow", 800: "wide"}[w]+".png").Run()
		win.Destroy()
	}
}
