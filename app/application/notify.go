package application

import (
	"github.com/diamondburned/gotk4/pkg/gio/v2"
	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/app/pages/overview"
)

// Notification is a notification's text, decided without GTK.
type Notification struct {
	ID, Title, Body string
	Urgent          bool
}

// NotificationFor says what to notify for an event; ok is false for
// events that do not deserve one (a success, unless asked for).
func NotificationFor(e live.Event, notifySuccess bool) (n Notification, ok bool) {
	switch e.Kind {
	case live.BackupFailed:
		title := "Backup failed"
		if e.Computer != "" {
			title = "Backup of " + e.Computer + " failed"
		}
		return Notification{ID: "backup-failed", Title: title,
			Body: humanize.ErrorText(e.ErrorName, e.Message), Urgent: true}, true
	case live.BackupSucceeded:
		if e.Computer != "" {
			return Notification{ID: "backup-done", Title: "Backup finished", Body: "The files of " + e.Computer + " are backed up."}, notifySuccess
		}
		return Notification{ID: "backup-done", Title: "Backup finished", Body: "Your files are backed up."}, notifySuccess
	case live.DriveBackupStarted:
		return Notification{ID: "drive-connected", Title: "Backup drive connected",
			Body: "Backing up to " + overview.DriveName(e.Drive) + "…"}, true
	case live.SafeToRemove:
		return Notification{ID: "safe-to-remove", Title: "Safe to remove the backup drive",
			Body: overview.DriveName(e.Drive) + " can be unplugged now."}, true
	case live.DriveMissing:
		return Notification{ID: "drive-missing", Title: "Backup drive not seen for a while",
			Body: e.Message + ". Plug in " + overview.DriveName(e.Drive) + " to back up.", Urgent: true}, true
	}
	return Notification{}, false
}

func (a *App) notify(e live.Event) {
	n, ok := NotificationFor(e, a.opts.NotifySuccess)
	if !ok {
		return
	}
	prio := gio.NotificationPriorityNormal
	if n.Urgent {
		prio = gio.NotificationPriorityHigh
	}
	a.send(n.ID, n.Title, n.Body, prio)
}

func (a *App) send(id, title, body string, prio gio.NotificationPriority) {
	n := gio.NewNotification(title)
	n.SetBody(body)
	n.SetPriority(prio)
	n.SetDefaultAction("app.open")
	if id == "backup-failed" || id == "drive-missing" {
		n.AddButton("Open Keepsake", "app.open")
	}
	a.SendNotification(id, n)
}
