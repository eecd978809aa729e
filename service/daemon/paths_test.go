package daemon_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/dbusapi"
)

// TestLookalikeProfileNames: profiles whose names differ only by '-' and
// '_' are two objects, each with its own settings, and busctl finds both
// at their escaped paths.
func TestLookalikeProfileNames(t *testing.T) {
	s := startService(t, "")
	srcs := map[string]string{"work-2": t.TempDir(), "work_2": t.TempDir()}
	for name, src := range srcs {
		if _, err := s.client.CreateProfile(bg, name, api.Settings{Sources: &[]api.Path{api.Path(src)}}, api.Auth{}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := s.client.Manager(bg)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Profiles) != 2 || m.Profiles[0] == m.Profiles[1] {
		t.Fatalf("Manager.Profiles = %q, want two objects", m.Profiles)
	}
	for name, src := range srcs {
		p := s.profile(name)
		if p.Name != name || len(p.Sources) != 1 || p.Sources[0] != src {
			t.Errorf("profile %s: %+v", name, p)
		}
		if back, ok := dbusapi.ProfileName(p.Path); !ok || back != name {
			t.Errorf("ProfileName(%q) = %q, %v", p.Path, back, ok)
		}
	}
	out, err := exec.Command("busctl", "--address="+s.bus.Address, "tree", dbusapi.BusName).CombinedOutput()
	for _, want := range []string{"/io/github/keepsake/Keepsake1/profiles/work_2d2", "/io/github/keepsake/Keepsake1/profiles/work_5f2"} {
		if err != nil || !strings.Contains(string(out), want) {
			t.Fatalf("busctl tree has no %s: %v\n%s", want, err, out)
		}
	}
}
