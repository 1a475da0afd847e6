package main

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/thumbprint"
)

func (h *handlers) newCommand() *cli.Command {
	types := make([]string, len(certstore.KeyTypes))
	for i, kt := range certstore.KeyTypes {
		types[i] = string(kt)
	}
	return &cli.Command{
		Name:  "new",
		Usage: "make a self-signed certificate and its key inside a store",
		Description: `The key is generated where it will live and never exists in a file outside
the store: on Windows as a CNG key of certctl's own (a CryptoAPI key under
Wine), not exportable unless --exportable, as New-SelfSignedCertificate
-KeyExportPolicy; in the file store as every other key there. The defaults
fit an Entra ID service principal: RSA 2048, valid 365 days, client
authentication. Register the certificate on an application with
'certctl app credential add'.

Examples:
   certctl new --subject "CN=deploy-bot"
   certctl new --subject "CN=api.contoso.com, O=Contoso" --dns-name api.contoso.com --eku server-auth --valid-days 90
   certctl new --subject "CN=signer" --key-type ecdsa-p384 --eku code-signing --not-after 2030-01-01 --output json`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "subject", Usage: "the certificate's subject, such as `\"CN=deploy-bot, O=Contoso\"`"},
			&cli.StringSliceFlag{Name: "dns-name", Usage: "a DNS `NAME` for the subject alternative names (repeat for more)"},
			&cli.StringFlag{Name: "key-type", Usage: "`TYPE` of key: " + strings.Join(types, ", "), Value: string(certstore.RSA2048)},
			&cli.IntFlag{Name: "valid-days", Usage: "valid for `N` days from now (1 to 36500)", Value: 365},
			&cli.StringFlag{Name: "not-after", Usage: "valid until the end of `YYYY-MM-DD` (UTC) instead of --valid-days"},
			&cli.StringSliceFlag{Name: "eku", Usage: "extended key `USAGE`: client-auth, server-auth, code-signing, email or time-stamping (repeat for more; default client-auth)"},
			&cli.BoolFlag{Name: "exportable", Usage: "let the key be exported again (Windows store; file-store keys always are)"},
			storeFlag(), createFlag(), storeDirFlag(), outputFlag(),
		},
		Action: h.newAction,
	}
}

type createdJSON struct {
	Thumbprint   thumbprint.Thumbprint `json:"thumbprint"`
	Subject      string                `json:"subject"`
	NotBefore    time.Time             `json:"notBefore"`
	NotAfter     time.Time             `json:"notAfter"`
	KeyAlgorithm string                `json:"keyAlgorithm"`
	Store        string                `json:"store"`
}

func (h *handlers) newAction(c *cli.Context) error {
	format, err := startCommand(c, 0, 0, "")
	if err != nil {
		return err
	}
	req, err := newCertificateFromFlags(c, time.Now())
	if err != nil {
		return err
	}
	s, err := openStore(c)
	if err != nil {
		return err
	}
	defer s.Close()
	e, err := s.Create(req)
	if err != nil {
		return err
	}
	if format == "json" {
		return writeJSON(h.env.stdout, createdJSON{Thumbprint: e.Thumbprint, Subject: e.Subject, NotBefore: e.NotBefore, NotAfter: e.NotAfter, KeyAlgorithm: e.KeyAlgorithm, Store: s.Name()})
	}
	t := newTable(h.env.stdout)
	t.row(e.Thumbprint.String(), e.Subject)
	return t.flush()
}

// ekuNames are the extended key usages --eku takes.
var ekuNames = map[string]x509.ExtKeyUsage{
	"client-auth":   x509.ExtKeyUsageClientAuth,
	"server-auth":   x509.ExtKeyUsageServerAuth,
	"code-signing":  x509.ExtKeyUsageCodeSigning,
	"email":         x509.ExtKeyUsageEmailProtection,
	"time-stamping": x509.ExtKeyUsageTimeStamping,
}

// ekuNameList is the names of ekuNames, sorted.
func ekuNameList() []string {
	names := make([]string, 0, len(ekuNames))
	for n := range ekuNames {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// newCertificateFromFlags reads what 'new' is to make; every mistake is a
// usage error that names its flag.
func newCertificateFromFlags(c *cli.Context, now time.Time) (certstore.NewCertificate, error) {
	var n certstore.NewCertificate
	if c.String("subject") == "" {
		return n, &usageError{msg: `new: give the certificate's subject with --subject, such as --subject "CN=deploy-bot"`}
	}
	raw, name, err := parseSubject(c.String("subject"))
	if err != nil {
		return n, &usageError{msg: fmt.Sprintf("--subject %.200q: %v", c.String("subject"), err)}
	}
	n.RawSubject, n.Subject = raw, name
	for _, d := range c.StringSlice("dns-name") {
		if err := checkDNSName(d); err != nil {
			return n, &usageError{msg: fmt.Sprintf("--dns-name %.200q: %v", d, err)}
		}
		n.DNSNames = append(n.DNSNames, strings.ToLower(d))
	}
	if n.KeyType, err = certstore.ParseKeyType(c.String("key-type")); err != nil {
		return n, &usageError{msg: fmt.Sprintf("--key-type %.80q: use one of %s", c.String("key-type"), strings.Join(keyTypeNames(), ", ")), err: err}
	}
	start := now.UTC().Truncate(time.Second)
	n.NotBefore = start
	switch {
	case c.IsSet("not-after") && c.IsSet("valid-days"):
		return n, &usageError{msg: "use either --valid-days or --not-after, not both"}
	case c.IsSet("not-after"):
		day, err := time.Parse("2006-01-02", c.String("not-after"))
		if err != nil {
			return n, &usageError{msg: fmt.Sprintf("--not-after %.80q: give a date as YYYY-MM-DD", c.String("not-after"))}
		}
		n.NotAfter = day.Add(24*time.Hour - time.Second)
		if !n.NotAfter.After(start) {
			return n, &usageError{msg: fmt.Sprintf("--not-after %s: the date has passed; give a later one", c.String("not-after"))}
		}
		if n.NotAfter.Sub(start) > certstore.MaxValidity {
			return n, &usageError{msg: fmt.Sprintf("--not-after %s: that is over 100 years away; give an earlier date", c.String("not-after"))}
		}
	default:
		days := c.Int("valid-days")
		if days < 1 || days > 36500 {
			return n, &usageError{msg: fmt.Sprintf("--valid-days %d: give a number of days from 1 to 36500 (100 years)", days)}
		}
		n.NotAfter = start.Add(time.Duration(days) * 24 * time.Hour)
	}
	seen := map[x509.ExtKeyUsage]bool{}
	for _, name := range c.StringSlice("eku") {
		u, ok := ekuNames[strings.ToLower(name)]
		if !ok {
			return n, &usageError{msg: fmt.Sprintf("--eku %.80q: use %s", name, strings.Join(ekuNameList(), ", "))}
		}
		if !seen[u] {
			seen[u] = true
			n.ExtKeyUsage = append(n.ExtKeyUsage, u)
		}
	}
	if len(n.ExtKeyUsage) == 0 {
		n.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	if seen[x509.ExtKeyUsageServerAuth] && len(n.DNSNames) == 0 {
		return n, &usageError{msg: "--eku server-auth: a server certificate needs the names it serves; add --dns-name NAME"}
	}
	n.Exportable = c.Bool("exportable")
	return n, nil
}

func keyTypeNames() []string {
	s := make([]string, len(certstore.KeyTypes))
	for i, kt := range certstore.KeyTypes {
		s[i] = string(kt)
	}
	return s
}

// subjectAttributes are the attribute names --subject takes, as Windows
// and OpenSSL spell them.
var subjectAttributes = map[string]asn1.ObjectIdentifier{
	"CN":           {2, 5, 4, 3},
	"SERIALNUMBER": {2, 5, 4, 5},
	"C":            {2, 5, 4, 6},
	"L":            {2, 5, 4, 7},
	"S":            {2, 5, 4, 8},
	"ST":           {2, 5, 4, 8},
	"STREET":       {2, 5, 4, 9},
	"O":            {2, 5, 4, 10},
	"OU":           {2, 5, 4, 11},
	"T":            {2, 5, 4, 12},
	"TITLE":        {2, 5, 4, 12},
	"POSTALCODE":   {2, 5, 4, 17},
	"DC":           {0, 9, 2342, 19200300, 100, 1, 25},
	"E":            {1, 2, 840, 113549, 1, 9, 1},
	"EMAILADDRESS": {1, 2, 840, 113549, 1, 9, 1},
}

// parseSubject reads a distinguished name as people write it, most
// specific first ("CN=deploy-bot, O=Contoso", as New-SelfSignedCertificate
// and 'list' show it), with ',' or ';' between attributes, '+' within a
// multi-valued one, values quoted ("...") or with backslash escapes. It
// returns the name in DER, least specific first as X.509 orders it.
func parseSubject(s string) ([]byte, pkix.Name, error) {
	var rdns pkix.RDNSequence
	rest := strings.TrimSpace(s)
	if rest == "" {
		return nil, pkix.Name{}, fmt.Errorf("it is empty")
	}
	var set pkix.RelativeDistinguishedNameSET
	for {
		key, after, ok := strings.Cut(rest, "=")
		if !ok {
			return nil, pkix.Name{}, fmt.Errorf("%.40q is not ATTRIBUTE=VALUE", rest)
		}
		key = strings.ToUpper(strings.TrimSpace(key))
		oid, known := subjectAttributes[key]
		if !known {
			return nil, pkix.Name{}, fmt.Errorf("unknown attribute %.20q: use CN, O, OU, L, S, C, E, DC, STREET, T, POSTALCODE or SERIALNUMBER", key)
		}
		value, sep, remaining, err := subjectValue(after)
		if err != nil {
			return nil, pkix.Name{}, err
		}
		if value == "" {
			return nil, pkix.Name{}, fmt.Errorf("%s has no value", key)
		}
		if !utf8.ValidString(value) || strings.IndexFunc(value, unicode.IsControl) >= 0 {
			return nil, pkix.Name{}, fmt.Errorf("%s holds control characters or bytes that are not UTF-8", key)
		}
		if key == "C" && (len(value) != 2 || strings.ToUpper(value) != value) {
			return nil, pkix.Name{}, fmt.Errorf("C=%.20q: a country is two upper-case letters, such as US", value)
		}
		if len(value) > 64 && key != "DC" {
			return nil, pkix.Name{}, fmt.Errorf("%s is longer than 64 characters", key)
		}
		set = append(set, pkix.AttributeTypeAndValue{Type: oid, Value: value})
		if sep != '+' {
			rdns = append(rdns, set)
			set = nil
		}
		if sep == 0 {
			break
		}
		rest = remaining
	}
	// Written most specific first; X.509 wants the reverse.
	for i, j := 0, len(rdns)-1; i < j; i, j = i+1, j-1 {
		rdns[i], rdns[j] = rdns[j], rdns[i]
	}
	der, err := asn1.Marshal(rdns)
	if err != nil {
		return nil, pkix.Name{}, fmt.Errorf("cannot encode it: %w", err)
	}
	var name pkix.Name
	name.FillFromRDNSequence(&rdns)
	return der, name, nil
}

// subjectValue reads one value up to the next unescaped separator (',' ';'
// or '+'), which it returns with what follows; sep is 0 at the end.
func subjectValue(s string) (value string, sep byte, rest string, err error) {
	s = strings.TrimLeft(s, " ")
	var b strings.Builder
	if strings.HasPrefix(s, `"`) {
		i := 1
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
			}
			b.WriteByte(s[i])
		}
		if i == len(s) {
			return "", 0, "", fmt.Errorf("a quoted value is not closed")
		}
		s = strings.TrimLeft(s[i+1:], " ")
		if s == "" {
			return b.String(), 0, "", nil
		}
		if !strings.ContainsRune(",;+", rune(s[0])) {
			return "", 0, "", fmt.Errorf("text after a quoted value: %.20q", s)
		}
		return b.String(), s[0], s[1:], nil
	}
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case ch == ',' || ch == ';' || ch == '+':
			return strings.TrimSpace(b.String()), ch, s[i+1:], nil
		default:
			b.WriteByte(ch)
		}
	}
	return strings.TrimSpace(b.String()), 0, "", nil
}

// checkDNSName accepts a host name, or a wildcard in its first label.
func checkDNSName(d string) error {
	if d == "" || len(d) > 253 {
		return fmt.Errorf("a DNS name is 1 to 253 characters")
	}
	labels := strings.Split(strings.TrimSuffix(d, "."), ".")
	for i, l := range labels {
		if l == "*" && i == 0 && len(labels) > 2 {
			continue
		}
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("give a name such as api.contoso.com or *.contoso.com")
		}
		for _, r := range l {
			if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return fmt.Errorf("give a name such as api.contoso.com or *.contoso.com, in ASCII (punycode for other scripts)")
			}
		}
	}
	return nil
}
