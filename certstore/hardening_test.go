//go:build !windows

package certstore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/certctl/certctl/platform"
	"github.com/certctl/certctl/thumbprint"
)

// withTimeout fails the test if f has not returned after limit: these
// tests check that nothing waits on a FIFO. f runs on another goroutine, so
// it may use assert (t.Error) but never require or t.Fatal, which must be
// called from the test's own goroutine: anything that can fail the test
// outright (such as mint) is done before.
func withTimeout(t *testing.T, limit time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(limit):
		t.Fatalf("%s still waiting after %v", what, limit)
	}
}

// TestStoreMetadataNeverFollowsLinks plants symlinks where the index and
// the lock go, pointing at a file of the user's and at a path that does not
// exist: importing, closing and listing must neither change the one nor
// create the other.
func TestStoreMetadataNeverFollowsLinks(t *testing.T) {
	s, dir := openFileStore(t)
	_, err := s.Import(mint(t, "certctl first", "ecdsa", nil), ImportOptions{})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	victim := filepath.Join(t.TempDir(), "victim")
	require.NoError(t, os.WriteFile(victim, []byte("precious\n"), 0o600))
	require.NoError(t, os.Remove(filepath.Join(dir, indexName)))
	require.NoError(t, os.Symlink(victim, filepath.Join(dir, indexName)))

	s2, err := Open("My", Options{Dir: filepath.Dir(dir)})
	require.NoError(t, err)
	_, err = s2.Import(mint(t, "certctl second", "ecdsa", nil), ImportOptions{})
	require.NoError(t, err)
	require.NoError(t, s2.Close(), "a bad index is dropped, not an error")
	list, err := s2.List()
	require.NoError(t, err)
	assert.Len(t, list, 2)
	b, err := os.ReadFile(victim)
	require.NoError(t, err)
	assert.Equal(t, "precious\n", string(b), "the index was appended through a link")
	fi, err := os.Lstat(filepath.Join(dir, indexName))
	require.NoError(t, err)
	assert.True(t, fi.Mode().IsRegular(), "list rebuilt the index as a file")

	missing := filepath.Join(t.TempDir(), "created")
	require.NoError(t, os.Remove(filepath.Join(dir, lockName)))
	require.NoError(t, os.Symlink(missing, filepath.Join(dir, lockName)))
	s3, err := Open("My", Options{Dir: filepath.Dir(dir)})
	require.NoError(t, err)
	defer s3.Close()
	_, err = s3.Import(mint(t, "certctl third", "ecdsa", nil), ImportOptions{})
	require.Error(t, err)
	assert.ErrorContains(t, err, lockName)
	assert.ErrorContains(t, err, "a symlink is never followed")
	assert.NoFileExists(t, missing)
}

// TestFIFOInTheStoreNeverHangs: a FIFO named as the index, the lock or a
// certificate makes nothing wait.
func TestFIFOInTheStoreNeverHangs(t *testing.T) {
	s, dir := openFileStore(t)
	a := mint(t, "certctl fifo", "ecdsa", nil)
	_, err := s.Import(a, ImportOptions{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, os.Remove(filepath.Join(dir, indexName)))
	require.NoError(t, unix.Mkfifo(filepath.Join(dir, indexName), 0o600))
	require.NoError(t, unix.Mkfifo(filepath.Join(dir, strings.Repeat("A", 40)+".pfx"), 0o600))

	second := mint(t, "certctl fifo 2", "ecdsa", nil)
	withTimeout(t, 30*time.Second, "list and import with a FIFO index", func() {
		list, err := s.List()
		assert.Len(t, list, 1)
		assert.ErrorContains(t, err, "not a regular file")
		_, err = s.Import(second, ImportOptions{})
		assert.NoError(t, err)
		assert.NoError(t, s.Close())
		list, _ = s.List()
		assert.Len(t, list, 2)
	})
	fi, err := os.Lstat(filepath.Join(dir, indexName))
	require.NoError(t, err)
	assert.True(t, fi.Mode().IsRegular(), "the FIFO index was replaced by a rebuilt one")

	require.NoError(t, os.Remove(filepath.Join(dir, lockName)))
	require.NoError(t, unix.Mkfifo(filepath.Join(dir, lockName), 0o600))
	third := mint(t, "certctl fifo 3", "ecdsa", nil)
	withTimeout(t, 30*time.Second, "import with a FIFO lock", func() {
		_, err := s.Import(third, ImportOptions{})
		assert.ErrorContains(t, err, "not a regular file")
	})
}

// TestOversizedIndexLineIsIgnored: an index line far longer than any
// certctl writes makes List ignore the whole index and rebuild it, rather
// than trust the line.
func TestOversizedIndexLineIsIgnored(t *testing.T) {
	s, dir := openFileStore(t)
	a := mint(t, "certctl real", "ecdsa", nil)
	_, err := s.Import(a, ImportOptions{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	list, err := s.List()
	require.NoError(t, err)
	require.Len(t, list, 1)

	idx := openDir(t, dir)
	index := loadIndex(idx)
	ie, ok := index.lookup(thumbprint.Of(a.Leaf).String() + ".pfx")
	require.True(t, ok)
	ie.Entry.Subject = "CN=" + strings.Repeat("x", 1<<20)
	data := encodeIndex([]indexEntry{ie})
	assert.Len(t, data, len(indexHeader), "certctl never writes such a line")
	line := appendIndexLine(nil, indexEntry{Name: ie.Name, Size: ie.Size, ModTime: ie.ModTime, Entry: Entry{Thumbprint: ie.Entry.Thumbprint, Subject: "CN=short"}})
	line = []byte(strings.Replace(string(line), "CN=short", ie.Entry.Subject, 1))
	require.NoError(t, os.WriteFile(filepath.Join(dir, indexName), append([]byte(indexHeader), line...), 0o600))

	list, err = s.List()
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "CN=certctl real", list[0].Subject)
	fi, err := os.Stat(filepath.Join(dir, indexName))
	require.NoError(t, err)
	assert.Less(t, fi.Size(), int64(4096), "the index was rebuilt")
}

// TestColdListBudget: a folder of files with far more key derivations than
// any producer uses is listed within a budget; the files over it are
// reported unread, and the next listing goes on with them.
func TestColdListBudget(t *testing.T) {
	// 250,000 visible per file: the MAC, then the key and the IV of the
	// certificate safe and of the key, at 50,000 each.
	const iterations = 50_000
	old := extraListWork
	extraListWork = 250_000 // one file's worth beyond the free allowance
	t.Cleanup(func() { extraListWork = old })

	_, dir := openFileStore(t)
	require.NoError(t, os.MkdirAll(dir, 0o700))
	enc := pkcs12.LegacyDES.WithIterations(iterations)
	for range 3 {
		b := mint(t, "certctl costly", "ecdsa", nil)
		data, err := enc.Encode(b.Key, b.Leaf, nil, "")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, thumbprint.Of(b.Leaf).String()+".pfx"), data, 0o600))
	}
	cheap := mint(t, "certctl cheap", "ecdsa", nil)
	s, err := Open("My", Options{Dir: filepath.Dir(dir)})
	require.NoError(t, err)
	_, err = s.Import(cheap, ImportOptions{})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	list, err := s.List()
	require.Error(t, err)
	var ue *UnreadableError
	require.True(t, errors.As(err, &ue))
	assert.Len(t, ue.Problems, 2, "one costly file fits the budget, two do not")
	assert.Contains(t, ue.Problems[0].Error(), "left unread: its key derivations (250000 iterations)")
	assert.Len(t, list, 2, "the cheap file and one costly file")

	list, err = s.List()
	assert.Len(t, list, 3, "the next listing goes on")
	require.Error(t, err)
	list, err = s.List()
	require.NoError(t, err)
	assert.Len(t, list, 4)
}

// TestUnsafeStoreIsListedButNotMaintained: List reads a store in a folder
// others can write to, but writes nothing there.
func TestUnsafeStoreIsListedButNotMaintained(t *testing.T) {
	s, dir := openFileStore(t)
	_, err := s.Import(mint(t, "certctl shared", "ecdsa", nil), ImportOptions{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, os.Remove(filepath.Join(dir, indexName)))
	require.NoError(t, os.Chmod(dir, 0o777))
	list, err := s.List()
	require.NoError(t, err)
	assert.Len(t, list, 1)
	assert.NoFileExists(t, filepath.Join(dir, indexName))
	var pe *platform.PermissionError
	_, err = s.Import(mint(t, "certctl refused", "ecdsa", nil), ImportOptions{})
	assert.ErrorAs(t, err, &pe)
}
