package setup

import (
	"fmt"
	"unicode/utf8"

	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/i18n"
)

// This file holds the decisions of the drive step's encryption: when it
// is offered, what it says for each reason the service gives, and the
// passphrase's checks. Like logic.go, it has no GTK in it.

// MinPassphrase is the service's least passphrase length, in characters.
const MinPassphrase = 8

// Encryption is what the person chose for the drive's encryption.
type Encryption struct {
	// On: encrypted backups (the default for a drive set up now that
	// can be encrypted: EncryptByDefault).
	On                  bool
	Passphrase, Confirm string
	// Remember keeps the key on this computer (the default): the service
	// unlocks the drive by itself and backups never wait for a person.
	Remember bool
}

// OfferEncryption says whether the drive step shows the encryption: for
// a drive that is set up now. A drive that holds backups keeps what it
// is, encrypted or not; a drive that cannot hold backups at all is not
// set up.
func OfferEncryption(d DriveChoice) bool {
	return d.UUID != "" && !d.Enrolled && d.Present && d.Selectable()
}

// EncryptByDefault is the encryption switch's state for the chosen
// drive until the person sets it: on where encrypted backups can be made
// (an ext4 drive, or a drive holding unencrypted backups that new ones
// are encrypted beside), off on a drive whose filesystem cannot be
// encrypted. That is btrfs, the filesystem Keepsake erases a drive with
// unless asked for ext4: a person who just chose btrfs, or took its
// default, is not then told to erase the drive a second time.
func EncryptByDefault(d DriveChoice) bool {
	return ViewEncryption(d).Possible
}

// OfferSetAside says whether the drive step offers encrypted backups
// beside the unencrypted ones a drive holds: those cannot be encrypted
// where they are, so the service keeps them as they are in the folder
// AsideFolder and makes the encrypted repository in their place
// (EnrollEncrypted's set-aside). Only for a drive plugged in (the service
// renames the folder) whose filesystem can be encrypted without erasing
// it: erasing would lose the backups the choice is about.
func OfferSetAside(d DriveChoice) bool {
	return d.UUID != "" && d.Enrolled && !d.Encrypted && d.Present && d.Selectable() && ViewEncryption(d).Possible
}

// AsideFolder is the folder on the drive that keeps unencrypted backups
// set aside: the service's name, shown as it is.
const AsideFolder = "Keepsake (not encrypted)"

// AsideNote is what the drive step says of a drive that holds
// unencrypted backups (OfferSetAside), before anything happens; the two
// choices follow it.
func AsideNote() string {
	return i18n.T("This drive holds backups that are not encrypted. They cannot be encrypted where they are.")
}

// AsideChoice and PlainChoice are the two choices for such a drive, as a
// title and a subtitle each: encrypted backups beside the old ones
// (set-aside), or the old repository used as it is, unencrypted.
func AsideChoice() (title, subtitle string) {
	// TRANSLATORS: %s is the folder's name on the drive, “Keepsake (not encrypted)”, which stays in English.
	return i18n.T("Encrypt New Backups Beside Them"), fmt.Sprintf(i18n.T("The old backups are kept as they are, unencrypted, in the folder “%s”."), AsideFolder)
}

// PlainChoice: see AsideChoice.
func PlainChoice() (title, subtitle string) {
	return i18n.T("Keep Backing Up Without Encryption"), i18n.T("Backups go on with the old ones, unencrypted.")
}

// SetAside says whether the setup asks the service to set the drive's
// unencrypted backups aside: encryption on for a drive that holds them.
func (c Choices) SetAside() bool { return c.Encryption.On && OfferSetAside(c.Drive) }

// EncryptionView is what the encryption part of the drive step says and
// offers for the chosen drive.
type EncryptionView struct {
	// Note explains what happens to this drive ("" = nothing to say).
	Note string
	// Erase offers Erase… (as ext4, for encryption).
	Erase bool
	// Possible: an encrypted repository can be made on it now (turning
	// ext4's encrypt feature on, if need be).
	Possible bool
}

// FeatureOffNote and FilesystemNote are what the step says for the
// service's reasons (Drive.Encryptable), in English: ViewEncryption
// translates them.
var (
	FeatureOffNote = i18n.Noop("Encryption is not turned on for this drive yet. Keepsake turns it on when it sets the drive up; the files on it stay.")
	FilesystemNote = i18n.Noop("This drive's filesystem cannot be encrypted; erase it as ext4 to encrypt, or back up to it unencrypted.")
)

// ViewEncryption decides the encryption part for a drive.
func ViewEncryption(d DriveChoice) EncryptionView {
	switch d.Encryptable {
	case "":
		return EncryptionView{Possible: true}
	case api.EncryptableFeatureOff:
		return EncryptionView{Note: i18n.T(FeatureOffNote), Possible: true}
	case api.EncryptableFilesystem:
		return EncryptionView{Note: i18n.T(FilesystemNote), Erase: d.Device != ""}
	}
	// A reason this app does not know yet: the service says it when
	// EnrollEncrypted refuses.
	return EncryptionView{Possible: true}
}

// PassphraseProblem says what is wrong with a new passphrase and its
// confirmation ("" = nothing). Characters, not bytes, are counted, as
// the service counts them.
func PassphraseProblem(pass, confirm string) string {
	switch {
	case pass == "":
		return fmt.Sprintf(i18n.N("Choose a passphrase of at least %d character.", "Choose a passphrase of at least %d characters.", MinPassphrase), MinPassphrase)
	case utf8.RuneCountInString(pass) < MinPassphrase:
		return fmt.Sprintf(i18n.N("The passphrase needs at least %d character.", "The passphrase needs at least %d characters.", MinPassphrase), MinPassphrase)
	case confirm == "":
		return i18n.T("Type the passphrase again to confirm it.")
	case pass != confirm:
		return i18n.T("The passphrases do not match.")
	}
	return ""
}

// PassphraseGood is the passphrase's hint once PassphraseProblem has
// nothing to say (in English: the page translates it). The preferences'
// Use This Drive dialog says it too.
var PassphraseGood = i18n.Noop("Good. Once the drive is set up, Keepsake shows its recovery key: the other way in if the passphrase is forgotten.")

// EncryptionProblem is why the drive step cannot be left with these
// choices ("" = it can): encryption on a drive that cannot be encrypted
// as it is, or a passphrase not good yet.
func EncryptionProblem(d DriveChoice, e Encryption) string {
	if !(OfferEncryption(d) || OfferSetAside(d)) || !e.On {
		return ""
	}
	if !ViewEncryption(d).Possible {
		return i18n.T("Erase the drive as ext4, or turn encryption off.")
	}
	return PassphraseProblem(e.Passphrase, e.Confirm)
}

// EncryptOptions are Drive.EnrollEncrypted's options for the choices;
// profile is the profile whose drive it becomes.
func EncryptOptions(c Choices, profile string) api.EnrollEncryptedOptions {
	o := api.EnrollEncryptedOptions{
		Passphrase:    c.Encryption.Passphrase,
		Remember:      c.Encryption.Remember,
		EnableFeature: c.Drive.Encryptable == api.EncryptableFeatureOff,
		SetAside:      c.SetAside(),
	}
	if profile != "" {
		o.Profile = dbusapi.ProfilePath(profile)
	}
	return o
}

// RecoveryText is what the recovery key's page says (in English: the
// page translates it).
var RecoveryText = i18n.Noop("If the passphrase is ever forgotten, this key is the only other way to the backups. Keepsake does not keep it and cannot show it again: write it down, or keep it in a password manager, away from the drive.")
