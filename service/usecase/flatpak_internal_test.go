package usecase

import (
	"context"
	"errors"
	"testing"

	"github.com/keepsake/keepsake/service/flatpak"
	"github.com/keepsake/keepsake/shared/kerr"
)

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

// An installation's name, and where its offline copy lives on a drive.
func TestInstallationNames(t *testing.T) {
	sys := flatpak.Installation{Scope: flatpak.ScopeSystem, User: "root", Dir: "/var/lib/flatpak"}
	ann := flatpak.Installation{Scope: flatpak.ScopeUser, User: "ann", UID: 1000, Home: "/home/ann"}
	for _, tc := range []struct {
		in         flatpak.Installation
		name, dir  string
		checkValid bool
	}{
		{sys, "system", "/m/Keepsake/flatpak-offline/box/system", true},
		{ann, "user:ann", "/m/Keepsake/flatpak-offline/box/user-ann", true},
	} {
		if got := installationName(tc.in); got != tc.name {
			t.Errorf("installationName(%+v) = %q, want %q", tc.in, got, tc.name)
		}
		if got := offlineDir("/m/Keepsake", "box", tc.in); got != tc.dir {
			t.Errorf("offlineDir(%s) = %q, want %q", tc.name, got, tc.dir)
		}
		if err := CheckInstallation(tc.name); err != nil {
			t.Errorf("CheckInstallation(%q): %v", tc.name, err)
		}
	}
	for _, bad := range []string{"", "System", "user", "user:", "user:a/b", "user:a b", "user:a:b", "flatpak"} {
		if err := CheckInstallation(bad); !kerr.Is(err, kerr.InvalidArgs) {
			t.Errorf("CheckInstallation(%q) = %v, want InvalidArgs", bad, err)
		}
	}
}

// Who may restore which installation without an administrator: their own
// (the user of that name on this machine), nothing else unless root.
func TestNeedsAdmin(t *testing.T) {
	ann := Caller{UID: 1000, GID: 1000, Name: "ann"}
	bob := Caller{UID: 1001, GID: 1001, Name: "bob"}
	root := Caller{UID: 0, Name: "root", All: true}
	admin := Caller{UID: 1002, Name: "carol", All: true} // sees all, still asks
	sys := flatpak.Installation{Scope: flatpak.ScopeSystem, User: "root"}
	annHere := flatpak.Installation{Scope: flatpak.ScopeUser, User: "ann", UID: 1000, Home: "/home/ann"}
	gone := errors.New("user ann does not exist on this machine")
	for _, tc := range []struct {
		name  string
		c     Caller
		local flatpak.Installation
		lerr  error
		want  bool
	}{
		{"own installation", ann, annHere, nil, false},
		{"another user's", bob, annHere, nil, true},
		{"the system's, as a user", ann, sys, nil, true},
		{"the system's, as root", root, sys, nil, false},
		{"a user's, as root", root, annHere, nil, false},
		{"an administrator is asked", admin, annHere, nil, true},
		{"a user this machine lacks", ann, annHere, gone, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := needsAdmin(tc.c, tc.local, tc.lerr); got != tc.want {
				t.Errorf("needs admin = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFlatpakArgs(t *testing.T) {
	for _, tc := range []struct {
		name string
		q    FlatpakRestoreRequest
		ok   bool
	}{
		{"everything", FlatpakRestoreRequest{}, true},
		{"refs and ids", FlatpakRestoreRequest{Refs: []string{"app/org.a.B/x86_64/stable", "org.a.C"}, Installation: "user:ann"}, true},
		{"empty ref", FlatpakRestoreRequest{Refs: []string{""}}, false},
		{"ref with a space", FlatpakRestoreRequest{Refs: []string{"org.a.B --user"}}, false},
		{"ref with a NUL", FlatpakRestoreRequest{Refs: []string{"org.a\x00B"}}, false},
		{"bad installation", FlatpakRestoreRequest{Installation: "everyone"}, false},
	} {
		if err := CheckFlatpakRestoreArgs(tc.q); (err == nil) != tc.ok || (err != nil && !kerr.Is(err, kerr.InvalidArgs)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	for id, ok := range map[string]bool{"org.gnome.TextEditor": true, "a.b": true, "org.x_y.Z-1": true,
		"org": false, "../../etc": false, "org.x/../../y": false, ".a.b": false, "a..b": false, "1a.b": false} {
		if err := CheckAppID(id); (err == nil) != ok {
			t.Errorf("CheckAppID(%q) = %v", id, err)
		}
	}
	inv := flatpak.Inventory{Refs: []flatpak.Ref{
		{Ref: "app/org.a.B/x86_64/stable", Kind: flatpak.KindApp, ID: "org.a.B"},
		{Ref: "runtime/org.a.Platform/x86_64/1", Kind: flatpak.KindRuntime, ID: "org.a.Platform"},
	}}
	for w, ok := range map[string]bool{"app/org.a.B/x86_64/stable": true, "org.a.B": true, "runtime/org.a.Platform/x86_64/1": true,
		"org.a.Platform": false, "org.a.C": false} {
		if hasRef(inv, w) != ok {
			t.Errorf("hasRef(%q) = %v", w, !ok)
		}
	}
	if refID("app/org.a.B/x86_64/stable") != "org.a.B" || refID("org.a.B") != "org.a.B" {
		t.Error("refID")
	}
}

// A recorded installation maps to this machine's: a user by name (their
// home here), the system one where flatpak says it is.
func TestLocalInstallation(t *testing.T) {
	ctx := context.Background()
	_, err := localInstallation(ctx, flatpak.Installation{Scope: flatpak.ScopeUser, User: "ks-nosuch-user", UID: 4242, Home: "/home/x"}, FlatpakOptions{})
	if !kerr.Is(err, kerr.NotFound) {
		t.Errorf("a user this machine lacks: %v", err)
	}
	saved := flatpak.Installation{Scope: flatpak.ScopeSystem, User: "root", Dir: "/old/flatpak"}
	// No flatpak at all: where it was.
	got, err := localInstallation(ctx, saved, FlatpakOptions{Flatpak: "/nonexistent/flatpak"})
	if err != nil || got != saved {
		t.Errorf("without flatpak: %+v %v", got, err)
	}
}
