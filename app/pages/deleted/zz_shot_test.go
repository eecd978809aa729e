package deleted

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
		env := &ui.Env{Client: func() *client.Client { return nil }, Profile: func() string { return "home" },
			Window: func() *gtk.Window { return nil }, Toast: func(string) {}, History: func(string) {}}
		p := New(env)
		p.home = "/home/ann"
		p.profile = "home"
		p.folder = "/home/ann/Documents/Projects/Some Long Folder"
		p.FolderRow.SetSubtitle(Escape(FolderText(p.folder, p.home)))
		now := time.Now()
		fs := []File{
			{Path: "/home/ann/Documents/cv & letter.odt", Name: "cv & letter.odt", Dir: "/home/ann/Documents", Type: "file", Size: 123456, LastSnapshot: "a", LastTime: now.Add(-26 * time.Hour)},
			{Path: "/home/ann/Documents/Photos", Name: "Photos", Dir: "/home/ann/Documents", Type: "dir", LastSnapshot: "a", LastTime: now.Add(-3 * time.Hour)},
			{Path: "/home/ann/Documents/x/a-really-long-file-name-that-goes-on-and-on-forever.tar.gz", Name: "a-really-long-file-name-that-goes-on-and-on-forever.tar.gz", Dir: "/home/ann/Documents/x", Type: "file", Size: 5_000_000_000, LastSnapshot: "b", LastTime: now.Add(-10 * 24 * time.Hour)},
		}
		p.show(fs)
		p.checks[fs[0].Path].SetActive(true)
		win := gtk.NewWindow()
		win.SetDefaultSize(w, 600)
		win.SetChild(p)
		win.Present()
		spin(1200 * time.Millisecond)
		name := map[int]string{360: "narrow", 800: "wide"}[w]
		exec.Command("import", "-window", "root", "-crop", "900x700+0+0", "/tmp/shot-deleted-"+name+".png").Run()
		p.setBusy(true)
		p.ProgressBar.SetFraction(0.4)
		p.ProgressDetail.SetLabel("3 of 10 files · 1.2 MB of 4.0 MB")
		spin(600 * time.Millisecond)
		exec.Command("import", "-window", "root", "-crop", "900x700+0+0", "/tmp/shot-deleted-busy-"+name+".png").Run()
		win.Destroy()
	}
}
