package usecase

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/shared/kerr"
)

func TestTryDelay(t *testing.T) {
	for _, tc := range []struct {
		failed int
		want   time.Duration
	}{
		{0, 0}, {2, 0}, {3, time.Second}, {4, 2 * time.Second}, {5, 4 * time.Second},
		{8, 32 * time.Second}, {9, time.Minute}, {40, time.Minute}, {1000, time.Minute},
	} {
		if got := TryDelay(tc.failed); got != tc.want {
			t.Errorf("TryDelay(%d) = %v, want %v", tc.failed, got, tc.want)
		}
	}
}

// Wrong secrets are counted per drive and say how the next try is slowed
// down; other errors are not counted; a success resets the count.
func TestThrottle(t *testing.T) {
	var th Throttle
	ctx := context.Background()
	wrong := func() error { return kerr.New(kerr.WrongPassphrase, "the passphrase does not unlock this drive") }
	for _, tc := range []struct {
		name  string
		drive string
		check func() error
		want  kerr.Name
		says  string
		count int
	}{
		{"first wrong", "a", wrong, kerr.WrongPassphrase, "the passphrase does not unlock this drive (1 try has failed on this drive; after 3, each further try waits longer)", 1},
		{"a typo is no guess", "a", func() error { return kerr.New(kerr.MistypedRecoveryKey, "typo") }, kerr.MistypedRecoveryKey, "typo", 1},
		{"second wrong", "a", wrong, kerr.WrongPassphrase, "2 tries have failed on this drive", 2},
		{"another drive counts apart", "b", wrong, kerr.WrongPassphrase, "1 try has failed", 1},
		{"a wrong recovery key counts", "a", func() error { return kerr.New(kerr.WrongRecoveryKey, "not this drive's") }, kerr.WrongRecoveryKey,
			"3 tries have failed on this drive: the next try waits 1 second before it is checked", 3},
		{"a success resets", "a", func() error { return nil }, "", "", 0},
		{"wrong again", "a", wrong, kerr.WrongPassphrase, "1 try has failed", 1},
	} {
		err := th.Try(ctx, tc.drive, tc.check)
		if kerr.NameOf(err) != tc.want || (err != nil && !strings.Contains(err.Error(), tc.says)) {
			t.Errorf("%s: %v, want %s saying %q", tc.name, err, tc.want, tc.says)
		}
		if got := th.Failed(tc.drive); got != tc.count {
			t.Errorf("%s: %d failed tries counted, want %d", tc.name, got, tc.count)
		}
	}
	// A try that would wait ends with its caller.
	for th.Failed("c") < FreeTries {
		th.Try(ctx, "c", wrong)
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	checked := false
	start := time.Now()
	err := th.Try(cctx, "c", func() error { checked = true; return nil })
	if !kerr.Is(err, kerr.Cancelled) || checked || time.Since(start) > 900*time.Millisecond {
		t.Fatalf("a cancelled wait: %v, checked %v after %v", err, checked, time.Since(start))
	}
}

func TestKeyStore(t *testing.T) {
	ks := KeyStore{Dir: filepath.Join(t.TempDir(), "keys")}
	key := bytes.Repeat([]byte{0xa5}, 64)
	if _, _, ok, err := ks.Key("uuid-1"); ok || err != nil {
		t.Fatalf("a key before any: %v %v", ok, err)
	}
	if err := ks.Remember("uuid-1", "abcd", key, "root"); err != nil {
		t.Fatal(err)
	}
	got, id, ok, err := ks.Key("uuid-1")
	if err != nil || !ok || id != "abcd" || !bytes.Equal(got, key) || !ks.Has("uuid-1") {
		t.Fatalf("Key = %x %q %v %v", got, id, ok, err)
	}
	for p, want := range map[string]os.FileMode{ks.Dir: 0o700 | os.ModeDir, filepath.Join(ks.Dir, "uuid-1"): 0o600} {
		if fi, err := os.Stat(p); err != nil || fi.Mode() != want {
			t.Errorf("%s: %v %v, want %v", p, fi.Mode(), err, want)
		}
	}
	// A folder whose mode was widened is narrowed again.
	os.Chmod(ks.Dir, 0o755)
	if err := ks.Remember("uuid-2", "ef", key, "root"); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(ks.Dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("the folder is %v after Remember", fi.Mode())
	}
	for _, bad := range []string{"", ".", "..", "../x", "a/b"} {
		if err := ks.Remember(bad, "ef", key, "root"); !kerr.Is(err, kerr.InvalidArgs) {
			t.Errorf("Remember(%q) = %v, want InvalidArgs", bad, err)
		}
	}
	if forgot, err := ks.Forget("uuid-1"); !forgot || err != nil || ks.Has("uuid-1") {
		t.Fatalf("Forget = %v %v", forgot, err)
	}
	if forgot, err := ks.Forget("uuid-1"); forgot || err != nil {
		t.Fatalf("Forget again = %v %v", forgot, err)
	}
	if !ks.Has("uuid-2") {
		t.Error("forgetting one key forgot another")
	}
}
