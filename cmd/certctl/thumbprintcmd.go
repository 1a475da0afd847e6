package main

import (
	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/thumbprint"
)

func (h *handlers) thumbprintCommand() *cli.Command {
	return &cli.Command{
		Name:      "thumbprint",
		Usage:     "print the thumbprint of a certificate, PFX or PEM file without importing it",
		ArgsUsage: "FILE",
		Description: `Prints the SHA-1 thumbprint of the file's certificate: the one that has the
private key in a PFX, else the first. A password-protected PFX needs its
password, read as import reads it.

Examples:
   certctl thumbprint app.pfx --password-file pw.txt
   certctl thumbprint cert.pem --output json`,
		Flags:  []cli.Flag{outputFlag, passwordFileFlag, passwordStdinFlag},
		Action: h.thumbprintAction,
	}
}

type thumbprintJSON struct {
	File       string                    `json:"file"`
	Thumbprint thumbprint.Thumbprint     `json:"thumbprint"`
	SHA256     thumbprint.Fingerprint256 `json:"sha256"`
	Subject    string                    `json:"subject"`
}

func (h *handlers) thumbprintAction(c *cli.Context) error {
	format, err := startCommand(c, 1, 1, "FILE")
	if err != nil {
		return err
	}
	path := c.Args().First()
	data, err := readInput(path)
	if err != nil {
		return err
	}
	pw := &passwordReader{c: c, e: h.env}
	certs, err := pw.certificates(path, data)
	if err != nil {
		return err
	}
	leaf := certs[0]
	if format == "json" {
		return writeJSON(h.env.stdout, thumbprintJSON{File: path, Thumbprint: thumbprint.Of(leaf), SHA256: thumbprint.SHA256Of(leaf), Subject: leaf.Subject.String()})
	}
	_, err = h.env.stdout.Write([]byte(thumbprint.Of(leaf).String() + "\n"))
	return err
}
