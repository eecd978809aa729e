package flatpak

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/keepsake/keepsake/shared/kerr"
)

// USBCopy is what CreateUSB wrote.
type USBCopy struct {
	Size    int64    // bytes the copy takes in its directory
	Refs    []string // the refs copied (their runtimes come along)
	Skipped []Result // refs not copied, with the reason
}

// copyable splits an inventory's refs into those `flatpak create-usb` can
// copy, which need a remote with a collection id, and the others.
func copyable(inv Inventory) (refs []Ref, skipped []Result) {
	coll := map[string]bool{}
	for _, rm := range inv.Remotes {
		coll[rm.Name] = rm.CollectionID != ""
	}
	for _, ref := range inv.Refs {
		if coll[ref.Origin] {
			refs = append(refs, ref)
		} else {
			skipped = append(skipped, Result{Kind: ref.Kind, Ref: ref.Ref, Outcome: OutcomeFailed,
				Message: fmt.Sprintf("its remote %s has no collection id: flatpak cannot copy it for offline use", ref.Origin)})
		}
	}
	return refs, skipped
}

// EstimateUSB is about how much an offline copy of the inventory's apps
// and runtimes takes: the installed size of those CreateUSB can copy (the
// copy is compressed, so usually smaller).
func EstimateUSB(inv Inventory) int64 {
	refs, _ := copyable(inv)
	var n int64
	for _, ref := range refs {
		n += ref.InstalledSize
	}
	return n
}

// CreateUSB writes an offline copy of the inventory's apps and runtimes
// into dir with `flatpak create-usb` (an OSTree repository in
// dir/.ostree/repo that Restore's SideloadRepo installs from), updating a
// copy already there. inv should be a fresh Collect: only installed refs
// can be copied. flatpak runs as the installation's owner, never as root
// on a user's installation: dir is created if needed and, for a user's
// installation, given to that user. Refs that cannot be copied are in
// Skipped with the reason: those whose remote has no collection id, and
// (flatpak 1.14 copies an app only with its runtime from the same
// installation) a user's app running on a system-wide runtime.
func CreateUSB(ctx context.Context, inv Inventory, dir string, opts Options) (USBCopy, error) {
	var out USBCopy
	inst := inv.Installation
	if !filepath.IsAbs(dir) {
		return out, kerr.New(kerr.InvalidArgs, "offline copy directory %q is not absolute", dir)
	}
	if err := checkInventory(inv); err != nil {
		return out, kerr.Wrap(kerr.InvalidArgs, err, "cannot copy this Flatpak inventory")
	}
	r, err := newRunner(inst, opts)
	if err != nil {
		return out, err
	}
	refs, skipped := copyable(inv)
	out.Skipped = skipped
	if len(refs) == 0 {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return out, fmt.Errorf("create %s: %w", dir, err)
	}
	if r.cred != nil {
		if err := os.Lchown(dir, int(inst.UID), int(inst.GID)); err != nil {
			return out, fmt.Errorf("give %s to %s: %w", dir, inst.User, err)
		}
	}
	args := []string{"create-usb", "--", dir}
	for _, ref := range refs {
		args = append(args, ref.Ref)
	}
	if _, err := r.flatpak(ctx, args...); err == nil {
		for _, ref := range refs {
			out.Refs = append(out.Refs, ref.Ref)
		}
	} else {
		if kerr.Is(err, kerr.Cancelled) {
			return out, err
		}
		// One bad ref fails the whole command: copy one at a time to
		// keep the others and say which failed.
		for _, ref := range refs {
			if _, err := r.flatpak(ctx, "create-usb", "--", dir, ref.Ref); err != nil {
				if kerr.Is(err, kerr.Cancelled) {
					return out, err
				}
				out.Skipped = append(out.Skipped, Result{Kind: ref.Kind, Ref: ref.Ref, Outcome: OutcomeFailed, Message: err.Error()})
				continue
			}
			out.Refs = append(out.Refs, ref.Ref)
		}
	}
	out.Size, err = diskUsage(dir)
	if err != nil {
		return out, err
	}
	return out, nil
}

// diskUsage sums the sizes of the regular files below dir, each inode
// once (OSTree hardlinks objects). Symlinks are not followed.
func diskUsage(dir string) (int64, error) {
	var n int64
	seen := map[[2]uint64]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			key := [2]uint64{uint64(st.Dev), st.Ino}
			if seen[key] {
				return nil
			}
			seen[key] = true
		}
		n += fi.Size()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("measure %s: %w", dir, err)
	}
	return n, nil
}
