package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/internal/lazyre"
	"github.com/certctl/certctl/thumbprint"
)

func (h *handlers) listCommand() *cli.Command {
	return &cli.Command{
		Name:    "list",
		Aliases: []string{"ls"},
		Usage:   "list the certificates in a store",
		Description: `Shows each certificate's thumbprint, subject, issuer, expiry, days left and
whether the store holds its private key. An expired certificate shows its
negative days left, marked "(expired)"; in JSON, "expired" is true.

On a terminal, long subjects and issuers are cut with "…" to fit its width;
--wide shows them whole. Output to a pipe or file is never cut.

Filters, as PowerShell's Cert: drive has them, keep the certificates that
match all of those given:
   --subject TEXT, --issuer TEXT   TEXT anywhere in the name, in any case; with
                                   * or ?, a wildcard pattern for the whole name
   --dns-name NAME                 a DNS name of the certificate (subject
                                   alternative names): NAME may hold wildcards,
                                   and a certificate for *.contoso.com matches
                                   www.contoso.com
   --eku USAGE                     certificates that list the extended key usage:
                                   client-auth, server-auth, code-signing,
                                   email, time-stamping or a dotted OID (a
                                   certificate listing "any" matches every one)
   --has-key, --expired            with a private key; expired

With --fail-if-any, list exits 1 when it lists anything: for monitoring jobs,
with --expiring-within.

Examples:
   certctl list
   certctl ls --store Root --output json
   certctl list --dns-name www.contoso.com --has-key
   certctl list --eku client-auth --subject deploy
   certctl list --expiring-within 30d
   certctl list --expiring-within 30d --fail-if-any`,
		Flags: []cli.Flag{
			storeFlag(), storeDirFlag(), outputFlag(),
			&cli.BoolFlag{Name: "wide", Usage: "never cut long subjects and issuers to the terminal's width"},
			&cli.StringFlag{Name: "subject", Usage: "only certificates whose subject holds `TEXT` (any case; * and ? are wildcards)"},
			&cli.StringFlag{Name: "issuer", Usage: "only certificates whose issuer holds `TEXT` (any case; * and ? are wildcards)"},
			&cli.StringFlag{Name: "dns-name", Usage: "only certificates for the DNS `NAME` (* and ? are wildcards)"},
			&cli.StringFlag{Name: "eku", Usage: "only certificates with the extended key `USAGE`: client-auth, server-auth, code-signing, email, time-stamping or an OID"},
			&cli.BoolFlag{Name: "has-key", Usage: "only certificates whose private key is in the store"},
			&cli.BoolFlag{Name: "expired", Usage: "only expired certificates"},
			&cli.StringFlag{Name: "expiring-within", Usage: "only certificates that expire within `DURATION` (30d, 12h, 2w), expired ones included"},
			&cli.BoolFlag{Name: "fail-if-any", Usage: "exit 1 when any certificate is listed"},
		},
		Action: h.listAction,
	}
}

// appendListedJSON appends e as one element of 'list --output json',
// field by field, as json.Marshal would write it (output_test.go checks
// that against encoding/json). Scripts read these names: they never change.
//
//	thumbprint     upper-case hexadecimal
//	subject        as in the table
//	issuer
//	serialNumber   upper-case hexadecimal
//	notBefore      RFC 3339, UTC
//	notAfter
//	hasPrivateKey  true when the store holds the key
//	keyAlgorithm   "RSA 2048", "ECDSA P-256", ...
//	file           the store file; left out on Windows
//	expired        true from notAfter on
//	daysLeft       whole days left; negative once expired
func appendListedJSON(b []byte, e certstore.Entry, now time.Time) []byte {
	b = append(b, `{"thumbprint":"`...)
	b, _ = e.Thumbprint.AppendText(b)
	b = append(b, `","subject":`...)
	b = appendJSONString(b, e.Subject)
	b = append(b, `,"issuer":`...)
	b = appendJSONString(b, e.Issuer)
	b = append(b, `,"serialNumber":`...)
	b = appendJSONString(b, e.SerialNumber)
	b = append(b, `,"notBefore":"`...)
	b = e.NotBefore.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","notAfter":"`...)
	b = e.NotAfter.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","hasPrivateKey":`...)
	b = strconv.AppendBool(b, e.HasPrivateKey)
	b = append(b, `,"keyAlgorithm":`...)
	b = appendJSONString(b, e.KeyAlgorithm)
	if e.File != "" {
		b = append(b, `,"file":`...)
		b = appendJSONString(b, e.File)
	}
	b = append(b, `,"expired":`...)
	b = strconv.AppendBool(b, !now.Before(e.NotAfter))
	b = append(b, `,"daysLeft":`...)
	b = strconv.AppendInt(b, int64(e.DaysLeft(now)), 10)
	return append(b, '}')
}

func (h *handlers) listAction(c *cli.Context) error {
	format, err := startCommand(c, 0, 0, "")
	if err != nil {
		return err
	}
	now := h.env.now()
	keep, err := listFilter(c, now)
	if err != nil {
		return err
	}
	s, err := openStore(c)
	if err != nil {
		return err
	}
	defer s.Close()
	entries, err := s.List()
	if err != nil {
		if !errors.Is(err, certstore.ErrUnreadable) {
			return err
		}
		var ue *certstore.UnreadableError
		if errors.As(err, &ue) {
			for _, p := range ue.Problems {
				h.env.warnf("skipped %v", p)
			}
		}
	}
	if keep != nil {
		kept := entries[:0]
		for _, e := range entries {
			if keep(e) {
				kept = append(kept, e)
			}
		}
		entries = kept
	}

	if err := h.printList(format, s, entries, now, c.Bool("wide"), keep != nil); err != nil {
		return err
	}
	if c.Bool("fail-if-any") && len(entries) > 0 {
		one, many := "is in store "+s.Name(), "are in store "+s.Name()
		if keep != nil {
			one, many = "matches in store "+s.Name(), "match in store "+s.Name()
		}
		if c.String("expiring-within") != "" {
			one, many = "expires within "+c.String("expiring-within"), "expire within "+c.String("expiring-within")
		}
		if len(entries) == 1 {
			return fmt.Errorf("%w: 1 certificate %s", errMatched, one)
		}
		return fmt.Errorf("%w: %d certificates %s", errMatched, len(entries), many)
	}
	return nil
}

// errMatched is list --fail-if-any's failure: something was listed.
var errMatched = errors.New("--fail-if-any")

func (h *handlers) printList(format string, s certstore.Store, entries []certstore.Entry, now time.Time, wide, filtered bool) error {
	if format == "json" {
		return writeJSONLines(h.env.stdout, len(entries), func(b []byte, i int) ([]byte, error) {
			return appendListedJSON(b, entries[i], now), nil
		})
	}
	if len(entries) == 0 {
		if filtered {
			h.env.infof("no certificate in store %s (%s) matches", s.Name(), s.Location())
			return nil
		}
		h.env.infof("store %s (%s) has no certificates", s.Name(), s.Location())
		return nil
	}
	t := newTable(h.env.stdout, "THUMBPRINT", "SUBJECT", "ISSUER", "NOT AFTER", "DAYS LEFT", "KEY")
	if !wide {
		t.fit(h.env.stdoutWidth, 1, 2)
	}
	return t.printRows(len(entries), func(i int, cells []string, measuring bool) []string {
		e := &entries[i]
		key := "no"
		if e.HasPrivateKey {
			key = "yes"
		}
		left := e.DaysLeft(now)
		expired := ""
		if !now.Before(e.NotAfter) {
			expired = " (expired)"
		}
		if measuring {
			// Only the width counts: the thumbprint and date have theirs.
			var digits [24]byte
			days := len(strconv.AppendInt(digits[:0], int64(left), 10)) + len(expired)
			return append(cells, spaces(2*thumbprint.Size), e.Subject, e.Issuer, spaces(len("2006-01-02")), spaces(days), key)
		}
		return append(cells, e.Thumbprint.String(), e.Subject, e.Issuer, e.NotAfter.Format("2006-01-02"), strconv.Itoa(left)+expired, key)
	})
}

// parseDays reads a duration that may count days (d) or weeks (w) as well as
// Go's units.
func parseDays(s string) (time.Duration, error) {
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.ParseFloat(n, 64)
			if err != nil || v < 0 {
				return 0, errors.New("use a number of days such as 30d, weeks such as 2w, or hours such as 12h")
			}
			return time.Duration(v * float64(unit)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errors.New("use a number of days such as 30d, weeks such as 2w, or hours such as 12h")
	}
	return d, nil
}

// anyEKU is anyExtendedKeyUsage: a certificate listing it may be used for
// every purpose.
var anyEKU = certstore.ExtKeyUsageOID(x509.ExtKeyUsageAny)

// listFilter builds the filter list's flags ask for: nil when there is
// none.
func listFilter(c *cli.Context, now time.Time) (func(certstore.Entry) bool, error) {
	var tests []func(certstore.Entry) bool
	if v := c.String("expiring-within"); v != "" {
		within, err := parseDays(v)
		if err != nil {
			return nil, &usageError{msg: fmt.Sprintf("--expiring-within %q: %v", v, err)}
		}
		limit := now.Add(within)
		tests = append(tests, func(e certstore.Entry) bool { return e.NotAfter.Before(limit) })
	}
	if c.Bool("expired") {
		tests = append(tests, func(e certstore.Entry) bool { return !now.Before(e.NotAfter) })
	}
	if c.Bool("has-key") {
		tests = append(tests, func(e certstore.Entry) bool { return e.HasPrivateKey })
	}
	if c.IsSet("subject") {
		m := nameMatcher(c.String("subject"))
		tests = append(tests, func(e certstore.Entry) bool { return m(e.Subject) })
	}
	if c.IsSet("issuer") {
		m := nameMatcher(c.String("issuer"))
		tests = append(tests, func(e certstore.Entry) bool { return m(e.Issuer) })
	}
	if c.IsSet("dns-name") {
		name := strings.TrimSuffix(strings.ToLower(c.String("dns-name")), ".")
		if name == "" {
			return nil, &usageError{msg: "--dns-name: give a DNS name such as www.contoso.com, or a pattern such as *.contoso.com"}
		}
		tests = append(tests, func(e certstore.Entry) bool {
			for _, n := range e.DNSNames {
				if dnsNameMatches(name, strings.ToLower(n)) {
					return true
				}
			}
			return false
		})
	}
	if c.IsSet("eku") {
		oid, err := parseEKU(c.String("eku"))
		if err != nil {
			return nil, err
		}
		tests = append(tests, func(e certstore.Entry) bool {
			for _, u := range e.ExtKeyUsages {
				if u == oid || u == anyEKU {
					return true
				}
			}
			return false
		})
	}
	if len(tests) == 0 {
		return nil, nil
	}
	return func(e certstore.Entry) bool {
		for _, t := range tests {
			if !t(e) {
				return false
			}
		}
		return true
	}, nil
}

// parseEKU reads --eku: a name from ekuNames or a dotted OID.
func parseEKU(v string) (string, error) {
	if u, ok := ekuNames[strings.ToLower(v)]; ok {
		return certstore.ExtKeyUsageOID(u), nil
	}
	if !oidPattern().MatchString(v) {
		return "", &usageError{msg: fmt.Sprintf("--eku %.80q: use %s, or an OID such as 1.3.6.1.5.5.7.3.2", v, strings.Join(ekuNameList(), ", "))}
	}
	return v, nil
}

// oidPattern is a dotted OID: an arc of 0, 1 or 2, then decimal arcs.
var oidPattern = lazyre.New(`^[0-2](\.(0|[1-9][0-9]{0,9}))+$`)

// nameMatcher matches a subject or issuer: a pattern with * or ? must match
// the whole name, other text may appear anywhere in it; case does not
// count.
func nameMatcher(text string) func(string) bool {
	text = strings.ToLower(text)
	if strings.ContainsAny(text, "*?") {
		return func(s string) bool { return wildcardMatch(text, strings.ToLower(s)) }
	}
	return func(s string) bool { return strings.Contains(strings.ToLower(s), text) }
}

// dnsNameMatches reports whether the certificate's DNS name san (lower
// case) answers for name, the lower-case name or pattern asked for. A
// pattern's * and ? match any characters, as PowerShell's -DnsName does;
// a certificate's own wildcard, *.contoso.com, answers for one label in
// its place, as TLS clients read it (RFC 6125).
func dnsNameMatches(name, san string) bool {
	san = strings.TrimSuffix(san, ".")
	if strings.ContainsAny(name, "*?") {
		return wildcardMatch(name, san)
	}
	if name == san {
		return true
	}
	if rest, ok := strings.CutPrefix(san, "*."); ok {
		label, domain, found := strings.Cut(name, ".")
		return found && label != "" && domain == rest
	}
	return false
}

// wildcardMatch matches s against pattern, where * stands for any run of
// characters and ? for one character.
func wildcardMatch(pattern, s string) bool {
	p, str := []rune(pattern), []rune(s)
	// The classic greedy match with one backtrack point.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(str) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == str[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
