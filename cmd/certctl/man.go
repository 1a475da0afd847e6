package main

import (
	_ "embed"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/certctl/certctl/internal/lazyre"
	"github.com/urfave/cli/v2"
)

// The man page is written from the app's own command definitions, so it
// says what 'certctl COMMAND --help' says. docs/certctl.1 is its output,
// checked in; TestManPageIsCurrent fails when it is stale:
//
//	go run ./cmd/certctl man > docs/certctl.1
//
// urfave/cli's ToMan would do it through go-md2man, a dependency certctl
// does without (it builds with the urfave_cli_no_docs tag).

func (h *handlers) manCommand() *cli.Command {
	return &cli.Command{
		Name:  "man",
		Usage: "print certctl's manual page (roff, section 1)",
		Description: `Prints the manual page: every command, its arguments, options and examples,
the environment variables and the exit codes, as man(1) reads it.

Examples:
   certctl man | man -l -
   certctl man > ~/.local/share/man/man1/certctl.1`,
		Action: h.manAction,
	}
}

func (h *handlers) manAction(c *cli.Context) error {
	if err := wantArgs(c, 0, 0, ""); err != nil {
		return err
	}
	var w roffWriter
	w.manPage(c.App)
	_, err := io.WriteString(h.env.stdout, w.String())
	return err
}

// otherEnvironment are the variables certctl reads that no flag takes.
// TestManPageNamesEveryVariable fails when one is missing.
var otherEnvironment = []struct{ name, meaning string }{
	{configDirEnv, "the folder of certctl's settings: the saved sign-ins (contexts.json) and the registered environments (default: certctl under the user's config folder, such as ~/.config/certctl)"},
	{passwordEnv, "the PFX password, when neither --password-file nor --password-stdin gives it"},
	{"AZURE_CLIENT_CERTIFICATE_PASSWORD", "the password of the PFX file of --certificate-path (after " + passwordEnv + ")"},
	{"AZURE_CLIENT_SECRET", "the client secret of a service principal, for login --service-principal and for token after a client-secret sign-in"},
}

// exitCodesSource is exitcodes.go: the EXIT STATUS section is its table of
// constants and their comments, so the two cannot disagree.
//
//go:embed exitcodes.go
var exitCodesSource string

var exitCodeLine = lazyre.New(`(?m)^\s*(exit[A-Za-z]+)\s*=\s*(\d+)\s*//\s*(.+?)\s*$`)

// exitStatus is one code with what it means; several constants may share a
// code.
type exitStatus struct {
	code     int
	names    []string
	meanings []string
}

// exitStatuses reads the exit code constants of exitcodes.go, in order.
func exitStatuses() []exitStatus {
	var out []exitStatus
	for _, m := range exitCodeLine().FindAllStringSubmatch(exitCodesSource, -1) {
		code, _ := strconv.Atoi(m[2])
		i := 0
		for i < len(out) && out[i].code != code {
			i++
		}
		if i == len(out) {
			out = append(out, exitStatus{code: code})
		}
		out[i].names = append(out[i].names, m[1])
		out[i].meanings = append(out[i].meanings, m[3])
	}
	return out
}

// roffWriter writes man(7) markup. Text goes through text, which escapes
// what roff would read as markup.
type roffWriter struct {
	strings.Builder
	afterHeading bool // the last line was .SH or .SS, which a .PP need not follow
}

// macro writes a request line such as .SH NAME; its arguments are escaped,
// and quoted when they are empty or hold a space.
func (w *roffWriter) macro(name string, args ...string) {
	if name == "PP" && w.afterHeading {
		return
	}
	w.afterHeading = name == "SH" || name == "SS"
	w.WriteString("." + name)
	for _, a := range args {
		a = strings.ReplaceAll(roffEscape(a), `"`, `\(dq`)
		if a == "" || strings.Contains(a, " ") {
			a = `"` + a + `"`
		}
		w.WriteString(" " + a)
	}
	w.WriteString("\n")
}

// line writes a line of text, escaped; raw markup goes in with w.raw.
func (w *roffWriter) line(s string) { w.raw(roffEscape(s)) }

// fill writes text to be filled, escaped, in lines of at most 78 bytes
// where the words allow.
func (w *roffWriter) fill(s string) {
	var cur string
	for _, word := range strings.Fields(roffEscape(s)) {
		if cur != "" && len(cur)+1+len(word) > 78 {
			w.raw(cur)
			cur = ""
		}
		if cur != "" {
			cur += " "
		}
		cur += word
	}
	if cur != "" {
		w.raw(cur)
	}
}

// raw writes a line of markup that is already escaped. A line that would
// start with a control character is protected with \&.
func (w *roffWriter) raw(s string) {
	w.afterHeading = false
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		w.WriteString(`\&`)
	}
	w.WriteString(s + "\n")
}

// roffEscape makes s plain text for roff: a backslash is \e, a hyphen \-
// (a minus, as options and commands need to be typed), characters outside
// ASCII \[uXXXX], and control characters go. It does not guard the start
// of a line: raw does.
func roffEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\e`)
		case r == '-':
			b.WriteString(`\-`)
		case r == '\t':
			b.WriteString(" ")
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
		case r >= 0x80:
			fmt.Fprintf(&b, `\[u%04X]`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func bold(s string) string   { return `\fB` + roffEscape(s) + `\fR` }
func italic(s string) string { return `\fI` + roffEscape(s) + `\fR` }

// text writes a help text: lines that start at the margin are filled into
// paragraphs, blank lines separate them, and indented lines (examples) are
// kept as they are, indented.
func (w *roffWriter) text(s string) {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := 0; i < len(lines); {
		l := strings.TrimRight(lines[i], " \t")
		switch {
		case l == "":
			i++
		case strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t"):
			j := i
			for j < len(lines) && (strings.HasPrefix(lines[j], " ") || strings.HasPrefix(lines[j], "\t")) {
				j++
			}
			block := lines[i:j]
			indent := len(block[0]) - len(strings.TrimLeft(block[0], " \t"))
			for _, b := range block {
				indent = min(indent, len(b)-len(strings.TrimLeft(b, " \t")))
			}
			w.macro("RS", "4")
			w.macro("nf")
			for _, b := range block {
				w.line(strings.TrimRight(b[indent:], " \t"))
			}
			w.macro("fi")
			w.macro("RE")
			i = j
		default:
			w.macro("PP")
			var para []string
			for i < len(lines) && strings.TrimSpace(lines[i]) != "" && !strings.HasPrefix(lines[i], " ") && !strings.HasPrefix(lines[i], "\t") {
				para = append(para, strings.TrimSpace(lines[i]))
				i++
			}
			w.fill(strings.Join(para, " "))
		}
	}
}

// visibleFlags are the flags help shows, without --help itself.
func visibleFlags(flags []cli.Flag) []cli.Flag {
	var out []cli.Flag
	for _, f := range flags {
		if vf, ok := f.(cli.VisibleFlag); ok && !vf.IsVisible() {
			continue
		}
		if f.Names()[0] == "help" {
			continue
		}
		out = append(out, f)
	}
	return out
}

// flags writes a .TP entry for each flag: its names and placeholder, its
// usage, default and environment variables.
func (w *roffWriter) flags(flags []cli.Flag) {
	for _, f := range visibleFlags(flags) {
		df, ok := f.(cli.DocGenerationFlag)
		if !ok {
			continue
		}
		placeholder, usage := unquoteUsage(df.GetUsage())
		if placeholder == "" {
			placeholder = "value"
		}
		var names []string
		for _, n := range f.Names() {
			names = append(names, bold(dashes(n)+n))
		}
		head := strings.Join(names, ", ")
		if df.TakesValue() {
			head += " " + italic(placeholder)
		}
		w.macro("TP")
		w.raw(head)
		if d := df.GetDefaultText(); df.TakesValue() && d != "" && d != `""` {
			usage += " (default: " + strings.Trim(d, `"`) + ")"
		}
		if sf, ok := f.(cli.DocGenerationSliceFlag); ok && sf.IsSliceFlag() {
			usage += "; may be repeated"
		}
		if env := df.GetEnvVars(); len(env) > 0 {
			usage += " [$" + strings.Join(env, ", $") + "]"
		}
		w.fill(usage)
	}
}

// command writes a command and its subcommands, each under its full name.
func (w *roffWriter) command(parent string, cmd *cli.Command) {
	if cmd.Hidden || cmd.Name == "help" {
		return
	}
	name := parent + " " + cmd.Name
	synopsis := name
	if len(visibleFlags(cmd.Flags)) > 0 {
		synopsis += " [options]"
	}
	if cmd.ArgsUsage != "" {
		synopsis += " " + cmd.ArgsUsage
	}
	if len(cmd.Subcommands) > 0 && cmd.Action == nil {
		synopsis += " COMMAND"
	}
	w.macro("SS", synopsis)
	if len(cmd.Aliases) > 0 {
		w.line("Also: " + strings.Join(cmd.Aliases, ", ") + ".")
		w.macro("br")
	}
	w.fill(sentence(cmd.Usage))
	if cmd.Description != "" {
		w.text(cmd.Description)
	}
	if len(visibleFlags(cmd.Flags)) > 0 {
		w.macro("PP")
		w.line("Options:")
		w.macro("RS", "4")
		w.flags(cmd.Flags)
		w.macro("RE")
	}
	for _, sub := range cmd.Subcommands {
		w.command(name, sub)
	}
}

// sentence capitalises a usage line and ends it with a full stop.
func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// manPage writes the whole page for app.
func (w *roffWriter) manPage(app *cli.App) {
	w.WriteString(`.\" Generated by "certctl man" from certctl's command definitions. Do not edit:` + "\n")
	w.WriteString(`.\" regenerate with: go run ./cmd/certctl man > docs/certctl.1` + "\n")
	// No date: the page is the same whenever it is made, so the checked-in
	// copy can be compared with what certctl prints.
	w.macro("TH", strings.ToUpper(app.Name), "1", "", app.Name, "User Commands")
	// Flag names and commands are not to be hyphenated or spread out.
	w.macro("nh")
	w.macro("ad", "l")
	w.macro("SH", "NAME")
	w.raw(roffEscape(app.Name) + ` \- ` + roffEscape(app.Usage))
	w.macro("SH", "SYNOPSIS")
	w.raw(bold(app.Name) + ` [` + italic("global options") + `] ` + italic("command") + ` [` + italic("options") + `] [` + italic("arguments") + `]`)
	w.macro("SH", "DESCRIPTION")
	w.text(app.Description)
	w.text(`Flags may come before or after the arguments; global options may also come
after the command name when the command takes them. 'certctl COMMAND --help'
shows a command's help.`)
	w.macro("SH", "GLOBAL OPTIONS")
	w.flags(app.Flags)
	w.macro("SH", "COMMANDS")
	for _, cmd := range app.Commands {
		w.command(app.Name, cmd)
	}

	w.macro("SH", "ENVIRONMENT")
	type envVar struct{ name, meaning string }
	var vars []envVar
	seen := map[string]bool{}
	var walk func(flags []cli.Flag, cmds []*cli.Command)
	walk = func(flags []cli.Flag, cmds []*cli.Command) {
		for _, f := range flags {
			df, ok := f.(cli.DocGenerationFlag)
			if !ok {
				continue
			}
			for _, n := range df.GetEnvVars() {
				if !seen[n] {
					seen[n] = true
					_, usage := unquoteUsage(df.GetUsage())
					vars = append(vars, envVar{n, "the default of --" + f.Names()[0] + ": " + usage})
				}
			}
		}
		for _, c := range cmds {
			walk(c.Flags, c.Subcommands)
		}
	}
	walk(app.Flags, app.Commands)
	for _, v := range otherEnvironment {
		if !seen[v.name] {
			seen[v.name] = true
			vars = append(vars, envVar{v.name, v.meaning})
		}
	}
	for _, v := range vars {
		w.macro("TP")
		w.raw(bold(v.name))
		w.fill(sentence(v.meaning))
	}

	w.macro("SH", "EXIT STATUS")
	w.text("These numbers never change meaning.")
	for _, s := range exitStatuses() {
		w.macro("TP")
		w.raw(bold(strconv.Itoa(s.code)))
		w.fill(sentence(strings.Join(s.meanings, "; ")))
	}

	w.macro("SH", "SEE ALSO")
	w.raw(bold("certctl COMMAND --help") + ", " + bold("certctl completion --help"))
}

// unquoteUsage splits a flag's usage into its placeholder, the first word
// in backquotes, and the usage without the quotes, as urfave/cli's help
// (which does not export it) reads them.
func unquoteUsage(usage string) (placeholder, text string) {
	before, rest, ok := strings.Cut(usage, "`")
	if !ok {
		return "", usage
	}
	name, after, ok := strings.Cut(rest, "`")
	if !ok {
		return "", usage
	}
	return name, before + name + after
}
