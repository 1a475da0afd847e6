package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/certctl/certctl/internal/lazyre"
	"github.com/urfave/cli/v2"
)

// checkCommandLine reads the command line as hoistFlags does and refuses,
// before urfave/cli sees it, what it would report badly or not at all: an
// unknown command or subcommand, an unknown flag (each with the closest
// names it has), and --output on a command that prints no data. The app
// must be set up (app.Setup), so that its help flag and command are there.
func checkCommandLine(app *cli.App, args []string) error {
	i := 1
	var globals []string
	for ; i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "--" && args[i] != "-"; i++ {
		if err := checkFlag(app.Flags, args[i], "certctl"); err != nil {
			return err
		}
		globals = append(globals, flagName(args[i]))
		if takesValue(app.Flags, args[i]) {
			i++
		}
	}
	if i >= len(args) || args[i] == "--" {
		return nil
	}
	path, cmd, rest, err := findCommand(app, args[i:])
	if err != nil {
		return err
	}
	if cmd.Name == "help" {
		if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
			_, _, _, err := findCommand(app, rest)
			return err
		}
		return nil
	}
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			continue
		}
		if hasFlag(cmd.Flags, a) {
			if takesValue(cmd.Flags, a) {
				j++
			}
			continue
		}
		if hasFlag(app.Flags, a) {
			// A global flag typed after the command: hoistFlags leaves it
			// for urfave/cli, which refuses it unless the command has it.
			globals = append(globals, flagName(a))
			if takesValue(app.Flags, a) {
				j++
			}
			continue
		}
		if err := checkFlag(cmd.Flags, a, path); err != nil {
			return err
		}
	}
	for _, g := range globals {
		if (g == "output" || g == "o") && !hasFlag(cmd.Flags, "--output") && len(cmd.Subcommands) == 0 {
			return &usageError{msg: fmt.Sprintf("%s prints no data for --output to format: leave --output out", path)}
		}
	}
	return nil
}

// findCommand finds the command that args name, descending into
// subcommands; it returns the command's path ("environment add"), the
// command and the arguments after its name.
func findCommand(app *cli.App, args []string) (path string, cmd *cli.Command, rest []string, err error) {
	cmd = app.Command(args[0])
	if cmd == nil || cmd.Hidden && cmd.Name != args[0] {
		return "", nil, nil, unknownCommand(args[0], "", app.Commands)
	}
	path = cmd.Name
	rest = args[1:]
	for len(cmd.Subcommands) > 0 && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") && rest[0] != "help" {
		sub := cmd.Command(rest[0])
		if sub == nil {
			if cmd.Action != nil && !groupOnly(cmd) {
				break // the command takes arguments of its own
			}
			return "", nil, nil, unknownCommand(rest[0], path, cmd.Subcommands)
		}
		cmd, path, rest = sub, path+" "+sub.Name, rest[1:]
	}
	return path, cmd, rest, nil
}

// groupOnly reports whether cmd only groups subcommands: urfave/cli gives
// such a command an action that shows its help, and an unknown word after
// it is a mistyped subcommand.
func groupOnly(cmd *cli.Command) bool { return cmd.ArgsUsage == "" }

func unknownCommand(name, parent string, cmds []*cli.Command) error {
	var names []string
	primary := map[string]string{}
	for _, c := range cmds {
		if c.Hidden {
			continue
		}
		for _, n := range c.Names() {
			names = append(names, n)
			primary[n] = c.Name
		}
	}
	full := strings.TrimSpace(parent + " " + name)
	ue := &usageError{msg: fmt.Sprintf("unknown command %q", full)}
	var suggest []string
	seen := map[string]bool{}
	for _, s := range closest(name, names) {
		if p := primary[s]; !seen[p] {
			seen[p] = true
			suggest = append(suggest, strings.TrimSpace(parent+" "+p))
		}
	}
	if len(suggest) > 0 {
		ue.hint = "did you mean " + orList(quoteAll(suggest)) + "?"
	}
	return ue
}

// checkFlag refuses a flag token that names none of flags.
func checkFlag(flags []cli.Flag, arg, path string) error {
	name := flagName(arg)
	if name == "h" || name == "help" || hasFlag(flags, arg) {
		return nil
	}
	var names []string
	for _, f := range flags {
		for _, n := range f.Names() {
			if len(n) > 1 {
				names = append(names, n)
			}
		}
	}
	ue := &usageError{msg: fmt.Sprintf("%s has no flag %s", path, dashed(name))}
	if s := closest(name, names); len(s) > 0 {
		for i := range s {
			s[i] = dashed(s[i])
		}
		ue.hint = "did you mean " + orList(s) + "?"
	}
	return ue
}

// dashed writes a flag name as people type it: -o, --output.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// flagInMessage finds a flag named in a message of Go's flag package, which
// writes every flag with one dash ("flag needs an argument: -output").
var flagInMessage = lazyre.New(`^(flag needs an argument: |invalid value ".*" for flag |invalid boolean value ".*" for |flag provided but not defined: )-([A-Za-z0-9][A-Za-z0-9_-]*)`)

// flagUsageError turns urfave/cli's report of a bad flag into certctl's:
// the flag as people type it, and what its value should look like.
func flagUsageError(c *cli.Context, err error) error {
	msg := err.Error()
	m := flagInMessage().FindStringSubmatch(msg)
	if m == nil {
		return usage(err)
	}
	name := m[2]
	msg = strings.Replace(msg, m[1]+"-"+name, m[1]+dashed(name), 1)
	var flags []cli.Flag
	if c != nil && c.Command != nil {
		flags = c.Command.Flags
	}
	if c != nil && c.App != nil {
		flags = append(flags, c.App.Flags...)
	}
	if strings.HasSuffix(msg, ": parse error") {
		if want := valueForm(lookupFlag(flags, "--"+name)); want != "" {
			msg = strings.TrimSuffix(msg, ": parse error") + ": " + want
		}
	}
	return &usageError{msg: msg, err: err}
}

// valueForm says what a flag's value looks like, for a value that did not
// parse.
func valueForm(f cli.Flag) string {
	switch f.(type) {
	case *cli.DurationFlag:
		return "use a duration such as 30s, 5m or 1h30m"
	case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag:
		return "use a whole number"
	case *cli.BoolFlag:
		return "use true or false, or leave the value out"
	}
	return ""
}

// closest returns the names nearest to typed: those at the smallest edit
// distance, if it is small for the word's length, else those it begins.
func closest(typed string, names []string) []string {
	typed = strings.ToLower(typed)
	best, out := 3, []string(nil)
	limit := 2
	if len([]rune(typed)) <= 4 {
		limit = 1
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		d := editDistance(typed, strings.ToLower(n))
		switch {
		case d > limit || d > best:
		case d < best:
			best, out = d, []string{n}
		default:
			out = append(out, n)
		}
	}
	if len(out) == 0 && len(typed) >= 3 {
		for n := range seen {
			if strings.HasPrefix(strings.ToLower(n), typed) {
				out = append(out, n)
			}
		}
	}
	sort.Strings(out)
	return out
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of neighbours each cost one.
func editDistance(a, b string) int {
	s, t := []rune(a), []rune(b)
	d := make([][]int, len(s)+1)
	for i := range d {
		d[i] = make([]int, len(t)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(s); i++ {
		for j := 1; j <= len(t); j++ {
			cost := 1
			if s[i-1] == t[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && s[i-1] == t[j-2] && s[i-2] == t[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(s)][len(t)]
}

func quoteAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = "'" + s + "'"
	}
	return out
}

// orList joins "a", "a or b", "a, b or c".
func orList(list []string) string {
	if len(list) <= 1 {
		return strings.Join(list, "")
	}
	return strings.Join(list[:len(list)-1], ", ") + " or " + list[len(list)-1]
}

// timeoutError is a command that ran out of its --timeout: it says how long
// the command really ran.
type timeoutError struct {
	err   error
	spent time.Duration
	limit time.Duration
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("%v (stopped after %s; --timeout %s)", e.err, roundSpent(e.spent), e.limit)
}

func (e *timeoutError) Unwrap() error { return e.err }

// roundSpent rounds a time spent the way people read it: 850ms, 2.3s, 1m5s.
func roundSpent(d time.Duration) time.Duration {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond)
	case d < time.Minute:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

// timed runs a command's action and, when it fails for want of time, says
// how long it ran against its --timeout.
func timed(action cli.ActionFunc) cli.ActionFunc {
	return func(c *cli.Context) error {
		start := time.Now()
		err := action(c)
		if err == nil || !errors.Is(err, context.DeadlineExceeded) || !hasFlag(c.Command.Flags, "--timeout") {
			return err
		}
		return &timeoutError{err: err, spent: time.Since(start), limit: c.Duration("timeout")}
	}
}
