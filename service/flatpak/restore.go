package flatpak

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/keepsake/keepsake/shared/kerr"
)

// RestoreOptions selects what Restore puts back and how.
type RestoreOptions struct {
	// Refs are the refs to install, as full refs of the inventory
	// ("app/ID/ARCH/BRANCH") or app ids. None: every app, and the runtimes
	// the installation had pinned (installed on their own); other
	// runtimes come as the apps' dependencies.
	Refs []string
	// SideloadRepo is an offline copy made by CreateUSB (its directory or
	// the .ostree/repo in it) to install from instead of the network.
	SideloadRepo string
	// Progress, if set, is called after each ref.
	Progress func(done, total int, ref string)
	Options
}

// Outcomes of a Result.
const (
	OutcomeInstalled = "installed" // installed, added or applied
	OutcomePresent   = "present"   // already there: nothing done
	OutcomeFailed    = "failed"
)

// Kinds of a Result besides KindApp and KindRuntime.
const (
	KindRemote   = "remote"
	KindOverride = "override"
	KindPin      = "pin"
	KindMask     = "mask"
)

// Result is what Restore did about one thing.
type Result struct {
	Kind    string // KindApp, KindRuntime, KindRemote, KindOverride, KindPin or KindMask
	Ref     string // the ref, remote name, override name or pattern
	Outcome string // OutcomeInstalled, OutcomePresent or OutcomeFailed
	Message string // why it failed, or a remark
}

// Restore puts an inventory back into its installation (inv.Installation,
// which the caller may point elsewhere, e.g. at the same user on a new
// machine): it re-adds missing remotes (GPG key, collection id, filter,
// disabled state and the rest), installs the selected refs from their
// remote or from o.SideloadRepo, then writes back the overrides of the
// selected apps and, when restoring everything, the global override, pins
// and masks. Everything runs as the installation's owner. One thing failing
// never stops the rest: each has its Result. The error is for a restore
// that could not start, or was cancelled (the results say how far it got).
func Restore(ctx context.Context, inv Inventory, o RestoreOptions) ([]Result, error) {
	inst := inv.Installation
	if err := checkInventory(inv); err != nil {
		return nil, kerr.Wrap(kerr.InvalidArgs, err, "cannot restore this Flatpak inventory")
	}
	if !filepath.IsAbs(inst.Dir) {
		return nil, kerr.New(kerr.InvalidArgs, "installation directory %q is not absolute", inst.Dir)
	}
	selected, all, err := selectRefs(inv, o.Refs)
	if err != nil {
		return nil, err
	}
	sideload, err := sideloadRepo(o.SideloadRepo)
	if err != nil {
		return nil, err
	}
	r, err := newRunner(inst, o.Options)
	if err != nil {
		return nil, err
	}
	now, err := Collect(ctx, inst, o.Options)
	if err != nil {
		return nil, fmt.Errorf("look at what is installed now: %w", err)
	}
	var results []Result

	haveRemote := map[string]Remote{}
	for _, rm := range now.Remotes {
		haveRemote[rm.Name] = rm
	}
	failedRemote := map[string]string{}
	for _, rm := range inv.Remotes {
		res := Result{Kind: KindRemote, Ref: rm.Name, Outcome: OutcomePresent}
		if cur, ok := haveRemote[rm.Name]; ok {
			if cur.URL != rm.URL {
				res.Message = fmt.Sprintf("kept its current URL %s (was %s)", cur.URL, rm.URL)
			}
		} else if msg, err := r.addRemote(ctx, rm); err != nil {
			res.Outcome, res.Message = OutcomeFailed, err.Error()
			failedRemote[rm.Name] = err.Error()
		} else {
			res.Outcome, res.Message = OutcomeInstalled, msg
		}
		results = append(results, res)
	}

	haveRef := map[string]bool{}
	for _, ref := range now.Refs {
		haveRef[ref.Ref] = true
	}
	for i, ref := range selected {
		res := Result{Kind: ref.Kind, Ref: ref.Ref}
		switch {
		case ctx.Err() != nil:
			res.Outcome, res.Message = OutcomeFailed, "cancelled"
		case haveRef[ref.Ref]:
			res.Outcome = OutcomePresent
		case failedRemote[ref.Origin] != "":
			res.Outcome = OutcomeFailed
			res.Message = fmt.Sprintf("its remote %s could not be added: %s", ref.Origin, failedRemote[ref.Origin])
		default:
			args := []string{"install", "--noninteractive", "-y"}
			if sideload != "" {
				args = append(args, "--sideload-repo="+sideload)
			}
			if _, err := r.flatpak(ctx, append(args, "--", ref.Origin, ref.Ref)...); err != nil {
				res.Outcome, res.Message = OutcomeFailed, err.Error()
			} else {
				res.Outcome = OutcomeInstalled
			}
		}
		results = append(results, res)
		if o.Progress != nil {
			o.Progress(i+1, len(selected), ref.Ref)
		}
	}

	// Settings last: installing may have pinned runtimes, and a mask put
	// back first would block its own refs.
	if ctx.Err() == nil {
		results = append(results, r.restoreSettings(ctx, inv, selected, all)...)
	}
	if ctx.Err() != nil {
		return results, kerr.Wrap(kerr.Cancelled, ctx.Err(), "Flatpak restore cancelled")
	}
	return results, nil
}

// selectRefs resolves RestoreOptions.Refs against the inventory, runtimes
// before apps so that an app finds its runtime in place. all is true when
// nothing was asked for in particular.
func selectRefs(inv Inventory, want []string) (refs []Ref, all bool, err error) {
	if len(want) == 0 {
		for _, ref := range inv.Refs {
			if ref.Kind == KindApp || pinned(ref, inv.Pinned) {
				refs = append(refs, ref)
			}
		}
		all = true
	} else {
		picked := map[string]bool{}
		for _, w := range want {
			found := false
			for _, ref := range inv.Refs {
				if ref.Ref == w || (ref.Kind == KindApp && ref.ID == w) {
					found = true
					if !picked[ref.Ref] {
						picked[ref.Ref] = true
						refs = append(refs, ref)
					}
				}
			}
			if !found {
				return nil, false, kerr.New(kerr.NotFound, "%s was not installed in this snapshot", w)
			}
		}
	}
	sort.SliceStable(refs, func(i, j int) bool { return refs[i].Kind == KindRuntime && refs[j].Kind != KindRuntime })
	return refs, all, nil
}

// pinned says whether a pin pattern names ref (flatpak's patterns are
// globs over refs).
func pinned(ref Ref, patterns []string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, ref.Ref); ok {
			return true
		}
	}
	return false
}

// sideloadRepo finds the OSTree repository of an offline copy.
func sideloadRepo(dir string) (string, error) {
	if dir == "" {
		return "", nil
	}
	for _, repo := range []string{filepath.Join(dir, ".ostree", "repo"), dir} {
		if fi, err := os.Stat(filepath.Join(repo, "config")); err == nil && fi.Mode().IsRegular() {
			return repo, nil
		}
	}
	return "", kerr.New(kerr.NotFound, "no offline copy of Flatpak apps in %s", dir)
}

// addRemote runs `flatpak remote-add` for a saved remote, returning a
// remark for the result.
func (r *runner) addRemote(ctx context.Context, rm Remote) (string, error) {
	if !validToken(rm.Name) || rm.URL == "" {
		return "", fmt.Errorf("bad remote %q", rm.Name)
	}
	remark := ""
	var args []string
	if len(rm.GPGKey) > 0 {
		// A file the owner can read; the key is public.
		dir, err := os.MkdirTemp("", "keepsake-flatpak-")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(dir)
		key := filepath.Join(dir, "key.gpg")
		if err := os.Chmod(dir, 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(key, rm.GPGKey, 0o644); err != nil {
			return "", err
		}
		args = append(args, "--gpg-import="+key)
	}
	filter := ""
	if rm.Filter != "" {
		switch {
		case r.readable(ctx, rm.Filter):
			filter = rm.Filter
		case rm.FilterText != "":
			// The filter file is gone: keep the saved copy in the
			// installation, where the owner may write.
			dir := filepath.Join(r.inst.Dir, "filters")
			if err := r.writeFile(ctx, dir, rm.Name+".filter", []byte(rm.FilterText)); err != nil {
				return "", err
			}
			filter = filepath.Join(dir, rm.Name+".filter")
			remark = fmt.Sprintf("its filter %s is gone: restored a copy as %s", rm.Filter, filter)
		default:
			remark = fmt.Sprintf("its filter %s is gone: added without a filter", rm.Filter)
		}
	}
	args = append(args, remoteAddFlags(rm, filter)...)
	args = append(append([]string{"remote-add"}, args...), "--", rm.Name, rm.URL)
	if _, err := r.flatpak(ctx, args...); err != nil {
		return "", err
	}
	return remark, nil
}

// readable says whether the owner can read a file.
func (r *runner) readable(ctx context.Context, p string) bool {
	_, err := r.run(ctx, nil, "/bin/sh", "-c", `test -f "$1" && test -r "$1"`, "sh", p)
	return err == nil
}

// restoreSettings writes back overrides (of the selected apps; the global
// one only when restoring all), pins and masks (only when restoring all:
// they are the installation's, not an app's).
func (r *runner) restoreSettings(ctx context.Context, inv Inventory, selected []Ref, all bool) []Result {
	var results []Result
	t, err := r.readTree(ctx)
	if err != nil {
		return []Result{{Kind: KindOverride, Ref: GlobalOverride, Outcome: OutcomeFailed, Message: err.Error()}}
	}
	apps := map[string]bool{}
	for _, ref := range selected {
		if ref.Kind == KindApp {
			apps[ref.ID] = true
		}
	}
	names := make([]string, 0, len(inv.Overrides))
	for name := range inv.Overrides {
		if (all || apps[name]) && (name == GlobalOverride || validID(name)) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		res := Result{Kind: KindOverride, Ref: name, Outcome: OutcomePresent}
		text := normText(inv.Overrides[name])
		cur, ok := t.files["overrides/"+name]
		if !ok || normText(string(cur)) != text {
			if err := r.writeFile(ctx, filepath.Join(r.inst.Dir, "overrides"), name, []byte(text)); err != nil {
				res.Outcome, res.Message = OutcomeFailed, err.Error()
			} else {
				res.Outcome = OutcomeInstalled
			}
		}
		results = append(results, res)
	}
	if !all {
		return results
	}
	config := parseKeyFile(t.files["repo/config"])
	for _, s := range []struct {
		kind, key string
		saved     []string
	}{{KindPin, "xa.pinned", inv.Pinned}, {KindMask, "xa.masked", inv.Masked}} {
		have := map[string]bool{}
		for _, p := range config.list("core", s.key) {
			have[p] = true
		}
		for _, p := range s.saved {
			res := Result{Kind: s.kind, Ref: p, Outcome: OutcomePresent}
			if !have[p] {
				if _, err := r.flatpak(ctx, s.kind, "--", p); err != nil {
					res.Outcome, res.Message = OutcomeFailed, err.Error()
				} else {
					res.Outcome = OutcomeInstalled
				}
			}
			results = append(results, res)
		}
	}
	return results
}
