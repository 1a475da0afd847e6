package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/keyvault"
	"github.com/certctl/certctl/login"
	"github.com/certctl/certctl/thumbprint"
)

// keyVaultFlags are the flags of the commands that read a vault with a
// saved sign-in.
func keyVaultFlags() []cli.Flag {
	return []cli.Flag{
		contextFlag("read the vault as the saved sign-in `NAME` (default: the current one)"),
		&cli.BoolFlag{Name: "client-secret-stdin", Usage: "read the saved sign-in's client secret from standard input"},
		timeoutFlag("give up after `DURATION`, retries for throttling included"),
	}
}

// vaultSession is a vault as a saved sign-in reaches it.
type vaultSession struct {
	client *keyvault.Client
	saved  *login.Context
}

// vault signs in as the saved context --context names and makes a client
// for vault, which must be in that context's cloud.
func (h *handlers) vault(c *cli.Context, vault string) (*vaultSession, error) {
	_, saved, envr, opts, err := h.contextOptions(c, c.String("context"))
	if err != nil {
		return nil, err
	}
	// The credential keeps each token while it is valid: the SDK asks
	// again for every request.
	cred, err := login.NewCredential(opts)
	if err != nil {
		return nil, err
	}
	client, err := keyvault.New(vault, keyvault.Options{Environment: envr, Credential: cred})
	if err != nil {
		if errors.Is(err, keyvault.ErrWrongCloud) {
			return nil, badInput(fmt.Errorf("%w (the saved sign-in %s signs in to %s)", err, saved.Name, saved.Environment))
		}
		return nil, err
	}
	return &vaultSession{client: client, saved: saved}, nil
}

// importFromKeyVault is 'import --from-keyvault URL'.
func (h *handlers) importFromKeyVault(c *cli.Context, format string) error {
	if c.NArg() > 0 {
		return &usageError{msg: "--from-keyvault reads one certificate from a vault: give no FILE with it"}
	}
	for _, f := range []string{"key", "password-file", "password-stdin"} {
		if c.IsSet(f) {
			return &usageError{msg: fmt.Sprintf("--%s does not go with --from-keyvault: Key Vault keeps the key with the certificate, without a password", f)}
		}
	}
	ref, err := keyvault.ParseRef(c.String("from-keyvault"))
	if err != nil {
		return usage(fmt.Errorf("--from-keyvault: %w", err))
	}
	vs, err := h.vault(c, ref.Vault)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Duration("timeout"))
	defer cancel()
	f, err := vs.client.Fetch(ctx, ref)
	if err != nil {
		return err
	}
	s, err := openStore(c)
	if err != nil {
		return err
	}
	defer s.Close()
	done, err := s.Import(f.Bundle, certstore.ImportOptions{Exportable: c.Bool("exportable")})
	if err != nil {
		return err
	}
	if format == "json" {
		return writeJSON(h.env.stdout, []importedJSON{{File: ref.String(), Thumbprint: done.Entry.Thumbprint, Subject: done.Entry.Subject, Added: done.Added, Store: s.Name()}})
	}
	t := newTable(h.env.stdout)
	t.row(done.Entry.Thumbprint.String(), done.Entry.Subject)
	if !done.Added {
		h.env.infof("%s was already in store %s", done.Entry.Thumbprint, s.Name())
	}
	return t.flush()
}

func (h *handlers) syncCommand() *cli.Command {
	return &cli.Command{
		Name:  "sync",
		Usage: "keep the store current with certificates in Azure Key Vault, for a machine or a fleet",
		Description: `For each --certificate NAME, sync reads the certificate's metadata from the
vault and, only when the store does not hold its current version yet, the
secret with its key, and imports it (non-exportable on Windows unless
--exportable). It keeps the current version and the --keep-previous versions
before it that sync imported, and removes older ones it imported; nothing
else in the store is touched. Where each came from (vault, name, version) is
kept in certctl's own file beside the store, never in the certificates'
files.

It signs in as the saved sign-in (--context, or the current one): on an
Azure VM, 'certctl login --identity' once. Key Vault's throttling (429, 503)
is retried as long as Retry-After asks, within --timeout. A run that stops
part way is finished by the next; run it from a timer (see the README).
It exits 0 when every certificate is current, and otherwise with the code of
the first failure; the others are still done. --jitter waits a random time
first, so that a fleet's timers do not reach the vault together.

Examples:
   certctl sync --from-keyvault https://contoso.vault.azure.net --certificate web-tls
   certctl sync --from-keyvault https://contoso.vault.azure.net --certificate web-tls --certificate api-client --keep-previous 0 --jitter 10m
   certctl sync --from-keyvault https://contoso.vault.azure.net --certificate web-tls --output json`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "from-keyvault", Usage: "the vault's `URL`, https://VAULT.vault.azure.net"},
			&cli.StringSliceFlag{Name: "certificate", Usage: "`NAME` of a certificate in the vault (repeat for more)"},
			&cli.IntFlag{Name: "keep-previous", Usage: "keep `N` earlier versions beside the current one", Value: 1},
			&cli.DurationFlag{Name: "jitter", Usage: "first wait a random time up to `DURATION`, such as 10m"},
			&cli.BoolFlag{Name: "exportable", Usage: "let the keys be exported again (Windows store; file-store keys always are)"},
			storeFlag(), createFlag(), storeDirFlag(), outputFlag(),
		}, keyVaultFlags()...),
		Action: h.syncAction,
	}
}

type syncJSON struct {
	Name       string                  `json:"name"`
	Status     string                  `json:"status"`
	Version    string                  `json:"version,omitempty"`
	Thumbprint *thumbprint.Thumbprint  `json:"thumbprint,omitempty"`
	Removed    []thumbprint.Thumbprint `json:"removed"`
	Error      string                  `json:"error,omitempty"`
}

// maxJitter bounds --jitter: a timer fires at most daily.
const maxJitter = 24 * time.Hour

func (h *handlers) syncAction(c *cli.Context) error {
	format, err := startCommand(c, 0, 0, "")
	if err != nil {
		return err
	}
	if c.String("from-keyvault") == "" {
		return &usageError{msg: "sync: give the vault with --from-keyvault https://VAULT.vault.azure.net"}
	}
	vault, err := keyvault.ParseVault(c.String("from-keyvault"))
	if err != nil {
		return usage(fmt.Errorf("--from-keyvault: %w", err))
	}
	names := c.StringSlice("certificate")
	if len(names) == 0 {
		return &usageError{msg: "sync: name at least one certificate of the vault with --certificate NAME"}
	}
	seen := map[string]bool{}
	for _, n := range names {
		if err := keyvault.CheckName(n); err != nil {
			return usage(fmt.Errorf("--certificate: %w", err))
		}
		if seen[n] {
			return &usageError{msg: fmt.Sprintf("--certificate %s is given twice", n)}
		}
		seen[n] = true
	}
	keep := c.Int("keep-previous")
	if keep < 0 || keep > 100 {
		return &usageError{msg: fmt.Sprintf("--keep-previous %d: give 0 to 100 earlier versions to keep", keep)}
	}
	jitter := c.Duration("jitter")
	if jitter < 0 || jitter > maxJitter {
		return &usageError{msg: fmt.Sprintf("--jitter %s: give a duration from 0 to %s", jitter, maxJitter)}
	}
	vs, err := h.vault(c, vault)
	if err != nil {
		return err
	}
	s, err := openStore(c)
	if err != nil {
		return err
	}
	defer s.Close()
	dir, file, err := h.recordPath(s)
	if err != nil {
		return err
	}
	if jitter > 0 {
		time.Sleep(rand.N(jitter))
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Duration("timeout"))
	defer cancel()
	rec, err := keyvault.OpenRecord(dir, file)
	if err != nil {
		return err
	}
	defer rec.Close()
	results := vs.client.Sync(ctx, s, rec, keyvault.SyncOptions{
		Names:        names,
		KeepPrevious: keep,
		Import:       certstore.ImportOptions{Exportable: c.Bool("exportable")},
		Now:          h.env.now,
	})
	out := make([]syncJSON, len(results))
	t := newTable(h.env.stdout)
	failed := &syncError{total: len(results)}
	for i, r := range results {
		j := syncJSON{Name: r.Name, Version: r.Version, Removed: r.Removed, Status: "up-to-date"}
		if !r.Thumbprint.IsZero() {
			tp := r.Thumbprint
			j.Thumbprint = &tp
		}
		if j.Removed == nil {
			j.Removed = []thumbprint.Thumbprint{}
		}
		switch {
		case r.Err != nil:
			j.Status, j.Error = "failed", r.Err.Error()
			t.row(r.Name, "failed", "-")
			failed.add(r.Err)
		case r.Imported:
			j.Status = "imported"
			t.row(r.Name, "imported", r.Thumbprint.String())
		default:
			t.row(r.Name, "up to date", r.Thumbprint.String())
		}
		for _, tp := range r.Removed {
			t.row(r.Name, "removed", tp.String())
		}
		out[i] = j
	}
	if format == "json" {
		if err := writeJSON(h.env.stdout, out); err != nil {
			return err
		}
	} else if err := t.flush(); err != nil {
		return err
	}
	switch {
	case failed.count == 0:
		return nil
	case failed.total == 1:
		return failed.first
	}
	for _, r := range results {
		if r.Err != nil {
			h.env.warnf("%s: %s", r.Name, r.Err)
		}
	}
	return failed
}

// syncError is a sync in which several certificates failed; it exits as
// the first did.
type syncError struct {
	first        error
	count, total int
}

func (e *syncError) add(err error) {
	if e.first == nil {
		e.first = err
	}
	e.count++
}

func (e *syncError) Error() string {
	return fmt.Sprintf("sync: %d of %d certificates failed, as the warnings above say; the others are done", e.count, e.total)
}

func (e *syncError) Unwrap() error { return e.first }

// recordPath is where sync keeps the provenance of a store's certificates:
// beside a file store's certificates (a file .NET does not read), or in
// certctl's config folder for a Windows system store.
func (h *handlers) recordPath(s certstore.Store) (dir, file string, err error) {
	if runtime.GOOS == "windows" {
		dir, err := h.configDir()
		return dir, "keyvault-" + s.Name() + ".json", err
	}
	return s.Location(), ".certctl-keyvault.json", nil
}
