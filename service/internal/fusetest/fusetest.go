package fusetest

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// File is one file of the filesystem's root folder.
type File struct {
	Name  string
	Data  []byte
	Mtime time.Time
	// ReadErr fails every read; OpenErr fails every open while lookups
	// and stats still find the file (it "vanished" after the listing).
	ReadErr, OpenErr syscall.Errno
}

// FS is a mounted test filesystem. Its files can be changed, and their
// faults turned on and off, between backups.
type FS struct {
	Mount string
	mu    sync.Mutex
	files map[string]*File
	// Faults counts the errors the filesystem actually returned: the
	// proof that a fault landed during the operation under test.
	Faults atomic.Int64
}

// Mount mounts a filesystem holding files at a new folder and unmounts it
// when the test ends. It needs root and /dev/fuse; under CI=true their
// absence fails the test.
func Mount(t testing.TB, files []File) *FS {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root to mount a FUSE filesystem, and CI runs it: failing instead of skipping")
		}
		t.Skip("needs root: mounting a FUSE filesystem")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no /dev/fuse: %v", err)
		}
		t.Skipf("no /dev/fuse: %v", err)
	}
	f := &FS{Mount: t.TempDir(), files: map[string]*File{}}
	for i := range files {
		c := files[i]
		f.files[c.Name] = &c
	}
	zero := time.Duration(0)
	srv, err := fs.Mount(f.Mount, &root{fs: f}, &fs.Options{
		// Nothing cached: a change between backups is seen at once.
		EntryTimeout: &zero, AttrTimeout: &zero, NegativeTimeout: &zero,
		MountOptions: fuse.MountOptions{FsName: "keepsake-test", Name: "keepsaketest", DirectMount: true, AllowOther: true},
	})
	if err != nil {
		t.Fatalf("mount the test FUSE filesystem: %v", err)
	}
	t.Cleanup(func() {
		if srv.Unmount() != nil {
			exec.Command("umount", "-l", f.Mount).Run()
		}
	})
	return f
}

// Set replaces or adds a file.
func (f *FS) Set(c File) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[c.Name] = &c
}

func (f *FS) get(name string) (File, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.files[name]
	if !ok {
		return File{}, false
	}
	return *c, true
}

type root struct {
	fs.Inode
	fs *FS
}

var (
	_ fs.NodeLookuper  = (*root)(nil)
	_ fs.NodeReaddirer = (*root)(nil)
	_ fs.NodeGetattrer = (*root)(nil)
)

func (r *root) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFDIR | 0o755
	return 0
}

func (r *root) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	r.fs.mu.Lock()
	defer r.fs.mu.Unlock()
	var ents []fuse.DirEntry
	for name := range r.fs.files {
		ents = append(ents, fuse.DirEntry{Name: name, Mode: syscall.S_IFREG})
	}
	return fs.NewListDirStream(ents), 0
}

func (r *root) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	c, ok := r.fs.get(name)
	if !ok {
		return nil, syscall.ENOENT
	}
	fillAttr(c, &out.Attr)
	ch := r.GetChild(name)
	if ch == nil {
		ch = r.NewInode(ctx, &file{fs: r.fs, name: name}, fs.StableAttr{Mode: syscall.S_IFREG})
	}
	return ch, 0
}

func fillAttr(c File, a *fuse.Attr) {
	a.Mode = syscall.S_IFREG | 0o644
	a.Size = uint64(len(c.Data))
	a.Nlink = 1
	a.SetTimes(nil, &c.Mtime, &c.Mtime)
}

type file struct {
	fs.Inode
	fs   *FS
	name string
}

var (
	_ fs.NodeGetattrer = (*file)(nil)
	_ fs.NodeOpener    = (*file)(nil)
	_ fs.NodeReader    = (*file)(nil)
)

func (n *file) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	c, ok := n.fs.get(n.name)
	if !ok {
		return syscall.ENOENT
	}
	fillAttr(c, &out.Attr)
	return 0
}

func (n *file) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	c, ok := n.fs.get(n.name)
	switch {
	case !ok:
		return nil, 0, syscall.ENOENT
	case c.OpenErr != 0:
		n.fs.Faults.Add(1)
		return nil, 0, c.OpenErr
	}
	return nil, fuse.FOPEN_DIRECT_IO, 0
}

func (n *file) Read(ctx context.Context, fh fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	c, ok := n.fs.get(n.name)
	switch {
	case !ok:
		return nil, syscall.ENOENT
	case c.ReadErr != 0:
		n.fs.Faults.Add(1)
		return nil, c.ReadErr
	}
	if off >= int64(len(c.Data)) {
		return fuse.ReadResultData(nil), 0
	}
	end := min(off+int64(len(dest)), int64(len(c.Data)))
	return fuse.ReadResultData(c.Data[off:end]), 0
}
