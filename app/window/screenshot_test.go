package window

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	"github.com/diamondburned/gotk4/pkg/gio/v2"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/app/internal/gtktest"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/app/pages/computer"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/dbusapi"
)

// TestScreenshots takes pictures of the overview with three computers and
// of the steps that add one, for people to look at. It runs only when
// KEEPSAKE_SCREENSHOTS names a folder, in an X server the size of the
// window:
//
//	KEEPSAKE_SCREENSHOTS=/tmp/shots KEEPSAKE_WINDOW_SIZE=360x720 \
//	  xvfb-run -a -s '-screen 0 360x720x24' go test -run Screenshots ./app/window/
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("KEEPSAKE_SCREENSHOTS")
	if dir == "" {
		t.Skip("set KEEPSAKE_SCREENSHOTS to a folder to take screenshots")
	}
	gtktest.RequireDisplay(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	width, height := defaultSize()
	size := fmt.Sprintf("%dx%d", width, height)
	gtktest.InitForApp(t)
	// GNOME's window buttons (only Close), not GTK's default three, which
	// no GNOME user sees and which make the header wider than a phone.
	gtk.SettingsGetDefault().SetObjectProperty("gtk-decoration-layout", "appmenu:close")
	app := adw.NewApplication("io.github.keepsake.KeepsakeShots", gio.ApplicationNonUnique)
	var failures []string
	app.ConnectActivate(func() {
		defer app.Quit()
		w := New(app, Options{})
		w.Present()
		shot := func(name string) {
			settle(800 * time.Millisecond)
			path := filepath.Join(dir, name+"-"+size+".png")
			if out, err := exec.Command("import", "-window", "root", path).CombinedOutput(); err != nil {
				failures = append(failures, fmt.Sprintf("import %s: %v: %s", path, err, out))
			}
		}
		now := time.Now()
		st := shotState(now)
		w.SetClient(nil)
		w.inSetup = false
		w.Update(st)
		shot("overview")
		w.env.Select("nas")
		shot("overview-other")
		w.env.Select("")
		w.Views.SetVisibleChildName("browse")
		shot("browse-switch")
		w.Views.SetVisibleChildName("overview")

		w.computer.SetService(shotService{})
		w.env.AddComputer()
		w.computer.AddressEntry.SetText("ann@laptop.local")
		shot("add-computer-1")
		w.computer.NextButton.Emit("clicked")
		shot("add-computer-2")
		w.computer.NextButton.Emit("clicked")
		w.computer.Check.Check()
		settle(300 * time.Millisecond)
		shot("add-computer-3")

		w.computer.CancelButton.Emit("clicked")
		w.computer.BackButton.Emit("clicked")
		w.computer.BackButton.Emit("clicked")
		w.computer.CancelButton.Emit("clicked")
		r := computer.NewReview(w.env, "nas")
		r.SetService(shotService{changed: true})
		r.SetDefaultSize(width, height)
		r.Present()
		r.Check.Check()
		shot("review-key")
		r.Close()
	})
	if rc := app.Run(nil); rc != 0 {
		t.Fatalf("app exited with %d", rc)
	}
	for _, f := range failures {
		t.Error(f)
	}
}

func settle(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
		gtktest.Pump()
		time.Sleep(20 * time.Millisecond)
	}
}

func shotState(now time.Time) live.State {
	drive := client.Drive{Path: "/io/github/keepsake/Keepsake1/drives/d", UUID: "d", Label: "Backup Drive", Present: true, Enrolled: true,
		Size: 2e12, Free: 1.2e12, Filesystem: "ext4"}
	us := func(d time.Duration) int64 { return now.Add(-d).UnixMicro() }
	return live.State{Drives: []client.Drive{drive}, Profiles: []client.Profile{
		{Name: "ann", Owner: uint32(os.Getuid()), Sources: []string{"/home/ann"}, Drive: drive.Path, DriveUUID: "d", Interval: 3600,
			OnChange: true, State: uint32(dbusapi.StateIdle), LastSuccess: us(12 * time.Minute), NextRun: now.Add(48 * time.Minute).UnixMicro(), Job: "/"},
		{Name: "laptop", Sources: []string{"ssh://ann@laptop.local/home"}, Remote: true, Host: "laptop", HostKey: "accepted",
			Drive: drive.Path, DriveUUID: "d", Interval: 86400, State: uint32(dbusapi.StateFailed), LastResult: "HostUnreachable",
			LastMessage: "no route to host", LastSuccess: us(9*24*time.Hour + 3*time.Hour), LastAttempt: us(4 * time.Minute), Overdue: true, Job: "/"},
		{Name: "nas", Sources: []string{"ssh://backup@nas.local/srv/photos"}, Remote: true, Host: "nas", HostKey: "changed",
			Drive: drive.Path, DriveUUID: "d", Interval: 86400, State: uint32(dbusapi.StateFailed), LastResult: "HostKeyChanged",
			LastMessage: "the host key of nas.local:22 has changed", LastSuccess: us(26 * time.Hour), Job: "/"},
	}}
}

// shotService answers the steps as a computer on the network would.
type shotService struct{ changed bool }

func (shotService) RemoteKey(context.Context, api.RemoteKeyOptions) (string, error) {
	return `restrict,command="rrsync -ro /" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG2x6Xr1q3yLh0kq8Zq0wWcVt1p9mPp5o0c8x0xYV3bK keepsake@desk`, nil
}

func (shotService) CreateProfile(context.Context, string, api.Settings, api.Auth) (dbus.ObjectPath, error) {
	return "/p", nil
}

func (shotService) Configure(context.Context, string, api.Settings, api.Auth) error { return nil }
func (shotService) Enroll(context.Context, string, client.EnrollOptions) error      { return nil }
func (shotService) AcceptHostKey(context.Context, string, string, api.Auth) error   { return nil }
func (shotService) BackupNow(context.Context, string, api.BackupOptions) (dbus.ObjectPath, error) {
	return "/j", nil
}

func (s shotService) ScanHostKeys(context.Context, string, api.Auth) ([]api.HostKey, string, error) {
	state := "new"
	if s.changed {
		state = "changed"
	}
	return []api.HostKey{
		{Type: "ssh-ed25519", Fingerprint: "SHA256:3bqVJ0dYq2nJ6k0QvZ0Wm3sT9xqYtq1b2UeXoYk5F8c"},
		{Type: "ecdsa-sha2-nistp256", Fingerprint: "SHA256:Qm1nT0Zq8pV4hL2dYwR6sJ9cXeB7aK3fU5gN0oI1tHs"},
	}, state, nil
}
