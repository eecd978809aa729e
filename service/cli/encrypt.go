package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/i18n"
	"github.com/keepsake/keepsake/shared/kerr"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// initCommand sets up a drive, plain or (--encrypt) encrypted.
func initCommand(env *Env) *cobra.Command {
	var encrypt, setAside bool
	var passFile string
	c := &cobra.Command{
		Use:   "init",
		Short: i18n.T("Create a repository on the drive after probing its filesystem"),
		// TRANSLATORS: the text of --help; break lines before 80 characters;
		// flags, commands, setting keys and values stay as they are.
		Long: i18n.T("init creates the Keepsake folder on the drive after checking that its\nfilesystem can hold hardlink snapshots.\n\nWith --encrypt the snapshots and the catalog are encrypted by the kernel\n(ext4 made with \"mkfs.ext4 -O encrypt\", or enabled later with\n\"tune2fs -O encrypt\" while unmounted). init asks for a passphrase twice (or\nreads it from --passphrase-file) and prints a recovery key once: write it\ndown, it unlocks the drive when the passphrase is forgotten. A repository\ncannot be encrypted in place: on a drive with unencrypted backups,\n--set-aside keeps them as they are in the folder \"Keepsake (not\nencrypted)\" and begins encrypted backups beside them."),
		Args: args(0, 0),
		RunE: run(func(c *cobra.Command, _ []string) error {
			if !encrypt {
				if passFile != "" {
					return usage(i18n.T("init: --passphrase-file goes with --encrypt"))
				}
				d, err := usecase.InitDrive(env.Repo, usecase.CurrentActor())
				if err != nil {
					return err
				}
				env.printInit(d, "")
				return nil
			}
			// TRANSLATORS: asked on the terminal; keep the space at the end.
			pass, err := env.newPassphrase(passFile, i18n.T("Passphrase for the drive: "))
			if err != nil {
				return err
			}
			defer clear(pass)
			if !setAside && usecase.HoldsPlainBackups(env.Repo) {
				return env.setAsideHint(env.Repo)
			}
			d, rk, aside, err := usecase.InitEncryptedBeside(env.Repo, pass, usecase.CurrentActor())
			if err != nil {
				return err
			}
			if aside != "" && !env.JSON {
				// TRANSLATORS: %s is a folder on the drive.
				fmt.Fprintf(env.Stdout, i18n.T("The unencrypted backups are kept as they were in %s")+"\n", aside)
			}
			env.printInit(d, rk)
			return nil
		}),
	}
	c.Flags().BoolVar(&encrypt, "encrypt", false, i18n.T("encrypt the snapshots and the catalog (ext4 with the encrypt feature)"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	c.Flags().StringVar(&passFile, "passphrase-file", "", i18n.T("with --encrypt: read the passphrase from `FILE` (its first line; - for standard input) instead of asking"))
	c.Flags().BoolVar(&setAside, "set-aside", false, i18n.T("with --encrypt on a drive with unencrypted backups: keep them as they are beside the new encrypted ones"))
	return c
}

func (env *Env) printInit(d *usecase.Drive, recoveryKey string) {
	m := d.Marker()
	if env.JSON {
		res := map[string]any{"event": "result", "repository": d.R.Root, "uuid": m.UUID, "capabilities": m.Caps}
		if d.Encrypted() {
			res["repository"], res["encrypted"], res["recovery_key"] = d.Dir(), true, recoveryKey
		}
		env.emit(res)
		return
	}
	caps := m.Caps
	var can []string
	// TRANSLATORS: what a drive's filesystem can hold, in a list after
	// "filesystem ext4:"; each comes with its "no …" form.
	for _, c := range []struct {
		ok      bool
		yes, no string
	}{
		{caps.Hardlinks, i18n.Noop("hardlinks"), i18n.Noop("no hardlinks")},
		{caps.Symlinks, i18n.Noop("symlinks"), i18n.Noop("no symlinks")},
		{caps.Chown, i18n.Noop("owners"), i18n.Noop("no owners")},
		{caps.Xattrs, i18n.Noop("xattrs/ACLs"), i18n.Noop("no xattrs/ACLs")},
		{caps.CaseSensitive, i18n.Noop("case-sensitive names"), i18n.Noop("no case-sensitive names")},
	} {
		if c.ok {
			can = append(can, i18n.T(c.yes))
		} else {
			can = append(can, i18n.T(c.no))
		}
	}
	// TRANSLATORS: filesystem TYPE (ext4, btrfs): WHAT IT CAN HOLD; link
	// limit N (the most hardlinks one file may have).
	fsLine := "  " + fmt.Sprintf(i18n.T("filesystem %s: %s; link limit %d"), caps.FSType, strings.Join(can, ", "), caps.LinkMax) + "\n"
	if !d.Encrypted() {
		// TRANSLATORS: %s is the folder of the new repository on the drive.
		fmt.Fprintf(env.Stdout, i18n.T("Repository ready at %s")+"\n%s", d.R.Root, fsLine)
		return
	}
	// TRANSLATORS: %s is the folder of the new repository on the drive.
	fmt.Fprintf(env.Stdout, i18n.T("Encrypted repository ready at %s (unlocked)")+"\n%s", d.Dir(), fsLine)
	// TRANSLATORS: %s is a folder on the drive; the ciphers' names stay.
	fmt.Fprintf(env.Stdout, "  "+i18n.T("snapshots and catalog in %s (AES-256-XTS, names AES-256-CTS)")+"\n\n", d.R.Root)
	printRecoveryKey(env, recoveryKey, fmt.Sprintf("keepsakectl --repo %s unlock --recovery-key", env.Repo))
}

// printRecoveryKey shows a new drive's recovery key, once, and the
// command that uses it.
func printRecoveryKey(env *Env, key, unlock string) {
	// TRANSLATORS: printed once under a new encrypted drive's recovery key;
	// keep the line break (lines of at most 72 characters).
	fmt.Fprintf(env.Stdout, "%s\n\n    %s\n\n  %s\n", i18n.T("RECOVERY KEY: shown this once only. Write it down or print it, and keep\nit apart from the drive: it unlocks the drive if the passphrase is lost."), key, unlock)
}

// encryptCommands lock, unlock and re-key an encrypted drive: on a drive
// directly (--repo), or through the service (DRIVE: a UUID, a label or a
// mount point; by default the profile's drive or the only enrolled one).
func encryptCommands(env *Env) []*cobra.Command {
	var unlockRecovery, changeRecovery, remember bool
	var unlockFile, changeFile, newFile string
	// driveArg refuses a DRIVE with --repo, which names the drive already.
	driveArg := func(name string, a []string) (string, error) {
		if env.Repo != "" && len(a) > 0 {
			// Not echoed: it may be a passphrase typed where it does
			// not belong.
			// TRANSLATORS: %s is a command's name: unlock, lock…
			return "", usagef(i18n.T("%s: --repo names the drive already: a DRIVE argument goes only without --repo (and a passphrase is never an argument: use --passphrase-file)"), name)
		}
		if len(a) > 0 {
			return a[0], nil
		}
		return "", nil
	}
	unlock := &cobra.Command{
		Use:   "unlock [DRIVE]",
		Short: i18n.T("Unlock an encrypted drive (until lock or until it is unmounted)"),
		// TRANSLATORS: the text of --help; break lines before 80 characters;
		// flags, commands, setting keys and values stay as they are.
		Long: i18n.T("unlock adds the drive's key to the kernel, after asking for the passphrase\n(or reading it from --passphrase-file). With --recovery-key it asks for the\nrecovery key instead (or reads it from --passphrase-file).\n\nThrough the service (no --repo), DRIVE is a UUID, a label or a mount point\n(default: the profile's drive, or the only enrolled one); the service\nmounts it if it mounts it for backups, and keeps it mounted and unlocked\nuntil \"keepsakectl lock\", \"keepsakectl unmount\" or until it is unplugged.\nWith --remember the service also keeps the key (root-only) and unlocks the\ndrive by itself whenever it is plugged in (an administrator's decision:\nit needs the configure authorization); \"keepsakectl forget-key\" undoes it.\n\nOn a drive directly (--repo DIR), every --repo command then works on the\ndrive until \"keepsakectl --repo DIR lock\" or until it is unmounted."),
		Args: args(0, 1),
		RunE: run(func(c *cobra.Command, a []string) error {
			arg, err := driveArg("unlock", a)
			if err != nil {
				return err
			}
			if env.Repo != "" && remember {
				return usage(i18n.T("unlock: --remember asks the service to keep the key: leave out --repo"))
			}
			var b *busBackend
			var d client.Drive
			if env.Repo == "" {
				if b, d, err = env.serviceDrive(arg); err != nil {
					return err
				}
			}
			s, err := env.secret(unlockRecovery, unlockFile)
			if err != nil {
				return err
			}
			defer clear(s.Passphrase)
			if env.Repo == "" {
				o := api.UnlockOptions{Auth: b.auth(), Secret: apiSecret(s), Remember: remember}
				if err := b.c.Unlock(env.ctx, d.UUID, o); err != nil {
					return err
				}
				// TRANSLATORS: %s names the drive: "LABEL" (UUID), or its UUID.
				msg := i18n.T("Unlocked %s: it stays unlocked until \"keepsakectl lock\" or until it is unplugged")
				if remember {
					// TRANSLATORS: %s names the drive: "LABEL" (UUID), or its UUID.
					msg = i18n.T("Unlocked %s: the service keeps its key and unlocks it by itself from now on (keepsakectl forget-key undoes it)")
				}
				env.done(map[string]any{"drive": d.UUID, "unlocked": true, "remembered": remember}, msg, driveName(d))
				return nil
			}
			if err := usecase.UnlockDrive(env.Repo, s, usecase.CurrentActor()); err != nil {
				return err
			}
			if env.JSON {
				env.emit(map[string]any{"event": "result", "repository": env.Repo, "unlocked": true})
				return nil
			}
			// TRANSLATORS: both %s are the drive's folder (--repo DIR).
			fmt.Fprintf(env.Stdout, i18n.T("Unlocked %[1]s: it stays unlocked until \"keepsakectl --repo %[1]s lock\" or until it is unmounted")+"\n", env.Repo)
			return nil
		}),
	}
	unlock.Flags().BoolVar(&unlockRecovery, "recovery-key", false, i18n.T("unlock with the recovery key instead of the passphrase"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	unlock.Flags().StringVar(&unlockFile, "passphrase-file", "", i18n.T("read the passphrase (with --recovery-key: the recovery key) from `FILE` (its first line; - for standard input)"))
	unlock.Flags().BoolVar(&remember, "remember", false, i18n.T("through the service: keep the key so that the service unlocks the drive by itself (needs an administrator)"))

	lock := &cobra.Command{
		Use:   "lock [DRIVE]",
		Short: i18n.T("Lock an encrypted drive: only encrypted names show until it is unlocked"),
		Args:  args(0, 1),
		RunE: run(func(c *cobra.Command, a []string) error {
			arg, err := driveArg("lock", a)
			if err != nil {
				return err
			}
			if env.Repo == "" {
				b, d, err := env.serviceDrive(arg)
				if err != nil {
					return err
				}
				if err := b.c.Lock(env.ctx, d.UUID, b.auth()); err != nil {
					return err
				}
				// TRANSLATORS: %s names the drive: "LABEL" (UUID), or its UUID.
				env.done(map[string]any{"drive": d.UUID, "unlocked": false}, i18n.T("Locked %s"), driveName(d))
				return nil
			}
			if err := usecase.LockDrive(env.Repo, usecase.CurrentActor()); err != nil {
				return err
			}
			if env.JSON {
				env.emit(map[string]any{"event": "result", "repository": env.Repo, "unlocked": false})
				return nil
			}
			// TRANSLATORS: %s is the drive's folder (--repo DIR).
			fmt.Fprintf(env.Stdout, i18n.T("Locked %s")+"\n", env.Repo)
			return nil
		}),
	}

	change := &cobra.Command{
		Use:   "change-passphrase [DRIVE]",
		Short: i18n.T("Set a new passphrase for an encrypted drive (nothing is encrypted again)"),
		// TRANSLATORS: the text of --help; break lines before 80 characters;
		// flags, commands, setting keys and values stay as they are.
		Long: i18n.T("change-passphrase asks for the current passphrase (or, with --recovery-key,\nthe recovery key: the way back when the passphrase is forgotten) and then\nfor the new one twice. Only the wrapped key in the drive's marker changes:\nthe data, the recovery key and a key the service remembers stay as they\nare. Through the service (no --repo) it needs an administrator."),
		Args: args(0, 1),
		RunE: run(func(c *cobra.Command, a []string) error {
			arg, err := driveArg("change-passphrase", a)
			if err != nil {
				return err
			}
			if changeFile != "" && changeFile == newFile && changeFile == "-" {
				return usage(i18n.T("change-passphrase: only one of --passphrase-file and --new-passphrase-file can be standard input"))
			}
			var b *busBackend
			var d client.Drive
			if env.Repo == "" {
				// The drive first: a typo in its name is better said
				// before two passphrases are typed.
				if b, d, err = env.serviceDrive(arg); err != nil {
					return err
				}
			}
			old, err := env.secret(changeRecovery, changeFile)
			if err != nil {
				return err
			}
			defer clear(old.Passphrase)
			// TRANSLATORS: asked on the terminal; keep the space at the end.
			pass, err := env.newPassphrase(newFile, i18n.T("New passphrase: "))
			if err != nil {
				return err
			}
			defer clear(pass)
			if env.Repo == "" {
				o := api.ChangePassphraseOptions{Auth: b.auth(), Secret: apiSecret(old), NewPassphrase: string(pass)}
				if err := b.c.ChangePassphrase(env.ctx, d.UUID, o); err != nil {
					return err
				}
				// TRANSLATORS: %s names the drive: "LABEL" (UUID), its UUID, or its folder.
				env.done(map[string]any{"drive": d.UUID, "changed": true}, i18n.T("New passphrase set for %s (the recovery key is unchanged)"), driveName(d))
				return nil
			}
			if err := usecase.ChangePassphrase(env.Repo, old, pass, usecase.CurrentActor()); err != nil {
				return err
			}
			if env.JSON {
				env.emit(map[string]any{"event": "result", "repository": env.Repo, "changed": true})
				return nil
			}
			fmt.Fprintf(env.Stdout, i18n.T("New passphrase set for %s (the recovery key is unchanged)")+"\n", env.Repo)
			return nil
		}),
	}
	change.Flags().BoolVar(&changeRecovery, "recovery-key", false, i18n.T("prove it with the recovery key instead of the current passphrase"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	change.Flags().StringVar(&changeFile, "passphrase-file", "", i18n.T("read the current passphrase (with --recovery-key: the recovery key) from `FILE`"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	change.Flags().StringVar(&newFile, "new-passphrase-file", "", i18n.T("read the new passphrase from `FILE` instead of asking"))

	forget := &cobra.Command{
		Use:   "forget-key [DRIVE]",
		Short: i18n.T("Make the service forget an encrypted drive's key: it then waits to be unlocked"),
		Args:  args(0, 1),
		RunE: run(func(c *cobra.Command, a []string) error {
			if env.Repo != "" {
				return usage(i18n.T("forget-key: the service keeps remembered keys: leave out --repo"))
			}
			arg, _ := driveArg("forget-key", a)
			b, d, err := env.serviceDrive(arg)
			if err != nil {
				return err
			}
			if err := b.c.ForgetKey(env.ctx, d.UUID, b.auth()); err != nil {
				return err
			}
			// TRANSLATORS: %s names the drive: "LABEL" (UUID), or its UUID.
			env.done(map[string]any{"drive": d.UUID, "remembered": false}, i18n.T("The service no longer keeps the key of %s: it must be unlocked before each backup once it is locked"), driveName(d))
			return nil
		}),
	}
	for _, c := range []*cobra.Command{unlock, lock, change} {
		c.GroupID = "both"
	}
	forget.GroupID = "service"
	return []*cobra.Command{unlock, lock, change, forget}
}

// apiSecret is a secret as the service takes it.
func apiSecret(s usecase.Secret) api.Secret {
	if s.UseRecoveryKey {
		return api.Secret{RecoveryKey: s.RecoveryKey}
	}
	return api.Secret{Passphrase: string(s.Passphrase)}
}

// driveName is how messages call a drive.
func driveName(d client.Drive) string {
	if d.Label != "" {
		return fmt.Sprintf("%q (%s)", d.Label, d.UUID)
	}
	return d.UUID
}

// serviceDrive finds the drive a command means among the service's: arg
// is its UUID, label or mount point; "" is the profile's drive (with
// --profile, or when there is one profile with a drive), else the only
// enrolled drive.
func (env *Env) serviceDrive(arg string) (*busBackend, client.Drive, error) {
	b, err := env.bus()
	if err != nil {
		return nil, client.Drive{}, err
	}
	ds, err := b.c.Drives(env.ctx)
	if err != nil {
		return nil, client.Drive{}, err
	}
	d, err := pickDrive(ds, arg, func() (string, error) {
		if env.Profile == "" {
			ps, err := b.c.Profiles(env.ctx)
			if err != nil || len(ps) != 1 {
				return "", err
			}
			return ps[0].DriveUUID, nil
		}
		p, err := b.c.Profile(env.ctx, env.Profile)
		return p.DriveUUID, err
	}, env.abs, env.t)
	return b, d, err
}

// pickDrive is serviceDrive's choice among ds; profileDrive is the
// profile's drive's UUID ("" when no profile says); t translates its
// errors' sentences (env.t).
func pickDrive(ds []client.Drive, arg string, profileDrive func() (string, error), abs func(string) string, t func(string) string) (client.Drive, error) {
	if arg == "" {
		uuid, err := profileDrive()
		if err != nil {
			return client.Drive{}, err
		}
		if uuid != "" {
			for _, d := range ds {
				if d.UUID == uuid {
					return d, nil
				}
			}
			// TRANSLATORS: %s is a drive's UUID.
			return client.Drive{}, kerr.New(kerr.DriveNotFound, t(i18n.Noop("the profile's drive %s has not been seen by the service: plug it in")), uuid)
		}
		var enrolled []client.Drive
		for _, d := range ds {
			if d.Enrolled {
				enrolled = append(enrolled, d)
			}
		}
		if len(enrolled) == 1 {
			return enrolled[0], nil
		}
		return client.Drive{}, usage(i18n.T("say which drive: its UUID, label or mount point (keepsakectl drives lists them)"))
	}
	for _, d := range ds {
		if d.UUID == arg {
			return d, nil
		}
	}
	var found []client.Drive
	for _, d := range ds {
		if d.Label == arg || (d.MountPoint != "" && strings.HasPrefix(arg, "/") && d.MountPoint == abs(arg)) {
			found = append(found, d)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		// TRANSLATORS: %q is what was typed to name a drive.
		return client.Drive{}, kerr.New(kerr.DriveNotFound, t(i18n.Noop("no drive %q: give its UUID, label or mount point (keepsakectl drives lists them)")), arg)
	}
	var ids []string
	for _, d := range found {
		ids = append(ids, d.UUID)
	}
	// TRANSLATORS: several drives are labelled "LABEL" (UUID, UUID): give the UUID
	return client.Drive{}, usagef(i18n.T("several drives are labelled %q (%s): give the UUID"), arg, strings.Join(ids, ", "))
}

// secret is what unlocks: the passphrase or the recovery key, from a file
// or asked on the terminal.
func (env *Env) secret(recovery bool, file string) (usecase.Secret, error) {
	// TRANSLATORS: asked on the terminal; keep the space at the end.
	prompt := i18n.T("Passphrase: ")
	if recovery {
		// TRANSLATORS: asked on the terminal; keep the space at the end.
		prompt = i18n.T("Recovery key: ")
	}
	b, err := env.readSecret(file, prompt)
	if err != nil {
		return usecase.Secret{}, err
	}
	if recovery {
		s := usecase.Secret{UseRecoveryKey: true, RecoveryKey: string(b)}
		clear(b)
		return s, nil
	}
	return usecase.Secret{Passphrase: b}, nil
}

// newPassphrase reads a new passphrase: from file, or asked twice on the
// terminal (a typo in an unseen passphrase would lock the drive for good).
func (env *Env) newPassphrase(file, prompt string) ([]byte, error) {
	p, err := env.readSecret(file, prompt)
	if err != nil || file != "" {
		return p, err
	}
	// TRANSLATORS: asks for the new passphrase a second time; keep the
	// space at the end.
	again, err := env.readSecret("", i18n.T("Again: "))
	if err != nil {
		clear(p)
		return nil, err
	}
	defer clear(again)
	if !bytes.Equal(p, again) {
		clear(p)
		return nil, kerr.New(kerr.InvalidArgs, "%s", env.t(i18n.Noop("the two passphrases differ: nothing was changed")))
	}
	return p, nil
}

// readSecret reads a passphrase or key: the first line of file ("-":
// standard input), or asked on the terminal without echo. Secrets never
// come as arguments, which every user could read in ps.
func (env *Env) readSecret(file, prompt string) ([]byte, error) {
	if file != "" {
		var r io.Reader = env.Stdin
		if file != "-" {
			f, err := os.Open(env.abs(file))
			if err != nil {
				// TRANSLATORS: an error follows: why the file could not be read.
				return nil, kerr.Wrap(kerr.InvalidArgs, err, "%s", env.t(i18n.Noop("read the passphrase file")))
			}
			defer f.Close()
			r = f
		}
		line, err := bufio.NewReader(r).ReadBytes('\n')
		if err != nil && err != io.EOF {
			// TRANSLATORS: %s is a file's name; an error follows: why it could not be read.
			return nil, kerr.Wrap(kerr.InvalidArgs, err, env.t(i18n.Noop("read the passphrase file %s")), file)
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if len(line) == 0 {
			return nil, kerr.New(kerr.InvalidArgs, env.t(i18n.Noop("the passphrase file %s is empty")), file)
		}
		return line, nil
	}
	if env.AskSecret != nil {
		return env.AskSecret(prompt)
	}
	f, ok := env.Stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, usage(i18n.T("no terminal to ask for the passphrase on: use --passphrase-file FILE (or - for standard input)"))
	}
	fmt.Fprint(env.Stderr, prompt)
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(env.Stderr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", env.t(i18n.Noop("read the passphrase")), err)
	}
	if len(b) == 0 {
		return nil, kerr.New(kerr.InvalidArgs, "%s", env.t(i18n.Noop("no passphrase given")))
	}
	return b, nil
}

// setAsideHint is the refusal of --encrypt on a drive with unencrypted
// backups, saying what --set-aside does.
func (env *Env) setAsideHint(drive string) error {
	// TRANSLATORS: the first %s is a drive, the second the folder name "Keepsake (not encrypted)".
	return kerr.New(kerr.InvalidArgs, env.t(i18n.Noop("%s holds unencrypted backups, which cannot be encrypted where they are: add --set-aside to keep them as they are in the folder %q and begin encrypted backups beside them")), drive, usecase.AsideName)
}
