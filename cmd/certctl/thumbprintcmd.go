package main

import (
	"crypto/x509"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/thumbprint"
)

func (h *handlers) thumbprintCommand() *cli.Command {
	return &cli.Command{
		Name:      "thumbprint",
		Usage:     "print the thumbprints of certificate files without importing them",
		ArgsUsage: "FILE...",
		Description: `Prints the SHA-1 thumbprint of each file's certificate: the one that has the
private key, else the first. FILE is any file import reads: PFX, PEM, DER or
PKCS#7. A password-protected PFX needs its password, read as import reads
it (one password for all the files). FILE - reads a file from standard
input, once at most; its password then comes from --password-file or
$CERTCTL_PFX_PASSWORD, since --password-stdin would read the same input.

With one FILE the output is the thumbprint alone; with several, one line
per file in the order given, THUMBPRINT and FILE two spaces apart, as
sha1sum prints them. --output json prints an object for one FILE, an array
of them for several.

Every file is read before anything is printed: if one cannot be read, the
command fails with that file's error (the first such file, in the order
given) and prints no thumbprint.

Examples:
   certctl thumbprint app.pfx --password-file pw.txt
   certctl thumbprint cert.pem --output json
   certctl thumbprint *.pem *.crt
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
	format, err := startCommand(c, 1, -1, "FILE")
	if err != nil {
		return err
	}
	paths := c.Args().Slice()
	stdin := 0
	for _, p := range paths {
		if p == stdinArg {
			stdin++
		}
	}
	if stdin > 1 {
		return &usageError{msg: "thumbprint: - (standard input) may be given once"}
	}
	if stdin > 0 && c.Bool("password-stdin") {
		return &usageError{msg: "thumbprint -: standard input holds the file, so it cannot also hold the password (--password-stdin); use --password-file FILE or $" + passwordEnv}
	}
	pw := &passwordReader{c: c, e: h.env}
	out := make([]thumbprintJSON, len(paths))
	for i, path := range paths {
		leaf, err := h.fileLeaf(pw, path)
		if err != nil {
			return err
		}
		out[i] = thumbprintJSON{File: path, Thumbprint: thumbprint.Of(leaf), SHA256: thumbprint.SHA256Of(leaf), Subject: leaf.Subject.String()}
	}
	switch {
	case format == "json" && len(out) == 1:
		return writeJSON(h.env.stdout, out[0])
	case format == "json":
		return writeJSON(h.env.stdout, out)
	case len(out) == 1:
		_, err = io.WriteString(h.env.stdout, out[0].Thumbprint.String()+"\n")
		return err
	}
	var b strings.Builder
	for _, o := range out {
		b.WriteString(o.Thumbprint.String() + "  " + escapeText(o.File) + "\n")
	}
	_, err = io.WriteString(h.env.stdout, b.String())
	return err
}

// fileLeaf reads the certificate of the file at path ("-" for standard
// input) that thumbprint prints.
func (h *handlers) fileLeaf(pw *passwordReader, path string) (*x509.Certificate, error) {
	name := path // for messages
	var data []byte
	var err error
	if path == stdinArg {
		name = stdinName
		data, err = readStdinInput(h.env)
	} else {
		data, err = readInput(path)
	}
	if err != nil {
		return nil, err
	}
	certs, err := pw.certificates(name, data)
	if err != nil {
		return nil, err
	}
	return certs[0], nil
}
