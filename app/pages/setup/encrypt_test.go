package setup

import (
	"testing"

	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/dbusapi"
)

func TestEncryptionOffered(t *testing.T) {
	cases := []struct {
		name  string
		drive DriveChoice
		offer bool
		view  EncryptionView
		// encrypt: the switch's state until the person sets it.
		encrypt bool
	}{
		{"new ext4 drive with the feature on", DriveChoice{UUID: "a", Present: true}, true, EncryptionView{Possible: true}, true},
		{"new ext4 drive without the feature: turned on during the setup", DriveChoice{UUID: "a", Present: true, Encryptable: api.EncryptableFeatureOff},
			true, EncryptionView{Note: FeatureOffNote, Possible: true}, true},
		{"btrfs drive: erase as ext4 or go on unencrypted", DriveChoice{UUID: "a", Present: true, Encryptable: api.EncryptableFilesystem, Device: "/dev/sdb"},
			true, EncryptionView{Note: FilesystemNote, Erase: true}, false},
		{"btrfs drive without a device to erase", DriveChoice{UUID: "a", Present: true, Encryptable: api.EncryptableFilesystem},
			true, EncryptionView{Note: FilesystemNote}, false},
		{"a drive holding backups keeps what it is", DriveChoice{UUID: "a", Present: true, Enrolled: true}, false, EncryptionView{Possible: true}, true},
		{"an encrypted drive holding backups", DriveChoice{UUID: "a", Present: true, Enrolled: true, Encrypted: true}, false, EncryptionView{Possible: true}, true},
		{"a drive that cannot hold backups", DriveChoice{UUID: "a", Present: true, Reason: "FAT"}, false, EncryptionView{Possible: true}, true},
		{"no drive chosen", DriveChoice{Reason: "No drive chosen"}, false, EncryptionView{Possible: true}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := OfferEncryption(c.drive); got != c.offer {
				t.Errorf("OfferEncryption() = %v, want %v", got, c.offer)
			}
			if got := ViewEncryption(c.drive); got != c.view {
				t.Errorf("ViewEncryption() = %+v, want %+v", got, c.view)
			}
			if got := EncryptByDefault(c.drive); got != c.encrypt {
				t.Errorf("EncryptByDefault() = %v, want %v", got, c.encrypt)
			}
		})
	}
}

func TestPassphraseProblem(t *testing.T) {
	cases := []struct {
		name, pass, confirm, want string
	}{
		{"nothing typed", "", "", "Choose a passphrase of at least 8 characters."},
		{"seven characters", "1234567", "1234567", "The passphrase needs at least 8 characters."},
		{"eight characters, not confirmed", "12345678", "", "Type the passphrase again to confirm it."},
		{"different confirmation", "12345678", "12345679", "The passphrases do not match."},
		{"good", "12345678", "12345678", ""},
		// Characters, not bytes: seven accented letters are 14 bytes.
		{"seven characters in more bytes", "ééééééé", "ééééééé", "The passphrase needs at least 8 characters."},
		{"eight characters in more bytes", "éééééééé", "éééééééé", ""},
		{"spaces count", "a b c d ", "a b c d ", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := PassphraseProblem(c.pass, c.confirm); got != c.want {
				t.Errorf("PassphraseProblem(%q, %q) = %q, want %q", c.pass, c.confirm, got, c.want)
			}
		})
	}
}

func TestEncryptionProblem(t *testing.T) {
	newDrive := DriveChoice{UUID: "a", Present: true}
	btrfs := DriveChoice{UUID: "b", Present: true, Encryptable: api.EncryptableFilesystem, Device: "/dev/sdb"}
	good := Encryption{On: true, Passphrase: "12345678", Confirm: "12345678"}
	cases := []struct {
		name  string
		drive DriveChoice
		enc   Encryption
		want  string
	}{
		{"good passphrase", newDrive, good, ""},
		{"encryption on, nothing typed", newDrive, Encryption{On: true}, "Choose a passphrase of at least 8 characters."},
		{"encryption off", newDrive, Encryption{}, ""},
		{"btrfs with encryption on", btrfs, good, "Erase the drive as ext4, or turn encryption off."},
		{"btrfs unencrypted", btrfs, Encryption{}, ""},
		{"encrypted enrolled drive: no encryption asked", DriveChoice{UUID: "c", Present: true, Enrolled: true, Encrypted: true}, Encryption{On: true}, ""},
		{"unencrypted enrolled drive, backups beside: a passphrase asked", DriveChoice{UUID: "c", Present: true, Enrolled: true}, Encryption{On: true}, "Choose a passphrase of at least 8 characters."},
		{"unencrypted enrolled drive kept unencrypted", DriveChoice{UUID: "c", Present: true, Enrolled: true}, Encryption{}, ""},
		{"unencrypted enrolled btrfs drive: kept as it is", DriveChoice{UUID: "c", Present: true, Enrolled: true, Encryptable: api.EncryptableFilesystem}, Encryption{On: true}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := EncryptionProblem(c.drive, c.enc); got != c.want {
				t.Errorf("EncryptionProblem() = %q, want %q", got, c.want)
			}
		})
	}
}

func TestEncryptOptions(t *testing.T) {
	c := Choices{Drive: DriveChoice{UUID: "a", Present: true}, Encryption: Encryption{On: true, Passphrase: "pass phrase", Confirm: "pass phrase"}}
	if got, want := EncryptOptions(c, "alice"), (api.EnrollEncryptedOptions{Passphrase: "pass phrase", Profile: dbusapi.ProfilePath("alice")}); got != want {
		t.Errorf("EncryptOptions() = %+v, want %+v", got, want)
	}
	c.Drive.Encryptable = api.EncryptableFeatureOff
	c.Encryption.Remember = true
	got := EncryptOptions(c, "")
	if !got.EnableFeature || !got.Remember || got.Profile != "" || got.SetAside {
		t.Errorf("EncryptOptions() = %+v, want the feature turned on, the key remembered, no profile, nothing set aside", got)
	}
	c.Drive.Enrolled = true
	if got := EncryptOptions(c, "alice"); !got.SetAside {
		t.Errorf("EncryptOptions() = %+v for a drive with unencrypted backups, want them set aside", got)
	}
}

// TestOfferSetAside: encrypted backups beside unencrypted ones are offered
// only where the service can make them without losing the old ones.
func TestOfferSetAside(t *testing.T) {
	plain := DriveChoice{UUID: "a", Present: true, Enrolled: true}
	with := func(f func(d *DriveChoice)) DriveChoice { d := plain; f(&d); return d }
	cases := []struct {
		name  string
		drive DriveChoice
		want  bool
	}{
		{"unencrypted backups on a drive plugged in", plain, true},
		{"unencrypted backups, ext4 without the encrypt feature (turned on, the files stay)", with(func(d *DriveChoice) { d.Encryptable = api.EncryptableFeatureOff }), true},
		{"encrypted backups", with(func(d *DriveChoice) { d.Encrypted = true }), false},
		{"a fresh drive (the ordinary encryption is offered)", with(func(d *DriveChoice) { d.Enrolled = false }), false},
		{"not connected: the service cannot rename the folder", with(func(d *DriveChoice) { d.Present = false }), false},
		{"btrfs: only erasing could encrypt it, and that loses the backups", with(func(d *DriveChoice) { d.Encryptable = api.EncryptableFilesystem }), false},
		{"cannot hold backups", with(func(d *DriveChoice) { d.Reason = "read-only" }), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := OfferSetAside(c.drive); got != c.want {
				t.Errorf("OfferSetAside() = %v, want %v", got, c.want)
			}
		})
	}
}
