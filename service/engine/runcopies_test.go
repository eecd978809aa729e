package engine

import (
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// TestNewCopiesStoredOnce: a file and its copy that both arrive in one
// backup (side by side, or in two folders) are stored once, as one inode
// on a hardlink drive and as one extent shared by two files on btrfs,
// with the bytes and metadata of each name; a copy whose mtime differs,
// or a file below shareMin, stays a file of its own.
func TestNewCopiesStoredOnce(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T) *fixture
	}{
		{"hardlinks", func(t *testing.T) *fixture { return newFixture(t) }},
		{"btrfs", func(t *testing.T) *fixture { f, _ := newBtrfsFixture(t); return f }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := c.setup(t)
			rng := rand.New(rand.NewPCG(5, 6))
			random := func(n int) string {
				b := make([]byte, n)
				for i := range b {
					b[i] = byte(rng.IntN(256))
				}
				return string(b)
			}
			mt := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
			put := func(rel, content string, mtime time.Time) {
				f.write(rel, content)
				must(t, os.Chtimes(f.path(rel), mtime, mtime))
			}
			big, other, touched, small := random(100<<10), random(100<<10), random(100<<10), random(1<<10)
			put("pair/a", big, mt)
			put("pair/b", big, mt) // cp -p beside it
			put("x/c", other, mt)
			put("y/c-copy", other, mt) // cp -p into another folder
			put("z/d", touched, mt)
			put("z/e", touched, mt.Add(time.Second)) // a plain cp: its own mtime
			put("small/1", small, mt)
			put("small/2", small, mt)

			r := f.backup(nil)
			if r.Copied != 6 {
				t.Errorf("copied %d files, want 6 (of 8: b and c-copy share a and c)", r.Copied)
			}
			for _, rel := range []string{"pair/a", "pair/b", "x/c", "y/c-copy", "z/d", "z/e", "small/1", "small/2"} {
				if fileSum(t, f.stored(r.Snapshot, rel)) != fileSum(t, f.path(rel)) {
					t.Errorf("%s: stored bytes differ", rel)
				}
				if d := mtimeOf(t, f.stored(r.Snapshot, rel)); !d.Equal(mtimeOf(t, f.path(rel))) {
					t.Errorf("%s: stored mtime %v, want %v", rel, d, mtimeOf(t, f.path(rel)))
				}
			}
			shared := func(a, b string) bool {
				if c.name == "btrfs" {
					return sharesExtent(t, f.stored(r.Snapshot, a), f.stored(r.Snapshot, b))
				}
				return inode(t, f.stored(r.Snapshot, a)) == inode(t, f.stored(r.Snapshot, b))
			}
			for _, p := range [][2]string{{"pair/a", "pair/b"}, {"x/c", "y/c-copy"}} {
				if !shared(p[0], p[1]) {
					t.Errorf("%s and %s are stored twice", p[0], p[1])
				}
			}
			if shared("z/d", "z/e") {
				t.Error("z/d and z/e share their data though their mtimes differ")
			}
			// Nothing set aside is left behind.
			if names, err := os.ReadDir(f.stored(r.Snapshot, "pair")); err != nil || len(names) != 2 {
				t.Errorf("the snapshot's pair folder holds %v (%v), want a and b", names, err)
			}
		})
	}
}

func mtimeOf(t *testing.T, p string) time.Time {
	t.Helper()
	fi, err := os.Lstat(p)
	must(t, err)
	return fi.ModTime()
}

// sharesExtent says whether the btrfs files a and b hold no data of their
// own: in a first snapshot, only each other's.
func sharesExtent(t *testing.T, a, b string) bool {
	t.Helper()
	return exclusiveBytes(t, a) == 0 && exclusiveBytes(t, b) == 0
}
