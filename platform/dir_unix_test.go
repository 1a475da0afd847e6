//go:build !windows

package platform

import (
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func openTestDir(t *testing.T, path string) *Dir {
	t.Helper()
	d, err := OpenDir(path)
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	return d
}

// privateTempDir is a folder whose parents all pass CheckParents: t.TempDir
// under a private folder of the test's own, so that the test does not
// depend on how the machine's temporary folder is set up.
func privateTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o700))
	if err := CheckParents(dir); err != nil {
		t.Skipf("the temporary folder is not private on this machine: %v", err)
	}
	return dir
}

func TestDirCheckPrivate(t *testing.T) {
	dir := privateTempDir(t)
	d := openTestDir(t, dir)
	assert.NoError(t, d.CheckPrivate())

	require.NoError(t, os.Chmod(dir, 0o777))
	err := d.CheckPrivate()
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrUnsafePermissions))
	assert.Contains(t, err.Error(), dir)
	assert.Contains(t, err.Error(), "chmod 700 ")

	require.NoError(t, os.Chmod(dir, 0o750))
	assert.NoError(t, d.CheckPrivate(), "group may read but not write")
}

// TestParentsAreChecked: a folder above the store that others can write
// (and that is not sticky) is refused, naming it and the fix; a sticky one
// such as /tmp is not.
func TestParentsAreChecked(t *testing.T) {
	top := privateTempDir(t)
	parent := filepath.Join(top, "shared")
	store := filepath.Join(parent, "store")
	require.NoError(t, os.MkdirAll(store, 0o700))
	d := openTestDir(t, store)
	require.NoError(t, d.CheckPrivate())

	require.NoError(t, os.Chmod(parent, 0o777))
	err := d.CheckPrivate()
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrUnsafePermissions))
	assert.Contains(t, err.Error(), parent+": a folder above "+store)
	assert.Contains(t, err.Error(), "chmod go-w "+parent)

	require.NoError(t, os.Chmod(parent, 0o777|os.ModeSticky))
	assert.NoError(t, d.CheckPrivate(), "a sticky folder is safe")

	if os.Getuid() != 0 {
		return
	}
	require.NoError(t, os.Chmod(parent, 0o755))
	require.NoError(t, os.Chown(parent, 65534, 65534))
	err = d.CheckPrivate()
	assert.ErrorContains(t, err, "owned by uid 65534, not by you (uid 0) or root")
}

func TestFileStatCheckPrivate(t *testing.T) {
	dir := privateTempDir(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "key.pfx"), []byte("k"), 0o600))
	d := openTestDir(t, dir)
	_, st, err := d.ReadFile("key.pfx", 10)
	require.NoError(t, err)
	assert.NoError(t, st.CheckPrivate(d.Join("key.pfx")))

	require.NoError(t, os.Chmod(filepath.Join(dir, "key.pfx"), 0o644))
	_, st, err = d.ReadFile("key.pfx", 10)
	require.NoError(t, err)
	err = st.CheckPrivate(d.Join("key.pfx"))
	assert.True(t, errors.Is(err, ErrUnsafePermissions))
	assert.ErrorContains(t, err, "chmod 600 "+d.Join("key.pfx"))
}

// TestDirNeverFollowsSymlinks: with every name in the folder a symlink to a
// file of the user's, no operation reads, appends to, locks or creates the
// target.
func TestDirNeverFollowsSymlinks(t *testing.T) {
	dir := privateTempDir(t)
	victim := filepath.Join(t.TempDir(), "victim")
	require.NoError(t, os.WriteFile(victim, []byte("precious\n"), 0o600))
	missing := filepath.Join(t.TempDir(), "created-through-a-link")
	for _, name := range []string{"index", "lock", "data.pfx"} {
		require.NoError(t, os.Symlink(victim, filepath.Join(dir, name)))
	}
	require.NoError(t, os.Symlink(missing, filepath.Join(dir, "newlock")))
	d := openTestDir(t, dir)

	_, _, err := d.ReadFile("data.pfx", 1<<20)
	assert.ErrorIs(t, err, ErrNotRegular)
	assert.ErrorIs(t, d.Append("index", func(int64) []byte { return []byte("appended\n") }), ErrNotRegular)
	_, err = d.Lock("lock", true)
	assert.ErrorIs(t, err, ErrNotRegular)
	_, err = d.Lock("newlock", false)
	assert.Error(t, err)
	st, err := d.Stat("data.pfx")
	require.NoError(t, err)
	assert.False(t, st.Regular())

	// Replacing a symlink replaces the link, not its target.
	require.NoError(t, d.WriteFileAtomic("index", []byte("new\n")))
	b, err := os.ReadFile(victim)
	require.NoError(t, err)
	assert.Equal(t, "precious\n", string(b))
	assert.NoFileExists(t, missing)
	fi, err := os.Lstat(filepath.Join(dir, "index"))
	require.NoError(t, err)
	assert.True(t, fi.Mode().IsRegular())
}

// TestDirNeverBlocksOnFIFO: a FIFO where a file should be fails at once.
func TestDirNeverBlocksOnFIFO(t *testing.T) {
	dir := privateTempDir(t)
	require.NoError(t, unix.Mkfifo(filepath.Join(dir, "fifo"), 0o600))
	d := openTestDir(t, dir)
	done := make(chan []error, 1)
	go func() {
		_, _, rerr := d.ReadFile("fifo", 1<<20)
		aerr := d.Append("fifo", func(int64) []byte { return []byte("x") })
		_, lerr := d.Lock("fifo", true)
		_, _, serr := ReadSmallFile(filepath.Join(dir, "fifo"), MaxSecretSize)
		done <- []error{rerr, aerr, lerr, serr}
	}()
	select {
	case errs := <-done:
		for i, err := range errs {
			assert.Error(t, err, "operation %d", i)
		}
		assert.ErrorIs(t, errs[0], ErrNotRegular)
		assert.ErrorIs(t, errs[3], ErrNotRegular)
	case <-time.After(20 * time.Second):
		t.Fatal("an operation waited on a FIFO")
	}
}

// TestDirSurvivesASwap: once open, the folder is the one that was checked,
// even if its path now leads elsewhere.
func TestDirSurvivesASwap(t *testing.T) {
	top := privateTempDir(t)
	store := filepath.Join(top, "store")
	require.NoError(t, os.Mkdir(store, 0o700))
	d := openTestDir(t, store)
	elsewhere := t.TempDir()
	require.NoError(t, os.Rename(store, store+".old"))
	require.NoError(t, os.Symlink(elsewhere, store))

	require.NoError(t, d.WriteFileAtomic("A.pfx", []byte("a")))
	assert.FileExists(t, filepath.Join(store+".old", "A.pfx"))
	assert.NoFileExists(t, filepath.Join(elsewhere, "A.pfx"))
}

func TestDirLockExcludes(t *testing.T) {
	d := openTestDir(t, privateTempDir(t))
	l1, err := d.Lock("lock", true)
	require.NoError(t, err)
	busy, err := d.Lock("lock", false)
	require.NoError(t, err)
	assert.Nil(t, busy, "a second holder got the lock without waiting")

	var acquired atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		l2, err := d.Lock("lock", true)
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

func TestReadSmallFile(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(ok, []byte("s3cret\n"), 0o600))
	data, fi, err := ReadSmallFile(ok, MaxSecretSize)
	require.NoError(t, err)
	assert.Equal(t, "s3cret\n", string(data))
	assert.True(t, fi.Mode().IsRegular())

	_, _, err = ReadSmallFile("/dev/zero", MaxSecretSize)
	assert.ErrorIs(t, err, ErrNotRegular)
	big := filepath.Join(dir, "big")
	require.NoError(t, os.WriteFile(big, make([]byte, MaxSecretSize+1), 0o600))
	_, _, err = ReadSmallFile(big, MaxSecretSize)
	assert.ErrorIs(t, err, ErrTooLarge)
	_, _, err = ReadSmallFile(dir, MaxSecretSize)
	assert.ErrorIs(t, err, ErrNotRegular)
}

func TestCheckSecretFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pw")
	require.NoError(t, os.WriteFile(path, []byte("pw"), 0o600))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	readable, err := CheckSecretFile(path, fi)
	require.NoError(t, err)
	assert.False(t, readable)

	require.NoError(t, os.Chmod(path, 0o644))
	fi, _ = os.Stat(path)
	readable, err = CheckSecretFile(path, fi)
	require.NoError(t, err)
	assert.True(t, readable)

	if os.Getuid() != 0 {
		return
	}
	require.NoError(t, os.Chown(path, 65534, 65534))
	fi, _ = os.Stat(path)
	_, err = CheckSecretFile(path, fi)
	assert.True(t, errors.Is(err, ErrUnsafePermissions))
	assert.ErrorContains(t, err, "owned by uid 65534")
}

// TestConfigFilesAreTrustedOnlyIfPrivate: a settings file someone else
// could have written is refused, naming the file or folder and the fix.
func TestConfigFilesAreTrustedOnlyIfPrivate(t *testing.T) {
	dir := filepath.Join(privateTempDir(t), "certctl")
	require.NoError(t, WriteConfigFile(dir, "context.json", []byte("{}\n")))
	data, err := ReadConfigFile(dir, "context.json", 1<<20)
	require.NoError(t, err)
	assert.Equal(t, "{}\n", string(data))

	path := filepath.Join(dir, "context.json")
	require.NoError(t, os.Chmod(path, 0o666))
	_, err = ReadConfigFile(dir, "context.json", 1<<20)
	assert.True(t, errors.Is(err, ErrUnsafePermissions))
	assert.ErrorContains(t, err, "chmod 600 "+path)
	require.NoError(t, os.Chmod(path, 0o644))
	_, err = ReadConfigFile(dir, "context.json", 1<<20)
	assert.NoError(t, err, "others may read a settings file, which holds no secret")

	require.NoError(t, os.Chmod(dir, 0o777))
	_, err = ReadConfigFile(dir, "context.json", 1<<20)
	assert.ErrorContains(t, err, "chmod 700 "+dir)
	assert.Error(t, WriteConfigFile(dir, "context.json", []byte("{}")), "nothing is written to a folder others control")
	require.NoError(t, os.Chmod(dir, 0o700))

	require.NoError(t, os.Remove(path))
	require.NoError(t, os.Symlink(filepath.Join(t.TempDir(), "elsewhere.json"), path))
	_, err = ReadConfigFile(dir, "context.json", 1<<20)
	assert.Error(t, err, "a symlinked settings file is not followed")

	require.NoError(t, os.Remove(path))
	require.NoError(t, os.WriteFile(path, make([]byte, 2<<20), 0o600))
	_, err = ReadConfigFile(dir, "context.json", 1<<20)
	assert.ErrorIs(t, err, ErrTooLarge)

	if os.Getuid() != 0 {
		return
	}
	require.NoError(t, os.WriteFile(path, []byte("{}"), 0o600))
	require.NoError(t, os.Chown(path, 65534, 65534))
	_, err = ReadConfigFile(dir, "context.json", 1<<20)
	assert.ErrorContains(t, err, "owned by uid 65534")
}
