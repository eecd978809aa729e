package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// history makes three real snapshots: a file modified, a file renamed and
// then modified, a file deleted, and a duplicated file.
func history(t *testing.T) (drive, src string, snaps []string) {
	t.Helper()
	drive, src = sample(t) // d/a.txt, b.txt
	w := func(rel, content string) {
		p := filepath.Join(src, rel)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(content), 0o644))
	}
	w("docs/report.odt", "report, first draft")
	w("gone.txt", "soon deleted")
	w("dup1", "same bytes")
	if out, err := exec.Command("cp", "-a", filepath.Join(src, "dup1"), filepath.Join(src, "dup2")).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	var r struct{ Snapshot string }
	backup := func() {
		lastJSON(t, mustCtl(t, drive, "--json", "backup", src), &r)
		snaps = append(snaps, r.Snapshot)
	}
	backup()
	w("b.txt", "bb, second version")
	must(t, os.MkdirAll(filepath.Join(src, "archive"), 0o755))
	must(t, os.Rename(filepath.Join(src, "docs/report.odt"), filepath.Join(src, "archive/report-2020.odt")))
	must(t, os.Remove(filepath.Join(src, "gone.txt")))
	backup()
	w("archive/report-2020.odt", "report, final")
	backup()
	return drive, src, snaps
}

func TestVersionsFollowRenames(t *testing.T) {
	drive, src, snaps := history(t)
	var vs []struct {
		SHA256    string
		Size      int64
		Paths     []string
		Snapshots []string
	}
	lastJSON(t, mustCtl(t, drive, "--json", "versions", filepath.Join(src, "archive/report-2020.odt")), &vs)
	if len(vs) != 2 {
		t.Fatalf("versions: %+v, want 2 contents", vs)
	}
	if vs[0].Size != int64(len("report, final")) || len(vs[0].Paths) != 1 || strings.Join(vs[0].Snapshots, ",") != snaps[2] {
		t.Errorf("newest version %+v", vs[0])
	}
	old := vs[1]
	if strings.Join(old.Paths, ",") != filepath.Join(src, "docs/report.odt")+","+filepath.Join(src, "archive/report-2020.odt") ||
		strings.Join(old.Snapshots, ",") != snaps[0]+","+snaps[1] {
		t.Errorf("first draft should be found at its old path in %s and its new one in %s: %+v", snaps[0], snaps[1], old)
	}
	out, _, code := ctl(t, drive, "--json", "versions", filepath.Join(src, "never.txt"))
	var e jsonError
	lastJSON(t, out, &e)
	if code != 1 || e.Error != "PathNotFound" {
		t.Errorf("unknown file: %d %+v", code, e)
	}
}

func TestWhereFindsContentByFileOrHash(t *testing.T) {
	drive, src, snaps := history(t)
	probe := filepath.Join(t.TempDir(), "probe")
	must(t, os.WriteFile(probe, []byte("report, first draft"), 0o644))
	var res struct {
		SHA256 string
		Places []struct {
			Path      string
			Snapshots []string
			Latest    bool
		}
	}
	lastJSON(t, mustCtl(t, drive, "--json", "where", probe), &res)
	if len(res.Places) != 2 || res.Places[0].Path != filepath.Join(src, "archive/report-2020.odt") || res.Places[0].Snapshots[0] != snaps[1] ||
		res.Places[1].Path != filepath.Join(src, "docs/report.odt") || res.Places[0].Latest || res.Places[1].Latest {
		t.Fatalf("where: %+v", res)
	}
	var again struct{ Places []struct{ Path string } }
	lastJSON(t, mustCtl(t, drive, "--json", "where", res.SHA256), &again)
	if len(again.Places) != 2 {
		t.Errorf("where by hash: %+v", again)
	}
}

func TestDeletedLists(t *testing.T) {
	drive, src, snaps := history(t)
	type goneJSON struct {
		Path         string `json:"path"`
		LastSnapshot string `json:"last_snapshot"`
	}
	var g []goneJSON
	lastJSON(t, mustCtl(t, drive, "--json", "deleted", src), &g)
	got := map[string]string{}
	for _, x := range g {
		got[x.Path] = x.LastSnapshot
	}
	if len(g) != 2 || got[filepath.Join(src, "gone.txt")] != snaps[0] || got[filepath.Join(src, "docs/report.odt")] != snaps[0] {
		t.Fatalf("deleted: %+v (want gone.txt and the renamed docs/report.odt, last in %s)", g, snaps[0])
	}
	lastJSON(t, mustCtl(t, drive, "--json", "deleted", filepath.Join(src, "docs")), &g)
	if len(g) != 1 {
		t.Errorf("deleted in docs: %+v", g)
	}
	future := time.Now().Add(48 * time.Hour).Format("2006-01-02")
	lastJSON(t, mustCtl(t, drive, "--json", "deleted", src, "--since", future), &g)
	if len(g) != 0 {
		t.Errorf("deleted since tomorrow: %+v", g)
	}
}

func TestDuplicatesAndDu(t *testing.T) {
	drive, src, snaps := history(t)
	var d struct {
		Groups []struct {
			Paths  []string
			Size   int64
			Wasted int64
		}
		Wasted int64
	}
	lastJSON(t, mustCtl(t, drive, "--json", "duplicates", src), &d)
	if len(d.Groups) != 1 || len(d.Groups[0].Paths) != 2 || d.Wasted != int64(len("same bytes")) {
		t.Fatalf("duplicates: %+v", d)
	}
	var u struct {
		Files, Bytes, Unique, Shared int64
	}
	lastJSON(t, mustCtl(t, drive, "--json", "du", snaps[1]), &u)
	// Snapshot 2 alone holds nothing: its new b.txt is in snapshot 3 too,
	// and the renamed report's first draft is in snapshot 1.
	if u.Unique != 0 || u.Files != 5 {
		t.Errorf("du of the middle snapshot: %+v", u)
	}
	lastJSON(t, mustCtl(t, drive, "--json", "du", snaps[0]), &u)
	// Snapshot 1 alone holds gone.txt and the first b.txt.
	if want := int64(len("soon deleted") + len("bb")); u.Unique != want {
		t.Errorf("du of the first snapshot: unique %d, want %d (%+v)", u.Unique, want, u)
	}
}

func TestDiffSnapshots(t *testing.T) {
	drive, src, snaps := history(t)
	var ch []struct{ Kind, Path, From string }
	lastJSON(t, mustCtl(t, drive, "--json", "diff", snaps[0], snaps[1]), &ch)
	got := map[string]string{}
	for _, c := range ch {
		got[c.Kind+" "+c.Path] = c.From
	}
	want := map[string]string{
		"modified " + filepath.Join(src, "b.txt"):                "",
		"moved " + filepath.Join(src, "archive/report-2020.odt"): filepath.Join(src, "docs/report.odt"),
		"removed " + filepath.Join(src, "gone.txt"):              "",
		"added " + filepath.Join(src, "archive"):                 "",
	}
	for k, from := range want {
		if f, ok := got[k]; !ok || f != from {
			t.Errorf("diff lacks %q (from %q): %+v", k, from, ch)
		}
	}
	if len(ch) != len(want) {
		t.Errorf("diff has %d changes, want %d: %+v", len(ch), len(want), ch)
	}
	// A chmod alone is a metadata change.
	must(t, os.Chmod(filepath.Join(src, "dup1"), 0o600))
	var r struct{ Snapshot string }
	lastJSON(t, mustCtl(t, drive, "--json", "backup", src), &r)
	lastJSON(t, mustCtl(t, drive, "--json", "diff", snaps[2], r.Snapshot), &ch)
	if len(ch) != 1 || ch[0].Kind != "metadata" || ch[0].Path != filepath.Join(src, "dup1") {
		t.Errorf("diff after a chmod: %+v", ch)
	}
	out := mustCtl(t, drive, "diff", snaps[2], snaps[2])
	if !strings.Contains(out, "no differences") {
		t.Errorf("diff of a snapshot with itself: %q", out)
	}
}

func TestSearchNarrowedByFolderAndTime(t *testing.T) {
	drive, src, snaps := history(t)
	type hit struct {
		Path      string
		Snapshots []string
	}
	var hits []hit
	lastJSON(t, mustCtl(t, drive, "--json", "search", "report", "--in", filepath.Join(src, "archive")), &hits)
	if len(hits) != 2 {
		t.Errorf("report in archive: %+v, want its two versions there", hits)
	}
	for _, h := range hits {
		if filepath.Dir(h.Path) != filepath.Join(src, "archive") {
			t.Errorf("hit outside --in: %s", h.Path)
		}
	}
	// Until the first snapshot's time: only what that snapshot held.
	lastJSON(t, mustCtl(t, drive, "--json", "search", "report", "--until", snaps[0]), &hits)
	if len(hits) != 1 || hits[0].Path != filepath.Join(src, "docs/report.odt") || len(hits[0].Snapshots) != 1 {
		t.Errorf("--until %s: %+v", snaps[0], hits)
	}
	lastJSON(t, mustCtl(t, drive, "--json", "search", "*.odt", "--since", snaps[2]), &hits)
	if len(hits) != 1 || hits[0].Snapshots[0] != snaps[2] {
		t.Errorf("--since %s: %+v", snaps[2], hits)
	}
	_, errs, code := ctl(t, drive, "--json", "search", "x", "--since", "yesterday-ish")
	if code != 2 || !strings.Contains(errs, `cannot read the time "yesterday-ish"`) {
		t.Errorf("bad time: %d %s", code, errs)
	}
}
