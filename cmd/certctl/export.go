package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/pfx"
	"github.com/certctl/certctl/platform"
	"github.com/certctl/certctl/thumbprint"
)

func (h *handlers) exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write a certificate, and its key, from a store to a PFX, PEM or DER file",
		ArgsUsage: "THUMBPRINT",
		Description: `Writes the certificate, its chain and its private key to --out FILE, or to
standard output with --out -. --format says what to write; without it, the
name of FILE does: .pem and .crt are PEM, .cer and .der are DER (a .cer is
DER, as on Windows), any other name a PFX, and --out - is PEM.

A PFX is encrypted with AES-256 (PBKDF2, SHA-256 MAC) under the password read
from --password-file, --password-stdin or $CERTCTL_PFX_PASSWORD, or asked for
on the terminal; an empty password is refused unless --no-password says that
an unprotected key is meant. --legacy encrypts it with 3DES and a SHA-1 MAC
instead, for Windows Server 2016 and earlier and Java 8; these are weak, so
the file is only as safe as its password. A PEM file holds the key
unencrypted. A DER file holds the certificate alone, never its chain or key:
--format der implies --no-key.

A file is written with mode 0600, whole or not at all, and an existing file
is only replaced with --force. A PFX is binary: it is written to standard
output only when that is a file or a pipe, not a terminal.

Examples:
   certctl export 3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3 --out app.pfx --password-file pw.txt
   certctl export 3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3 --out old.pfx --legacy --password-file pw.txt
   certctl export 3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3 --out app.crt --no-key
   certctl export 3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3 --out app.cer
   certctl export 3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3 --out - --no-key | openssl x509 -noout -text
   certctl export 3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3 --out - --format pfx --password-file pw.txt > app.pfx`,
		Flags: []cli.Flag{
			storeFlag(), storeDirFlag(), passwordFileFlag(), passwordStdinFlag(),
			&cli.StringFlag{Name: "out", Usage: "`FILE` to write, or - for standard output"},
			&cli.StringFlag{Name: "format", Usage: "`FORMAT` to write: pfx, pem or der (default: pem for .pem and .crt names, der for .cer and .der, pem for standard output, else pfx)"},
			&cli.BoolFlag{Name: "legacy", Usage: "write a PFX with 3DES and a SHA-1 MAC, for Windows Server 2016 and earlier and Java 8"},
			&cli.BoolFlag{Name: "no-key", Usage: "write only the certificate and its chain"},
			&cli.BoolFlag{Name: "force", Usage: "replace FILE if it exists"},
			&cli.BoolFlag{Name: "no-password", Usage: "write a PFX with its key and no password (anyone who can read the file can use the key)"},
		},
		Action: h.exportAction,
	}
}

// stdoutName is the --out value that means standard output.
const stdoutName = "-"

// exportFormat is --format, or what the name out implies.
func exportFormat(c *cli.Context, out string) (string, error) {
	switch f := strings.ToLower(c.String("format")); f {
	case "pfx", "pem", "der":
		return f, nil
	case "":
		if out == stdoutName {
			return "pem", nil
		}
		switch strings.ToLower(filepath.Ext(out)) {
		case ".pem", ".crt":
			return "pem", nil
		case ".cer", ".der":
			// Windows writes a .cer as DER, and reads one either way.
			return "der", nil
		}
		return "pfx", nil
	default:
		return "", &usageError{msg: fmt.Sprintf("--format %q: use pfx, pem or der", c.String("format"))}
	}
}

func (h *handlers) exportAction(c *cli.Context) error {
	if err := wantArgs(c, 1, 1, "THUMBPRINT"); err != nil {
		return err
	}
	out := c.String("out")
	if out == "" {
		return &usageError{msg: "export: missing --out FILE (or --out - for standard output)"}
	}
	toStdout := out == stdoutName
	format, err := exportFormat(c, out)
	if err != nil {
		return err
	}
	legacy := c.Bool("legacy")
	if legacy && format != "pfx" {
		if c.String("format") != "" {
			return &usageError{msg: fmt.Sprintf("--legacy writes a PFX; it cannot be combined with --format %s", format)}
		}
		return &usageError{msg: fmt.Sprintf("--legacy writes a PFX, but --out %s means --format %s; pass --format pfx, or drop --legacy", out, format)}
	}
	if toStdout && format == "pfx" && h.env.stdoutIsTerminal {
		return &usageError{msg: "--out - --format pfx: standard output is a terminal, and a PFX is binary; redirect it to a file or a pipe, or give --out FILE"}
	}
	// A DER file holds one certificate and nothing else.
	withKey := !c.Bool("no-key") && format != "der"
	tp, err := thumbprint.Parse(c.Args().First())
	if err != nil {
		return err
	}
	var dir, name string
	if !toStdout {
		// Before the store and the password prompt, so that a typo in
		// --out costs nothing.
		if dir, name, err = exportTarget(out, c.Bool("force")); err != nil {
			return err
		}
	}

	s, err := openStore(c)
	if err != nil {
		return err
	}
	defer s.Close()
	b, err := s.Export(tp, withKey)
	keyless := false
	if withKey && errors.Is(err, certstore.ErrNoPrivateKey) {
		// A root or CA certificate: there is only the certificate to write.
		keyless, withKey = true, false
		b, err = s.Export(tp, false)
	}
	if err != nil {
		return err
	}

	var data []byte
	unprotected := false
	switch format {
	case "der":
		data = b.Leaf.Raw
	case "pem":
		data, err = pfx.EncodePEM(b, withKey)
	case "pfx":
		var pw string
		if pw, err = h.exportPassword(c, withKey); err != nil {
			return err
		}
		unprotected = withKey && pw == ""
		if legacy {
			data, err = pfx.EncodeExportLegacy(b, pw, withKey)
		} else {
			data, err = pfx.EncodeExport(b, pw, withKey)
		}
	}
	if err != nil {
		return fmt.Errorf("export %s: %w", tp, err)
	}
	dest := out
	if toStdout {
		dest = "standard output"
		if _, err := h.env.stdout.Write(data); err != nil {
			return fmt.Errorf("write to standard output: %w", err)
		}
	} else if err := platform.WriteFileAtomic(dir, name, data); err != nil {
		return writeError(out, dir, err)
	}
	what := "certificate"
	if withKey {
		what = "certificate and private key"
	}
	if unprotected {
		h.env.infof("wrote the %s of %s to %s without a password: anyone who can read the file can use the key", what, tp, dest)
		return nil
	}
	if keyless {
		h.env.infof("wrote the certificate of %s to %s; it has no private key in store %s", tp, dest, s.Name())
		return nil
	}
	h.env.infof("wrote the %s of %s to %s", what, tp, dest)
	return nil
}

// exportTarget checks that out can be written before anything is read from
// the store: its folder exists, and it is not a folder itself, nor a file
// to keep (without force). It returns the folder and name to give to
// platform.WriteFileAtomic.
func exportTarget(out string, force bool) (dir, name string, err error) {
	dir, name = filepath.Split(out)
	if name == "" {
		return "", "", badInput(fmt.Errorf("--out %s names a folder; give the name of the file to write", out))
	}
	dir = filepath.Clean(dir) // "" is "."; "a/b/" is "a/b"
	switch fi, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		return "", "", missingFolder(dir)
	case err != nil:
		return "", "", fmt.Errorf("--out %s: %w", out, err)
	case !fi.IsDir():
		return "", "", badInput(fmt.Errorf("%s is not a folder, so --out %s cannot be written", dir, out))
	}
	switch fi, err := os.Lstat(out); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return "", "", fmt.Errorf("--out %s: %w", out, err)
	case fi.IsDir():
		return "", "", badInput(fmt.Errorf("%s is a folder; give the name of the file to write", out))
	case !force:
		return "", "", badInput(fmt.Errorf("%s already exists; pass --force to replace it", out))
	}
	return dir, name, nil
}

func missingFolder(dir string) error {
	return badInput(fmt.Errorf("folder %s does not exist; create it first, or give --out a file in an existing folder", dir))
}

// writeError explains a failed platform.WriteFileAtomic by out and its
// folder: the error itself names a temporary file the user never asked for.
func writeError(out, dir string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return missingFolder(dir) // removed since exportTarget looked
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("write %s: cannot create a file in folder %s: %w", out, dir, fs.ErrPermission)
	}
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	return fmt.Errorf("write %s: %w", out, err)
}

// exportPassword gets the password for a PFX export. A PFX with a key needs
// one, or --no-password; asked on a terminal, it is asked twice.
func (h *handlers) exportPassword(c *cli.Context, withKey bool) (string, error) {
	pr := &passwordReader{c: c, e: h.env}
	pw, given, err := pr.explicit()
	if err != nil {
		return "", err
	}
	if c.Bool("no-password") {
		if given {
			return "", &usageError{msg: "--no-password writes a PFX without a password; do not also give one"}
		}
		return "", nil
	}
	emptyRefused := func(from string) error {
		return badInput(fmt.Errorf("the password %s is empty, which would leave the private key unprotected; give a password, or pass --no-password if that is what you mean", from))
	}
	if given {
		if pw == "" && withKey {
			return "", emptyRefused("from " + passwordSource(c))
		}
		return pw, nil
	}
	if h.env.readPassword == nil {
		if !withKey {
			return "", nil
		}
		return "", &usageError{msg: fmt.Sprintf("a PFX with a private key needs a password: give it with --password-file FILE, --password-stdin or $%s, or pass --no-password", passwordEnv)}
	}
	first, err := h.env.readPassword("Password for the new PFX: ")
	if err != nil {
		return "", err
	}
	again, err := h.env.readPassword("Same password again: ")
	if err != nil {
		return "", err
	}
	if first != again {
		return "", badInput(errors.New("the two passwords differ; nothing was written"))
	}
	if first == "" && withKey {
		return "", emptyRefused("typed")
	}
	return first, nil
}

// passwordSource names where the password came from, for messages.
func passwordSource(c *cli.Context) string {
	switch {
	case c.String("password-file") != "":
		return "--password-file " + c.String("password-file")
	case c.Bool("password-stdin"):
		return "--password-stdin"
	}
	return "$" + passwordEnv
}
