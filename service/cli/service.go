package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/service/engine"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/kerr"
)

// serviceCommands talk to keepsaked over the system bus: what runs
// without --repo.
var serviceCommands []command

func init() {
	serviceCommands = []command{
		{"status", "status", "each profile's state, last and next backup, drive and free space", svcStatus},
		{"profiles", "profiles", "list backup profiles and their settings", svcProfiles},
		{"create-profile", "create-profile NAME [--drive UUID] [--exclude PATTERN]... SOURCE...", "make a backup profile", svcCreateProfile},
		{"configure", "configure [KEY=VALUE]... (sources=/a:/b excludes=... drive=UUID interval=3600 on-change=yes quiet=300 on-plug=yes skip-on-battery=no retention=... min-free=2% flatpak=yes flatpak-offline=no)", "change the profile's settings (administrators)", svcConfigure},
		{"add-source", "add-source DIR", "back up one more folder", svcAddSource},
		{"remove-source", "remove-source DIR", "stop backing up a folder", svcRemoveSource},
		{"delete-profile", "delete-profile", "forget the profile (its snapshots stay on the drive)", svcDeleteProfile},
		{"drives", "drives", "drives the service knows: present, enrolled, free space, why one cannot be used", svcDrives},
		{"enroll", "enroll UUID", "write a repository to a drive and make it the profile's drive", svcEnroll},
		{"unmount", "unmount UUID", "unmount a drive the service mounted", svcUnmount},
		{"backup-now", "backup-now [--full] [--no-wait]", "back up now and show progress", svcBackupNow},
		{"snapshots", "snapshots", "list snapshots", svcSnapshots},
		{"ls", "ls SNAPSHOT [PATH]", "list a folder of a snapshot", svcLs},
		{"search", "search PATTERN [--in DIR] [--since TIME] [--until TIME] [--limit N]", "find files by name in every snapshot", svcSearch},
		{"versions", "versions PATH", "the distinct versions of a file", svcVersions},
		{"deleted", "deleted DIR [--since TIME]", "files gone from a folder", svcDeleted},
		{"restore", "restore SNAPSHOT PATH... [--to DIR] [--overwrite]", "restore files as yourself", svcRestore},
		{"prune", "prune [--dry-run] [--free SIZE|PERCENT]", "apply the retention policy now", svcPrune},
		{"verify", "verify [--sample PERCENT]", "re-read stored files against the catalog", svcVerify},
		{"flatpaks", flatpaksUsage, "a snapshot's Flatpak apps beside what is installed now", svcFlatpaks},
		{"flatpak-restore", flatpakRestoreUsage, "reinstall a snapshot's Flatpak apps and put their data back", svcFlatpakRestore},
		{"app-data-restore", appDataRestoreUsage, "roll one Flatpak app's data (~/.var/app/APPID) back to a snapshot", svcAppDataRestore},
		{"flatpak-offline-size", "flatpak-offline-size", "what an offline copy of the Flatpak apps would take on the drive", svcFlatpakOfflineSize},
		{"cancel", "cancel JOB", "cancel a running job (its number or object path)", svcCancel},
		{"reload", "reload", "re-read /etc/keepsake/keepsake.conf", svcReload},
	}
}

// svc is a connection to keepsaked and the command line it serves.
type svc struct {
	env *Env
	c   *client.Client
	ctx context.Context
}

// flags is a command's flag set; parse reports its mistakes as usage errors.
func flags(name string) *flag.FlagSet { return flag.NewFlagSet(name, flag.ContinueOnError) }

// withService connects to keepsaked, parses args against fs expecting min
// to max positional arguments (max -1: no limit; usage is the message when
// the count is wrong) and runs fn. It connects before it parses, so that a
// missing service is what a user hears about first.
func withService(env *Env, fs *flag.FlagSet, args []string, min, max int, usage string, fn func(s *svc, pos []string) error) error {
	c, err := client.Connect()
	if err != nil {
		return err
	}
	defer c.Close()
	pos, err := positional(fs, args, min, max, usage)
	if err != nil {
		return err
	}
	return fn(&svc{env: env, c: c, ctx: context.Background()}, pos)
}

// withProfile is withService for a command about one profile: fn gets its
// name, from --profile or the only profile there is.
func withProfile(env *Env, fs *flag.FlagSet, args []string, min, max int, usage string, fn func(s *svc, name string, pos []string) error) error {
	return withService(env, fs, args, min, max, usage, func(s *svc, pos []string) error {
		name, err := s.profile()
		if err != nil {
			return err
		}
		return fn(s, name, pos)
	})
}

// opts are the options every call carries: scripts never want a password
// prompt they cannot answer.
func (s *svc) opts() api.Auth {
	return api.Auth{NoUserInteraction: !s.env.Terminal}
}

// profile is --profile, or the only profile there is.
func (s *svc) profile() (string, error) {
	if s.env.Profile != "" {
		return s.env.Profile, nil
	}
	ps, err := s.c.Profiles(s.ctx)
	if err != nil {
		return "", err
	}
	switch len(ps) {
	case 0:
		return "", kerr.New(kerr.NotFound, "no backup profile yet: make one with keepsakectl create-profile NAME SOURCE...")
	case 1:
		return ps[0].Name, nil
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	return "", usagef("there are several profiles (%s): say which with --profile NAME", strings.Join(names, ", "))
}

func ts(us int64) string {
	if us == 0 {
		return "never"
	}
	return client.Time(us).Local().Format("2006-01-02 15:04:05")
}

func svcStatus(env *Env, args []string) error {
	return withService(env, flags("status"), args, 0, 0, "status takes no arguments", func(s *svc, _ []string) error {
		st, err := s.c.Status(s.ctx, s.opts())
		if err != nil {
			return err
		}
		if env.JSON {
			for _, d := range st {
				env.emit(plain(d))
			}
			return nil
		}
		if len(st) == 0 {
			fmt.Fprintln(env.Stdout, "no backup profiles")
		}
		for _, d := range st {
			free := "unknown"
			if f := d.TargetFree; f >= 0 {
				free = humanBytes(f)
			}
			fmt.Fprintf(env.Stdout, "%s: %s, last backup %s (%s), next %s, drive %s present=%v free %s\n",
				d.Name, d.State, ts(api.Micros(d.LastSuccess)), d.Result,
				ts(api.Micros(d.NextDue)), d.Drive, d.DrivePresent, free)
			if m := d.Message; m != "" && d.Result != "ok" {
				fmt.Fprintf(env.Stdout, "  %s\n", m)
			}
		}
		return nil
	})
}

func svcProfiles(env *Env, args []string) error {
	return withService(env, flags("profiles"), args, 0, 0, "profiles takes no arguments", func(s *svc, _ []string) error {
		ps, err := s.c.Profiles(s.ctx)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if env.JSON {
				env.emit(p)
				continue
			}
			fmt.Fprintf(env.Stdout, "%s (%s)\n  folders: %s\n  drive: %s\n  every %s, on change %v (quiet %s), on plug %v\n  retention: %s\n  flatpak apps recorded: %v (offline copy: %v)\n  last: %s %s\n",
				p.Name, p.StateName(), strings.Join(p.Sources, " "), p.DriveUUID,
				time.Duration(p.Interval)*time.Second, p.OnChange, time.Duration(p.QuietPeriod)*time.Second, p.OnPlug,
				p.Retention, p.Flatpak, p.FlatpakOffline, ts(p.LastSuccess), p.LastMessage)
			if p.WatchProblem != "" {
				fmt.Fprintf(env.Stdout, "  watching: %s\n", p.WatchProblem)
			}
		}
		return nil
	})
}

func svcCreateProfile(env *Env, args []string) error {
	fs := flags("create-profile")
	drive := fs.String("drive", "", "")
	var excl stringList
	fs.Var(&excl, "exclude", "")
	return withService(env, fs, args, 1, -1, "create-profile NAME [--drive UUID] SOURCE...", func(s *svc, pos []string) error {
		var set api.Settings
		srcs, err := absPaths(pos[1:])
		if err != nil {
			return err
		}
		if len(srcs) > 0 {
			set.Sources = pathList(srcs)
		}
		if len(excl) > 0 {
			l := []string(excl)
			set.Excludes = &l
		}
		if *drive != "" {
			set.Drive = drive
		}
		path, err := s.c.CreateProfile(s.ctx, pos[0], set, s.opts())
		if err != nil {
			return err
		}
		if env.JSON {
			env.emit(map[string]any{"event": "result", "profile": pos[0], "path": path})
		} else {
			fmt.Fprintf(env.Stdout, "profile %s created\n", pos[0])
		}
		return nil
	})
}

// pathList is a settings value of paths.
func pathList(ps []string) *[]api.Path {
	l := make([]api.Path, len(ps))
	for i, p := range ps {
		l[i] = api.Path(p)
	}
	return &l
}

// plain is a result as its a{sv} dictionary has it, for --json.
func plain(v any) map[string]any {
	m := map[string]any{}
	for k, x := range api.ToDict(v) {
		m[k] = x.Value()
	}
	return m
}

// absPaths makes the paths of a command line absolute: the service does
// not know the caller's working directory.
func absPaths(ps []string) ([]string, error) {
	var out []string
	for _, p := range ps {
		a, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func svcConfigure(env *Env, args []string) error {
	return withProfile(env, flags("configure"), args, 1, -1, "configure KEY=VALUE...", func(s *svc, name string, pos []string) error {
		var set api.Settings
		for _, kv := range pos {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return usagef("configure: %q is not KEY=VALUE", kv)
			}
			switch k {
			case "sources", "excludes":
				l := []string{}
				if v != "" {
					l = strings.Split(v, ":")
				}
				if k == "sources" {
					set.Sources = pathList(l)
				} else {
					set.Excludes = &l
				}
			case "interval", "quiet":
				n, err := strconv.ParseUint(v, 10, 64)
				if strings.EqualFold(v, "off") {
					n, err = 0, nil
				}
				if err != nil {
					d, derr := time.ParseDuration(v)
					if derr != nil {
						return usagef("configure: %s wants seconds, a duration like 1h, or off", k)
					}
					n = uint64(d / time.Second)
				}
				if k == "interval" {
					set.Interval = &n
				} else {
					set.Quiet = &n
				}
			case "on-change", "on-plug", "skip-on-battery", "flatpak", "flatpak-offline":
				var b bool
				switch strings.ToLower(v) {
				case "yes", "true", "on", "1":
					b = true
				case "no", "false", "off", "0":
					b = false
				default:
					return usagef("configure: %s wants yes or no", k)
				}
				switch k {
				case "on-change":
					set.OnChange = &b
				case "on-plug":
					set.OnPlug = &b
				case "skip-on-battery":
					set.SkipOnBattery = &b
				case "flatpak":
					set.Flatpak = &b
				case "flatpak-offline":
					set.FlatpakOffline = &b
				}
			case "drive":
				set.Drive = &v
			case "retention":
				set.Retention = &v
			case "min-free":
				set.MinFree = &v
			default:
				// What the service says too: api.Settings has no other key.
				return kerr.New(kerr.InvalidArgs, "unknown setting %q (known: sources, excludes, drive, interval, on-change, quiet, on-plug, skip-on-battery, retention, min-free, flatpak, flatpak-offline)", k)
			}
		}
		if err := s.c.Configure(s.ctx, name, set, s.opts()); err != nil {
			return err
		}
		if !env.JSON {
			fmt.Fprintf(env.Stdout, "profile %s updated\n", name)
		}
		return nil
	})
}

// svcSource adds or removes a folder. Both commands name their flag set
// add-source, so a mistyped flag reads the same for either.
func svcSource(env *Env, args []string, add bool) error {
	return withProfile(env, flags("add-source"), args, 1, 1, "add-source DIR / remove-source DIR", func(s *svc, name string, pos []string) error {
		dir, err := filepath.Abs(pos[0])
		if err != nil {
			return err
		}
		if add {
			return s.c.AddSource(s.ctx, name, dir, s.opts())
		}
		return s.c.RemoveSource(s.ctx, name, dir, s.opts())
	})
}

func svcAddSource(env *Env, args []string) error    { return svcSource(env, args, true) }
func svcRemoveSource(env *Env, args []string) error { return svcSource(env, args, false) }

func svcDeleteProfile(env *Env, args []string) error {
	return withProfile(env, flags("delete-profile"), args, 0, 0, "delete-profile takes no arguments (use --profile NAME)", func(s *svc, name string, _ []string) error {
		return s.c.DeleteProfile(s.ctx, name, s.opts())
	})
}

func svcDrives(env *Env, args []string) error {
	return withService(env, flags("drives"), args, 0, 0, "drives takes no arguments", func(s *svc, _ []string) error {
		ds, err := s.c.Drives(s.ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		if !env.JSON {
			fmt.Fprintln(tw, "UUID\tLABEL\tFS\tSIZE\tFREE\tPRESENT\tENROLLED\tNOTE")
		}
		for _, d := range ds {
			if env.JSON {
				env.emit(d)
				continue
			}
			free := "-"
			if d.Free >= 0 {
				free = humanBytes(d.Free)
			}
			note := d.Unusable
			if d.Warning != "" {
				note = d.Warning
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\t%v\t%s\n", d.UUID, d.Label, d.Filesystem, humanBytes(int64(d.Size)), free, d.Present, d.Enrolled, note)
		}
		return tw.Flush()
	})
}

// svcEnroll names the profile when there is one to name, but a drive can
// be enrolled before any profile exists.
func svcEnroll(env *Env, args []string) error {
	return withService(env, flags("enroll"), args, 1, 1, "enroll UUID", func(s *svc, pos []string) error {
		o := client.EnrollOptions{Auth: s.opts()}
		if env.Profile != "" {
			o.Profile = env.Profile
		} else if ps, err := s.c.Profiles(s.ctx); err == nil && len(ps) == 1 {
			o.Profile = ps[0].Name
		}
		if err := s.c.Enroll(s.ctx, pos[0], o); err != nil {
			return err
		}
		if !env.JSON {
			fmt.Fprintf(env.Stdout, "drive %s enrolled\n", pos[0])
		}
		return nil
	})
}

func svcUnmount(env *Env, args []string) error {
	return withService(env, flags("unmount"), args, 1, 1, "unmount UUID", func(s *svc, pos []string) error {
		return s.c.Unmount(s.ctx, pos[0], s.opts())
	})
}

// follow shows a job's progress until it ends; Ctrl-C cancels it.
func (s *svc) follow(job dbus.ObjectPath) (client.Job, error) {
	bar := newProgressBar(s.env)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		s.c.Cancel(context.Background(), job, s.opts())
	}()
	j, err := s.c.Wait(context.Background(), job, func(j client.Job) {
		if j.Finished {
			return
		}
		bar.update(engine.Progress{Phase: j.Phase, Files: int64(j.FilesDone), Bytes: int64(j.BytesDone),
			TotalFiles: int64(j.FilesTotal), TotalBytes: int64(j.BytesTotal), Elapsed: time.Since(client.Time(j.Started))})
	})
	bar.done()
	return j, err
}

func (s *svc) startAndFollow(what string, start func() (dbus.ObjectPath, error)) error {
	job, err := start()
	if err != nil {
		return err
	}
	j, err := s.follow(job)
	if s.env.JSON {
		ev := map[string]any{"event": "result", "job": string(job), "operation": j.Operation, "message": j.Message}
		if err != nil {
			ev["event"], ev["error"] = "error", string(kerr.NameOf(err))
			s.env.emit(ev)
			return quietError{err}
		}
		s.env.emit(ev)
		return nil
	}
	if err != nil {
		return err
	}
	if j.Message != "" {
		fmt.Fprintf(s.env.Stdout, "%s: %s\n", what, j.Message)
	}
	return nil
}

func svcBackupNow(env *Env, args []string) error {
	fs := flags("backup-now")
	full := fs.Bool("full", false, "")
	noWait := fs.Bool("no-wait", false, "")
	return withProfile(env, fs, args, 0, 0, "backup-now [--full] [--no-wait]", func(s *svc, name string, _ []string) error {
		o := api.BackupOptions{Auth: s.opts(), Full: *full}
		if *noWait {
			job, err := s.c.BackupNow(s.ctx, name, o)
			if err == nil {
				fmt.Fprintln(env.Stdout, job)
			}
			return err
		}
		return s.startAndFollow("snapshot", func() (dbus.ObjectPath, error) { return s.c.BackupNow(s.ctx, name, o) })
	})
}

func printDicts[T any](env *Env, ds []T, line func(T) string) {
	for _, d := range ds {
		if env.JSON {
			env.emit(plain(d))
		} else {
			fmt.Fprintln(env.Stdout, line(d))
		}
	}
}

func svcSnapshots(env *Env, args []string) error {
	return withProfile(env, flags("snapshots"), args, 0, 0, "snapshots takes no arguments", func(s *svc, name string, _ []string) error {
		ds, err := s.c.Snapshots(s.ctx, name, api.ListOptions{Auth: s.opts()})
		if err != nil {
			return err
		}
		printDicts(env, ds, func(d api.Snapshot) string {
			return fmt.Sprintf("%s  %s  %d files  %s", d.Name, ts(api.Micros(d.Time)), int64(d.Files), humanBytes(int64(d.Bytes)))
		})
		return nil
	})
}

func entryLine(d api.Entry) string {
	return fmt.Sprintf("%-7s %10s  %s  %s", d.Type, humanBytes(int64(d.Size)), ts(api.Micros(d.Mtime)), d.Path)
}

func svcLs(env *Env, args []string) error {
	fs := flags("ls")
	all := fs.Bool("all-users", false, "")
	return withProfile(env, fs, args, 1, 2, "ls SNAPSHOT [PATH]", func(s *svc, name string, pos []string) error {
		dir := "/"
		if len(pos) == 2 {
			var err error
			if dir, err = filepath.Abs(pos[1]); err != nil {
				return err
			}
		}
		o := api.ListOptions{Auth: s.opts(), Scope: api.Scope{AllUsers: *all}}
		ds, err := s.c.List(s.ctx, name, pos[0], dir, o)
		if err != nil {
			return err
		}
		printDicts(env, ds, entryLine)
		return nil
	})
}

func svcSearch(env *Env, args []string) error {
	fs := flags("search")
	in := fs.String("in", "", "")
	since := fs.String("since", "", "")
	until := fs.String("until", "", "")
	limit := fs.Int("limit", 0, "")
	all := fs.Bool("all-users", false, "")
	return withProfile(env, fs, args, 1, 1, "search PATTERN [--in DIR] [--since TIME] [--until TIME] [--limit N]", func(s *svc, name string, pos []string) error {
		o := api.SearchOptions{Auth: s.opts(), Scope: api.Scope{AllUsers: *all}}
		if *in != "" {
			a, err := filepath.Abs(*in)
			if err != nil {
				return err
			}
			o.In = api.Path(a)
		}
		for k, v := range map[string]string{"since": *since, "until": *until} {
			if v == "" {
				continue
			}
			t, err := parseTime(v, time.Now())
			if err != nil {
				return usagef("search --%s: %v", k, err)
			}
			if k == "since" {
				o.Since = t
			} else {
				o.Until = t
			}
		}
		if *limit > 0 {
			o.Limit = uint32(*limit)
		}
		ds, err := s.c.Search(s.ctx, name, pos[0], o)
		if err != nil {
			return err
		}
		printDicts(env, ds, func(d api.SearchHit) string {
			sn := d.Snapshots
			return fmt.Sprintf("%s  (%d snapshots, %s .. %s)", entryLine(d.Entry), len(sn), first(sn), last(sn))
		})
		return nil
	})
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

func svcVersions(env *Env, args []string) error {
	return withProfile(env, flags("versions"), args, 1, 1, "versions PATH", func(s *svc, name string, pos []string) error {
		p, err := filepath.Abs(pos[0])
		if err != nil {
			return err
		}
		ds, err := s.c.Versions(s.ctx, name, p, api.ListOptions{Auth: s.opts()})
		if err != nil {
			return err
		}
		printDicts(env, ds, func(d api.Version) string {
			sn := d.Snapshots
			paths := make([]string, len(d.Paths))
			for i, p := range d.Paths {
				paths[i] = string(p)
			}
			return fmt.Sprintf("%.12s  %10s  %s  %s  (%s .. %s)", d.SHA256, humanBytes(int64(d.Size)), ts(api.Micros(d.Mtime)),
				strings.Join(paths, ", "), first(sn), last(sn))
		})
		return nil
	})
}

func svcDeleted(env *Env, args []string) error {
	fs := flags("deleted")
	since := fs.String("since", "", "")
	return withProfile(env, fs, args, 1, 1, "deleted DIR [--since TIME]", func(s *svc, name string, pos []string) error {
		dir, err := filepath.Abs(pos[0])
		if err != nil {
			return err
		}
		o := api.DeletedOptions{Auth: s.opts()}
		if *since != "" {
			t, err := parseTime(*since, time.Now())
			if err != nil {
				return usagef("deleted --since: %v", err)
			}
			o.Since = t
		}
		ds, err := s.c.Deleted(s.ctx, name, dir, o)
		if err != nil {
			return err
		}
		printDicts(env, ds, func(d api.DeletedFile) string {
			return fmt.Sprintf("%s  (last in %s)", entryLine(d.Entry), d.LastSnapshot)
		})
		return nil
	})
}

func svcRestore(env *Env, args []string) error {
	fs := flags("restore")
	to := fs.String("to", "", "")
	overwrite := fs.Bool("overwrite", false, "")
	return withProfile(env, fs, args, 2, -1, "restore SNAPSHOT PATH... [--to DIR] [--overwrite]", func(s *svc, name string, pos []string) error {
		paths, err := absPaths(pos[1:])
		if err != nil {
			return err
		}
		o := api.RestoreOptions{Auth: s.opts(), Overwrite: *overwrite}
		if *to != "" {
			a, err := filepath.Abs(*to)
			if err != nil {
				return err
			}
			o.To = api.Path(a)
		}
		return s.startAndFollow("restored", func() (dbus.ObjectPath, error) { return s.c.Restore(s.ctx, name, pos[0], paths, o) })
	})
}

func svcPrune(env *Env, args []string) error {
	fs := flags("prune")
	dry := fs.Bool("dry-run", false, "")
	free := fs.String("free", "", "")
	return withProfile(env, fs, args, 0, 0, "prune [--dry-run] [--free SIZE|PERCENT]", func(s *svc, name string, _ []string) error {
		o := api.PruneOptions{Auth: s.opts(), DryRun: *dry, Free: *free}
		return s.startAndFollow("prune", func() (dbus.ObjectPath, error) { return s.c.Prune(s.ctx, name, o) })
	})
}

func svcVerify(env *Env, args []string) error {
	fs := flags("verify")
	sample := fs.Uint("sample", 0, "")
	return withProfile(env, fs, args, 0, 0, "verify [--sample PERCENT]", func(s *svc, name string, _ []string) error {
		o := api.VerifyOptions{Auth: s.opts(), Sample: uint32(*sample)}
		return s.startAndFollow("verify", func() (dbus.ObjectPath, error) { return s.c.Verify(s.ctx, name, o) })
	})
}

func svcCancel(env *Env, args []string) error {
	return withService(env, flags("cancel"), args, 1, 1, "cancel JOB", func(s *svc, pos []string) error {
		job := dbus.ObjectPath(pos[0])
		if n, err := strconv.ParseUint(pos[0], 10, 64); err == nil {
			job = client.JobPath(n)
		}
		if !job.IsValid() {
			return usagef("cancel: %q is neither a job number nor an object path", pos[0])
		}
		return s.c.Cancel(s.ctx, job, s.opts())
	})
}

func svcReload(env *Env, args []string) error {
	return withService(env, flags("reload"), args, 0, 0, "reload takes no arguments", func(s *svc, _ []string) error {
		return s.c.Reload(s.ctx, s.opts())
	})
}
