//go:build !windows

package certstore

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/certctl/certctl/pfx"
	"github.com/certctl/certctl/thumbprint"
)

// failingStore is a store whose Remove of one thumbprint fails, after the
// removals before it went through, and whose Export with the key can be made
// to refuse as Windows refuses a non-exportable key. It hides the file
// store's snapshot, so that Tx.Remove asks Export.
type failingStore struct {
	Store
	failRemove    thumbprint.Thumbprint
	notExportable thumbprint.Thumbprint
}

func (s *failingStore) Remove(tp thumbprint.Thumbprint) error {
	if tp == s.failRemove {
		return fmt.Errorf("remove %s: injected failure", tp)
	}
	return s.Store.Remove(tp)
}

func (s *failingStore) Export(tp thumbprint.Thumbprint, withKey bool) (*pfx.Bundle, error) {
	if withKey && tp == s.notExportable {
		return nil, fmt.Errorf("export %s: %w", tp, ErrNotExportable)
	}
	return s.Store.Export(tp, withKey)
}

// threeInStore fills a file store with a certificate with its key and a
// chain, one with a key and one without.
func threeInStore(t *testing.T) (Store, []*pfx.Bundle) {
	t.Helper()
	s, err := Open("My", Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	ca := mint(t, "certctl tx remove CA", "ecdsa", nil)
	bundles := []*pfx.Bundle{
		mint(t, "certctl tx remove A", "ecdsa", ca),
		mint(t, "certctl tx remove B", "rsa", nil),
		keylessOf(mint(t, "certctl tx remove C", "ecdsa", nil)),
	}
	for _, b := range bundles {
		_, err := s.Import(b, ImportOptions{})
		require.NoError(t, err)
	}
	return s, bundles
}

// contents is what a test compares before and after: each certificate,
// whether it has a key, its chain, and the key itself.
func contents(t *testing.T, s Store) map[thumbprint.Thumbprint]string {
	t.Helper()
	m := map[thumbprint.Thumbprint]string{}
	for _, e := range listOf(t, s) {
		b, err := s.Export(e.Thumbprint, e.HasPrivateKey)
		require.NoError(t, err)
		var key []byte
		if b.Key != nil {
			key, err = x509.MarshalPKCS8PrivateKey(b.Key)
			require.NoError(t, err)
		}
		m[e.Thumbprint] = fmt.Sprintf("key=%v chain=%d %x", e.HasPrivateKey, len(b.Chain), key)
	}
	return m
}

func TestTxRemove(t *testing.T) {
	s, bundles := threeInStore(t)
	tx := Begin(s)
	for _, b := range bundles[:2] {
		require.NoError(t, tx.Remove(thumbprint.Of(b.Leaf)))
	}
	require.NoError(t, tx.Commit())
	list := listOf(t, s)
	require.Len(t, list, 1)
	assert.Equal(t, thumbprint.Of(bundles[2].Leaf), list[0].Thumbprint)
	assert.ErrorIs(t, tx.Remove(list[0].Thumbprint), ErrTxDone)
}

// TestTxRemoveRollsBack removes two certificates, fails on the third, and
// rolls back: the store holds what it held, keys and chains included.
func TestTxRemoveRollsBack(t *testing.T) {
	inner, bundles := threeInStore(t)
	before := contents(t, inner)
	s := &failingStore{Store: inner, failRemove: thumbprint.Of(bundles[2].Leaf)}
	tx := Begin(s)
	require.NoError(t, tx.Remove(thumbprint.Of(bundles[0].Leaf)))
	require.NoError(t, tx.Remove(thumbprint.Of(bundles[1].Leaf)))
	assert.Len(t, listOf(t, inner), 1, "two are gone before the failure")
	err := tx.Remove(thumbprint.Of(bundles[2].Leaf))
	require.ErrorContains(t, err, "injected failure")
	require.NoError(t, tx.Rollback())
	assert.Equal(t, before, contents(t, inner))
	id, err := inner.Find(thumbprint.Of(bundles[0].Leaf))
	require.NoError(t, err)
	assert.Len(t, id.Chain(), 1, "the chain is back")
}

// TestTxRemoveRollbackFailure makes the putting back fail for real: the file
// store refuses to change a folder others may write to. Rollback names the
// certificate, and the next Rollback puts it back.
func TestTxRemoveRollbackFailure(t *testing.T) {
	s, bundles := threeInStore(t)
	before := contents(t, s)
	tx := Begin(s)
	tp := thumbprint.Of(bundles[1].Leaf)
	require.NoError(t, tx.Remove(tp))
	require.NoError(t, os.Chmod(s.Location(), 0o777))
	err := tx.Rollback()
	var rb *RollbackError
	require.True(t, errors.As(err, &rb), "%v", err)
	assert.Len(t, rb.Problems, 1)
	assert.Contains(t, err.Error(), "put back "+tp.String())
	require.NoError(t, os.Chmod(s.Location(), 0o700))
	require.NoError(t, tx.Rollback())
	assert.Equal(t, before, contents(t, s))
}

// TestTxRemoveNotExportable: a key the store will not export (Windows) is
// lost if the removal is rolled back, and Rollback says so; the
// certificate comes back without it.
func TestTxRemoveNotExportable(t *testing.T) {
	inner, bundles := threeInStore(t)
	tp := thumbprint.Of(bundles[1].Leaf)
	s := &failingStore{Store: inner, notExportable: tp}
	tx := Begin(s)
	require.NoError(t, tx.Remove(tp))
	err := tx.Rollback()
	var rb *RollbackError
	require.True(t, errors.As(err, &rb), "%v", err)
	assert.ErrorIs(t, err, ErrNotExportable)
	assert.Contains(t, err.Error(), "put back "+tp.String()+" without its private key")
	id, err := inner.Find(tp)
	require.NoError(t, err)
	assert.False(t, id.HasPrivateKey())
	assert.ErrorIs(t, tx.Rollback(), ErrTxDone, "nothing is left to try")
}

func TestTxRemoveNotFound(t *testing.T) {
	s, bundles := threeInStore(t)
	tx := Begin(s)
	absent := thumbprint.Of(mint(t, "certctl tx absent", "ecdsa", nil).Leaf)
	assert.ErrorIs(t, tx.Remove(absent), ErrNotFound)
	require.NoError(t, tx.Remove(thumbprint.Of(bundles[0].Leaf)))
	assert.ErrorIs(t, tx.Remove(thumbprint.Of(bundles[0].Leaf)), ErrNotFound, "already removed")
	require.NoError(t, tx.Rollback())
	assert.Len(t, listOf(t, s), 3)
}

// TestTxRemoveKeyWithLoosePermissions: the file store removes a
// certificate whose key file others can read (only its use is refused), so
// Tx.Remove does too, and puts it back on Rollback.
func TestTxRemoveKeyWithLoosePermissions(t *testing.T) {
	s, bundles := threeInStore(t)
	tp := thumbprint.Of(bundles[1].Leaf)
	require.NoError(t, os.Chmod(filepath.Join(s.Location(), tp.String()+".pfx"), 0o644))
	tx := Begin(s)
	require.NoError(t, tx.Remove(tp))
	require.NoError(t, tx.Rollback())
	id, err := s.Find(tp)
	require.NoError(t, err)
	assert.True(t, id.HasPrivateKey())
}
