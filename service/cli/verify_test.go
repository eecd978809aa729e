package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type verifyJSON struct {
	Files           int64
	Damaged         damages
	CatalogProblems []string `json:"catalog_problems"`
	Slice, Of       int
}

// damages are verify's "SNAPSHOT PATH: problem" lines, read back.
type damages []struct{ Snapshot, Path, Problem string }

func (d *damages) UnmarshalJSON(b []byte) error {
	var lines []string
	if err := json.Unmarshal(b, &lines); err != nil {
		return err
	}
	*d = nil
	for _, l := range lines {
		snap, rest, _ := strings.Cut(l, " ")
		i := strings.LastIndex(rest, ": ")
		*d = append(*d, struct{ Snapshot, Path, Problem string }{snap, rest[:i], rest[i+2:]})
	}
	return nil
}

// Bytes flipped in stored files, and a stored file deleted: verify finds
// every one, and repair mends them from another copy or the source.
func TestVerifyFindsAllDamageAndRepairMendsIt(t *testing.T) {
	drive, src := sample(t)
	for i := 0; i < 20; i++ {
		must(t, os.WriteFile(filepath.Join(src, fmt.Sprintf("f%02d", i)), []byte(fmt.Sprintf("content %d, long enough to flip", i)), 0o644))
	}
	mustCtl(t, drive, "backup", src)
	var v verifyJSON
	lastJSON(t, mustCtl(t, drive, "--json", "verify"), &v)
	if v.Files != 22 || len(v.Damaged) != 0 || len(v.CatalogProblems) != 0 {
		t.Fatalf("clean repository: %+v", v)
	}
	snap := snapshots(t, drive)[0].Name
	stored := func(rel string) string {
		return filepath.Join(drive, "Keepsake", "testhost", snap) + filepath.Join(src, rel)
	}
	// Damage: flip a byte in three files (in place, as bit rot would),
	// delete one. f07 stays intact at the source; f03's source changes too,
	// so only a second stored copy could mend it, and there is none.
	for _, name := range []string{"f01", "f02", "f03"} {
		f, err := os.OpenFile(stored(name), os.O_RDWR, 0)
		must(t, err)
		_, err = f.WriteAt([]byte{'X'}, 3)
		must(t, err)
		f.Close()
	}
	must(t, os.Remove(stored("f07")))
	must(t, os.WriteFile(filepath.Join(src, "f03"), []byte("changed since"), 0o644))

	out, _, code := ctl(t, drive, "--json", "verify")
	lastJSON(t, out, &v)
	found := map[string]bool{}
	for _, d := range v.Damaged {
		found[filepath.Base(d.Path)] = true
	}
	if code != 1 || len(v.Damaged) != 4 || !found["f01"] || !found["f02"] || !found["f03"] || !found["f07"] {
		t.Fatalf("verify: exit %d, %+v; want the 4 damaged files", code, v)
	}
	var rep struct {
		Repaired, Unrepaired []struct{ Path string }
	}
	out, _, code = ctl(t, drive, "--json", "repair")
	lastJSON(t, out, &rep)
	if code != 1 || len(rep.Repaired) != 3 || len(rep.Unrepaired) != 1 || filepath.Base(rep.Unrepaired[0].Path) != "f03" {
		t.Fatalf("repair: exit %d %+v", code, rep)
	}
	for _, name := range []string{"f01", "f02", "f07"} {
		b, err := os.ReadFile(stored(name))
		if err != nil || string(b) != fmt.Sprintf("content %d, long enough to flip", atoi(name[1:])) {
			t.Errorf("%s after repair: %q %v", name, b, err)
		}
	}
	out, _, _ = ctl(t, drive, "--json", "verify")
	lastJSON(t, out, &v)
	if len(v.Damaged) != 1 {
		t.Errorf("after repair: %+v, want only the unrepairable f03", v.Damaged)
	}
}

func atoi(s string) int {
	n := 0
	fmt.Sscan(s, &n)
	return n
}

func TestVerifyRollingSample(t *testing.T) {
	drive, src := sample(t)
	for i := 0; i < 40; i++ {
		must(t, os.WriteFile(filepath.Join(src, fmt.Sprintf("f%02d", i)), []byte(fmt.Sprint(i)), 0o644))
	}
	mustCtl(t, drive, "backup", src)
	total := int64(0)
	slices := map[int]bool{}
	for i := 0; i < 4; i++ {
		var v verifyJSON
		lastJSON(t, mustCtl(t, drive, "--json", "verify", "--sample", "25"), &v)
		if v.Of != 4 {
			t.Fatalf("sample 25%%: of=%d", v.Of)
		}
		slices[v.Slice] = true
		total += v.Files
	}
	if len(slices) != 4 || total != 42 {
		t.Errorf("four 25%% runs covered slices %v and %d files, want all 4 slices and 42 files", slices, total)
	}
}

// A stray file on the drive and a damaged catalog are reported.
func TestVerifyReportsStrayFilesAndCatalogDamage(t *testing.T) {
	drive, src := sample(t)
	mustCtl(t, drive, "backup", src)
	snap := snapshots(t, drive)[0].Name
	root := filepath.Join(drive, "Keepsake", "testhost", snap)
	must(t, os.WriteFile(root+filepath.Join(src, "intruder"), []byte("?"), 0o644))
	out, _, code := ctl(t, drive, "--json", "verify")
	var v verifyJSON
	lastJSON(t, out, &v)
	if code != 1 || len(v.Damaged) != 1 || v.Damaged[0].Problem != "on the drive but not in the catalog" {
		t.Fatalf("stray file: exit %d %+v", code, v)
	}
	// A folder the catalog lists, gone from the drive.
	must(t, os.RemoveAll(root+filepath.Join(src, "d")))
	out, _, _ = ctl(t, drive, "--json", "verify")
	lastJSON(t, out, &v)
	problems := map[string]string{}
	for _, d := range v.Damaged {
		problems[d.Path] = d.Problem
	}
	if problems[filepath.Join(src, "d")] != "missing dir" || problems[filepath.Join(src, "d", "a.txt")] != "missing" {
		t.Fatalf("missing folder: %+v", v.Damaged)
	}
	must(t, os.Remove(root+filepath.Join(src, "intruder")))
	// Garbage over the middle of the catalog file.
	cat := filepath.Join(drive, "Keepsake", "catalog.db")
	f, err := os.OpenFile(cat, os.O_RDWR, 0)
	must(t, err)
	fi, _ := f.Stat()
	junk := make([]byte, 4096)
	for i := range junk {
		junk[i] = 0xA5
	}
	_, err = f.WriteAt(junk, fi.Size()/2)
	must(t, err)
	f.Close()
	out, _, code = ctl(t, drive, "--json", "verify")
	var e jsonError
	lastJSON(t, out, &e)
	lastJSON(t, out, &v)
	if code != 1 || (e.Error != "CatalogCorrupt" && len(v.CatalogProblems) == 0) {
		t.Errorf("damaged catalog: exit %d %+v %+v", code, e, v)
	}
}
