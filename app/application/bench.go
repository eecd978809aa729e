package application

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/diamondburned/gotk4/pkg/gdk/v4"
	"github.com/keepsake/keepsake/app/live"
)

// benchFirstFrame is for build-aux/bench-app.sh: with
// KEEPSAKE_BENCH_FIRST_FRAME=1 the app prints the wall-clock time (Unix
// nanoseconds) of the first frame that shows the service's data — what a
// person waits for after clicking the launcher — and the profiles that
// frame shows, and quits. When the first reading of the service failed,
// the window shows no data: it prints "first-frame-failed" and the error
// instead, so the benchmark never times a window without data.
var benchFirstFrame = os.Getenv("KEEPSAKE_BENCH_FIRST_FRAME") == "1"

// benchFrame arms the measurement on the first reading of the service.
func (a *App) benchFrame(st live.State) {
	if !benchFirstFrame || st.Read.IsZero() {
		return
	}
	benchFirstFrame = false
	if st.Err != nil {
		fmt.Println("first-frame-failed", st.Err)
		os.Stdout.Sync()
		a.Quit()
		return
	}
	var names []string
	for _, p := range st.Profiles {
		names = append(names, p.Name)
	}
	shown := "profiles=" + strings.Join(names, ",")
	fc := a.win.FrameClock()
	if fc == nil {
		fmt.Println("first-frame", time.Now().UnixNano(), shown)
		a.Quit()
		return
	}
	gdk.BaseFrameClock(fc).ConnectAfterPaint(func() {
		fmt.Println("first-frame", time.Now().UnixNano(), shown)
		os.Stdout.Sync()
		a.Quit()
	})
	a.win.QueueDraw()
}
