// Command gendocs writes keepsakectl's man pages (man1/) and shell
// completions (bash: keepsakectl, zsh: _keepsakectl, fish:
// keepsakectl.fish) from its command tree, so they cannot disagree with
// --help. meson runs it at build time:
//
//	go run ./build-aux/gendocs OUTDIR
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/keepsake/keepsake/service/cli"
	"github.com/keepsake/keepsake/shared/version"
	"github.com/spf13/cobra/doc"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gendocs OUTDIR")
		os.Exit(2)
	}
	if err := write(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

func write(out string) error {
	root := cli.NewCommand(&cli.Env{Stdout: os.Stdout, Stderr: os.Stderr})
	root.DisableAutoGenTag = true
	man := filepath.Join(out, "man1")
	if err := os.MkdirAll(man, 0o755); err != nil {
		return err
	}
	if err := doc.GenManTree(root, &doc.GenManHeader{Title: "KEEPSAKECTL", Section: "1", Source: "Keepsake " + version.Version,
		Manual: "Keepsake"}, man); err != nil {
		return err
	}
	for name, gen := range map[string]func(*os.File) error{
		"keepsakectl":      func(f *os.File) error { return root.GenBashCompletionV2(f, true) },
		"_keepsakectl":     func(f *os.File) error { return root.GenZshCompletion(f) },
		"keepsakectl.fish": func(f *os.File) error { return root.GenFishCompletion(f, true) },
	} {
		f, err := os.Create(filepath.Join(out, name))
		if err != nil {
			return err
		}
		if err := gen(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}
