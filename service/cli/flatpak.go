package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/i18n"
	"github.com/keepsake/keepsake/shared/kerr"
	"github.com/spf13/cobra"
)

// localFlatpak runs this machine's flatpak; a FLATPAK_SYSTEM_DIR in the
// environment says where its system installation is, as for keepsaked.
func localFlatpak() usecase.FlatpakOptions {
	var o usecase.FlatpakOptions
	if v, ok := os.LookupEnv("FLATPAK_SYSTEM_DIR"); ok {
		o.Env = append(o.Env, "FLATPAK_SYSTEM_DIR="+v)
	}
	return o
}

// Flatpaks lists a snapshot's apps beside what this machine has.
func (b *driveBackend) Flatpaks(ctx context.Context, snapshot string, all bool) ([]api.FlatpakRef, error) {
	c, err := b.caller(all)
	if err != nil {
		return nil, err
	}
	return b.x.ListFlatpaks(ctx, c, usecase.FlatpakListRequest{Snapshot: snapshot, Flatpak: localFlatpak()})
}

// RestoreFlatpaks reinstalls a snapshot's apps here with no service: root
// for the system installation; a user's own, as that user or root.
func (b *driveBackend) RestoreFlatpaks(ctx context.Context, q usecase.FlatpakRestoreRequest, bar *progressBar) (api.FlatpakRestoreResult, error) {
	q.Flatpak = localFlatpak()
	plan, err := b.x.PlanFlatpakRestore(ctx, b.c, q)
	if err != nil {
		return api.FlatpakRestoreResult{}, err
	}
	if plan.NeedsAdmin && !b.c.Root() {
		// TRANSLATORS: %s is a Flatpak installation: system, or user:NAME.
		return api.FlatpakRestoreResult{}, kerr.New(kerr.NotAuthorized, b.t(i18n.Noop("restoring the %s installation needs root: run keepsakectl as root")), plan.Installation)
	}
	if err := plan.Check(); err != nil {
		return api.FlatpakRestoreResult{}, err
	}
	defer bar.done()
	return plan.Run(ctx, usecase.FlatpakProgress{Installed: bar.step, Progress: bar.engine})
}

// RestoreAppData puts one app's ~/.var/app/ID back as the user.
func (b *driveBackend) RestoreAppData(ctx context.Context, q usecase.AppDataRequest, bar *progressBar) (api.RestoreResult, error) {
	q.Progress = bar.engine
	defer bar.done()
	return b.x.RestoreAppData(ctx, b.c, q)
}

func (b *busBackend) Flatpaks(ctx context.Context, snapshot string, all bool) ([]api.FlatpakRef, error) {
	p, err := b.name(ctx)
	if err != nil {
		return nil, err
	}
	return b.c.Flatpaks(ctx, p, snapshot, b.list(all))
}

func (b *busBackend) RestoreFlatpaks(ctx context.Context, q usecase.FlatpakRestoreRequest, bar *progressBar) (api.FlatpakRestoreResult, error) {
	data := q.Data
	j, err := b.follow(ctx, func(p string) (dbus.ObjectPath, error) {
		return b.c.RestoreFlatpaks(ctx, p, q.Snapshot, q.Refs, api.FlatpakRestoreOptions{Auth: b.auth(),
			Installation: q.Installation, Offline: q.Offline, Data: &data, Overwrite: q.Overwrite})
	}, bar)
	var res api.FlatpakRestoreResult
	if len(j.Result) > 0 {
		if rerr := res.FromDict(j.Result); rerr != nil && err == nil {
			err = rerr
		}
	}
	return res, err
}

func (b *busBackend) RestoreAppData(ctx context.Context, q usecase.AppDataRequest, bar *progressBar) (api.RestoreResult, error) {
	j, err := b.follow(ctx, func(p string) (dbus.ObjectPath, error) {
		return b.c.RestoreAppData(ctx, p, q.Snapshot, q.AppID, api.AppDataOptions{Auth: b.auth(), Overwrite: q.Overwrite})
	}, bar)
	if err != nil {
		return api.RestoreResult{}, err
	}
	return j.RestoreResult()
}

// step shows one ref of a Flatpak restore done.
func (b *progressBar) step(done, total int, ref string) {
	if b.env.JSON {
		b.mu.Lock()
		b.env.emit(map[string]any{"event": "progress", "done": done, "total": total, "ref": ref})
		b.mu.Unlock()
		return
	}
	b.println(fmt.Sprintf("[%d/%d] %s", done, total, ref))
}

// flatpakCommands work both ways: the apps a snapshot recorded, putting
// them back, and one app's data.
func flatpakCommands(env *Env) []*cobra.Command {
	var all bool
	list := &cobra.Command{
		Use:   "flatpaks [SNAPSHOT]",
		Short: i18n.T("The Flatpak apps a snapshot recorded beside what is installed now"),
		Args:  args(0, 1),
		RunE: run(func(c *cobra.Command, a []string) error {
			snapshot := "latest"
			if len(a) == 1 {
				snapshot = a[0]
			}
			return query(env, func(b Backend) ([]api.FlatpakRef, error) { return b.Flatpaks(env.ctx, snapshot, all) }, printFlatpaks)
		}),
	}
	list.Flags().BoolVar(&all, "all-users", false, i18n.T("every user's installation (administrators; on a drive: root)"))

	var inst string
	var offline, noData, overwrite bool
	restore := &cobra.Command{
		Use:   "flatpak-restore SNAPSHOT [REF|APPID...]",
		Short: i18n.T("Reinstall a snapshot's Flatpak apps and put their data back"),
		// TRANSLATORS: the text of --help; break lines before 80 characters;
		// flags, commands, setting keys and values stay as they are.
		Long: i18n.T("Reinstall the listed apps (all if none) of one installation as the snapshot\nrecorded them (default: yours; root's: system): missing remotes are added,\napps installed from their remote or with --offline from the copy on the\ndrive, overrides re-applied, and each app's ~/.var/app data put back.\nOne app failing never stops the others; the command then exits 1."),
		Args: args(1, -1),
		RunE: run(func(c *cobra.Command, a []string) error {
			q := usecase.FlatpakRestoreRequest{Snapshot: a[0], Refs: a[1:], Installation: inst, Offline: offline, Data: !noData, Overwrite: overwrite}
			if inst != "" {
				if err := usecase.CheckInstallation(inst); err != nil {
					// TRANSLATORS: "system" and "user:NAME" are values to type: keep them.
					return usagef(i18n.T("--installation is \"system\" or \"user:NAME\", not %q"), inst)
				}
			}
			if err := usecase.CheckFlatpakRestoreArgs(q); err != nil {
				return usagef("flatpak-restore: %v", err)
			}
			b, err := env.open(readWrite)
			if err != nil {
				return err
			}
			res, err := b.RestoreFlatpaks(env.ctx, q, newProgressBar(env))
			if len(res.Outcomes) == 0 && err != nil {
				return err
			}
			_, failed := res.Counts()
			if err == nil && failed > 0 {
				format := "%d things of %d failed" // --json's message: English
				if failed == 1 {
					format = "%d thing of %d failed"
				}
				if !env.JSON {
					// TRANSLATORS: N things (apps, runtimes, app data) of M failed.
					format = i18n.N("%d thing of %d failed", "%d things of %d failed", failed)
				}
				err = kerr.New(kerr.Failed, format, failed, len(res.Outcomes))
			}
			env.printResult(res, func() {
				tw := table(env)
				for _, o := range res.Outcomes {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", o.Kind, o.Ref, outcome(o))
				}
				tw.Flush()
				fmt.Fprintln(env.Stdout, res.Summary())
			})
			if err != nil && env.JSON {
				return quietError{err}
			}
			return err
		}),
	}
	f := restore.Flags()
	// TRANSLATORS: keep the backquotes around the placeholder.
	f.StringVar(&inst, "installation", "", i18n.T("which installation: `system` or user:NAME"))
	f.BoolVar(&offline, "offline", false, i18n.T("install from the offline copy on the drive"))
	f.BoolVar(&noData, "no-data", false, i18n.T("leave the apps' data (~/.var/app) as it is"))
	f.BoolVar(&overwrite, "overwrite", false, i18n.T("replace newer app data instead of restoring beside it"))

	var dataOverwrite bool
	appData := &cobra.Command{
		Use:   "app-data-restore SNAPSHOT APPID",
		Short: i18n.T("Roll one Flatpak app's data (~/.var/app/APPID) back to a snapshot"),
		Args:  args(2, 2),
		RunE: run(func(c *cobra.Command, a []string) error {
			if err := usecase.CheckAppID(a[1]); err != nil {
				return usagef("app-data-restore: %v", err)
			}
			b, err := env.open(readWrite)
			if err != nil {
				return err
			}
			res, err := b.RestoreAppData(env.ctx, usecase.AppDataRequest{Snapshot: a[0], AppID: a[1], Overwrite: dataOverwrite}, newProgressBar(env))
			if err != nil {
				return err
			}
			env.printRestore(res)
			return nil
		}),
	}
	appData.Flags().BoolVar(&dataOverwrite, "overwrite", false, i18n.T("replace newer data instead of restoring beside it"))

	size := &cobra.Command{
		Use:   "flatpak-offline-size",
		Short: i18n.T("What an offline copy of the Flatpak apps would take on the drive"),
		Args:  args(0, 0),
		RunE: run(func(c *cobra.Command, _ []string) error {
			if env.Repo != "" {
				return usage(i18n.T("flatpak-offline-size talks to the service: leave out --repo"))
			}
			b, p, err := env.profile()
			if err != nil {
				return err
			}
			n, err := b.c.FlatpakOfflineSize(env.ctx, p, b.auth())
			if err != nil {
				return err
			}
			// TRANSLATORS: %s is a size: 1.5 GiB.
			env.done(map[string]any{"bytes": n}, i18n.T("an offline copy of the Flatpak apps takes about %s on the drive"), humanBytes(int64(n)))
			return nil
		}),
	}
	size.GroupID = "service"
	return []*cobra.Command{list, restore, appData, size}
}

// outcome is what became of one thing, in words.
func outcome(o api.FlatpakOutcome) string {
	switch o.Outcome {
	case api.OutcomeFailed:
		if o.Message != "" {
			// TRANSLATORS: failed: WHY (the message is flatpak's or the system's).
			return fmt.Sprintf(i18n.T("failed: %s"), o.Message)
		}
	case api.OutcomeRestored:
		// TRANSLATORS: app data restored to FOLDER (beside a newer copy).
		return fmt.Sprintf(i18n.T("restored to %s"), o.To)
	}
	// The other outcomes are --json's words (installed, skipped…).
	return o.Outcome
}

func printFlatpaks(env *Env, refs []api.FlatpakRef) {
	if len(refs) == 0 {
		fmt.Fprintln(env.Stdout, i18n.T("no Flatpak apps recorded that you may see"))
		return
	}
	tw := table(env)
	// TRANSLATORS: the column headings of keepsakectl flatpaks, in
	// capitals, separated by tabs: keep the seven columns and the tabs.
	fmt.Fprintln(tw, i18n.T("INSTALLATION\tKIND\tID\tBRANCH\tVERSION\tSTATE\tDATA"))
	for _, r := range refs {
		version := r.Version
		if version == "" {
			version = "-"
		}
		// The saved version, then what is installed when it differs.
		if r.InstalledVersion != "" && r.InstalledVersion != r.Version {
			version += " → " + r.InstalledVersion
		}
		data := "-"
		if r.Kind == "app" {
			// TRANSLATORS: in the DATA column of keepsakectl flatpaks: whether
			// the snapshot holds the app's data.
			data = i18n.P("data column", "no")
			if r.Data {
				// TRANSLATORS: in the DATA column of keepsakectl flatpaks: whether
				// the snapshot holds the app's data.
				data = i18n.P("data column", "yes")
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Installation, r.Kind, r.ID, r.Branch, version, r.State, data)
	}
	tw.Flush()
}
