package polkit_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/internal/bustest"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/service/polkit"
)

const prefix = "io.github.keepsake.keepsake1."

// The actions of data/io.github.keepsake.keepsake1.policy and their implicit
// authorizations (any, inactive, active): what the policy promises.
var actions = []struct {
	verb                  string
	any, inactive, active string
}{
	{"backup", "no", "yes", "yes"},
	{"browse", "no", "yes", "yes"},
	{"restore", "no", "yes", "yes"},
	{"manage-own-folders", "no", "yes", "yes"},
	{"configure", "auth_admin", "auth_admin_keep", "auth_admin_keep"},
	{"browse-all", "auth_admin", "auth_admin_keep", "auth_admin_keep"},
	{"delete-snapshots", "auth_admin", "auth_admin_keep", "auth_admin_keep"},
}

func requirePolkit(t *testing.T) {
	t.Helper()
	realfs.RequireRoot(t, "a private system bus with polkitd, and other users")
	realfs.RequireCommands(t, "dbus-daemon", "/usr/lib/polkit-1/polkitd", "setpriv", "useradd", "unshare")
}

func check(t *testing.T, a *polkit.Authority, sender, action string) polkit.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := a.Check(ctx, sender, action, false)
	if err != nil {
		t.Fatalf("Check(%s, %s): %v", sender, action, err)
	}
	return res
}

// With the shipped policy and no rules: root may do everything; an ordinary
// user outside any local session (no logind here, so allow_any applies)
// gets a plain no for the own-files actions and a password challenge for
// the administrator actions.
func TestShippedDefaults(t *testing.T) {
	requirePolkit(t)
	bus := bustest.StartSystemBus(t)
	bus.StartPolkit(t, "")
	bustest.User(t, "ks-pk-user")
	conn := bus.Conn(t)
	a := polkit.New(conn)
	rootName := conn.Names()[0]
	userName := bus.ConnectAs(t, "ks-pk-user")

	for _, act := range actions {
		t.Run(act.verb, func(t *testing.T) {
			if res := check(t, a, rootName, prefix+act.verb); !res.Authorized {
				t.Errorf("root: %+v, want authorized", res)
			}
			res := check(t, a, userName, prefix+act.verb)
			wantChallenge := act.any == "auth_admin"
			if res.Authorized || res.Challenge != wantChallenge {
				t.Errorf("user: authorized=%v challenge=%v, want authorized=false challenge=%v",
					res.Authorized, res.Challenge, wantChallenge)
			}
		})
	}
}

// Rules an administrator writes take effect, per group, and the policy's
// implications hold: whoever may configure may manage their own folders;
// whoever may browse everything may browse and restore their own files.
func TestRules(t *testing.T) {
	requirePolkit(t)
	bus := bustest.StartSystemBus(t)
	bus.StartPolkit(t, `
polkit.addRule(function(action, subject) {
    if (action.id == "io.github.keepsake.keepsake1.configure" && subject.isInGroup("ks-pk-admins"))
        return polkit.Result.YES;
    if (action.id == "io.github.keepsake.keepsake1.browse-all" && subject.isInGroup("ks-pk-auditors"))
        return polkit.Result.YES;
});
`)
	bustest.User(t, "ks-pk-admin", "ks-pk-admins")
	bustest.User(t, "ks-pk-auditor", "ks-pk-auditors")
	bustest.User(t, "ks-pk-user")
	a := polkit.New(bus.Conn(t))
	admin := bus.ConnectAs(t, "ks-pk-admin")
	auditor := bus.ConnectAs(t, "ks-pk-auditor")
	other := bus.ConnectAs(t, "ks-pk-user")

	tests := []struct {
		name, sender, verb string
		want               bool
	}{
		{"admin configures", admin, "configure", true},
		{"admin manages own folders (implied)", admin, "manage-own-folders", true},
		{"admin may not delete snapshots", admin, "delete-snapshots", false},
		{"admin may not browse everything", admin, "browse-all", false},
		{"auditor browses everything", auditor, "browse-all", true},
		{"auditor browses own files (implied)", auditor, "browse", true},
		{"auditor restores own files (implied)", auditor, "restore", true},
		{"auditor may not configure", auditor, "configure", false},
		{"other user may not configure", other, "configure", false},
		{"other user may not browse everything", other, "browse-all", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if res := check(t, a, tt.sender, prefix+tt.verb); res.Authorized != tt.want {
				t.Errorf("%s: %+v, want authorized=%v", tt.verb, res, tt.want)
			}
		})
	}

	// Rules are read live: taking them away takes the grant away.
	bus.SetRules(t, "")
	if res := check(t, a, admin, prefix+"configure"); res.Authorized || !res.Challenge {
		t.Errorf("configure after the rules are gone: %+v, want a challenge", res)
	}
}

// The subject is the caller's bus name and nothing else: a name that is not
// on the bus is an error, never an answer for somebody else.
func TestUnknownSender(t *testing.T) {
	requirePolkit(t)
	bus := bustest.StartSystemBus(t)
	bus.StartPolkit(t, "")
	a := polkit.New(bus.Conn(t))
	res, err := a.Check(context.Background(), ":1.9999", prefix+"browse", false)
	if err == nil {
		t.Fatalf("Check for a name not on the bus: %+v, want an error", res)
	}
	if res.Authorized {
		t.Errorf("authorized despite error %v", err)
	}
	if errors.Is(err, polkit.ErrNotRunning) {
		t.Errorf("a vanished caller reported as polkit not running: %v", err)
	}
}

// An interactive check for an administrator action, with no authentication
// agent to ask the password, answers at once rather than hanging.
func TestInteractiveWithoutAgent(t *testing.T) {
	requirePolkit(t)
	bus := bustest.StartSystemBus(t)
	bus.StartPolkit(t, "")
	bustest.User(t, "ks-pk-user")
	a := polkit.New(bus.Conn(t))
	user := bus.ConnectAs(t, "ks-pk-user")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := a.Check(ctx, user, prefix+"configure", true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Authorized {
		t.Errorf("interactive configure without an agent: %+v, want not authorized", res)
	}
}

// Without polkitd on the bus, the error says so, and the service can tell
// it apart from other failures.
func TestPolkitNotRunning(t *testing.T) {
	realfs.RequireCommands(t, "dbus-daemon")
	bus := bustest.StartSystemBus(t)
	conn := bus.Conn(t)
	res, err := polkit.New(conn).Check(context.Background(), conn.Names()[0], prefix+"browse", false)
	if !errors.Is(err, polkit.ErrNotRunning) {
		t.Fatalf("Check without polkitd: %+v, %v; want ErrNotRunning", res, err)
	}
	if !strings.Contains(err.Error(), "polkit is not running") {
		t.Errorf("error %q does not say polkit is not running", err)
	}
}

// A cancelled context ends the check with the context's error.
func TestCancelled(t *testing.T) {
	requirePolkit(t)
	bus := bustest.StartSystemBus(t)
	bus.StartPolkit(t, "")
	conn := bus.Conn(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := polkit.New(conn).Check(ctx, conn.Names()[0], prefix+"browse", true)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Check with a cancelled context: %v, want context.Canceled", err)
	}
}

// polkit itself accepts the shipped policy file: pkaction lists every action
// with the implicit authorizations the policy promises, and a message.
func TestPkactionListsShippedActions(t *testing.T) {
	requirePolkit(t)
	realfs.RequireCommands(t, "pkaction")
	bus := bustest.StartSystemBus(t)
	bus.StartPolkit(t, "")
	for _, act := range actions {
		t.Run(act.verb, func(t *testing.T) {
			cmd := exec.Command("pkaction", "--action-id", prefix+act.verb, "--verbose")
			cmd.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+bus.Address)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("pkaction: %v\n%s", err, out)
			}
			fields := map[string]string{}
			for _, line := range strings.Split(string(out), "\n") {
				if k, v, ok := strings.Cut(line, ":"); ok {
					fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
				}
			}
			want := map[string]string{
				"implicit any":      act.any,
				"implicit inactive": act.inactive,
				"implicit active":   act.active,
				"vendor":            "Keepsake",
				"icon":              "io.github.keepsake.Keepsake",
			}
			for k, v := range want {
				if fields[k] != v {
					t.Errorf("%s = %q, want %q\n%s", k, fields[k], v, out)
				}
			}
			if len(fields["message"]) < 20 || len(fields["description"]) < 5 {
				t.Errorf("missing description or message:\n%s", out)
			}
		})
	}
}
