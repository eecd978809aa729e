package computers

import (
	"testing"
	"time"

	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/dbusapi"
)

var now = time.Date(2026, 12, 10, 10, 0, 0, 0, time.Local)

func ago(d time.Duration) int64 { return now.Add(-d).UnixMicro() }

func local(name string) client.Profile {
	return client.Profile{Name: name, Sources: []string{"/home/ann"}, Host: "desk", State: uint32(dbusapi.StateIdle),
		LastSuccess: ago(5 * time.Minute), LastAttempt: ago(5 * time.Minute), Job: "/"}
}

func remote(name, host string) client.Profile {
	return client.Profile{Name: name, Sources: []string{"ssh://ann@" + host + "/home"}, Host: host, Remote: true,
		HostKey: KeyAccepted, State: uint32(dbusapi.StateIdle), LastSuccess: ago(2 * time.Hour), LastAttempt: ago(2 * time.Hour), Job: "/"}
}

func TestTitle(t *testing.T) {
	noHost := remote("nas", "nas.local")
	noHost.Host = ""
	all := []client.Profile{local("ann"), remote("laptop", "laptop"), noHost}
	for i, want := range []string{ThisComputer, "laptop", "nas.local"} {
		if got := Title(all[i], all); got != want {
			t.Errorf("Title(%s) = %q, want %q", all[i].Name, got, want)
		}
	}
	two := []client.Profile{local("ann"), local("system")}
	if got := Titles(two); got[0] != "This Computer (ann)" || got[1] != "This Computer (system)" {
		t.Errorf("two profiles of this computer: %q", got)
	}
	if got := Title(local("ann"), []client.Profile{local("ann")}); got != ThisComputer {
		t.Errorf("alone: %q", got)
	}
}

func TestRowTexts(t *testing.T) {
	with := func(p client.Profile, f func(p *client.Profile)) client.Profile { f(&p); return p }
	cases := []struct {
		name     string
		prof     client.Profile
		jobs     []client.Job
		subtitle string
		kind     Kind
		action   Action
	}{
		{"this computer, up to date", local("ann"), nil,
			"Up to date · last backup 5 minutes ago", Fine, NoAction},
		{"reachable computer, up to date", remote("laptop", "laptop"), nil,
			"Up to date · last backup today at 08:00", Fine, NoAction},
		{"this computer, with problems", with(local("ann"), func(p *client.Profile) {
			p.LastProblems, p.LastProblemCount = []string{"/home/ann/a: cannot read: input/output error"}, 1
		}), nil,
			"Backed up, with 1 problem · last backup 5 minutes ago", Warning, NoAction},
		{"another computer, with problems", with(remote("laptop", "laptop"), func(p *client.Profile) {
			p.LastProblems, p.LastProblemCount = []string{"/home/a: x", "/home/b: x"}, 2
		}), nil,
			"Backed up, with 2 problems · last backup today at 08:00", Warning, NoAction},
		{"never backed up", with(local("ann"), func(p *client.Profile) { p.LastSuccess, p.LastAttempt = 0, 0 }), nil,
			"Not backed up yet", Fine, NoAction},
		{"backing up, with progress", with(remote("laptop", "laptop"), func(p *client.Profile) {
			p.State, p.Job = uint32(dbusapi.StateRunning), "/j/1"
		}), []client.Job{{Path: "/j/1", Progress: 0.42}},
			"Backing up now (42%) · last backup today at 08:00", Fine, NoAction},
		{"unreachable since its last backup", with(remote("laptop", "laptop"), func(p *client.Profile) {
			p.LastSuccess, p.LastAttempt, p.LastResult, p.LastMessage = ago(20*time.Hour), ago(time.Minute), "HostUnreachable", "no route to host"
		}), nil,
			"Not reachable since yesterday at 14:00", Warning, NoAction},
		{"unreachable for minutes", with(remote("laptop", "laptop"), func(p *client.Profile) {
			p.LastSuccess, p.LastResult = ago(25*time.Minute), "io.github.keepsake.Keepsake1.Error.HostUnreachable"
		}), nil,
			"Not reachable for 25 minutes", Warning, NoAction},
		{"never reached", with(remote("nas", "nas"), func(p *client.Profile) {
			p.LastSuccess, p.LastAttempt, p.LastResult = 0, ago(3*time.Minute), "HostUnreachable"
		}), nil,
			"Not reachable · last tried 3 minutes ago", Warning, NoAction},
		{"unreachable and overdue", with(remote("laptop", "laptop"), func(p *client.Profile) {
			p.LastSuccess, p.LastResult, p.Overdue = ago(9*24*time.Hour+time.Hour), "HostUnreachable", true
		}), nil,
			"Not reachable since 1 December\nOverdue: no backup for 9 days", Warning, NoAction},
		{"overdue alone", with(local("ann"), func(p *client.Profile) {
			p.LastSuccess, p.Overdue = ago(8*24*time.Hour), true
		}), nil,
			"Up to date · last backup 2 December at 10:00\nOverdue: no backup for 8 days", Warning, NoAction},
		{"host key changed", with(remote("laptop", "laptop"), func(p *client.Profile) {
			p.HostKey, p.LastResult, p.State = KeyChanged, "HostKeyChanged", uint32(dbusapi.StateFailed)
		}), nil,
			"Host key changed — check it\nIts backups have stopped until then.", Problem, ReviewKey},
		{"changed key reported by the last backup only", with(remote("laptop", "laptop"), func(p *client.Profile) {
			p.LastResult = "HostKeyChanged"
		}), nil,
			"Host key changed — check it\nIts backups have stopped until then.", Problem, ReviewKey},
		{"key never accepted", with(remote("nas", "nas"), func(p *client.Profile) {
			p.HostKey, p.LastSuccess, p.LastResult = KeyNew, 0, "HostKeyUnknown"
		}), nil,
			"Not set up yet — check its host key", Warning, ReviewKey},
		{"refused: the failure with its message", with(remote("laptop", "laptop"), func(p *client.Profile) {
			p.State, p.LastResult, p.LastMessage = uint32(dbusapi.StateFailed), "RemoteRefused", "permission denied (publickey)"
		}), nil,
			"Last backup failed · last backup today at 08:00\nThe other computer refused Keepsake. Add Keepsake’s key to its authorized_keys as shown when it was set up. (Permission denied (publickey))",
			Problem, NoAction},
		{"transfer failed, never backed up", with(remote("laptop", "laptop"), func(p *client.Profile) {
			p.LastSuccess, p.LastResult, p.LastMessage = 0, "TransferFailed", "rsync: connection unexpectedly closed"
		}), nil,
			"Last backup failed\nCopying from the other computer failed. (Rsync: connection unexpectedly closed)", Problem, NoAction},
		{"cancelled is no problem", with(local("ann"), func(p *client.Profile) { p.LastResult = "Cancelled" }), nil,
			"Up to date · last backup 5 minutes ago", Fine, NoAction},
		{"waiting for the drive", with(local("ann"), func(p *client.Profile) { p.State = uint32(dbusapi.StateWaitingForDrive) }), nil,
			"Waiting for the backup drive · last backup 5 minutes ago", Fine, NoAction},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := live.State{Profiles: []client.Profile{c.prof}, Jobs: c.jobs}
			r := RowOf(st, c.prof, now)
			if r.Subtitle != c.subtitle || r.Kind != c.kind || r.Action != c.action {
				t.Errorf("got %q kind %d action %d\nwant %q kind %d action %d", r.Subtitle, r.Kind, r.Action, c.subtitle, c.kind, c.action)
			}
			if r.Remote != IsRemote(c.prof) || (r.Remote && r.Icon != "network-server-symbolic") {
				t.Errorf("remote %v, icon %q", r.Remote, r.Icon)
			}
		})
	}
}

func TestRowsListEveryComputer(t *testing.T) {
	st := live.State{Profiles: []client.Profile{local("ann"), remote("laptop", "laptop"), remote("nas", "nas")}}
	rows := Rows(st, now)
	if len(rows) != 3 || rows[0].Title != ThisComputer || rows[1].Name != "laptop" || rows[2].Title != "nas" || rows[0].Remote {
		t.Errorf("rows = %+v", rows)
	}
}

func TestFoldersAndWhere(t *testing.T) {
	p := client.Profile{Name: "l", Sources: []string{"ssh://ann@laptop:2222/home", "ssh://ann@laptop:2222/etc,/srv/my%2Cdata"}}
	if got := Folders(p); len(got) != 3 || got[0] != "/home" || got[2] != "/srv/my,data" {
		t.Errorf("Folders = %q", got)
	}
	if got := Where(p); got != "ann@laptop:2222" {
		t.Errorf("Where = %q", got)
	}
	if got := Where(local("ann")); got != "" {
		t.Errorf("Where(local) = %q", got)
	}
	if got := Folders(local("ann")); len(got) != 1 || got[0] != "/home/ann" {
		t.Errorf("Folders(local) = %q", got)
	}
}

func TestSince(t *testing.T) {
	for _, c := range []struct {
		t    time.Time
		want string
	}{
		{now.Add(-30 * time.Second), "for a moment"},
		{now.Add(-90 * time.Second), "for a minute"},
		{now.Add(-5 * time.Minute), "for 5 minutes"},
		{now.Add(-3 * time.Hour), "since today at 07:00"},
		{now.Add(-24 * time.Hour), "since yesterday at 10:00"},
		{now.AddDate(0, 0, -5), "since 5 December"},
		{now.AddDate(-1, 0, 0), "since 10 December 2025"},
	} {
		if got := Since(c.t, now); got != c.want {
			t.Errorf("Since(%v) = %q, want %q", c.t, got, c.want)
		}
	}
}
