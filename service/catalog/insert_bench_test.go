package catalog

import (
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/fsmeta"
)

func BenchmarkInsert10k(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c, err := Open(filepath.Join(b.TempDir(), "catalog.db"))
		if err != nil {
			b.Fatal(err)
		}
		t, err := c.BeginSnapshot("a", "s1", time.Now(), []string{"/home"}, Actor{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		n := 0
		for d := 0; d < 250; d++ {
			id, err := t.DirID(fmt.Sprintf("/var/tmp/x/a/home/d%05d", d))
			if err != nil {
				b.Fatal(err)
			}
			var vs []NewVersion
			for f := 0; f < 40; f++ {
				n++
				sum := sha256.Sum256([]byte(fmt.Sprint(n)))
				vs = append(vs, NewVersion{Name: fmt.Sprintf("f%07d.dat", n), NewName: true, SHA256: sum[:],
					Meta: fsmeta.Meta{Type: fsmeta.File, Mode: 0o644, UID: 1001, GID: 1001, Size: int64(n * 100), MtimeNs: int64(n) * 1e9, Nlink: 1}})
			}
			if _, err := t.InsertBatch(id, vs); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		t.Commit(Totals{}, time.Now())
		c.Close()
		b.StartTimer()
	}
}
