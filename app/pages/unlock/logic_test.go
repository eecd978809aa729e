package unlock

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/kerr"
)

func TestNeeded(t *testing.T) {
	locked := client.Drive{UUID: "a", Enrolled: true, Present: true, Encrypted: true, Locked: true}
	with := func(f func(d *client.Drive)) client.Drive { d := locked; f(&d); return d }
	cases := []struct {
		name  string
		drive client.Drive
		want  bool
	}{
		{"backup drive plugged in, encrypted, locked", locked, true},
		{"locked although its key is remembered (the service is at it, or the key is stale)", with(func(d *client.Drive) { d.KeyRemembered = true }), true},
		{"unlocked", with(func(d *client.Drive) { d.Locked = false }), false},
		{"unplugged", with(func(d *client.Drive) { d.Present = false }), false},
		{"not a backup drive", with(func(d *client.Drive) { d.Enrolled = false }), false},
		{"not encrypted", with(func(d *client.Drive) { d.Encrypted, d.Locked = false, false }), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Needed(c.drive); got != c.want {
				t.Errorf("Needed() = %v, want %v", got, c.want)
			}
		})
	}
}

func TestSecret(t *testing.T) {
	cases := []struct {
		name   string
		s      Secret
		ready  bool
		option api.UnlockOptions
	}{
		{"nothing typed", Secret{}, false, api.UnlockOptions{}},
		{"a passphrase, sent as typed (spaces count)", Secret{Text: " pass phrase "}, true, api.UnlockOptions{Secret: api.Secret{Passphrase: " pass phrase "}}},
		{"a passphrase of spaces is still typed", Secret{Text: "  "}, true, api.UnlockOptions{Secret: api.Secret{Passphrase: "  "}}},
		{"remembered", Secret{Text: "pass phrase", Remember: true}, true, api.UnlockOptions{Secret: api.Secret{Passphrase: "pass phrase"}, Remember: true}},
		{"a recovery key, trimmed", Secret{Text: "  ABCD-2345 \n", Recovery: true}, true, api.UnlockOptions{Secret: api.Secret{RecoveryKey: "ABCD-2345"}}},
		{"a recovery key of spaces is nothing", Secret{Text: "   ", Recovery: true}, false, api.UnlockOptions{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.s.Ready(); got != c.ready {
				t.Errorf("Ready() = %v, want %v", got, c.ready)
			}
			if !c.ready {
				return
			}
			if got := c.s.Options(); got != c.option {
				t.Errorf("Options() = %+v, want %+v", got, c.option)
			}
		})
	}
}

func TestProblem(t *testing.T) {
	dbusErr := func(name kerr.Name, msg string) error {
		return dbus.Error{Name: name.DBusName(), Body: []any{msg}}
	}
	cases := []struct {
		name     string
		err      error
		sentence string
		retype   bool
	}{
		{"wrong passphrase", kerr.New(kerr.WrongPassphrase, ""), "That passphrase does not unlock this backup drive.", true},
		{"wrong passphrase, slowed down: the service's detail follows",
			fmt.Errorf("unlock drive a: %w", kerr.New(kerr.WrongPassphrase, "4 tries failed; the next one waits 2 s")),
			"That passphrase does not unlock this backup drive. (4 tries failed; the next one waits 2 s)", true},
		{"wrong recovery key", kerr.New(kerr.WrongRecoveryKey, ""), "That recovery key belongs to another backup drive.", true},
		{"mistyped recovery key, as the bus brings it", dbusErr(kerr.MistypedRecoveryKey, ""),
			"That is not a recovery key: check it for a typo (groups of eight letters and digits).", true},
		{"unplugged meanwhile: not the passphrase's fault", kerr.New(kerr.DriveNotFound, ""),
			"The backup drive is not connected. Plug it in and the backup starts by itself.", false},
		{"no permission", kerr.New(kerr.NotAuthorized, ""), "You are not allowed to do this. An administrator can.", false},
		{"a plain error", errors.New("boom"), "Something went wrong. (Boom)", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, retype := Problem(c.err)
			if got != c.sentence || retype != c.retype {
				t.Errorf("Problem() = %q, %v; want %q, %v", got, retype, c.sentence, c.retype)
			}
			if strings.Contains(got, "io.github") {
				t.Errorf("raw error name shown: %q", got)
			}
		})
	}
}

func TestTexts(t *testing.T) {
	if got := Body("Backup Drive", false); !strings.HasPrefix(got, "“Backup Drive” is encrypted. Type its passphrase") {
		t.Errorf("Body() = %q", got)
	}
	if got := Body("Backup Drive", true); !strings.Contains(got, "recovery key of “Backup Drive”") {
		t.Errorf("Body(recovery) = %q", got)
	}
	if got := Done("Backup Drive", true); got != "“Backup Drive” is unlocked. Backing up…" {
		t.Errorf("Done() = %q", got)
	}
	if got := DriveName(client.Drive{UUID: "u", Size: 2e12}); got != "2.0\u00a0TB Drive" {
		t.Errorf("DriveName() = %q", got)
	}
}
