package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// env is what a command may touch of the outside world, so tests can give
// it their own.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	now    func() time.Time
	// readPassword reads a line from the terminal without echo; nil when
	// stdin is not a terminal.
	readPassword func(prompt string) (string, error)
}

func newEnv() *env {
	e := &env{
		stdin:  os.Stdin,
		stdout: os.Stdout,
		stderr: os.Stderr,
		getenv: os.Getenv,
		now:    time.Now,
	}
	if fd := int(os.Stdin.Fd()); term.IsTerminal(fd) {
		e.readPassword = func(prompt string) (string, error) {
			fmt.Fprint(os.Stderr, prompt)
			b, err := term.ReadPassword(fd)
			fmt.Fprintln(os.Stderr)
			return string(b), err
		}
	}
	return e
}

// warnf prints a warning for people on stderr.
func (e *env) warnf(format string, args ...any) {
	fmt.Fprintf(e.stderr, "certctl: warning: "+format+"\n", args...)
}

// infof prints a note for people on stderr.
func (e *env) infof(format string, args ...any) {
	fmt.Fprintf(e.stderr, "certctl: "+format+"\n", args...)
}
