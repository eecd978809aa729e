package engine

import (
	"bytes"
	"errors"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// prehasher hashes the files of a pull while rsync is still receiving
// the others: a file is read moments after rsync wrote it, from the page
// cache, on a core rsync leaves idle, instead of after the transfer.
// What it learns is a hint the indexer checks: a sum counts only for
// the inode that was read, while it has the same size, mtime and ctime.
// It is kept by inode, in maps without pointers, which the garbage
// collector never scans: a big pull holds up to prehashMax sums until
// the indexer takes them.
//
// The paths come from the other computer's names, so a file is opened
// beneath the snapshot folder only, never through a symlink or "..", and
// only read.
type prehasher struct {
	root  int // the snapshot folder; owned by the caller
	names chan string
	done  chan struct{}
	// hasTwin says whether some stored version has this size and mtime
	// (then a stored copy may replace the file); nil: never asked.
	hasTwin func(size, mtimeNs int64) (bool, error)

	mu   sync.Mutex
	sums map[uint64]prehashed // by inode
	// writing are the contents whose first copy this run started
	// writing to the drive; a second copy is left in memory, as it is
	// likely replaced by a link to the first.
	writing map[[32]byte]struct{}
}

type prehashed struct {
	size         int64
	mtime, ctime unix.Timespec
	sum          [32]byte
	twins        twins
}

// twins is what the prehasher learned of a file's stored twins (stored
// versions of its size and mtime): the indexer asks the catalog only
// when it learned nothing.
type twins uint8

const (
	twinsUnknown twins = iota // not asked: an empty file, or not the first of its content
	// twinsNone: none; the file is likely kept as it came, and its
	// writing to the drive was started.
	twinsNone
	twinsStored // some; a stored copy may replace it
)

const (
	// prehashQueue is how many names may wait: a name that finds the
	// queue full is hashed by the indexer instead, so that reading
	// rsync's output never waits for the disk.
	prehashQueue = 4096
	// prehashMax bounds the memory the sums take on a huge first pull
	// (about 100 bytes each); the rest are hashed by the indexer.
	prehashMax = 200_000
)

// startPrehash starts hashing the files named to arrived below root (a
// descriptor of the snapshot folder); nil when the kernel cannot open a
// path safely beneath a folder (openat2, Linux 5.6).
//
// A file that has no stored twin (hasTwin), and whose content has not
// arrived before in this run, also starts on its way to the drive once
// read (from writebackMin bytes up): the disk writes it while the rest
// arrives, instead of in the commit's syncfs after the transfer (which
// is when plain rsync's data is written too: a pull writes its data
// once either way). A file that turns out to have a stored copy after
// all was written for nothing, which costs the drive's time, not its
// space.
func startPrehash(root int, hasTwin func(size, mtimeNs int64) (bool, error)) *prehasher {
	probe, err := unix.Openat2(root, ".", &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: prehashResolve})
	if err != nil {
		return nil
	}
	unix.Close(probe)
	p := &prehasher{root: root, names: make(chan string, prehashQueue), done: make(chan struct{}), hasTwin: hasTwin,
		sums: map[uint64]prehashed{}, writing: map[[32]byte]struct{}{}}
	go p.run()
	return p
}

const prehashResolve = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV

// arrived takes a path ("/home/u/x") of a file whose data arrived; it
// never blocks.
func (p *prehasher) arrived(path string) {
	select {
	case p.names <- path:
	default:
	}
}

// stop waits until every name taken so far is hashed (or given up).
func (p *prehasher) stop() {
	close(p.names)
	<-p.done
}

func (p *prehasher) run() {
	defer close(p.done)
	for path := range p.names {
		p.mu.Lock()
		full := len(p.sums) >= prehashMax
		p.mu.Unlock()
		if full {
			continue
		}
		rel := bytes.TrimLeft([]byte(path), "/")
		if len(rel) == 0 {
			continue
		}
		// rsync names a file as soon as its data is in and renames it
		// from its temporary name a moment later: a file not there yet
		// is tried again, briefly. EAGAIN is the kernel refusing a ".."
		// it could not prove stays beneath while some rename or mount
		// happened anywhere on the system: tried again too.
		var fd int
		var err error
		for try := 0; ; try++ {
			fd, err = unix.Openat2(p.root, string(rel), &unix.OpenHow{
				Flags: unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC | unix.O_NOCTTY, Resolve: prehashResolve})
			if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EAGAIN) || try == 20 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		if err != nil {
			continue
		}
		p.hash(fd)
		unix.Close(fd)
	}
}

func (p *prehasher) hash(fd int) {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return
	}
	sum, err := hashFd(fd, st.Size)
	if err != nil {
		return
	}
	var after unix.Stat_t
	// Written to while read (rsync is done with it, but nothing else
	// promised that): not a sum of anything.
	if unix.Fstat(fd, &after) != nil || after.Size != st.Size || after.Mtim != st.Mtim || after.Ctim != st.Ctim {
		return
	}
	// Only this goroutine adds to writing; hasTwin (a catalog query) is
	// asked outside the lock that take waits for.
	p.mu.Lock()
	_, again := p.writing[[32]byte(sum)]
	p.mu.Unlock()
	known := twinsUnknown
	if !again && p.hasTwin != nil && st.Size > 0 {
		if twin, err := p.hasTwin(st.Size, st.Mtim.Nano()); err == nil && twin {
			known = twinsStored
		} else if err == nil {
			known = twinsNone
		}
	}
	write := known == twinsNone
	p.mu.Lock()
	p.sums[st.Ino] = prehashed{size: st.Size, mtime: st.Mtim, ctime: st.Ctim, sum: [32]byte(sum), twins: known}
	if write {
		p.writing[[32]byte(sum)] = struct{}{}
	}
	p.mu.Unlock()
	if write && st.Size >= writebackMin {
		unix.SyncFileRange(fd, 0, 0, unix.SYNC_FILE_RANGE_WRITE)
	}
}

// take is the sum read of the file st describes when it is the inode
// that was read, unchanged since (nil otherwise), and what was learned
// of its stored twins then: the catalog it asked does not change during
// the run, and the size and mtime are the same.
func (p *prehasher) take(st *unix.Stat_t) (sum []byte, known twins) {
	if p == nil {
		return nil, twinsUnknown
	}
	p.mu.Lock()
	h, ok := p.sums[st.Ino]
	if st.Nlink <= 1 {
		delete(p.sums, st.Ino) // no other name will ask
	}
	p.mu.Unlock()
	if !ok || h.size != st.Size || h.mtime != st.Mtim || h.ctime != st.Ctim {
		return nil, twinsUnknown
	}
	return h.sum[:], h.twins
}
