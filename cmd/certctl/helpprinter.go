package main

import (
	"io"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
)

// certctl writes its --help text itself. urfave/cli renders it through
// text/template, parsing a dozen templates for every help it prints; that
// was the largest part of 'certctl --help' after process start. printHelp
// writes the same text for the three templates certctl uses, for the
// features of them it uses, and leaves anything else (another template,
// categories, authors, a copyright) to urfave/cli's printer.
// TestHelpIsUrfaveCLIs compares the two for every command.
func init() { cli.HelpPrinter = printHelp }

// urfaveHelpPrinter is urfave/cli's own printer.
func urfaveHelpPrinter(w io.Writer, templ string, data any) {
	cli.HelpPrinterCustom(w, templ, data, nil)
}

func printHelp(w io.Writer, templ string, data any) {
	var b strings.Builder
	ok := false
	switch templ {
	case cli.AppHelpTemplate:
		if app, isApp := data.(*cli.App); isApp {
			ok = appHelp(&b, app)
		}
	case cli.CommandHelpTemplate, cli.SubcommandHelpTemplate:
		if cmd, isCmd := data.(*cli.Command); isCmd {
			ok = commandHelp(&b, cmd, templ == cli.SubcommandHelpTemplate)
		}
	}
	if !ok {
		urfaveHelpPrinter(w, templ, data)
		return
	}
	// The flags' usage lines hold a tab between name and text, which
	// urfave/cli's tabwriter aligns.
	tw := tabwriter.NewWriter(w, 1, 8, 2, ' ', 0)
	io.WriteString(tw, b.String())
	tw.Flush()
}

// appHelp writes AppHelpTemplate for app.
func appHelp(b *strings.Builder, app *cli.App) bool {
	if len(app.Authors) > 0 || app.Copyright != "" || len(app.VisibleFlagCategories()) > 0 {
		return false
	}
	ok := nameAndUsage(b, app.HelpName, app.Usage, app.UsageText, func() {
		b.WriteString(app.HelpName + " ")
		if len(app.VisibleFlags()) > 0 {
			b.WriteString("[global options]")
		}
		if len(app.Commands) > 0 {
			b.WriteString(" command [command options]")
		}
		argsUsage(b, app.ArgsUsage, app.Args)
	})
	if !ok {
		return false
	}
	if app.Version != "" && !app.HideVersion {
		b.WriteString("\n\nVERSION:\n   " + app.Version)
	}
	if !description(b, app.Description) {
		return false
	}
	if len(app.VisibleCommands()) > 0 && !commandList(b, app.VisibleCommands()) {
		return false
	}
	if !flagList(b, "GLOBAL OPTIONS:", app.VisibleFlags()) {
		return false
	}
	b.WriteString("\n")
	return true
}

// commandHelp writes CommandHelpTemplate, or SubcommandHelpTemplate with
// sub, for cmd.
func commandHelp(b *strings.Builder, cmd *cli.Command, sub bool) bool {
	if len(cmd.VisibleFlagCategories()) > 0 {
		return false
	}
	ok := nameAndUsage(b, cmd.HelpName, cmd.Usage, cmd.UsageText, func() {
		b.WriteString(cmd.HelpName)
		if len(cmd.VisibleFlags()) > 0 {
			b.WriteString(" [command options]")
		}
		argsUsage(b, cmd.ArgsUsage, cmd.Args)
	})
	if !ok {
		return false
	}
	if cmd.Category != "" {
		b.WriteString("\n\nCATEGORY:\n   " + cmd.Category)
	}
	if !description(b, cmd.Description) {
		return false
	}
	if sub && len(cmd.VisibleCommands()) > 0 && !commandList(b, cmd.VisibleCommands()) {
		return false
	}
	if !flagList(b, "OPTIONS:", cmd.VisibleFlags()) {
		return false
	}
	b.WriteString("\n")
	return true
}

// nameAndUsage writes the NAME and USAGE sections the templates share:
// usageText when there is one, else the usage line that line writes.
func nameAndUsage(b *strings.Builder, name, usage, usageText string, line func()) bool {
	b.WriteString("NAME:\n   ")
	if !helpName(b, name, usage) {
		return false
	}
	b.WriteString("\n\nUSAGE:\n   ")
	if usageText != "" {
		return helpWrap(b, usageText, 3)
	}
	line()
	return true
}

// helpName is helpNameTemplate.
func helpName(b *strings.Builder, name, usage string) bool {
	if !helpWrap(b, name, 3) {
		return false
	}
	if usage != "" {
		b.WriteString(" - ")
		return helpWrap(b, usage, len(name)+6)
	}
	return true
}

func argsUsage(b *strings.Builder, usage string, args bool) {
	if usage != "" {
		b.WriteString(" " + usage)
	} else if args {
		b.WriteString(" [arguments...]")
	}
}

func description(b *strings.Builder, text string) bool {
	if text == "" {
		return true
	}
	b.WriteString("\n\nDESCRIPTION:\n   ")
	return helpWrap(b, text, 3)
}

// commandList is visibleCommandCategoryTemplate for commands in no
// category: their names, then their usage in a column. It takes the
// commands rather than their categories, which urfave/cli sets up only
// when it runs the command itself: for "certctl help context" the
// template stopped at COMMANDS, and this prints them.
func commandList(b *strings.Builder, cmds []*cli.Command) bool {
	column := 0
	for _, c := range cmds {
		if c.Category != "" {
			return false
		}
		column = max(column, len(strings.Join(c.Names(), ", ")))
	}
	column += 5
	b.WriteString("\n\nCOMMANDS:")
	for _, c := range cmds {
		names := strings.Join(c.Names(), ", ")
		b.WriteString("\n   " + names + strings.Repeat(" ", column-len(names)-3))
		if !helpWrap(b, c.Usage, column) {
			return false
		}
	}
	return true
}

// flagList is visibleFlagTemplate under its heading.
func flagList(b *strings.Builder, heading string, flags []cli.Flag) bool {
	if len(flags) == 0 {
		return true
	}
	b.WriteString("\n\n" + heading)
	for _, f := range flags {
		b.WriteString("\n   ")
		if !helpWrap(b, f.String(), 6) {
			return false
		}
	}
	return true
}

// helpWrapAt is the line length of urfave/cli's wrap, which certctl never
// reaches: lines are kept as they are, and the later ones indented.
const helpWrapAt = 10000

// helpWrap writes text as urfave/cli's wrap does at offset: every line
// after the first that is not empty is indented by offset spaces. It
// reports false for a line long enough for wrap to break.
func helpWrap(b *strings.Builder, text string, offset int) bool {
	for i, line := range strings.Split(text, "\n") {
		if len(line) > helpWrapAt-offset {
			return false
		}
		if i > 0 {
			b.WriteString("\n")
			if line != "" {
				b.WriteString(strings.Repeat(" ", offset))
			}
		}
		b.WriteString(line)
	}
	return true
}
