package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/thumbprint"
)

func (h *handlers) listCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the certificates in a store",
		Description: `Shows each certificate's thumbprint, subject, issuer, expiry, days left and
whether the store holds its private key. An expired certificate shows its
negative days left, marked "(expired)"; in JSON, "expired" is true.

With --fail-if-any, list exits 1 when it lists anything: for monitoring jobs,
with --expiring-within.

Examples:
   certctl list
   certctl list --store Root --output json
   certctl list --expiring-within 30d
   certctl list --expiring-within 30d --fail-if-any`,
		Flags: []cli.Flag{
			storeFlag(), storeDirFlag(), outputFlag(),
			&cli.StringFlag{Name: "expiring-within", Usage: "only certificates that expire within `DURATION` (30d, 12h, 2w), expired ones included"},
			&cli.BoolFlag{Name: "fail-if-any", Usage: "exit 1 when any certificate is listed"},
		},
		Action: h.listAction,
	}
}

// listedJSON is one certificate in 'list --output json'. Scripts read
// these names: they never change.
type listedJSON struct {
	Thumbprint    thumbprint.Thumbprint `json:"thumbprint"`
	Subject       string                `json:"subject"`
	Issuer        string                `json:"issuer"`
	SerialNumber  string                `json:"serialNumber"`
	NotBefore     time.Time             `json:"notBefore"`
	NotAfter      time.Time             `json:"notAfter"`
	HasPrivateKey bool                  `json:"hasPrivateKey"`
	KeyAlgorithm  string                `json:"keyAlgorithm"`
	File          string                `json:"file,omitempty"`
	Expired       bool                  `json:"expired"`
	DaysLeft      int                   `json:"daysLeft"`
}

func newListedJSON(e certstore.Entry, now time.Time) listedJSON {
	return listedJSON{
		Thumbprint: e.Thumbprint, Subject: e.Subject, Issuer: e.Issuer,
		SerialNumber: e.SerialNumber, NotBefore: e.NotBefore, NotAfter: e.NotAfter,
		HasPrivateKey: e.HasPrivateKey, KeyAlgorithm: e.KeyAlgorithm, File: e.File,
		Expired: !now.Before(e.NotAfter), DaysLeft: e.DaysLeft(now),
	}
}

func (h *handlers) listAction(c *cli.Context) error {
	format, err := startCommand(c, 0, 0, "")
	if err != nil {
		return err
	}
	var within time.Duration
	if v := c.String("expiring-within"); v != "" {
		if within, err = parseDays(v); err != nil {
			return &usageError{msg: fmt.Sprintf("--expiring-within %q: %v", v, err)}
		}
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
	now := h.env.now()
	if within > 0 {
		kept := entries[:0]
		for _, e := range entries {
			if e.NotAfter.Before(now.Add(within)) {
				kept = append(kept, e)
			}
		}
		entries = kept
	}

	if err := h.printList(format, s, entries, now); err != nil {
		return err
	}
	if c.Bool("fail-if-any") && len(entries) > 0 {
		one, many := "is in store "+s.Name(), "are in store "+s.Name()
		if within > 0 {
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

func (h *handlers) printList(format string, s certstore.Store, entries []certstore.Entry, now time.Time) error {
	if format == "json" {
		out := make([]listedJSON, len(entries))
		for i, e := range entries {
			out[i] = newListedJSON(e, now)
		}
		return writeJSONList(h.env.stdout, out)
	}
	if len(entries) == 0 {
		h.env.infof("store %s (%s) has no certificates", s.Name(), s.Location())
		return nil
	}
	t := newTable(h.env.stdout, "THUMBPRINT", "SUBJECT", "ISSUER", "NOT AFTER", "DAYS LEFT", "KEY")
	for _, e := range entries {
		key := "no"
		if e.HasPrivateKey {
			key = "yes"
		}
		days := strconv.Itoa(e.DaysLeft(now))
		if !now.Before(e.NotAfter) {
			days += " (expired)"
		}
		t.row(e.Thumbprint.String(), e.Subject, e.Issuer, e.NotAfter.Format("2006-01-02"), days, key)
	}
	return t.flush()
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
