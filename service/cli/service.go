package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/grammar"
	"github.com/keepsake/keepsake/shared/i18n"
	"github.com/keepsake/keepsake/shared/kerr"
	"github.com/spf13/cobra"
)

// bus is the service of a service-only command.
func (env *Env) bus() (*busBackend, error) {
	b, err := env.open(readOnly)
	if err != nil {
		return nil, err
	}
	return b.(*busBackend), nil
}

// profile is the service and the profile a command is about.
func (env *Env) profile() (*busBackend, string, error) {
	b, err := env.bus()
	if err != nil {
		return nil, "", err
	}
	p, err := b.name(env.ctx)
	return b, p, err
}

// serviceCommands talk to keepsaked: settings, drives, jobs.
func serviceCommands(env *Env) []*cobra.Command {
	noRepo := func(c *cobra.Command, a []string) error {
		if env.Repo != "" {
			// TRANSLATORS: %s is a command's name (status, backup-now…).
			return usagef(i18n.T("%s talks to the service: leave out --repo"), c.Name())
		}
		return nil
	}
	simple := func(use, short string, min, max int, fn func(b *busBackend, a []string) error) *cobra.Command {
		return &cobra.Command{Use: use, Short: short, Args: args(min, max), RunE: run(func(c *cobra.Command, a []string) error {
			b, err := env.bus()
			if err != nil {
				return err
			}
			return fn(b, a)
		})}
	}
	cmds := []*cobra.Command{
		simple("status", i18n.T("Each profile's state, last and next backup, drive and free space"), 0, 0, func(b *busBackend, _ []string) error {
			st, err := b.c.Status(env.ctx, b.auth())
			if err != nil {
				return err
			}
			printQuery(env, st, printStatus)
			return nil
		}),
		simple("profiles", i18n.T("List backup profiles and their settings"), 0, 0, func(b *busBackend, _ []string) error {
			ps, err := b.c.Profiles(env.ctx)
			if err != nil {
				return err
			}
			printQuery(env, ps, printProfiles)
			return nil
		}),
		createProfileCommand(env),
		configureCommand(env),
		simple("add-source DIR", i18n.T("Back up one more folder"), 1, 1, func(b *busBackend, a []string) error {
			p, err := b.name(env.ctx)
			if err != nil {
				return err
			}
			return b.c.AddSource(env.ctx, p, env.abs(a[0]), b.auth())
		}),
		simple("remove-source DIR", i18n.T("Stop backing up a folder"), 1, 1, func(b *busBackend, a []string) error {
			p, err := b.name(env.ctx)
			if err != nil {
				return err
			}
			return b.c.RemoveSource(env.ctx, p, env.abs(a[0]), b.auth())
		}),
		simple("delete-profile", i18n.T("Forget the profile (its snapshots stay on the drive)"), 0, 0, func(b *busBackend, _ []string) error {
			p, err := b.name(env.ctx)
			if err != nil {
				return err
			}
			return b.c.DeleteProfile(env.ctx, p, b.auth())
		}),
		simple("drives", i18n.T("Drives the service knows: present, enrolled, free space, why one cannot be used"), 0, 0, func(b *busBackend, _ []string) error {
			ds, err := b.c.Drives(env.ctx)
			if err != nil {
				return err
			}
			printQuery(env, ds, printDrives)
			return nil
		}),
		enrollCommand(env),
		simple("unmount UUID", i18n.T("Unmount a drive the service mounted"), 1, 1, func(b *busBackend, a []string) error {
			return b.c.Unmount(env.ctx, a[0], b.auth())
		}),
		prepareDriveCommand(env),
		backupNowCommand(env),
		remoteKeyCommand(env),
		hostKeyCommand(env),
		simple("cancel JOB", i18n.T("Cancel a running job (its number or object path)"), 1, 1, func(b *busBackend, a []string) error {
			job := dbus.ObjectPath(a[0])
			if n, err := strconv.ParseUint(a[0], 10, 64); err == nil {
				job = client.JobPath(n)
			}
			if !job.IsValid() {
				return usagef(i18n.T("cancel: %q is neither a job number nor an object path"), a[0])
			}
			return b.c.Cancel(env.ctx, job, b.auth())
		}),
		simple("reload", i18n.T("Re-read /etc/keepsake/keepsake.conf"), 0, 0, func(b *busBackend, _ []string) error {
			return b.c.Reload(env.ctx, b.auth())
		}),
	}
	for _, c := range cmds {
		c.PreRunE = noRepo
	}
	return cmds
}

// done says a command without a result of its own succeeded.
func (env *Env) done(ev map[string]any, format string, a ...any) {
	if env.JSON {
		ev["event"] = "result"
		env.emit(ev)
		return
	}
	fmt.Fprintf(env.Stdout, format+"\n", a...)
}

func createProfileCommand(env *Env) *cobra.Command {
	var drive, host string
	var excludes, includeMounts []string
	c := &cobra.Command{
		Use:   "create-profile NAME [SOURCE...]",
		Short: i18n.T("Make a backup profile (sources in your own home need no administrator)"),
		// TRANSLATORS: the text of --help; break lines before 80 characters;
		// flags, commands, setting keys and values stay as they are.
		Long: i18n.T("Make a backup profile of folders of this computer, or of another computer:\nSOURCE written ssh://[user@]host[:port]/path[,/path2...] is pulled with rsync\nover ssh by the service's own key (see keepsakectl remote-key and host-key)."),
		Args: args(1, -1),
		RunE: run(func(c *cobra.Command, a []string) error {
			var set api.Settings
			if len(a) > 1 {
				srcs := make([]api.Path, 0, len(a)-1)
				for _, s := range env.absAll(a[1:]) {
					srcs = append(srcs, api.Path(s))
				}
				set.Sources = &srcs
			}
			if len(excludes) > 0 {
				set.Excludes = &excludes
			}
			if len(includeMounts) > 0 {
				ms := []api.Path{}
				for _, m := range env.absAll(includeMounts) {
					ms = append(ms, api.Path(m))
				}
				set.IncludeMounts = &ms
			}
			if drive != "" {
				set.Drive = &drive
			}
			if host != "" {
				set.Host = &host
			}
			b, err := env.bus()
			if err != nil {
				return err
			}
			path, err := b.c.CreateProfile(env.ctx, a[0], set, b.auth())
			if err != nil {
				return err
			}
			// TRANSLATORS: %s is the new backup profile's name.
			env.done(map[string]any{"profile": a[0], "path": path}, i18n.T("profile %s created"), a[0])
			return nil
		}),
	}
	// TRANSLATORS: keep the backquotes around the placeholder.
	c.Flags().StringVar(&drive, "drive", "", i18n.T("back up to the drive with filesystem `UUID` (see keepsakectl drives)"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	c.Flags().StringVar(&host, "host", "", i18n.T("for another computer (ssh:// sources): its folder's `NAME` on the drive"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	c.Flags().StringArrayVar(&excludes, "exclude", nil, i18n.T("leave out paths matching `PATTERN`"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	c.Flags().StringArrayVar(&includeMounts, "include-mount", nil, i18n.T("also back up the other filesystem mounted at `DIR` inside a source"))
	return c
}

func configureCommand(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "configure KEY=VALUE...",
		Short: i18n.T("Change the profile's settings (administrators)"),
		// TRANSLATORS: %s is the list of setting keys (sources, excludes…);
		// the keys and values (sources=, interval=off, yes, no,
		// "time-machine", "daily=10 weekly=8", 20GiB) are typed as they are.
		Long: fmt.Sprintf(i18n.T("Change the profile's settings. Keys: %s.\nLists are separated by \":\" (sources=/home/me:/srv/photos); durations are\nseconds or 30m, 1h, 1d (interval=off turns timed backups off); switches are\nyes or no; retention is \"time-machine\" or e.g. \"daily=10 weekly=8\";\nmin-free is a size (20GiB) or a percentage (2%%)."), strings.Join(api.SettingKeys(), ", ")),
		Args: args(1, -1),
		RunE: run(func(c *cobra.Command, a []string) error {
			var set api.Settings
			for _, kv := range a {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return usagef(i18n.T("configure: %q is not KEY=VALUE"), kv)
				}
				if (k == "sources" && !grammar.IsRemote(v)) || k == "include-mounts" {
					var abs []string
					for _, p := range strings.Split(v, ":") {
						if p != "" {
							abs = append(abs, env.abs(p))
						}
					}
					v = strings.Join(abs, ":")
				}
				if err := set.Set(k, v); err != nil {
					return usagef("configure: %v", err)
				}
			}
			b, p, err := env.profile()
			if err != nil {
				return err
			}
			if err := b.c.Configure(env.ctx, p, set, b.auth()); err != nil {
				return err
			}
			// TRANSLATORS: %s is a backup profile's name.
			env.done(map[string]any{"profile": p}, i18n.T("profile %s updated"), p)
			return nil
		}),
	}
}

func backupNowCommand(env *Env) *cobra.Command {
	var full, noWait bool
	c := &cobra.Command{
		Use:   "backup-now",
		Short: i18n.T("Back up now and show progress (Ctrl-C cancels)"),
		Args:  args(0, 0),
		RunE: run(func(c *cobra.Command, _ []string) error {
			b, err := env.bus()
			if err != nil {
				return err
			}
			start := func(p string) (dbus.ObjectPath, error) {
				return b.c.BackupNow(env.ctx, p, api.BackupOptions{Auth: b.auth(), Full: full})
			}
			if noWait {
				p, err := b.name(env.ctx)
				if err != nil {
					return err
				}
				job, err := start(p)
				if err != nil {
					return err
				}
				env.done(map[string]any{"job": job}, "%s", job)
				return nil
			}
			j, err := b.follow(env.ctx, start, newProgressBar(env))
			if err != nil {
				return err
			}
			res, err := j.BackupResult()
			if err != nil {
				return err
			}
			env.printResult(res, func() {
				fmt.Fprintln(env.Stdout, res.Summary())
				printLeftOut(env.Stdout, res)
			})
			return nil
		}),
	}
	c.Flags().BoolVar(&full, "full", false, i18n.T("read every folder instead of only the changed ones"))
	c.Flags().BoolVar(&noWait, "no-wait", false, i18n.T("print the job and return at once"))
	return c
}

// printStatus is left in English in every language: scripts read its
// lines (README: status for scripts), as they read the status file.
func printStatus(env *Env, st []api.Status) {
	if len(st) == 0 {
		fmt.Fprintln(env.Stdout, "no backup profiles")
	}
	for _, s := range st {
		free := "unknown"
		if s.TargetFree >= 0 {
			free = humanBytes(s.TargetFree)
		}
		fmt.Fprintf(env.Stdout, "%s: %s, last backup %s (%s), next %s, drive %s present=%v free %s\n",
			s.Name, s.State, whenC(s.LastSuccess), s.Result, whenC(s.NextDue), s.Drive, s.DrivePresent, free)
		if s.Remote {
			fmt.Fprintf(env.Stdout, "  other computer %s, last pull received %s\n", s.Host, humanBytes(max(s.Received, 0)))
		}
		if s.Overdue {
			fmt.Fprintf(env.Stdout, "  OVERDUE: last backup %d hours ago\n", s.AgeHours)
		}
		if s.Message != "" && s.Result != "ok" {
			fmt.Fprintf(env.Stdout, "  %s\n", s.Message)
		}
	}
}

func printProfiles(env *Env, ps []client.Profile) {
	for _, p := range ps {
		// The state's name, the durations and the true/false values are
		// written as configure takes them.
		w := env.Stdout
		fmt.Fprintf(w, "%s (%s)\n", p.Name, p.StateName())
		// TRANSLATORS: keepsakectl profiles: the folders a profile backs up.
		fmt.Fprintf(w, "  "+i18n.T("folders: %s")+"\n", strings.Join(p.Sources, " "))
		// TRANSLATORS: keepsakectl profiles: the UUID of the profile's drive.
		fmt.Fprintf(w, "  "+i18n.T("drive: %s")+"\n", p.DriveUUID)
		// TRANSLATORS: keepsakectl profiles: every INTERVAL (1h), on change
		// true/false (quiet DURATION: 5m), on plug true/false.
		fmt.Fprintf(w, "  "+i18n.T("every %s, on change %v (quiet %s), on plug %v")+"\n",
			grammar.FormatDuration(time.Duration(p.Interval)*time.Second), p.OnChange, grammar.FormatDuration(time.Duration(p.QuietPeriod)*time.Second), p.OnPlug)
		// TRANSLATORS: keepsakectl profiles: the retention setting (daily=10 weekly=8).
		fmt.Fprintf(w, "  "+i18n.T("retention: %s")+"\n", p.Retention)
		// TRANSLATORS: keepsakectl profiles: true or false, twice.
		fmt.Fprintf(w, "  "+i18n.T("flatpak apps recorded: %v (offline copy: %v)")+"\n", p.Flatpak, p.FlatpakOffline)
		// TRANSLATORS: keepsakectl profiles: the last successful backup's
		// date and time, then the last backup's message.
		fmt.Fprintf(w, "  "+i18n.T("last: %s %s")+"\n", when(client.Time(p.LastSuccess)), p.LastMessage)
		if p.WatchProblem != "" {
			// TRANSLATORS: keepsakectl profiles: why changes are not all
			// watched (the service's message).
			fmt.Fprintf(w, "  "+i18n.T("watching: %s")+"\n", p.WatchProblem)
		}
		if p.Remote {
			// TRANSLATORS: keepsakectl profiles, for another computer: its
			// folder's NAME on the drive, host key STATE, viewers [USERS].
			fmt.Fprintf(w, "  "+i18n.T("other computer: %s on the drive, host key %s, viewers %v")+"\n", p.Host, p.HostKey, p.Viewers)
		}
	}
}

func printDrives(env *Env, ds []client.Drive) {
	tw := table(env)
	// TRANSLATORS: the column headings of keepsakectl drives, in capitals,
	// separated by tabs: keep the eight columns and the tabs.
	fmt.Fprintln(tw, i18n.T("UUID\tLABEL\tFS\tSIZE\tFREE\tPRESENT\tENROLLED\tNOTE"))
	for _, d := range ds {
		free := "-"
		if d.Free >= 0 {
			free = humanBytes(d.Free)
		}
		note := d.Unusable
		if d.Warning != "" {
			note = d.Warning
		}
		if d.Encrypted {
			// TRANSLATORS: in the NOTE column of keepsakectl drives.
			enc := i18n.T("encrypted")
			if d.Locked {
				// TRANSLATORS: in the NOTE column of keepsakectl drives, after "encrypted".
				enc += ", " + i18n.T("locked")
			}
			if d.KeyRemembered {
				// TRANSLATORS: in the NOTE column of keepsakectl drives: the
				// service keeps the encrypted drive's key.
				enc += ", " + i18n.T("key remembered")
			}
			note = strings.TrimSuffix(enc+"; "+note, "; ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\t%v\t%s\n", d.UUID, d.Label, d.Filesystem, humanBytes(int64(d.Size)), free, d.Present, d.Enrolled, note)
	}
	tw.Flush()
}

func remoteKeyCommand(env *Env) *cobra.Command {
	var writeDir string
	c := &cobra.Command{
		Use:   "remote-key",
		Short: i18n.T("The line to add to another computer's ~/.ssh/authorized_keys so the service may back it up"),
		// TRANSLATORS: the text of --help; break lines before 80 characters;
		// flags, commands, setting keys and values stay as they are.
		Long: i18n.T("Print the service's own ssh key as a line for ~/.ssh/authorized_keys on another\ncomputer: it may do nothing there but a read-only rsync (rrsync -ro /). With\n--write-dir DIR, a line whose key may only write into DIR there instead (to\npush restored files back)."),
		Args: args(0, 0),
		RunE: run(func(c *cobra.Command, _ []string) error {
			b, err := env.bus()
			if err != nil {
				return err
			}
			line, err := b.c.RemoteKey(env.ctx, api.RemoteKeyOptions{Auth: b.auth(), WriteDir: writeDir})
			if err != nil {
				return err
			}
			env.done(map[string]any{"line": line}, "%s", line)
			return nil
		}),
	}
	// TRANSLATORS: keep the backquotes around the placeholder.
	c.Flags().StringVar(&writeDir, "write-dir", "", i18n.T("a key that may only write into `DIR` on the other computer"))
	return c
}

func hostKeyCommand(env *Env) *cobra.Command {
	var accept string
	c := &cobra.Command{
		Use:   "host-key [PROFILE]",
		Short: i18n.T("Show another computer's ssh host key, or accept it (--accept FINGERPRINT)"),
		// TRANSLATORS: the text of --help; break lines before 80 characters;
		// flags, commands, setting keys and values stay as they are.
		Long: i18n.T("Ask the profile's other computer for its ssh host keys and show their\nfingerprints and whether one is accepted. Compare with what the computer itself\nshows (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub there), then accept it\nwith --accept SHA256:...; until then, and whenever the key changes, its\nbackups stop with HostKeyUnknown or HostKeyChanged."),
		Args: args(0, 1),
		RunE: run(func(c *cobra.Command, a []string) error {
			b, err := env.bus()
			if err != nil {
				return err
			}
			p := ""
			if len(a) == 1 {
				p = a[0]
			} else if p, err = b.name(env.ctx); err != nil {
				return err
			}
			if accept != "" {
				if err := b.c.AcceptHostKey(env.ctx, p, accept, b.auth()); err != nil {
					return err
				}
				// TRANSLATORS: host key FINGERPRINT of profile NAME accepted
				env.done(map[string]any{"profile": p, "accepted": accept}, i18n.T("host key %s of profile %s accepted"), accept, p)
				return nil
			}
			keys, state, err := b.c.ScanHostKeys(env.ctx, p, b.auth())
			if err != nil {
				return err
			}
			if env.JSON {
				env.emit(map[string]any{"event": "result", "profile": p, "state": state, "keys": keys})
				return nil
			}
			// TRANSLATORS: profile NAME: host key STATE (accepted, unknown,
			// changed: the service's word).
			fmt.Fprintf(env.Stdout, i18n.T("profile %s: host key %s")+"\n", p, state)
			for _, k := range keys {
				fmt.Fprintf(env.Stdout, "  %s %s\n", k.Type, k.Fingerprint)
			}
			if state != "accepted" && len(keys) > 0 {
				// TRANSLATORS: the command stays as it is.
				fmt.Fprintln(env.Stdout, i18n.T("compare with: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub (on that computer)"))
				// TRANSLATORS: the command stays as it is; %s are the
				// profile's name and the key's fingerprint.
				fmt.Fprintf(env.Stdout, i18n.T("then: keepsakectl host-key %s --accept %s")+"\n", p, keys[0].Fingerprint)
			}
			return nil
		}),
	}
	// TRANSLATORS: keep the backquotes around the placeholder.
	c.Flags().StringVar(&accept, "accept", "", i18n.T("trust the key with this `FINGERPRINT` (SHA256:...)"))
	return c
}

func enrollCommand(env *Env) *cobra.Command {
	var encrypt, remember, setAside bool
	var passFile string
	c := &cobra.Command{
		Use:   "enroll DRIVE",
		Short: i18n.T("Write a repository to a drive and make it the profile's drive"),
		// TRANSLATORS: the text of --help; break lines before 80 characters;
		// flags, commands, setting keys and values stay as they are.
		Long: i18n.T("enroll writes a Keepsake repository to the drive (its UUID, label or mount\npoint) or adopts the one there; with one profile (or --profile) the drive\nbecomes that profile's drive.\n\nWith --encrypt the repository is encrypted (the drive must be ext4; its\nencrypt feature is turned on if it is off, which keeps its data): enroll\nasks for a passphrase twice (or reads it from --passphrase-file) and prints\nthe recovery key once. The drive stays mounted and unlocked until it is\nlocked, unmounted or unplugged; with --remember the service keeps its key\nand unlocks it by itself for every backup. A repository cannot be\nencrypted in place: on a drive with unencrypted backups, --set-aside keeps\nthem as they are in the folder \"Keepsake (not encrypted)\" and begins\nencrypted backups beside them."),
		Args: args(1, 1),
		RunE: run(func(c *cobra.Command, a []string) error {
			if !encrypt && (remember || passFile != "" || setAside) {
				return usage(i18n.T("enroll: --remember, --passphrase-file and --set-aside go with --encrypt"))
			}
			b, d, err := env.serviceDrive(a[0])
			if err != nil {
				return err
			}
			profile := env.Profile
			// A drive can be enrolled before any profile exists; with one
			// profile, it becomes that profile's drive.
			if profile == "" {
				if ps, err := b.c.Profiles(env.ctx); err == nil && len(ps) == 1 {
					profile = ps[0].Name
				}
			}
			if !encrypt {
				if err := b.c.Enroll(env.ctx, d.UUID, client.EnrollOptions{Auth: b.auth(), Profile: profile}); err != nil {
					return err
				}
				// TRANSLATORS: %s is a drive's UUID.
				env.done(map[string]any{"drive": d.UUID}, i18n.T("drive %s enrolled"), d.UUID)
				return nil
			}
			if d.Encryptable == api.EncryptableFilesystem {
				// Said before a passphrase is typed for nothing.
				// TRANSLATORS: DRIVE is FILESYSTEM (vfat, btrfs): … (keepsakectl
				// prepare-drive DEVICE --filesystem ext4): keep the command.
				return kerr.New(kerr.UnsupportedFilesystem, env.t(i18n.Noop("%s is %s: only ext4 drives can be encrypted; erase it as ext4 first (keepsakectl prepare-drive %s --filesystem ext4): everything on it is lost")), driveName(d), d.Filesystem, d.Device)
			}
			if d.Enrolled && !d.Encrypted && !setAside {
				return env.setAsideHint(driveName(d))
			}
			pass, err := env.newPassphrase(passFile, i18n.T("Passphrase for the drive: "))
			if err != nil {
				return err
			}
			defer clear(pass)
			o := api.EnrollEncryptedOptions{Auth: b.auth(), Passphrase: string(pass), Remember: remember,
				EnableFeature: d.Encryptable == api.EncryptableFeatureOff, SetAside: setAside}
			if profile != "" {
				o.Profile = client.ProfilePath(profile)
			}
			rk, err := b.c.EnrollEncrypted(env.ctx, d.UUID, o)
			if err != nil {
				return err
			}
			if env.JSON {
				env.emit(map[string]any{"event": "result", "drive": d.UUID, "encrypted": true, "remembered": remember, "recovery_key": rk})
				return nil
			}
			if o.EnableFeature {
				// TRANSLATORS: %s is a device: /dev/sdb.
				fmt.Fprintf(env.Stdout, i18n.T("Turned on the encrypt feature of the ext4 filesystem on %s")+"\n", d.Device)
			}
			// TRANSLATORS: %s names the drive: "LABEL" (UUID), or its UUID.
			fmt.Fprintf(env.Stdout, i18n.T("Drive %s enrolled, encrypted")+"\n", driveName(d))
			if setAside && d.Enrolled && !d.Encrypted {
				// TRANSLATORS: %q is the folder name "Keepsake (not encrypted)".
				fmt.Fprintf(env.Stdout, i18n.T("The unencrypted backups are kept as they were in the folder %q on the drive")+"\n", usecase.AsideName)
			}
			if profile != "" {
				fmt.Fprintf(env.Stdout, i18n.T("profile %s backs up to it")+"\n", profile)
			}
			fmt.Fprintln(env.Stdout)
			printRecoveryKey(env, rk, fmt.Sprintf("keepsakectl unlock %s --recovery-key", d.UUID))
			return nil
		}),
	}
	c.Flags().BoolVar(&encrypt, "encrypt", false, i18n.T("write an encrypted repository (ext4 drives)"))
	c.Flags().BoolVar(&remember, "remember", false, i18n.T("with --encrypt: the service keeps the key and unlocks the drive by itself"))
	c.Flags().BoolVar(&setAside, "set-aside", false, i18n.T("with --encrypt on a drive with unencrypted backups: keep them as they are beside the new encrypted ones"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	c.Flags().StringVar(&passFile, "passphrase-file", "", i18n.T("with --encrypt: read the passphrase from `FILE` (its first line; - for standard input) instead of asking"))
	return c
}
