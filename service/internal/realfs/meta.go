package realfs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
)

// DigestMeta is Digest with the metadata a restore must bring back: every
// path below root maps to its type and permission bits, owner and group,
// modification time to the nanosecond, and size and SHA-256 (symlinks:
// their target). Two equal results are trees with the same bytes and the
// same metadata; link counts, access times and the sizes of folders (which
// depend on the filesystem) are left out.
func DigestMeta(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%s %d:%d mtime=%d", fi.Mode(), st.Uid, st.Gid, st.Mtim.Nano())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			tgt, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + tgt
		case fi.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			h := sha256.New()
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" %d %s", fi.Size(), hex.EncodeToString(h.Sum(nil)))
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatalf("digest %s: %v", root, err)
	}
	return out
}

// DiffDigests lists, at most max of them, the paths whose entries differ
// between two digests, as "path: a | b" ("-" for a missing side).
func DiffDigests(a, b map[string]string, max int) []string {
	var diffs []string
	seen := map[string]bool{}
	for _, m := range []map[string]string{a, b} {
		for p := range m {
			if seen[p] {
				continue
			}
			seen[p] = true
			x, okA := a[p]
			y, okB := b[p]
			if okA && okB && x == y {
				continue
			}
			if !okA {
				x = "-"
			}
			if !okB {
				y = "-"
			}
			diffs = append(diffs, p+": "+x+" | "+y)
		}
	}
	sort.Strings(diffs)
	if n := len(diffs); n > max {
		diffs = append(diffs[:max], fmt.Sprintf("... and %d more", n-max))
	}
	return diffs
}
