package daemon

import "testing"

// A user's Flatpak installation is recorded only when the profile backs
// up that user's home, or part of it.
func TestHomeInScope(t *testing.T) {
	for _, tc := range []struct {
		name    string
		home    string
		sources []string
		want    bool
	}{
		{"the home itself", "/home/a", []string{"/home/a"}, true},
		{"all homes", "/home/a", []string{"/home"}, true},
		{"the whole system", "/home/a", []string{"/"}, true},
		{"a folder of the home", "/home/a", []string{"/home/a/Documents"}, true},
		{"another user's home", "/home/a", []string{"/home/ab", "/home/b"}, false},
		{"unrelated folders", "/home/a", []string{"/srv/data"}, false},
		{"no home", "", []string{"/"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := homeInScope(tc.home, tc.sources); got != tc.want {
				t.Errorf("homeInScope(%q, %v) = %v, want %v", tc.home, tc.sources, got, tc.want)
			}
		})
	}
}
