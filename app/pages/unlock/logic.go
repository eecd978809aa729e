package unlock

import (
	"fmt"
	"strings"

	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/i18n"
	"github.com/keepsake/keepsake/shared/kerr"
)

// This file holds the dialog's decisions, apart from GTK so that go test
// checks them without a display.

// Title is the dialog's title, which the notification's action and the
// UI test find it by (unlock.ui has it for translation).
const Title = "Unlock Backup Drive"

// Notice is the notification's text when a backup waits for the drive,
// in English: translate it with i18n.T where it is shown.
var Notice = i18n.Noop("Unlock your backup drive to back up")

// Needed says whether a drive waits to be unlocked by a person: a backup
// drive that is plugged in, encrypted and locked. A drive whose key the
// service remembers is unlocked by the service itself; while it is
// locked anyway (the service is about to) it is offered too, as a
// remembered key can have gone stale after a passphrase change elsewhere.
func Needed(d client.Drive) bool {
	return d.Enrolled && d.Present && d.Encrypted && d.Locked
}

// Secret is what the person typed.
type Secret struct {
	// Text is the passphrase, or the recovery key when Recovery.
	Text     string
	Recovery bool
	// Remember keeps the key on this computer: the service unlocks the
	// drive by itself from then on.
	Remember bool
}

// Ready says whether Unlock may be pressed: something typed. A
// passphrase is sent as typed (spaces count); a recovery key is checked
// by the service, which says what is wrong with it.
func (s Secret) Ready() bool {
	if s.Recovery {
		return strings.TrimSpace(s.Text) != ""
	}
	return s.Text != ""
}

// Options are Drive.Unlock's options for the secret.
func (s Secret) Options() api.UnlockOptions {
	o := api.UnlockOptions{Remember: s.Remember}
	if s.Recovery {
		o.RecoveryKey = strings.TrimSpace(s.Text)
	} else {
		o.Passphrase = s.Text
	}
	return o
}

// Problem is the sentence the dialog shows under the entry when the
// service refused: what went wrong and what to do (the service's detail,
// such as how long the next try waits, follows it). retype says whether
// the entry is cleared and focused for another try: a wrong or mistyped
// secret is typed again, anything else (the drive unplugged meanwhile,
// no permission) is not the secret's fault.
func Problem(err error) (sentence string, retype bool) {
	switch kerr.NameOf(dbusapi.FromDBus(err)) {
	case kerr.WrongPassphrase, kerr.WrongRecoveryKey, kerr.MistypedRecoveryKey:
		retype = true
	}
	return humanize.Error(err), retype
}

// Body is the text under the dialog's heading for the drive.
func Body(driveName string, recovery bool) string {
	if recovery {
		// TRANSLATORS: %s is the drive's name.
		return fmt.Sprintf(i18n.T("Type the recovery key of “%s” that was shown when it was set up: groups of letters and digits, on paper or in your password manager."), driveName)
	}
	// TRANSLATORS: %s is the drive's name.
	return fmt.Sprintf(i18n.T("“%s” is encrypted. Type its passphrase to back up to it and to see its backups."), driveName)
}

// Done is the toast once the drive is unlocked.
func Done(driveName string, backingUp bool) string {
	if backingUp {
		// TRANSLATORS: a notice once the drive is unlocked; %s is its name.
		return fmt.Sprintf(i18n.T("“%s” is unlocked. Backing up…"), driveName)
	}
	// TRANSLATORS: a notice once the drive is unlocked; %s is its name.
	return fmt.Sprintf(i18n.T("“%s” is unlocked"), driveName)
}
