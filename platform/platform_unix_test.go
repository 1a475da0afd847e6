//go:build !windows

package platform

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, WriteFileAtomic(dir, "A.pfx", []byte("one")))
	require.NoError(t, WriteFileAtomic(dir, "A.pfx", []byte("two")))

	b, err := os.ReadFile(filepath.Join(dir, "A.pfx"))
	require.NoError(t, err)
	assert.Equal(t, "two", string(b))
	fi, err := os.Stat(filepath.Join(dir, "A.pfx"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file may be left behind")
}

func TestWriteFileAtomicFailureLeavesOldFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, WriteFileAtomic(dir, "A.pfx", []byte("old")))
	// A folder in the way makes the rename fail.
	require.NoError(t, os.Mkdir(filepath.Join(dir, "B.pfx"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "B.pfx", "x"), nil, 0o600))
	require.Error(t, WriteFileAtomic(dir, "B.pfx", []byte("new")))

	b, err := os.ReadFile(filepath.Join(dir, "A.pfx"))
	require.NoError(t, err)
	assert.Equal(t, "old", string(b))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), TempPrefix), "temporary file %s left behind", e.Name())
	}
}

func TestStoreRootNeedsHome(t *testing.T) {
	t.Setenv("HOME", "")
	_, err := StoreRoot()
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrNoHome))

	t.Setenv("HOME", "/home/someone")
	root, err := StoreRoot()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(root, "/home/someone/"))
}

func TestShellQuote(t *testing.T) {
	assert.Equal(t, "/a/b", shellQuote("/a/b"))
	assert.Equal(t, `'/a b/it'\''s'`, shellQuote("/a b/it's"))
}
