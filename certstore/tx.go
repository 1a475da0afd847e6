package certstore

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/certctl/certctl/pfx"
	"github.com/certctl/certctl/thumbprint"
)

// ErrTxDone is returned by a Tx's methods once it is committed or rolled
// back.
var ErrTxDone = errors.New("transaction already committed or rolled back")

// Tx groups changes to a store that stand or fall together: imports and
// removals made through it are kept by Commit or taken back by Rollback.
// Begin starts one.
//
// Rollback removes each certificate that an import added and puts back,
// without a key and with its chain, each certificate without a key that an
// import with the key replaced. Certificates that were already in the store
// (Imported.Added false) are left as they are. It puts back each certificate
// that Remove removed, with its chain and key as Export gave them before the
// removal; a key the store would not export (ErrNotExportable, on Windows)
// cannot be put back, and Rollback then puts back the certificate without
// it and reports that in its *RollbackError. Rollback uses the store's own
// Remove and Import, so it does not undo changes that other processes make
// in the meantime, and on Windows the chain certificates an import added to
// CurrentUser\CA stay there, as they do after Remove.
//
// A Tx is safe for concurrent use: Import may be called from several
// goroutines at once. Imports of the same certificate are run one after the
// other, so that Rollback knows which came first.
type Tx struct {
	s Store

	// state is held for reading by each Import and for writing by Commit
	// and Rollback, so that those wait for the imports under way.
	state      sync.RWMutex
	committed  bool
	rolledBack bool

	// stripes serialize the imports of one thumbprint.
	stripes [64]sync.Mutex

	mu      sync.Mutex // guards changes and byTP
	changes []*txChange
	byTP    map[thumbprint.Thumbprint]*txChange
}

// txChange is what Rollback has to take back for one thumbprint.
type txChange struct {
	tp thumbprint.Thumbprint
	// replaced is the certificate without a key, with its chain, that was
	// in the store before an import with its key replaced it; nil when the
	// certificate was not in the store before the transaction.
	replaced *pfx.Bundle
	// removed is set for a removal: the certificate, its chain and its key
	// as they were exported before Remove, to import again.
	removed *pfx.Bundle
	// keyLost says why removed lacks the key the certificate had.
	keyLost error
}

// replacingImporter is a backend that reports, from within Import, the
// certificate without a key that an import with the key replaced. Other
// stores are asked with Find before each import with a key.
type replacingImporter interface {
	importReplacing(b *pfx.Bundle, opts ImportOptions) (res Imported, replaced *pfx.Bundle, err error)
}

// Begin starts a transaction on s. s must stay open until the transaction
// is committed or rolled back.
func Begin(s Store) *Tx {
	return &Tx{s: s, byTP: map[thumbprint.Thumbprint]*txChange{}}
}

// Import is Store.Import, recorded so that Rollback can take it back.
func (tx *Tx) Import(b *pfx.Bundle, opts ImportOptions) (Imported, error) {
	tx.state.RLock()
	defer tx.state.RUnlock()
	if tx.committed || tx.rolledBack {
		return Imported{}, ErrTxDone
	}
	if b == nil || b.Leaf == nil {
		return tx.s.Import(b, opts) // refused, and so nothing to record
	}
	tp := thumbprint.Of(b.Leaf)
	stripe := &tx.stripes[int(tp[0])%len(tx.stripes)]
	stripe.Lock()
	defer stripe.Unlock()

	var (
		res      Imported
		replaced *pfx.Bundle
		err      error
	)
	if ri, ok := tx.s.(replacingImporter); ok {
		res, replaced, err = ri.importReplacing(b, opts)
	} else {
		if b.Key != nil {
			if replaced, err = tx.keyless(tp); err != nil {
				return Imported{}, err
			}
		}
		res, err = tx.s.Import(b, opts)
	}
	if err != nil {
		return Imported{}, err
	}
	if !res.Added {
		return res, nil
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if _, ok := tx.byTP[tp]; !ok {
		// The first change to tp in this transaction says what was there
		// before it; a later one (a key for a certificate this
		// transaction added without one) changes nothing to that.
		c := &txChange{tp: tp, replaced: replaced}
		tx.byTP[tp] = c
		tx.changes = append(tx.changes, c)
	}
	return res, nil
}

// snapshotter is a backend that copies a certificate, its chain and its key
// for Tx.Remove without the checks Export makes of a key about to leave the
// store (the file store's refusal of a key file others can read, which does
// not stop Remove). Other stores are asked with Export.
type snapshotter interface {
	snapshot(tp thumbprint.Thumbprint) (*pfx.Bundle, error)
}

// Remove is Store.Remove, recorded so that Rollback can put the certificate
// back: before removing it, Remove exports it with its chain and its key.
// A certificate whose key the store will not export is still removed; its
// key is then lost if Rollback has to put it back (see Tx). Remove fails
// with an error matching ErrNotFound, and records nothing, when the store
// does not hold tp.
func (tx *Tx) Remove(tp thumbprint.Thumbprint) error {
	tx.state.RLock()
	defer tx.state.RUnlock()
	if tx.committed || tx.rolledBack {
		return ErrTxDone
	}
	stripe := &tx.stripes[int(tp[0])%len(tx.stripes)]
	stripe.Lock()
	defer stripe.Unlock()

	c := &txChange{tp: tp}
	var b *pfx.Bundle
	var err error
	if sn, ok := tx.s.(snapshotter); ok {
		b, err = sn.snapshot(tp)
	} else {
		b, err = tx.s.Export(tp, true)
	}
	if errors.Is(err, ErrNoPrivateKey) || errors.Is(err, ErrNotExportable) {
		if errors.Is(err, ErrNotExportable) {
			c.keyLost = err
		}
		b, err = tx.s.Export(tp, false)
	}
	if errors.Is(err, ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("remove %s from store %s: keep a copy to put back: %w", tp, tx.s.Name(), err)
	}
	c.removed = b
	if err := tx.s.Remove(tp); err != nil {
		return err
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	tx.changes = append(tx.changes, c)
	return nil
}

// keyless returns the certificate tp, with its chain, when the store holds
// it without a key, and nil when it is absent or has its key.
func (tx *Tx) keyless(tp thumbprint.Thumbprint) (*pfx.Bundle, error) {
	id, err := tx.s.Find(tp)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("import %s into store %s: %w", tp, tx.s.Name(), err)
	}
	if id.HasPrivateKey() {
		return nil, nil
	}
	return &pfx.Bundle{Leaf: id.Certificate(), Chain: id.Chain()}, nil
}

// Commit keeps the changes. It fails with ErrTxDone when the transaction is
// already committed or rolled back.
func (tx *Tx) Commit() error {
	tx.state.Lock()
	defer tx.state.Unlock()
	if tx.committed || tx.rolledBack {
		return ErrTxDone
	}
	tx.committed = true
	tx.changes, tx.byTP = nil, nil
	return nil
}

// Rollback takes back the changes made through the transaction, waiting for
// imports under way, and ends it. What it could not take back is reported in
// a *RollbackError, one error per certificate, and stays to be tried again by
// the next Rollback. It fails with ErrTxDone after Commit, or when an earlier
// Rollback left nothing to take back.
func (tx *Tx) Rollback() error {
	tx.state.Lock()
	defer tx.state.Unlock()
	if tx.committed || tx.rolledBack && len(tx.changes) == 0 {
		return ErrTxDone
	}
	tx.rolledBack = true
	var left []*txChange
	var problems []error
	// Newest first, as undo goes.
	for i := len(tx.changes) - 1; i >= 0; i-- {
		c := tx.changes[i]
		keep, err := tx.undo(c)
		if keep {
			left = append([]*txChange{c}, left...)
		}
		if err != nil {
			problems = append(problems, err)
		}
	}
	tx.changes, tx.byTP = left, nil
	if len(problems) > 0 {
		return &RollbackError{Store: tx.s.Name(), Problems: problems}
	}
	return nil
}

// undo removes the certificate c.tp and puts back what it replaced, or puts
// back what a removal removed. keep says whether the next Rollback should
// try c again: not when all that is left is a key no one can put back.
func (tx *Tx) undo(c *txChange) (keep bool, err error) {
	if c.removed != nil {
		// Exportable: the key was exported, so it may be again.
		if _, err := tx.s.Import(c.removed, ImportOptions{Exportable: true}); err != nil {
			return true, fmt.Errorf("put back %s: %w", c.tp, err)
		}
		if c.keyLost != nil {
			return false, fmt.Errorf("put back %s without its private key, which the store would not export before removing it: %w", c.tp, c.keyLost)
		}
		return false, nil
	}
	if err := tx.s.Remove(c.tp); err != nil && !errors.Is(err, ErrNotFound) {
		return true, fmt.Errorf("take back %s: %w", c.tp, err)
	}
	if c.replaced == nil {
		return false, nil
	}
	if _, err := tx.s.Import(c.replaced, ImportOptions{}); err != nil {
		return true, fmt.Errorf("put back %s without its key: %w", c.tp, err)
	}
	return false, nil
}

// RollbackError lists what Rollback could not take back.
type RollbackError struct {
	Store    string
	Problems []error // one per certificate, each naming its thumbprint
}

func (e *RollbackError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	what := fmt.Sprintf("%d certificates", len(e.Problems))
	if len(e.Problems) == 1 {
		what = "1 certificate"
	}
	return fmt.Sprintf("roll back changes to store %s: %s not restored: %s", e.Store, what, strings.Join(msgs, "; "))
}

// Unwrap returns the problems.
func (e *RollbackError) Unwrap() []error { return e.Problems }

// ImportAll imports bundles into s in one transaction, on up to workers
// goroutines at once (every core when workers is 0 or less). It returns what
// each import did, in the order of bundles, and calls progress (when not
// nil, from any of the goroutines) after each import.
//
// When an import fails, ImportAll hands out no more work, waits for the
// imports under way, rolls back and returns the error of the first bundle
// that failed, so that the error does not depend on scheduling; the store is
// then as it was, or the error also holds a *RollbackError saying what is
// not.
func ImportAll(s Store, bundles []*pfx.Bundle, opts ImportOptions, workers int, progress func()) ([]Imported, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	tx := Begin(s)
	done := make([]Imported, len(bundles))
	errs := make([]error, len(bundles))
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < min(workers, len(bundles)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// An index once taken is always imported: every bundle
			// before a failed one is then tried, so the lowest index
			// that failed is the same in every run.
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= len(bundles) {
					return
				}
				if done[i], errs[i] = tx.Import(bundles[i], opts); errs[i] != nil {
					failed.Store(true)
					return
				}
				if progress != nil {
					progress()
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err == nil {
			continue
		}
		if rerr := tx.Rollback(); rerr != nil {
			return nil, fmt.Errorf("%w; %w", err, rerr)
		}
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return done, nil
}
