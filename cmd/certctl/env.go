package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
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
	// stderrIsTerminal turns on progress reports.
	stderrIsTerminal bool
	// stdoutIsTerminal makes export refuse to write a binary PFX to
	// standard output.
	stdoutIsTerminal bool
	// stdoutWidth is the terminal's width in columns, for tables that cut
	// long cells to fit; 0 when standard output is not a terminal, and
	// tables are never cut.
	stdoutWidth int
}

func newEnv() *env {
	e := &env{
		stdin:  os.Stdin,
		stdout: os.Stdout,
		stderr: os.Stderr,
		getenv: os.Getenv,
		now:    time.Now,
	}
	e.stderrIsTerminal = term.IsTerminal(int(os.Stderr.Fd()))
	e.stdoutIsTerminal = term.IsTerminal(int(os.Stdout.Fd()))
	if e.stdoutIsTerminal {
		e.stdoutWidth = terminalWidth(int(os.Stdout.Fd()), os.Getenv("COLUMNS"))
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

// warnf prints a warning for people on stderr, escaped.
func (e *env) warnf(format string, args ...any) {
	fmt.Fprintf(e.stderr, "certctl: warning: %s\n", escapeText(fmt.Sprintf(format, args...)))
}

// infof prints a note for people on stderr, escaped.
func (e *env) infof(format string, args ...any) {
	fmt.Fprintf(e.stderr, "certctl: %s\n", escapeText(fmt.Sprintf(format, args...)))
}

// progress returns a function to call once per item done. On a terminal it
// keeps a "verb n/total" line up to date on stderr, for runs of more than a
// few items; elsewhere (a pipe, a log) it prints nothing.
func (e *env) progress(verb string, total int) func() {
	if !e.stderrIsTerminal || total < 10 {
		return func() {}
	}
	var mu sync.Mutex
	n, last := 0, time.Time{}
	return func() {
		mu.Lock()
		defer mu.Unlock()
		n++
		if now := time.Now(); n == total || now.Sub(last) > 100*time.Millisecond {
			last = now
			fmt.Fprintf(e.stderr, "\rcertctl: %s %d/%d", verb, n, total)
			if n == total {
				fmt.Fprintln(e.stderr)
			}
		}
	}
}

// terminalWidth is the width of the terminal on fd, else $COLUMNS, else 80.
func terminalWidth(fd int, columns string) int {
	if w, _, err := term.GetSize(fd); err == nil && w > 0 {
		return w
	}
	if n, err := strconv.Atoi(columns); err == nil && n > 0 {
		return n
	}
	return 80
}
