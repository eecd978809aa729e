package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/service/drives"
	"github.com/keepsake/keepsake/service/state"
	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// drive is a filesystem the service knows: present now or enrolled before.
type drive struct {
	d   *Daemon
	obj *object

	opMu      sync.Mutex // held while mounting or unmounting
	mu        sync.Mutex
	info      drives.Drive
	ourMount  string // mount point the service made, "" if none
	users     int    // jobs using the drive
	gen       int    // bumped when the drive goes away: older releases are void
	justAdded bool   // plugged in since the scheduler last looked
	// hold is a use of the drive kept while it stays unlocked by hand
	// (keepMounted); nil when none.
	hold func()
	// encDev and encVal cache Encryptable for the device it was read
	// from.
	encDev, encVal string
	// encMP and encLocked: whether the drive was locked when last read
	// on the mount encMP (refreshEncryption).
	encMP     string
	encLocked bool

	// The catalog kept open between queries: opening it (schema check, a
	// cold page cache) costs more than most queries, and the app searches
	// as the user types. It is closed after catIdle without queries, so
	// that a drive the user mounted can be ejected soon after browsing.
	catMu    sync.Mutex
	cat      *usecase.Repo
	catMP    string
	catInUse int
	catUsed  time.Time
	catTimer *time.Timer
}

// catIdle is how long the catalog stays open without queries.
const catIdle = 5 * time.Second

// queryRepo is the repository at mount point mp (drv) with its catalog,
// kept open between queries; done must be called when the query is over.
// The caller holds a use of the drive (acquire), so it stays mounted.
func (dr *drive) queryRepo(mp string, drv *usecase.Drive, host string) (x *usecase.Repo, done func(), err error) {
	dr.catMu.Lock()
	defer dr.catMu.Unlock()
	if dr.cat == nil || dr.catMP != mp {
		if dr.cat != nil && dr.catInUse == 0 {
			dr.cat.Close()
		}
		// A query still using the old one closes it when it ends.
		dr.catInUse = 0
		if dr.cat, err = drv.Repo(host); err != nil {
			dr.cat = nil
			return nil, nil, err
		}
		dr.catMP = mp
	}
	dr.catInUse++
	x = dr.cat
	var once sync.Once
	return x, func() { once.Do(func() { dr.doneRepo(x) }) }, nil
}

func (dr *drive) doneRepo(x *usecase.Repo) {
	dr.catMu.Lock()
	defer dr.catMu.Unlock()
	if x != dr.cat {
		x.Close() // replaced or closed meanwhile: this query was its last user
		return
	}
	dr.catInUse--
	dr.catUsed = time.Now()
	if dr.catTimer == nil {
		dr.catTimer = time.AfterFunc(catIdle, dr.closeIdleCatalog)
	} else {
		dr.catTimer.Reset(catIdle)
	}
}

func (dr *drive) closeIdleCatalog() {
	dr.catMu.Lock()
	defer dr.catMu.Unlock()
	if dr.cat == nil || dr.catInUse > 0 {
		return
	}
	if idle := time.Since(dr.catUsed); idle < catIdle {
		dr.catTimer.Reset(catIdle - idle)
		return
	}
	dr.cat.Close()
	dr.cat, dr.catMP = nil, ""
}

// closeCatalog closes the kept catalog now (before an unmount, which its
// open files would make fail, and when the drive is gone); a query still
// running closes it when it ends.
func (dr *drive) closeCatalog() {
	dr.catMu.Lock()
	defer dr.catMu.Unlock()
	if dr.cat != nil && dr.catInUse == 0 {
		dr.cat.Close()
	}
	dr.cat, dr.catMP, dr.catInUse = nil, "", 0
}

// unusableReason says why a filesystem cannot hold snapshots, before
// anything is mounted or written; "" when it may (the probe at enrolment
// has the last word).
func unusableReason(d drives.Drive) string {
	switch strings.ToLower(d.FSType) {
	case "vfat", "fat", "msdos", "exfat":
		return fmt.Sprintf("%s drives cannot hold hardlinks, which every snapshot needs: reformat it as ext4 (or xfs, btrfs) to use it with Keepsake", strings.ToUpper(d.FSType))
	case "ntfs", "ntfs3":
		return "NTFS drives do not keep Linux owners and permissions: reformat it as ext4 (or xfs, btrfs) to use it with Keepsake"
	case "crypto_luks":
		return "the drive is encrypted and locked: unlock it first"
	case "iso9660", "squashfs", "udf":
		return "the filesystem is read-only"
	}
	if d.ReadOnly {
		return "the drive is read-only"
	}
	return ""
}

// updateDrive creates or refreshes the object of a drive.
func (d *Daemon) updateDrive(info drives.Drive, plugged bool) *drive {
	d.mu.Lock()
	dr, ok := d.drives[info.UUID]
	d.mu.Unlock()
	if !ok {
		dr = &drive{d: d, info: info}
		obj, err := d.reg.add(dbusapi.DrivePath(info.UUID), dbusapi.DriveInterface, &driveHandler{d: d, uuid: info.UUID}, dr.props())
		if err != nil {
			d.logf("drive %s: %v", info.UUID, err)
			return nil
		}
		dr.obj = obj
		d.mu.Lock()
		d.drives[info.UUID] = dr
		d.mu.Unlock()
		d.refreshLists()
	}
	dr.mu.Lock()
	// A late "unmounted" event must not hide the mount the service holds.
	if info.Present && info.MountPoint == "" && dr.ourMount != "" {
		info.MountPoint = dr.ourMount
	}
	dr.info = info
	if plugged {
		dr.justAdded = true
	}
	dr.mu.Unlock()
	if info.Present {
		d.store.UpdateDrive(info.UUID, func(s *state.DriveState) {
			s.LastSeen = time.Now()
			s.Label = info.Label
			s.FSType = info.FSType
		})
	}
	dr.publish()
	return dr
}

func (dr *drive) props() map[string]any {
	dr.mu.Lock()
	info := dr.info
	dr.mu.Unlock()
	ds := dr.d.store.Drive(info.UUID)
	free := int64(-1)
	if ds.Enrolled && ds.Size > 0 {
		free = ds.Free // as last seen
	}
	if info.MountPoint != "" {
		if f, _, err := drives.Free(info.MountPoint); err == nil {
			free = f
		}
	}
	warning := ""
	if !info.Present && ds.Enrolled && !ds.LastSeen.IsZero() {
		d := dr.d.missingDays()
		if d > 0 && time.Since(ds.LastSeen) > time.Duration(d)*24*time.Hour {
			warning = fmt.Sprintf("not seen for %d days: plug it in so your files are backed up", int(time.Since(ds.LastSeen).Hours()/24))
		}
	}
	lastSeen := ds.LastSeen
	if info.Present {
		lastSeen = time.Now()
	}
	encrypted, locked := dr.encryption(info, ds)
	return map[string]any{
		"Encrypted": encrypted, "Locked": locked, "KeyRemembered": dr.d.keys.Has(info.UUID), "Encryptable": dr.encryptable(info),
		"UUID": info.UUID, "Label": info.Label, "Filesystem": info.FSType, "Device": info.Device,
		"Size": uint64(max(info.Size, 0)), "Free": free, "Present": info.Present, "MountPoint": info.MountPoint,
		"Enrolled": ds.Enrolled, "Unusable": unusableReason(info), "LastSeen": usec(lastSeen), "Warning": warning,
	}
}

func (dr *drive) publish() {
	for k, v := range dr.props() {
		dr.obj.Set(k, v)
	}
}

func (d *Daemon) missingDays() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg.MissingDriveDays
}

func (d *Daemon) lookupDrive(uuid string) (*drive, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dr, ok := d.drives[uuid]
	return dr, ok
}

func (d *Daemon) drivePresent(uuid string) bool {
	dr, ok := d.lookupDrive(uuid)
	if !ok {
		return false
	}
	dr.mu.Lock()
	defer dr.mu.Unlock()
	return dr.info.Present
}

func (d *Daemon) driveFree(uuid string) int64 {
	dr, ok := d.lookupDrive(uuid)
	if !ok {
		return -1
	}
	dr.mu.Lock()
	mp := dr.info.MountPoint
	dr.mu.Unlock()
	if mp != "" {
		if f, _, err := drives.Free(mp); err == nil {
			return f
		}
	}
	if ds := d.store.Drive(uuid); ds.Size > 0 {
		return ds.Free // as last seen: the drive is unmounted or away
	}
	return -1
}

// driveEvent is the drive monitor's callback.
func (d *Daemon) driveEvent(info drives.Drive, ev drives.Event) {
	switch ev {
	case drives.Removed:
		info.Present = false
		info.MountPoint = ""
		dr, ok := d.lookupDrive(info.UUID)
		if !ok {
			return
		}
		dr.gone()
		if d.forgettable(info.UUID) {
			d.forgetDrive(info.UUID)
		} else {
			d.updateDrive(info, false)
		}
	case drives.Added:
		dr := d.updateDrive(info, true)
		d.logf("drive %s (%s) plugged in", info.UUID, info.Label)
		if dr != nil && info.MountPoint != "" {
			dr.autoUnlock(info.MountPoint)
			dr.refreshEncryption(info.MountPoint)
			dr.publish()
		}
	default:
		dr := d.updateDrive(info, false)
		if dr != nil && ev == drives.Mounted && info.MountPoint != "" {
			// Mounted by the desktop (Files, udisks): with a remembered
			// key it opens unlocked there too.
			dr.autoUnlock(info.MountPoint)
			dr.refreshEncryption(info.MountPoint)
			dr.publish()
		}
	}
	d.publishProfiles()
	d.poke()
}

// forgettable says whether a drive is only one the service saw: not
// enrolled, not encrypted, no key kept for it, no profile's drive. Such a
// drive is not listed once it is gone: every USB stick ever plugged in
// would otherwise stay in the list as "not connected".
func (d *Daemon) forgettable(uuid string) bool {
	ds := d.store.Drive(uuid)
	if ds.Enrolled || ds.Encrypted || d.keys.Has(uuid) {
		return false
	}
	for _, p := range d.profileList() {
		p.mu.Lock()
		mine := p.cfg.Drive == uuid
		p.mu.Unlock()
		if mine {
			return false
		}
	}
	return true
}

// forgetDrive removes a gone, forgettable drive's object and state.
func (d *Daemon) forgetDrive(uuid string) {
	d.mu.Lock()
	delete(d.drives, uuid)
	d.mu.Unlock()
	d.reg.remove(dbusapi.DrivePath(uuid))
	if err := d.store.ForgetDrive(uuid); err != nil {
		d.logf("drive %s: %v", uuid, err)
	}
	d.refreshLists()
}

// gone handles a drive pulled out: jobs using it stop with DeviceGone, and
// what the service mounted is detached (the device is not coming back).
func (dr *drive) gone() {
	dr.mu.Lock()
	mp := dr.ourMount
	dr.ourMount = ""
	uuid := dr.info.UUID
	dr.users = 0
	dr.gen++
	dr.hold = nil
	dr.encDev = ""
	dr.mu.Unlock()
	dr.closeCatalog()
	d := dr.d
	d.mu.Lock()
	var victims []*job
	for _, p := range d.profiles {
		p.mu.Lock()
		if p.job != nil && !p.job.finished() && p.cfg.Drive == uuid {
			victims = append(victims, p.job)
		}
		p.mu.Unlock()
	}
	d.mu.Unlock()
	for _, j := range victims {
		j.cancel(kerr.New(kerr.DeviceGone, "the backup drive was removed during the %s: nothing half-done is kept; plug it in again to finish", j.op))
	}
	if mp != "" {
		// MNT_DETACH: the block device is gone; a plain unmount could
		// block on writes that can never finish.
		if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil && err != unix.EINVAL {
			d.logf("detach %s: %v", mp, err)
		}
		os.Remove(mp)
	}
}

// acquire mounts the drive if nobody has and counts a user; release
// undoes it: the last user syncs, unmounts what the service mounted and
// signals SafeToRemove. opMu serialises the two, so a job never gets a
// mount point that is being unmounted.
func (dr *drive) acquire() (string, func(), error) {
	dr.opMu.Lock()
	defer dr.opMu.Unlock()
	dr.mu.Lock()
	info := dr.info
	dr.mu.Unlock()
	if !info.Present {
		return "", nil, kerr.New(kerr.DriveNotFound, "the backup drive %s is not connected", dr.name())
	}
	if info.MountPoint != "" && !drives.MountedAt(info.MountPoint) {
		// Unmounted a moment ago (the drive monitor's report of a
		// mount can arrive after the unmount): mount it again.
		dr.mu.Lock()
		if dr.info.MountPoint == info.MountPoint {
			dr.info.MountPoint = ""
		}
		if dr.ourMount == info.MountPoint {
			dr.ourMount = ""
		}
		dr.mu.Unlock()
		info.MountPoint = ""
	}
	if info.MountPoint == "" {
		if r := unusableReason(info); r != "" {
			return "", nil, kerr.New(kerr.UnsupportedFilesystem, "%s: %s", dr.name(), r)
		}
		mp, err := drives.Mount(info, dr.d.opts.RunDir)
		if err != nil {
			return "", nil, err
		}
		dr.mu.Lock()
		dr.info.MountPoint = mp
		dr.ourMount = mp
		dr.mu.Unlock()
		info.MountPoint = mp
	} else if info.MountPoint == filepath.Join(dr.d.opts.RunDir, info.UUID) {
		// Mounted where the service mounts it, by an earlier run that
		// was killed or crashed: the service's to unmount after use.
		dr.mu.Lock()
		dr.ourMount = info.MountPoint
		dr.mu.Unlock()
	}
	// An encrypted drive whose key the service remembers is unlocked
	// before anyone uses it: backups then run with nobody there.
	dr.autoUnlock(info.MountPoint)
	dr.refreshEncryption(info.MountPoint)
	dr.mu.Lock()
	dr.users++
	gen := dr.gen
	dr.mu.Unlock()
	var once sync.Once
	return info.MountPoint, func() { once.Do(func() { dr.release(gen) }) }, nil
}

func (dr *drive) release(gen int) {
	dr.opMu.Lock()
	defer dr.opMu.Unlock()
	dr.mu.Lock()
	if gen != dr.gen {
		dr.mu.Unlock()
		return
	}
	dr.users--
	last := dr.users == 0
	mp, ours, uuid := dr.info.MountPoint, dr.ourMount, dr.info.UUID
	dr.mu.Unlock()
	if !last {
		return
	}
	dr.closeCatalog()
	if mp == "" {
		return
	}
	if f, err := os.Open(mp); err == nil {
		unix.Syncfs(int(f.Fd()))
		f.Close()
	}
	if free, size, err := drives.Free(mp); err == nil {
		dr.d.store.UpdateDrive(uuid, func(s *state.DriveState) { s.Free, s.Size = free, size })
	}
	if ours != "" {
		if err := drives.Unmount(ours, dr.d.opts.RunDir); err != nil {
			if usecase.DeviceGone(ours) == nil {
				dr.d.logf("unmount %s: %v", ours, err)
				return
			}
			// The device stopped answering: nothing can be flushed to it,
			// so detach the mount instead of leaving it behind.
			if err := unix.Unmount(ours, unix.MNT_DETACH); err != nil && err != unix.EINVAL {
				dr.d.logf("detach %s: %v", ours, err)
				return
			}
			os.Remove(ours)
		}
		dr.mu.Lock()
		dr.ourMount = ""
		if dr.info.MountPoint == ours {
			dr.info.MountPoint = ""
		}
		dr.mu.Unlock()
	}
	dr.publish()
	dr.d.conn.Emit(dr.obj.path, dbusapi.DriveInterface+".SafeToRemove")
}

// unmountOurs unmounts what the service mounted, whoever still uses it
// (the service is stopping).
func (dr *drive) unmountOurs() error {
	dr.opMu.Lock()
	defer dr.opMu.Unlock()
	dr.mu.Lock()
	ours := dr.ourMount
	dr.ourMount = ""
	dr.users = 0
	dr.gen++
	dr.hold = nil
	dr.mu.Unlock()
	dr.closeCatalog()
	if ours == "" {
		return nil
	}
	if err := drives.Unmount(ours, dr.d.opts.RunDir); err != nil {
		dr.d.logf("unmount %s: %v", ours, err)
		dr.mu.Lock()
		dr.ourMount = ours // still ours to unmount later
		dr.mu.Unlock()
		return err
	}
	return nil
}

// name is how messages call the drive. Caller must not hold dr.mu.
func (dr *drive) name() string {
	dr.mu.Lock()
	label, uuid := dr.info.Label, dr.info.UUID
	dr.mu.Unlock()
	if label != "" {
		return fmt.Sprintf("%q (%s)", label, uuid)
	}
	return uuid
}

// driveHandler carries the Drive interface's methods.
type driveHandler struct {
	d    *Daemon
	uuid string
}

// Enroll writes a repository to the drive (or adopts the one there).
func (h *driveHandler) Enroll(sender dbus.Sender, options map[string]dbus.Variant) *dbus.Error {
	d := h.d
	err := func() error {
		c, err := d.identify(sender)
		if err != nil {
			return err
		}
		if err := checkOptions(options, "profile"); err != nil {
			return err
		}
		var profilePath dbus.ObjectPath
		if v, ok := options["profile"]; ok {
			pp, ok := v.Value().(dbus.ObjectPath)
			if !ok {
				return kerr.New(kerr.InvalidArgs, "option \"profile\" must be an object path (o)")
			}
			profilePath = pp
		}
		if err := d.authorize(c, dbusapi.ActionConfigure, options); err != nil {
			return err
		}
		var prof *profile
		if profilePath != "" {
			for _, p := range d.profileList() {
				if p.obj.path == profilePath {
					prof = p
				}
			}
			if prof == nil {
				return kerr.New(kerr.NotFound, "no profile at %s", profilePath)
			}
		}
		return d.enroll(c, h.uuid, prof)
	}()
	return d.callErr("Enroll", err)
}

// enroll writes a repository to the drive with filesystem uuid (or adopts
// the one there) and, with prof, makes it that profile's drive: Enroll's
// work, and the last step of preparing a drive.
func (d *Daemon) enroll(c caller, uuid string, prof *profile) error {
	dr, ok := d.lookupDrive(uuid)
	if !ok {
		return kerr.New(kerr.DriveNotFound, "no drive %s", uuid)
	}
	dr.mu.Lock()
	info := dr.info
	dr.mu.Unlock()
	if info.MountPoint == "" {
		// Refuse by type first: mounting a FAT drive only to be told
		// it cannot keep hardlinks helps nobody.
		if r := unusableReason(info); r != "" {
			return kerr.New(kerr.UnsupportedFilesystem, "cannot enroll %s: %s", dr.name(), r)
		}
	}
	mp, release, err := dr.acquire()
	if err != nil {
		return err
	}
	defer release()
	if _, err := usecase.OpenDrive(mp); err != nil {
		if !kerr.Is(err, kerr.NotARepository) {
			return err
		}
		if _, err := usecase.InitDrive(mp, c.uc(false).Actor()); err != nil {
			return err
		}
		d.logf("drive %s enrolled by %s: repository written to %s", uuid, c.name, filepath.Join(mp, "Keepsake"))
	}
	d.store.UpdateDrive(uuid, func(s *state.DriveState) { s.Enrolled = true })
	if prof != nil {
		if err := d.setProfileDrive(prof, uuid); err != nil {
			return err
		}
	}
	dr.publish()
	return nil
}

// Unmount unmounts a drive the service mounted.
func (h *driveHandler) Unmount(sender dbus.Sender, options map[string]dbus.Variant) *dbus.Error {
	d := h.d
	err := func() error {
		_, err := d.admit(sender, options, dbusapi.ActionBackup)
		if err != nil {
			return err
		}
		dr, ok := d.lookupDrive(h.uuid)
		if !ok {
			return kerr.New(kerr.DriveNotFound, "no drive %s", h.uuid)
		}
		dr.mu.Lock()
		ours := dr.ourMount
		dr.mu.Unlock()
		if ours == "" {
			return kerr.New(kerr.InvalidArgs, "Keepsake did not mount this drive: unmount it where it was mounted")
		}
		if j := d.jobOnDrive(h.uuid); j != nil {
			return kerr.New(kerr.Busy, "the drive is in use by a running %s: wait for it or cancel it", j.op)
		}
		// Only browsing keeps it mounted: let go now.
		if err := dr.unmountOurs(); err != nil {
			return err
		}
		dr.publish()
		d.conn.Emit(dr.obj.path, dbusapi.DriveInterface+".SafeToRemove")
		return nil
	}()
	return d.callErr("Unmount", err)
}

// jobOnDrive is a running job (backup, restore, prune…) of a profile
// whose drive this is.
func (d *Daemon) jobOnDrive(uuid string) *job {
	for _, j := range d.runningJobs() {
		if p, err := d.profile(j.profile); err == nil && p.config().Drive == uuid {
			return j
		}
	}
	return nil
}

func (d *Daemon) profileList() []*profile {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*profile, 0, len(d.profiles))
	for _, p := range d.profiles {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].obj.path < out[j].obj.path })
	return out
}

func (d *Daemon) publishProfiles() {
	for _, p := range d.profileList() {
		p.publish()
	}
	d.writeStatus()
}
