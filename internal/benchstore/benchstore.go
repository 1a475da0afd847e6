// Package benchstore builds the certificate stores and PFX files the
// benchmarks run on, and caches them between runs.
//
// A store of n certificates is written as .NET writes its Linux CurrentUser
// store: one <THUMBPRINT>.pfx per certificate (pfx.EncodeStore: 3DES, SHA-1
// MAC, 2000 iterations, empty password), mode 0600, in <root>/my, mode 0700.
// Every certificate has the same RSA 2048 key (generating keys is the slow
// part, and a store file's cost does not depend on which key it holds), its
// own serial number and subject, and is issued by an ECDSA P-256 CA, which
// signs faster than RSA. Building costs about 1.3 ms a file on one core, so
// it runs on every core, and the result is kept in
// os.TempDir()/certctl-bench-<n>-v1 for the next run; a folder that was not
// finished is rebuilt.
//
// Nothing is built until a benchmark asks, so "go test" without -bench does
// no work here.
package benchstore

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/testcert"
	"github.com/certctl/certctl/pfx"
	"github.com/certctl/certctl/thumbprint"
)

// version names the fixture layout; change it when the layout changes so
// old caches are not reused.
const version = "v1"

// StoreName is the store the fixtures fill, and storeDir its folder.
const (
	StoreName = "My"
	storeDir  = "my"
	doneName  = ".complete"
)

// ImportPassword protects the files ImportFiles makes.
const ImportPassword = "certctl-bench"

var (
	keysOnce sync.Once
	leafKey  crypto.Signer
	ca       *pfx.Bundle
	keysErr  error
)

func keys() error {
	keysOnce.Do(func() {
		if leafKey, keysErr = testcert.NewKey("rsa"); keysErr != nil {
			return
		}
		ca, keysErr = testcert.New("certctl bench CA", testcert.Options{
			Key: "ecdsa", Serial: big.NewInt(1),
			NotAfter: time.Now().Add(10 * 365 * 24 * time.Hour),
		})
	})
	return keysErr
}

// bundle makes certificate number i with the shared RSA key.
func bundle(prefix string, i int) (*pfx.Bundle, error) {
	if err := keys(); err != nil {
		return nil, err
	}
	b, err := testcert.New(fmt.Sprintf("certctl %s %06d", prefix, i), testcert.Options{
		Signer: leafKey, Parent: ca, Serial: big.NewInt(int64(i) + 1000),
		Organization: []string{"certctl benchmarks"},
		NotAfter:     time.Now().Add(5 * 365 * 24 * time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, err
	}
	b.Chain = nil // the leaves are stored alone, as before
	return b, nil
}

// parallel runs f(0) ... f(n-1) on every core and returns the first error.
func parallel(n int, f func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, runtime.GOMAXPROCS(0))
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					errs <- err
					next.Store(int64(n)) // stop the others
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// cached returns the folder cacheName, building it with build when it is
// missing or unfinished. build writes into a new folder that is renamed into
// place when complete, so concurrent runs never see half a fixture.
func cached(tb testing.TB, cacheName string, build func(dir string) error) string {
	tb.Helper()
	final := filepath.Join(os.TempDir(), cacheName)
	if _, err := os.Stat(filepath.Join(final, doneName)); err == nil {
		return final
	}
	tmp, err := os.MkdirTemp(os.TempDir(), cacheName+".tmp-")
	if err != nil {
		tb.Fatal(err)
	}
	defer os.RemoveAll(tmp) // what is left when the rename fails
	start := time.Now()
	if err := build(tmp); err != nil {
		tb.Fatalf("building %s: %v", cacheName, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, doneName), []byte(strconv.FormatInt(time.Now().Unix(), 10)+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(final, doneName)); err == nil {
		return final // another run finished first
	}
	os.RemoveAll(final) // an unfinished one
	if err := os.Rename(tmp, final); err != nil && !errors.Is(err, fs.ErrExist) {
		if _, serr := os.Stat(filepath.Join(final, doneName)); serr != nil {
			tb.Fatal(err)
		}
	}
	tb.Logf("built %s in %v (kept for later runs)", final, time.Since(start).Round(time.Millisecond))
	return final
}

// CachedStore returns the root of the cached store of n certificates (the
// store folder is root/my), building it if needed. Benchmarks must not
// change it: use Store for a copy.
func CachedStore(tb testing.TB, n int) string {
	tb.Helper()
	return cached(tb, fmt.Sprintf("certctl-bench-%d-%s", n, version), func(root string) error {
		dir := filepath.Join(root, storeDir)
		if err := os.Mkdir(dir, 0o700); err != nil {
			return err
		}
		if err := os.Chmod(root, 0o700); err != nil {
			return err
		}
		return parallel(n, func(i int) error {
			b, err := bundle("bench", i)
			if err != nil {
				return err
			}
			data, err := pfx.EncodeStore(b)
			if err != nil {
				return err
			}
			name := thumbprint.Of(b.Leaf).String() + ".pfx"
			return os.WriteFile(filepath.Join(dir, name), data, 0o600)
		})
	})
}

// Store returns a new store root in a temporary folder holding the n
// certificates of CachedStore, without an index. The files are hard links
// to the cache (copies where links fail): the store only ever replaces or
// removes files, never writes into them.
func Store(tb testing.TB, n int) string {
	tb.Helper()
	src := filepath.Join(CachedStore(tb, n), storeDir)
	root := tb.TempDir()
	dst := filepath.Join(root, storeDir)
	if err := os.Mkdir(dst, 0o700); err != nil {
		tb.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".pfx") {
			continue
		}
		from, to := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		if err := os.Link(from, to); err != nil {
			if err := copyFile(from, to); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return root
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// StoreDir is the folder of the store in root.
func StoreDir(root string) string { return filepath.Join(root, storeDir) }

// DropIndex makes the store at root cold: it removes everything in the
// store folder but the certificate files and the writers' lock, so the next
// list reads every file.
func DropIndex(tb testing.TB, root string) {
	tb.Helper()
	dir := StoreDir(root)
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".pfx") || e.Name() == ".certctl.lock" {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			tb.Fatal(err)
		}
	}
}

// Thumbprints returns the thumbprints in the store at root, sorted, from
// the file names.
func Thumbprints(tb testing.TB, root string) []thumbprint.Thumbprint {
	tb.Helper()
	entries, err := os.ReadDir(StoreDir(root))
	if err != nil {
		tb.Fatal(err)
	}
	var tps []thumbprint.Thumbprint
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".pfx")
		if !ok {
			continue
		}
		tp, err := thumbprint.Parse(name)
		if err != nil {
			tb.Fatal(err)
		}
		tps = append(tps, tp)
	}
	sort.Slice(tps, func(i, j int) bool { return tps[i].String() < tps[j].String() })
	return tps
}

// ImportFiles returns n PFX files to import, protected with ImportPassword
// and encrypted as OpenSSL 3 does by default (AES-256-CBC, PBKDF2-HMAC-
// SHA-256, HMAC-SHA-256 MAC, 2048 iterations), with certificates none of
// the stores hold. They are cached like the stores.
func ImportFiles(tb testing.TB, n int) []string {
	tb.Helper()
	dir := cached(tb, fmt.Sprintf("certctl-bench-import-%d-%s", n, version), func(dir string) error {
		return parallel(n, func(i int) error {
			b, err := bundle("bench import", i)
			if err != nil {
				return err
			}
			data, err := pfx.EncodeExport(b, ImportPassword, true)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, fmt.Sprintf("%06d.pfx", i)), data, 0o600)
		})
	})
	files := make([]string, n)
	for i := range files {
		files[i] = filepath.Join(dir, fmt.Sprintf("%06d.pfx", i))
	}
	return files
}
