package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/keepsake/keepsake/service/repo"
)

// BenchmarkCount weighs the count of a backup's work against the backups
// it runs beside, on 20 000 small files in 400 folders: the count alone,
// then a first and an unchanged backup, quiet (nobody listens: no count)
// and with progress (counted). Run with -benchtime=5x: a first backup
// writes a new repository each time.
func BenchmarkCount(b *testing.B) {
	f := newFixture(b)
	for i := 0; i < 20000; i++ {
		f.write(fmt.Sprintf("d%03d/f%05d.txt", i%400, i), fmt.Sprintf("small file %d\n", i))
	}
	b.Run("count", func(b *testing.B) {
		bk, err := newBackup(f.repo, nil, BackupOptions{Host: "testhost", Sources: []string{f.src}, NoDefaultExcludes: true})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < b.N; i++ {
			if _, err := bk.count(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	})
	modes := []struct {
		name string
		mod  func(*BackupOptions)
	}{
		{"quiet", nil},
		{"with progress", func(o *BackupOptions) { o.Progress = func(Progress) {} }},
	}
	for _, m := range modes {
		b.Run("first backup/"+m.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				f.repo = newRepo(b)
				b.StartTimer()
				f.backup(m.mod)
			}
		})
	}
	f.repo = newRepo(b)
	f.backup(nil)
	for _, m := range modes {
		b.Run("unchanged backup/"+m.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				f.backup(m.mod)
			}
		})
	}
}

// newRepo is an empty repository in a folder of its own.
func newRepo(b *testing.B) *repo.Repo {
	b.Helper()
	drive := filepath.Join(b.TempDir(), "drive")
	if err := os.Mkdir(drive, 0o755); err != nil {
		b.Fatal(err)
	}
	r, err := repo.Init(drive)
	if err != nil {
		b.Fatal(err)
	}
	return r
}
