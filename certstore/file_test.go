//go:build !windows

package certstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/certctl/certctl/pfx"
	"github.com/certctl/certctl/platform"
	"github.com/certctl/certctl/thumbprint"
)

func openFileStore(t *testing.T) (Store, string) {
	t.Helper()
	root := t.TempDir()
	s, err := Open("My", Options{Dir: root})
	require.NoError(t, err)
	return s, filepath.Join(root, "my")
}

// openDir opens a store folder as the file store does.
func openDir(t *testing.T, dir string) *platform.Dir {
	t.Helper()
	d, err := platform.OpenDir(dir)
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	return d
}

func TestFileConformance(t *testing.T) {
	testConformanceWithin(t, limits{}, func(t *testing.T) (Store, func() Store) {
		root := t.TempDir()
		s, err := Open("My", Options{Dir: root})
		require.NoError(t, err)
		return s, func() Store {
			s, err := Open("my", Options{Dir: root})
			require.NoError(t, err)
			return s
		}
	})
}

func TestFileLayoutIsDotNets(t *testing.T) {
	s, dir := openFileStore(t)
	a := mint(t, "certctl layout", "rsa", nil)
	res, err := s.Import(a, ImportOptions{})
	require.NoError(t, err)

	tp := thumbprint.Of(a.Leaf)
	path := filepath.Join(dir, tp.String()+".pfx")
	assert.Equal(t, path, res.Entry.File)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	di, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), di.Mode().Perm())

	// The file is a PKCS#12 with an empty password, as .NET reads it.
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	b, err := pfx.Decode(data, "")
	require.NoError(t, err)
	assert.True(t, b.Leaf.Equal(a.Leaf))

	// Nothing but the certificate ends in .pfx.
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var pfxFiles []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".pfx") {
			pfxFiles = append(pfxFiles, e.Name())
		}
	}
	assert.Equal(t, []string{tp.String() + ".pfx"}, pfxFiles)
}

func TestStoreNamesAreFolders(t *testing.T) {
	root := t.TempDir()
	for _, name := range []string{"Root", "trustedpeople", "CA", "my-custom_1"} {
		s, err := Open(name, Options{Dir: root, Create: true})
		require.NoError(t, err)
		_, err = s.Import(mint(t, "certctl "+name, "ecdsa", nil), ImportOptions{})
		require.NoError(t, err)
		assert.DirExists(t, filepath.Join(root, strings.ToLower(name)))
	}
	for _, bad := range []string{"../my", "a/b", ".", strings.Repeat("x", 65)} {
		_, err := Open(bad, Options{Dir: root})
		assert.True(t, errors.Is(err, ErrInvalidName), bad)
	}
}

// writeDotNetFile writes a certificate as .NET does, behind certctl's back.
func writeDotNetFile(t *testing.T, dir, name string, b *pfx.Bundle) string {
	t.Helper()
	data, err := pfx.EncodeStore(b)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o700))
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}

func TestIndexFollowsChangesMadeByOthers(t *testing.T) {
	s, dir := openFileStore(t)
	a := mint(t, "certctl index A", "ecdsa", nil)
	_, err := s.Import(a, ImportOptions{})
	require.NoError(t, err)
	list, err := s.List()
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.FileExists(t, filepath.Join(dir, indexName))

	// .NET adds one, under a collision name.
	b := mint(t, "certctl index B", "ecdsa", nil)
	writeDotNetFile(t, dir, thumbprint.Of(b.Leaf).String()+".1.pfx", b)
	list, err = s.List()
	require.NoError(t, err)
	require.Len(t, list, 2)

	// A person replaces A's file with another certificate of the same size
	// class: the index must notice the change, not trust the name.
	c := mint(t, "certctl index C", "ecdsa", nil)
	pathA := filepath.Join(dir, thumbprint.Of(a.Leaf).String()+".pfx")
	require.NoError(t, os.Remove(pathA))
	writeDotNetFile(t, dir, "renamed-by-hand.pfx", c)
	list, err = s.List()
	require.NoError(t, err)
	require.Len(t, list, 2)
	subjects := []string{list[0].Subject, list[1].Subject}
	assert.Equal(t, []string{"CN=certctl index B", "CN=certctl index C"}, subjects)

	// Found by thumbprint though its name is not .NET's.
	id, err := s.Find(thumbprint.Of(c.Leaf))
	require.NoError(t, err)
	assert.True(t, id.Certificate().Equal(c.Leaf))
}

// A certificate in two files (as .NET leaves it when a key is added under a
// collision name) is listed once: the file with the key, else the first
// name. The list is in order of subject, then thumbprint, read cold or
// warm.
func TestListShowsEachCertificateOnce(t *testing.T) {
	s, dir := openFileStore(t)
	a := mint(t, "certctl twice A", "ecdsa", nil)
	b := mint(t, "certctl twice B", "ecdsa", nil)
	tpA, tpB := thumbprint.Of(a.Leaf).String(), thumbprint.Of(b.Leaf).String()
	writeDotNetFile(t, dir, tpA+".pfx", a)
	writeDotNetFile(t, dir, tpA+".1.pfx", &pfx.Bundle{Leaf: a.Leaf})
	writeDotNetFile(t, dir, tpB+".pfx", &pfx.Bundle{Leaf: b.Leaf})
	writeDotNetFile(t, dir, tpB+".1.pfx", b)
	writeDotNetFile(t, dir, tpB+".2.pfx", &pfx.Bundle{Leaf: b.Leaf})
	var want []Entry
	for i := 0; i < 30; i++ {
		// Subjects that sort in another order than the files' names.
		c := mint(t, fmt.Sprintf("certctl order %02d", (i*7)%30), "ecdsa", nil)
		if i%3 == 0 {
			c = &pfx.Bundle{Leaf: c.Leaf}
		}
		name := thumbprint.Of(c.Leaf).String() + ".pfx"
		writeDotNetFile(t, dir, name, c)
		e := NewEntry(c.Leaf, c.Key != nil)
		e.File = filepath.Join(dir, name)
		want = append(want, e)
	}
	eA, eB := NewEntry(a.Leaf, true), NewEntry(b.Leaf, true)
	eA.File, eB.File = filepath.Join(dir, tpA+".pfx"), filepath.Join(dir, tpB+".1.pfx")
	want = append(want, eA, eB)
	sort.Slice(want, func(i, j int) bool {
		if want[i].Subject != want[j].Subject {
			return want[i].Subject < want[j].Subject
		}
		return want[i].Thumbprint.String() < want[j].Thumbprint.String()
	})
	for _, read := range []string{"cold", "warm"} {
		list, err := s.List()
		require.NoError(t, err, read)
		assert.Equal(t, want, list, read)
	}
}

// A store large enough to be statted on several cores lists as a small
// one does: each certificate once, from its first file, with the files it
// cannot use reported and the leftovers of killed writers removed, cold
// and warm.
func TestListLargeStoreInShares(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	_, dir := openFileStore(t)
	const copies = 2*statsPerWorker/4 + 10 // over two workers' worth of names
	var want []Entry
	for i := range 4 {
		b := mint(t, fmt.Sprintf("certctl share %d", i), "ecdsa", nil)
		tp := thumbprint.Of(b.Leaf).String()
		data, err := pfx.EncodeStore(b)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(dir, 0o700))
		for c := range copies {
			require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s.%d.pfx", tp, c)), data, 0o600))
		}
		e := NewEntry(b.Leaf, true)
		e.File = filepath.Join(dir, tp+".0.pfx")
		want = append(want, e)
	}
	require.NoError(t, os.Symlink("/dev/null", filepath.Join(dir, "link.pfx")))
	leftover := filepath.Join(dir, platform.TempPrefix+"killed"+platform.TempSuffix)
	require.NoError(t, os.WriteFile(leftover, []byte("half"), 0o600))

	s, err := Open("My", Options{Dir: filepath.Dir(dir)})
	require.NoError(t, err)
	for _, read := range []string{"cold", "warm"} {
		list, err := s.List()
		var ue *UnreadableError
		require.ErrorAs(t, err, &ue, read)
		require.Len(t, ue.Problems, 1, read)
		assert.Contains(t, ue.Problems[0].Error(), "link.pfx: not a regular file", read)
		assert.Equal(t, want, list, read)
		assert.NoFileExists(t, leftover, read)
	}
}

func TestDamagedIndexIsRebuilt(t *testing.T) {
	s, dir := openFileStore(t)
	a := mint(t, "certctl damaged index", "ecdsa", nil)
	_, err := s.Import(a, ImportOptions{})
	require.NoError(t, err)
	for _, junk := range []string{"", "{", "certctl-index 99\n", indexHeader + "../../etc/passwd.pfx\t1\t1\t" + thumbprint.Of(a.Leaf).String() + "\t0\t0\t1\tRSA\t01\tCN=x\tCN=x\n", indexHeader + "half a line"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, indexName), []byte(junk), 0o600))
		list, err := s.List()
		require.NoError(t, err)
		require.Len(t, list, 1, "index %q", junk)
		assert.Equal(t, thumbprint.Of(a.Leaf), list[0].Thumbprint)
		assert.Equal(t, filepath.Join(dir, thumbprint.Of(a.Leaf).String()+".pfx"), list[0].File)
	}
}

func TestIndexHoldsNoKey(t *testing.T) {
	s, dir := openFileStore(t)
	a := mint(t, "certctl index secrets", "rsa", nil)
	_, err := s.Import(a, ImportOptions{})
	require.NoError(t, err)
	_, err = s.List()
	require.NoError(t, err)
	idx, err := os.ReadFile(filepath.Join(dir, indexName))
	require.NoError(t, err)
	pem, err := pfx.EncodePEM(a, true)
	require.NoError(t, err)
	keyPEM := pem[strings.Index(string(pem), "-----BEGIN PRIVATE KEY"):]
	body := strings.Split(string(keyPEM), "\n")[2] // a line of base64 key material
	assert.NotContains(t, string(idx), body)
	assert.NotContains(t, string(idx), "PRIVATE")
}

func TestUnreadableAndSymlinkedFilesAreReported(t *testing.T) {
	s, dir := openFileStore(t)
	a := mint(t, "certctl good", "ecdsa", nil)
	_, err := s.Import(a, ImportOptions{})
	require.NoError(t, err)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "junk.pfx"), []byte("not a pfx"), 0o600))
	outside := writeDotNetFile(t, t.TempDir(), "outside.pfx", mint(t, "certctl outside", "ecdsa", nil))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "link.pfx")))

	list, err := s.List()
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrUnreadable))
	assert.Contains(t, err.Error(), "junk.pfx")
	assert.Contains(t, err.Error(), "link.pfx")
	require.Len(t, list, 1)
	assert.Equal(t, "CN=certctl good", list[0].Subject)
}

func TestKeyWithLoosePermissionsIsRefused(t *testing.T) {
	s, dir := openFileStore(t)
	a := mint(t, "certctl loose", "ecdsa", nil)
	_, err := s.Import(a, ImportOptions{})
	require.NoError(t, err)
	path := filepath.Join(dir, thumbprint.Of(a.Leaf).String()+".pfx")
	require.NoError(t, os.Chmod(path, 0o644))

	id, err := s.Find(thumbprint.Of(a.Leaf))
	require.NoError(t, err, "the certificate itself is still readable")
	_, err = id.Signer()
	require.Error(t, err)
	assert.True(t, errors.Is(err, platform.ErrUnsafePermissions))
	assert.Contains(t, err.Error(), "chmod 600 "+path)

	require.NoError(t, os.Chmod(path, 0o600))
	require.NoError(t, os.Chmod(dir, 0o777))
	_, err = s.Import(mint(t, "certctl other", "ecdsa", nil), ImportOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "chmod 700 "+dir)
}

func TestFailedImportLeavesStoreAsItWas(t *testing.T) {
	s, dir := openFileStore(t)
	a := mint(t, "certctl before", "ecdsa", nil)
	_, err := s.Import(a, ImportOptions{})
	require.NoError(t, err)
	before := snapshot(t, dir)

	// A key that is not the certificate's is refused before anything is
	// written.
	bad := mint(t, "certctl bad", "ecdsa", nil)
	bad.Key = mint(t, "other", "ecdsa", nil).Key
	_, err = s.Import(bad, ImportOptions{})
	require.Error(t, err)
	assert.Equal(t, before, snapshot(t, dir))
}

// snapshot maps each certificate file's name to its bytes.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if e.Name() == lockName {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		m[e.Name()] = string(b)
	}
	return m
}

func TestStoreOfAnotherUserIsRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to give the store folder to another user")
	}
	s, dir := openFileStore(t)
	a := mint(t, "certctl owned", "ecdsa", nil)
	_, err := s.Import(a, ImportOptions{})
	require.NoError(t, err)
	path := filepath.Join(dir, thumbprint.Of(a.Leaf).String()+".pfx")
	before := snapshot(t, dir)

	const nobody = 65534
	require.NoError(t, os.Chown(dir, nobody, nobody))
	_, err = s.Import(mint(t, "certctl intruder", "ecdsa", nil), ImportOptions{})
	require.Error(t, err)
	assert.True(t, errors.Is(err, platform.ErrUnsafePermissions))
	assert.Contains(t, err.Error(), dir)
	assert.Contains(t, err.Error(), "owned by uid 65534")
	assert.Contains(t, err.Error(), "chown 0 "+dir)
	assert.Error(t, s.Remove(thumbprint.Of(a.Leaf)))

	id, err := s.Find(thumbprint.Of(a.Leaf))
	require.NoError(t, err)
	_, err = id.Signer()
	assert.True(t, errors.Is(err, platform.ErrUnsafePermissions), "no key use from a folder another user controls")

	// The file is judged as it was when its key was read.
	require.NoError(t, os.Chown(dir, 0, 0))
	require.NoError(t, os.Chown(path, nobody, nobody))
	id, err = s.Find(thumbprint.Of(a.Leaf))
	require.NoError(t, err)
	_, err = id.Signer()
	assert.ErrorContains(t, err, "owned by uid 65534")
	require.NoError(t, os.Chown(path, 0, 0))
	assert.Equal(t, before, snapshot(t, dir), "refused changes changed nothing")
}

func TestGroupWritableStoreIsRefused(t *testing.T) {
	s, dir := openFileStore(t)
	a := mint(t, "certctl group", "ecdsa", nil)
	_, err := s.Import(a, ImportOptions{})
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o770))
	_, err = s.Import(mint(t, "certctl group 2", "ecdsa", nil), ImportOptions{})
	assert.ErrorContains(t, err, "lets group or others change it")
	err = s.Remove(thumbprint.Of(a.Leaf))
	assert.ErrorContains(t, err, "chmod 700 "+dir)
	id, err := s.Find(thumbprint.Of(a.Leaf))
	require.NoError(t, err)
	_, err = id.Signer()
	assert.True(t, errors.Is(err, platform.ErrUnsafePermissions))
}

func TestCloseWritesTheIndexOnce(t *testing.T) {
	s, dir := openFileStore(t)
	var tps []thumbprint.Thumbprint
	for i := 0; i < 3; i++ {
		b := mint(t, "certctl batch", "ecdsa", nil)
		_, err := s.Import(b, ImportOptions{})
		require.NoError(t, err)
		tps = append(tps, thumbprint.Of(b.Leaf))
	}
	assert.NoFileExists(t, filepath.Join(dir, indexName), "imports batch their index changes")
	require.NoError(t, s.Close())
	idx := current(loadIndex(openDir(t, dir)))
	require.Len(t, idx, 3)
	for _, tp := range tps {
		assert.Contains(t, idx, tp.String()+".pfx")
	}

	s2, err := Open("My", Options{Dir: filepath.Dir(dir)})
	require.NoError(t, err)
	require.NoError(t, s2.Remove(tps[0]))
	require.NoError(t, s2.Close())
	idx = current(loadIndex(openDir(t, dir)))
	assert.Len(t, idx, 2)
	assert.NotContains(t, idx, tps[0].String()+".pfx")
}

func TestListClearsLeftoverTemporaryFiles(t *testing.T) {
	s, dir := openFileStore(t)
	_, err := s.Import(mint(t, "certctl leftover", "ecdsa", nil), ImportOptions{})
	require.NoError(t, err)
	left := filepath.Join(dir, platform.TempPrefix+"123"+platform.TempSuffix)
	require.NoError(t, os.WriteFile(left, []byte("half a pfx"), 0o600))
	list, err := s.List()
	require.NoError(t, err)
	assert.Len(t, list, 1, "a temporary file is never listed")
	assert.NoFileExists(t, left)
}

// Processes that remove the same certificate at once each either remove it
// or find it gone: the file a remover found may vanish before it reads it,
// which is "not found", not a failure to keep a copy.
func TestRemoveRacesRemove(t *testing.T) {
	root := t.TempDir()
	b := mint(t, "certctl remove race", "ecdsa", nil)
	tp := thumbprint.Of(b.Leaf)
	for round := range 100 {
		s, err := Open("My", Options{Dir: root, Create: true})
		require.NoError(t, err)
		_, err = s.Import(b, ImportOptions{})
		require.NoError(t, err)
		require.NoError(t, s.Close())

		errs := make([]error, 4)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() {
				s, err := Open("My", Options{Dir: root})
				if err != nil {
					errs[i] = err
					return
				}
				defer s.Close()
				tx := Begin(s)
				if errs[i] = tx.Remove(tp); errs[i] != nil {
					tx.Rollback()
					return
				}
				errs[i] = tx.Commit()
			})
		}
		wg.Wait()
		removed := 0
		for _, err := range errs {
			if err == nil {
				removed++
				continue
			}
			require.ErrorIs(t, err, ErrNotFound, "round %d", round)
		}
		require.GreaterOrEqual(t, removed, 1, "round %d: somebody removed it", round)
		_, err = os.Stat(filepath.Join(root, "my", tp.String()+".pfx"))
		require.ErrorIs(t, err, fs.ErrNotExist, "round %d", round)
	}
}
