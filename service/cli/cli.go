package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/grammar"
	"github.com/keepsake/keepsake/shared/i18n"
	"github.com/keepsake/keepsake/shared/kerr"
	"github.com/keepsake/keepsake/shared/version"
	"github.com/spf13/cobra"
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
	// Terminal says stderr is a terminal: show a progress bar, and let
	// polkit ask for a password.
	Terminal bool

	// Repo is --repo: a drive to work on directly, without the service.
	Repo string
	// Host is --host: which computer's backups on the drive.
	Host string
	// Profile is --profile: which of the service's profiles.
	Profile string
	JSON    bool
	Verbose bool
	// Cwd resolves relative paths (default: the process's folder).
	Cwd string
	// ThisHost is this machine's name (default: os.Hostname).
	ThisHost string
	// AskSecret asks for a passphrase or key (default: on the terminal
	// of Stdin, without echo); tests answer it.
	AskSecret func(prompt string) ([]byte, error)

	ctx     context.Context
	backend Backend
}

// usageError is a mistake in the command line: exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// usage is a mistake said in a sentence of its own (a translated one).
func usage(msg string) error { return usageError{msg} }

// t translates a sentence of an error keepsakectl makes itself. Usage
// errors and the text output take i18n.T; an operation's error also goes
// into --json's "message", which stays English in every language, as
// the rest of --json does (scripts log and match it).
func (env *Env) t(msgid string) string {
	if env.JSON {
		return msgid
	}
	return i18n.T(msgid)
}

// opError is what a command's work returned: exit 1. Every error Execute
// returns that is not one came from parsing the command line.
type opError struct{ error }

func (e opError) Unwrap() error { return e.error }

// quietError was already reported (a JSON result carrying it).
type quietError struct{ error }

func (e quietError) Unwrap() error { return e.error }

// Run runs keepsakectl with args (without the program name).
func Run(env *Env, args []string) int {
	if env.ThisHost == "" {
		env.ThisHost, _ = os.Hostname()
	}
	if env.Cwd == "" {
		env.Cwd, _ = os.Getwd()
	}
	if env.Stdin == nil {
		env.Stdin = strings.NewReader("")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env.ctx = ctx
	defer func() {
		if env.backend != nil {
			env.backend.Close()
		}
	}()
	root := NewCommand(env)
	root.SetArgs(args)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.Execute()
	return env.fail(err)
}

// NewCommand is keepsakectl's command tree (man pages and completions are
// generated from it).
func NewCommand(env *Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "keepsakectl",
		Short: i18n.T("Back up, browse and restore with Keepsake"),
		// TRANSLATORS: the text of --help; break lines before 80 characters;
		// flags, commands, setting keys and values stay as they are.
		Long:              i18n.T("keepsakectl drives Keepsake from the command line: through the keepsaked\nservice (the default), or with --repo DIR on a backup drive directly, with\nno service, for scripts and for restoring after a disk died.\n\nQuery commands (snapshots, ls, search, versions, deleted, restore, prune,\nverify, flatpaks, flatpak-restore) work both ways and print the same; --json\nprints the same JSON in both modes.\n\nSNAPSHOT is a snapshot's name (2026-11-22T100000Z), \"latest\", or a time as\nyou would say it (2026-12-01, \"2026-12-01 10:30\", yesterday, 3d): the newest\nsnapshot at or before it. Relative paths are taken from the current folder."),
		Version:           version.Version,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
	}
	root.SetVersionTemplate("keepsakectl {{.Version}}\n")
	pf := root.PersistentFlags()
	// TRANSLATORS: keep the backquotes around the placeholder.
	pf.StringVar(&env.Repo, "repo", env.Repo, i18n.T("work on the backup drive at `DIR` (its mount point or Keepsake folder) instead of through the service"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	pf.StringVar(&env.Host, "host", env.Host, i18n.T("with --repo: the `NAME` of the computer whose backups to use (default: this one, or the only one on the drive)"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	pf.StringVar(&env.Profile, "profile", env.Profile, i18n.T("through the service: which `PROFILE` (default: the only one)"))
	pf.BoolVar(&env.JSON, "json", env.JSON, i18n.T("print JSON: one value per line (a list for queries; progress events then a result for long work)"))
	pf.BoolVarP(&env.Verbose, "verbose", "v", env.Verbose, i18n.T("say more (backup: every changed path)"))
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		if c.HasParent() {
			return usagef("%s: %v", c.Name(), err)
		}
		return usagef("%v", err)
	})
	// No command at all is a mistake too; an unknown one gets cobra's
	// "did you mean" (root takes no arguments of its own).
	root.RunE = func(c *cobra.Command, a []string) error {
		// TRANSLATORS: the words in capitals are placeholders of the
		// command line; translate them or keep them.
		return usage(i18n.T("usage: keepsakectl [--repo DIR] [--json] COMMAND [ARGS]"))
	}
	// TRANSLATORS: headings of the command list in keepsakectl --help.
	root.AddGroup(&cobra.Group{ID: "both", Title: i18n.T("Through the service or on a drive (--repo):")},
		&cobra.Group{ID: "drive", Title: i18n.T("On a drive (--repo DIR):")},
		&cobra.Group{ID: "service", Title: i18n.T("Through the service:")})
	for _, c := range append(bothCommands(env), flatpakCommands(env)...) {
		if c.GroupID != "" {
			root.AddCommand(c)
			continue
		}
		c.GroupID = "both"
		root.AddCommand(c)
	}
	for _, c := range driveCommands(env) {
		if c.GroupID == "" {
			c.GroupID = "drive"
		}
		root.AddCommand(c)
	}
	for _, c := range serviceCommands(env) {
		c.GroupID = "service"
		root.AddCommand(c)
	}
	translateUsage(root)
	return root
}

// translateUsage gives --help's headings, which cobra writes itself, in
// the user's language. cobra writes them with a function equal to its
// usage template: only when a heading is translated is the template,
// with the translations in it, used instead (English stays cobra's own).
func translateUsage(root *cobra.Command) {
	r := []string{
		// TRANSLATORS: headings of keepsakectl --help.
		"Usage:", i18n.T("Usage:"),
		"Aliases:", i18n.T("Aliases:"),
		"Examples:", i18n.T("Examples:"),
		"Available Commands:", i18n.T("Available Commands:"),
		"Additional Commands:", i18n.T("Additional Commands:"),
		// Before "Flags:", which it holds.
		"Global Flags:", i18n.T("Global Flags:"),
		"Flags:", i18n.T("Flags:"),
		"Additional help topics:", i18n.T("Additional help topics:"),
		// TRANSLATORS: the last line of keepsakectl --help; %s is the
		// command (keepsakectl, keepsakectl restore…); keep [command] --help.
		`Use "{{.CommandPath}} [command] --help" for more information about a command.`,
		fmt.Sprintf(i18n.T("Use \"%s [command] --help\" for more information about a command."), "{{.CommandPath}}"),
	}
	for i := 0; i < len(r); i += 2 {
		if r[i] != r[i+1] {
			root.SetUsageTemplate(strings.NewReplacer(r...).Replace(root.UsageTemplate()))
			return
		}
	}
}

// args checks a command's positional arguments: between min and max
// (max -1: no limit).
func args(min, max int) cobra.PositionalArgs {
	return func(c *cobra.Command, a []string) error {
		if len(a) < min || max >= 0 && len(a) > max {
			// TRANSLATORS: usage: keepsakectl COMMAND WITH ITS ARGUMENTS
			// (see keepsakectl COMMAND --help)
			return usagef(i18n.T("usage: keepsakectl %s (see keepsakectl %s --help)"), c.Use, c.Name())
		}
		return nil
	}
}

// run wraps a command's work so that its errors are told apart from
// command-line mistakes.
func run(fn func(c *cobra.Command, a []string) error) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, a []string) error {
		err := fn(c, a)
		var ue usageError
		if err == nil || errors.As(err, &ue) {
			return err
		}
		return opError{err}
	}
}

// fail prints err (if any) the way scripts and people expect and returns
// the exit code.
func (env *Env) fail(err error) int {
	if err == nil {
		return ExitOK
	}
	var op opError
	if !errors.As(err, &op) {
		msg := err.Error()
		var ue usageError
		if errors.As(err, &ue) {
			msg = ue.msg
		}
		fmt.Fprintf(env.Stderr, "keepsakectl: %s\n%s\n", msg, i18n.T("(see keepsakectl --help)"))
		return ExitUsage
	}
	var quiet quietError
	if errors.As(err, &quiet) {
		return ExitError
	}
	if env.JSON {
		env.emit(map[string]any{"event": "error", "error": string(kerr.NameOf(err)), "message": err.Error()})
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

// abs takes a path as typed: relative to the current folder, cleaned.
func (env *Env) abs(p string) string {
	if grammar.IsRemote(p) {
		return p // another computer's address
	}
	p = api.DecodePath(p) // as --json printed it, or raw bytes
	if !filepath.IsAbs(p) {
		p = filepath.Join(env.Cwd, p)
	}
	return filepath.Clean(p)
}

func (env *Env) absAll(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = env.abs(p)
	}
	return out
}
