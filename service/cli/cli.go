package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/repo"
	"github.com/keepsake/keepsake/shared/kerr"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// Env is what a command runs with.
type Env struct {
	Stdout, Stderr io.Writer
	Stdin          io.Reader
	// Terminal says stderr is a terminal: show a progress bar.
	Terminal bool

	Repo string
	Host string
	// Profile is --profile: which of the service's profiles a command is about.
	Profile string
	JSON    bool
	Verbose bool
}

type command struct {
	name    string
	usage   string
	summary string
	run     func(env *Env, args []string) error
}

var commands []command

func init() {
	commands = []command{
		{"init", "init", "create a repository on the drive after probing its filesystem", runInit},
		{"backup", "backup [--dry-run] [--exclude PATTERN]... [--exclude-from FILE] [--no-default-excludes] [--changed-dirs FILE] [--rehash] [--min-free SIZE|PERCENT] SOURCE...", "write a snapshot of the SOURCE folders", runBackup},
		{"snapshots", "snapshots", "list snapshots", runSnapshots},
		{"ls", "ls SNAPSHOT [PATH]", "list a folder of a snapshot", runLs},
		{"search", "search PATTERN [--in DIR] [--since TIME] [--until TIME] [--limit N]", "find files by name (glob or substring) in every snapshot", runSearch},
		{"log", "log [--limit N]", "show the audit log", runLog},
		{"restore", "restore SNAPSHOT PATH... [--to DIR] [--overwrite]", "restore files or folders from a snapshot", runRestore},
		{"versions", "versions PATH", "the distinct versions of a file, following it across renames", runVersions},
		{"where", "where SHA256|FILE", "where a content lies, in which snapshots", runWhere},
		{"deleted", "deleted [DIR] [--since TIME]", "files earlier snapshots hold that are gone now", runDeleted},
		{"duplicates", "duplicates [DIR]", "groups of identical files in the latest snapshot", runDuplicates},
		{"diff", "diff SNAPSHOT1 SNAPSHOT2", "what changed between two snapshots", runDiff},
		{"du", "du SNAPSHOT", "what a snapshot holds alone and what it shares", runDu},
		{"policy", "policy [--time-machine | --keep-last N --hourly N --daily N --weekly N --monthly N --yearly N]", "show or set the retention policy", runPolicy},
		{"prune", "prune [--dry-run] [--free SIZE|PERCENT] [--all-hosts]", "remove snapshots the policy does not keep, or thin until space is free", runPrune},
		{"pin", "pin SNAPSHOT", "keep a snapshot whatever the policy says", runPin},
		{"unpin", "unpin SNAPSHOT", "let the policy decide about a snapshot again", runUnpin},
		{"verify", "verify [--sample PERCENT] [SNAPSHOT]", "re-hash stored files against the catalog and check the catalog", runVerify},
		{"repair", "repair [SNAPSHOT]", "mend damaged files from intact copies or the source", runRepair},
		{"flatpaks", repoFlatpaksUsage, "the Flatpak apps a snapshot recorded beside what this machine has", runFlatpaks},
		{"flatpak-restore", repoRestoreUsage, "reinstall a snapshot's Flatpak apps here (root: system; a user: their own)", runFlatpakRestore},
	}
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// Run runs keepsakectl with args (without the program name).
func Run(env *Env, args []string) int {
	if env.Host == "" {
		env.Host, _ = os.Hostname()
	}
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func() (string, bool) {
			if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(k, "--") {
				return v, true
			}
			if i+1 < len(args) {
				i++
				return args[i], true
			}
			return "", false
		}
		switch {
		case a == "--json":
			env.JSON = true
		case a == "-v" || a == "--verbose":
			env.Verbose = true
		case a == "--repo" || strings.HasPrefix(a, "--repo="):
			v, ok := val()
			if !ok {
				return env.fail(usagef("--repo needs a directory"))
			}
			env.Repo = v
		case a == "--host" || strings.HasPrefix(a, "--host="):
			v, ok := val()
			if !ok {
				return env.fail(usagef("--host needs a name"))
			}
			env.Host = v
		case a == "--profile" || strings.HasPrefix(a, "--profile="):
			v, ok := val()
			if !ok {
				return env.fail(usagef("--profile needs a name"))
			}
			env.Profile = v
		case a == "-h" || a == "--help" || a == "help":
			env.usage(env.Stdout)
			return ExitOK
		case strings.HasPrefix(a, "-"):
			return env.fail(usagef("unknown option %s", a))
		default:
			rest = args[i:]
			i = len(args)
		}
	}
	if len(rest) == 0 {
		env.usage(env.Stderr)
		return ExitUsage
	}
	// Without --repo, commands go to the service; with it, to the drive.
	if env.Repo == "" {
		for _, c := range serviceCommands {
			if c.name == rest[0] {
				return env.fail(c.run(env, rest[1:]))
			}
		}
	}
	for _, c := range commands {
		if c.name == rest[0] {
			if env.Repo == "" {
				return env.fail(usagef("%s: --repo DIR is required (the backup drive or its Keepsake folder)", c.name))
			}
			return env.fail(c.run(env, rest[1:]))
		}
	}
	for _, c := range serviceCommands {
		if c.name == rest[0] {
			return env.fail(usagef("%s talks to the service: leave out --repo", c.name))
		}
	}
	return env.fail(usagef("unknown command %q", rest[0]))
}

func (env *Env) usage(w io.Writer) {
	fmt.Fprintln(w, "usage: keepsakectl [--profile NAME] [--json] COMMAND [ARGS]       (through the keepsaked service)")
	fmt.Fprintln(w, "       keepsakectl --repo DIR [--host NAME] [--json] [-v] COMMAND [ARGS]   (on a drive directly)")
	fmt.Fprintln(w, "\nService commands:")
	for _, c := range serviceCommands {
		fmt.Fprintf(w, "  %-14s %s\n                 %s\n", c.name, c.summary, c.usage)
	}
	fmt.Fprintln(w, "\nDrive commands (--repo DIR):")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n             %s\n", c.name, c.summary, c.usage)
	}
	fmt.Fprintln(w, "\nSNAPSHOT is a snapshot name as listed by \"snapshots\", or \"latest\".")
}

// fail prints err (if any) the way scripts and people expect and returns
// the exit code.
func (env *Env) fail(err error) int {
	if err == nil {
		return ExitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(env.Stderr, "keepsakectl: %s\n(see keepsakectl --help)\n", ue.msg)
		return ExitUsage
	}
	name := kerr.NameOf(err)
	var quiet quietError
	if errors.As(err, &quiet) {
		return ExitError
	}
	if env.JSON {
		env.emit(map[string]any{"event": "error", "error": string(name), "message": err.Error()})
	} else {
		fmt.Fprintf(env.Stderr, "keepsakectl: %s\n", err.Error())
	}
	return ExitError
}

// emit prints one JSON value on a line.
func (env *Env) emit(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"event": "error", "error": "Failed", "message": err.Error()})
	}
	env.Stdout.Write(append(b, '\n'))
}

// parse parses flags that may come before, between or after positional
// arguments; "--" ends the flags.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for len(args) > 0 {
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		if err := fs.Parse(args); err != nil {
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	return pos, nil
}

// positional parses a command's flags and checks how many arguments it got
// (max -1: no limit).
func positional(fs *flag.FlagSet, args []string, min, max int, usage string) ([]string, error) {
	pos, err := parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) < min || (max >= 0 && len(pos) > max) {
		return nil, usagef("%s", usage)
	}
	return pos, nil
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func openRepo(env *Env) (*repo.Repo, error) { return repo.Open(env.Repo) }

// openCatalog opens a repository's catalog for reading.
func openCatalog(env *Env) (*repo.Repo, *catalog.Catalog, error) {
	r, err := openRepo(env)
	if err != nil {
		return nil, nil, err
	}
	c, err := catalog.Open(r.CatalogPath())
	if err != nil {
		return nil, nil, err
	}
	return r, c, nil
}

func runInit(env *Env, args []string) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	_, err := positional(fs, args, 0, 0, "init takes no arguments")
	if err != nil {
		return err
	}
	r, err := repo.Init(env.Repo)
	if err != nil {
		return err
	}
	c, err := catalog.Open(r.CatalogPath())
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Audit(catalog.CurrentActor(), "init", "", "", r.Root, r.Marker.Caps.FSType); err != nil {
		return err
	}
	if env.JSON {
		env.emit(map[string]any{"event": "result", "repository": r.Root, "uuid": r.Marker.UUID, "capabilities": r.Marker.Caps})
		return nil
	}
	caps := r.Marker.Caps
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
	fmt.Fprintf(env.Stdout, "Repository ready at %s\n  filesystem %s: %s; link limit %d\n", r.Root, caps.FSType, strings.Join(can, ", "), caps.LinkMax)
	return nil
}

func sortedKeys(m map[string]int64) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
