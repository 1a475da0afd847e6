package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/thumbprint"
)

func (h *handlers) showCommand() *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "show the details of certificates in a store",
		ArgsUsage: "THUMBPRINT...",
		Description: `Prints subject, issuer, serial number, validity, subject alternative names,
key type and size, extended key usages, SHA-1 and SHA-256 fingerprints and the
chain stored with it, for each THUMBPRINT: one block per certificate, with a
blank line between them. --output json prints the object of one THUMBPRINT,
or an array of them, in the order given, for several.

A THUMBPRINT that is not in the store is reported on standard error after
the others are shown, and the exit code is then 3.

Examples:
   certctl show 3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3
   certctl show "3a 5f 0c 2b ..." --output json
   certctl show 3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3 0D1E2F3A4B5C6D7E8F9A0B1C2D3E4F5A6B7C8D9E`,
		Flags:  []cli.Flag{storeFlag(), storeDirFlag(), outputFlag()},
		Action: h.showAction,
	}
}

// missingError names every thumbprint among a command's arguments that is
// not in the store; it matches certstore.ErrNotFound.
type missingError struct {
	store string
	errs  []error // each a *certstore.NotFoundError
	tps   []thumbprint.Thumbprint
	// several is set when the command had other arguments, and note then
	// says what it did about the missing ones ("nothing was removed").
	several bool
	note    string
}

func (e *missingError) Error() string {
	if len(e.errs) == 1 && !e.several {
		return e.errs[0].Error()
	}
	what := "certificate"
	if len(e.tps) > 1 {
		what = "certificates"
	}
	list := make([]string, len(e.tps))
	for i, tp := range e.tps {
		list[i] = tp.String()
	}
	msg := fmt.Sprintf("%s %s not found in store %s", what, strings.Join(list, ", "), e.store)
	if e.note != "" {
		msg += ": " + e.note
	}
	return msg
}

func (e *missingError) Unwrap() []error { return e.errs }

// add records tp's error if it is certstore's not-found error; any other
// error is returned.
func (e *missingError) add(tp thumbprint.Thumbprint, err error) error {
	if !errors.Is(err, certstore.ErrNotFound) {
		return err
	}
	e.tps = append(e.tps, tp)
	e.errs = append(e.errs, err)
	return nil
}

// result is nil when nothing was missing.
func (e *missingError) result() error {
	if len(e.errs) == 0 {
		return nil
	}
	return e
}

type certJSON struct {
	Subject       string                    `json:"subject"`
	Issuer        string                    `json:"issuer"`
	SerialNumber  string                    `json:"serialNumber"`
	NotBefore     time.Time                 `json:"notBefore"`
	NotAfter      time.Time                 `json:"notAfter"`
	DaysLeft      int                       `json:"daysLeft"`
	DNSNames      []string                  `json:"dnsNames,omitempty"`
	IPAddresses   []net.IP                  `json:"ipAddresses,omitempty"`
	EmailAddress  []string                  `json:"emailAddresses,omitempty"`
	URIs          []string                  `json:"uris,omitempty"`
	KeyAlgorithm  string                    `json:"keyAlgorithm"`
	ExtKeyUsage   []string                  `json:"extendedKeyUsage,omitempty"`
	Thumbprint    thumbprint.Thumbprint     `json:"thumbprint"`
	SHA256        thumbprint.Fingerprint256 `json:"sha256"`
	HasPrivateKey bool                      `json:"hasPrivateKey"`
	Chain         []chainJSON               `json:"chain"`
	Store         string                    `json:"store"`
}

type chainJSON struct {
	Subject    string                `json:"subject"`
	Thumbprint thumbprint.Thumbprint `json:"thumbprint"`
	NotAfter   time.Time             `json:"notAfter"`
}

func describe(id certstore.Identity, store string, now time.Time) certJSON {
	cert := id.Certificate()
	e := certstore.NewEntry(cert, id.HasPrivateKey())
	out := certJSON{
		Subject:       e.Subject,
		Issuer:        e.Issuer,
		SerialNumber:  e.SerialNumber,
		NotBefore:     e.NotBefore,
		NotAfter:      e.NotAfter,
		DaysLeft:      e.DaysLeft(now),
		DNSNames:      cert.DNSNames,
		IPAddresses:   cert.IPAddresses,
		EmailAddress:  cert.EmailAddresses,
		KeyAlgorithm:  e.KeyAlgorithm,
		ExtKeyUsage:   extKeyUsages(cert),
		Thumbprint:    e.Thumbprint,
		SHA256:        thumbprint.SHA256Of(cert),
		HasPrivateKey: e.HasPrivateKey,
		Chain:         []chainJSON{},
		Store:         store,
	}
	for _, u := range cert.URIs {
		out.URIs = append(out.URIs, u.String())
	}
	for _, c := range id.Chain() {
		out.Chain = append(out.Chain, chainJSON{Subject: c.Subject.String(), Thumbprint: thumbprint.Of(c), NotAfter: c.NotAfter.UTC()})
	}
	return out
}

var extKeyUsageNames = map[x509.ExtKeyUsage]string{
	x509.ExtKeyUsageAny:                            "Any",
	x509.ExtKeyUsageServerAuth:                     "Server Authentication",
	x509.ExtKeyUsageClientAuth:                     "Client Authentication",
	x509.ExtKeyUsageCodeSigning:                    "Code Signing",
	x509.ExtKeyUsageEmailProtection:                "Secure Email",
	x509.ExtKeyUsageTimeStamping:                   "Time Stamping",
	x509.ExtKeyUsageOCSPSigning:                    "OCSP Signing",
	x509.ExtKeyUsageIPSECEndSystem:                 "IPsec End System",
	x509.ExtKeyUsageIPSECTunnel:                    "IPsec Tunnel",
	x509.ExtKeyUsageIPSECUser:                      "IPsec User",
	x509.ExtKeyUsageMicrosoftServerGatedCrypto:     "Microsoft Server Gated Crypto",
	x509.ExtKeyUsageNetscapeServerGatedCrypto:      "Netscape Server Gated Crypto",
	x509.ExtKeyUsageMicrosoftCommercialCodeSigning: "Microsoft Commercial Code Signing",
	x509.ExtKeyUsageMicrosoftKernelCodeSigning:     "Microsoft Kernel Code Signing",
}

func extKeyUsages(cert *x509.Certificate) []string {
	var out []string
	for _, u := range cert.ExtKeyUsage {
		if n, ok := extKeyUsageNames[u]; ok {
			out = append(out, n)
		}
	}
	for _, oid := range cert.UnknownExtKeyUsage {
		out = append(out, oid.String())
	}
	return out
}

func (h *handlers) showAction(c *cli.Context) error {
	format, err := startCommand(c, 1, -1, "THUMBPRINT")
	if err != nil {
		return err
	}
	s, tps, err := openByThumbprint(c)
	if err != nil {
		return err
	}
	defer s.Close()
	now := h.env.now()
	missing := &missingError{store: s.Name(), several: len(tps) > 1}
	var found []certJSON
	for _, tp := range tps {
		id, err := s.Find(tp)
		if err != nil {
			if err := missing.add(tp, err); err != nil {
				return err
			}
			continue
		}
		found = append(found, describe(id, s.Name(), now))
	}
	if format == "json" {
		switch {
		case len(tps) > 1:
			if found == nil {
				found = []certJSON{}
			}
			err = writeJSON(h.env.stdout, found)
		case len(found) == 1:
			err = writeJSON(h.env.stdout, found[0])
		}
	} else {
		for i, d := range found {
			if i > 0 {
				if _, err = io.WriteString(h.env.stdout, "\n"); err != nil {
					break
				}
			}
			if err = h.showTable(d); err != nil {
				break
			}
		}
	}
	if err != nil {
		return err
	}
	return missing.result()
}

// showTable prints one certificate's block.
func (h *handlers) showTable(d certJSON) error {
	t := newTable(h.env.stdout)
	t.row("Subject:", d.Subject)
	t.row("Issuer:", d.Issuer)
	t.row("Serial number:", d.SerialNumber)
	t.row("Not before:", d.NotBefore.Format(time.RFC3339))
	t.row("Not after:", fmt.Sprintf("%s (%d days left)", d.NotAfter.Format(time.RFC3339), d.DaysLeft))
	var sans []string
	sans = append(sans, prefixed("DNS:", d.DNSNames)...)
	for _, ip := range d.IPAddresses {
		sans = append(sans, "IP:"+ip.String())
	}
	sans = append(sans, prefixed("email:", d.EmailAddress)...)
	sans = append(sans, prefixed("URI:", d.URIs)...)
	if len(sans) > 0 {
		t.row("Alternative names:", strings.Join(sans, ", "))
	}
	t.row("Key:", d.KeyAlgorithm)
	if len(d.ExtKeyUsage) > 0 {
		t.row("Extended key usage:", strings.Join(d.ExtKeyUsage, ", "))
	}
	t.row("Thumbprint (SHA-1):", d.Thumbprint.String())
	t.row("SHA-256:", d.SHA256.String())
	key := "no"
	if d.HasPrivateKey {
		key = "yes"
	}
	t.row("Private key:", key)
	t.row("Store:", d.Store)
	for i, ch := range d.Chain {
		label := ""
		if i == 0 {
			label = "Chain:"
		}
		t.row(label, fmt.Sprintf("%s  %s", ch.Thumbprint, ch.Subject))
	}
	return t.flush()
}

func prefixed(p string, list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = p + s
	}
	return out
}
