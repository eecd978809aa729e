package application

import (
	"fmt"

	"github.com/diamondburned/gotk4/pkg/gio/v2"
	"github.com/diamondburned/gotk4/pkg/glib/v2"
	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/app/pages/overview"
	"github.com/keepsake/keepsake/app/pages/unlock"
	"github.com/keepsake/keepsake/shared/i18n"
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
		title := i18n.T("Backup failed")
		if e.Computer != "" {
			// TRANSLATORS: a notification's title: %s is another computer's name ("laptop").
			title = fmt.Sprintf(i18n.T("Backup of %s failed"), e.Computer)
		}
		return Notification{ID: "backup-failed", Title: title,
			Body: humanize.ErrorText(e.ErrorName, e.Message), Urgent: true}, true
	case live.BackupSucceeded:
		if e.Computer != "" {
			// TRANSLATORS: a notification's text: %s is another computer's name ("laptop").
			return Notification{ID: "backup-done", Title: i18n.T("Backup finished"), Body: fmt.Sprintf(i18n.T("The files of %s are backed up."), e.Computer)}, notifySuccess
		}
		return Notification{ID: "backup-done", Title: i18n.T("Backup finished"), Body: i18n.T("Your files are backed up.")}, notifySuccess
	case live.DriveBackupStarted:
		return Notification{ID: "drive-connected", Title: i18n.T("Backup drive connected"),
			// TRANSLATORS: a notification's text: %s is the backup drive's name ("Passport").
			Body: fmt.Sprintf(i18n.T("Backing up to %s…"), overview.DriveName(e.Drive))}, true
	case live.SafeToRemove:
		return Notification{ID: "safe-to-remove", Title: i18n.T("Safe to remove the backup drive"),
			// TRANSLATORS: a notification's text: %s is the backup drive's name ("Passport").
			Body: fmt.Sprintf(i18n.T("%s can be unplugged now."), overview.DriveName(e.Drive))}, true
	case live.DriveMissing:
		return Notification{ID: "drive-missing", Title: i18n.T("Backup drive not seen for a while"),
			// TRANSLATORS: a notification's text: the first %s is the service's own sentence ("Not seen for 14 days"), the second the backup drive's name ("Passport").
			Body: fmt.Sprintf(i18n.T("%s. Plug in %s to back up."), e.Message, overview.DriveName(e.Drive)), Urgent: true}, true
	case live.UnlockNeeded:
		return Notification{ID: "unlock-needed", Title: i18n.T(unlock.Notice),
			// TRANSLATORS: a notification's text: %s is the backup drive's name ("Passport").
			Body:   fmt.Sprintf(i18n.T("“%s” is encrypted and locked. Type its passphrase to back up to it."), overview.DriveName(e.Drive)),
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
		// TRANSLATORS: a notification's button that opens the dialog to unlock the backup drive.
		g.AddButtonWithTarget(i18n.T("Unlock…"), "app.unlock-drive", glib.NewVariantString(n.Unlock))
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
		n.AddButton(i18n.T("Open Keepsake"), "app.open")
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
