package engine

import (
	"os"
	"syscall"
)

func statOf(fi os.FileInfo) *syscall.Stat_t { return fi.Sys().(*syscall.Stat_t) }
