package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"sync"
)

// Prefetch reads the previous snapshot's entries of directories ahead of a
// backup's walk, on a connection of its own, so that on two cores reading
// the catalog overlaps with the walker's file system calls. It reads the
// committed catalog, which is the previous snapshot's state for as long
// as the backup's transaction is open.
type Prefetch struct {
	conn *sql.Conn
	stmt *sql.Stmt
	host string
	snap int64

	mu     sync.Mutex
	wake   *sync.Cond
	stack  []string // last wanted first: the walk goes depth first
	want   map[string]*future
	closed bool
	done   chan struct{}
}

type future struct {
	listing int64
	started bool
	ready   chan struct{}
	kids    map[string]Version
	err     error
}

// Prefetch starts a prefetcher for this backup.
func (t *Txn) Prefetch(ctx context.Context) (*Prefetch, error) {
	conn, err := t.cat.ro.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("open catalog reader: %w", err)
	}
	stmt, err := conn.PrepareContext(ctx, childrenQuery+` LIMIT `+strconv.Itoa(MaxPrefetch+1))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("open catalog reader: %w", err)
	}
	p := &Prefetch{conn: conn, stmt: stmt, host: t.host, snap: t.snap,
		want: map[string]*future{}, done: make(chan struct{})}
	p.wake = sync.NewCond(&p.mu)
	go p.loop()
	return p, nil
}

// Want queues directories the walker will enter next, in walk order,
// each with its listing in the previous snapshot (see Txn.PrevListing).
func (p *Prefetch) Want(dirs []string, listings []int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, ok := p.want[dirs[i]]; ok {
			continue
		}
		p.want[dirs[i]] = &future{listing: listings[i], ready: make(chan struct{})}
		p.stack = append(p.stack, dirs[i])
	}
	p.wake.Signal()
}

// Get returns a directory's previous entries (of the listing it was
// wanted with) if they were prefetched or are being read; ok is false when the caller should read them itself
// (never wanted, or not started yet: reading beats waiting).
func (p *Prefetch) Get(dir string) (kids map[string]Version, ok bool, err error) {
	p.mu.Lock()
	f, wanted := p.want[dir]
	if wanted {
		delete(p.want, dir)
	}
	p.mu.Unlock()
	if !wanted || !f.started {
		return nil, false, nil
	}
	<-f.ready
	if f.err == nil && f.kids == nil {
		return nil, false, nil // too many: the walker reads them by name range
	}
	return f.kids, true, f.err
}

// MaxPrefetch is the most previous entries of one folder read ahead; a
// folder holding more is read by the walker in name ranges (ChildrenRange),
// so memory does not grow with the biggest folder.
const MaxPrefetch = 4096

func (p *Prefetch) loop() {
	defer close(p.done)
	for {
		p.mu.Lock()
		for len(p.stack) == 0 && !p.closed {
			p.wake.Wait()
		}
		if p.closed {
			p.mu.Unlock()
			return
		}
		dir := p.stack[len(p.stack)-1]
		p.stack = p.stack[:len(p.stack)-1]
		f := p.want[dir]
		if f == nil || f.started {
			p.mu.Unlock()
			continue // taken by the walker meanwhile
		}
		f.started = true
		p.mu.Unlock()
		f.kids, f.err = p.read(dir, f.listing)
		close(f.ready)
	}
}

func (p *Prefetch) read(dir string, listing int64) (map[string]Version, error) {
	if listing == 0 {
		return map[string]Version{}, nil
	}
	rows, err := p.stmt.Query(p.host, listing, p.snap)
	if err != nil {
		return nil, fmt.Errorf("previous entries of %s: %w", dir, err)
	}
	kids, err := scanChildren(rows, p.host, dir)
	if err == nil && len(kids) > MaxPrefetch {
		return nil, nil
	}
	return kids, err
}

// Close stops the prefetcher and releases its connection.
func (p *Prefetch) Close() {
	p.mu.Lock()
	p.closed = true
	p.wake.Broadcast()
	p.mu.Unlock()
	<-p.done
	p.stmt.Close()
	p.conn.Close()
}
