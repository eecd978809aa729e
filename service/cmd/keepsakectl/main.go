// Command keepsakectl drives Keepsake from the command line.
package main

import (
	"os"

	"github.com/keepsake/keepsake/service/cli"
	"github.com/keepsake/keepsake/service/engine"
	"golang.org/x/sys/unix"
)

func main() {
	engine.LimitMemory()
	_, err := unix.IoctlGetTermios(int(os.Stderr.Fd()), unix.TCGETS)
	env := &cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin, Terminal: err == nil}
	os.Exit(cli.Run(env, os.Args[1:]))
}
