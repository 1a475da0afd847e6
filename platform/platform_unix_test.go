//go:build !windows

package platform

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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

func TestCheckPrivateDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o700))
	assert.NoError(t, CheckPrivateDir(dir))

	require.NoError(t, os.Chmod(dir, 0o777))
	err := CheckPrivateDir(dir)
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrUnsafePermissions))
	assert.Contains(t, err.Error(), dir)
	assert.Contains(t, err.Error(), "chmod 700 ")

	require.NoError(t, os.Chmod(dir, 0o750))
	assert.NoError(t, CheckPrivateDir(dir), "group may read but not write")
}

func TestCheckPrivateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key.pem")
	require.NoError(t, os.WriteFile(path, []byte("k"), 0o600))
	require.NoError(t, os.Chmod(path, 0o600))
	assert.NoError(t, CheckPrivateFile(path))

	require.NoError(t, os.Chmod(path, 0o644))
	err := CheckPrivateFile(path)
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrUnsafePermissions))
	assert.Contains(t, err.Error(), "chmod 600 "+path)

	link := filepath.Join(t.TempDir(), "link.pem")
	require.NoError(t, os.Symlink(path, link))
	assert.ErrorContains(t, CheckPrivateFile(link), "not a regular file")
}

func TestLockFileExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	l1, err := LockFile(path)
	require.NoError(t, err)

	var acquired atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		l2, err := LockFile(path)
		if err != nil {
			t.Error(err)
			return
		}
		acquired.Store(true)
		l2.Unlock()
	}()
	time.Sleep(50 * time.Millisecond)
	assert.False(t, acquired.Load(), "a second holder got the lock while the first held it")
	require.NoError(t, l1.Unlock())
	<-done
	assert.True(t, acquired.Load())
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
