package keyvault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/platform"
	"github.com/certctl/certctl/thumbprint"
)

// Origin says where a certificate in a store came from: which version of
// which certificate of which vault. It holds no secret.
type Origin struct {
	Thumbprint thumbprint.Thumbprint `json:"thumbprint"`
	Vault      string                `json:"vault"`
	Name       string                `json:"name"`
	Version    string                `json:"version"`
	// Created is when the vault made the version; it orders versions.
	Created  time.Time `json:"created"`
	Imported time.Time `json:"imported"`
}

// Record is the provenance of a store's certificates that Sync imported,
// kept in a file of certctl's own beside the store, never in the
// certificates' files (which .NET reads). Opening it takes a lock that
// keeps other certctl processes out of the store's syncs until Close.
type Record struct {
	dir, file string
	lock      *platform.Lock
	origins   []Origin
}

// recordFile is the shape of the file.
type recordFile struct {
	Origins []Origin `json:"origins"`
}

// maxRecordSize bounds the file: a few hundred bytes per certificate.
const maxRecordSize = 4 << 20

// OpenRecord locks and reads dir/file (an empty record when it does not
// exist), making dir (mode 0700) if needed.
func OpenRecord(dir, file string) (*Record, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open the Key Vault record in %s: %w", dir, err)
	}
	lock, err := platform.LockFile(filepath.Join(dir, file+".lock"))
	if err != nil {
		return nil, err
	}
	r := &Record{dir: dir, file: file, lock: lock}
	path := filepath.Join(dir, file)
	data, _, err := platform.ReadSmallFile(path, maxRecordSize)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return r, nil
	case err != nil:
		lock.Unlock()
		return nil, fmt.Errorf("read the Key Vault record %s: %w", path, err)
	}
	var f recordFile
	if err := json.Unmarshal(data, &f); err != nil {
		lock.Unlock()
		return nil, fmt.Errorf("read the Key Vault record %s: %w; it is certctl's own file and holds no secret, so it may be deleted: sync then imports nothing twice but removes only versions it imports from then on", path, err)
	}
	r.origins = f.Origins
	return r, nil
}

// Path is the record's file.
func (r *Record) Path() string { return filepath.Join(r.dir, r.file) }

// Origins lists what the record holds.
func (r *Record) Origins() []Origin { return append([]Origin(nil), r.origins...) }

// Close releases the lock.
func (r *Record) Close() error { return r.lock.Unlock() }

// save replaces the file at once: a crash leaves the old record or the
// new one.
func (r *Record) save() error {
	data, err := json.MarshalIndent(recordFile{Origins: r.origins}, "", "  ")
	if err != nil {
		return err
	}
	if err := platform.WriteFileAtomic(r.dir, r.file, append(data, '\n')); err != nil {
		return fmt.Errorf("write the Key Vault record %s: %w", r.Path(), err)
	}
	return nil
}

// put records o, replacing what the record said of its thumbprint.
func (r *Record) put(o Origin) error {
	r.drop(o.Thumbprint)
	r.origins = append(r.origins, o)
	return r.save()
}

// drop forgets tp; the caller saves.
func (r *Record) drop(tp thumbprint.Thumbprint) bool {
	kept := r.origins[:0]
	for _, o := range r.origins {
		if o.Thumbprint != tp {
			kept = append(kept, o)
		}
	}
	dropped := len(kept) != len(r.origins)
	r.origins = kept
	return dropped
}

func (r *Record) find(tp thumbprint.Thumbprint) (Origin, bool) {
	for _, o := range r.origins {
		if o.Thumbprint == tp {
			return o, true
		}
	}
	return Origin{}, false
}

// SyncOptions say what Sync keeps current.
type SyncOptions struct {
	// Names are the vault's certificates.
	Names []string
	// KeepPrevious is how many earlier versions of each certificate,
	// imported by Sync, stay in the store beside the current one.
	KeepPrevious int
	// Import is how keys are stored.
	Import certstore.ImportOptions
	// Now is the clock of the record; nil uses time.Now.
	Now func() time.Time
}

// Result is what Sync did for one certificate.
type Result struct {
	Name string
	// Version and Thumbprint are the vault's current version; empty when
	// its metadata could not be read.
	Version    string
	Thumbprint thumbprint.Thumbprint
	// Imported is true when this run added the version to the store.
	Imported bool
	// Removed are earlier versions this run deleted from the store.
	Removed []thumbprint.Thumbprint
	Err     error
}

// Sync makes the store hold the current version of each named certificate
// with its key, and the KeepPrevious versions before it that Sync
// imported, and deletes older ones it imported. For each name it reads the
// metadata, and the secret only when the store lacks that thumbprint.
// Every step is recorded as soon as it is done, so a run that stops at any
// point is finished by the next. A failure of one name does not stop the
// others; each Result says how its name went.
func (c *Client) Sync(ctx context.Context, s certstore.Store, rec *Record, o SyncOptions) []Result {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	results := make([]Result, len(o.Names))
	have, listErr := storeThumbprints(s)
	for i, name := range o.Names {
		results[i].Name = name
		if listErr != nil {
			results[i].Err = listErr
			continue
		}
		results[i] = c.syncOne(ctx, s, rec, name, have, o, now)
	}
	return results
}

// storeThumbprints is what the store holds: true for a certificate with
// its key.
func storeThumbprints(s certstore.Store) (map[thumbprint.Thumbprint]bool, error) {
	list, err := s.List()
	if err != nil && !errors.Is(err, certstore.ErrUnreadable) {
		return nil, err
	}
	have := make(map[thumbprint.Thumbprint]bool, len(list))
	for _, e := range list {
		have[e.Thumbprint] = e.HasPrivateKey
	}
	return have, nil
}

func (c *Client) syncOne(ctx context.Context, s certstore.Store, rec *Record, name string, have map[thumbprint.Thumbprint]bool, o SyncOptions, now func() time.Time) Result {
	res := Result{Name: name}
	meta, err := c.Certificate(ctx, name, "")
	if err != nil {
		res.Err = err
		return res
	}
	res.Version, res.Thumbprint = meta.Version, meta.Thumbprint
	origin := Origin{Thumbprint: meta.Thumbprint, Vault: c.vault, Name: name, Version: meta.Version, Created: meta.Created.UTC(), Imported: now().UTC()}
	if have[meta.Thumbprint] {
		// Already there: recorded by an earlier run, or imported by a
		// run that stopped before it could record it.
		if old, ok := rec.find(meta.Thumbprint); !ok || old.Vault != c.vault || old.Name != name || old.Version != meta.Version {
			if ok {
				origin.Imported = old.Imported
			}
			if err := rec.put(origin); err != nil {
				res.Err = err
				return res
			}
		}
	} else {
		f, err := c.FetchCertificate(ctx, meta)
		if err != nil {
			res.Err = err
			return res
		}
		if _, err := s.Import(f.Bundle, o.Import); err != nil {
			res.Err = fmt.Errorf("import %s version %s into store %s: %w", name, meta.Version, s.Name(), err)
			return res
		}
		have[meta.Thumbprint] = true
		res.Imported = true
		if err := rec.put(origin); err != nil {
			res.Err = err
			return res
		}
	}
	res.Removed, res.Err = prune(s, rec, c.vault, name, meta.Thumbprint, have, o.KeepPrevious)
	return res
}

// prune deletes from the store the versions of vault's certificate name
// that Sync imported, beyond current and the keep newest before it, and
// forgets versions no longer in the store.
func prune(s certstore.Store, rec *Record, vault, name string, current thumbprint.Thumbprint, have map[thumbprint.Thumbprint]bool, keep int) ([]thumbprint.Thumbprint, error) {
	var previous []Origin
	forgot := false
	for _, o := range rec.Origins() {
		if o.Vault != vault || !strings.EqualFold(o.Name, name) || o.Thumbprint == current {
			continue
		}
		if _, ok := have[o.Thumbprint]; !ok {
			forgot = rec.drop(o.Thumbprint) || forgot
			continue
		}
		previous = append(previous, o)
	}
	if forgot {
		if err := rec.save(); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(previous, func(i, j int) bool {
		if !previous[i].Created.Equal(previous[j].Created) {
			return previous[i].Created.After(previous[j].Created)
		}
		return previous[i].Imported.After(previous[j].Imported)
	})
	var removed []thumbprint.Thumbprint
	for i := keep; i < len(previous); i++ {
		tp := previous[i].Thumbprint
		// Removed from the store first: a crash here leaves a record of a
		// certificate that is gone, which the next run forgets.
		if err := s.Remove(tp); err != nil && !errors.Is(err, certstore.ErrNotFound) {
			return removed, fmt.Errorf("remove %s (version %s of %s) from store %s: %w", tp, previous[i].Version, name, s.Name(), err)
		}
		delete(have, tp)
		removed = append(removed, tp)
		rec.drop(tp)
		if err := rec.save(); err != nil {
			return removed, err
		}
	}
	return removed, nil
}
