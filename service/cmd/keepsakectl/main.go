// Command keepsakectl drives Keepsake from the command line.
package main

import (
	"os"

	"github.com/keepsake/keepsake/service/cli"
	"github.com/keepsake/keepsake/service/engine"
	"github.com/keepsake/keepsake/shared/i18n"
	"golang.org/x/sys/unix"
)

func main() {
	i18n.Init()
	engine.LimitMemory()
	_, err := unix.IoctlGetTermios(int(os.Stderr.Fd()), unix.TCGETS)
	env := &cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin, Terminal: err == nil}
	os.Exit(cli.Run(env, os.Args[1:]))
}
