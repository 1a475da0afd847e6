//go:build !windows

package certstore

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/certctl/certctl/pfx"
	"github.com/certctl/certctl/platform"
	"github.com/certctl/certctl/thumbprint"
)

// The file store keeps each store in a folder named after the store in lower
// case (my, root, ca, ...) under the store root, as .NET does on Linux:
//
//	~/.dotnet/corefx/cryptography/x509stores/my/3A5F...B4A3.pfx
//
// Each certificate is one PKCS#12 file named by its upper-case thumbprint,
// encrypted with 3DES under an empty password with a SHA-1 MAC, mode 0600, in
// a folder of mode 0700. When that name is taken by another certificate .NET
// writes <THUMBPRINT>.1.pfx to .9.pfx; certctl reads those and does the same.
// The file holds the certificate and its key first, then the chain it was
// imported with: .NET loads the certificate that has the key and ignores the
// rest, and certctl keeps the chain for sign-in. Importing never adds a
// certificate to Root or CA, so it never changes what the user trusts.
//
// Beside the files, lockName serializes writers (flock) and indexName caches
// each file's metadata, keyed by name, size and modification time, so List
// decrypts only the files that changed since the last List. Neither ends in
// .pfx, which is all that .NET reads.
const (
	indexName = ".certctl-index"
	lockName  = ".certctl.lock"
	pfxExt    = ".pfx"
	// maxCollisions is how many <THUMBPRINT>.N.pfx names .NET tries.
	maxCollisions = 9
)

// Every file in the store folder is reached through an open handle on the
// folder (platform.Dir): never through a symlink, never by a path that
// someone could swap between a check and its use. Changes, and use of a
// key, need the folder to be private (platform.Dir.CheckPrivate: yours, not
// writable by others, and no folder above it writable by others); so does
// List's upkeep of the index. Reading certificates does not.
//
// fileStore is safe for concurrent use: Import and Remove take the store's
// file lock for each change, and the changes to the index are kept in memory
// and written once, by Close.
type fileStore struct {
	name string
	dir  string

	mu      sync.Mutex
	folder  *platform.Dir          // opened by the first use; nil before
	changes map[string]*indexEntry // by file name; nil means removed
}

func openBackend(name string, opts Options) (Store, error) {
	root := opts.Dir
	if root == "" {
		var err error
		if root, err = platform.StoreRoot(); err != nil {
			return nil, fmt.Errorf("open store %s: %w", name, err)
		}
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", name, err)
	}
	return &fileStore{name: name, dir: filepath.Join(root, strings.ToLower(name))}, nil
}

func (s *fileStore) Name() string     { return s.name }
func (s *fileStore) Location() string { return s.dir }

// open returns the store folder, opening it on first use; with create it
// makes the folder (mode 0700) if it is missing. A missing folder gives an
// error matching fs.ErrNotExist.
func (s *fileStore) open(create bool) (*platform.Dir, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.folder != nil {
		return s.folder, nil
	}
	if create {
		if err := platform.MkdirPrivate(s.dir); err != nil {
			return nil, err
		}
	}
	d, err := platform.OpenDir(s.dir)
	if err != nil {
		return nil, err
	}
	s.folder = d
	return d, nil
}

// Close writes the index changes that Import and Remove made. A store that
// is not closed (a crash) only leaves the index behind the files, which the
// next List repairs.
func (s *fileStore) Close() error {
	s.mu.Lock()
	changes, d := s.changes, s.folder
	s.changes, s.folder = nil, nil
	s.mu.Unlock()
	if d == nil {
		return nil
	}
	defer d.Close()
	if len(changes) == 0 {
		return nil
	}
	lock, err := d.Lock(lockName, true)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if err := appendIndex(d, changes); err != nil {
		// The next List rebuilds what is missing.
		d.Remove(indexName)
	}
	return nil
}

// noteChange records an index change for Close to write.
func (s *fileStore) noteChange(name string, ie *indexEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changes == nil {
		s.changes = map[string]*indexEntry{}
	}
	s.changes[name] = ie
}

// candidates are the file names .NET gives the certificate tp, in the order
// it tries them.
func candidates(tp thumbprint.Thumbprint) []string {
	names := make([]string, 0, maxCollisions+1)
	names = append(names, tp.String()+pfxExt)
	for i := 1; i <= maxCollisions; i++ {
		names = append(names, fmt.Sprintf("%s.%d%s", tp, i, pfxExt))
	}
	return names
}

// fileIdentity is a certificate read from a store file. It outlives the
// store's open folder, so it keeps what the checks of its key found when
// the file was read.
type fileIdentity struct {
	bundle *pfx.Bundle
	path   string
	stat   platform.FileStat // of the file as it was read
	folder error             // the folder's CheckPrivate then, for a file with a key
}

func (id *fileIdentity) Thumbprint() thumbprint.Thumbprint { return thumbprint.Of(id.bundle.Leaf) }
func (id *fileIdentity) Certificate() *x509.Certificate    { return id.bundle.Leaf }
func (id *fileIdentity) Chain() []*x509.Certificate        { return id.bundle.Chain }
func (id *fileIdentity) HasPrivateKey() bool               { return id.bundle.Key != nil }

func (id *fileIdentity) Signer() (crypto.Signer, error) {
	if id.bundle.Key == nil {
		return nil, fmt.Errorf("%s: %w", id.path, ErrNoPrivateKey)
	}
	if err := id.checkKey(); err != nil {
		return nil, err
	}
	return id.bundle.Key, nil
}

// checkKey refuses to use a key that others could read or replace: when
// the file was read, it had to be yours with mode 0600, in a private
// folder.
func (id *fileIdentity) checkKey() error {
	if err := id.folder; err != nil {
		return fmt.Errorf("refusing to use the private key in %s: %w", id.path, err)
	}
	if err := id.stat.CheckPrivate(id.path); err != nil {
		return fmt.Errorf("refusing to use the private key: %w", err)
	}
	return nil
}

// readFile decodes the store file name. Store files have an empty
// password; a file that holds only certificates (as .NET writes for Root
// and CA) gives a bundle without a key.
func (s *fileStore) readFile(d *platform.Dir, name string) (*fileIdentity, error) {
	data, st, err := d.ReadFile(name, pfx.MaxFileSize)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(s.dir, name)
	b, err := decodeFile(path, data)
	if err != nil {
		return nil, err
	}
	id := &fileIdentity{bundle: b, path: path, stat: st}
	if b.Key != nil {
		id.folder = d.CheckPrivate()
	}
	return id, nil
}

func decodeFile(path string, data []byte) (*pfx.Bundle, error) {
	c, err := pfx.Read(data, "")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if c.Key == nil {
		return &pfx.Bundle{Leaf: c.Certificates[0], Chain: c.Certificates[1:]}, nil
	}
	bs, err := c.Bundles()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return bs[0], nil
}

// listFile describes one store file for List. It decrypts only the
// certificates, without the MAC or the key, which is all a listing shows;
// whatever uses the key decodes the whole file and checks its MAC. Files
// that reader cannot handle are decoded in full. The key derivations a
// file needs beyond what every common producer's files need are charged to
// budget; a file that would overdraw it is not read.
func listFile(d *platform.Dir, name, path string, budget *workBudget) (Entry, error) {
	data, _, err := d.ReadFile(name, pfx.MaxFileSize)
	if err != nil {
		return Entry{}, err
	}
	if err := budget.charge(path, data); err != nil {
		return Entry{}, err
	}
	if leaf, _, hasKey, err := pfx.ReadStoreCertificates(data, ""); err == nil {
		return NewEntry(leaf, hasKey), nil
	}
	b, err := decodeFile(path, data)
	if err != nil {
		return Entry{}, err
	}
	return NewEntry(b.Leaf, b.Key != nil), nil
}

// Listing spends key derivations only on files that changed since the last
// listing. What the files of every common producer cost (a MAC and two
// encryptions at 2,000 to 10,000 iterations, a PKCS#12 PBE encryption
// counting twice for its key and IV) is free; beyond that, one listing spends at
// most extraListWork iterations in all (a few seconds), so a folder of
// files at pfx.MaxIterations cannot make it take minutes. A file that would
// overdraw the budget is reported unread; the files read are indexed, so
// the next listing goes on with the rest.
const freeListWork = 32 << 10

// extraListWork is a variable for the test that exhausts it.
var extraListWork int64 = 4_000_000

type workBudget struct{ left atomic.Int64 }

func newWorkBudget() *workBudget {
	b := &workBudget{}
	b.left.Store(extraListWork)
	return b
}

// charge takes what data costs beyond freeListWork from the budget, or
// fails when the budget cannot pay it.
func (b *workBudget) charge(path string, data []byte) error {
	work, err := pfx.Work(data)
	if err != nil {
		return nil // decoding reports it
	}
	if extra := work - freeListWork; extra > 0 && b.left.Add(-extra) < 0 {
		return fmt.Errorf("%s: left unread: its key derivations (%d iterations) are over what one listing spends on unusual files; the next listing goes on with it", path, work)
	}
	return nil
}

// isCertFile reports whether a folder entry is one .NET would read as a
// certificate.
func isCertFile(name string) bool {
	return strings.HasSuffix(name, pfxExt) && !strings.HasPrefix(name, ".")
}

// lookup finds tp without the index when it is stored under one of the
// names .NET gives it, which is every file .NET or certctl wrote.
func (s *fileStore) lookup(d *platform.Dir, tp thumbprint.Thumbprint) (*fileIdentity, error) {
	for _, name := range candidates(tp) {
		st, err := d.Stat(name)
		if err != nil || !st.Regular() { // a symlink is never followed
			continue
		}
		id, err := s.readFile(d, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since the stat, by another process
		}
		if err != nil {
			return nil, err
		}
		if thumbprint.Of(id.bundle.Leaf) == tp {
			return id, nil
		}
	}
	return nil, &NotFoundError{Thumbprint: tp, Store: s.name}
}

// find looks under .NET's names first and then, for files someone named
// otherwise, in the index.
func (s *fileStore) find(tp thumbprint.Thumbprint) (*fileIdentity, error) {
	d, err := s.open(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &NotFoundError{Thumbprint: tp, Store: s.name}
	}
	if err != nil {
		return nil, err
	}
	id, err := s.lookup(d, tp)
	if err == nil || !errors.Is(err, ErrNotFound) {
		return id, err
	}
	entries, _ := s.List()
	for _, e := range entries {
		if e.Thumbprint == tp && e.File != "" {
			id, err := s.readFile(d, filepath.Base(e.File))
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed since the listing
			}
			if err != nil {
				return nil, err
			}
			if thumbprint.Of(id.bundle.Leaf) == tp {
				return id, nil
			}
		}
	}
	return nil, &NotFoundError{Thumbprint: tp, Store: s.name}
}

func (s *fileStore) Find(tp thumbprint.Thumbprint) (Identity, error) {
	id, err := s.find(tp)
	if err != nil {
		return nil, err
	}
	return id, nil
}

func (s *fileStore) List() ([]Entry, error) {
	d, err := s.open(false)
	if errors.Is(err, fs.ErrNotExist) {
		return []Entry{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list store %s: %w", s.name, err)
	}
	names, err := d.Names()
	if err != nil {
		return nil, fmt.Errorf("list store %s: %w", s.name, err)
	}
	// Read the index while every core stats its share of the files: a stat
	// is a system call, and in a large store they are most of a listing.
	loaded := make(chan indexFile, 1)
	go func() { loaded <- loadIndex(d) }()

	files, problems, leftovers := s.statAll(d, names)
	idx := <-loaded
	// fresh holds the positions in idx of the files whose entry still
	// describes them; the others are read again.
	fresh := make([]int32, 0, len(files))
	var stale []indexEntry
	for _, f := range files {
		if p, ok := idx.byName[f.Name]; ok && idx.meta[p].Size == f.Size && idx.meta[p].ModTime == f.ModTime {
			fresh = append(fresh, p)
			continue
		}
		stale = append(stale, indexEntry{Name: f.Name, Size: f.Size, ModTime: f.ModTime})
	}
	decoded, errs := s.decodeAll(d, stale)
	problems = append(problems, errs...)
	// Rewrite the index when it missed files, named files that are gone,
	// or has grown by appends to twice what it describes. Best effort: a
	// store we cannot or may not write to still lists.
	total := len(fresh) + len(decoded)
	if len(stale) > 0 || len(fresh) != len(idx.byName) || idx.Lines > 2*total+64 || len(leftovers) > 0 {
		all := make([]indexEntry, 0, total)
		for _, p := range fresh {
			m := idx.meta[p]
			all = append(all, indexEntry{Name: m.Name, Size: m.Size, ModTime: m.ModTime, Entry: idx.entries[p]})
		}
		_ = saveIndex(d, append(all, decoded...), leftovers)
	}

	// The list reuses the index's entries in place: taken in ascending
	// positions, each moves only towards the front.
	slices.Sort(fresh)
	list, metas := idx.entries[:0], idx.meta[:0]
	for _, p := range fresh {
		list = append(list, idx.entries[p])
		metas = append(metas, idx.meta[p])
	}
	for _, ie := range decoded {
		list = append(list, ie.Entry)
		metas = append(metas, fileMeta{Name: ie.Name})
	}
	// Every path in one string.
	size := 0
	for _, m := range metas {
		size += len(s.dir) + 1 + len(m.Name)
	}
	var paths strings.Builder
	paths.Grow(size)
	for _, m := range metas {
		paths.WriteString(s.dir)
		paths.WriteByte(filepath.Separator)
		paths.WriteString(m.Name)
	}
	all, at := paths.String(), 0
	for i, m := range metas {
		n := len(s.dir) + 1 + len(m.Name)
		list[i].File = all[at : at+n]
		at += n
	}
	// One entry per thumbprint: prefer the file with a key, then the name
	// .NET would pick first. Copies of a certificate sort next to each
	// other, best first.
	list = sortEntries(list, true)
	if len(problems) > 0 {
		return list, &UnreadableError{Problems: problems}
	}
	return list, nil
}

// statAll stats the store files among names on every core, each
// goroutine its share of the names, and returns them in the order of
// names with the problems and leftovers statFiles found.
func (s *fileStore) statAll(d *platform.Dir, names []string) (files []fileMeta, problems []error, leftovers []string) {
	// Each share fills its own part of files; the parts are then closed up.
	files = make([]fileMeta, len(names))
	workers := max(1, min(runtime.GOMAXPROCS(0), len(names)/statsPerWorker))
	shares := make([]statShare, workers)
	bounds := func(w int) (int, int) { return w * len(names) / workers, (w + 1) * len(names) / workers }
	var wg sync.WaitGroup
	for w := range shares {
		lo, hi := bounds(w)
		if w == workers-1 {
			shares[w] = s.statFiles(d, names[lo:hi], files[lo:hi]) // this goroutine's share
			continue
		}
		wg.Go(func() { shares[w] = s.statFiles(d, names[lo:hi], files[lo:hi]) })
	}
	wg.Wait()
	n := 0
	for w, sh := range shares {
		lo, _ := bounds(w)
		n += copy(files[n:], files[lo:lo+sh.n])
		problems = append(problems, sh.problems...)
		leftovers = append(leftovers, sh.leftovers...)
	}
	return files[:n], problems, leftovers
}

// statsPerWorker is the fewest names worth a goroutine of their own.
const statsPerWorker = 256

// statShare is what statFiles found of its share of a folder's names.
type statShare struct {
	n         int // store files, at the start of the share's part of files
	problems  []error
	leftovers []string
}

// statFiles stats the store files among names and puts them, in order, at
// the start of files (as long as names); it notes the temporary files that
// writers killed mid-write left behind.
func (s *fileStore) statFiles(d *platform.Dir, names []string, files []fileMeta) statShare {
	var sh statShare
	for _, name := range names {
		if strings.HasPrefix(name, platform.TempPrefix) && strings.HasSuffix(name, platform.TempSuffix) {
			sh.leftovers = append(sh.leftovers, name)
			continue
		}
		if !isCertFile(name) {
			continue
		}
		st, err := d.Stat(name) // a symlink is reported, not followed
		if err != nil {
			continue // removed while we listed
		}
		if !st.Regular() {
			sh.problems = append(sh.problems, fmt.Errorf("%s: not a regular file (a symlink or folder is never followed)", filepath.Join(s.dir, name)))
			continue
		}
		files[sh.n] = fileMeta{Name: name, Size: st.Size, ModTime: st.ModTime}
		sh.n++
	}
	return sh
}

// decodeAll reads the files that changed since the index was written, on
// every core, within one key-derivation budget.
func (s *fileStore) decodeAll(d *platform.Dir, todo []indexEntry) ([]indexEntry, []error) {
	budget := newWorkBudget()
	type result struct {
		ie  indexEntry
		err error
	}
	results := make([]result, len(todo))
	workers := min(runtime.GOMAXPROCS(0), len(todo))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				ie := todo[i]
				e, err := listFile(d, ie.Name, filepath.Join(s.dir, ie.Name), budget)
				if err != nil {
					results[i].err = err
					continue
				}
				ie.Entry = e
				results[i].ie = ie
			}
		}()
	}
	for i := range todo {
		next <- i
	}
	close(next)
	wg.Wait()

	var ok []indexEntry
	var errs []error
	for _, r := range results {
		if r.err != nil {
			errs = append(errs, r.err)
		} else {
			ok = append(ok, r.ie)
		}
	}
	return ok, errs
}

// prepareWrite creates the store folder if needed, refuses one that others
// could change and takes the writers' lock.
func (s *fileStore) prepareWrite() (*platform.Dir, *platform.Lock, error) {
	d, err := s.open(true)
	if err != nil {
		return nil, nil, err
	}
	if err := d.CheckPrivate(); err != nil {
		return nil, nil, fmt.Errorf("refusing to change store %s: %w", s.name, err)
	}
	lock, err := d.Lock(lockName, true)
	return d, lock, err
}

func (s *fileStore) Import(b *pfx.Bundle, opts ImportOptions) (Imported, error) {
	res, _, err := s.importReplacing(b, opts)
	return res, err
}

// importReplacing is Import that also returns, when b has a key and the
// store held its certificate without one, that certificate and its chain as
// the file held them before b replaced it (for Tx.Rollback).
func (s *fileStore) importReplacing(b *pfx.Bundle, opts ImportOptions) (Imported, *pfx.Bundle, error) {
	if err := checkBundle(b); err != nil {
		return Imported{}, nil, fmt.Errorf("import into store %s: %w", s.name, err)
	}
	tp := thumbprint.Of(b.Leaf)
	// Encoding is the slow part (key derivations); do it before taking the
	// lock so that imports in parallel use every core.
	data, err := pfx.EncodeStore(b)
	if err != nil {
		return Imported{}, nil, fmt.Errorf("import %s into store %s: %w", tp, s.name, err)
	}
	d, lock, err := s.prepareWrite()
	if err != nil {
		return Imported{}, nil, fmt.Errorf("import %s into store %s: %w", tp, s.name, err)
	}
	defer lock.Unlock()

	existing, err := s.lookup(d, tp)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Imported{}, nil, fmt.Errorf("import %s into store %s: %w", tp, s.name, err)
	}
	name := ""
	var replaced *pfx.Bundle
	if existing != nil {
		if existing.HasPrivateKey() || b.Key == nil {
			e := NewEntry(existing.bundle.Leaf, existing.HasPrivateKey())
			e.File = existing.path
			return Imported{Entry: e}, nil, nil
		}
		name = filepath.Base(existing.path) // add the key to the same file
		replaced = &pfx.Bundle{Leaf: existing.bundle.Leaf, Chain: existing.bundle.Chain}
	} else if name, err = s.freeName(d, tp); err != nil {
		return Imported{}, nil, fmt.Errorf("import %s into store %s: %w", tp, s.name, err)
	}

	if err := d.WriteFileAtomic(name, data); err != nil {
		return Imported{}, nil, fmt.Errorf("import %s into store %s: %w", tp, s.name, err)
	}
	e := NewEntry(b.Leaf, b.Key != nil)
	e.File = filepath.Join(s.dir, name)
	if st, err := d.Stat(name); err == nil {
		s.noteChange(name, &indexEntry{Name: name, Size: st.Size, ModTime: st.ModTime, Entry: e})
	}
	return Imported{Entry: e, Added: true}, replaced, nil
}

// freeName picks the first of .NET's names for tp that no file has.
func (s *fileStore) freeName(d *platform.Dir, tp thumbprint.Thumbprint) (string, error) {
	for _, name := range candidates(tp) {
		if _, err := d.Stat(name); errors.Is(err, fs.ErrNotExist) {
			return name, nil
		}
	}
	return "", fmt.Errorf("all %d file names for %s are taken by other files in %s", maxCollisions+1, tp, s.dir)
}

func (s *fileStore) Remove(tp thumbprint.Thumbprint) error {
	if _, err := s.open(false); errors.Is(err, fs.ErrNotExist) {
		return &NotFoundError{Thumbprint: tp, Store: s.name}
	}
	d, lock, err := s.prepareWrite()
	if err != nil {
		return fmt.Errorf("remove %s from store %s: %w", tp, s.name, err)
	}
	defer lock.Unlock()

	// Every file that holds tp goes, so the certificate does not come back
	// from a .1.pfx copy.
	var paths []string
	for {
		id, err := s.find(tp)
		if errors.Is(err, ErrNotFound) {
			break
		}
		if err != nil {
			return fmt.Errorf("remove %s from store %s: %w", tp, s.name, err)
		}
		if err := d.Remove(filepath.Base(id.path)); err != nil {
			return fmt.Errorf("remove %s from store %s: %w", tp, s.name, err)
		}
		paths = append(paths, id.path)
	}
	if len(paths) == 0 {
		return &NotFoundError{Thumbprint: tp, Store: s.name}
	}
	if err := d.Sync(); err != nil {
		return fmt.Errorf("remove %s from store %s: %w", tp, s.name, err)
	}
	for _, p := range paths {
		s.noteChange(filepath.Base(p), nil)
	}
	return nil
}

func (s *fileStore) Export(tp thumbprint.Thumbprint, withKey bool) (*pfx.Bundle, error) {
	id, err := s.find(tp)
	if err != nil {
		return nil, err
	}
	b := *id.bundle
	if !withKey {
		b.Key = nil
		return &b, nil
	}
	if b.Key == nil {
		return nil, fmt.Errorf("export %s from store %s: %w", tp, s.name, ErrNoPrivateKey)
	}
	if err := id.checkKey(); err != nil {
		return nil, err
	}
	return &b, nil
}

// snapshot is the certificate tp as its file holds it, key included, for
// Tx.Remove to put back.
func (s *fileStore) snapshot(tp thumbprint.Thumbprint) (*pfx.Bundle, error) {
	id, err := s.find(tp)
	if err != nil {
		return nil, err
	}
	b := *id.bundle
	return &b, nil
}

// Create generates the key in memory, where the file store keeps every key
// until it writes it into the store's own file, and imports it with its
// certificate.
func (s *fileStore) Create(n NewCertificate) (Entry, error) {
	if err := n.check(); err != nil {
		return Entry{}, fmt.Errorf("create a certificate in store %s: %w", s.name, err)
	}
	key, err := generateKey(n.KeyType)
	if err != nil {
		return Entry{}, fmt.Errorf("create a certificate in store %s: %w", s.name, err)
	}
	cert, err := selfSign(n, key.Public(), key)
	if err != nil {
		return Entry{}, fmt.Errorf("create a certificate in store %s: %w", s.name, err)
	}
	res, err := s.Import(&pfx.Bundle{Leaf: cert, Key: key}, ImportOptions{Exportable: n.Exportable})
	if err != nil {
		return Entry{}, err
	}
	return res.Entry, nil
}

// generateKey makes a key of type kt in memory, for the file store, which
// keeps keys in its own files.
func generateKey(kt KeyType) (crypto.Signer, error) {
	if bits, ok := kt.rsaBits(); ok {
		return rsa.GenerateKey(rand.Reader, bits)
	}
	if c, ok := kt.curve(); ok {
		return ecdsa.GenerateKey(c, rand.Reader)
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownKeyType, kt)
}

// backendExists reports whether the store's folder exists. Another problem
// with it (a folder others may write to, a symlink) is left to the method
// that uses the store, which reports it as it does for a well-known store.
func backendExists(st Store) (bool, error) {
	_, err := st.(*fileStore).open(false)
	return !errors.Is(err, fs.ErrNotExist), nil
}

// backendStores lists the store folders under the store root: each folder
// whose name is a store name in lower case, as openBackend names them.
func backendStores(opts Options) ([]string, error) {
	root := opts.Dir
	if root == "" {
		var err error
		if root, err = platform.StoreRoot(); err != nil {
			return nil, fmt.Errorf("list stores: %w", err)
		}
	}
	des, err := os.ReadDir(root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("list stores: %w", err)
	}
	var names []string
	for _, de := range des {
		if !de.IsDir() {
			continue
		}
		name, err := CanonicalName(de.Name())
		if err != nil || strings.ToLower(name) != de.Name() {
			// Not a folder a store name maps to.
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}
