package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/pfx"
	"github.com/certctl/certctl/thumbprint"
)

func (h *handlers) importCommand() *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "add certificates, with their private keys if they have them, from files to a store",
		ArgsUsage: "FILE...",
		Description: `Each FILE is a PKCS#12 file (.pfx, .p12), a PEM file, a DER certificate
(.cer, .crt, .der) or a PKCS#7 bundle (.p7b, .p7c, PEM or DER); the format is
told from the content, not the name. A file with a private key adds the
certificate that matches it, with the key, and keeps the others as its
chain. A file without a key adds every certificate in it, each without a
key, as Import-Certificate and Import-PfxCertificate do: that is how a root
or CA certificate goes into the Root or CA store. With --key the key comes
from a second PEM file.

The password of a PFX or of an encrypted PEM key (PKCS#8 or OpenSSL's
legacy encryption) is read from --password-file, --password-stdin or
$CERTCTL_PFX_PASSWORD; without one certctl tries the empty password and then
asks, if there is a terminal. A PFX without a MAC (integrity check) is
imported with a warning. Importing a certificate that is already in the
store is not an error. If any file fails, nothing is imported.

With --from-keyvault the certificate and its key come from Azure Key Vault,
read with the saved sign-in (--context, or the current one; on an Azure VM
'certctl login --identity'): a certificate URL reads its current version (or
the one named) through its metadata, a secret URL a secret holding PKCS#12
or PEM. 'certctl sync' keeps a store current with a vault.

On Windows, adding to CurrentUser\Root asks the user to confirm, in a
dialog Windows shows; certctl waits for the answer.

Examples:
   certctl import app.pfx --password-file pw.txt
   printf '%s' "$PFX_PASSWORD" | certctl import app.pfx --password-stdin
   certctl import cert.pem --key key.pem --store TrustedPeople
   certctl import root-ca.crt --store Root
   certctl import intermediates.p7b --store CA
   certctl import --from-keyvault https://contoso.vault.azure.net/certificates/web-tls`,
		Flags: []cli.Flag{
			storeFlag(), createFlag(), storeDirFlag(), outputFlag(), passwordFileFlag(), passwordStdinFlag(),
			&cli.StringFlag{Name: "key", Usage: "PEM `FILE` with the private key of a PEM certificate"},
			&cli.BoolFlag{Name: "exportable", Usage: "let the key be exported again (Windows store; file-store keys always are)"},
			&cli.StringFlag{Name: "from-keyvault", Usage: "read the certificate and key from Azure Key Vault: `URL` https://VAULT.vault.azure.net/certificates/NAME[/VERSION] or .../secrets/NAME[/VERSION]"},
			contextFlag("with --from-keyvault, read the vault as the saved sign-in `NAME` (default: the current one)"),
			&cli.BoolFlag{Name: "client-secret-stdin", Usage: "with --from-keyvault, read the saved sign-in's client secret from standard input"},
			timeoutFlag("with --from-keyvault, give up after `DURATION`"),
		},
		Action: h.importAction,
	}
}

type importedJSON struct {
	File       string                `json:"file"`
	Thumbprint thumbprint.Thumbprint `json:"thumbprint"`
	Subject    string                `json:"subject"`
	Added      bool                  `json:"added"`
	Store      string                `json:"store"`
}

func (h *handlers) importAction(c *cli.Context) error {
	if c.IsSet("from-keyvault") {
		format, err := outputFormat(c)
		if err != nil {
			return err
		}
		return h.importFromKeyVault(c, format)
	}
	format, err := startCommand(c, 1, -1, "FILE to import")
	if err != nil {
		return err
	}
	keyFile := c.String("key")
	if keyFile != "" && c.NArg() > 1 {
		return &usageError{msg: "--key goes with a single certificate FILE"}
	}

	// Read and check every file before the store changes, on every core:
	// decoding runs key derivations.
	pw := &passwordReader{c: c, e: h.env}
	if _, _, err := pw.explicit(); err != nil { // read stdin once, up front
		return err
	}
	paths := c.Args().Slice()
	perFile := make([][]*pfx.Bundle, len(paths))
	err = forEach(len(paths), func(i int) error {
		path := paths[i]
		data, err := readInput(path)
		if err != nil {
			return err
		}
		if keyFile != "" {
			keyData, err := readInput(keyFile)
			if err != nil {
				return err
			}
			b, err := pw.decodePEM(path, keyFile, data, keyData)
			if err != nil {
				return err
			}
			perFile[i] = []*pfx.Bundle{b}
			return nil
		}
		contents, err := pw.contents(path, data)
		if err != nil {
			return err
		}
		if contents.NoMAC {
			h.env.warnf("%s has no MAC, so nothing checked that it is intact: it was imported as it is", path)
		}
		if perFile[i], err = contents.Bundles(); err != nil {
			return badInput(fmt.Errorf("%s: %w", path, err))
		}
		return nil
	})
	if err != nil {
		return err
	}
	var bundles []*pfx.Bundle
	var files []string
	for i, bs := range perFile {
		for _, b := range bs {
			bundles = append(bundles, b)
			files = append(files, paths[i])
		}
	}

	s, err := openStore(c)
	if err != nil {
		return err
	}
	defer s.Close()
	// All or nothing, on every core: a failure takes back the others.
	opts := certstore.ImportOptions{Exportable: c.Bool("exportable")}
	done, err := certstore.ImportAll(s, bundles, opts, 0, h.env.progress("imported", len(bundles)))
	if err != nil {
		return err
	}

	if format == "json" {
		out := make([]importedJSON, len(done))
		for i, d := range done {
			out[i] = importedJSON{File: files[i], Thumbprint: d.Entry.Thumbprint, Subject: d.Entry.Subject, Added: d.Added, Store: s.Name()}
		}
		return writeJSON(h.env.stdout, out)
	}
	t := newTable(h.env.stdout)
	for _, d := range done {
		t.row(d.Entry.Thumbprint.String(), d.Entry.Subject)
		if !d.Added {
			h.env.infof("%s was already in store %s", d.Entry.Thumbprint, s.Name())
		}
	}
	return t.flush()
}
