package main

import (
	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/thumbprint"
)

func (h *handlers) thumbprintCommand() *cli.Command {
	return &cli.Command{
		Name:      "thumbprint",
		Usage:     "print the thumbprint of a certificate file without importing it",
		ArgsUsage: "FILE",
		Description: `Prints the SHA-1 thumbprint of the file's certificate: the one that has the
private key, else the first. FILE is any file import reads: PFX, PEM, DER or
PKCS#7. A password-protected PFX needs its password, read as import reads
it. FILE - reads the file from standard
input; its password then comes from --password-file or
$CERTCTL_PFX_PASSWORD, since --password-stdin would read the same input.

Examples:
   certctl thumbprint app.pfx --password-file pw.txt
   certctl thumbprint cert.pem --output json
   certctl export 3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3 --out - --no-key | certctl thumbprint -`,
		Flags:  []cli.Flag{outputFlag(), passwordFileFlag(), passwordStdinFlag()},
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
	name := path // for messages
	var data []byte
	if path == stdinArg {
		if c.Bool("password-stdin") {
			return &usageError{msg: "thumbprint -: standard input holds the file, so it cannot also hold the password (--password-stdin); use --password-file FILE or $" + passwordEnv}
		}
		name = stdinName
		data, err = readStdinInput(h.env)
	} else {
		data, err = readInput(path)
	}
	if err != nil {
		return err
	}
	pw := &passwordReader{c: c, e: h.env}
	certs, err := pw.certificates(name, data)
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
