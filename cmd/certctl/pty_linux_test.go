package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// waitEchoOff waits until the terminal of a process started under
// script(1), whose pid is given, has echo turned off, as a program does
// just before it reads a password: the moment a person may type it. It
// finds the terminal as the standard input of a descendant of that
// process, from /proc.
func waitEchoOff(pid int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		if tty := descendantTerminal(pid); tty != "" {
			f, err := os.OpenFile(tty, os.O_RDONLY|unix.O_NOCTTY, 0)
			if err != nil {
				return err
			}
			tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
			f.Close()
			if err != nil {
				return err
			}
			if tio.Lflag&unix.ECHO == 0 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the terminal still echoes after %v", limit)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// descendantTerminal returns the terminal (/dev/pts/N) that the standard
// input of a descendant of pid is, or "" if there is none yet.
func descendantTerminal(pid int) string {
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	parent := map[int]int{}
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // gone
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		child, err1 := strconv.Atoi(strings.TrimSpace(s[:strings.IndexByte(s, '(')]))
		ppid, err2 := strconv.Atoi(f[1])
		if errors.Join(err1, err2) != nil {
			continue
		}
		parent[child] = ppid
	}
	for child := range parent {
		// Up the ancestors, a few generations at most.
		for p, hops := parent[child], 0; p > 1 && hops < 8; p, hops = parent[p], hops+1 {
			if p != pid {
				continue
			}
			if tty, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/0", child)); err == nil && strings.HasPrefix(tty, "/dev/pts/") {
				return tty
			}
			break
		}
	}
	return ""
}
