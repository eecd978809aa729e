package daemon_test

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/service/internal/bustest"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/dbusapi"
)

// authzRules stand in for what logind would tell polkit on a real machine.
// Without logind (as here) polkit cannot see a seat or session, so every
// caller gets the allow_any defaults, which are "no" for the user actions:
// group ks-local plays "has an active local session" (the allow_active
// defaults, yes for backup, browse, restore and manage-own-folders), and
// group ks-admins plays the group an administrator allowed to change
// settings, see everyone's files and delete backups. A user in neither
// group (ks-remote) is what an SSH login gets from the shipped policy.
const authzRules = `
polkit.addRule(function(action, subject) {
	var prefix = "io.github.keepsake.keepsake1.";
	if (action.id.indexOf(prefix) != 0) {
		return polkit.Result.NOT_HANDLED;
	}
	var verb = action.id.substring(prefix.length);
	var local = ["backup", "browse", "restore", "manage-own-folders"];
	var admin = ["configure", "browse-all", "delete-snapshots"];
	if (subject.isInGroup("ks-admins") && admin.indexOf(verb) >= 0) {
		return polkit.Result.YES;
	}
	if (subject.isInGroup("ks-local") && local.indexOf(verb) >= 0) {
		return polkit.Result.YES;
	}
	return polkit.Result.NOT_HANDLED;
});
`

const (
	ksOwner  = "ks-owner"
	ksOther  = "ks-other"
	ksAdmin  = "ks-admin"
	ksRemote = "ks-remote"
	ksRoot   = "root"

	errNotAuthorized = "io.github.keepsake.Keepsake1.Error.NotAuthorized"
	errInvalidArgs   = "org.freedesktop.DBus.Error.InvalidArgs"
)

// gdbusResult is what one gdbus call printed.
type gdbusResult struct {
	out     string // the reply in GVariant text, on success
	errName string // the D-Bus error name, on failure
	stderr  string
}

func (r gdbusResult) outcome() string {
	if r.errName == "" {
		return "allowed"
	}
	return strings.TrimPrefix(r.errName, "io.github.keepsake.Keepsake1.Error.")
}

var gdbusErrRE = regexp.MustCompile(`GDBus\.Error:([A-Za-z0-9_.]+):`)

// authz is the fixture of the authorization tests: a running keepsaked
// with profile "home" backed up twice, and the users calling it.
type authz struct {
	t      *testing.T
	s      *service
	drive  drive
	uids   map[string]uint32
	matrix [][3]string // method, caller, outcome: the table logged at the end
}

// gdbus calls method (Interface.Method, below the Keepsake prefix) on path
// as user, with args in GVariant text, exactly as a person would in a
// terminal.
func (a *authz) gdbus(username string, path dbus.ObjectPath, method string, args ...string) gdbusResult {
	a.t.Helper()
	argv := append([]string{"call", "--system", "--dest", dbusapi.BusName, "--object-path", string(path),
		"--method", dbusapi.BusName + "." + method}, args...)
	out, stderr, code := a.s.bus.AsUser(a.t, username, "gdbus", argv...)
	r := gdbusResult{out: strings.TrimSpace(out), stderr: stderr}
	if code != 0 {
		m := gdbusErrRE.FindStringSubmatch(stderr)
		if m == nil {
			a.t.Fatalf("gdbus %s as %s failed without a D-Bus error (exit %d): %s", method, username, code, stderr)
		}
		r.errName = m[1]
	}
	return r
}

// gv quotes s as a GVariant text string.
func gv(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// gvList is an as in GVariant text.
func gvList(ss ...string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = gv(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// gvOpts is an a{sv} of options in GVariant text: never wait for a password
// dialog, plus extra entries such as "'all-users': <true>".
func gvOpts(extra ...string) string {
	return "{" + strings.Join(append([]string{"'auth.no_user_interaction': <true>"}, extra...), ", ") + "}"
}

var jobPathRE = regexp.MustCompile(`objectpath '([^']+)'`)

// jobOf is the job path in a method's reply.
func jobOf(t *testing.T, out string) dbus.ObjectPath {
	t.Helper()
	m := jobPathRE.FindStringSubmatch(out)
	if m == nil || !dbusapi.IsJobPath(dbus.ObjectPath(m[1])) {
		t.Fatalf("no job path in reply %q", out)
	}
	return dbus.ObjectPath(m[1])
}

// waitJob follows a job to its end and returns its error name ("" on success).
func (a *authz) waitJob(job dbus.ObjectPath) client.Job {
	a.t.Helper()
	j, _ := a.s.wait(job)
	if !j.Finished {
		a.t.Fatalf("job %s did not finish", job)
	}
	return j
}

// authzCase is one method called by one user, and what must come of it.
type authzCase struct {
	method string // Interface.Method
	label  string // what the call does, for the table
	user   string
	path   dbus.ObjectPath
	args   []string
	want   string // "" when the call must succeed, else the D-Bus error name
	check  func(t *testing.T, r gdbusResult)
}

func (a *authz) run(cases []authzCase) {
	a.t.Helper()
	for _, tc := range cases {
		name := tc.method + "/" + tc.label + "/" + tc.user
		a.t.Run(name, func(t *testing.T) {
			r := a.gdbus(tc.user, tc.path, tc.method, tc.args...)
			a.matrix = append(a.matrix, [3]string{tc.method + " " + tc.label, tc.user, r.outcome()})
			if r.errName != tc.want {
				want := tc.want
				if want == "" {
					want = "success"
				}
				t.Fatalf("%s as %s: got %q (%s), want %s", tc.method, tc.user, r.errName, strings.TrimSpace(r.stderr), want)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

// replyHas and replyLacks check a reply for path strings.
func replyHas(subs ...string) func(t *testing.T, r gdbusResult) {
	return func(t *testing.T, r gdbusResult) {
		t.Helper()
		for _, s := range subs {
			if !strings.Contains(r.out, gv(s)) {
				t.Errorf("reply lacks %s:\n%s", s, r.out)
			}
		}
	}
}

func replyLacks(subs ...string) func(t *testing.T, r gdbusResult) {
	return func(t *testing.T, r gdbusResult) {
		t.Helper()
		for _, s := range subs {
			if strings.Contains(r.out, s) {
				t.Errorf("reply shows %s, which this caller may not see:\n%s", s, r.out)
			}
		}
	}
}

func allOf(fs ...func(t *testing.T, r gdbusResult)) func(t *testing.T, r gdbusResult) {
	return func(t *testing.T, r gdbusResult) {
		t.Helper()
		for _, f := range fs {
			f(t, r)
		}
	}
}

// replyCount checks how often key occurs as a dictionary key in the reply.
func replyCount(key string, n int) func(t *testing.T, r gdbusResult) {
	return func(t *testing.T, r gdbusResult) {
		t.Helper()
		if got := strings.Count(r.out, gv(key)+":"); got != n {
			t.Errorf("%d entries with %s in the reply, want %d:\n%s", got, key, n, r.out)
		}
	}
}

// Paths of the fixture.
const (
	ownerDocs   = "/home/ks-owner/Documents"
	ownerSecret = ownerDocs + "/owner-secret.txt" // 0600
	ownerPublic = ownerDocs + "/owner-public.txt" // 0644
	ownerGone   = ownerDocs + "/owner-gone.txt"   // 0600, deleted before the second backup
	otherNotes  = "/home/ks-other/Notes"
	otherSecret = otherNotes + "/other-secret.txt" // 0600
	otherGone   = otherNotes + "/other-gone.txt"   // 0600, deleted before the second backup
)

// homeFile writes content to p owned by username with mode perm,
// creating p's folder (0755, owned by the user) as needed.
func homeFile(t *testing.T, username, p, content string, perm os.FileMode) {
	t.Helper()
	uid, gid := lookupIDs(t, username)
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil { // the umask is not the test's business
		t.Fatal(err)
	}
	if err := os.Chown(p, int(uid), int(gid)); err != nil {
		t.Fatal(err)
	}
}

func lookupIDs(t *testing.T, username string) (uint32, uint32) {
	t.Helper()
	u, err := user.Lookup(username)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return uint32(uid), uint32(gid)
}

// scratchPaths removes paths now (a run killed half-way may have left them)
// and again when the test ends: the users outlive the test, their files
// must not.
func scratchPaths(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		os.RemoveAll(p)
	}
	t.Cleanup(func() {
		for _, p := range paths {
			os.RemoveAll(p)
		}
	})
}

// newAuthz starts keepsaked with the rules above, makes the users and
// their files, and backs profile "home" up twice (root, via the typed
// client): owner-secret.txt changes in between and the *-gone files are
// deleted, so Versions and Deleted have something to show.
func newAuthz(t *testing.T) *authz {
	realfs.RequireCommands(t, "gdbus", "busctl", "fsfreeze")
	s := startService(t, authzRules)
	a := &authz{t: t, s: s, uids: map[string]uint32{}}
	groups := map[string][]string{
		ksOwner:  {"ks-local"},
		ksOther:  {"ks-local"},
		ksAdmin:  {"ks-local", "ks-admins"},
		ksRemote: nil,
	}
	for name, g := range groups {
		uid, _ := bustest.User(t, name, g...)
		a.uids[name] = uid
		home := "/home/" + name
		// Debian 12 makes homes 0700; the scoping tests need folders
		// that other users may enter, as on distributions with 0755
		// homes, so that what hides a file is its own mode.
		if err := os.Chmod(home, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	scratchPaths(t, ownerDocs, otherNotes,
		"/home/ks-owner/Restored", "/home/ks-owner/escape", "/home/ks-owner/Pictures",
		"/home/ks-other/Restored", "/home/ks-other/etc-link", "/home/ks-admin/Restored")
	a.uids[ksRoot] = 0

	homeFile(t, ksOwner, ownerSecret, "owner secret v1\n", 0o600)
	homeFile(t, ksOwner, ownerPublic, "owner public\n", 0o644)
	homeFile(t, ksOwner, ownerGone, "owner gone\n", 0o600)
	homeFile(t, ksOther, otherSecret, "other secret\n", 0o600)
	homeFile(t, ksOther, otherGone, "other gone\n", 0o600)

	a.drive = newDrive(t, "KSAUTHZ", 64)
	s.waitFor("the drive to appear", 10*time.Second, func() bool {
		ds, err := s.client.Drives(bg)
		if err != nil {
			return false
		}
		for _, d := range ds {
			if d.UUID == a.drive.uuid && d.Present {
				return true
			}
		}
		return false
	})
	// No timed, change or plug backups: every backup in these tests is one
	// the test asked for, so none can make another call Busy.
	settings := api.Settings{Sources: paths(ownerDocs, otherNotes), Interval: ptr(uint64(0)), OnChange: ptr(false), OnPlug: ptr(false)}
	if _, err := s.client.CreateProfile(bg, "home", settings, api.Auth{}); err != nil {
		t.Fatal(err)
	}
	if err := s.client.Enroll(bg, a.drive.uuid, client.EnrollOptions{Profile: "home"}); err != nil {
		t.Fatal(err)
	}
	a.backup()
	homeFile(t, ksOwner, ownerSecret, "owner secret v2, longer\n", 0o600)
	os.Remove(ownerGone)
	os.Remove(otherGone)
	a.backup()
	return a
}

// backup runs a full backup of "home" as root and waits for it.
func (a *authz) backup() {
	a.t.Helper()
	job, err := a.s.client.BackupNow(bg, "home", api.BackupOptions{Full: true})
	if err != nil {
		a.t.Fatal(err)
	}
	if _, err := a.s.wait(job); err != nil {
		a.t.Fatalf("backup: %v", err)
	}
}

// logMatrix logs the outcomes as a table, one row per call.
func (a *authz) logMatrix() {
	var b strings.Builder
	b.WriteString("| method | caller | outcome |\n|---|---|---|\n")
	for _, r := range a.matrix {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", r[0], r[1], r[2])
	}
	a.t.Logf("authorization matrix:\n%s", b.String())
}

// TestAuthorizationMatrix calls every method as each kind of user, for
// real (gdbus run as that user, real polkitd deciding), and checks what
// each may do and see.
func TestAuthorizationMatrix(t *testing.T) {
	a := newAuthz(t)
	defer a.logMatrix()
	s := a.s
	mgr := dbusapi.ManagerPath
	home := dbusapi.ProfilePath("home")
	drv := dbusapi.DrivePath(a.drive.uuid)
	local := []string{ksOwner, ksOther, ksAdmin, ksRoot}
	users := []string{ksOwner, ksOther} // local users without admin rights
	admins := []string{ksAdmin, ksRoot} // allowed the administrator actions
	var cases []authzCase
	each := func(who []string, c authzCase) {
		for _, u := range who {
			c.user = u
			cases = append(cases, c)
		}
	}

	// Manager.
	each(local, authzCase{method: "Manager.GetStatus", label: "", path: mgr, args: []string{gvOpts()}, check: replyHas("home")})
	each([]string{ksRemote}, authzCase{method: "Manager.GetStatus", path: mgr, args: []string{gvOpts()}, want: errNotAuthorized})
	each(append(users, ksRemote), authzCase{method: "Manager.Reload", path: mgr, args: []string{gvOpts()}, want: errNotAuthorized})
	each(admins, authzCase{method: "Manager.Reload", path: mgr, args: []string{gvOpts()}})
	noTimers := "'interval': <uint64 0>, 'on-change': <false>, 'on-plug': <false>"
	createIn := func(name string, sources ...string) []string {
		return []string{gv(name), "{'sources': <" + gvList(sources...) + ">, " + noTimers + "}", gvOpts()}
	}
	cases = append(cases,
		authzCase{method: "Manager.CreateProfile", label: "own home", user: ksOwner, path: mgr, args: createIn("owner-own", ownerDocs),
			check: func(t *testing.T, r gdbusResult) {
				p := s.profile("owner-own")
				if p.Owner != a.uids[ksOwner] {
					t.Errorf("profile made by ks-owner is owned by uid %d, want %d", p.Owner, a.uids[ksOwner])
				}
			}},
		authzCase{method: "Manager.CreateProfile", label: "own home + drive", user: ksOwner, path: mgr,
			args: []string{gv("owner-drive"), "{'sources': <" + gvList(ownerDocs) + ">, 'drive': <" + gv(a.drive.uuid) + ">, " + noTimers + "}", gvOpts()},
			want: errNotAuthorized},
		authzCase{method: "Manager.CreateProfile", label: "/etc", user: ksOwner, path: mgr, args: createIn("owner-etc", "/etc"), want: errNotAuthorized},
		authzCase{method: "Manager.CreateProfile", label: "other's home", user: ksOwner, path: mgr, args: createIn("owner-other", otherNotes), want: errNotAuthorized},
		authzCase{method: "Manager.CreateProfile", label: "home + /etc", user: ksOwner, path: mgr, args: createIn("owner-mixed", ownerDocs, "/etc"), want: errNotAuthorized},
		authzCase{method: "Manager.CreateProfile", label: "own home", user: ksRemote, path: mgr, args: createIn("remote-own", "/home/ks-remote"), want: errNotAuthorized},
		authzCase{method: "Manager.CreateProfile", label: "/etc", user: ksAdmin, path: mgr, args: createIn("admin-etc", "/etc"),
			check: func(t *testing.T, r gdbusResult) {
				if p := s.profile("admin-etc"); p.Owner != 0 {
					t.Errorf("an administrator's profile is owned by uid %d, want 0", p.Owner)
				}
			}},
		authzCase{method: "Manager.CreateProfile", label: "/etc", user: ksRoot, path: mgr, args: createIn("root-etc", "/etc")},
	)

	// Reading: snapshots, folders, search, versions, deleted files.
	each(local, authzCase{method: "Profile.ListSnapshots", path: home, args: []string{gvOpts()}, check: replyCount("pinned", 2)})
	each([]string{ksRemote}, authzCase{method: "Profile.ListSnapshots", path: home, args: []string{gvOpts()}, want: errNotAuthorized})
	listDocs := []string{gv("latest"), gv(ownerDocs)}
	listNotes := []string{gv("latest"), gv(otherNotes)}
	cases = append(cases,
		authzCase{method: "Profile.ListDirectory", label: "owner's folder", user: ksOwner, path: home, args: append(listDocs, gvOpts()),
			check: replyHas(ownerSecret, ownerPublic)},
		authzCase{method: "Profile.ListDirectory", label: "owner's folder", user: ksOther, path: home, args: append(listDocs, gvOpts()),
			check: allOf(replyHas(ownerPublic), replyLacks("owner-secret"))},
		authzCase{method: "Profile.ListDirectory", label: "owner's folder", user: ksAdmin, path: home, args: append(listDocs, gvOpts()),
			check: allOf(replyHas(ownerPublic), replyLacks("owner-secret"))},
		authzCase{method: "Profile.ListDirectory", label: "owner's folder, all-users", user: ksAdmin, path: home,
			args: append(listDocs, gvOpts("'all-users': <true>")), check: replyHas(ownerSecret, ownerPublic)},
		authzCase{method: "Profile.ListDirectory", label: "owner's folder, all-users", user: ksOwner, path: home,
			args: append(listDocs, gvOpts("'all-users': <true>")), want: errNotAuthorized},
		authzCase{method: "Profile.ListDirectory", label: "owner's folder", user: ksRoot, path: home, args: append(listDocs, gvOpts()),
			check: replyHas(ownerSecret, ownerPublic)},
		authzCase{method: "Profile.ListDirectory", label: "owner's folder", user: ksRemote, path: home, args: append(listDocs, gvOpts()), want: errNotAuthorized},
		authzCase{method: "Profile.ListDirectory", label: "other's folder", user: ksOther, path: home, args: append(listNotes, gvOpts()),
			check: replyHas(otherSecret)},
		authzCase{method: "Profile.ListDirectory", label: "other's folder", user: ksOwner, path: home, args: append(listNotes, gvOpts()),
			check: replyLacks("other-secret")},
	)
	search := []string{gv("*.txt")}
	cases = append(cases,
		authzCase{method: "Profile.Search", label: "*.txt", user: ksOwner, path: home, args: append(search, gvOpts()),
			check: allOf(replyHas(ownerSecret, ownerPublic), replyLacks("other-secret", "other-gone"))},
		authzCase{method: "Profile.Search", label: "*.txt", user: ksOther, path: home, args: append(search, gvOpts()),
			check: allOf(replyHas(otherSecret, ownerPublic), replyLacks("owner-secret", "owner-gone"))},
		authzCase{method: "Profile.Search", label: "*.txt", user: ksAdmin, path: home, args: append(search, gvOpts()),
			check: allOf(replyHas(ownerPublic), replyLacks("owner-secret", "other-secret"))},
		authzCase{method: "Profile.Search", label: "*.txt, all-users", user: ksOwner, path: home,
			args: append(search, gvOpts("'all-users': <true>")), want: errNotAuthorized},
		authzCase{method: "Profile.Search", label: "*.txt, all-users", user: ksAdmin, path: home,
			args: append(search, gvOpts("'all-users': <true>")), check: replyHas(ownerSecret, ownerPublic, ownerGone, otherSecret, otherGone)},
		authzCase{method: "Profile.Search", label: "*.txt", user: ksRoot, path: home, args: append(search, gvOpts()),
			check: replyHas(ownerSecret, ownerPublic, ownerGone, otherSecret, otherGone)},
		authzCase{method: "Profile.Search", label: "*.txt", user: ksRemote, path: home, args: append(search, gvOpts()), want: errNotAuthorized},
	)
	versions := []string{gv(ownerSecret)}
	cases = append(cases,
		authzCase{method: "Profile.Versions", label: "owner's 0600 file", user: ksOwner, path: home, args: append(versions, gvOpts()), check: replyCount("sha256", 2)},
		authzCase{method: "Profile.Versions", label: "owner's 0600 file", user: ksOther, path: home, args: append(versions, gvOpts()),
			check: func(t *testing.T, r gdbusResult) {
				if r.out != "(@aa{sv} [],)" {
					t.Errorf("ks-other sees versions of ks-owner's private file: %s", r.out)
				}
			}},
		authzCase{method: "Profile.Versions", label: "owner's 0600 file, all-users", user: ksAdmin, path: home,
			args: append(versions, gvOpts("'all-users': <true>")), check: replyCount("sha256", 2)},
		authzCase{method: "Profile.Versions", label: "owner's 0600 file", user: ksRoot, path: home, args: append(versions, gvOpts()), check: replyCount("sha256", 2)},
		authzCase{method: "Profile.Versions", label: "owner's 0600 file", user: ksRemote, path: home, args: append(versions, gvOpts()), want: errNotAuthorized},
	)
	cases = append(cases,
		authzCase{method: "Profile.Deleted", label: "owner's folder", user: ksOwner, path: home, args: []string{gv(ownerDocs), gvOpts()}, check: replyHas(ownerGone)},
		authzCase{method: "Profile.Deleted", label: "owner's folder", user: ksOther, path: home, args: []string{gv(ownerDocs), gvOpts()}, check: replyLacks("owner-gone")},
		authzCase{method: "Profile.Deleted", label: "other's folder", user: ksOther, path: home, args: []string{gv(otherNotes), gvOpts()}, check: replyHas(otherGone)},
		authzCase{method: "Profile.Deleted", label: "owner's folder", user: ksRoot, path: home, args: []string{gv(ownerDocs), gvOpts()}, check: replyHas(ownerGone)},
		authzCase{method: "Profile.Deleted", label: "owner's folder", user: ksRemote, path: home, args: []string{gv(ownerDocs), gvOpts()}, want: errNotAuthorized},
	)

	// Flatpak apps: the snapshots record none here, so a restore stops at
	// NotFound or PathNotFound once the caller is let through.
	each(local, authzCase{method: "Profile.ListFlatpaks", path: home, args: []string{gv("latest"), gvOpts()}})
	each([]string{ksRemote}, authzCase{method: "Profile.ListFlatpaks", path: home, args: []string{gv("latest"), gvOpts()}, want: errNotAuthorized})
	each(local, authzCase{method: "Profile.FlatpakOfflineSize", path: home, args: []string{gvOpts()}})
	each([]string{ksRemote}, authzCase{method: "Profile.FlatpakOfflineSize", path: home, args: []string{gvOpts()}, want: errNotAuthorized})
	each([]string{ksOwner, ksOther}, authzCase{method: "Profile.RestoreFlatpaks", label: "own installation", path: home,
		args: []string{gv("latest"), "@as []", gvOpts()}, want: "io.github.keepsake.Keepsake1.Error.NotFound"})
	each([]string{ksRemote}, authzCase{method: "Profile.RestoreFlatpaks", label: "own installation", path: home,
		args: []string{gv("latest"), "@as []", gvOpts()}, want: errNotAuthorized})
	each(local, authzCase{method: "Profile.RestoreAppData", label: "app not backed up", path: home,
		args: []string{gv("latest"), gv("org.test.Hello"), gvOpts()}, want: "io.github.keepsake.Keepsake1.Error.PathNotFound"})
	each([]string{ksRemote}, authzCase{method: "Profile.RestoreAppData", label: "app not backed up", path: home,
		args: []string{gv("latest"), gv("org.test.Hello"), gvOpts()}, want: errNotAuthorized})

	// Backing up, checking, pruning.
	waitOK := func(t *testing.T, r gdbusResult) {
		if j := a.waitJob(jobOf(t, r.out)); j.ErrorName != "" {
			t.Errorf("job failed: %s: %s", j.ErrorName, j.Message)
		}
	}
	each(local, authzCase{method: "Profile.BackupNow", path: home, args: []string{gvOpts()}, check: waitOK})
	each([]string{ksRemote}, authzCase{method: "Profile.BackupNow", path: home, args: []string{gvOpts()}, want: errNotAuthorized})
	each(local, authzCase{method: "Profile.Verify", path: home, args: []string{gvOpts()}, check: waitOK})
	each([]string{ksRemote}, authzCase{method: "Profile.Verify", path: home, args: []string{gvOpts()}, want: errNotAuthorized})
	each(append(users, ksRemote), authzCase{method: "Profile.Prune", label: "dry-run", path: home, args: []string{gvOpts("'dry-run': <true>")}, want: errNotAuthorized})
	each(admins, authzCase{method: "Profile.Prune", label: "dry-run", path: home, args: []string{gvOpts("'dry-run': <true>")}, check: waitOK})

	// Changing settings.
	configure := []string{"{'skip-on-battery': <false>}", gvOpts()}
	each(append(users, ksRemote), authzCase{method: "Profile.Configure", path: home, args: configure, want: errNotAuthorized})
	each(admins, authzCase{method: "Profile.Configure", path: home, args: configure})
	hasSource := func(p string, want bool) func(t *testing.T, r gdbusResult) {
		return func(t *testing.T, r gdbusResult) {
			t.Helper()
			has := false
			for _, src := range s.profile("home").Sources {
				has = has || src == p
			}
			if has != want {
				t.Errorf("source %s listed: %v, want %v", p, has, want)
			}
		}
	}
	src := func(p string) []string { return []string{gv(p), gvOpts()} }
	cases = append(cases,
		authzCase{method: "Profile.AddSource", label: "own home", user: ksOwner, path: home, args: src("/home/ks-owner/Pictures"), check: hasSource("/home/ks-owner/Pictures", true)},
		authzCase{method: "Profile.RemoveSource", label: "own home", user: ksOwner, path: home, args: src("/home/ks-owner/Pictures"), check: hasSource("/home/ks-owner/Pictures", false)},
		authzCase{method: "Profile.AddSource", label: "other's home", user: ksOwner, path: home, args: src("/home/ks-other/Music"), want: errNotAuthorized, check: hasSource("/home/ks-other/Music", false)},
		authzCase{method: "Profile.RemoveSource", label: "other's home", user: ksOwner, path: home, args: src(otherNotes), want: errNotAuthorized, check: hasSource(otherNotes, true)},
		authzCase{method: "Profile.AddSource", label: "/etc", user: ksOwner, path: home, args: src("/etc"), want: errNotAuthorized, check: hasSource("/etc", false)},
		authzCase{method: "Profile.AddSource", label: "/home (above own home)", user: ksOwner, path: home, args: src("/home"), want: errNotAuthorized},
		authzCase{method: "Profile.RemoveSource", label: "other's home", user: ksOther, path: home, args: src(ownerDocs), want: errNotAuthorized, check: hasSource(ownerDocs, true)},
		authzCase{method: "Profile.AddSource", label: "own home", user: ksRemote, path: home, args: src("/home/ks-remote"), want: errNotAuthorized},
		authzCase{method: "Profile.AddSource", label: "other's home", user: ksAdmin, path: home, args: src("/home/ks-other/Music"), check: hasSource("/home/ks-other/Music", true)},
		authzCase{method: "Profile.RemoveSource", label: "other's home", user: ksAdmin, path: home, args: src("/home/ks-other/Music"), check: hasSource("/home/ks-other/Music", false)},
		authzCase{method: "Profile.AddSource", label: "/etc", user: ksAdmin, path: home, args: src("/etc"), check: hasSource("/etc", true)},
		authzCase{method: "Profile.RemoveSource", label: "/etc", user: ksRoot, path: home, args: src("/etc"), check: hasSource("/etc", false)},
	)

	// Deleting profiles: configure, even for a profile the user made.
	cases = append(cases,
		authzCase{method: "Profile.Delete", label: "admin's profile", user: ksOwner, path: home, args: []string{gvOpts()}, want: errNotAuthorized},
		authzCase{method: "Profile.Delete", label: "admin's profile", user: ksOther, path: home, args: []string{gvOpts()}, want: errNotAuthorized},
		authzCase{method: "Profile.Delete", label: "own profile", user: ksOwner, path: dbusapi.ProfilePath("owner-own"), args: []string{gvOpts()}, want: errNotAuthorized},
		authzCase{method: "Profile.Delete", label: "admin's profile", user: ksRemote, path: home, args: []string{gvOpts()}, want: errNotAuthorized},
		authzCase{method: "Profile.Delete", label: "admin's profile", user: ksAdmin, path: dbusapi.ProfilePath("admin-etc"), args: []string{gvOpts()},
			check: func(t *testing.T, r gdbusResult) {
				if _, err := s.client.Profile(bg, "admin-etc"); err == nil {
					t.Error("profile admin-etc still exists after Delete")
				}
			}},
		authzCase{method: "Profile.Delete", label: "user's profile", user: ksRoot, path: dbusapi.ProfilePath("owner-own"), args: []string{gvOpts()}},
	)

	// Drives.
	enroll := []string{gvOpts("'profile': <objectpath " + gv(string(home)) + ">")}
	each(append(users, ksRemote), authzCase{method: "Drive.Enroll", path: drv, args: enroll, want: errNotAuthorized})
	each(admins, authzCase{method: "Drive.Enroll", path: drv, args: enroll})
	a.run(cases)
	cases = nil

	// The drive stays mounted for a while after browsing: a local user may
	// unmount it (then it is no longer the service's to unmount), a
	// remote one may not.
	for _, who := range local {
		if _, err := s.client.Snapshots(bg, "home", api.ListOptions{}); err != nil {
			t.Fatal(err)
		}
		each([]string{who}, authzCase{method: "Drive.Unmount", label: "after browsing", path: drv, args: []string{gvOpts()}})
		each([]string{ksRemote}, authzCase{method: "Drive.Unmount", label: "after browsing", path: drv, args: []string{gvOpts()}, want: errNotAuthorized})
		a.run(cases)
		cases = nil
	}
	each([]string{ksOwner}, authzCase{method: "Drive.Unmount", label: "not mounted", path: drv, args: []string{gvOpts()}, want: "org.freedesktop.DBus.Error.InvalidArgs"})
	a.run(cases)

	t.Run("Restore", func(t *testing.T) { a.restores(t) })
	t.Run("Cancel", func(t *testing.T) { a.cancels(t) })
	t.Run("SymlinkSourceOutsideHome", func(t *testing.T) { a.symlinkSource(t) })
	t.Run("busctl", func(t *testing.T) {
		out, stderr, code := s.bus.AsUser(t, ksOwner, "busctl", "--address="+s.bus.Address, "call", dbusapi.BusName,
			string(home), dbusapi.ProfileInterface, "ListDirectory", "ssa{sv}", "latest", ownerDocs, "1", "auth.no_user_interaction", "b", "true")
		a.matrix = append(a.matrix, [3]string{"Profile.ListDirectory (busctl)", ksOwner, map[bool]string{true: "allowed", false: "failed"}[code == 0]})
		if code != 0 {
			t.Fatalf("busctl call: exit %d: %s", code, stderr)
		}
		if !strings.Contains(out, `"`+ownerSecret+`"`) {
			t.Errorf("busctl reply lacks %s: %s", ownerSecret, out)
		}
		_, stderr, code = s.bus.AsUser(t, ksOwner, "busctl", "--address="+s.bus.Address, "call", dbusapi.BusName,
			string(mgr), dbusapi.ManagerInterface, "Reload", "a{sv}", "1", "auth.no_user_interaction", "b", "true")
		a.matrix = append(a.matrix, [3]string{"Manager.Reload (busctl)", ksOwner, map[bool]string{true: "allowed", false: "refused"}[code == 0]})
		if code == 0 || !strings.Contains(stderr, "needs an administrator") {
			t.Errorf("busctl Reload as ks-owner: exit %d, %q; want a refusal", code, stderr)
		}
	})
}

// fileState describes p for comparisons: absent, or owner, mode and bytes.
func fileState(p string) string {
	fi, err := os.Lstat(p)
	if err != nil {
		return "absent"
	}
	st := fi.Sys().(*syscall.Stat_t)
	data, _ := os.ReadFile(p)
	return fmt.Sprintf("uid %d mode %v %q", st.Uid, fi.Mode(), data)
}

// dirNames lists a folder's entries (nil if it cannot be read).
func dirNames(dir string) []string {
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// etcNames lists /etc without the account database's lock and backup
// files, which useradd and userdel of tests running beside this one
// (their test computers' accounts) make and remove at any moment.
func etcNames() []string {
	var out []string
	for _, n := range dirNames("/etc") {
		if strings.HasSuffix(n, ".lock") || n == ".pwd.lock" || n == "nshadow" || n == "npasswd" || n == "ngroup" || n == "ngshadow" ||
			slices.Contains([]string{"passwd-", "group-", "shadow-", "gshadow-", "subuid-", "subgid-", "passwd+", "group+", "shadow+", "gshadow+", "subuid+", "subgid+"}, n) {
			continue
		}
		out = append(out, n)
	}
	return out
}

// restores: each user restores with their own rights, only what they may
// read, and only where they may write.
func (a *authz) restores(t *testing.T) {
	home := dbusapi.ProfilePath("home")
	restore := func(user string, paths []string, extra ...string) gdbusResult {
		t.Helper()
		r := a.gdbus(user, home, "Profile.Restore", gv("latest"), gvList(paths...), gvOpts(extra...))
		label := strings.Join(paths, ",")
		if len(extra) > 0 {
			label += " " + strings.Join(extra, ",")
		}
		a.matrix = append(a.matrix, [3]string{"Profile.Restore " + label, user, r.outcome()})
		return r
	}
	to := func(dir string) string { return "'to': <" + gv(dir) + ">" }

	t.Run("own file into own home", func(t *testing.T) {
		r := restore(ksOwner, []string{ownerSecret}, to("/home/ks-owner/Restored"))
		if r.errName != "" {
			t.Fatalf("restore: %s %s", r.errName, r.stderr)
		}
		if j := a.waitJob(jobOf(t, r.out)); j.ErrorName != "" {
			t.Fatalf("restore job: %s: %s", j.ErrorName, j.Message)
		}
		got := fileState("/home/ks-owner/Restored/owner-secret.txt")
		want := fmt.Sprintf("uid %d mode -rw------- %q", a.uids[ksOwner], "owner secret v2, longer\n")
		if got != want {
			t.Errorf("restored file: %s, want %s", got, want)
		}
		st, err := os.Stat("/home/ks-owner/Restored")
		if err != nil || st.Sys().(*syscall.Stat_t).Uid != a.uids[ksOwner] {
			t.Errorf("the destination folder is not ks-owner's: %v", err)
		}
	})
	t.Run("other user's file", func(t *testing.T) {
		r := restore(ksOther, []string{ownerSecret}, to("/home/ks-other/Restored"))
		if r.errName != errNotAuthorized {
			t.Errorf("ks-other restoring ks-owner's private file: %q, want NotAuthorized", r.errName)
		}
		if _, err := os.Lstat("/home/ks-other/Restored/owner-secret.txt"); err == nil {
			t.Error("ks-owner's private file was restored for ks-other")
		}
	})
	t.Run("readable file of another user", func(t *testing.T) {
		r := restore(ksOther, []string{ownerPublic}, to("/home/ks-other/Restored"))
		if r.errName != "" {
			t.Fatalf("restore: %s %s", r.errName, r.stderr)
		}
		if j := a.waitJob(jobOf(t, r.out)); j.ErrorName != "" {
			t.Fatalf("restore job: %s: %s", j.ErrorName, j.Message)
		}
		// The copy belongs to whoever restored it, like a cp would.
		want := fmt.Sprintf("uid %d mode -rw-r--r-- %q", a.uids[ksOther], "owner public\n")
		if got := fileState("/home/ks-other/Restored/owner-public.txt"); got != want {
			t.Errorf("restored file: %s, want %s", got, want)
		}
	})
	t.Run("remote user", func(t *testing.T) {
		if r := restore(ksRemote, []string{ownerPublic}, to("/home/ks-remote/Restored")); r.errName != errNotAuthorized {
			t.Errorf("ks-remote: %q, want NotAuthorized", r.errName)
		}
	})
	t.Run("everyone's files with browse-all", func(t *testing.T) {
		// browse-all is "see and restore the backed-up files of every
		// user": the administrator gets a copy of their own.
		r := restore(ksAdmin, []string{ownerSecret}, to("/home/ks-admin/Restored"), "'all-users': <true>")
		if r.errName != "" {
			t.Fatalf("restore: %s %s", r.errName, r.stderr)
		}
		j := a.waitJob(jobOf(t, r.out))
		if j.ErrorName != "" {
			// The engine reads the stored item with the caller's rights,
			// which is right for browse but not for browse-all.
			t.Fatalf("an administrator with browse-all cannot restore another user's private file: %s: %s", j.ErrorName, j.Message)
		}
		want := fmt.Sprintf("uid %d mode -rw------- %q", a.uids[ksAdmin], "owner secret v2, longer\n")
		if got := fileState("/home/ks-admin/Restored/owner-secret.txt"); got != want {
			t.Errorf("restored file: %s, want %s", got, want)
		}
	})
	t.Run("all-users needs browse-all", func(t *testing.T) {
		if r := restore(ksOwner, []string{otherSecret}, to("/home/ks-owner/Restored"), "'all-users': <true>"); r.errName != errNotAuthorized {
			t.Errorf("ks-owner with all-users: %q, want NotAuthorized", r.errName)
		}
	})

	// Where the caller may not write, the job fails and nothing appears,
	// whatever path leads there.
	if err := os.Symlink("/etc", "/home/ks-other/etc-link"); err != nil {
		t.Fatal(err)
	}
	os.Lchown("/home/ks-other/etc-link", int(a.uids[ksOther]), int(a.uids[ksOther]))
	for _, tc := range []struct {
		name, to string
		check    []string // where the file would land
		want     string   // error of the method; "" = the job must fail
	}{
		{"to /root", "/root", []string{"/root/other-secret.txt"}, ""},
		{"to /etc", "/etc", []string{"/etc/other-secret.txt"}, ""},
		{"to a new folder in /etc", "/etc/keepsake-authz", []string{"/etc/keepsake-authz"}, ""},
		{"to another user's folder", ownerDocs, []string{ownerDocs + "/other-secret.txt"}, ""},
		{"through a symlink to /etc", "/home/ks-other/etc-link", []string{"/etc/other-secret.txt"}, ""},
		{"below a symlink to /etc", "/home/ks-other/etc-link/keepsake-authz", []string{"/etc/keepsake-authz"}, ""},
		{"with ..", "/tmp/x/../../etc", []string{"/etc/other-secret.txt"}, errInvalidArgs},
		{"relative", "etc", []string{"/etc/other-secret.txt", "/home/ks-other/etc/other-secret.txt"}, errInvalidArgs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := map[string]string{}
			for _, p := range tc.check {
				before[p] = fileState(p)
			}
			etcBefore := strings.Join(etcNames(), "\n")
			r := restore(ksOther, []string{otherSecret}, to(tc.to))
			if r.errName != tc.want {
				t.Fatalf("restore to %s: %q %s, want %q", tc.to, r.errName, r.stderr, tc.want)
			}
			if tc.want == "" {
				j := a.waitJob(jobOf(t, r.out))
				if j.ErrorName == "" {
					t.Errorf("restore to %s succeeded: %s", tc.to, j.Message)
				}
				t.Logf("restore to %s: %s: %s", tc.to, j.ErrorName, j.Message)
				a.matrix[len(a.matrix)-1][2] = "job fails (" + strings.TrimPrefix(j.ErrorName, "io.github.keepsake.Keepsake1.Error.") + ")"
			}
			for _, p := range tc.check {
				if got := fileState(p); got != before[p] {
					t.Errorf("%s changed: %s, was %s", p, got, before[p])
				}
			}
			if etcAfter := strings.Join(etcNames(), "\n"); etcAfter != etcBefore {
				t.Errorf("/etc gained or lost entries")
			}
		})
	}
}

// cancels: a job can be stopped by whoever started it and by
// administrators, by nobody else. The drive's filesystem is frozen while
// the job runs, so it is still running whatever the timing.
func (a *authz) cancels(t *testing.T) {
	s := a.s
	home := dbusapi.ProfilePath("home")
	for _, tc := range []struct {
		starter  string
		attempts []string // callers in turn; the last one must succeed
		want     []string
	}{
		{ksOwner, []string{ksOther, ksRemote, ksRoot}, []string{errNotAuthorized, errNotAuthorized, ""}},
		{ksOther, []string{ksOwner, ksAdmin}, []string{errNotAuthorized, ""}},
		{ksOwner, []string{ksOwner}, []string{""}},
	} {
		t.Run("started by "+tc.starter, func(t *testing.T) {
			// Browsing mounts the drive; freezing it stalls the backup's
			// first write.
			if _, err := s.client.Snapshots(bg, "home", api.ListOptions{}); err != nil {
				t.Fatal(err)
			}
			// The drive monitor reports mounts a moment after they happen.
			mp := ""
			s.waitFor("the drive to show as mounted", 10*time.Second, func() bool {
				ds, err := s.client.Drives(bg)
				for _, d := range ds {
					if err == nil && d.UUID == a.drive.uuid {
						mp = d.MountPoint
					}
				}
				return mp != ""
			})
			if out, err := rootCmd("fsfreeze", "-f", mp); err != nil {
				t.Fatalf("fsfreeze: %v %s", err, out)
			}
			thawed := false
			thaw := func() {
				if !thawed {
					thawed = true
					rootCmd("fsfreeze", "-u", mp)
				}
			}
			defer thaw()
			// Change a file so the backup has something to write.
			homeFile(t, ksOwner, ownerPublic, "owner public "+time.Now().String()+"\n", 0o644)
			r := a.gdbus(tc.starter, home, "Profile.BackupNow", gvOpts("'full': <true>"))
			if r.errName != "" {
				t.Fatalf("BackupNow as %s: %s %s", tc.starter, r.errName, r.stderr)
			}
			job := jobOf(t, r.out)
			for i, who := range tc.attempts {
				c := a.gdbus(who, job, "Job.Cancel", gvOpts())
				a.matrix = append(a.matrix, [3]string{"Job.Cancel (job of " + tc.starter + ")", who, c.outcome()})
				if c.errName != tc.want[i] {
					t.Errorf("Cancel as %s of %s's job: %q %s, want %q", who, tc.starter, c.errName, c.stderr, tc.want[i])
				}
				if j, err := s.client.Job(bg, job); err == nil && j.Finished && i < len(tc.attempts)-1 {
					t.Fatalf("the job finished after %s's refused Cancel: %s %s", who, j.ErrorName, j.Message)
				}
			}
			thaw()
			j := a.waitJob(job)
			if j.ErrorName != "io.github.keepsake.Keepsake1.Error.Cancelled" {
				t.Errorf("job ended with %q (%s), want Cancelled", j.ErrorName, j.Message)
			}
		})
	}
}

// symlinkSource: a symlink in the user's home passes the "inside your
// home" test by its name, but must not make root back up what it points
// to for that user to read. The service accepts such a source (it is a
// name in the user's home) and the backup succeeds, but the walk never
// follows a symlink: the snapshot holds the link itself, nothing behind
// it, for the user and for root alike.
func (a *authz) symlinkSource(t *testing.T) {
	s := a.s
	home := dbusapi.ProfilePath("home")
	// A folder only root can reach (t.TempDir's parents are 0700),
	// holding a world-readable file.
	hidden := filepath.Join(t.TempDir(), "hidden")
	realfs.WriteTree(t, hidden, map[string]string{"inner/root-only-note.txt": "root only\n"})
	if err := os.Symlink(hidden, "/home/ks-owner/escape"); err != nil {
		t.Fatal(err)
	}
	os.Lchown("/home/ks-owner/escape", int(a.uids[ksOwner]), int(a.uids[ksOwner]))
	sources := []string{"/home/ks-owner/escape", "/home/ks-owner/escape/inner"}
	defer func() {
		for _, p := range sources {
			a.gdbus(ksRoot, home, "Profile.RemoveSource", gv(p), gvOpts())
		}
	}()
	for _, p := range sources {
		r := a.gdbus(ksOwner, home, "Profile.AddSource", gv(p), gvOpts())
		a.matrix = append(a.matrix, [3]string{"Profile.AddSource symlink in own home", ksOwner, r.outcome()})
		if r.errName != "" {
			t.Fatalf("AddSource %s: %s %s, want it accepted (a name in the user's home)", p, r.errName, r.stderr)
		}
	}
	job, err := s.client.BackupNow(bg, "home", api.BackupOptions{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.wait(job)
	if err != nil || j.ErrorName != "" {
		t.Fatalf("backup with symlinked sources: %v %q %s, want it to succeed", err, j.ErrorName, j.Message)
	}
	// The link itself is in the snapshot, as a link.
	entries, err := s.client.List(bg, "home", "latest", "/home/ks-owner", api.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var link *api.Entry
	for i := range entries {
		if string(entries[i].Name) == "escape" {
			link = &entries[i]
		}
	}
	if link == nil || link.Type != "symlink" || string(link.Target) != hidden {
		t.Errorf("escape in the snapshot: %+v, want a symlink to %s", link, hidden)
	}
	// Nothing behind it, not even for root.
	if inner, err := s.client.List(bg, "home", "latest", "/home/ks-owner/escape/inner", api.ListOptions{}); err != nil || len(inner) != 0 {
		t.Errorf("root lists the folder behind the link: %v %+v, want an empty list", err, inner)
	}
	if hits, err := s.client.Search(bg, "home", "root-only-note*", api.SearchOptions{}); err != nil || len(hits) != 0 {
		t.Errorf("root's search for the file behind the link: %v %+v, want no hit", err, hits)
	}
	r := a.gdbus(ksOwner, home, "Profile.Search", gv("root-only-note*"), gvOpts())
	a.matrix = append(a.matrix, [3]string{"Profile.Search file behind symlinked source", ksOwner, r.outcome()})
	if r.errName != "" || r.out != "(@aa{sv} [],)" {
		t.Errorf("ks-owner's search for the file behind the link: %s %q %s, want an empty list", r.errName, r.out, r.stderr)
	}
	r = a.gdbus(ksOwner, home, "Profile.ListDirectory", gv("latest"), gv("/home/ks-owner/escape/inner"), gvOpts())
	a.matrix = append(a.matrix, [3]string{"Profile.ListDirectory folder behind symlinked source", ksOwner, r.outcome()})
	// A folder the snapshot does not hold lists as empty.
	if r.errName != "" || r.out != "(@aa{sv} [],)" {
		t.Errorf("ks-owner lists the folder behind the link: %s %q %s, want an empty list", r.errName, r.out, r.stderr)
	}
}

// rootCmd runs a command as the test (root) and returns its output.
func rootCmd(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}
