// Command benchwatch runs the service's change watcher (service/watch:
// inotify through fsnotify, and its journal) on folders for
// build-aux/bench.sh, so that the list of changed folders a dirty-folder
// backup reads comes from the watcher keepsaked runs, not from the
// benchmark. It takes commands on standard input, one a line, and answers
// each with one line on standard output:
//
//	benchwatch -journal FILE [-quiet DURATION] ROOT...
//
//	(start)        -> "watching N"     N folders have a watch
//	quiet SECONDS  -> "quiet" once no change came for -quiet (the service
//	                  starts its backup then), or "timeout"
//	batch FILE     -> "batch N full=BOOL": the changed folders, one a line,
//	                  written to FILE (what keepsaked passes to the backup)
//	commit         -> "committed": the last batch was backed up (a full
//	                  scan when it said full=true)
//
// End of input closes the watcher.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/keepsake/keepsake/service/watch"
)

func main() {
	journal := flag.String("journal", "", "the watcher's journal `file` (outside the roots)")
	quietFor := flag.Duration("quiet", time.Second, "how long without a change makes the watcher quiet")
	flag.Parse()
	if *journal == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: benchwatch -journal FILE [-quiet DURATION] ROOT...")
		os.Exit(2)
	}
	quiet := make(chan struct{}, 1)
	w, err := watch.New(flag.Args(), watch.Options{JournalPath: *journal, Quiet: *quietFor, OnQuiet: func() {
		select {
		case quiet <- struct{}{}:
		default:
		}
	}})
	if err != nil {
		fail(err)
	}
	defer w.Close()
	if st := w.State(); st.Degraded {
		fail(fmt.Errorf("the watcher is degraded: %s", st.Reason))
	}
	fmt.Println("watching", w.State().Watching)
	var token uint64
	var full bool
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd, arg, _ := strings.Cut(in.Text(), " ")
		switch cmd {
		case "quiet":
			secs, err := strconv.ParseFloat(arg, 64)
			if err != nil {
				fail(err)
			}
			select {
			case <-quiet:
				fmt.Println("quiet")
			case <-time.After(time.Duration(secs * float64(time.Second))):
				fmt.Println("timeout")
			}
		case "batch":
			var dirs []string
			dirs, full, token = w.Batch()
			if err := os.WriteFile(arg, []byte(strings.Join(append(dirs, ""), "\n")), 0o644); err != nil {
				fail(err)
			}
			fmt.Printf("batch %d full=%v\n", len(dirs), full)
		case "commit":
			if err := w.Commit(token, full); err != nil {
				fail(err)
			}
			fmt.Println("committed")
		default:
			fail(fmt.Errorf("unknown command %q", in.Text()))
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchwatch:", err)
	os.Exit(1)
}
