// Package history is the version history of one backed-up file: a
// window listing the distinct contents it had, newest first, each of
// which can be opened read-only or restored beside the current file.
package history

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	"github.com/diamondburned/gotk4/pkg/gdk/v4"
	"github.com/diamondburned/gotk4/pkg/gio/v2"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/app/ui"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/i18n"
)

//go:embed history.ui
var historyUI string

// Window is the history of one file.
type Window struct {
	*adw.Window `ui:"root"`

	Title            *adw.WindowTitle  `ui:"title"`
	Toasts           *adw.ToastOverlay `ui:"toasts"`
	Stack            *gtk.Stack        `ui:"stack"`
	VersionList      *gtk.ListBox      `ui:"version_list"`
	Status           *adw.StatusPage   `ui:"status"`
	RetryButton      *gtk.Button       `ui:"retry_button"`
	ProgressRevealer *gtk.Revealer     `ui:"progress_revealer"`
	ProgressTitle    *gtk.Label        `ui:"progress_title"`
	ProgressBar      *gtk.ProgressBar  `ui:"progress_bar"`
	ProgressDetail   *gtk.Label        `ui:"progress_detail"`
	CancelButton     *gtk.Button       `ui:"cancel_button"`

	env     *ui.Env
	path    string
	profile string
	home    string
	buttons []*gtk.Button // every row's buttons, off while a job runs
	jobs    *ui.JobBar
}

// open windows by path: asking again for a file's history raises its
// window instead of stacking copies. Touched on the main loop only.
var open = map[string]*Window{}

// Open shows the version history of path.
func Open(env *ui.Env, path string) {
	if w, ok := open[path]; ok {
		if w.IsVisible() {
			w.Present()
			return
		}
		// Closed in a way that skipped close-request (destroyed with
		// its parent, hidden): a fresh window, not a dead one.
		delete(open, path)
	}
	w := &Window{env: env, path: path, profile: env.Profile()}
	w.home, _ = os.UserHomeDir()
	ui.Fill(w, historyUI)
	w.jobs = ui.NewJobBar(env, ui.JobBar{
		Revealer: w.ProgressRevealer, Title: w.ProgressTitle, Bar: w.ProgressBar,
		Detail: w.ProgressDetail, Cancel: w.CancelButton,
	}, w.toast, w.syncButtons)
	name := humanize.Display(filepath.Base(path))
	w.SetTitle(name)
	w.Title.SetTitle(name)
	w.Title.SetSubtitle(Subtitle(path, w.home))
	if parent := env.Window(); parent != nil {
		w.SetTransientFor(parent)
	}
	w.SetModal(false)
	w.ConnectCloseRequest(func() bool {
		delete(open, path)
		return false
	})
	w.RetryButton.ConnectClicked(w.load)
	open[path] = w
	w.load()
	w.Present()
}

func (w *Window) load() {
	profile, path := w.profile, w.path
	w.Stack.SetVisibleChildName("loading")
	ui.Call(w.env, func(ctx context.Context, c *client.Client) ([]api.Version, error) {
		ds, err := c.Versions(ctx, profile, path, api.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list the versions of %s: %w", humanize.Display(path), err)
		}
		return ds, nil
	}, func(ds []api.Version, err error) {
		if err != nil {
			w.showMessage("dialog-warning-symbolic", i18n.T("Versions Not Available"), humanize.Error(err), true)
			return
		}
		w.show(Versions(ds))
	})
}

func (w *Window) showMessage(icon, title, description string, retry bool) {
	w.Status.SetIconName(icon)
	w.Status.SetTitle(title)
	w.Status.SetDescription(humanize.Escape(description))
	w.RetryButton.SetVisible(retry)
	w.Stack.SetVisibleChildName("message")
}

func (w *Window) show(versions []Version) {
	for c := w.VersionList.FirstChild(); c != nil; c = w.VersionList.FirstChild() {
		w.VersionList.Remove(c)
	}
	w.buttons = nil
	if len(versions) == 0 {
		w.showMessage("document-open-recent-symbolic", i18n.T("No Versions"),
			i18n.T("This file is not in any backup, or you may not read the backed-up copies."), false)
		return
	}
	latest := ""
	if prof, ok := w.env.State().Profile(w.profile); ok {
		latest = prof.LastSnapshot
	}
	now := time.Now()
	titles := Titles(versions, now)
	for i, v := range versions {
		_, subtitle := Label(v, w.path, w.home, latest, now)
		title := titles[i]
		row := adw.NewActionRow()
		// libadwaita 1.2 reads row titles as markup; these are plain text.
		row.SetObjectProperty("use-markup", false)
		row.SetTitle(title)
		row.SetSubtitle(subtitle)
		row.SetTitleLines(0)
		row.SetSubtitleLines(0)

		openButton := gtk.NewButtonWithMnemonic(i18n.T("_Open"))
		openButton.SetTooltipText(i18n.T("Open a read-only copy"))
		openButton.SetVAlign(gtk.AlignCenter)
		v := v
		openButton.ConnectClicked(func() { w.open(v) })
		restoreButton := gtk.NewButtonWithMnemonic(i18n.T("_Restore"))
		restoreButton.SetTooltipText(i18n.T("Restore to the original place, keeping both versions"))
		restoreButton.SetVAlign(gtk.AlignCenter)
		restoreButton.ConnectClicked(func() { w.restore(v) })
		row.AddSuffix(openButton)
		row.AddSuffix(restoreButton)
		w.buttons = append(w.buttons, openButton, restoreButton)
		w.VersionList.Append(row)
	}
	w.Stack.SetVisibleChildName("list")
	w.syncButtons()
}

func (w *Window) syncButtons() {
	for _, b := range w.buttons {
		b.SetSensitive(!w.jobs.Busy())
	}
}

// open restores the version into a fresh private folder, makes the copy
// read-only (it is a look at the past, not a place to edit) and opens it
// with the default app.
func (w *Window) open(v Version) {
	name := humanize.Display(filepath.Base(v.Path))
	ui.RunJob(w.jobs, fmt.Sprintf(i18n.T("Opening “%s”…"), name), func(ctx context.Context, c *client.Client, follow func(dbus.ObjectPath) (client.Job, error)) (string, error) {
		base := OpenBase(os.Getenv("XDG_RUNTIME_DIR"), userCacheDir(), os.TempDir())
		if err := os.MkdirAll(base, 0o700); err != nil {
			return "", fmt.Errorf("make a folder for the copy: %w", err)
		}
		// A folder per copy: the restore never has to rename around an
		// earlier copy, so the app shows the file's own name.
		dir, err := os.MkdirTemp(base, "open-")
		if err != nil {
			return "", fmt.Errorf("make a folder for the copy: %w", err)
		}
		job, err := c.Restore(ctx, w.profile, v.Snapshot, []string{v.Path}, api.RestoreOptions{To: api.Path(dir)})
		if err != nil {
			return "", fmt.Errorf("copy %s from %s: %w", humanize.Display(v.Path), v.Snapshot, err)
		}
		j, err := follow(job)
		if err != nil {
			return "", fmt.Errorf("copy %s from %s: %w", humanize.Display(v.Path), v.Snapshot, err)
		}
		res, _ := j.RestoreResult() // a service without one names it in the message
		copied := Restored(res, j.Message, dir, v.Path)
		if err := os.Chmod(copied, 0o444); err != nil {
			return "", fmt.Errorf("make the copy read-only: %w", err)
		}
		return copied, nil
	}, func(copied string) {
		parent := &w.Window.Window
		// ShowURIFull rather than ShowURI: GTK's own failure dialog would
		// say "Could not show link" and hide where the copy is.
		gtk.ShowURIFull(context.Background(), parent, FileURI(copied), gdk.CURRENT_TIME, func(res gio.AsyncResulter) {
			if err := gtk.ShowURIFullFinish(parent, res); err != nil {
				w.toast(humanize.Escape(OpenFailedText(copied, w.home)))
			}
		})
	})
}

// restore puts the version back where it was in its latest backup; the
// service keeps both when the file is there ("name (restored …)").
func (w *Window) restore(v Version) {
	name := humanize.Display(filepath.Base(v.Path))
	ui.RunJob(w.jobs, fmt.Sprintf(i18n.T("Restoring “%s”…"), name), func(ctx context.Context, c *client.Client, follow func(dbus.ObjectPath) (client.Job, error)) (string, error) {
		job, err := c.Restore(ctx, w.profile, v.Snapshot, []string{v.Path}, api.RestoreOptions{})
		if err != nil {
			return "", fmt.Errorf("restore %s from %s: %w", humanize.Display(v.Path), v.Snapshot, err)
		}
		j, err := follow(job)
		if err != nil {
			return "", fmt.Errorf("restore %s from %s: %w", humanize.Display(v.Path), v.Snapshot, err)
		}
		res, _ := j.RestoreResult()
		return Restored(res, j.Message, "", v.Path), nil
	}, func(where string) {
		w.toast(humanize.Escape(RestoredText(where, w.home)))
	})
}

func userCacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return d
}

// toast shows a message in this window, not the main one behind it.
func (w *Window) toast(message string) {
	w.Toasts.AddToast(adw.NewToast(message))
}
