package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/flatpak"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/kerr"
)

// flatpakFile is the name of the Flatpak inventory a snapshot carries, in
// <snapshot>/.keepsake/ and in the catalog (keepsaked writes it).
const flatpakFile = "flatpak.txt"

const (
	flatpaksUsage       = "flatpaks [SNAPSHOT] [--all-users]"
	flatpakRestoreUsage = "flatpak-restore SNAPSHOT [REF|APPID...] [--installation system|user:NAME] [--offline] [--no-data] [--overwrite]"
	appDataRestoreUsage = "app-data-restore SNAPSHOT APPID [--overwrite]"
	repoFlatpaksUsage   = "flatpaks [SNAPSHOT]"
	repoRestoreUsage    = "flatpak-restore SNAPSHOT [REF|APPID...] [--installation system|user:NAME] [--offline]"
)

// flatpakRow is one saved app or runtime beside what is installed now: the
// keys of the service's ListFlatpaks, so --json reads the same with or
// without --repo.
type flatpakRow struct {
	Installation     string `json:"installation"`
	Ref              string `json:"ref"`
	Kind             string `json:"kind"`
	ID               string `json:"id"`
	Branch           string `json:"branch"`
	Origin           string `json:"origin"`
	Version          string `json:"version"`
	Commit           string `json:"commit"`
	InstalledSize    int64  `json:"installed-size"`
	State            string `json:"state"`
	InstalledVersion string `json:"installed-version"`
	Data             bool   `json:"data"`
}

func rowFromRef(d api.FlatpakRef) flatpakRow {
	return flatpakRow{Installation: d.Installation, Ref: d.Ref, Kind: d.Kind, ID: d.ID,
		Branch: d.Branch, Origin: d.Origin, Version: d.Version, Commit: d.Commit,
		InstalledSize: int64(d.InstalledSize), State: d.State, InstalledVersion: d.InstalledVersion, Data: d.Data}
}

// printFlatpaks prints rows as a table, or one JSON object a line.
func printFlatpaks(env *Env, rows []flatpakRow) error {
	if env.JSON {
		for _, r := range rows {
			env.emit(r)
		}
		return nil
	}
	if len(rows) == 0 {
		fmt.Fprintln(env.Stdout, "no Flatpak apps recorded that you may see")
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTALLATION\tKIND\tID\tBRANCH\tVERSION\tSTATE\tDATA")
	for _, r := range rows {
		version := r.Version
		if version == "" {
			version = "-"
		}
		// The saved version, then what is installed when it differs.
		if r.InstalledVersion != "" && r.InstalledVersion != r.Version {
			version += " → " + r.InstalledVersion
		}
		data := "-"
		if r.Kind == flatpak.KindApp {
			data = "no"
			if r.Data {
				data = "yes"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Installation, r.Kind, r.ID, r.Branch, version, r.State, data)
	}
	return tw.Flush()
}

// checkInstallation accepts "system" or "user:NAME".
func checkInstallation(s string) error {
	if s == "system" {
		return nil
	}
	if name, ok := strings.CutPrefix(s, "user:"); ok && name != "" && !strings.ContainsAny(name, "/:\x00 ") {
		return nil
	}
	return usagef("--installation is \"system\" or \"user:NAME\", not %q", s)
}

// resultLine is one thing a Flatpak restore did: kind (app, runtime,
// remote, override, pin, mask, data), what, and the outcome ("installed",
// "present", "failed: why", "restored to PATH").
type resultLine struct{ kind, ref, outcome string }

// kindOrder is the order a restore works in, which is how its results read.
var kindOrder = map[string]int{flatpak.KindRemote: 0, flatpak.KindRuntime: 1, flatpak.KindApp: 2,
	flatpak.KindOverride: 3, flatpak.KindPin: 4, flatpak.KindMask: 5, "data": 6}

func sortResults(ls []resultLine) {
	sort.SliceStable(ls, func(i, j int) bool {
		a, b := ls[i], ls[j]
		ra, oka := kindOrder[a.kind]
		rb, okb := kindOrder[b.kind]
		if !oka {
			ra = len(kindOrder)
		}
		if !okb {
			rb = len(kindOrder)
		}
		if ra != rb {
			return ra < rb
		}
		return a.ref < b.ref
	})
}

// resultsOf reads a Flatpak restore job's Result: one key "KIND REF" per
// thing done, its value the outcome.
func resultsOf(res map[string]dbus.Variant) []resultLine {
	var out []resultLine
	for k, v := range res {
		kind, ref, _ := strings.Cut(k, " ")
		outcome, ok := v.Value().(string)
		if !ok {
			outcome = fmt.Sprint(v.Value())
		}
		out = append(out, resultLine{kind, ref, outcome})
	}
	sortResults(out)
	return out
}

func printResults(env *Env, ls []resultLine) {
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	for _, l := range ls {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", l.kind, l.ref, l.outcome)
	}
	tw.Flush()
}

func resultMap(ls []resultLine) map[string]string {
	m := map[string]string{}
	for _, l := range ls {
		m[l.kind+" "+l.ref] = l.outcome
	}
	return m
}

// svcFlatpaks lists a snapshot's Flatpak apps beside what is installed.
func svcFlatpaks(env *Env, args []string) error {
	fs := flags("flatpaks")
	all := fs.Bool("all-users", false, "")
	return withProfile(env, fs, args, 0, 1, flatpaksUsage, func(s *svc, name string, pos []string) error {
		snapshot := "latest"
		if len(pos) == 1 {
			snapshot = pos[0]
		}
		o := api.ListOptions{Auth: s.opts(), Scope: api.Scope{AllUsers: *all}}
		ds, err := s.c.Flatpaks(s.ctx, name, snapshot, o)
		if err != nil {
			return err
		}
		rows := make([]flatpakRow, 0, len(ds))
		for _, d := range ds {
			rows = append(rows, rowFromRef(d))
		}
		return printFlatpaks(env, rows)
	})
}

// svcFlatpakRestore reinstalls a snapshot's apps through the service and
// says what became of each.
func svcFlatpakRestore(env *Env, args []string) error {
	fs := flags("flatpak-restore")
	inst := fs.String("installation", "", "")
	offline := fs.Bool("offline", false, "")
	noData := fs.Bool("no-data", false, "")
	overwrite := fs.Bool("overwrite", false, "")
	return withProfile(env, fs, args, 1, -1, flatpakRestoreUsage, func(s *svc, name string, pos []string) error {
		o := api.FlatpakRestoreOptions{Auth: s.opts(), Offline: *offline, Overwrite: *overwrite}
		if *inst != "" {
			if err := checkInstallation(*inst); err != nil {
				return err
			}
			o.Installation = *inst
		}
		if *noData {
			data := false
			o.Data = &data
		}
		job, err := s.c.RestoreFlatpaks(s.ctx, name, pos[0], pos[1:], o)
		if err != nil {
			return err
		}
		j, err := s.follow(job)
		done := ""
		if j.Message != "" {
			done = "flatpak-restore: " + j.Message
		}
		return reportRestore(env, map[string]any{"job": string(job), "operation": j.Operation, "message": j.Message},
			resultsOf(j.Result), err, done)
	})
}

// svcAppDataRestore rolls one app's ~/.var/app/ID back to a snapshot.
func svcAppDataRestore(env *Env, args []string) error {
	fs := flags("app-data-restore")
	overwrite := fs.Bool("overwrite", false, "")
	return withProfile(env, fs, args, 2, 2, appDataRestoreUsage, func(s *svc, name string, pos []string) error {
		o := api.AppDataOptions{Auth: s.opts(), Overwrite: *overwrite}
		return s.startAndFollow("restored", func() (dbus.ObjectPath, error) { return s.c.RestoreAppData(s.ctx, name, pos[0], pos[1], o) })
	})
}

// svcFlatpakOfflineSize says what turning flatpak-offline on would cost.
func svcFlatpakOfflineSize(env *Env, args []string) error {
	return withProfile(env, flags("flatpak-offline-size"), args, 0, 0, "flatpak-offline-size takes no arguments", func(s *svc, name string, _ []string) error {
		n, err := s.c.FlatpakOfflineSize(s.ctx, name, s.opts())
		if err != nil {
			return err
		}
		if env.JSON {
			env.emit(map[string]any{"event": "result", "bytes": n})
			return nil
		}
		fmt.Fprintf(env.Stdout, "an offline copy of the installed Flatpak apps takes about %s (%d bytes) on the drive\n", humanBytes(int64(n)), n)
		fmt.Fprintln(env.Stdout, "turn it on with: keepsakectl configure flatpak-offline=yes")
		return nil
	})
}

// On the drive directly (--repo): disaster recovery with no service.

// localOptions runs this machine's flatpak; a FLATPAK_SYSTEM_DIR in the
// environment says where its system installation is, as for keepsaked.
func localOptions() flatpak.Options {
	var o flatpak.Options
	if v, ok := os.LookupEnv("FLATPAK_SYSTEM_DIR"); ok {
		o.Env = append(o.Env, "FLATPAK_SYSTEM_DIR="+v)
	}
	return o
}

func installationName(in flatpak.Installation) string {
	if in.Scope == flatpak.ScopeSystem {
		return "system"
	}
	return "user:" + in.User
}

// offlineName is the folder of an installation's offline copy below
// <repo>/flatpak-offline/<host>/ (see keepsaked).
func offlineName(in flatpak.Installation) string {
	if in.Scope == flatpak.ScopeSystem {
		return "system"
	}
	return "user-" + in.User
}

// localInstallation is where a recorded installation lives on this
// machine, which may not be the one that was backed up: the system
// installation flatpak names here, and the user of that name's home.
func localInstallation(ctx context.Context, saved flatpak.Installation, opts flatpak.Options) (flatpak.Installation, error) {
	if saved.Scope == flatpak.ScopeSystem {
		insts, err := flatpak.Installations(ctx, flatpak.Options{Env: opts.Env, Users: []flatpak.Installation{}})
		if err != nil {
			return saved, err
		}
		for _, in := range insts {
			if in.Scope == flatpak.ScopeSystem {
				return in, nil
			}
		}
		// None yet (or no flatpak): where it was.
		return saved, nil
	}
	u, err := user.Lookup(saved.User)
	if err != nil {
		return saved, kerr.New(kerr.NotFound, "user %s does not exist on this machine: create the account first, then restore its apps", saved.User)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil || !filepath.IsAbs(u.HomeDir) || u.HomeDir == "/" {
		return saved, kerr.New(kerr.NotFound, "user %s has no usable home folder on this machine", saved.User)
	}
	return flatpak.Installation{Scope: flatpak.ScopeUser, User: u.Username, UID: uint32(uid), GID: uint32(gid),
		Home: u.HomeDir, Dir: filepath.Join(u.HomeDir, ".local", "share", "flatpak")}, nil
}

// repoInventories reads what a snapshot on the drive recorded.
func repoInventories(c *catalog.Catalog, s catalog.Snapshot) ([]flatpak.Inventory, error) {
	data, err := c.SnapshotFile(s, flatpakFile)
	if kerr.Is(err, kerr.PathNotFound) {
		return nil, kerr.New(kerr.NotFound, "snapshot %s recorded no Flatpak apps (Flatpak backup was off, or flatpak was not installed)", s.Name)
	}
	if err != nil {
		return nil, err
	}
	invs, err := flatpak.ParseText(data)
	if err != nil {
		return nil, fmt.Errorf("read %s of snapshot %s: %w", flatpakFile, s.Name, err)
	}
	return invs, nil
}

// runFlatpaks lists what a snapshot recorded beside what this machine has.
func runFlatpaks(env *Env, args []string) error {
	fs := flag.NewFlagSet("flatpaks", flag.ContinueOnError)
	pos, err := positional(fs, args, 0, 1, repoFlatpaksUsage)
	if err != nil {
		return err
	}
	snapshot := "latest"
	if len(pos) == 1 {
		snapshot = pos[0]
	}
	_, c, err := openCatalog(env)
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := c.Snapshot(env.Host, snapshot)
	if err != nil {
		return err
	}
	invs, err := repoInventories(c, s)
	if err != nil {
		return err
	}
	ctx := context.Background()
	opts := localOptions()
	// Apps of the system installation keep their data in each user's
	// home: show the one of whoever asks.
	myHome := ""
	if u, err := user.Current(); err == nil {
		myHome = u.HomeDir
	}
	rows := []flatpakRow{}
	for _, inv := range invs {
		now := flatpak.Inventory{Installation: inv.Installation}
		home := myHome
		unknown := false
		if in, err := localInstallation(ctx, inv.Installation, opts); err == nil {
			if inv.Installation.Scope == flatpak.ScopeUser {
				home = in.Home
			}
			if now, err = flatpak.Collect(ctx, in, opts); err != nil && !kerr.Is(err, kerr.NotFound) {
				// flatpak missing is "nothing installed"; anything else
				// means this machine could not be looked at.
				fmt.Fprintf(env.Stderr, "keepsakectl: cannot look at installation %s on this machine: %v\n", installationName(inv.Installation), err)
				unknown = true
			}
		} else if inv.Installation.Scope == flatpak.ScopeUser {
			home = inv.Installation.Home
		}
		for _, st := range flatpak.Compare(inv, now) {
			r := flatpakRow{Installation: installationName(inv.Installation), Ref: st.Ref.Ref, Kind: st.Ref.Kind, ID: st.Ref.ID,
				Branch: st.Ref.Branch, Origin: st.Ref.Origin, Version: st.Ref.Version, Commit: st.Ref.Commit,
				InstalledSize: max(st.Ref.InstalledSize, 0), State: st.State}
			if unknown {
				r.State = "unknown"
			}
			if st.Installed != nil {
				r.InstalledVersion = st.Installed.Version
			}
			if st.Ref.Kind == flatpak.KindApp {
				if p := flatpak.DataDir(home, st.Ref.ID); p != "" {
					_, err := c.Lookup(s, p)
					r.Data = err == nil
				}
			}
			rows = append(rows, r)
		}
	}
	return printFlatpaks(env, rows)
}

// runFlatpakRestore reinstalls a snapshot's apps on this machine with no
// service: as root for the system installation; for a user's, as root or
// that user (flatpak then runs as the user).
func runFlatpakRestore(env *Env, args []string) error {
	fs := flag.NewFlagSet("flatpak-restore", flag.ContinueOnError)
	inst := fs.String("installation", "", "")
	offline := fs.Bool("offline", false, "")
	pos, err := positional(fs, args, 1, -1, repoRestoreUsage)
	if err != nil {
		return err
	}
	euid := os.Geteuid()
	want := *inst
	if want != "" {
		if err := checkInstallation(want); err != nil {
			return err
		}
	} else if euid == 0 {
		want = "system"
	} else {
		u, err := user.Current()
		if err != nil {
			return fmt.Errorf("who am I: %w", err)
		}
		want = "user:" + u.Username
	}

	r, c, err := openCatalog(env)
	if err != nil {
		return err
	}
	s, err := c.Snapshot(env.Host, pos[0])
	if err != nil {
		c.Close()
		return err
	}
	invs, err := repoInventories(c, s)
	c.Close()
	if err != nil {
		return err
	}
	var inv flatpak.Inventory
	var have []string
	found := false
	for _, x := range invs {
		have = append(have, installationName(x.Installation))
		if installationName(x.Installation) == want {
			inv, found = x, true
		}
	}
	if !found {
		return kerr.New(kerr.NotFound, "snapshot %s recorded no Flatpak installation %q (it has: %s)", s.Name, want, strings.Join(have, ", "))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := localOptions()
	local, err := localInstallation(ctx, inv.Installation, opts)
	if err != nil {
		return err
	}
	if euid != 0 {
		if local.Scope == flatpak.ScopeSystem {
			return kerr.New(kerr.NotAuthorized, "restoring the system installation needs root: run keepsakectl as root")
		}
		if uint32(euid) != local.UID {
			return kerr.New(kerr.NotAuthorized, "the installation of %s is restored by %s or root", local.User, local.User)
		}
	}
	o := flatpak.RestoreOptions{Refs: pos[1:], Options: opts}
	if *offline {
		o.SideloadRepo = filepath.Join(r.Root, "flatpak-offline", env.Host, offlineName(inv.Installation))
	}
	o.Progress = func(done, total int, ref string) {
		if env.JSON {
			env.emit(map[string]any{"event": "progress", "done": done, "total": total, "ref": ref})
		} else {
			fmt.Fprintf(env.Stderr, "[%d/%d] %s\n", done, total, ref)
		}
	}
	inv.Installation = local
	results, err := flatpak.Restore(ctx, inv, o)
	var ls []resultLine
	failed := 0
	for _, res := range results {
		outcome := res.Outcome
		switch {
		case res.Outcome == flatpak.OutcomeFailed:
			outcome += ": " + res.Message
			failed++
		case res.Message != "":
			outcome += " (" + res.Message + ")"
		}
		ls = append(ls, resultLine{res.Kind, res.Ref, outcome})
	}
	sortResults(ls)
	if err == nil && failed > 0 {
		err = kerr.New(kerr.Failed, "%d of %d failed", failed, len(results))
	}
	return reportRestore(env, map[string]any{"snapshot": s.Name, "installation": want}, ls, err,
		fmt.Sprintf("flatpak-restore: %s of snapshot %s restored; put app data back with: keepsakectl --repo %s restore %s ~/.var/app/APPID",
			want, s.Name, env.Repo, s.Name))
}

// reportRestore prints what a Flatpak restore did, through the service or
// on a drive: one JSON event with the per-ref results, or the results
// then done (what was done comes first, also when some of it failed).
func reportRestore(env *Env, ev map[string]any, ls []resultLine, err error, done string) error {
	if env.JSON {
		ev["event"], ev["results"] = "result", resultMap(ls)
		if err != nil {
			ev["event"], ev["error"] = "error", string(kerr.NameOf(err))
			if m, _ := ev["message"].(string); m == "" {
				ev["message"] = err.Error()
			}
			env.emit(ev)
			return quietError{err}
		}
		env.emit(ev)
		return nil
	}
	printResults(env, ls)
	if err != nil {
		return err
	}
	if done != "" {
		fmt.Fprintln(env.Stdout, done)
	}
	return nil
}
