//go:build !windows

package certstore

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/certctl/certctl/internal/testcert"
	"github.com/certctl/certctl/pfx"
	"github.com/certctl/certctl/thumbprint"
)

func TestCustomStoreNeedsCreate(t *testing.T) {
	root := t.TempDir()
	_, err := Open("Mx", Options{Dir: root})
	require.ErrorIs(t, err, ErrStoreNotFound)
	var snf *StoreNotFoundError
	require.True(t, errors.As(err, &snf), "%v", err)
	assert.Equal(t, "Mx", snf.Name)
	assert.Equal(t, filepath.Join(root, "mx"), snf.Location)
	assert.Equal(t, `store "Mx" does not exist`, err.Error())
	assert.NoDirExists(t, filepath.Join(root, "mx"), "Open makes nothing")

	// A well-known name needs no --create, in any case, and lists as empty.
	for _, name := range []string{"TrustedPeople", "root", "MY"} {
		s, err := Open(name, Options{Dir: root})
		require.NoError(t, err, name)
		assert.Empty(t, listOf(t, s))
		require.NoError(t, s.Close())
	}

	// With Create it opens; nothing is made until the first import.
	s, err := Open("Mx", Options{Dir: root, Create: true})
	require.NoError(t, err)
	assert.Empty(t, listOf(t, s))
	assert.NoDirExists(t, filepath.Join(root, "mx"))
	_, err = s.Import(mint(t, "certctl custom store", "ecdsa", nil), ImportOptions{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	assert.DirExists(t, filepath.Join(root, "mx"))

	// Once made, it opens without Create, in any case.
	s, err = Open("MX", Options{Dir: root})
	require.NoError(t, err)
	assert.Len(t, listOf(t, s), 1)
	require.NoError(t, s.Close())

	// A bad name is still ErrInvalidName, not ErrStoreNotFound.
	_, err = Open("../x", Options{Dir: root})
	assert.ErrorIs(t, err, ErrInvalidName)
}

func TestStores(t *testing.T) {
	root := t.TempDir()
	names, err := Stores(Options{Dir: filepath.Join(root, "none")})
	require.NoError(t, err)
	assert.Empty(t, names, "no store root yet")

	for _, name := range []string{"My", "trustedpeople", "Web-Servers"} {
		s, err := Open(name, Options{Dir: root, Create: true})
		require.NoError(t, err)
		_, err = s.Import(mint(t, "certctl stores "+name, "ecdsa", nil), ImportOptions{})
		require.NoError(t, err)
		require.NoError(t, s.Close())
	}
	// Not stores: a file, a folder with upper case or a bad name.
	require.NoError(t, os.WriteFile(filepath.Join(root, "file"), nil, 0o600))
	require.NoError(t, os.Mkdir(filepath.Join(root, "Upper"), 0o700))
	require.NoError(t, os.Mkdir(filepath.Join(root, "a b"), 0o700))
	names, err = Stores(Options{Dir: root})
	require.NoError(t, err)
	assert.Equal(t, []string{"My", "TrustedPeople", "web-servers"}, names)
}

// ekuCert is a certificate with DNS names and extended key usages, known
// to crypto/x509 and not.
func ekuCert(t *testing.T) *pfx.Bundle {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:       big.NewInt(42),
		Subject:            pkix.Name{CommonName: "certctl eku"},
		NotBefore:          time.Now().Add(-time.Hour),
		NotAfter:           time.Now().Add(time.Hour),
		DNSNames:           []string{"a.example", "b.example", "odd,name\twith\\escapes"},
		ExtKeyUsage:        []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageAny, x509.ExtKeyUsageMicrosoftKernelCodeSigning},
		UnknownExtKeyUsage: []asn1.ObjectIdentifier{{1, 3, 6, 1, 4, 1, 311, 20, 2, 2}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &pfx.Bundle{Leaf: cert, Key: key}
}

func TestEntryNamesAndUsages(t *testing.T) {
	b := ekuCert(t)
	e := NewEntry(b.Leaf, true)
	assert.Equal(t, []string{"a.example", "b.example", "odd,name\twith\\escapes"}, e.DNSNames)
	assert.Equal(t, []string{"1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2", "2.5.29.37.0", "1.3.6.1.4.1.311.61.1.1", "1.3.6.1.4.1.311.20.2.2"}, e.ExtKeyUsages)
	plain := NewEntry(mint(t, "certctl plain", "ecdsa", nil).Leaf, true)
	assert.Nil(t, plain.DNSNames)
	assert.Nil(t, plain.ExtKeyUsages)

	// Through the index: the cold listing decodes the files and writes the
	// index, the warm one reads it; both say the same.
	root := t.TempDir()
	s, err := Open("My", Options{Dir: root})
	require.NoError(t, err)
	other := testcert.Mint(t, "certctl server", testcert.Options{Key: "ecdsa", DNSNames: []string{"www.example"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	for _, x := range []*pfx.Bundle{b, other, mint(t, "certctl none", "ecdsa", nil)} {
		_, err := s.Import(x, ImportOptions{})
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())
	require.NoError(t, os.Remove(filepath.Join(root, "my", indexName)))

	list := func() map[thumbprint.Thumbprint]Entry {
		s, err := Open("My", Options{Dir: root})
		require.NoError(t, err)
		defer s.Close()
		m := map[thumbprint.Thumbprint]Entry{}
		for _, e := range listOf(t, s) {
			m[e.Thumbprint] = e
		}
		return m
	}
	cold := list()
	index, err := os.ReadFile(filepath.Join(root, "my", indexName))
	require.NoError(t, err)
	assert.Contains(t, string(index), "certctl-index 3\n")
	assert.Contains(t, string(index), `a.example,b.example,odd\cname\twith\\escapes,`)
	warm := list()
	assert.Equal(t, cold, warm)
	got := warm[thumbprint.Of(b.Leaf)]
	assert.Equal(t, e.DNSNames, got.DNSNames)
	assert.Equal(t, e.ExtKeyUsages, got.ExtKeyUsages)
	assert.Equal(t, []string{"www.example"}, warm[thumbprint.Of(other.Leaf)].DNSNames)
	assert.Equal(t, []string{"1.3.6.1.5.5.7.3.1"}, warm[thumbprint.Of(other.Leaf)].ExtKeyUsages)
}

func TestOldIndexIsRebuilt(t *testing.T) {
	root := t.TempDir()
	s, err := Open("My", Options{Dir: root})
	require.NoError(t, err)
	b := ekuCert(t)
	_, err = s.Import(b, ImportOptions{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	// An index of version 2 (no names or usages) is not read.
	name := thumbprint.Of(b.Leaf).String() + ".pfx"
	st, err := os.Stat(filepath.Join(root, "my", name))
	require.NoError(t, err)
	old := "certctl-index 2\n" + name + "\t" + itoa(st.Size()) + "\t" + itoa(st.ModTime().UnixNano()) + "\t" + thumbprint.Of(b.Leaf).String() + "\t0\t0\t1\tECDSA P-256\t2A\tCN=certctl eku\tCN=certctl eku\n"
	require.NoError(t, os.WriteFile(filepath.Join(root, "my", indexName), []byte(old), 0o600))
	s, err = Open("My", Options{Dir: root})
	require.NoError(t, err)
	defer s.Close()
	list := listOf(t, s)
	require.Len(t, list, 1)
	assert.Equal(t, []string{"a.example", "b.example", "odd,name\twith\\escapes"}, list[0].DNSNames)
	assert.Len(t, list[0].ExtKeyUsages, 5)
}

func TestIndexListsRoundTrip(t *testing.T) {
	for _, items := range [][]string{nil, {""}, {"", ""}, {"a"}, {"a,b", `c\`, "d\n\t\r", `\c`}} {
		got, ok := parseList(encodeList(items))
		require.True(t, ok)
		assert.Equal(t, items, got)
	}
	_, ok := parseList("no-comma")
	assert.False(t, ok)
}

func itoa(n int64) string { return big.NewInt(n).String() }
