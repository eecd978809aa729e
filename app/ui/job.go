package ui

import (
	"context"
	"fmt"
	"time"

	"github.com/diamondburned/gotk4/pkg/core/glib"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/i18n"
	"github.com/keepsake/keepsake/shared/kerr"
)

// Wait follows job to its end; it blocks, so it belongs off the main loop,
// and it hands every reading to progress on the main loop.
func Wait(ctx context.Context, c *client.Client, job dbus.ObjectPath, progress func(client.Job)) (client.Job, error) {
	return c.Wait(ctx, job, func(j client.Job) {
		glib.IdleAdd(func() { progress(j) })
	})
}

// JobBar is the strip a page shows while one of its jobs runs: a title,
// a progress bar with a line of detail, and Cancel. The widgets come from
// the page's .ui file.
type JobBar struct {
	Revealer *gtk.Revealer
	Title    *gtk.Label
	Bar      *gtk.ProgressBar
	Detail   *gtk.Label
	Cancel   *gtk.Button
	// Cancelled is the toast of a job cancelled ("" = "Restore
	// cancelled", the first strip's job).
	Cancelled string

	env   *Env
	toast func(message string)
	// changed is told when a job starts or ends, so the page can turn its
	// own buttons on or off.
	changed func()
	job     dbus.ObjectPath // the running job ("/" while it starts)
}

// NewJobBar wires Cancel; toast shows the end of a job (already escaped).
func NewJobBar(env *Env, bar JobBar, toast func(message string), changed func()) *JobBar {
	b := &bar
	b.env, b.toast, b.changed = env, toast, changed
	b.Cancel.ConnectClicked(b.cancel)
	return b
}

// Busy says whether a job runs: one at a time, as the service runs one
// job per profile anyway.
func (b *JobBar) Busy() bool { return b.job != "" }

// RunJob does work off the main loop with the strip shown; work starts
// its jobs and hands each to follow, which waits for it and feeds the
// strip. done gets work's result on the main loop when all went well;
// a cancel or an error is toasted here.
func RunJob[T any](b *JobBar, title string,
	work func(ctx context.Context, c *client.Client, follow func(dbus.ObjectPath) (client.Job, error)) (T, error),
	done func(T)) {
	if b.job != "" {
		return
	}
	b.job = "/" // taken until the real path is known
	b.changed()
	b.Title.SetLabel(title)
	b.Detail.SetLabel(i18n.T("Starting…"))
	b.Bar.SetFraction(0)
	b.Cancel.SetSensitive(false)
	b.Revealer.SetVisible(true)
	b.Revealer.SetRevealChild(true)
	Call(b.env, func(ctx context.Context, c *client.Client) (T, error) {
		return work(ctx, c, func(job dbus.ObjectPath) (client.Job, error) {
			glib.IdleAdd(func() {
				b.job = job
				b.Cancel.SetSensitive(true)
			})
			return Wait(ctx, c, job, b.progress)
		})
	}, func(result T, err error) {
		b.job = ""
		// Hidden, not just folded away: GTK 4.8 keeps a folded revealer's
		// labels in the accessibility tree, where they would still say
		// "Restoring…".
		b.Revealer.SetRevealChild(false)
		b.Revealer.SetVisible(false)
		b.changed()
		switch {
		case kerr.Is(err, kerr.Cancelled):
			msg := b.Cancelled
			if msg == "" {
				msg = i18n.T("Restore cancelled")
			}
			b.toast(msg)
		case err != nil:
			b.toast(humanize.Escape(humanize.Error(err)))
		default:
			done(result)
		}
	})
}

func (b *JobBar) progress(j client.Job) {
	if j.Finished {
		return
	}
	if j.Progress >= 0 {
		b.Bar.SetFraction(j.Progress)
	} else {
		b.Bar.Pulse()
	}
	b.Detail.SetLabel(humanize.Progress(j, time.Now()))
	b.Cancel.SetSensitive(j.Cancelable)
}

func (b *JobBar) cancel() {
	job := b.job
	if job == "" || job == "/" {
		return
	}
	b.Cancel.SetSensitive(false)
	Call(b.env, func(ctx context.Context, c *client.Client) (struct{}, error) {
		if err := c.Cancel(ctx, job, api.Auth{}); err != nil {
			return struct{}{}, fmt.Errorf("cancel job %s: %w", job, err)
		}
		return struct{}{}, nil
	}, func(_ struct{}, err error) {
		if err != nil {
			b.Cancel.SetSensitive(true)
			b.toast(humanize.Escape(humanize.Error(err)))
		}
	})
}
