package cli

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/i18n"
	"github.com/keepsake/keepsake/shared/kerr"
	"github.com/spf13/cobra"
)

// prepareDriveCommand erases a drive through the service. There is no
// --repo form: it works on a device, not on a repository, and the
// checks that keep it from erasing the wrong disk live in one place.
// Without the service, an administrator runs wipefs and mkfs by hand and
// then keepsakectl --repo MOUNT init.
func prepareDriveCommand(env *Env) *cobra.Command {
	var fs, label string
	var yes bool
	c := &cobra.Command{
		Use:   "prepare-drive DEVICE",
		Short: i18n.T("Erase a drive and make it a backup drive (administrators)"),
		// TRANSLATORS: the text of --help; break lines before 80 characters;
		// flags, commands, setting keys and values stay as they are.
		Long: i18n.T("Erase a whole drive (e.g. /dev/sdb) and make it a Keepsake backup drive: its\nold signatures wiped, a new btrfs filesystem (or ext4 with --filesystem ext4)\nlabelled \"Keepsake\" (or --label), and a repository written (enrolled).\n\nFirst it shows what is on the drive (label, size, filesystems, partitions,\nwhether it holds backups) and asks you to type \"yes\" or the drive's label;\n--yes skips the question, for scripts. The drive must still be the one shown\nwhen erasing starts, or nothing is erased.\n\nRefused, with nothing written: the disk holding this system (/, /boot...), a\ndrive with a mounted filesystem or swap in use, a partition (name the whole\ndrive), an internal disk (only removable drives, or a loop device named\nexplicitly). Needs an administrator's password every time."),
		Args: args(1, 1),
		RunE: run(func(c *cobra.Command, a []string) error {
			q, err := usecase.PrepareRequest{Device: a[0], Filesystem: fs, Label: label}.Check()
			if err != nil {
				return usagef("prepare-drive: %v", err)
			}
			if !strings.HasPrefix(q.Device, "/dev/") {
				return usagef(i18n.T("prepare-drive: %q is not a device (/dev/sdb, /dev/loop3)"), q.Device)
			}
			b, err := env.bus()
			if err != nil {
				return err
			}
			info, err := b.c.DescribeDevice(env.ctx, q.Device, b.auth())
			if err != nil {
				return err
			}
			if !env.JSON {
				printDevice(env, info, q)
			}
			if !yes {
				if err := env.confirmErase(info); err != nil {
					return err
				}
			}
			q.Confirm = info.Token
			res, err := b.prepare(env.ctx, q)
			if err != nil {
				return err
			}
			// With one profile (or --profile) the drive becomes its drive,
			// as keepsakectl enroll does.
			profile := env.Profile
			if profile == "" {
				if ps, err := b.c.Profiles(env.ctx); err == nil && len(ps) == 1 {
					profile = ps[0].Name
				}
			}
			if res.Enrolled && profile != "" {
				if err := b.c.Enroll(env.ctx, res.UUID, client.EnrollOptions{Auth: b.auth(), Profile: profile}); err != nil {
					return err
				}
			}
			if env.JSON {
				env.emit(map[string]any{"event": "result", "device": res.Device, "uuid": res.UUID, "label": res.Label,
					"filesystem": res.Filesystem, "enrolled": res.Enrolled, "profile": profile})
				return nil
			}
			// TRANSLATORS: DEVICE is a Keepsake drive now: FILESYSTEM (btrfs,
			// ext4), label "LABEL", UUID UUID
			fmt.Fprintf(env.Stdout, i18n.T("%s is a Keepsake drive now: %s, label %q, UUID %s")+"\n", res.Device, res.Filesystem, res.Label, res.UUID)
			if profile != "" {
				// TRANSLATORS: %s is a backup profile's name.
				fmt.Fprintf(env.Stdout, i18n.T("profile %s backs up to it")+"\n", profile)
			} else {
				// TRANSLATORS: keepsakectl … drive=%s is a command to type:
				// keep it (NAME may be translated).
				fmt.Fprintf(env.Stdout, i18n.T("choose it for a profile: keepsakectl --profile NAME configure drive=%s")+"\n", res.UUID)
			}
			return nil
		}),
	}
	// TRANSLATORS: keep the backquotes around the placeholder.
	c.Flags().StringVar(&fs, "filesystem", "btrfs", i18n.T("the new filesystem: `btrfs` or ext4"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	c.Flags().StringVar(&label, "label", "", i18n.T("the new filesystem's `LABEL` (default Keepsake)"))
	c.Flags().BoolVar(&yes, "yes", false, i18n.T("do not ask: erase what was described (scripts)"))
	return c
}

// printDevice says what erasing the device destroys.
func printDevice(env *Env, d api.DeviceInfo, q usecase.PrepareRequest) {
	w := env.Stdout
	what := d.Model
	if d.Loop {
		// TRANSLATORS: %s is the file a loop device shows as a drive.
		what = fmt.Sprintf(i18n.T("loop device of %s"), d.BackingFile)
	}
	if what == "" {
		// TRANSLATORS: a drive with no model name: /dev/sdb: drive, 1.8 TiB
		what = i18n.T("drive")
	}
	fmt.Fprintf(w, "%s: %s, %s\n", d.Device, what, humanBytes(int64(d.Size)))
	switch {
	case d.Filesystem != "":
		// TRANSLATORS: what a drive holds now: FILESYSTEM (exfat, ntfs…)
		// filesystem, label "LABEL", UUID UUID
		fmt.Fprintf(w, "  "+i18n.T("holds: %s filesystem, label %q, UUID %s")+"\n", d.Filesystem, d.Label, d.UUID)
	case d.PartitionTable != "":
		// TRANSLATORS: %s is a kind of partition table: gpt, dos.
		fmt.Fprintf(w, "  "+i18n.T("holds: a %s partition table")+"\n", d.PartitionTable)
	default:
		fmt.Fprintln(w, "  "+i18n.T("holds: nothing Keepsake recognises (empty, or unknown data)"))
	}
	for _, p := range d.Partitions {
		// TRANSLATORS: %s describes one partition of a drive to be erased.
		fmt.Fprintf(w, "  "+i18n.T("partition %s")+"\n", p)
	}
	if d.Repository {
		fmt.Fprintln(w, "  "+i18n.T("it holds Keepsake backups: they will be lost too"))
	}
	// TRANSLATORS: it becomes a FILESYSTEM (btrfs, ext4) drive labelled "LABEL".
	fmt.Fprintf(w, i18n.T("Everything on it will be erased; it becomes a %s drive labelled %q.")+"\n", q.Filesystem, q.Label)
}

// confirmErase asks on the terminal for "yes" or the drive's label.
func (env *Env) confirmErase(d api.DeviceInfo) error {
	if !env.Terminal || env.JSON {
		return usagef(i18n.T("prepare-drive: not asking on a terminal: add --yes to erase %s"), d.Device)
	}
	// The answer is "yes" in every language: a script or a person who
	// learnt it elsewhere types the same word.
	// TRANSLATORS: a question on the terminal; the person types the
	// English word yes, so keep "yes" untranslated (and the space at the end).
	prompt := i18n.T("Type yes to erase it: ")
	if d.Label != "" {
		// TRANSLATORS: keep the English word yes (it is what must be typed)
		// and the space at the end; %s is the drive's label.
		prompt = fmt.Sprintf(i18n.T("Type yes or its label (%s) to erase it: "), d.Label)
	}
	fmt.Fprint(env.Stderr, prompt)
	line, _ := bufio.NewReader(env.Stdin).ReadString('\n')
	line = strings.TrimSpace(line)
	if line == "yes" || (d.Label != "" && line == d.Label) {
		return nil
	}
	// TRANSLATORS: %s is a device: /dev/sdb.
	return kerr.New(kerr.Cancelled, env.t(i18n.Noop("not confirmed: %s was not erased")), d.Device)
}

// preparePhases are the phases of a PrepareDrive job as the terminal
// tells them; --json keeps the phase's own name.
var preparePhases = map[string]string{
	// TRANSLATORS: a step of erasing a drive, on the terminal.
	"erasing": i18n.Noop("erasing…"),
	// TRANSLATORS: a step of erasing a drive, on the terminal.
	"making the filesystem": i18n.Noop("making the filesystem…"),
	// TRANSLATORS: a step of erasing a drive, on the terminal.
	"enrolling": i18n.Noop("enrolling…"),
}

// prepare starts the job and follows it, telling each phase.
func (b *busBackend) prepare(ctx context.Context, q usecase.PrepareRequest) (api.PrepareResult, error) {
	job, err := b.c.PrepareDrive(ctx, q.Device, api.PrepareOptions{Auth: b.auth(), Filesystem: q.Filesystem, Label: q.Label, Confirm: q.Confirm})
	if err != nil {
		return api.PrepareResult{}, err
	}
	env := b.env
	last := ""
	j, err := b.c.Wait(ctx, job, func(j client.Job) {
		if j.Phase == last || j.Phase == "" || j.Phase == "starting" || j.Phase == "done" {
			return
		}
		last = j.Phase
		if env.JSON {
			env.emit(map[string]any{"event": "progress", "phase": j.Phase})
		} else if env.Terminal {
			if s, ok := preparePhases[j.Phase]; ok {
				fmt.Fprintln(env.Stderr, i18n.T(s))
			} else {
				fmt.Fprintf(env.Stderr, "%s…\n", j.Phase)
			}
		}
	})
	if ctx.Err() != nil {
		b.c.Cancel(context.Background(), job, b.auth())
	}
	if err != nil {
		return api.PrepareResult{}, err
	}
	return j.PrepareResult()
}
