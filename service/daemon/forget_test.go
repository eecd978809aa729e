package daemon_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/shared/client"
)

// TestSeenDrivesAreForgotten: a drive that was only plugged in (never
// enrolled, no profile's) is not listed once it is gone, neither in the
// Drives list nor in the service's state after a restart; an enrolled
// drive stays, "not connected", as before. Every USB stick plugged into
// the computer would otherwise stay in the setup's list for good.
func TestSeenDrivesAreForgotten(t *testing.T) {
	s := startService(t, "")
	seen := newDrive(t, "KSSTICK", 64)
	used := newDrive(t, "KSUSED", 64)
	listed := func() []string {
		ds, err := s.client.Drives(bg)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range ds {
			out = append(out, d.UUID)
		}
		return out
	}
	s.waitFor("both drives listed", 15*time.Second, func() bool {
		l := listed()
		return slices.Contains(l, seen.uuid) && slices.Contains(l, used.uuid)
	})
	if err := s.client.Enroll(bg, used.uuid, client.EnrollOptions{}); err != nil {
		t.Fatal(err)
	}
	s.waitFor("the enrolled drive unmounted", 10*time.Second, func() bool { return len(mountedUnder(t, s.runDir())) == 0 })
	realfs.UdevTrigger(t, "remove", seen.dev)
	realfs.UdevTrigger(t, "remove", used.dev)
	s.waitFor("the seen drive gone from the list, the enrolled one kept", 15*time.Second, func() bool {
		l := listed()
		return !slices.Contains(l, seen.uuid) && slices.Contains(l, used.uuid)
	})
	d, err := s.client.Drive(bg, used.uuid)
	if err != nil || d.Present || !d.Enrolled {
		t.Fatalf("the enrolled drive while away: %+v, %v", d, err)
	}
	s.restart()
	if l := listed(); slices.Contains(l, seen.uuid) || !slices.Contains(l, used.uuid) {
		t.Fatalf("after a restart the list is %v", l)
	}
	var st struct {
		Drives map[string]json.RawMessage `json:"drives"`
	}
	b, err := os.ReadFile(filepath.Join(s.dir, "state", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Drives[seen.uuid]; ok {
		t.Error("the state still keeps the drive that was only seen")
	}
	if _, ok := st.Drives[used.uuid]; !ok {
		t.Error("the state lost the enrolled drive")
	}
}
