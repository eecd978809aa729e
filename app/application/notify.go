package application

import (
	"github.com/diamondburned/gotk4/pkg/gio/v2"
	"github.com/diamondburned/gotk4/pkg/glib/v2"
	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/app/pages/overview"
	"github.com/keepsake/keepsake/app/pages/unlock"
	"github.com/keepsake/keepsake/shared/kerr"
)

// Notification is a notification's text, decided without GTK.
type Notification struct {
	ID, Title, Body string
	Urgent          bool
	// Unlock is the UUID of the drive whose unlock dialog the
	// notification opens ("" = it opens the window).
	Unlock string
}

// NotificationFor says what to notify for an event; ok is false for
// events that do not deserve one (a success, unless asked for).
func NotificationFor(e live.Event, notifySuccess bool) (n Notification, ok bool) {
	switch e.Kind {
	case live.BackupFailed:
		if e.ErrorName == string(kerr.Locked) {
			// The service says UnlockNeeded with it, whose notification
			// (or dialog) asks for the passphrase: one is enough.
			return Notification{}, false
		}
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
	case live.UnlockNeeded:
		return Notification{ID: "unlock-needed", Title: unlock.Notice,
			Body:   "“" + overview.DriveName(e.Drive) + "” is encrypted and locked. Type its passphrase to back up to it.",
			Urgent: true, Unlock: e.Drive.UUID}, true
	}
	return Notification{}, false
}

func (a *App) notify(e live.Event) {
	if e.Kind == live.UnlockNeeded && a.win.Visible() {
		// The person is looking at the app: the dialog itself asks.
		a.unlockDrive(e.Drive.UUID)
		return
	}
	n, ok := NotificationFor(e, a.opts.NotifySuccess)
	if !ok {
		return
	}
	prio := gio.NotificationPriorityNormal
	if n.Urgent {
		prio = gio.NotificationPriorityHigh
	}
	if n.Unlock != "" {
		g := gio.NewNotification(n.Title)
		g.SetBody(n.Body)
		g.SetPriority(prio)
		g.SetDefaultActionAndTarget("app.unlock-drive", glib.NewVariantString(n.Unlock))
		g.AddButtonWithTarget("Unlock…", "app.unlock-drive", glib.NewVariantString(n.Unlock))
		a.SendNotification(n.ID, g)
		return
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

// unlockDrive shows the window with the unlock dialog of a drive (by
// UUID); the backup that waited for it starts once it is unlocked.
func (a *App) unlockDrive(uuid string) {
	a.present()
	st := a.win.Env().State()
	for _, d := range st.Drives {
		if d.UUID == uuid {
			unlock.Open(a.win.OwnEnv(), d, ProfileOn(st, d.Path, a.win.OwnProfile()))
			return
		}
	}
	// Not read yet (the signal came first): the next reading has it.
	a.win.Env().Refresh()
	a.pendingUnlock = uuid
}

// ProfileOn is the profile to back up once a drive is unlocked: the
// person's own when it backs up to that drive, else the first that does
// ("" when none does).
func ProfileOn(st live.State, drive dbus.ObjectPath, own string) string {
	first := ""
	for _, p := range st.Profiles {
		if p.Drive != drive || drive == "" {
			continue
		}
		if p.Name == own {
			return own
		}
		if first == "" {
			first = p.Name
		}
	}
	return first
}
