package watch

import (
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"testing"
)

// TestJournalMatchesMemoryUnderLoad: with changes recorded, written,
// compacted and committed from several goroutines at once (the file
// operations run outside the watcher's lock), the journal ends holding
// exactly the directories still pending: no append lands in a file that a
// compaction then replaced, and no compaction undoes a later append.
func TestJournalMatchesMemoryUnderLoad(t *testing.T) {
	jp := filepath.Join(t.TempDir(), "journal")
	for round := range 5 {
		w, err := New(nil, Options{JournalPath: jp})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 1500 {
					w.mark(fmt.Sprintf("/x/%d/%d/%d", round, g, i%400))
					if i%40 == 0 {
						w.writeJournal()
					}
				}
			}()
		}
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 40 {
					_, _, tok := w.Batch()
					if err := w.Commit(tok, false); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		w.mu.Lock()
		var want []string
		for d := range w.dirty {
			want = append(want, d)
		}
		w.mu.Unlock()
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		ld, err := readJournal(jp)
		if err != nil || ld.damaged != nil {
			t.Fatalf("round %d: %v %v", round, err, ld.damaged)
		}
		got := append([]string(nil), ld.dirs...)
		sort.Strings(got)
		sort.Strings(want)
		if !sameList(got, want) {
			t.Fatalf("round %d: the journal holds %d directories, memory %d pending", round, len(got), len(want))
		}
	}
}
