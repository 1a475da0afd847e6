package main

import (
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/thumbprint"
)

// run is main without os.Exit, so deferred closes run and tests can call it.
func run(args []string, e *env) int {
	app := newApp(e)
	app.Setup()
	err := checkCommandLine(app, args)
	if err == nil {
		err = app.Run(hoistFlags(app, args))
	}
	if err != nil {
		printError(e.stderr, err)
	}
	return exitCode(err)
}

// Flags shared by several commands, accepted before or after the command
// name. Each call makes a new flag, so no app or command shares one with
// another.

func storeDirFlag() cli.Flag {
	usage := "folder that holds the stores (default: .NET's CurrentUser store folder)"
	if runtime.GOOS == "windows" {
		// The stores are the CurrentUser system stores, which have no
		// folder: a store folder only gets an error from certstore.Open.
		usage = "not used on Windows, where the stores are the CurrentUser system stores (certmgr.msc)"
	}
	return &cli.StringFlag{Name: "store-dir", Usage: usage, EnvVars: []string{"CERTCTL_STORE_DIR"}}
}

func storeFlag() cli.Flag {
	return &cli.StringFlag{Name: "store", Usage: "store `NAME`: My, Root, CA, TrustedPeople, ...", Value: "My"}
}

// createFlag goes with storeFlag on the commands that add to a store.
func createFlag() cli.Flag {
	return &cli.BoolFlag{Name: "create", Usage: "make the store if --store names a new custom store"}
}

func outputFlag() cli.Flag {
	return &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "output `FORMAT`: table or json", Value: "table"}
}

func passwordFileFlag() cli.Flag {
	return &cli.StringFlag{Name: "password-file", Usage: "read the PFX password from the first line of `FILE`"}
}

func passwordStdinFlag() cli.Flag {
	return &cli.BoolFlag{Name: "password-stdin", Usage: "read the PFX password from standard input"}
}

func newApp(e *env) *cli.App {
	h := &handlers{env: e}
	app := &cli.App{
		Name:  "certctl",
		Usage: "manage your certificate store and sign in to Azure with it",
		Description: `certctl keeps certificates and their private keys in your user store
(.NET's CurrentUser store folder on Linux, shared with PowerShell 7 and .NET)
and finds them by thumbprint.

Examples:
   certctl import app.pfx --password-file pw.txt
   certctl list
   certctl show 3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3`,
		Flags:                []cli.Flag{storeDirFlag(), outputFlag(), versionFlag()},
		Commands:             h.commands(),
		Reader:               e.stdin,
		Writer:               e.stdout,
		ErrWriter:            e.stderr,
		HideVersion:          true,
		EnableBashCompletion: false,
		ExitErrHandler:       func(*cli.Context, error) {},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return flagUsageError(c, err)
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return &usageError{msg: fmt.Sprintf("unknown command %q", c.Args().First())}
			}
			if c.Bool("version") {
				return h.versionAction(c)
			}
			return cli.ShowAppHelp(c)
		},
	}
	var setUsage func([]*cli.Command)
	setUsage = func(cmds []*cli.Command) {
		for _, cmd := range cmds {
			cmd.OnUsageError = app.OnUsageError
			if cmd.Action != nil {
				cmd.Action = timed(cmd.Action)
			}
			setUsage(cmd.Subcommands)
		}
	}
	setUsage(app.Commands)
	return app
}

// handlers holds what every command needs; each command is a method.
type handlers struct {
	env *env
}

func (h *handlers) commands() []*cli.Command {
	return []*cli.Command{
		h.importCommand(),
		h.newCommand(),
		h.listCommand(),
		h.showCommand(),
		h.exportCommand(),
		h.removeCommand(),
		h.thumbprintCommand(),
		h.loginCommand(),
		h.consentCommand(),
		h.tokenCommand(),
		h.contextCommand(),
		h.subscriptionCommand(),
		h.logoutCommand(),
		h.environmentCommand(),
		h.appCommand(),
		h.rotateCommand(),
		h.syncCommand(),
		h.versionCommand(),
		h.completionCommand(),
		h.manCommand(),
		h.completeCommand(),
	}
}

// openStore opens the store named by --store under --store-dir. A custom
// store that does not exist is a usage error, unless the command has
// --create and it is given.
func openStore(c *cli.Context) (certstore.Store, error) {
	opts := certstore.Options{Dir: c.String("store-dir"), Create: c.Bool("create")}
	s, err := certstore.Open(c.String("store"), opts)
	var snf *certstore.StoreNotFoundError
	if errors.As(err, &snf) {
		// What hints.go needs to suggest a fix: the stores there are.
		known := append([]string(nil), certstore.StoreNames...)
		if names, err := certstore.Stores(certstore.Options{Dir: opts.Dir}); err == nil {
			known = append(known, names...)
		}
		return nil, &usageError{msg: err.Error(), err: &storeNotFoundError{err: snf, known: known, canCreate: hasFlag(c.Command.Flags, "create")}}
	}
	return s, err
}

// storeNotFoundError is certstore's error for a custom store that does not
// exist, with what hints.go needs to advise: the stores a typo may have
// meant, and whether the command takes --create.
type storeNotFoundError struct {
	err       *certstore.StoreNotFoundError
	known     []string
	canCreate bool
}

func (e *storeNotFoundError) Error() string { return e.err.Error() }
func (e *storeNotFoundError) Unwrap() error { return e.err }

// startCommand checks the number of positional arguments and reads
// --output (table when the command has none).
func startCommand(c *cli.Context, min, max int, what string) (format string, err error) {
	if err := wantArgs(c, min, max, what); err != nil {
		return "", err
	}
	return outputFormat(c)
}

// outputFormat reads --output, set before or after the command.
func outputFormat(c *cli.Context) (string, error) {
	f := strings.ToLower(c.String("output"))
	switch f {
	case "", "table":
		return "table", nil
	case "json":
		return f, nil
	}
	return "", &usageError{msg: fmt.Sprintf("--output %q: use table or json", c.String("output"))}
}

// openByThumbprint parses every THUMBPRINT argument, before anything else,
// and opens the store to look in; the caller closes it.
func openByThumbprint(c *cli.Context) (certstore.Store, []thumbprint.Thumbprint, error) {
	tps := make([]thumbprint.Thumbprint, c.NArg())
	for i, arg := range c.Args().Slice() {
		tp, err := thumbprint.Parse(arg)
		if err != nil {
			return nil, nil, err
		}
		tps[i] = tp
	}
	s, err := openStore(c)
	return s, tps, err
}

// wantArgs checks the number of positional arguments.
func wantArgs(c *cli.Context, min, max int, what string) error {
	n := c.NArg()
	if n < min {
		return &usageError{msg: fmt.Sprintf("%s: missing %s", c.Command.Name, what)}
	}
	if max >= 0 && n > max {
		return &usageError{msg: fmt.Sprintf("%s: unexpected argument %q (flags may come before or after arguments)", c.Command.Name, c.Args().Get(max))}
	}
	return nil
}

// hoistFlags moves a command's flags in front of its arguments, so that
// "certctl export TP --out f.pfx" means what it says: urfave/cli stops
// reading flags at the first argument and would take "--out" as one. Global
// flags given before the command move after its name when the command has
// them too, so they are read wherever they are typed. A "--" ends the flags
// as usual.
func hoistFlags(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	// Split the global flags (each with its value) from the rest.
	var global [][]string
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "--" {
		tok := []string{args[i]}
		if takesValue(app.Flags, args[i]) && i+1 < len(args) {
			i++
			tok = append(tok, args[i])
		}
		global = append(global, tok)
		i++
	}
	var cmd *cli.Command
	if i < len(args) {
		cmd = app.Command(args[i])
	}
	if cmd == nil {
		return args
	}
	before, after := []string{args[0]}, []string{args[i]}
	// Descend to the subcommand, as in "certctl environment add NAME".
	for i+1 < len(args) && cmd.Command(args[i+1]) != nil {
		i++
		cmd = cmd.Command(args[i])
		after = append(after, args[i])
	}
	for _, tok := range global {
		if hasFlag(cmd.Flags, tok[0]) {
			after = append(after, tok...)
		} else {
			before = append(before, tok...)
		}
	}
	var positional []string
	for i++; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			positional = append(positional, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && a != "-":
			after = append(after, a)
			if takesValue(cmd.Flags, a) && i+1 < len(args) {
				i++
				after = append(after, args[i])
			}
		default:
			positional = append(positional, a)
		}
	}
	out := append(before, after...)
	if len(positional) > 0 {
		out = append(out, "--")
	}
	return append(out, positional...)
}

func flagName(arg string) string {
	name := strings.TrimLeft(arg, "-")
	if i := strings.IndexByte(name, '='); i >= 0 {
		name = name[:i]
	}
	return name
}

func lookupFlag(flags []cli.Flag, arg string) cli.Flag {
	name := flagName(arg)
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

func hasFlag(flags []cli.Flag, arg string) bool { return lookupFlag(flags, arg) != nil }

// takesValue reports whether the flag token arg names a flag that reads the
// next argument as its value.
func takesValue(flags []cli.Flag, arg string) bool {
	if strings.Contains(arg, "=") {
		return false
	}
	f := lookupFlag(flags, arg)
	if f == nil {
		return false
	}
	_, isBool := f.(*cli.BoolFlag)
	return !isBool
}
