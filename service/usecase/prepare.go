package usecase

import (
	"context"
	"fmt"
	"strings"

	"github.com/keepsake/keepsake/service/drives"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/kerr"
)

// Preparing a drive: erasing a whole drive and making it a backup drive.
// It takes two steps so that nothing is erased that the person has not
// been shown: DescribeDevice says what is on the device, with a token
// naming the device as it is; PrepareDevice erases it only when given
// that token and the device still matches it (a drive swapped at the same
// /dev name, or changed since, has another). Both refuse the same
// devices (drives.Inspect): the system's disk, one in use, a partition,
// an internal disk (a loop device is allowed: it is only ever named
// explicitly).
//
// Enrolling the new filesystem (writing the repository) is the front
// end's last step, because it needs the drive mounted where the front
// end mounts drives: keepsaked enrolls it as Drive.Enroll does, within
// the same job.

// DescribeDevice describes what erasing device would destroy, or refuses.
func DescribeDevice(device string) (api.DeviceInfo, error) {
	c, err := drives.Inspect(device)
	if err != nil {
		return api.DeviceInfo{}, err
	}
	return deviceInfo(c), nil
}

func deviceInfo(c drives.Candidate) api.DeviceInfo {
	d := api.DeviceInfo{Device: c.Device, Size: uint64(max(c.Size, 0)), Model: c.Model, Removable: c.Removable,
		Loop: c.Loop, BackingFile: c.BackingFile, Filesystem: c.FSType, Label: c.Label, UUID: c.UUID,
		PartitionTable: c.PTType, Partitions: []string{}, Repository: c.Repository, Token: c.Token()}
	for _, p := range c.Partitions {
		d.Partitions = append(d.Partitions, strings.TrimSpace(fmt.Sprintf("%s %d %s %s", p.Name, p.Size, p.FSType, p.Label)))
	}
	return d
}

// PrepareRequest is what to make of a device.
type PrepareRequest struct {
	Device string
	// Filesystem is btrfs ("" means btrfs) or ext4.
	Filesystem string
	// Label of the new filesystem ("" means "Keepsake").
	Label string
	// Confirm is DescribeDevice's Token.
	Confirm string
}

// Check fills in the defaults and refuses a request that cannot be
// carried out whatever the device (InvalidArgs): a front end calls it
// before asking for a password or a confirmation.
func (q PrepareRequest) Check() (PrepareRequest, error) {
	if q.Device == "" {
		return q, kerr.New(kerr.InvalidArgs, "no device given")
	}
	switch q.Filesystem {
	case "":
		q.Filesystem = drives.Btrfs
	case drives.Btrfs, drives.Ext4:
	default:
		return q, kerr.New(kerr.InvalidArgs, "filesystem %q: a backup drive is made btrfs (the default) or ext4", q.Filesystem)
	}
	if q.Label == "" {
		q.Label = drives.DefaultLabel
	}
	if err := drives.CheckLabel(q.Filesystem, q.Label); err != nil {
		return q, err
	}
	return q, nil
}

// PrepareDevice erases q.Device and makes the new filesystem, after
// checking the device again and matching it against q.Confirm. phase is
// told "erasing" and "making the filesystem". The result names the new
// filesystem; Enrolled is for the caller to set.
func PrepareDevice(ctx context.Context, q PrepareRequest, phase func(string)) (api.PrepareResult, error) {
	q, err := q.Check()
	if err != nil {
		return api.PrepareResult{}, err
	}
	if q.Confirm == "" {
		return api.PrepareResult{}, kerr.New(kerr.InvalidArgs, "no confirmation: describe %s first and confirm what will be erased", q.Device)
	}
	c, err := drives.Inspect(q.Device)
	if err != nil {
		return api.PrepareResult{}, err
	}
	if c.Token() != q.Confirm {
		return api.PrepareResult{}, kerr.New(kerr.ConfirmationStale,
			"%s is not the device that was confirmed (another drive, or it changed since it was shown): nothing was erased; look at it again", q.Device)
	}
	uuid, err := drives.Erase(ctx, c, q.Filesystem, q.Label, phase)
	if err != nil {
		return api.PrepareResult{}, err
	}
	return api.PrepareResult{Device: c.Device, UUID: uuid, Label: q.Label, Filesystem: q.Filesystem}, nil
}
