//go:build !windows

package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"
)

// TestHelpIsUrfaveCLIs prints every help there is, for the app and every
// command and subcommand, hidden ones included, asked for in each way a
// person can, with certctl's printer and with urfave/cli's templates: the
// text is the same. One difference is wanted: for "certctl help X" of a
// command with subcommands, urfave/cli's template stops before COMMANDS (it
// has not set up X's categories), and certctl prints what "certctl X
// --help" does.
func TestHelpIsUrfaveCLIs(t *testing.T) {
	var asks [][]string
	asks = append(asks, []string{"--help"}, []string{"help"}, []string{"-h"}, nil)
	var walk func(path []string, cmds []*cli.Command)
	sameAs := map[string][]string{} // an ask, and the ask urfave/cli prints it for
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := append(append([]string(nil), path...), c.Name)
			asks = append(asks, append(append([]string(nil), p...), "--help"))
			helpC := append(append(append([]string(nil), path...), "help"), c.Name)
			asks = append(asks, helpC)
			if len(c.Subcommands) > 0 {
				sameAs[strings.Join(helpC, " ")] = append(append([]string(nil), p...), "--help")
			}
			if len(c.Subcommands) > 0 {
				asks = append(asks, append(append([]string(nil), p...), "help"))
			}
			walk(p, c.Subcommands)
		}
	}
	walk(nil, newApp(newEnv()).Commands)
	require.Greater(t, len(asks), 60)

	help := func(args []string) (string, int) {
		var out, errb bytes.Buffer
		e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, now: time.Now}
		code := run(append([]string{"certctl"}, args...), e)
		return out.String() + "\x00" + errb.String(), code
	}
	// urfave/cli's help command, a package-level value shared by every
	// app, adds itself to its own subcommands when it runs (harmless in a
	// process that runs one app); each ask starts from the command as
	// it was, and so do the tests after this one.
	restore := func() {
		app := newApp(newEnv())
		app.Setup()
		if h := app.Command("help"); h != nil {
			h.Subcommands = nil
		}
	}
	inProcess.Lock()
	defer inProcess.Unlock()
	defer restore()
	printed := 0
	for _, args := range asks {
		restore()
		cli.HelpPrinter = urfaveHelpPrinter
		want, wantCode := help(args)
		restore()
		if other, ok := sameAs[strings.Join(args, " ")]; ok {
			truncated := want
			restore()
			want, wantCode = help(other)
			restore()
			require.NotEqual(t, want, truncated, "urfave/cli prints all of certctl %s; drop the exception", strings.Join(args, " "))
			require.True(t, strings.HasPrefix(want, strings.TrimSuffix(truncated, "\x00")), "certctl %s", strings.Join(args, " "))
		}
		cli.HelpPrinter = printHelp
		got, code := help(args)
		assert.Equal(t, want, got, "certctl %s", strings.Join(args, " "))
		assert.Equal(t, wantCode, code, "certctl %s", strings.Join(args, " "))
		if strings.HasPrefix(got, "NAME:\n") {
			printed++
		}
	}
	assert.Greater(t, printed, 60, "most asks print a help")
}

// Anything certctl's printer does not write itself goes to urfave/cli's,
// unchanged.
func TestHelpFallsBackToUrfaveCLI(t *testing.T) {
	app := &cli.App{Name: "x", HelpName: "x", Usage: "does x", Copyright: "(c) someone", Flags: []cli.Flag{&cli.BoolFlag{Name: "y", Category: "misc"}}}
	cmd := &cli.Command{Name: "c", HelpName: "x c", Flags: []cli.Flag{&cli.BoolFlag{Name: "z", Category: "misc"}}}
	long := &cli.Command{Name: "l", HelpName: "x l", Usage: strings.Repeat("long ", 2100)}
	for _, tc := range []struct {
		templ string
		data  any
	}{
		{cli.AppHelpTemplate, app},
		{cli.CommandHelpTemplate, cmd},
		{cli.CommandHelpTemplate, long},
		{"{{.Name}} in another template\n", cmd},
	} {
		var want, got bytes.Buffer
		urfaveHelpPrinter(&want, tc.templ, tc.data)
		printHelp(&got, tc.templ, tc.data)
		assert.Equal(t, want.String(), got.String())
		assert.NotEmpty(t, got.String())
	}
}

// The parts of the templates certctl's commands do not use yet are written
// as urfave/cli writes them too, so that a command that starts using one
// keeps its help.
func TestHelpOfUnusedTemplateParts(t *testing.T) {
	sub := &cli.Command{Name: "s", Usage: "a subcommand\nover two lines", Args: true}
	cmd := &cli.Command{
		Name: "c", HelpName: "x c", Usage: "a command", UsageText: "x c [--flag] THING\nx c --other",
		Category: "things", Description: "What c does.\n\n  indented\n", ArgsUsage: "THING",
		Flags: []cli.Flag{&cli.StringFlag{Name: "flag", Aliases: []string{"f"}, Usage: "a `VALUE`", EnvVars: []string{"X_FLAG"}}},
	}
	args := &cli.Command{Name: "a", HelpName: "x a", Args: true}
	parent := &cli.Command{Name: "p", HelpName: "x p", Subcommands: []*cli.Command{sub, {Name: "hidden", Hidden: true}}}
	app := &cli.App{
		Name: "x", Usage: "does x", UsageText: "x [options] COMMAND", Version: "1.2.3",
		ArgsUsage: "ARGS", Commands: []*cli.Command{{Name: "plain", Aliases: []string{"pl"}, Usage: "in no category"}, args, parent},
		Flags: []cli.Flag{&cli.BoolFlag{Name: "verbose", Usage: "say more"}},
	}
	app.Setup()
	noArgs := &cli.App{Name: "y", HelpName: "y", Args: true}
	noArgs.Setup()
	for _, tc := range []struct {
		templ string
		data  any
	}{
		{cli.AppHelpTemplate, app},
		{cli.AppHelpTemplate, noArgs},
		{cli.CommandHelpTemplate, cmd},
		{cli.CommandHelpTemplate, args},
	} {
		// (A command in a category, cmd among the app's, is urfave/cli's
		// to print. SubcommandHelpTemplate needs a command urfave/cli has
		// set up: TestHelpIsUrfaveCLIs covers it with certctl's.)
		var want, got bytes.Buffer
		urfaveHelpPrinter(&want, tc.templ, tc.data)
		var b strings.Builder
		switch d := tc.data.(type) {
		case *cli.App:
			require.True(t, appHelp(&b, d), "certctl writes this help itself")
		case *cli.Command:
			require.True(t, commandHelp(&b, d, tc.templ == cli.SubcommandHelpTemplate), "certctl writes this help itself")
		}
		printHelp(&got, tc.templ, tc.data)
		assert.Equal(t, want.String(), got.String())
		assert.Contains(t, got.String(), "NAME:")
	}
}
