package daemon

import (
	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/service/config"
	"github.com/keepsake/keepsake/service/drives"
	"github.com/keepsake/keepsake/service/state"
	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/kerr"
)

// Encrypted drives. The secrets (passphrases, recovery keys) arrive in
// a{sv} options and go to the use cases; they are never logged, never put
// in an error message, a property, a Job or the audit log. A remembered
// key is the drive's unwrapped master key in a root-only file
// (usecase.KeyStore).

// actor is how the audit log names a caller.
func (c caller) actor() usecase.Actor { return usecase.Actor{UID: int(c.uid), User: c.name} }

// serviceActor names the service acting by itself (a remembered key).
var serviceActor = usecase.Actor{UID: 0, User: "keepsaked (remembered key)"}

// secretOf reads the proof of a secret from the options: passphrase or
// recovery-key, exactly one of them.
func secretOf(s api.Secret) (usecase.Secret, error) {
	// Empty counts as not given: a client may send every key of the
	// options, the one not meant empty.
	switch {
	case s.Passphrase != "" && s.RecoveryKey != "":
		return usecase.Secret{}, kerr.New(kerr.InvalidArgs, "give the passphrase or the recovery key, not both")
	case s.RecoveryKey != "":
		return usecase.Secret{UseRecoveryKey: true, RecoveryKey: s.RecoveryKey}, nil
	case s.Passphrase != "":
		return usecase.Secret{Passphrase: []byte(s.Passphrase)}, nil
	}
	return usecase.Secret{}, kerr.New(kerr.InvalidArgs, "give the drive's passphrase (option passphrase) or its recovery key (option recovery-key); neither may be empty")
}

// presentDrive is the drive of the object called, connected.
func (d *Daemon) presentDrive(uuid string) (*drive, error) {
	dr, ok := d.lookupDrive(uuid)
	if !ok {
		return nil, kerr.New(kerr.DriveNotFound, "no drive %s", uuid)
	}
	dr.mu.Lock()
	present := dr.info.Present
	dr.mu.Unlock()
	if !present {
		return nil, kerr.New(kerr.DriveNotFound, "the drive %s is not connected: plug it in", dr.name())
	}
	return dr, nil
}

// encryptedAt checks that the drive mounted at mp holds an encrypted
// repository and returns its state.
func (dr *drive) encryptedAt(mp string) (usecase.EncryptionState, error) {
	st, err := usecase.DriveEncryption(mp)
	if kerr.Is(err, kerr.NotARepository) {
		return st, kerr.Wrap(kerr.NotARepository, err, "the drive %s holds no Keepsake backups: there is nothing to unlock", dr.name())
	}
	if err != nil {
		return st, err
	}
	if !st.Encrypted {
		return st, kerr.New(kerr.NotARepository, "the drive %s holds Keepsake backups that are not encrypted: there is nothing to unlock or lock", dr.name())
	}
	return st, nil
}

// keepMounted keeps a drive the service mounted, and unlocked, until it
// is locked, unmounted or pulled: the key goes with the mount, and a
// drive unlocked by hand must stay unlocked for the backups that follow.
// release is the caller's use of the drive, kept instead of given back.
func (dr *drive) keepMounted(release func()) {
	dr.mu.Lock()
	if dr.ourMount == "" || dr.hold != nil {
		dr.mu.Unlock()
		release()
		return
	}
	dr.hold = release
	dr.mu.Unlock()
}

// letGo gives back the use keepMounted kept: a drive nobody else uses
// is then unmounted (and SafeToRemove said).
func (dr *drive) letGo() {
	dr.mu.Lock()
	h := dr.hold
	dr.hold = nil
	dr.mu.Unlock()
	if h != nil {
		h()
	}
}

// autoUnlock unlocks the drive mounted at mp with its remembered key, if
// the service keeps one; failures are logged (a backup then fails with
// Locked and says so).
func (dr *drive) autoUnlock(mp string) {
	dr.mu.Lock()
	uuid := dr.info.UUID
	dr.mu.Unlock()
	key, _, ok, err := dr.d.keys.Key(uuid)
	if err != nil {
		dr.d.logf("drive %s: %v", uuid, err)
		return
	}
	if !ok {
		return
	}
	defer clear(key)
	unlocked, err := usecase.UnlockDriveWithKey(mp, key, serviceActor)
	if err != nil {
		dr.d.logf("drive %s: its remembered key did not unlock it: %v", uuid, err)
		return
	}
	if unlocked {
		dr.d.logf("drive %s unlocked with its remembered key", uuid)
	}
}

// encryptable is Drive.Encryptable: "" when an encrypted repository can
// be made on the drive as it is, else api.EncryptableFeatureOff or
// api.EncryptableFilesystem. The superblock is read once per device.
func (dr *drive) encryptable(info drives.Drive) string {
	if !drives.IsExt4(info.FSType) {
		return api.EncryptableFilesystem
	}
	if !info.Present || info.Device == "" {
		return ""
	}
	dr.mu.Lock()
	dev, v := dr.encDev, dr.encVal
	dr.mu.Unlock()
	if dev == info.Device {
		return v
	}
	on, err := drives.Ext4EncryptFeature(info.Device)
	if err != nil {
		return "" // unreadable: enrolling says what is wrong
	}
	v = ""
	if !on {
		v = api.EncryptableFeatureOff
	}
	dr.mu.Lock()
	dr.encDev, dr.encVal = info.Device, v
	dr.mu.Unlock()
	return v
}

// encryption is what the Encrypted and Locked properties say: as the
// service last read the marker and the kernel's keyring on the mount it
// knows (refreshEncryption), else as last seen; a drive that is not
// mounted has no key in the kernel: it is locked. Properties are
// published often, and reading the drive each time could make an
// unmount fail busy: the drive is read only when the service uses it.
func (dr *drive) encryption(info drives.Drive, ds state.DriveState) (encrypted, locked bool) {
	encrypted = ds.Encrypted
	if !info.Present || !encrypted {
		return encrypted, false
	}
	dr.mu.Lock()
	mp, l := dr.encMP, dr.encLocked
	dr.mu.Unlock()
	if info.MountPoint != "" && mp == info.MountPoint {
		return true, l
	}
	return true, true
}

// refreshEncryption reads whether the drive mounted at mp is encrypted
// and locked, for the properties. The caller uses the drive (it stays
// mounted meanwhile).
func (dr *drive) refreshEncryption(mp string) {
	dr.mu.Lock()
	seen, uuid := dr.encMP == mp, dr.info.UUID
	dr.mu.Unlock()
	if seen && !dr.d.store.Drive(uuid).Encrypted {
		return // a plain repository on this mount: every query passes here
	}
	st, err := usecase.DriveEncryption(mp)
	if err != nil {
		// No repository (yet): what was seen last stands.
		return
	}
	dr.mu.Lock()
	dr.encMP, dr.encLocked = mp, st.Locked
	dr.mu.Unlock()
	if dr.d.store.Drive(uuid).Encrypted != st.Encrypted {
		dr.d.store.UpdateDrive(uuid, func(s *state.DriveState) { s.Encrypted = st.Encrypted })
	}
}

// Unlock unlocks an encrypted drive with its passphrase or recovery key.
func (h *driveHandler) Unlock(sender dbus.Sender, options map[string]dbus.Variant) *dbus.Error {
	d := h.d
	err := func() error {
		c, err := d.identify(sender)
		if err != nil {
			return err
		}
		var o api.UnlockOptions
		if err := api.FromOptions(options, &o); err != nil {
			return err
		}
		s, err := secretOf(o.Secret)
		if err != nil {
			return err
		}
		defer clear(s.Passphrase)
		if err := d.authorize(c, dbusapi.ActionUnlockDrive, options); err != nil {
			return err
		}
		if o.Remember {
			if err := d.authorize(c, dbusapi.ActionConfigure, options); err != nil {
				return err
			}
		}
		dr, err := d.presentDrive(h.uuid)
		if err != nil {
			return err
		}
		mp, release, err := dr.acquire()
		if err != nil {
			return err
		}
		kept := false
		defer func() {
			if !kept {
				release()
			}
		}()
		st, err := dr.encryptedAt(mp)
		if err != nil {
			return err
		}
		err = d.tries.Try(d.ctx, h.uuid, func() error {
			if !o.Remember {
				return usecase.UnlockDrive(mp, s, c.actor())
			}
			master, err := usecase.UnlockDriveKey(mp, s, c.actor())
			if err != nil {
				return err
			}
			defer clear(master)
			return d.keys.Remember(h.uuid, st.KeyIdentifier, master, c.name)
		})
		if err != nil {
			if n := kerr.NameOf(err); n == kerr.WrongPassphrase || n == kerr.WrongRecoveryKey || n == kerr.MistypedRecoveryKey {
				d.logf("drive %s: unlock by %s refused: %s", h.uuid, c.name, n)
			}
			return err
		}
		how := "passphrase"
		if s.UseRecoveryKey {
			how = "recovery key"
		}
		if o.Remember {
			d.logf("drive %s unlocked by %s with its %s; its key is remembered", h.uuid, c.name, how)
		} else {
			d.logf("drive %s unlocked by %s with its %s", h.uuid, c.name, how)
			dr.keepMounted(release)
			kept = true
		}
		dr.refreshEncryption(mp)
		// A backup that failed because the drive was locked runs now,
		// as after a plug.
		if d.lockedOut(h.uuid) {
			dr.mu.Lock()
			dr.justAdded = true
			dr.mu.Unlock()
		}
		dr.publish()
		d.poke()
		return nil
	}()
	return d.callErr("Unlock", err)
}

// Lock removes an encrypted drive's key from the kernel.
func (h *driveHandler) Lock(sender dbus.Sender, options map[string]dbus.Variant) *dbus.Error {
	d := h.d
	err := func() error {
		c, err := d.admit(sender, options, dbusapi.ActionBackup)
		if err != nil {
			return err
		}
		dr, err := d.presentDrive(h.uuid)
		if err != nil {
			return err
		}
		if j := d.jobOnDrive(h.uuid); j != nil {
			return kerr.New(kerr.Busy, "the drive is in use by a running %s: wait for it or cancel it", j.op)
		}
		dr.mu.Lock()
		mp := dr.info.MountPoint
		dr.mu.Unlock()
		if mp != "" {
			if _, err := usecase.DriveEncryption(mp); kerr.Is(err, kerr.NotARepository) && d.store.Drive(h.uuid).Encrypted {
				mp = "" // a mount that has just gone, which the drive monitor has not seen yet
			}
		}
		if mp == "" {
			// Not mounted: its key went with the last mount.
			if d.store.Drive(h.uuid).Encrypted {
				dr.letGo()
				return nil
			}
			return kerr.New(kerr.NotARepository, "the drive %s holds no encrypted Keepsake backups that the service has seen", dr.name())
		}
		if _, err := dr.encryptedAt(mp); err != nil {
			return err
		}
		// The catalog kept open for browsing holds files of the drive.
		dr.closeCatalog()
		if err := usecase.LockDrive(mp, c.actor()); err != nil {
			return err
		}
		d.logf("drive %s locked by %s", h.uuid, c.name)
		dr.refreshEncryption(mp)
		dr.letGo()
		dr.publish()
		return nil
	}()
	return d.callErr("Lock", err)
}

// ChangePassphrase rewraps an encrypted drive's key under a new
// passphrase.
func (h *driveHandler) ChangePassphrase(sender dbus.Sender, options map[string]dbus.Variant) *dbus.Error {
	d := h.d
	err := func() error {
		c, err := d.identify(sender)
		if err != nil {
			return err
		}
		var o api.ChangePassphraseOptions
		if err := api.FromOptions(options, &o); err != nil {
			return err
		}
		s, err := secretOf(o.Secret)
		if err != nil {
			return err
		}
		defer clear(s.Passphrase)
		newPass := []byte(o.NewPassphrase)
		defer clear(newPass)
		if err := usecase.CheckPassphrase(newPass); err != nil {
			return err
		}
		if err := d.authorize(c, dbusapi.ActionConfigure, options); err != nil {
			return err
		}
		dr, err := d.presentDrive(h.uuid)
		if err != nil {
			return err
		}
		mp, release, err := dr.acquire()
		if err != nil {
			return err
		}
		defer release()
		if _, err := dr.encryptedAt(mp); err != nil {
			return err
		}
		if err := d.tries.Try(d.ctx, h.uuid, func() error {
			return usecase.ChangePassphrase(mp, s, newPass, c.actor())
		}); err != nil {
			return err
		}
		d.logf("drive %s: passphrase changed by %s", h.uuid, c.name)
		return nil
	}()
	return d.callErr("ChangePassphrase", err)
}

// ForgetKey deletes the drive's remembered key.
func (h *driveHandler) ForgetKey(sender dbus.Sender, options map[string]dbus.Variant) *dbus.Error {
	d := h.d
	err := func() error {
		c, err := d.admit(sender, options, dbusapi.ActionConfigure)
		if err != nil {
			return err
		}
		dr, ok := d.lookupDrive(h.uuid)
		if !ok {
			return kerr.New(kerr.DriveNotFound, "no drive %s", h.uuid)
		}
		forgot, err := d.keys.Forget(h.uuid)
		if err != nil || !forgot {
			return err
		}
		d.logf("drive %s: remembered key forgotten by %s", h.uuid, c.name)
		dr.mu.Lock()
		mp := dr.info.MountPoint
		dr.mu.Unlock()
		if mp != "" {
			if err := usecase.AuditDrive(mp, c.actor(), "forget-key", ""); err != nil {
				d.logf("drive %s: audit: %v", h.uuid, err)
			}
		}
		dr.publish()
		return nil
	}()
	return d.callErr("ForgetKey", err)
}

// EnrollEncrypted writes an encrypted repository to the drive and
// returns its recovery key.
func (h *driveHandler) EnrollEncrypted(sender dbus.Sender, options map[string]dbus.Variant) (string, *dbus.Error) {
	d := h.d
	rk, err := func() (string, error) {
		c, err := d.identify(sender)
		if err != nil {
			return "", err
		}
		var o api.EnrollEncryptedOptions
		if err := api.FromOptions(options, &o); err != nil {
			return "", err
		}
		pass := []byte(o.Passphrase)
		defer clear(pass)
		if o.Passphrase == "" {
			return "", kerr.New(kerr.InvalidArgs, "option passphrase is missing: the new drive's passphrase")
		}
		if err := usecase.CheckPassphrase(pass); err != nil {
			return "", err
		}
		if err := d.authorize(c, dbusapi.ActionConfigure, options); err != nil {
			return "", err
		}
		var prof *profile
		if o.Profile != "" && o.Profile != dbusapi.NoPath {
			for _, p := range d.profileList() {
				if p.obj.path == o.Profile {
					prof = p
				}
			}
			if prof == nil {
				return "", kerr.New(kerr.NotFound, "no profile at %s", o.Profile)
			}
		}
		dr, err := d.presentDrive(h.uuid)
		if err != nil {
			return "", err
		}
		dr.mu.Lock()
		info := dr.info
		dr.mu.Unlock()
		// Refused before the encrypt feature is turned on: a refusal
		// changes nothing on the drive. (InitEncryptedDrive checks the
		// marker itself too, for a drive this service did not enroll.)
		if ds := d.store.Drive(h.uuid); ds.Enrolled && !ds.Encrypted && !o.SetAside {
			return "", usecase.PlainBackupsThere("the drive " + dr.name())
		}
		switch dr.encryptable(info) {
		case api.EncryptableFilesystem:
			return "", kerr.New(kerr.UnsupportedFilesystem,
				"the drive %s is %s: only ext4 drives can be encrypted (the kernel's ext4 encryption). Erase it as ext4 to use it encrypted: keepsakectl prepare-drive %s --filesystem ext4, or Erase in the app; everything on it is lost",
				dr.name(), info.FSType, info.Device)
		case api.EncryptableFeatureOff:
			if !o.EnableFeature {
				return "", kerr.New(kerr.UnsupportedFilesystem,
					"the ext4 filesystem of the drive %s was made without the encrypt feature: let Keepsake turn it on (option enable-feature; keepsakectl enroll --encrypt does), or as root: umount %s && tune2fs -O encrypt %s (its data stays)",
					dr.name(), info.Device, info.Device)
			}
			if err := d.enableEncryption(dr, c); err != nil {
				return "", err
			}
		}
		mp, release, err := dr.acquire()
		if err != nil {
			return "", err
		}
		kept := false
		defer func() {
			if !kept {
				release()
			}
		}()
		var drv *usecase.Drive
		var rk string
		if o.SetAside {
			var aside string
			drv, rk, aside, err = usecase.InitEncryptedBeside(mp, pass, c.actor())
			if aside != "" && err == nil {
				d.logf("drive %s: its unencrypted backups were set aside in %s", h.uuid, aside)
			}
		} else {
			drv, rk, err = usecase.InitEncryptedDrive(mp, pass, c.actor())
		}
		if err != nil {
			return "", err
		}
		d.logf("drive %s enrolled by %s: encrypted repository written to %s", h.uuid, c.name, drv.Dir())
		d.store.UpdateDrive(h.uuid, func(s *state.DriveState) { s.Enrolled, s.Encrypted = true, true })
		dr.refreshEncryption(mp)
		if o.Remember {
			// The recovery key unwraps without Argon2id: no second
			// half-second for a key just made.
			st, err := usecase.DriveEncryption(mp)
			if err == nil {
				var master []byte
				master, err = usecase.MasterKeyCheck(mp, usecase.Secret{UseRecoveryKey: true, RecoveryKey: rk})
				if err == nil {
					err = d.keys.Remember(h.uuid, st.KeyIdentifier, master, c.name)
					clear(master)
				}
			}
			if err != nil {
				return "", kerr.Wrap(kerr.NameOf(err), err, "the encrypted repository is written, but its key could not be remembered")
			}
			d.logf("drive %s: its key is remembered", h.uuid)
		} else {
			dr.keepMounted(release)
			kept = true
		}
		if prof != nil {
			if err := d.setProfileDrive(prof, h.uuid); err != nil {
				return "", err
			}
		}
		dr.publish()
		d.poke()
		return rk, nil
	}()
	if err != nil {
		return "", d.callErr("EnrollEncrypted", err)
	}
	return rk, nil
}

// enableEncryption turns on the encrypt feature of the drive's ext4
// filesystem. tune2fs changes only an unmounted filesystem: the service
// unmounts what it mounted; a drive mounted by someone else must be
// unmounted by them first.
func (d *Daemon) enableEncryption(dr *drive, c caller) error {
	dr.mu.Lock()
	info, ours := dr.info, dr.ourMount
	dr.mu.Unlock()
	if info.MountPoint != "" && ours == "" {
		return kerr.New(kerr.DeviceInUse, "the drive %s is mounted at %s: unmount it first (the encrypt feature can only be turned on while it is not mounted)", dr.name(), info.MountPoint)
	}
	if j := d.jobOnDrive(info.UUID); j != nil {
		return kerr.New(kerr.Busy, "the drive is in use by a running %s: wait for it or cancel it", j.op)
	}
	if ours != "" {
		dr.letGo()
		if err := dr.unmountOurs(); err != nil {
			return err
		}
		dr.mu.Lock()
		if dr.info.MountPoint == ours {
			dr.info.MountPoint = ""
		}
		dr.mu.Unlock()
	}
	if err := drives.EnableEncryption(d.ctx, info.Device); err != nil {
		return err
	}
	dr.mu.Lock()
	dr.encDev = "" // read the superblock again
	dr.mu.Unlock()
	d.logf("drive %s: the encrypt feature of its ext4 filesystem turned on by %s", info.UUID, c.name)
	return nil
}

// setProfileDrive makes uuid the drive of prof.
func (d *Daemon) setProfileDrive(prof *profile, uuid string) error {
	name := prof.config().Name
	return d.changeConfig(func(cf *config.Config) error {
		pc, ok := cf.Profile(name)
		if !ok {
			return kerr.New(kerr.NotFound, "no profile %q", name)
		}
		pc.Drive = uuid
		return nil
	})
}

// lockedDrive is what a backup to a locked drive fails with. Without a
// remembered key it asks, with UnlockNeeded, for someone to unlock it.
func (d *Daemon) lockedDrive(dr *drive, err error) error {
	dr.mu.Lock()
	uuid := dr.info.UUID
	dr.mu.Unlock()
	if d.keys.Has(uuid) {
		return kerr.Wrap(kerr.Locked, err, "the backup drive %s is encrypted and its remembered key did not unlock it (see the service's log)", dr.name())
	}
	d.conn.Emit(dr.obj.path, dbusapi.SignalUnlockNeeded)
	return kerr.New(kerr.Locked, "the backup drive %s is encrypted and locked: unlock it to back up (in Keepsake, or keepsakectl unlock)", dr.name())
}

// lockedOut says whether a profile backing up to the drive failed its
// last backup because the drive was locked.
func (d *Daemon) lockedOut(uuid string) bool {
	for _, p := range d.profileList() {
		if pc := p.config(); pc.Drive == uuid && d.store.Profile(pc.Name).LastResult == kerr.Locked {
			return true
		}
	}
	return false
}
