package daemon

import (
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/kerr"
)

// preparing holds the devices a prepare-drive job is erasing: a second
// call for the same device is Busy rather than a second mkfs racing the
// first.
var preparing sync.Map // device path -> struct{}

// newDriveWait is how long the enrolling step waits for udev to report
// the new filesystem (the drive monitor makes its Drive object).
const newDriveWait = 30 * time.Second

// DescribeDevice says what erasing a device would destroy. It needs
// configure: it names every filesystem on the device and mounts them
// read-only to look for a repository.
func (h *managerHandler) DescribeDevice(sender dbus.Sender, device string, options map[string]dbus.Variant) (map[string]dbus.Variant, *dbus.Error) {
	d := h.d
	info, err := func() (api.DeviceInfo, error) {
		c, err := d.identify(sender)
		if err != nil {
			return api.DeviceInfo{}, err
		}
		if err := api.FromOptions(options, &api.Auth{}); err != nil {
			return api.DeviceInfo{}, err
		}
		if err := d.authorize(c, dbusapi.ActionConfigure, options); err != nil {
			return api.DeviceInfo{}, err
		}
		return usecase.DescribeDevice(device)
	}()
	if err != nil {
		return nil, d.callErr("DescribeDevice", err)
	}
	info.Label = busText(info.Label)
	for i, p := range info.Partitions {
		info.Partitions[i] = busText(p)
	}
	return api.ToDict(info), nil
}

// PrepareDrive erases a drive, makes a filesystem and enrolls it, as a
// job. The arguments are checked, then polkit asked (prepare-drive: an
// administrator every time), then the device checked against the
// confirmation inside the job, right before wipefs.
func (h *managerHandler) PrepareDrive(sender dbus.Sender, device string, options map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
	d := h.d
	path, err := func() (dbus.ObjectPath, error) {
		c, err := d.identify(sender)
		if err != nil {
			return "", err
		}
		var o api.PrepareOptions
		if err := api.FromOptions(options, &o); err != nil {
			return "", err
		}
		q, err := usecase.PrepareRequest{Device: device, Filesystem: o.Filesystem, Label: o.Label, Confirm: o.Confirm}.Check()
		if err != nil {
			return "", err
		}
		if q.Confirm == "" {
			return "", kerr.New(kerr.InvalidArgs, "option confirm is missing: it must be the token DescribeDevice gave for %s", device)
		}
		if err := d.authorize(c, dbusapi.ActionPrepareDrive, options); err != nil {
			return "", err
		}
		if _, busy := preparing.LoadOrStore(q.Device, struct{}{}); busy {
			return "", kerr.New(kerr.Busy, "%s is being prepared already", q.Device)
		}
		j, err := d.startJob("prepare-drive", "", "manual", c.uid, func(j *job) (string, error) {
			defer preparing.Delete(q.Device)
			return d.runPrepare(j, c, q, o.Enroll == nil || *o.Enroll)
		})
		if err != nil {
			preparing.Delete(q.Device)
			return "", err
		}
		return j.obj.path, nil
	}()
	if err != nil {
		return dbusapi.NoPath, d.callErr("PrepareDrive", err)
	}
	return path, nil
}

// runPrepare is the body of a prepare-drive job.
// Without enroll it stops once the drive monitor has the new filesystem,
// so that the caller can enroll it as it likes (EnrollEncrypted).
func (d *Daemon) runPrepare(j *job, c caller, q usecase.PrepareRequest, enroll bool) (string, error) {
	res, err := usecase.PrepareDevice(j.ctx, q, j.phase)
	if err != nil {
		return "", j.causeOf(err)
	}
	d.logf("%s erased by %s: new %s filesystem %s labelled %q", res.Device, c.name, res.Filesystem, res.UUID, res.Label)
	// From here the old contents are gone: cancelling would only leave
	// an empty drive unenrolled.
	j.obj.Set("Cancelable", false)
	if enroll {
		j.phase("enrolling")
	}
	deadline := time.Now().Add(newDriveWait)
	for !d.drivePresent(res.UUID) {
		if time.Now().After(deadline) {
			j.setResult(api.ToDict(res))
			return "", kerr.New(kerr.DriveNotFound, "%s now holds %s filesystem %s, but udev did not report it within %v: enroll it when it shows up (keepsakectl enroll %s)",
				res.Device, res.Filesystem, res.UUID, newDriveWait, res.UUID)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !enroll {
		j.setResult(api.ToDict(res))
		return res.UUID, nil
	}
	if err := d.enroll(c, res.UUID, nil); err != nil {
		j.setResult(api.ToDict(res))
		return "", err
	}
	res.Enrolled = true
	j.setResult(api.ToDict(res))
	return res.UUID, nil
}
