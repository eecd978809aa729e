package cli_test

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/cli"
	"github.com/keepsake/keepsake/service/internal/realfs"
)

type pruneJSON struct {
	DryRun       bool `json:"dry_run"`
	Removed      []string
	RemovedFreed []int64 `json:"removed_freed"`
	Kept         int
	Freed        int64
}

// fiveSnapshots makes five snapshots, each with a file of its own.
func fiveSnapshots(t *testing.T) (drive, src string, snaps []string) {
	t.Helper()
	drive, src = sample(t)
	for i := 0; i < 5; i++ {
		must(t, os.WriteFile(filepath.Join(src, fmt.Sprintf("only%d", i)), []byte(strings.Repeat("x", 1000*(i+1))), 0o644))
		if i > 0 {
			must(t, os.Remove(filepath.Join(src, fmt.Sprintf("only%d", i-1))))
		}
		var r struct{ Snapshot string }
		lastJSON(t, mustCtl(t, drive, "--json", "backup", src), &r)
		snaps = append(snaps, r.Snapshot)
	}
	return drive, src, snaps
}

func TestPruneKeepsPolicyNewestAndPinned(t *testing.T) {
	drive, src, snaps := fiveSnapshots(t)
	host := filepath.Join(drive, "Keepsake", "testhost")
	// The default (Time Machine) keeps everything of the last 24 hours.
	var res pruneJSON
	lastJSON(t, mustCtl(t, drive, "--json", "prune"), &res)
	if len(res.Removed) != 0 || res.Kept != 5 {
		t.Fatalf("time machine policy on fresh snapshots: %+v", res)
	}
	mustCtl(t, drive, "policy", "--keep-last", "2")
	if out := mustCtl(t, drive, "policy"); !strings.Contains(out, "keep 2 last") {
		t.Errorf("policy shows %q", out)
	}
	mustCtl(t, drive, "pin", snaps[0])
	keptDigest := realfs.Digest(t, filepath.Join(host, snaps[3]))

	lastJSON(t, mustCtl(t, drive, "--json", "prune", "--dry-run"), &res)
	if !res.DryRun || len(res.Removed) != 2 || res.Removed[0] != snaps[1] || res.Removed[1] != snaps[2] {
		t.Fatalf("dry run: %+v", res)
	}
	if res.RemovedFreed[0] != 2000 || res.RemovedFreed[1] != 3000 {
		t.Errorf("estimated freed bytes: %+v, want each snapshot's own file", res.RemovedFreed)
	}
	if s := snapshots(t, drive); len(s) != 5 {
		t.Fatalf("dry run removed snapshots: %+v", s)
	}

	lastJSON(t, mustCtl(t, drive, "--json", "prune"), &res)
	if len(res.Removed) != 2 || res.Kept != 3 {
		t.Fatalf("prune: %+v", res)
	}
	var names []string
	for _, s := range snapshots(t, drive) {
		names = append(names, s.Name)
	}
	if want := []string{snaps[0], snaps[3], snaps[4]}; !reflect.DeepEqual(names, want) {
		t.Errorf("left %v, want pinned, and the last two %v", names, want)
	}
	for _, gone := range snaps[1:3] {
		if _, err := os.Stat(filepath.Join(host, gone)); !os.IsNotExist(err) {
			t.Errorf("folder of %s still there (%v)", gone, err)
		}
	}
	if !reflect.DeepEqual(keptDigest, realfs.Digest(t, filepath.Join(host, snaps[3]))) {
		t.Error("a kept snapshot changed")
	}
	// The catalog forgot what only the pruned snapshots held.
	var hits []struct{ Path string }
	lastJSON(t, mustCtl(t, drive, "--json", "search", "only1"), &hits)
	if len(hits) != 0 {
		t.Errorf("search still finds a pruned file: %+v", hits)
	}
	db, err := sql.Open("sqlite3", filepath.Join(drive, "Keepsake", "catalog.db"))
	must(t, err)
	defer db.Close()
	var orphans int
	must(t, db.QueryRow(`SELECT count(*) FROM contents c WHERE NOT EXISTS (SELECT 1 FROM versions v WHERE v.content_id = c.id)`).Scan(&orphans))
	if orphans != 0 {
		t.Errorf("%d content rows without versions", orphans)
	}
	if out := mustCtl(t, drive, "log"); strings.Count(out, "pruned") != 2 || !strings.Contains(out, "pinned") {
		t.Errorf("audit log:\n%s", out)
	}
	// Unpinned, the oldest goes too.
	mustCtl(t, drive, "unpin", snaps[0])
	lastJSON(t, mustCtl(t, drive, "--json", "prune"), &res)
	if len(res.Removed) != 1 || res.Removed[0] != snaps[0] {
		t.Errorf("after unpin: %+v", res)
	}
	_ = src
}

func TestBackupMakesRoomWhenTheDriveIsLow(t *testing.T) {
	drive, src, snaps := fiveSnapshots(t)
	var r struct {
		Snapshot string
		Pruned   []struct{ Name, Reason string }
	}
	lastJSON(t, mustCtl(t, drive, "--json", "backup", "--min-free", "100%", src), &r)
	// Everything but the newest goes (no drive has 100% free).
	if len(r.Pruned) != 4 || r.Pruned[0].Name != snaps[0] || !strings.Contains(r.Pruned[0].Reason, "space") {
		t.Fatalf("pruned before the backup: %+v", r.Pruned)
	}
	if s := snapshots(t, drive); len(s) != 2 || s[0].Name != snaps[4] || s[1].Name != r.Snapshot {
		t.Errorf("left %+v", s)
	}
	if out := mustCtl(t, drive, "log"); strings.Count(out, "pruned") != 4 {
		t.Errorf("the removals are not in the audit log:\n%s", out)
	}
}

func TestPruneFreeThinsOldestButNeverNewest(t *testing.T) {
	drive, _, snaps := fiveSnapshots(t)
	var res pruneJSON
	lastJSON(t, mustCtl(t, drive, "--json", "prune", "--free", "100%"), &res)
	if len(res.Removed) != 4 || res.Removed[0] != snaps[0] || res.Kept != 1 {
		t.Fatalf("--free 100%%: %+v", res)
	}
	if s := snapshots(t, drive); len(s) != 1 || s[0].Name != snaps[4] {
		t.Errorf("left %+v, want only the newest", s)
	}
	_, errs, code := ctl(t, drive, "--json", "prune", "--free", "lots")
	if code != 2 || !strings.Contains(errs, `cannot read "lots" as a size`) {
		t.Errorf("bad size: %d %s", code, errs)
	}
}

// kill -9 in the middle of prunes, 10 times. Each prune has two snapshots
// of 8 000 files to delete, and the kill comes once one of them is seen set
// aside as .deleting (the catalog has forgotten it and its files are going);
// the test counts the kills that left such a folder half deleted. After
// every kill each snapshot still listed has its folder, identical to the
// byte and to the nanosecond, and the catalog is sound; at the end a prune
// completes, leaves nothing behind, and verify finds nothing wrong.
func TestKill9DuringPrune(t *testing.T) {
	bin := realfs.Build(t, "service/cmd/keepsakectl")
	drive, src := sample(t)
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	const dirs, perDir = 8, 1000
	file := func(d, i int) string { return filepath.Join(src, fmt.Sprintf("d%d", d), fmt.Sprintf("f%04d", i)) }
	for d := 0; d < dirs; d++ {
		must(t, os.MkdirAll(filepath.Dir(file(d, 0)), 0o755))
		for i := 0; i < perDir; i++ {
			must(t, os.WriteFile(file(d, i), []byte(fmt.Sprint(d, i)), 0o644))
		}
	}
	host := filepath.Join(drive, "Keepsake", "testhost")
	mustCtl(t, drive, "policy", "--keep-last", "1")
	mustCtl(t, drive, "backup", src)
	const kills = 10
	landed := 0
	var newest string
	var kept map[string]string
	for iter := 1; iter <= kills; iter++ {
		for j := 0; j < 2; j++ {
			for k := 0; k < 5; k++ {
				must(t, os.WriteFile(file(rng.Intn(dirs), rng.Intn(perDir)), []byte(fmt.Sprint("changed ", iter, j, k)), 0o644))
			}
			mustCtl(t, drive, "backup", src)
		}
		before := map[string]map[string]string{}
		var victims []string
		snaps := snapshots(t, drive)
		for k, s := range snaps {
			before[s.Name] = realfs.DigestMeta(t, filepath.Join(host, s.Name))
			if k < len(snaps)-1 {
				victims = append(victims, s.Name)
			}
		}
		if len(victims) != 2 {
			t.Fatalf("iteration %d: %d snapshots listed before the prune, want 3", iter, len(snaps))
		}
		newest = snaps[len(snaps)-1].Name

		cmd := exec.Command(bin, "--repo", drive, "--host", "testhost", "prune")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		must(t, cmd.Start())
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		sawDeleting := false
	watch:
		for {
			select {
			case err = <-done:
				break watch
			default:
			}
			for _, v := range victims {
				if _, e := os.Lstat(filepath.Join(host, v) + ".deleting"); e == nil {
					sawDeleting = true
				}
			}
			if sawDeleting {
				time.Sleep(time.Duration(rng.Intn(20)) * time.Millisecond)
				cmd.Process.Signal(syscall.SIGKILL)
				err = <-done
				break
			}
			time.Sleep(200 * time.Microsecond)
		}
		var exit *exec.ExitError
		switch {
		case err == nil:
			t.Logf("iteration %d: the prune completed before the kill (saw .deleting: %v)", iter, sawDeleting)
		case errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL:
		default:
			t.Fatalf("iteration %d: the prune failed on its own: %v\n%s", iter, err, stderr.String())
		}
		// Before anything else opens the drive: was a victim half deleted?
		for _, v := range victims {
			if _, e := os.Lstat(filepath.Join(host, v) + ".deleting"); e == nil {
				landed++
				break
			}
		}

		listed := map[string]bool{}
		for _, s := range snapshots(t, drive) {
			listed[s.Name] = true
			old, ok := before[s.Name]
			if !ok {
				t.Fatalf("iteration %d: snapshot %s appeared during the prune", iter, s.Name)
			}
			dir := filepath.Join(host, s.Name)
			if _, err := os.Lstat(dir); err != nil {
				t.Fatalf("iteration %d: snapshot %s is listed but its folder is not there: %v", iter, s.Name, err)
			}
			if diff := realfs.DiffDigests(old, realfs.DigestMeta(t, dir), 10); len(diff) > 0 {
				t.Fatalf("iteration %d: listed snapshot %s changed:\n%s", iter, s.Name, strings.Join(diff, "\n"))
			}
		}
		if !listed[newest] {
			t.Fatalf("iteration %d: the newest snapshot %s is gone", iter, newest)
		}
		kept = before[newest]
		db, err := sql.Open("sqlite3", filepath.Join(drive, "Keepsake", "catalog.db"))
		must(t, err)
		var ok string
		must(t, db.QueryRow("PRAGMA integrity_check").Scan(&ok))
		db.Close()
		if ok != "ok" {
			t.Fatalf("iteration %d: %s", iter, ok)
		}
	}
	t.Logf("kills that landed in a deletion (left a .deleting folder): %d/%d", landed, kills)
	if landed < kills-2 {
		t.Errorf("only %d of %d kills landed while a snapshot was being deleted", landed, kills)
	}

	mustCtl(t, drive, "prune")
	if s := snapshots(t, drive); len(s) != 1 || s[0].Name != newest {
		t.Errorf("after a clean prune: %+v, want only %s", s, newest)
	}
	if diff := realfs.DiffDigests(kept, realfs.DigestMeta(t, filepath.Join(host, newest)), 10); len(diff) > 0 {
		t.Errorf("the kept snapshot changed:\n%s", strings.Join(diff, "\n"))
	}
	ents, _ := os.ReadDir(host)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".deleting") || strings.HasSuffix(e.Name(), ".partial") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	if len(ents) != 2 { // the snapshot and latest
		t.Errorf("host folder holds %d entries", len(ents))
	}
	if out, err := exec.Command(bin, "--repo", drive, "verify").CombinedOutput(); err != nil {
		t.Errorf("keepsakectl verify after the kills: %v\n%s", err, out)
	}
}

// Two machines on one drive: each keeps its own history; prune touches the
// current host unless told --all-hosts.
func TestTwoHostsOnOneDrive(t *testing.T) {
	drive, src := sample(t)
	run := func(host string, args ...string) string {
		var out, errb bytes.Buffer
		env := &cli.Env{Stdout: &out, Stderr: &errb}
		if code := cli.Run(env, append([]string{"--repo", drive, "--host", host}, args...)); code != 0 {
			t.Fatalf("%s %v: exit %d %s", host, args, code, errb.String())
		}
		return out.String()
	}
	for i := 0; i < 2; i++ {
		run("laptop", "backup", src)
		run("desktop", "backup", src)
	}
	var all []snapshotJSON
	lastJSON(t, run("laptop", "--json", "snapshots", "--all-hosts"), &all)
	hosts := map[string]int{}
	for _, s := range all {
		hosts[s.Host]++
	}
	if hosts["laptop"] != 2 || hosts["desktop"] != 2 {
		t.Fatalf("snapshots by host: %v", hosts)
	}
	run("laptop", "policy", "--keep-last", "1")
	var res pruneJSON
	lastJSON(t, run("laptop", "--json", "prune"), &res)
	if len(res.Removed) != 1 {
		t.Errorf("prune for laptop removed %+v", res.Removed)
	}
	lastJSON(t, run("laptop", "--json", "prune", "--all-hosts"), &res)
	if len(res.Removed) != 1 {
		t.Errorf("prune --all-hosts removed %+v, want desktop's older one", res.Removed)
	}
	lastJSON(t, run("laptop", "--json", "snapshots", "--all-hosts"), &all)
	if len(all) != 2 || all[0].Host == all[1].Host {
		t.Errorf("left %+v, want the newest of each host", all)
	}
	// Each host searches and restores its own files.
	var hits []struct{ Host string }
	lastJSON(t, run("desktop", "--json", "search", "a.txt"), &hits)
	if len(hits) != 1 {
		t.Errorf("search as desktop: %+v, want desktop's one version", hits)
	}
	// Without --host, on a machine called neither, the error names both.
	var out, errb bytes.Buffer
	if code := cli.Run(&cli.Env{Stdout: &out, Stderr: &errb, ThisHost: "newbox"}, []string{"--repo", drive, "snapshots"}); code != 1 ||
		!strings.Contains(errb.String(), "desktop, laptop") || !strings.Contains(errb.String(), "--host") {
		t.Errorf("no --host with two hosts: exit %d %s", code, errb.String())
	}
}
