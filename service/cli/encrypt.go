package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/shared/kerr"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// initCommand sets up a drive, plain or (--encrypt) encrypted.
func initCommand(env *Env) *cobra.Command {
	var encrypt bool
	var passFile string
	c := &cobra.Command{
		Use:   "init",
		Short: "Create a repository on the drive after probing its filesystem",
		Long: `init creates the Keepsake folder on the drive after checking that its
filesystem can hold hardlink snapshots.

With --encrypt the snapshots and the catalog are encrypted by the kernel
(ext4 made with "mkfs.ext4 -O encrypt", or enabled later with
"tune2fs -O encrypt" while unmounted). init asks for a passphrase twice (or
reads it from --passphrase-file) and prints a recovery key once: write it
down, it unlocks the drive when the passphrase is forgotten.`,
		Args: args(0, 0),
		RunE: run(func(c *cobra.Command, _ []string) error {
			if !encrypt {
				if passFile != "" {
					return usagef("init: --passphrase-file goes with --encrypt")
				}
				d, err := usecase.InitDrive(env.Repo, usecase.CurrentActor())
				if err != nil {
					return err
				}
				env.printInit(d, "")
				return nil
			}
			pass, err := env.newPassphrase(passFile, "Passphrase for the drive: ")
			if err != nil {
				return err
			}
			defer clear(pass)
			d, rk, err := usecase.InitEncryptedDrive(env.Repo, pass, usecase.CurrentActor())
			if err != nil {
				return err
			}
			env.printInit(d, rk)
			return nil
		}),
	}
	c.Flags().BoolVar(&encrypt, "encrypt", false, "encrypt the snapshots and the catalog (ext4 with the encrypt feature)")
	c.Flags().StringVar(&passFile, "passphrase-file", "", "with --encrypt: read the passphrase from `FILE` (its first line; - for standard input) instead of asking")
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
	for _, c := range []struct {
		ok   bool
		what string
	}{{caps.Hardlinks, "hardlinks"}, {caps.Symlinks, "symlinks"}, {caps.Chown, "owners"}, {caps.Xattrs, "xattrs/ACLs"}, {caps.CaseSensitive, "case-sensitive names"}} {
		if c.ok {
			can = append(can, c.what)
		} else {
			can = append(can, "no "+c.what)
		}
	}
	if !d.Encrypted() {
		fmt.Fprintf(env.Stdout, "Repository ready at %s\n  filesystem %s: %s; link limit %d\n", d.R.Root, caps.FSType, strings.Join(can, ", "), caps.LinkMax)
		return
	}
	fmt.Fprintf(env.Stdout, `Encrypted repository ready at %s (unlocked)
  filesystem %s: %s; link limit %d
  snapshots and catalog in %s (AES-256-XTS, names AES-256-CTS)

RECOVERY KEY: shown this once only. Write it down or print it, and keep
it apart from the drive: it unlocks the drive if the passphrase is lost.

    %s

  keepsakectl --repo %s unlock --recovery-key
`, d.Dir(), caps.FSType, strings.Join(can, ", "), caps.LinkMax, d.R.Root, recoveryKey, env.Repo)
}

// encryptCommands lock, unlock and re-key an encrypted drive.
func encryptCommands(env *Env) []*cobra.Command {
	var unlockRecovery, changeRecovery bool
	var unlockFile, changeFile, newFile string
	unlock := &cobra.Command{
		Use:   "unlock",
		Short: "Unlock an encrypted drive (until lock or until it is unmounted)",
		Long: `unlock adds the drive's key to the kernel, after asking for the passphrase
(or reading it from --passphrase-file). Every --repo command then works on
the drive until "keepsakectl --repo DIR lock" or until it is unmounted.
With --recovery-key it asks for the recovery key instead (or reads it from
--passphrase-file).`,
		Args: args(0, 0),
		RunE: run(func(c *cobra.Command, _ []string) error {
			s, err := env.secret(unlockRecovery, unlockFile)
			if err != nil {
				return err
			}
			defer clear(s.Passphrase)
			if err := usecase.UnlockDrive(env.Repo, s, usecase.CurrentActor()); err != nil {
				return err
			}
			if env.JSON {
				env.emit(map[string]any{"event": "result", "repository": env.Repo, "unlocked": true})
				return nil
			}
			fmt.Fprintf(env.Stdout, "Unlocked %s: it stays unlocked until \"keepsakectl --repo %s lock\" or until it is unmounted\n", env.Repo, env.Repo)
			return nil
		}),
	}
	unlock.Flags().BoolVar(&unlockRecovery, "recovery-key", false, "unlock with the recovery key instead of the passphrase")
	unlock.Flags().StringVar(&unlockFile, "passphrase-file", "", "read the passphrase (with --recovery-key: the recovery key) from `FILE` (its first line; - for standard input)")

	lock := &cobra.Command{
		Use:   "lock",
		Short: "Lock an encrypted drive: only encrypted names show until it is unlocked",
		Args:  args(0, 0),
		RunE: run(func(c *cobra.Command, _ []string) error {
			if err := usecase.LockDrive(env.Repo, usecase.CurrentActor()); err != nil {
				return err
			}
			if env.JSON {
				env.emit(map[string]any{"event": "result", "repository": env.Repo, "unlocked": false})
				return nil
			}
			fmt.Fprintf(env.Stdout, "Locked %s\n", env.Repo)
			return nil
		}),
	}

	change := &cobra.Command{
		Use:   "change-passphrase",
		Short: "Set a new passphrase for an encrypted drive (nothing is encrypted again)",
		Long: `change-passphrase asks for the current passphrase (or, with --recovery-key,
the recovery key: the way back when the passphrase is forgotten) and then
for the new one twice. Only the wrapped key in the drive's marker changes:
the data and the recovery key stay as they are.`,
		Args: args(0, 0),
		RunE: run(func(c *cobra.Command, _ []string) error {
			if changeFile != "" && changeFile == newFile && changeFile == "-" {
				return usagef("change-passphrase: only one of --passphrase-file and --new-passphrase-file can be standard input")
			}
			old, err := env.secret(changeRecovery, changeFile)
			if err != nil {
				return err
			}
			defer clear(old.Passphrase)
			pass, err := env.newPassphrase(newFile, "New passphrase: ")
			if err != nil {
				return err
			}
			defer clear(pass)
			if err := usecase.ChangePassphrase(env.Repo, old, pass, usecase.CurrentActor()); err != nil {
				return err
			}
			if env.JSON {
				env.emit(map[string]any{"event": "result", "repository": env.Repo, "changed": true})
				return nil
			}
			fmt.Fprintf(env.Stdout, "New passphrase set for %s (the recovery key is unchanged)\n", env.Repo)
			return nil
		}),
	}
	change.Flags().BoolVar(&changeRecovery, "recovery-key", false, "prove it with the recovery key instead of the current passphrase")
	change.Flags().StringVar(&changeFile, "passphrase-file", "", "read the current passphrase (with --recovery-key: the recovery key) from `FILE`")
	change.Flags().StringVar(&newFile, "new-passphrase-file", "", "read the new passphrase from `FILE` instead of asking")
	return []*cobra.Command{unlock, lock, change}
}

// secret is what unlocks: the passphrase or the recovery key, from a file
// or asked on the terminal.
func (env *Env) secret(recovery bool, file string) (usecase.Secret, error) {
	prompt := "Passphrase: "
	if recovery {
		prompt = "Recovery key: "
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
	again, err := env.readSecret("", "Again: ")
	if err != nil {
		clear(p)
		return nil, err
	}
	defer clear(again)
	if !bytes.Equal(p, again) {
		clear(p)
		return nil, kerr.New(kerr.InvalidArgs, "the two passphrases differ: nothing was changed")
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
				return nil, kerr.Wrap(kerr.InvalidArgs, err, "read the passphrase file")
			}
			defer f.Close()
			r = f
		}
		line, err := bufio.NewReader(r).ReadBytes('\n')
		if err != nil && err != io.EOF {
			return nil, kerr.Wrap(kerr.InvalidArgs, err, "read the passphrase file %s", file)
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if len(line) == 0 {
			return nil, kerr.New(kerr.InvalidArgs, "the passphrase file %s is empty", file)
		}
		return line, nil
	}
	if env.AskSecret != nil {
		return env.AskSecret(prompt)
	}
	f, ok := env.Stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, usagef("no terminal to ask for the passphrase on: use --passphrase-file FILE (or - for standard input)")
	}
	fmt.Fprint(env.Stderr, prompt)
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(env.Stderr)
	if err != nil {
		return nil, fmt.Errorf("read the passphrase: %w", err)
	}
	if len(b) == 0 {
		return nil, kerr.New(kerr.InvalidArgs, "no passphrase given")
	}
	return b, nil
}
