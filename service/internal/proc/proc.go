// Package proc reads the process table from /proc: which processes run,
// their parents and process groups. The service uses it to know that
// every process of a transfer it stopped is gone; tests, that nothing a
// killed service started is left behind.
package proc

import (
	"bytes"
	"os"
	"strconv"
	"strings"
)

// Process is one line of the process table.
type Process struct {
	PID, PPID, PGID int
	// Zombie: it exited and waits for its parent to reap it.
	Zombie bool
}

// List reads every process; one that exits meanwhile is left out.
func List() []Process {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []Process
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := Stat(pid); ok {
			out = append(out, p)
		}
	}
	return out
}

// Stat reads one process; ok is false when it does not exist.
func Stat(pid int) (Process, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Process{}, false
	}
	// pid (comm) state ppid pgrp ...; comm may hold anything, ')' too.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return Process{}, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 3 {
		return Process{}, false
	}
	p := Process{PID: pid, Zombie: f[0] == "Z"}
	p.PPID, _ = strconv.Atoi(f[1])
	p.PGID, _ = strconv.Atoi(f[2])
	return p, true
}

// GroupAlive says whether a process of group pgid runs (zombies do not
// count).
func GroupAlive(pgid int) bool {
	for _, p := range List() {
		if p.PGID == pgid && !p.Zombie {
			return true
		}
	}
	return false
}

// Alive says whether pid runs (a zombie does not).
func Alive(pid int) bool {
	p, ok := Stat(pid)
	return ok && !p.Zombie
}

// Descendants lists the processes below pid.
func Descendants(pid int) []int {
	children := map[int][]int{}
	for _, p := range List() {
		children[p.PPID] = append(children[p.PPID], p.PID)
	}
	var out []int
	var walk func(int)
	walk = func(p int) {
		for _, c := range children[p] {
			out = append(out, c)
			walk(c)
		}
	}
	walk(pid)
	return out
}
