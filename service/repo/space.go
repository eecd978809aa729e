package repo

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Space reports the bytes available to unprivileged writers and the total
// size of the filesystem holding dir. Every "how much room is there"
// question (prune --free, min-free, the drive's Free property) asks it, so
// they cannot disagree.
func Space(dir string) (free, size int64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, 0, fmt.Errorf("free space of %s: %w", dir, err)
	}
	// Block counts are in fragment-size units; f_frsize is 0 on old kernels.
	unit := st.Frsize
	if unit == 0 {
		unit = st.Bsize
	}
	return int64(st.Bavail) * unit, int64(st.Blocks) * unit, nil
}
