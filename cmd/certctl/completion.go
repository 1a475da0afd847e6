package main

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/login"
)

// Shell completion works as cobra's (and so gh's) does: the script a shell
// loads knows nothing of certctl's commands. On each TAB it runs
//
//	certctl __complete -- WORD... CURRENT
//
// with the words typed after "certctl" and the one under the cursor
// (possibly empty), and certctl prints one candidate a line, as "VALUE" or
// "VALUE<TAB>DESCRIPTION", then a last line ":DIRECTIVE" that says what
// the shell does besides: compFiles lets it complete file names when there
// is no candidate, compDirs folder names, compNoFiles nothing. The "--"
// keeps the words from being read as certctl's own flags.
//
// __complete never creates a store or config folder, never adds, changes
// or removes a certificate, and never prints an error: when something fails
// it prints no candidate, and exits 0. Thumbprints come from List, which
// reads the store's index; like 'certctl list', it rewrites a stale index.

// compDirective is the last line of __complete's output. The values are
// those of cobra's ShellCompDirective.
type compDirective int

const (
	compFiles   compDirective = 0  // cobra's ShellCompDirectiveDefault
	compNoFiles compDirective = 4  // ShellCompDirectiveNoFileComp
	compDirs    compDirective = 16 // ShellCompDirectiveFilterDirs
)

// completeCommandName is the hidden command the shell scripts call.
const completeCommandName = "__complete"

// shells are the shells 'certctl completion' writes a script for.
var shells = []string{"bash", "zsh", "fish", "powershell"}

func (h *handlers) completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh, fish or powershell",
		ArgsUsage: "SHELL",
		Description: `Prints a script that makes the shell complete certctl's commands, flags,
the thumbprints in the store, store, environment and context names, and file
names. The script asks certctl itself, so it stays right as certctl changes.

Load it in each new shell:
   bash:        add  source <(certctl completion bash)  to ~/.bashrc, or save it as
                ~/.local/share/bash-completion/completions/certctl
   zsh:         save it as _certctl in a folder of $fpath, before compinit runs
   fish:        save it as ~/.config/fish/completions/certctl.fish
   PowerShell:  add  certctl completion powershell | Out-String | Invoke-Expression
                to $PROFILE

Examples:
   source <(certctl completion bash)
   certctl completion zsh > "${fpath[1]}/_certctl"
   certctl completion fish > ~/.config/fish/completions/certctl.fish`,
		Action: h.completionAction,
	}
}

func (h *handlers) completionAction(c *cli.Context) error {
	if err := wantArgs(c, 1, 1, "SHELL: "+strings.Join(shells, ", ")); err != nil {
		return err
	}
	var script string
	switch strings.ToLower(c.Args().First()) {
	case "bash":
		script = bashCompletion
	case "zsh":
		script = zshCompletion
	case "fish":
		script = fishCompletion
	case "powershell", "pwsh":
		script = powershellCompletion
	default:
		return &usageError{msg: fmt.Sprintf("completion: unknown shell %q: use %s", c.Args().First(), strings.Join(shells, ", "))}
	}
	_, err := io.WriteString(h.env.stdout, script)
	return err
}

func (h *handlers) completeCommand() *cli.Command {
	return &cli.Command{
		Name:            completeCommandName,
		Usage:           "print completion candidates for the shell scripts",
		Hidden:          true,
		SkipFlagParsing: true,
		HideHelp:        true,
		Action: func(c *cli.Context) error {
			words := c.Args().Slice()
			if len(words) > 0 && words[0] == "--" {
				words = words[1:]
			}
			cands, dir := h.complete(c.App, words)
			writeCandidates(h.env.stdout, cands, dir)
			return nil
		},
	}
}

// candidate is a completion and what it is, for shells that show it.
type candidate struct {
	value, desc string
}

// writeCandidates prints __complete's answer. Values and descriptions come
// from the store and the config files too (subjects, context names), so each
// goes through escapeText, which also keeps tabs and line breaks out.
func writeCandidates(w io.Writer, cands []candidate, dir compDirective) {
	var b strings.Builder
	for _, c := range cands {
		b.WriteString(escapeText(c.value))
		if c.desc != "" {
			b.WriteString("\t" + escapeText(c.desc))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, ":%d\n", dir)
	io.WriteString(w, b.String())
}

// complete returns the candidates for the last of words, given the ones
// before it. It recovers from any failure with no candidate.
func (h *handlers) complete(app *cli.App, words []string) (cands []candidate, dir compDirective) {
	defer func() {
		if recover() != nil {
			cands, dir = nil, compNoFiles
		}
	}()
	if len(words) == 0 {
		words = []string{""}
	}
	cur := words[len(words)-1]
	var (
		cmd      *cli.Command // the command typed so far; nil before one
		path     []string     // its name and its parents'
		values   = map[string]string{}
		pending  cli.Flag // a flag waiting for its value
		npos     int      // arguments typed after the command
		dashdash bool
	)
	for _, w := range words[:len(words)-1] {
		switch {
		case pending != nil:
			values[pending.Names()[0]] = w
			pending = nil
		case w == "--" && !dashdash:
			dashdash = true
		case !dashdash && strings.HasPrefix(w, "-") && w != "-":
			// Global flags are read wherever they are typed.
			f := lookupFlag(commandFlags(app, cmd), w)
			if f == nil {
				f = lookupFlag(app.Flags, w)
			}
			if f == nil {
				continue
			}
			if _, v, ok := strings.Cut(w, "="); ok {
				values[f.Names()[0]] = v
			} else if takesValue([]cli.Flag{f}, w) {
				pending = f
			}
		default:
			if npos == 0 {
				if sub := subcommand(app, cmd, w); sub != nil {
					cmd, path = sub, append(path, sub.Name)
					continue
				}
			}
			npos++
		}
	}
	flags := commandFlags(app, cmd)
	switch {
	case pending != nil:
		return h.flagValues(pending, cur, "", values)
	case !dashdash && strings.HasPrefix(cur, "--") && strings.Contains(cur, "="):
		name, v, _ := strings.Cut(cur, "=")
		f := lookupFlag(flags, name)
		if f == nil || !takesValue([]cli.Flag{f}, name) {
			return nil, compNoFiles
		}
		return h.flagValues(f, v, name+"=", values)
	case !dashdash && strings.HasPrefix(cur, "-"):
		return flagCandidates(flags, cur), compNoFiles
	}
	subs := app.Commands
	if cmd != nil {
		subs = cmd.Subcommands
	}
	if npos == 0 && len(subs) > 0 {
		var out []candidate
		for _, s := range subs {
			if s.Hidden {
				continue
			}
			for _, n := range s.Names() {
				out = append(out, candidate{n, s.Usage})
			}
		}
		return filterPrefix(out, cur), compNoFiles
	}
	if cmd == nil {
		return nil, compNoFiles
	}
	return h.argValues(strings.Join(path, " "), cmd.ArgsUsage, npos, cur, values)
}

// commandFlags are the flags that may follow cmd: the global ones before
// any command.
func commandFlags(app *cli.App, cmd *cli.Command) []cli.Flag {
	if cmd == nil {
		return app.Flags
	}
	return cmd.Flags
}

// subcommand is the command called name under cmd (under the app when cmd
// is nil), or nil.
func subcommand(app *cli.App, cmd *cli.Command, name string) *cli.Command {
	if cmd == nil {
		return app.Command(name)
	}
	return cmd.Command(name)
}

// flagCandidates are the names of flags, --long and -s, with their usage.
func flagCandidates(flags []cli.Flag, cur string) []candidate {
	var out []candidate
	help := false
	for _, f := range flags {
		if vf, ok := f.(cli.VisibleFlag); ok && !vf.IsVisible() {
			continue
		}
		desc := ""
		if df, ok := f.(cli.DocGenerationFlag); ok {
			_, desc = unquoteUsage(df.GetUsage())
		}
		for _, n := range f.Names() {
			help = help || n == "help"
			out = append(out, candidate{dashes(n) + n, desc})
		}
	}
	if !help {
		out = append(out, candidate{"--help", "show help"})
	}
	return filterPrefix(out, cur)
}

func dashes(name string) string {
	if len(name) == 1 {
		return "-"
	}
	return "--"
}

// flagValues completes the value of flag f; prefix ("--store=") goes
// before each candidate.
func (h *handlers) flagValues(f cli.Flag, cur, prefix string, values map[string]string) ([]candidate, compDirective) {
	var out []candidate
	dir := compNoFiles
	switch name := f.Names()[0]; name {
	case "store":
		out = h.storeNames(values)
	case "store-dir":
		return nil, compDirs
	case "output":
		out = []candidate{{"table", "aligned columns, for people"}, {"json", "JSON, for scripts"}}
	case "environment":
		out = h.environmentNames(false)
	case "context":
		out = h.contextNames()
	default:
		placeholder := ""
		if df, ok := f.(cli.DocGenerationFlag); ok {
			placeholder, _ = unquoteUsage(df.GetUsage())
		}
		switch {
		case strings.Contains(placeholder, "THUMBPRINT"):
			out = h.thumbprints(values)
		case strings.Contains(placeholder, "FILE"):
			dir = compFiles
		}
	}
	out = filterPrefix(out, cur)
	for i := range out {
		out[i].value = prefix + out[i].value
	}
	return out, dir
}

// argValues completes the n+1th argument of the command at path.
func (h *handlers) argValues(path, argsUsage string, n int, cur string, values map[string]string) ([]candidate, compDirective) {
	if n > 0 && !strings.Contains(argsUsage, "...") {
		return nil, compNoFiles // the command takes one argument, given
	}
	var out []candidate
	switch {
	case path == "context show" || path == "context use":
		out = h.contextNames()
	case path == "environment remove":
		out = h.environmentNames(true)
	case strings.Contains(argsUsage, "THUMBPRINT"):
		out = h.thumbprints(values)
	case strings.Contains(argsUsage, "FILE"):
		return nil, compFiles
	}
	return filterPrefix(out, cur), compNoFiles
}

// storeOptions are the store folder typed on the line, else the one
// $CERTCTL_STORE_DIR names.
func (h *handlers) storeOptions(values map[string]string) certstore.Options {
	dir := values["store-dir"]
	if dir == "" {
		dir = h.env.getenv("CERTCTL_STORE_DIR")
	}
	// The shell expands ~ when it runs the command, not in the words it
	// hands to completion.
	if rest, ok := strings.CutPrefix(dir, "~/"); ok {
		if home := h.env.getenv("HOME"); home != "" {
			dir = filepath.Join(home, rest)
		}
	}
	return certstore.Options{Dir: dir}
}

// thumbprints lists the store the line names, through its index: no
// private key is read and no file decoded that the index describes.
func (h *handlers) thumbprints(values map[string]string) []candidate {
	s, err := certstore.Open(values["store"], h.storeOptions(values))
	if err != nil {
		return nil
	}
	defer s.Close()
	entries, _ := s.List() // with the readable entries when some are not
	out := make([]candidate, len(entries))
	for i, e := range entries {
		out[i] = candidate{e.Thumbprint.String(), e.Subject}
	}
	return out
}

// storeNames are the well-known store names and the stores that exist.
func (h *handlers) storeNames(values map[string]string) []candidate {
	names := slices.Clone(certstore.StoreNames)
	if more, err := certstore.Stores(h.storeOptions(values)); err == nil {
		for _, n := range more {
			if !slices.ContainsFunc(names, func(m string) bool { return strings.EqualFold(m, n) }) {
				names = append(names, n)
			}
		}
	}
	out := make([]candidate, len(names))
	for i, n := range names {
		out[i] = candidate{value: n}
	}
	return out
}

// environmentNames are the built-in and registered clouds, or only the
// registered ones.
func (h *handlers) environmentNames(customOnly bool) []candidate {
	dir, err := h.configDir()
	if err != nil {
		return nil
	}
	envs, err := login.Environments(dir)
	if err != nil {
		return nil
	}
	var out []candidate
	for _, e := range envs {
		if e.Custom || !customOnly {
			out = append(out, candidate{e.Name, e.AuthorityHost})
		}
	}
	return out
}

// contextNames are the saved sign-ins, with their accounts.
func (h *handlers) contextNames() []candidate {
	_, cs, err := h.contexts()
	if err != nil {
		return nil
	}
	out := make([]candidate, len(cs.List))
	for i, c := range cs.List {
		out[i] = candidate{c.Name, c.Account}
	}
	return out
}

// filterPrefix keeps the candidates that start with cur, in any case, as
// store names and thumbprints are.
func filterPrefix(cands []candidate, cur string) []candidate {
	out := cands[:0:0]
	for _, c := range cands {
		if len(c.value) >= len(cur) && strings.EqualFold(c.value[:len(cur)], cur) {
			out = append(out, c)
		}
	}
	return out
}

// The scripts. Each passes the words typed so far to certctl __complete and
// turns its answer into the shell's own completions.

const bashCompletion = `# bash completion for certctl. Load it with
#   source <(certctl completion bash)
# or save it as ~/.local/share/bash-completion/completions/certctl

_certctl() {
    local IFS=$'\n' prog=${COMP_WORDS[0]} w i n cur pre="" out directive
    local -a words=() lines=() cands=()
    [[ $prog == "~/"* ]] && prog=$HOME/${prog#"~/"}
    # Bash splits "--store=My" at the "=" (COMP_WORDBREAKS): join it again.
    for (( i = 1; i <= COMP_CWORD; i++ )); do
        w=${COMP_WORDS[i]}
        n=${#words[@]}
        if (( n > 0 )) && [[ $w == "=" || ${words[n-1]} == --*= ]]; then
            words[n-1]+=$w
        else
            words+=("$w")
        fi
    done
    (( ${#words[@]} > 0 )) || words=("")
    cur=${words[${#words[@]}-1]}
    out=$("$prog" __complete -- "${words[@]}" 2>/dev/null) || return 0
    lines=($out)
    (( ${#lines[@]} > 0 )) || return 0
    directive=${lines[${#lines[@]}-1]}
    [[ $directive == :* ]] || return 0
    directive=${directive#:}
    for (( i = 0; i < ${#lines[@]} - 1; i++ )); do
        w=${lines[i]%%$'\t'*}
        # Bash completes only what follows the "=" of --flag=value.
        [[ $cur == --*=* && $COMP_WORDBREAKS == *=* ]] && w=${w#*=}
        cands+=("$w")
    done
    if [[ $cur == --*=* ]]; then
        [[ $COMP_WORDBREAKS == *=* ]] || pre=${cur%%=*}=
        cur=${cur#*=}
    fi
    if (( ${#cands[@]} == 0 && (directive == 0 || directive == 16) )); then
        compopt -o filenames 2>/dev/null
        if (( directive == 16 )); then
            COMPREPLY=($(compgen -d -P "$pre" -- "$cur"))
        else
            COMPREPLY=($(compgen -f -P "$pre" -- "$cur"))
        fi
        return 0
    fi
    COMPREPLY=("${cands[@]}")
}
complete -F _certctl certctl
`

const zshCompletion = `#compdef certctl
# zsh completion for certctl. Save it as _certctl in a folder of $fpath
# before compinit runs, or load it with
#   source <(certctl completion zsh)   (after compinit)

_certctl() {
    local out directive line value desc
    local -a lines cands
    out=$(${words[1]} __complete -- "${(@)words[2,CURRENT]}" 2>/dev/null) || return 1
    lines=("${(@f)out}")
    (( ${#lines} > 0 )) || return 1
    directive=${lines[-1]}
    [[ $directive == :* ]] || return 1
    directive=${directive#:}
    for line in "${(@)lines[1,-2]}"; do
        value=${line%%$'\t'*}
        desc=""
        [[ $line == *$'\t'* ]] && desc=${line#*$'\t'}
        # _describe splits at the first unescaped colon.
        cands+=("${value//:/\\:}${desc:+:$desc}")
    done
    if (( ${#cands} > 0 )); then
        _describe -t certctl 'certctl' cands
    elif [[ $directive == 16 ]]; then
        _files -/
    elif [[ $directive == 0 ]]; then
        _files
    else
        return 1
    fi
}

if [[ $funcstack[1] == _certctl ]]; then
    _certctl "$@"
else
    compdef _certctl certctl
fi
`

const fishCompletion = `# fish completion for certctl. Save it as
#   ~/.config/fish/completions/certctl.fish

function __certctl_complete
    set -l words (commandline -opc)
    set -l cur (commandline -ct)
    set -l prog $words[1]
    set -e words[1]
    set -l out ($prog __complete -- $words "$cur" 2>/dev/null)
    or return
    set -q out[1]; or return
    string match -q -r '^:' -- $out[-1]; or return
    set -l directive (string sub -s 2 -- $out[-1])
    set -e out[-1]
    if not set -q out[1]
        switch $directive
            case 0
                __fish_complete_path "$cur"
            case 16
                __fish_complete_directories "$cur"
        end
        return
    end
    printf '%s\n' $out
end

complete -c certctl -e
complete -c certctl -f -a '(__certctl_complete)'
`

const powershellCompletion = `# PowerShell completion for certctl. Add to $PROFILE:
#   certctl completion powershell | Out-String | Invoke-Expression

Register-ArgumentCompleter -Native -CommandName 'certctl' -ScriptBlock {
    param($WordToComplete, $CommandAst, $CursorPosition)

    # The words before the cursor, the one being completed last.
    $elements = @($CommandAst.CommandElements |
        Where-Object { $_.Extent.StartOffset -lt $CursorPosition } |
        ForEach-Object { $_.Extent.Text })
    $prog = $elements[0]
    $words = @($elements | Select-Object -Skip 1)
    if ($WordToComplete -eq '') {
        # PowerShell before 7.3 drops an empty argument to a program.
        if ($PSVersionTable.PSVersion -lt [version]'7.3') { $words += '""' } else { $words += '' }
    }

    $out = @(& $prog __complete -- @words 2>$null)
    if ($out.Count -eq 0 -or $out[-1] -notmatch '^:(\d+)$') { return }
    $directive = [int]$Matches[1]
    $cands = @()
    if ($out.Count -gt 1) { $cands = $out[0..($out.Count - 2)] }

    if ($cands.Count -eq 0) {
        if ($directive -eq 0 -or $directive -eq 16) {
            # Nothing returned: PowerShell completes file names itself.
            return
        }
        # An empty string, as cobra returns, keeps PowerShell from
        # completing file names.
        return ""
    }
    foreach ($line in $cands) {
        $value, $desc = $line -split "` + "`" + `t", 2
        if (-not $desc) { $desc = $value }
        $text = $value
        if ($value -match '[\s''"]') { $text = "'" + ($value -replace "'", "''") + "'" }
        [System.Management.Automation.CompletionResult]::new($text, $value, 'ParameterValue', $desc)
    }
}
`
