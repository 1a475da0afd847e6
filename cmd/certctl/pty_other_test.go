//go:build !linux && !windows

package main

import (
	"errors"
	"time"
)

// waitEchoOff is for Linux, where /proc shows a process's terminal.
func waitEchoOff(pid int, limit time.Duration) error { return errors.ErrUnsupported }
