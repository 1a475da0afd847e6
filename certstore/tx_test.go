package certstore

import (
	"errors"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/certctl/certctl/pfx"
	"github.com/certctl/certctl/thumbprint"
)

// listOf lists s, which must be readable in full.
func listOf(t *testing.T, s Store) []Entry {
	t.Helper()
	list, err := s.List()
	require.NoError(t, err)
	return list
}

// filesOf reads the file of each entry that has one (the file store's), so
// a test can show that a file was not touched.
func filesOf(t *testing.T, list []Entry) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, e := range list {
		if e.File == "" {
			continue
		}
		data, err := os.ReadFile(e.File)
		require.NoError(t, err)
		m[e.File] = string(data)
	}
	return m
}

// mismatched is a bundle every backend refuses: its key is not its
// certificate's.
func mismatched(t *testing.T, kind string) *pfx.Bundle {
	t.Helper()
	b := mint(t, "certctl tx mismatched", kind, nil)
	b.Key = mint(t, "certctl tx other key", kind, nil).Key
	return b
}

// keylessOf is b's certificate and chain without its key.
func keylessOf(b *pfx.Bundle) *pfx.Bundle {
	return &pfx.Bundle{Leaf: b.Leaf, Chain: b.Chain}
}

// assertAbsent checks that no certificate of bundles is in s.
func assertAbsent(t *testing.T, s Store, bundles ...*pfx.Bundle) {
	t.Helper()
	for _, b := range bundles {
		_, err := s.Find(thumbprint.Of(b.Leaf))
		assert.ErrorIs(t, err, ErrNotFound, "%s", b.Leaf.Subject)
	}
}

// plainStore hides the backend's importReplacing, so that Tx falls back to
// asking Find before each import with a key.
type plainStore struct{ Store }

// testTransactions is the part of the conformance suite about Tx and
// ImportAll. The failures are real: a bundle whose key is not its
// certificate's, which every backend refuses.
func testTransactions(t *testing.T, lim limits, open func(t *testing.T) (Store, func() Store)) {
	kind := lim.kind()

	t.Run("a failed import takes back the others", func(t *testing.T) {
		s, _ := open(t)
		_, err := s.Import(mint(t, "certctl tx before", kind, nil), ImportOptions{})
		require.NoError(t, err)
		before := listOf(t, s)

		a := mint(t, "certctl tx A", kind, nil)
		b := mint(t, "certctl tx B", kind, nil)
		tx := Begin(s)
		for _, bundle := range []*pfx.Bundle{a, b} {
			res, err := tx.Import(bundle, ImportOptions{})
			require.NoError(t, err)
			assert.True(t, res.Added)
		}
		_, err = tx.Import(mismatched(t, kind), ImportOptions{})
		require.ErrorIs(t, err, pfx.ErrKeyMismatch)
		_, err = s.Find(thumbprint.Of(a.Leaf))
		require.NoError(t, err, "in the store until the rollback")
		require.NoError(t, tx.Rollback())
		assert.Equal(t, before, listOf(t, s))
		assertAbsent(t, s, a, b)

		_, err = tx.Import(a, ImportOptions{})
		assert.ErrorIs(t, err, ErrTxDone)
		assert.ErrorIs(t, tx.Commit(), ErrTxDone)
		assert.ErrorIs(t, tx.Rollback(), ErrTxDone)
	})

	t.Run("ImportAll is all or nothing", func(t *testing.T) {
		s, _ := open(t)
		_, err := s.Import(mint(t, "certctl importall before", kind, nil), ImportOptions{})
		require.NoError(t, err)
		before := listOf(t, s)
		for _, workers := range []int{1, 3} {
			bundles := []*pfx.Bundle{
				mint(t, "certctl importall A", kind, nil),
				mint(t, "certctl importall B", kind, nil),
				mismatched(t, kind),
				mint(t, "certctl importall C", kind, nil),
				{}, // no certificate
			}
			var progressed atomic.Int32
			done, err := ImportAll(s, bundles, ImportOptions{}, workers, func() { progressed.Add(1) })
			require.Error(t, err)
			assert.Nil(t, done)
			assert.ErrorIs(t, err, pfx.ErrKeyMismatch, "the first failure is the one reported")
			assert.NotErrorIs(t, err, pfx.ErrNoCertificate)
			if workers == 1 {
				assert.Equal(t, int32(2), progressed.Load(), "A and B were imported, C was never tried")
			}
			assert.Equal(t, before, listOf(t, s))
			assertAbsent(t, s, bundles[:4]...)
		}
	})

	t.Run("rollback puts back a certificate without a key that the import of its key replaced", func(t *testing.T) {
		for name, wrap := range map[string]func(Store) Store{
			"backend":    func(s Store) Store { return s },
			"Find first": func(s Store) Store { return plainStore{s} },
		} {
			t.Run(name, func(t *testing.T) {
				s, _ := open(t)
				root := mint(t, "certctl tx root", kind, nil)
				leaf := mint(t, "certctl tx leaf", kind, root)
				tp := thumbprint.Of(leaf.Leaf)
				res, err := s.Import(keylessOf(leaf), ImportOptions{})
				require.NoError(t, err)
				require.True(t, res.Added)
				before := listOf(t, s)
				require.Len(t, before, 1)
				require.False(t, before[0].HasPrivateKey)

				tx := Begin(wrap(s))
				res, err = tx.Import(leaf, ImportOptions{})
				require.NoError(t, err)
				assert.True(t, res.Added)
				assert.True(t, res.Entry.HasPrivateKey)
				id, err := s.Find(tp)
				require.NoError(t, err)
				require.True(t, id.HasPrivateKey(), "the key joined the certificate")

				_, err = tx.Import(mismatched(t, kind), ImportOptions{})
				require.Error(t, err)
				require.NoError(t, tx.Rollback())

				id, err = s.Find(tp)
				require.NoError(t, err, "the certificate is back")
				assert.Equal(t, tp, id.Thumbprint())
				assert.True(t, id.Certificate().Equal(leaf.Leaf))
				assert.False(t, id.HasPrivateKey(), "without its key")
				require.Len(t, id.Chain(), 1, "with its chain")
				assert.True(t, id.Chain()[0].Equal(root.Leaf))
				_, err = s.Export(tp, true)
				assert.ErrorIs(t, err, ErrNoPrivateKey)
				assert.Equal(t, before, listOf(t, s))
			})
		}
	})

	t.Run("rollback does not put back what the transaction itself added without a key", func(t *testing.T) {
		s, _ := open(t)
		leaf := mint(t, "certctl tx own", kind, nil)
		tx := Begin(s)
		res, err := tx.Import(keylessOf(leaf), ImportOptions{})
		require.NoError(t, err)
		require.True(t, res.Added)
		res, err = tx.Import(leaf, ImportOptions{})
		require.NoError(t, err)
		require.True(t, res.Added, "the key replaced the certificate without one")
		require.NoError(t, tx.Rollback())
		assert.Empty(t, listOf(t, s))
	})

	t.Run("rollback leaves what was already in the store", func(t *testing.T) {
		s, _ := open(t)
		withKey := mint(t, "certctl tx kept with key", kind, nil)
		withoutKey := mint(t, "certctl tx kept without key", kind, nil)
		for _, b := range []*pfx.Bundle{withKey, keylessOf(withoutKey)} {
			_, err := s.Import(b, ImportOptions{})
			require.NoError(t, err)
		}
		before := listOf(t, s)
		files := filesOf(t, before)

		tx := Begin(s)
		for _, b := range []*pfx.Bundle{withKey, keylessOf(withKey), keylessOf(withoutKey)} {
			res, err := tx.Import(b, ImportOptions{})
			require.NoError(t, err)
			assert.False(t, res.Added, "%s is already there", b.Leaf.Subject)
		}
		added := mint(t, "certctl tx added", kind, nil)
		res, err := tx.Import(added, ImportOptions{})
		require.NoError(t, err)
		require.True(t, res.Added)
		require.NoError(t, tx.Rollback())

		assert.Equal(t, before, listOf(t, s))
		assert.Equal(t, files, filesOf(t, before), "the files were not touched")
		assertAbsent(t, s, added)
		id, err := s.Find(thumbprint.Of(withKey.Leaf))
		require.NoError(t, err)
		verifySigner(t, id, lim)
		id, err = s.Find(thumbprint.Of(withoutKey.Leaf))
		require.NoError(t, err)
		assert.False(t, id.HasPrivateKey())
	})

	t.Run("concurrent imports", func(t *testing.T) {
		s, _ := open(t)
		replacedLater := mint(t, "certctl tx concurrent keyless", kind, nil)
		_, err := s.Import(keylessOf(replacedLater), ImportOptions{})
		require.NoError(t, err)
		before := listOf(t, s)

		bundles := []*pfx.Bundle{replacedLater}
		for _, cn := range []string{"A", "B", "C", "D", "E", "F"} {
			bundles = append(bundles, mint(t, "certctl tx concurrent "+cn, kind, nil))
		}
		// The same certificate twice, and once without its key: one of
		// them adds it.
		bundles = append(bundles, bundles[1], keylessOf(bundles[1]))

		tx := Begin(s)
		results := make([]Imported, len(bundles))
		errs := make([]error, len(bundles))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, b := range bundles {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results[i], errs[i] = tx.Import(b, ImportOptions{})
			}()
		}
		close(start)
		wg.Wait()
		added := 0
		for i := range bundles {
			require.NoError(t, errs[i])
			if results[i].Added {
				added++
			}
		}
		// Six new certificates, one key for a certificate without one, and
		// the key of B after B without it when that came first.
		assert.Contains(t, []int{7, 8}, added)
		assert.Len(t, listOf(t, s), 7)
		id, err := s.Find(thumbprint.Of(bundles[1].Leaf))
		require.NoError(t, err)
		assert.True(t, id.HasPrivateKey())

		require.NoError(t, tx.Rollback())
		assert.Equal(t, before, listOf(t, s))
		id, err = s.Find(thumbprint.Of(replacedLater.Leaf))
		require.NoError(t, err)
		assert.False(t, id.HasPrivateKey())
		assertAbsent(t, s, bundles[1:7]...)
	})

	t.Run("ImportAll keeps everything when all succeed", func(t *testing.T) {
		s, _ := open(t)
		var bundles []*pfx.Bundle
		for _, cn := range []string{"A", "B", "C", "D"} {
			bundles = append(bundles, mint(t, "certctl importall ok "+cn, kind, nil))
		}
		bundles = append(bundles, bundles[0])
		var progressed atomic.Int32
		done, err := ImportAll(s, bundles, ImportOptions{}, 0, func() { progressed.Add(1) })
		require.NoError(t, err)
		require.Len(t, done, len(bundles))
		for i, b := range bundles {
			assert.Equal(t, thumbprint.Of(b.Leaf), done[i].Entry.Thumbprint, "results in the order of the bundles")
		}
		assert.NotEqual(t, done[0].Added, done[4].Added, "the same certificate is added once")
		assert.Equal(t, int32(len(bundles)), progressed.Load())
		assert.Len(t, listOf(t, s), 4)
	})
}

// TestFileTxRollbackFailure shows that a rollback the store refuses names
// every certificate it could not take back, and that the next Rollback
// tries them again.
func TestFileTxRollbackFailure(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the file store's folder permissions")
	}
	s, err := Open("My", Options{Dir: t.TempDir()})
	require.NoError(t, err)
	defer s.Close()
	a := mint(t, "certctl rollback A", "ecdsa", nil)
	b := mint(t, "certctl rollback B", "ecdsa", nil)
	tx := Begin(s)
	for _, bundle := range []*pfx.Bundle{a, b} {
		_, err := tx.Import(bundle, ImportOptions{})
		require.NoError(t, err)
	}

	// The file store refuses to change a folder others could write to.
	dir := s.Location()
	require.NoError(t, os.Chmod(dir, 0o777))
	err = tx.Rollback()
	var rb *RollbackError
	require.True(t, errors.As(err, &rb), "%v", err)
	assert.Len(t, rb.Problems, 2)
	for _, bundle := range []*pfx.Bundle{a, b} {
		assert.Contains(t, err.Error(), thumbprint.Of(bundle.Leaf).String())
	}
	assert.Contains(t, err.Error(), "chmod 700 "+dir)
	assert.Len(t, listOf(t, s), 2, "nothing was taken back")
	_, err = tx.Import(mint(t, "certctl rollback C", "ecdsa", nil), ImportOptions{})
	assert.ErrorIs(t, err, ErrTxDone, "a transaction being rolled back takes no more changes")

	require.NoError(t, os.Chmod(dir, 0o700))
	require.NoError(t, tx.Rollback(), "the second try takes back the rest")
	assert.Empty(t, listOf(t, s))
	assert.ErrorIs(t, tx.Rollback(), ErrTxDone)
}
