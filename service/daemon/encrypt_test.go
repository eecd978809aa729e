package daemon_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/internal/bustest"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/kerr"
)

// The secrets of the tests below; none may ever show in keepsaked's
// output or files.
const (
	encPass  = "correct horse battery staple"
	encNew   = "a new passphrase, longer"
	encWrong = "not the passphrase at all"
)

var recoveryKeyRE = regexp.MustCompile(`^[A-Z2-7]{8}(-[A-Z2-7]{8}){6}$`)

// waitDrive waits until the drive's properties satisfy cond.
func (s *service) waitDrive(uuid, what string, cond func(d client.Drive) bool) client.Drive {
	s.t.Helper()
	var d client.Drive
	s.waitFor(what, 15*time.Second, func() bool {
		var err error
		d, err = s.client.Drive(bg, uuid)
		return err == nil && cond(d)
	})
	return d
}

// lastJob is the newest job's path ("" for none).
func (s *service) lastJob() dbus.ObjectPath {
	s.t.Helper()
	js, err := s.client.Jobs(bg)
	if err != nil {
		s.t.Fatal(err)
	}
	var last dbus.ObjectPath
	for _, j := range js {
		if jobNumber(j.Path) > jobNumber(last) {
			last = j.Path
		}
	}
	return last
}

// unlock unlocks the drive with a passphrase through the typed client.
func (s *service) unlock(uuid, pass string, remember bool) error {
	return s.client.Unlock(bg, uuid, api.UnlockOptions{Secret: api.Secret{Passphrase: pass}, Remember: remember})
}

// backupNow runs a backup of the profile and waits for its end.
func (s *service) backupNow(profile string) (client.Job, error) {
	s.t.Helper()
	job, err := s.client.BackupNow(bg, profile, api.BackupOptions{})
	if err != nil {
		s.t.Fatal(err)
	}
	return s.wait(job)
}

// auditActions reads the audit log of the encrypted drive the service
// holds mounted and unlocked.
func (s *service) auditActions(uuid string) []catalog.AuditEntry {
	s.t.Helper()
	d, err := s.client.Drive(bg, uuid)
	if err != nil || d.MountPoint == "" || d.Locked {
		s.t.Fatalf("the drive is not mounted and unlocked: %+v %v", d, err)
	}
	c, err := catalog.OpenReadOnly(filepath.Join(d.MountPoint, "Keepsake", "data", "catalog.db"))
	if err != nil {
		s.t.Fatal(err)
	}
	defer c.Close()
	log, err := c.Log(1000)
	if err != nil {
		s.t.Fatal(err)
	}
	return log
}

// snapshotNames lists a profile's snapshots through the service.
func (s *service) snapshotNames(profile string) []string {
	s.t.Helper()
	ds, err := s.client.Snapshots(bg, profile, api.ListOptions{})
	if err != nil {
		s.t.Fatal(err)
	}
	var names []string
	for _, d := range ds {
		names = append(names, d.Name)
	}
	return names
}

// sameTree fails unless the folder got holds the bytes and metadata of
// want.
func sameTree(t *testing.T, want, got string) {
	t.Helper()
	w, g := realfs.Digest(t, want), realfs.Digest(t, got)
	if len(w) != len(g) {
		t.Fatalf("%s has %d entries, %s has %d", got, len(g), want, len(w))
	}
	for k, v := range w {
		if g[k] != v {
			t.Fatalf("%s differs in %s", got, k)
		}
	}
}

// TestEncryptedDriveOverTheBus: an encrypted backup drive set up, used,
// locked, unlocked, re-keyed and remembered through keepsaked, on a real
// ext4 loop drive with udevd and polkitd, as the app and keepsakectl use
// it. The secrets never show in keepsaked's output or files.
func TestEncryptedDriveOverTheBus(t *testing.T) {
	realfs.RequireCommands(t, "tune2fs", "dumpe2fs", "mkfs.btrfs")
	s := startService(t, "")
	unlockNeeded := s.collect(dbusapi.SignalUnlockNeeded)
	dr := newDrive(t, "KSCRYPT", 256) // mkfs.ext4 without the encrypt feature
	src := filepath.Join(t.TempDir(), "Documents")
	makeTree(t, src, 5, 10)
	uuid := dr.uuid

	s.waitDrive(uuid, "the plain ext4 drive", func(d client.Drive) bool {
		return d.Present && d.Encryptable == api.EncryptableFeatureOff && !d.Encrypted && !d.Locked && !d.KeyRemembered
	})
	// Every backup in this test is asked for, or follows a plug or an
	// unlock where the test says so.
	settings := api.Settings{Sources: paths(src), Interval: ptr(uint64(0)), OnChange: ptr(false), OnPlug: ptr(false)}
	if _, err := s.client.CreateProfile(bg, "home", settings, api.Auth{}); err != nil {
		t.Fatal(err)
	}

	// The drive holds unencrypted backups first: they cannot be encrypted
	// in place, and are set aside when the encrypted repository comes.
	if err := s.client.Enroll(bg, uuid, client.EnrollOptions{Profile: "home"}); err != nil {
		t.Fatal(err)
	}
	s.waitDrive(uuid, "the drive enrolled, unencrypted", func(d client.Drive) bool { return d.Enrolled && !d.Encrypted })
	if _, err := s.backupNow("home"); err != nil {
		t.Fatalf("the unencrypted backup: %v", err)
	}
	plainSnaps := s.snapshotNames("home")
	if len(plainSnaps) != 1 {
		t.Fatalf("snapshots before encryption: %v", plainSnaps)
	}

	t.Run("refusals write nothing", func(t *testing.T) {
		s.waitFor("the drive to be unmounted after its backup", 10*time.Second, func() bool { return len(mountedUnder(t, s.runDir())) == 0 })
		before := hashImage(t, dr)
		for _, tc := range []struct {
			name    string
			opts    api.EnrollEncryptedOptions
			errName kerr.Name
			message string
		}{
			{"the encrypt feature off", api.EnrollEncryptedOptions{Passphrase: encPass, SetAside: true}, kerr.UnsupportedFilesystem, "tune2fs -O encrypt " + dr.dev},
			{"a short passphrase", api.EnrollEncryptedOptions{Passphrase: "short", EnableFeature: true}, kerr.InvalidArgs, "it needs at least 8"},
			{"no passphrase", api.EnrollEncryptedOptions{EnableFeature: true}, kerr.InvalidArgs, "option passphrase is missing"},
			{"unencrypted backups there, not to be set aside", api.EnrollEncryptedOptions{Passphrase: encPass, EnableFeature: true}, kerr.InvalidArgs,
				`holds unencrypted backups, which cannot be encrypted where they are: set them aside (kept as they are in the folder "Keepsake (not encrypted)")`},
		} {
			_, err := s.client.EnrollEncrypted(bg, uuid, tc.opts)
			if kerr.NameOf(err) != tc.errName || !strings.Contains(err.Error(), tc.message) {
				t.Errorf("%s: %v, want %s saying %q", tc.name, err, tc.errName, tc.message)
			}
		}
		if hashImage(t, dr) != before {
			t.Fatal("a refused EnrollEncrypted changed the drive")
		}
	})

	var rk string
	t.Run("EnrollEncrypted turns the feature on and makes the repository", func(t *testing.T) {
		var err error
		rk, err = s.client.EnrollEncrypted(bg, uuid, api.EnrollEncryptedOptions{Passphrase: encPass, Profile: dbusapi.ProfilePath("home"), EnableFeature: true, SetAside: true})
		if err != nil {
			t.Fatal(err)
		}
		if !recoveryKeyRE.MatchString(rk) {
			t.Fatalf("recovery key %q", rk)
		}
		out, err := exec.Command("dumpe2fs", "-h", dr.dev).CombinedOutput()
		if err != nil || !regexp.MustCompile(`(?m)^Filesystem features:.* encrypt`).Match(out) {
			t.Fatalf("dumpe2fs: %v\n%s", err, out)
		}
		d := s.waitDrive(uuid, "the drive enrolled, encrypted and unlocked", func(d client.Drive) bool {
			return d.Enrolled && d.Encrypted && !d.Locked && d.Encryptable == "" && d.MountPoint != ""
		})
		if d.KeyRemembered {
			t.Error("a key is remembered without remember")
		}
		if p := s.profile("home"); p.DriveUUID != uuid {
			t.Errorf("the profile's drive is %q", p.DriveUUID)
		}
		if _, err := s.client.EnrollEncrypted(bg, uuid, api.EnrollEncryptedOptions{Passphrase: encPass}); kerr.NameOf(err) != kerr.InvalidArgs {
			t.Errorf("EnrollEncrypted again: %v, want InvalidArgs", err)
		}
		if _, err := s.backupNow("home"); err != nil {
			t.Fatalf("backup to the new encrypted drive: %v", err)
		}
		s.restoreAndCompare("home", src)
		// The unencrypted backups are where the service said, whole and
		// in the clear, and the new repository's log says where.
		aside := filepath.Join(d.MountPoint, "Keepsake (not encrypted)")
		for _, snap := range plainSnaps {
			sameTree(t, src, filepath.Join(aside, "testhost", snap, src))
		}
		if !slices.ContainsFunc(s.auditActions(uuid), func(e catalog.AuditEntry) bool {
			return e.Action == "init" && strings.Contains(e.Detail, "set aside in Keepsake (not encrypted)")
		}) {
			t.Error("the audit log does not say where the unencrypted backups went")
		}
	})

	t.Run("Lock: only encrypted names on the drive, and a backup fails Locked with UnlockNeeded", func(t *testing.T) {
		if err := s.client.Lock(bg, uuid, api.Auth{}); err != nil {
			t.Fatal(err)
		}
		s.waitDrive(uuid, "the drive locked", func(d client.Drive) bool { return d.Locked && d.Encrypted })
		s.readDrive(dr, func(mnt string) {
			names := namesIn(t, filepath.Join(mnt, "Keepsake", "data"))
			if slices.Contains(names, "testhost") || slices.Contains(names, "catalog.db") || slices.Contains(names, "d01") || len(names) < 3 {
				t.Errorf("the locked drive shows names in the clear: %v", names)
			}
		})
		// The service saw the test's mount come and go (the drive
		// monitor reads the mount table when it changes: give it time
		// to report both).
		time.Sleep(500 * time.Millisecond)
		s.waitDrive(uuid, "the test's mount gone", func(d client.Drive) bool { return d.MountPoint == "" })
		seen := unlockNeeded.count()
		j, err := s.backupNow("home")
		if kerr.NameOf(err) != kerr.Locked || !strings.Contains(j.Message, "unlock it to back up") {
			t.Fatalf("backup to the locked drive: %v (%q), want Locked", err, j.Message)
		}
		s.waitFor("UnlockNeeded", 5*time.Second, func() bool { return unlockNeeded.count() > seen })
		if p := s.profile("home"); p.LastResult != string(kerr.Locked) {
			t.Errorf("the profile's last result is %q, want Locked", p.LastResult)
		}
	})

	t.Run("wrong passphrases are counted and slowed down", func(t *testing.T) {
		for i := 1; i <= 3; i++ {
			err := s.unlock(uuid, encWrong, false)
			if kerr.NameOf(err) != kerr.WrongPassphrase {
				t.Fatalf("wrong passphrase %d: %v", i, err)
			}
			if i == 3 && !strings.Contains(err.Error(), "3 tries have failed on this drive: the next try waits 1 second before it is checked") {
				t.Fatalf("third wrong passphrase says %q", err)
			}
		}
		start := time.Now()
		err := s.unlock(uuid, encWrong, false)
		took := time.Since(start)
		if kerr.NameOf(err) != kerr.WrongPassphrase || !strings.Contains(err.Error(), "4 tries have failed on this drive: the next try waits 2 seconds") {
			t.Fatalf("fourth wrong passphrase: %v", err)
		}
		if took < time.Second {
			t.Fatalf("the fourth try took %v: it should have waited 1 s before it was checked", took)
		}
		start = time.Now()
		if err := s.unlock(uuid, encPass, false); err != nil {
			t.Fatalf("the right passphrase after four wrong ones: %v", err)
		}
		if took := time.Since(start); took < 2*time.Second {
			t.Fatalf("the fifth try took %v: it should have waited 2 s", took)
		}
		// A success resets the count.
		if err := s.unlock(uuid, encWrong, false); !strings.Contains(err.Error(), "1 try has failed on this drive") {
			t.Fatalf("a wrong passphrase after a success: %v", err)
		}
	})

	t.Run("the unlock ran the backup that failed Locked", func(t *testing.T) {
		// The failed backup is retried once the drive is unlocked, as
		// after a plug, when the profile backs up on plug.
		if err := s.client.Configure(bg, "home", api.Settings{OnPlug: ptr(true)}, api.Auth{}); err != nil {
			t.Fatal(err)
		}
		if err := s.client.Lock(bg, uuid, api.Auth{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.backupNow("home"); kerr.NameOf(err) != kerr.Locked {
			t.Fatalf("backup to the locked drive: %v", err)
		}
		after := s.lastJob()
		if err := s.unlock(uuid, encPass, false); err != nil {
			t.Fatal(err)
		}
		j, err := s.wait(s.nextJob("home", after, 20*time.Second))
		if err != nil || j.Trigger != "plug" {
			t.Fatalf("the backup after the unlock: %v, trigger %q", err, j.Trigger)
		}
		if err := s.client.Configure(bg, "home", api.Settings{OnPlug: ptr(false)}, api.Auth{}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ChangePassphrase: the old one is refused, the new one works, the data stays", func(t *testing.T) {
		if err := s.client.ChangePassphrase(bg, uuid, api.ChangePassphraseOptions{Secret: api.Secret{Passphrase: encPass}, NewPassphrase: "short"}); kerr.NameOf(err) != kerr.InvalidArgs {
			t.Fatalf("a short new passphrase: %v", err)
		}
		if err := s.client.ChangePassphrase(bg, uuid, api.ChangePassphraseOptions{Secret: api.Secret{Passphrase: encPass}, NewPassphrase: encNew}); err != nil {
			t.Fatal(err)
		}
		if err := s.client.Lock(bg, uuid, api.Auth{}); err != nil {
			t.Fatal(err)
		}
		if err := s.unlock(uuid, encPass, false); kerr.NameOf(err) != kerr.WrongPassphrase {
			t.Fatalf("the old passphrase: %v, want WrongPassphrase", err)
		}
		if err := s.unlock(uuid, encNew, false); err != nil {
			t.Fatalf("the new passphrase: %v", err)
		}
		s.restoreAndCompare("home", src)
	})

	t.Run("the recovery key unlocks", func(t *testing.T) {
		if err := s.client.Lock(bg, uuid, api.Auth{}); err != nil {
			t.Fatal(err)
		}
		typo := []byte(rk)
		typo[3] = map[bool]byte{true: 'B', false: 'A'}[typo[3] == 'A']
		for _, tc := range []struct {
			name string
			opts map[string]any
			want kerr.Name
		}{
			{"a typo", map[string]any{"recovery-key": string(typo)}, kerr.MistypedRecoveryKey},
			{"both secrets", map[string]any{"recovery-key": rk, "passphrase": encNew}, kerr.InvalidArgs},
			{"no secret", map[string]any{}, kerr.InvalidArgs},
			{"an empty passphrase", map[string]any{"passphrase": ""}, kerr.InvalidArgs},
			{"a passphrase of another type", map[string]any{"passphrase": int32(7)}, kerr.InvalidArgs},
		} {
			o := api.Dict{}
			for k, v := range tc.opts {
				o[k] = dbus.MakeVariant(v)
			}
			err := s.client.Conn().Object(dbusapi.BusName, dbusapi.DrivePath(uuid)).Call(dbusapi.DriveInterface+".Unlock", 0, o).Err
			if got := kerr.NameOf(dbusapi.FromDBus(err)); got != tc.want {
				t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
			}
		}
		// Case, spaces and dashes do not matter.
		typed := strings.ToLower(strings.ReplaceAll(rk, "-", " "))
		if err := s.client.Unlock(bg, uuid, api.UnlockOptions{Secret: api.Secret{RecoveryKey: typed}}); err != nil {
			t.Fatal(err)
		}
		s.waitDrive(uuid, "unlocked by the recovery key", func(d client.Drive) bool { return !d.Locked })
	})

	keyFile := filepath.Join(s.dir, "state", "keys", uuid)
	t.Run("a remembered key backs up unattended on plug", func(t *testing.T) {
		if err := s.client.Lock(bg, uuid, api.Auth{}); err != nil {
			t.Fatal(err)
		}
		if err := s.unlock(uuid, encNew, true); err != nil {
			t.Fatal(err)
		}
		s.waitDrive(uuid, "the key remembered", func(d client.Drive) bool { return d.KeyRemembered })
		for p, want := range map[string]os.FileMode{filepath.Dir(keyFile): 0o700 | fs.ModeDir, keyFile: 0o600} {
			if fi, err := os.Stat(p); err != nil || fi.Mode() != want {
				t.Fatalf("%s: %v %v, want mode %v", p, fi.Mode(), err, want)
			}
		}
		// Remembered, the drive is not kept mounted: each use mounts and
		// unlocks it.
		s.waitFor("the drive unmounted", 10*time.Second, func() bool { return len(mountedUnder(t, s.runDir())) == 0 })
		if err := s.client.Configure(bg, "home", api.Settings{OnPlug: ptr(true)}, api.Auth{}); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(src, "d02", "while-unplugged.txt"), []byte("new while the drive was away\n"), 0o644)
		after := s.lastJob()
		seen := unlockNeeded.count()
		realfs.UdevTrigger(t, "remove", dr.dev)
		s.waitDrive(uuid, "the drive gone", func(d client.Drive) bool { return !d.Present })
		realfs.UdevTrigger(t, "add", dr.dev)
		j, err := s.wait(s.nextJob("home", after, 20*time.Second))
		if err != nil || j.Trigger != "plug" {
			t.Fatalf("the backup on plug: %v, trigger %q", err, j.Trigger)
		}
		if unlockNeeded.count() != seen {
			t.Error("UnlockNeeded with a remembered key")
		}
		s.restoreAndCompare("home", src)
		if err := s.client.Configure(bg, "home", api.Settings{OnPlug: ptr(false)}, api.Auth{}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ForgetKey: the next backup fails Locked and UnlockNeeded is emitted", func(t *testing.T) {
		// Unlocked by hand first, so that forgetting is in the drive's
		// audit log.
		if err := s.unlock(uuid, encNew, false); err != nil {
			t.Fatal(err)
		}
		if err := s.client.ForgetKey(bg, uuid, api.Auth{}); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
			t.Fatalf("the key file after ForgetKey: %v", err)
		}
		s.waitDrive(uuid, "no key remembered", func(d client.Drive) bool { return !d.KeyRemembered })
		if err := s.client.Lock(bg, uuid, api.Auth{}); err != nil {
			t.Fatal(err)
		}
		seen := unlockNeeded.count()
		if _, err := s.backupNow("home"); kerr.NameOf(err) != kerr.Locked {
			t.Fatalf("the backup after ForgetKey: %v, want Locked", err)
		}
		s.waitFor("UnlockNeeded", 5*time.Second, func() bool { return unlockNeeded.count() > seen })
		// A backup the service starts by itself (due on plug) too.
		if err := s.client.Configure(bg, "home", api.Settings{OnPlug: ptr(true)}, api.Auth{}); err != nil {
			t.Fatal(err)
		}
		after, seen := s.lastJob(), unlockNeeded.count()
		realfs.UdevTrigger(t, "remove", dr.dev)
		s.waitDrive(uuid, "the drive gone", func(d client.Drive) bool { return !d.Present })
		realfs.UdevTrigger(t, "add", dr.dev)
		j, err := s.wait(s.nextJob("home", after, 20*time.Second))
		if kerr.NameOf(err) != kerr.Locked || j.Trigger != "plug" {
			t.Fatalf("the backup on plug after ForgetKey: %v, trigger %q; want Locked", err, j.Trigger)
		}
		s.waitFor("UnlockNeeded after the plug", 5*time.Second, func() bool { return unlockNeeded.count() > seen })
		if err := s.client.Configure(bg, "home", api.Settings{OnPlug: ptr(false)}, api.Auth{}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("keepsakectl through the service", func(t *testing.T) {
		passFile := filepath.Join(t.TempDir(), "pass")
		os.WriteFile(passFile, []byte(encNew+"\n"), 0o600)
		if out, errOut, code := s.ctl("unlock", "KSCRYPT", "--passphrase-file", passFile); code != 0 || !strings.Contains(out, "Unlocked \"KSCRYPT\"") {
			t.Fatalf("keepsakectl unlock KSCRYPT: %d %s %s", code, out, errOut)
		}
		if out, _, _ := s.ctl("drives"); !strings.Contains(out, "encrypted") {
			t.Errorf("keepsakectl drives does not say encrypted:\n%s", out)
		}
		if out, errOut, code := s.ctl("lock"); code != 0 || !strings.Contains(out, "Locked") {
			t.Fatalf("keepsakectl lock (the profile's drive): %d %s %s", code, out, errOut)
		}
		if _, errOut, code := s.ctl("unlock", uuid, "--passphrase", encNew); code != 2 || !strings.Contains(errOut, "unknown flag") {
			t.Fatalf("a passphrase as an argument: exit %d %s", code, errOut)
		}
		wrong := filepath.Join(t.TempDir(), "wrong")
		os.WriteFile(wrong, []byte(encWrong+"\n"), 0o600)
		if out, _, code := s.ctl("--json", "unlock", uuid, "--passphrase-file", wrong); code != 1 || !strings.Contains(out, `"WrongPassphrase"`) {
			t.Fatalf("keepsakectl unlock with a wrong passphrase: exit %d %s", code, out)
		}
		if _, errOut, code := s.ctl("unlock", uuid, "--passphrase-file", passFile); code != 0 {
			t.Fatalf("keepsakectl unlock by UUID: %d %s", code, errOut)
		}
	})

	t.Run("the audit log has each action, never a secret", func(t *testing.T) {
		counts := map[string]int{}
		for _, e := range s.auditActions(uuid) {
			counts[e.Action]++
			for _, secret := range []string{encPass, encNew, encWrong, rk} {
				if strings.Contains(e.Detail, secret) || strings.Contains(e.Path, secret) {
					t.Errorf("the audit log holds a secret: %+v", e)
				}
			}
		}
		for _, a := range []string{"init", "unlock", "lock", "change-passphrase", "forget-key"} {
			if counts[a] == 0 {
				t.Errorf("no %s in the audit log: %v", a, counts)
			}
		}
	})

	t.Run("btrfs is refused with what to do", func(t *testing.T) {
		bdev, buuid := realfs.UdevLoop(t, "btrfs", "KSBTRFS", 256)
		s.waitDrive(buuid, "the btrfs drive", func(d client.Drive) bool {
			return d.Present && d.Encryptable == api.EncryptableFilesystem
		})
		_, err := s.client.EnrollEncrypted(bg, buuid, api.EnrollEncryptedOptions{Passphrase: encPass, EnableFeature: true})
		if kerr.NameOf(err) != kerr.UnsupportedFilesystem || !strings.Contains(err.Error(), "is btrfs: only ext4 drives can be encrypted") ||
			!strings.Contains(err.Error(), "keepsakectl prepare-drive "+bdev+" --filesystem ext4") {
			t.Fatalf("EnrollEncrypted on btrfs: %v", err)
		}
	})

	t.Run("no secret in keepsaked's output or files", func(t *testing.T) {
		secrets := []string{encPass, encNew, encWrong, rk, strings.ReplaceAll(rk, "-", "")}
		log := s.log.String()
		for _, secret := range secrets {
			if strings.Contains(log, secret) {
				t.Errorf("keepsaked's output holds a secret (%q)", secret[:4]+"…")
			}
		}
		filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			b, _ := os.ReadFile(p)
			for _, secret := range secrets {
				if strings.Contains(string(b), secret) {
					t.Errorf("%s holds a secret (%q)", p, secret[:4]+"…")
				}
			}
			return nil
		})
		if !strings.Contains(log, "unlocked by root with its passphrase") || !strings.Contains(log, "unlock by root refused: WrongPassphrase") {
			t.Errorf("keepsaked did not log the unlocks (so the check above proves little):\n%s", log)
		}
	})
}

// namesIn lists every name below dir.
func namesIn(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && p != dir {
			out = append(out, d.Name())
		}
		return nil
	})
	return out
}

// encAuthzRules: group ks-local plays an active local session (the
// allow_active defaults: yes for backup and unlock-drive), group
// ks-admins an administrator (configure, prepare-drive).
const encAuthzRules = `
polkit.addRule(function(action, subject) {
	var prefix = "io.github.keepsake.keepsake1.";
	if (action.id.indexOf(prefix) != 0) {
		return polkit.Result.NOT_HANDLED;
	}
	var verb = action.id.substring(prefix.length);
	var local = ["backup", "browse", "restore", "manage-own-folders", "unlock-drive"];
	var admin = ["configure", "prepare-drive"];
	if (subject.isInGroup("ks-admins") && admin.indexOf(verb) >= 0) {
		return polkit.Result.YES;
	}
	if (subject.isInGroup("ks-local") && local.indexOf(verb) >= 0) {
		return polkit.Result.YES;
	}
	return polkit.Result.NOT_HANDLED;
});
`

// TestEncryptedDriveAuthorization calls every method of encrypted drives
// as a plain user (what an SSH login gets), an active local user, an
// administrator and root, for real (gdbus as that user, polkitd
// deciding). The drive is made as the app makes it: PrepareDrive with
// enroll=false (ext4 with the encrypt feature), then EnrollEncrypted.
func TestEncryptedDriveAuthorization(t *testing.T) {
	realfs.RequireCommands(t, "gdbus", "wipefs", "mkfs.ext4", "blkid")
	s := startService(t, encAuthzRules)
	const plain, local, admin = "ks-enc-plain", "ks-enc-local", "ks-enc-admin"
	bustest.User(t, plain)
	bustest.User(t, local, "ks-local")
	bustest.User(t, admin, "ks-local", "ks-admins")
	a := &authz{t: t, s: s}
	defer a.logMatrix()
	d := newDrive(t, "KSOLD", 256)

	info, err := s.client.DescribeDevice(bg, d.dev, api.Auth{})
	if err != nil {
		t.Fatal(err)
	}
	job, err := s.client.PrepareDrive(bg, d.dev, api.PrepareOptions{Filesystem: "ext4", Label: "KSENC", Confirm: info.Token, Enroll: ptr(false)})
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.wait(job)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := j.PrepareResult()
	if res.Enrolled || res.Filesystem != "ext4" {
		t.Fatalf("PrepareDrive with enroll=false: %+v", res)
	}
	uuid := res.UUID
	dr := s.waitDrive(uuid, "the prepared drive, not enrolled, encryptable", func(d client.Drive) bool {
		return d.Present && !d.Enrolled && d.Encryptable == ""
	})
	if dr.Encrypted {
		t.Fatalf("a new drive says encrypted: %+v", dr)
	}
	if _, err := s.client.EnrollEncrypted(bg, uuid, api.EnrollEncryptedOptions{Passphrase: encPass}); err != nil {
		t.Fatal(err)
	}
	s.waitDrive(uuid, "the drive enrolled and encrypted", func(d client.Drive) bool { return d.Enrolled && d.Encrypted && !d.Locked })

	path := dbusapi.DrivePath(uuid)
	pass := "'passphrase': <" + gv(encPass) + ">"
	users := []string{plain, local, admin, ksRoot}
	var cases []authzCase
	for _, step := range []struct {
		method, label string
		args          []string
		want          map[string]string // user -> error name; absent: success
		check         func(t *testing.T, r gdbusResult)
	}{
		{"Drive.Unlock", "passphrase", []string{gvOpts(pass)}, map[string]string{plain: errNotAuthorized}, nil},
		{"Drive.Unlock", "passphrase + remember", []string{gvOpts(pass, "'remember': <true>")},
			map[string]string{plain: errNotAuthorized, local: errNotAuthorized}, nil},
		{"Drive.ForgetKey", "", []string{gvOpts()}, map[string]string{plain: errNotAuthorized, local: errNotAuthorized}, nil},
		{"Drive.Lock", "", []string{gvOpts()}, map[string]string{plain: errNotAuthorized}, nil},
		{"Drive.ChangePassphrase", "", []string{gvOpts(pass, "'new-passphrase': <"+gv(encPass)+">")},
			map[string]string{plain: errNotAuthorized, local: errNotAuthorized}, nil},
		// Allowed, EnrollEncrypted finds the repository there.
		{"Drive.EnrollEncrypted", "", []string{gvOpts(pass)},
			map[string]string{plain: errNotAuthorized, local: errNotAuthorized, admin: errInvalidArgs, ksRoot: errInvalidArgs},
			func(t *testing.T, r gdbusResult) {
				if r.errName == errInvalidArgs && !strings.Contains(r.stderr, "holds a Keepsake repository already") {
					t.Errorf("EnrollEncrypted on an encrypted drive: %s", r.stderr)
				}
			}},
	} {
		for _, u := range users {
			cases = append(cases, authzCase{method: step.method, label: step.label, user: u, path: path, args: step.args, want: step.want[u], check: step.check})
		}
	}
	a.run(cases)

	t.Run("a refused caller's wrong passphrase is not even tried", func(t *testing.T) {
		r := a.gdbus(plain, path, "Drive.Unlock", gvOpts("'passphrase': <"+gv(encWrong)+">"))
		if r.errName != errNotAuthorized {
			t.Fatalf("a plain user's unlock: %s", r.outcome())
		}
		err := s.unlock(uuid, encWrong, false)
		if kerr.NameOf(err) != kerr.WrongPassphrase || !strings.Contains(err.Error(), "1 try has failed") {
			t.Fatalf("root's wrong passphrase after a refused one: %v", err)
		}
	})
	t.Run("the remembered key is root's alone", func(t *testing.T) {
		if err := s.unlock(uuid, encPass, true); err != nil {
			t.Fatal(err)
		}
		keyFile := filepath.Join(s.dir, "state", "keys", uuid)
		for _, u := range []string{plain, local, admin} {
			if _, errOut, code := s.bus.AsUser(t, u, "cat", keyFile); code == 0 {
				t.Errorf("%s read the remembered key", u)
			} else if !strings.Contains(errOut, "Permission denied") {
				t.Errorf("%s: %s", u, errOut)
			}
		}
	})
}
