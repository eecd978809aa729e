package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/shared/kerr"
)

// A snapshot's extra files land in <snapshot>/.keepsake/ and in the
// catalog, verify does not call them strays, and a bad name is refused
// before anything is written.
func TestExtrasAreStoredBesideTheTree(t *testing.T) {
	f := newFixture(t)
	f.write("a.txt", "alpha")
	res := f.backup(func(o *BackupOptions) {
		o.Extras = []Extra{{Name: "flatpak.txt", Data: []byte("# apps\napp/org.test.Hello/x86_64/stable\n")}}
	})
	snapDir := f.repo.SnapshotDir("testhost", res.Snapshot)
	data, err := os.ReadFile(filepath.Join(snapDir, catalog.ExtraDir, "flatpak.txt"))
	if err != nil || string(data) != "# apps\napp/org.test.Hello/x86_64/stable\n" {
		t.Fatalf("extra file on the drive: %q %v", data, err)
	}
	cat := f.catalog()
	s, err := cat.Snapshot("testhost", res.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := cat.SnapshotFile(s, "flatpak.txt"); err != nil || string(got) != string(data) {
		t.Fatalf("extra file in the catalog: %q %v", got, err)
	}
	if _, err := cat.SnapshotFile(s, "other.txt"); !kerr.Is(err, kerr.PathNotFound) {
		t.Fatalf("missing extra file: %v, want PathNotFound", err)
	}
	if vr, err := Verify(t.Context(), f.repo, VerifyOptions{Host: "testhost"}); err != nil {
		t.Fatalf("verify with extra files: %v %+v", err, vr)
	}

	for _, name := range []string{"", "..", "a/b", "x\x00"} {
		_, err := f.tryBackup(func(o *BackupOptions) { o.Extras = []Extra{{Name: name, Data: []byte("x")}} })
		if !kerr.Is(err, kerr.InvalidArgs) {
			t.Errorf("extra name %q: %v, want InvalidArgs", name, err)
		}
	}
}
