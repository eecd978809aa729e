package flatpak

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/keepsake/keepsake/shared/kerr"
)

// Collect records an installation: its apps and runtimes, remotes,
// overrides, pins and masks.
func Collect(ctx context.Context, inst Installation, opts Options) (Inventory, error) {
	inv := Inventory{Installation: inst, Overrides: map[string]string{}}
	if !filepath.IsAbs(inst.Dir) {
		return inv, kerr.New(kerr.InvalidArgs, "installation directory %q is not absolute", inst.Dir)
	}
	r, err := newRunner(inst, opts)
	if err != nil {
		return inv, err
	}
	t, err := r.readTree(ctx)
	if err != nil {
		return inv, err
	}
	// No repository, nothing installed: and flatpak list would create one.
	if _, ok := t.files["repo/config"]; !ok {
		return inv, nil
	}
	for _, kind := range []string{KindApp, KindRuntime} {
		refs, err := r.list(ctx, kind)
		if err != nil {
			return inv, err
		}
		for _, ref := range refs {
			base := path.Join(kind, ref.ID, ref.Arch, ref.Branch, "active")
			ref.Commit = t.links[base]
			if d, err := parseDeploy(t.files[base+"/deploy"]); err == nil {
				ref.InstalledSize = d.InstalledSize
				ref.Timestamp = d.Timestamp
				if ref.Commit == "" {
					ref.Commit = d.Commit
				}
			}
			inv.Refs = append(inv.Refs, ref)
		}
	}
	sort.Slice(inv.Refs, func(i, j int) bool { return inv.Refs[i].Ref < inv.Refs[j].Ref })

	config := parseKeyFile(t.files["repo/config"])
	inv.Pinned = config.list("core", "xa.pinned")
	inv.Masked = config.list("core", "xa.masked")
	var filters []string
	for group := range config {
		name, ok := remoteGroup(group)
		if !ok {
			continue
		}
		rm := Remote{
			Name:          name,
			URL:           config.get(group, "url"),
			CollectionID:  config.get(group, "collection-id"),
			Title:         config.get(group, "xa.title"),
			Filter:        config.get(group, "xa.filter"),
			GPGKey:        t.files["repo/"+name+".trustedkeys.gpg"],
			GPGVerify:     config.boolean(group, "gpg-verify", true),
			Disabled:      config.boolean(group, "xa.disable", false),
			NoEnumerate:   config.boolean(group, "xa.noenumerate", false),
			NoDeps:        config.boolean(group, "xa.nodeps", false),
			DefaultBranch: config.get(group, "xa.default-branch"),
			Subset:        config.get(group, "xa.subset"),
			Comment:       config.get(group, "xa.comment"),
			Description:   config.get(group, "xa.description"),
			Homepage:      config.get(group, "xa.homepage"),
			Icon:          config.get(group, "xa.icon"),
		}
		if p, err := strconv.Atoi(strings.TrimSpace(config.get(group, "xa.prio"))); err == nil {
			rm.Priority = p
		}
		if filepath.IsAbs(rm.Filter) {
			filters = append(filters, rm.Filter)
		}
		inv.Remotes = append(inv.Remotes, rm)
	}
	sort.Slice(inv.Remotes, func(i, j int) bool { return inv.Remotes[i].Name < inv.Remotes[j].Name })
	if len(filters) > 0 {
		ft, err := r.readFiles(ctx, filters)
		if err != nil {
			return inv, err
		}
		for i, rm := range inv.Remotes {
			if data, ok := ft.files[rm.Filter]; ok {
				inv.Remotes[i].FilterText = normText(string(data))
			}
		}
	}

	for name, data := range t.files {
		id, ok := strings.CutPrefix(name, "overrides/")
		if ok && (id == GlobalOverride || validID(id)) {
			inv.Overrides[id] = normText(string(data))
		}
	}
	return inv, nil
}

// remoteGroup returns NAME of a `remote "NAME"` key file group.
func remoteGroup(group string) (string, bool) {
	rest, ok := strings.CutPrefix(group, "remote \"")
	if !ok || !strings.HasSuffix(rest, "\"") {
		return "", false
	}
	name := strings.TrimSuffix(rest, "\"")
	return name, validToken(name)
}

// listColumns are the `flatpak list` columns read, tab-separated. Version
// may be empty, and flatpak drops empty trailing columns: origin, never
// empty, comes last.
const listColumns = "application:f,arch:f,branch:f,version:f,origin:f"

// list asks flatpak which refs of a kind are installed.
func (r *runner) list(ctx context.Context, kind string) ([]Ref, error) {
	out, err := r.flatpak(ctx, "list", "--"+kind, "--columns="+listColumns)
	if err != nil {
		return nil, err
	}
	return parseList(kind, out)
}

func parseList(kind string, out []byte) ([]Ref, error) {
	var refs []Ref
	for _, line := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Split(line, "\t")
		for len(f) < 5 {
			f = append(f, "")
		}
		ref := Ref{Kind: kind, ID: f[0], Arch: f[1], Branch: f[2], Version: strings.TrimSpace(f[3]), Origin: f[4]}
		ref.Ref = kind + "/" + ref.ID + "/" + ref.Arch + "/" + ref.Branch
		if _, _, _, _, err := parseRef(ref.Ref); err != nil {
			return nil, fmt.Errorf("flatpak list: unexpected line %q", line)
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

// normText is text as the inventory keeps it: trailing blank lines
// dropped, one final newline (none when empty).
func normText(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	return s + "\n"
}
