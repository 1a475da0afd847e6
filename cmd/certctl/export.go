package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/pfx"
	"github.com/certctl/certctl/platform"
	"github.com/certctl/certctl/thumbprint"
)

func (h *handlers) exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write a certificate, and its key, from a store to a PFX or PEM file",
		ArgsUsage: "THUMBPRINT",
		Description: `A PFX is encrypted with AES-256 (PBKDF2, SHA-256 MAC) under the password read
from --password-file, --password-stdin or $CERTCTL_PFX_PASSWORD, or asked for
on the terminal; an empty password is refused unless --no-password says that
an unprotected key is meant. A PEM file holds the key unencrypted; it is
written with mode 0600. The file is written whole or not at all, and an
existing file is only replaced with --force.

Examples:
   certctl export 3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3 --out app.pfx --password-file pw.txt
   certctl export 3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3 --out app.crt --format pem --no-key`,
		Flags: []cli.Flag{
			storeFlag, storeDirFlag, passwordFileFlag, passwordStdinFlag,
			&cli.StringFlag{Name: "out", Usage: "`FILE` to write"},
			&cli.StringFlag{Name: "format", Usage: "`FORMAT` of the file: pfx or pem (default: pem for .pem, .crt and .cer names, else pfx)"},
			&cli.BoolFlag{Name: "no-key", Usage: "write only the certificate and its chain"},
			&cli.BoolFlag{Name: "force", Usage: "replace FILE if it exists"},
			&cli.BoolFlag{Name: "no-password", Usage: "write a PFX with its key and no password (anyone who can read the file can use the key)"},
		},
		Action: h.exportAction,
	}
}

func exportFormat(c *cli.Context, out string) (string, error) {
	switch f := strings.ToLower(c.String("format")); f {
	case "pfx", "pem":
		return f, nil
	case "":
		switch strings.ToLower(filepath.Ext(out)) {
		case ".pem", ".crt", ".cer":
			return "pem", nil
		}
		return "pfx", nil
	default:
		return "", &usageError{fmt.Sprintf("--format %q: use pfx or pem", c.String("format"))}
	}
}

func (h *handlers) exportAction(c *cli.Context) error {
	if err := wantArgs(c, 1, 1, "THUMBPRINT"); err != nil {
		return err
	}
	out := c.String("out")
	if out == "" {
		return &usageError{"export: missing --out FILE"}
	}
	format, err := exportFormat(c, out)
	if err != nil {
		return err
	}
	withKey := !c.Bool("no-key")
	tp, err := thumbprint.Parse(c.Args().First())
	if err != nil {
		return err
	}
	if !c.Bool("force") {
		if _, err := os.Lstat(out); !errors.Is(err, fs.ErrNotExist) {
			return badInput(fmt.Errorf("%s already exists; pass --force to replace it", out))
		}
	}

	s, err := openStore(c)
	if err != nil {
		return err
	}
	defer s.Close()
	b, err := s.Export(tp, withKey)
	if err != nil {
		return err
	}

	var data []byte
	unprotected := false
	switch format {
	case "pem":
		data, err = pfx.EncodePEM(b, withKey)
	case "pfx":
		var pw string
		if pw, err = h.exportPassword(c, withKey); err != nil {
			return err
		}
		unprotected = withKey && pw == ""
		data, err = pfx.EncodeExport(b, pw, withKey)
	}
	if err != nil {
		return fmt.Errorf("export %s: %w", tp, err)
	}
	dir, name := filepath.Split(out)
	if dir == "" {
		dir = "."
	}
	if err := platform.WriteFileAtomic(dir, name, data); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	what := "certificate"
	if withKey {
		what = "certificate and private key"
	}
	if unprotected {
		h.env.infof("wrote the %s of %s to %s without a password: anyone who can read the file can use the key", what, tp, out)
		return nil
	}
	h.env.infof("wrote the %s of %s to %s", what, tp, out)
	return nil
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
			return "", &usageError{"--no-password writes a PFX without a password; do not also give one"}
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
		return "", &usageError{fmt.Sprintf("a PFX with a private key needs a password: give it with --password-file FILE, --password-stdin or $%s, or pass --no-password", passwordEnv)}
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
