// Command hello is the baseline of build-aux/bench-app.sh: the smallest
// libadwaita window, built with the same toolkit and flags as Keepsake,
// printing the wall-clock time of its first frame the way the app does
// with KEEPSAKE_BENCH_FIRST_FRAME=1. Keepsake's start-up is reported as a
// ratio to it, so what the toolkit costs on this machine cancels out.
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	"github.com/diamondburned/gotk4/pkg/gdk/v4"
	"github.com/diamondburned/gotk4/pkg/gio/v2"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
)

func main() {
	app := adw.NewApplication("io.github.keepsake.BenchHello", gio.ApplicationNonUnique)
	app.ConnectActivate(func() {
		w := adw.NewApplicationWindow(&app.Application)
		w.SetDefaultSize(900, 680)
		w.SetContent(gtk.NewLabel("Hello"))
		w.Present()
		gdk.BaseFrameClock(w.FrameClock()).ConnectAfterPaint(func() {
			fmt.Println("first-frame", time.Now().UnixNano())
			app.Quit()
		})
		w.QueueDraw()
	})
	os.Exit(app.Run(os.Args))
}
