package watch

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The journal is a text file of one record a line:
//
//	keepsake-journal 1
//	D "/home/ann/Documents"    a changed directory (read whole)
//	N "/home/ann/Documents/a"  a changed entry (its directory changed)
//	F "reason"                 a full scan is needed
//
// Strings are Go-quoted, so names with newlines or invalid UTF-8 survive.
// Records are only appended between compactions; a line cut short by a
// crash is ignored. Compaction writes the live records to a temporary file
// and renames it over the journal.
const journalHeader = "keepsake-journal 1"

type journal struct {
	path string
	// f is the file opened for appending. Only file operations use it,
	// one at a time and in order (see Watcher.queueIO), and openJournal
	// before any of them.
	f *os.File
	// buf holds the records not yet taken by a write, and lines counts
	// the lines the file has or will have once the queued operations are
	// done, to compact a journal that grew with records that no longer
	// matter. The Watcher's mu guards both.
	buf   []byte
	lines int
}

// loaded is what a journal file held.
type loaded struct {
	dirs       []string
	names      []string
	fullReason string // "" when no full scan was recorded
	existed    bool
	damaged    error // the file exists but could not be understood
}

// openJournal reads the journal at path (a missing file is a first start),
// then rewrites it compacted and keeps it open for appending.
func openJournal(path string) (*journal, loaded, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, loaded{}, fmt.Errorf("create journal folder %s: %w", filepath.Dir(path), err)
	}
	ld, err := readJournal(path)
	if err != nil {
		return nil, loaded{}, err
	}
	j := &journal{path: path}
	var recs []string
	if ld.fullReason != "" {
		recs = append(recs, fullRecord(ld.fullReason))
	}
	for _, d := range ld.dirs {
		recs = append(recs, dirRecord(d))
	}
	for _, n := range ld.names {
		recs = append(recs, nameRecord(n))
	}
	if err := j.rewrite(recs); err != nil {
		return nil, loaded{}, err
	}
	j.lines = len(recs)
	return j, ld, nil
}

func readJournal(path string) (loaded, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return loaded{}, nil
	}
	if err != nil {
		return loaded{}, fmt.Errorf("open journal %s: %w", path, err)
	}
	defer f.Close()
	ld := loaded{existed: true}
	seen, seenName := map[string]bool{}, map[string]bool{}
	r := bufio.NewReader(f)
	for n := 1; ; n++ {
		line, err := r.ReadString('\n')
		if err == io.EOF {
			// A last line without its newline was being written when the
			// machine stopped: that record was never complete.
			if n == 1 {
				ld.damaged = errors.New("no header")
			}
			break
		}
		if err != nil {
			return loaded{}, fmt.Errorf("read journal %s: %w", path, err)
		}
		line = strings.TrimSuffix(line, "\n")
		if n == 1 {
			if line != journalHeader {
				ld.damaged = fmt.Errorf("unknown header %q", line)
				break
			}
			continue
		}
		kind, arg, ok := parseRecord(line)
		if !ok {
			ld.damaged = fmt.Errorf("line %d: %q", n, line)
			break
		}
		switch kind {
		case 'D':
			if !seen[arg] {
				seen[arg] = true
				ld.dirs = append(ld.dirs, arg)
			}
		case 'N':
			if !seenName[arg] {
				seenName[arg] = true
				ld.names = append(ld.names, arg)
			}
		case 'F':
			ld.fullReason = arg
		}
	}
	if ld.damaged != nil {
		// Records after a damaged line cannot be trusted to be all there
		// is; a full scan covers whatever was lost.
		ld.dirs, ld.names, ld.fullReason = nil, nil, ""
	}
	return ld, nil
}

func parseRecord(line string) (kind byte, arg string, ok bool) {
	if len(line) < 3 || line[1] != ' ' || strings.IndexByte("DNF", line[0]) < 0 {
		return 0, "", false
	}
	s, err := strconv.Unquote(line[2:])
	if err != nil {
		return 0, "", false
	}
	if line[0] != 'F' && !filepath.IsAbs(s) {
		return 0, "", false
	}
	return line[0], s, true
}

func dirRecord(p string) string       { return "D " + strconv.Quote(p) }
func fullRecord(reason string) string { return "F " + strconv.Quote(reason) }
func nameRecord(p string) string      { return "N " + strconv.Quote(p) }

// add queues a record; take hands the queued records to a write. Caller
// holds the Watcher's mu.
func (j *journal) add(rec string) {
	j.buf = append(j.buf, rec...)
	j.buf = append(j.buf, '\n')
	j.lines++
}

func (j *journal) take() []byte {
	b := j.buf
	j.buf = nil
	return b
}

// write appends records taken from the queue and syncs them: one fsync
// for however many records a burst of changes produced. A file operation
// (see Watcher.queueIO).
func (j *journal) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if j.f == nil {
		return fmt.Errorf("write journal %s: closed", j.path)
	}
	if _, err := j.f.Write(b); err != nil {
		return fmt.Errorf("write journal %s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("sync journal %s: %w", j.path, err)
	}
	return nil
}

// rewrite replaces the journal with exactly recs (compaction), atomically:
// a crash leaves either the old or the new file. A file operation (see
// Watcher.queueIO); the caller resets buf and lines when it takes recs.
func (j *journal) rewrite(recs []string) error {
	tmp := j.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write journal %s: %w", tmp, err)
	}
	w := bufio.NewWriter(f)
	w.WriteString(journalHeader + "\n")
	for _, r := range recs {
		w.WriteString(r)
		w.WriteByte('\n')
	}
	err = w.Flush()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, j.path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(j.path))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write journal %s: %w", j.path, err)
	}
	if j.f != nil {
		j.f.Close()
	}
	j.f, err = os.OpenFile(j.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("open journal %s: %w", j.path, err)
	}
	return nil
}

// close writes the last records taken from the queue and closes the
// file. A file operation (see Watcher.queueIO).
func (j *journal) close(b []byte) error {
	err := j.write(b)
	if j.f != nil {
		if cerr := j.f.Close(); err == nil {
			err = cerr
		}
		j.f = nil
	}
	return err
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
