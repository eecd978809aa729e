package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces path with data at mode perm (umask does not apply). It
// writes a temporary file beside path, named "."+base+".tmp-*" so that an
// owner can find and remove one a crash left behind, syncs it, renames it
// over path and syncs the directory, since the rename is durable only once
// the directory is on disk. On failure the temporary file is removed and
// path is as it was (or, if only the directory sync failed, already new).
// Errors are the os package's, which name the file; callers add context.
func Write(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
