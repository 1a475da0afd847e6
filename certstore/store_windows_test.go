//go:build windows

package certstore

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/windows"

	"github.com/certctl/certctl/pfx"
	"github.com/certctl/certctl/thumbprint"
)

// isWine reports whether the tests run under Wine, which ntdll gives away by
// exporting wine_get_version.
func isWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}

// windowsLimits are what the Windows backend cannot do where the tests run.
func windowsLimits() limits {
	lim := limits{exportPolicy: true}
	if isWine() {
		lim.noPSS = "RSA keys go into CryptoAPI containers (Import's always, Create's where CNG keeps no keys, as under Wine), whose CryptSignHash has no PSS padding, and Wine's NCryptOpenKey cannot open them for CNG's"
		lim.noECDSA = "Wine's NCryptImportKey and NCryptCreatePersistedKey fail with NTE_NOT_SUPPORTED for ECDSA keys, which only CNG holds, so they can neither be imported nor created under Wine; TestWindowsECDSAUnderWine checks that both fail cleanly"
	}
	return lim
}

// testStoreName is a custom store name no one else uses.
func testStoreName(t *testing.T) string {
	var b [6]byte
	rand.Read(b[:])
	return fmt.Sprintf("certctl-test-%x", b)
}

// newTestStore opens a custom CurrentUser store of its own, with a second
// one as its chain store, so tests run against the real system stores
// without touching My or CA. Cleanup removes what the test left, keys
// included, and deletes both stores.
func newTestStore(t *testing.T) *windowsStore {
	t.Helper()
	name := testStoreName(t)
	s := &windowsStore{name: name, chainStore: name + "-ca"}
	t.Cleanup(func() {
		for _, n := range []string{s.name, s.chainStore} {
			emptyStore(t, &windowsStore{name: n, chainStore: n})
			deleteSystemStore(t, n)
		}
	})
	return s
}

// emptyStore removes every certificate of s, with its key.
func emptyStore(t *testing.T, s *windowsStore) {
	list, err := s.List()
	if err != nil {
		t.Errorf("cleanup: list %s: %v", s.name, err)
	}
	for _, e := range list {
		if err := s.Remove(e.Thumbprint); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
}

// deleteSystemStore deletes a custom CurrentUser store. CertOpenStore with
// CERT_STORE_DELETE_FLAG returns no handle and reports success as a last
// error of 0, which x/sys/windows's wrapper cannot tell from failure.
func deleteSystemStore(t *testing.T, name string) {
	name16, err := windows.UTF16PtrFromString(name)
	require.NoError(t, err)
	_, _, errno := crypt32.NewProc("CertOpenStore").Call(
		windows.CERT_STORE_PROV_SYSTEM, // lpszStoreProvider
		0,                              // dwEncodingType
		0,                              // hCryptProv
		windows.CERT_SYSTEM_STORE_CURRENT_USER|windows.CERT_STORE_DELETE_FLAG, // dwFlags
		uintptr(unsafe.Pointer(name16)),                                       // pvPara
	)
	runtime.KeepAlive(name16)
	if errno != nil && !errors.Is(errno, windows.ERROR_SUCCESS) && !errors.Is(errno, windows.ERROR_FILE_NOT_FOUND) {
		t.Errorf("cleanup: delete store %s: %v", name, errno)
	}
}

func TestWindowsConformance(t *testing.T) {
	t.Logf("under Wine: %v", isWine())
	testConformanceWithin(t, windowsLimits(), func(t *testing.T) (Store, func() Store) {
		s := newTestStore(t)
		return s, func() Store {
			s2, err := Open(s.name, Options{Create: true})
			require.NoError(t, err)
			s2.(*windowsStore).chainStore = s.chainStore
			return s2
		}
	})
}

// fixtureBundle decodes a PFX file of testdata/pfx.
func fixtureBundle(t *testing.T, name string) *pfx.Bundle {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "pfx", name))
	require.NoError(t, err)
	b, err := pfx.Decode(data, "certctl-test")
	require.NoError(t, err)
	return b
}

// keyOfStored reads where the store keeps the key of tp.
func keyOfStored(t *testing.T, s *windowsStore, tp thumbprint.Thumbprint) *keyRef {
	t.Helper()
	id, err := s.find(tp)
	require.NoError(t, err)
	require.NotNil(t, id.key, "certificate %s has no key", tp)
	return id.key
}

// signPKCS1 signs a SHA-256 digest through the identity and verifies it
// with the certificate's RSA public key.
func signPKCS1(t *testing.T, id Identity) {
	t.Helper()
	signer, err := id.Signer()
	require.NoError(t, err)
	digest := sha256.Sum256([]byte("certctl " + id.Thumbprint().String()))
	sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	require.NoError(t, err)
	require.NoError(t, rsa.VerifyPKCS1v15(id.Certificate().PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig))
}

// TestWindowsHelperProcess is not a test: TestWindowsSecondProcess runs
// the test binary again with it, so that a second process opens the store
// and signs. It prints the signature in hex.
func TestWindowsHelperProcess(t *testing.T) {
	store, tp, digest := os.Getenv("CERTCTL_HELPER_STORE"), os.Getenv("CERTCTL_HELPER_TP"), os.Getenv("CERTCTL_HELPER_DIGEST")
	if store == "" {
		t.Skip("run by TestWindowsSecondProcess")
	}
	s, err := Open(store, Options{})
	require.NoError(t, err)
	id, err := s.Find(thumbprint.MustParse(tp))
	require.NoError(t, err)
	signer, err := id.Signer()
	require.NoError(t, err)
	d, err := hex.DecodeString(digest)
	require.NoError(t, err)
	sig, err := signer.Sign(rand.Reader, d, crypto.SHA256)
	require.NoError(t, err)
	fmt.Printf("signature=%x\n", sig)
}

// Two PFX files as OpenSSL writes them, imported and then used from another
// process: each key must be in its own container and sign for its own
// certificate.
func TestWindowsSecondProcess(t *testing.T) {
	s := newTestStore(t)
	bundles := []*pfx.Bundle{fixtureBundle(t, "openssl3-default.pfx"), fixtureBundle(t, "openssl-legacy.pfx")}
	for _, b := range bundles {
		res, err := s.Import(b, ImportOptions{})
		require.NoError(t, err)
		assert.True(t, res.Added)
		assert.Equal(t, thumbprint.Of(b.Leaf), res.Entry.Thumbprint)
	}
	for _, b := range bundles {
		tp := thumbprint.Of(b.Leaf)
		digest := sha256.Sum256([]byte("second process " + tp.String()))
		sig := signInOtherProcess(t, s.name, tp, digest[:])
		assert.NoError(t, rsa.VerifyPKCS1v15(b.Leaf.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig), "signature of %s", b.Leaf.Subject)
	}
}

// signInOtherProcess has TestWindowsHelperProcess, in a process of its own,
// sign the SHA-256 digest with the key of tp in the store.
func signInOtherProcess(t *testing.T, store string, tp thumbprint.Thumbprint, digest []byte) []byte {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^TestWindowsHelperProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "CERTCTL_HELPER_STORE="+store, "CERTCTL_HELPER_TP="+tp.String(), "CERTCTL_HELPER_DIGEST="+hex.EncodeToString(digest))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	_, after, ok := strings.Cut(string(out), "signature=")
	require.True(t, ok, "%s", out)
	sig, err := hex.DecodeString(strings.Fields(after)[0])
	require.NoError(t, err)
	return sig
}

func TestWindowsKeyContainers(t *testing.T) {
	s := newTestStore(t)
	a := mint(t, "certctl container A", "rsa", nil)
	b := mint(t, "certctl container B", "rsa", nil)
	for _, bundle := range []*pfx.Bundle{a, b} {
		_, err := s.Import(bundle, ImportOptions{})
		require.NoError(t, err)
	}
	ra, rb := keyOfStored(t, s, thumbprint.Of(a.Leaf)), keyOfStored(t, s, thumbprint.Of(b.Leaf))
	assert.NotEqual(t, ra.container, rb.container, "each key gets its own container")
	assert.True(t, strings.HasPrefix(ra.container, "certctl-"), ra.container)
	assert.Equal(t, msEnhRSAAESProv, ra.provider)
	assert.Equal(t, uint32(windows.PROV_RSA_AES), ra.provType)
	assert.Equal(t, uint32(atKeyExchange), ra.keySpec)

	// Not exportable unless imported so; the certificate alone is.
	_, err := s.Export(thumbprint.Of(a.Leaf), true)
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrNotExportable), "%v", err)
	assert.Contains(t, err.Error(), "stored as not exportable")
	exported, err := s.Export(thumbprint.Of(a.Leaf), false)
	require.NoError(t, err)
	assert.True(t, exported.Leaf.Equal(a.Leaf))

	// Remove takes the container with the certificate.
	require.NoError(t, capiCheck(ra))
	require.NoError(t, s.Remove(thumbprint.Of(a.Leaf)))
	err = capiCheck(ra)
	assert.True(t, errors.Is(err, windows.Errno(ntBadKeyset)), "container %s should be gone: %v", ra.container, err)
	assert.Contains(t, err.Error(), "CryptAcquireContext: 0x80090016 (NTE_BAD_KEYSET)")
	require.NoError(t, capiCheck(rb), "the other key stays")
}

func TestWindowsExportable(t *testing.T) {
	s := newTestStore(t)
	a := mint(t, "certctl exportable", "rsa", nil)
	_, err := s.Import(a, ImportOptions{Exportable: true})
	require.NoError(t, err)
	b, err := s.Export(thumbprint.Of(a.Leaf), true)
	require.NoError(t, err)
	assert.True(t, a.Key.(*rsa.PrivateKey).Equal(b.Key), "the exported key is the imported one")
}

func TestWindowsKeyJoinsItsCertificate(t *testing.T) {
	s := newTestStore(t)
	a := mint(t, "certctl key joins", "rsa", nil)
	res, err := s.Import(&pfx.Bundle{Leaf: a.Leaf}, ImportOptions{})
	require.NoError(t, err)
	assert.True(t, res.Added)
	assert.False(t, res.Entry.HasPrivateKey)
	id, err := s.Find(thumbprint.Of(a.Leaf))
	require.NoError(t, err)
	_, err = id.Signer()
	assert.True(t, errors.Is(err, ErrNoPrivateKey), "%v", err)
	_, err = s.Export(thumbprint.Of(a.Leaf), true)
	assert.True(t, errors.Is(err, ErrNoPrivateKey), "%v", err)

	res, err = s.Import(a, ImportOptions{})
	require.NoError(t, err)
	assert.True(t, res.Added, "a certificate with a key replaces it without one")
	assert.True(t, res.Entry.HasPrivateKey)
	id, err = s.Find(thumbprint.Of(a.Leaf))
	require.NoError(t, err)
	signPKCS1(t, id)

	res, err = s.Import(&pfx.Bundle{Leaf: a.Leaf}, ImportOptions{})
	require.NoError(t, err)
	assert.False(t, res.Added)
	assert.True(t, res.Entry.HasPrivateKey)
	list, err := s.List()
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.True(t, list[0].HasPrivateKey)
}

// Chain certificates go to CurrentUser\CA, never to Root, and stay there
// when the certificate is removed. This test uses the real CA store and
// removes from it exactly the certificates it minted.
func TestWindowsChainGoesToCA(t *testing.T) {
	s := newTestStore(t)
	s.chainStore = "CA"
	root := mint(t, "certctl test root", "rsa", nil)
	inter := mint(t, "certctl test intermediate", "rsa", root)
	leaf := mint(t, "certctl test leaf", "rsa", inter)
	require.Len(t, leaf.Chain, 2)
	t.Cleanup(func() {
		ca := &windowsStore{name: "CA", chainStore: "CA"}
		for _, c := range []*pfx.Bundle{inter, root} {
			if err := ca.Remove(thumbprint.Of(c.Leaf)); err != nil && !errors.Is(err, ErrNotFound) {
				t.Errorf("cleanup: %v", err)
			}
		}
	})

	for i := 0; i < 2; i++ {
		res, err := s.Import(leaf, ImportOptions{})
		require.NoError(t, err)
		assert.Equal(t, i == 0, res.Added)
	}
	ca := &windowsStore{name: "CA"}
	for _, c := range []*pfx.Bundle{inter, root} {
		_, err := ca.Find(thumbprint.Of(c.Leaf))
		assert.NoError(t, err, "%s is in CA", c.Leaf.Subject)
		_, err = (&windowsStore{name: "Root"}).Find(thumbprint.Of(c.Leaf))
		assert.True(t, errors.Is(err, ErrNotFound), "%s must not be in Root: %v", c.Leaf.Subject, err)
	}
	id, err := s.Find(thumbprint.Of(leaf.Leaf))
	require.NoError(t, err)
	require.Len(t, id.Chain(), 2)
	assert.True(t, id.Chain()[0].Equal(inter.Leaf))
	assert.True(t, id.Chain()[1].Equal(root.Leaf))

	require.NoError(t, s.Remove(thumbprint.Of(leaf.Leaf)))
	_, err = ca.Find(thumbprint.Of(inter.Leaf))
	assert.NoError(t, err, "chain certificates stay in CA")
}

// A renewed certificate can share its key container with the old one;
// removing one of them must leave the key for the other.
func TestWindowsSharedKeyStays(t *testing.T) {
	s := newTestStore(t)
	a := mint(t, "certctl shared key", "rsa", nil)
	_, err := s.Import(a, ImportOptions{})
	require.NoError(t, err)
	ref := keyOfStored(t, s, thumbprint.Of(a.Leaf))

	// The same key, certified again, linked to the same container.
	tmpl := *a.Leaf
	tmpl.SerialNumber = big.NewInt(2)
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, a.Key.Public(), a.Key)
	require.NoError(t, err)
	renewed, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	h, err := openSystemStore(s.name, changeStore)
	require.NoError(t, err)
	ctx, err := newContext(der)
	require.NoError(t, err)
	require.NoError(t, setKeyOf(ctx, ref))
	require.NoError(t, addContext(h, ctx, windows.CERT_STORE_ADD_NEW))
	windows.CertFreeCertificateContext(ctx)
	require.NoError(t, commitAndClose(h))

	require.NoError(t, s.Remove(thumbprint.Of(a.Leaf)))
	require.NoError(t, capiCheck(ref), "the renewed certificate still uses the key")
	id, err := s.Find(thumbprint.Of(renewed))
	require.NoError(t, err)
	signPKCS1(t, id)
	require.NoError(t, s.Remove(thumbprint.Of(renewed)))
	assert.True(t, errors.Is(capiCheck(ref), windows.Errno(ntBadKeyset)), "the last certificate takes the key")
}

func TestWindowsMissingKeyContainer(t *testing.T) {
	s := newTestStore(t)
	a := mint(t, "certctl missing key", "rsa", nil)
	_, err := s.Import(a, ImportOptions{})
	require.NoError(t, err)
	ref := keyOfStored(t, s, thumbprint.Of(a.Leaf))
	require.NoError(t, capiDelete(ref))

	id, err := s.Find(thumbprint.Of(a.Leaf))
	require.NoError(t, err)
	assert.True(t, id.HasPrivateKey(), "HasPrivateKey reads the property and does not open the key")
	_, err = id.Signer()
	require.Error(t, err)
	assert.Contains(t, err.Error(), ref.container)
	assert.Contains(t, err.Error(), "0x80090016 (NTE_BAD_KEYSET)")
	assert.NoError(t, s.Remove(thumbprint.Of(a.Leaf)), "a key already gone does not stop Remove")
}

// Keys that older tools put in a container of the Microsoft Enhanced
// Cryptographic Provider (PROV_RSA_FULL) sign SHA-256 digests too: the
// container is opened through the AES provider, which shares its storage.
func TestWindowsLegacyProviderSignsSHA256(t *testing.T) {
	s := newTestStore(t)
	a := mint(t, "certctl legacy provider", "rsa", nil)
	ref := &keyRef{
		container: newContainerName(),
		provider:  "Microsoft Enhanced Cryptographic Provider v1.0",
		provType:  windows.PROV_RSA_FULL,
		keySpec:   atKeyExchange,
	}
	container, err := windows.UTF16PtrFromString(ref.container)
	require.NoError(t, err)
	provider, err := windows.UTF16PtrFromString(ref.provider)
	require.NoError(t, err)
	var h windows.Handle
	require.NoError(t, windows.CryptAcquireContext(&h, container, provider, windows.PROV_RSA_FULL, windows.CRYPT_NEWKEYSET|windows.CRYPT_SILENT))
	blob, err := capiRSAPrivateBlob(a.Key.(*rsa.PrivateKey))
	require.NoError(t, err)
	var key uintptr
	r, _, errno := procCryptImportKey.Call(uintptr(h), uintptr(unsafe.Pointer(&blob[0])), uintptr(len(blob)), 0, 0, uintptr(unsafe.Pointer(&key)))
	require.NotZero(t, r, "CryptImportKey: %v", errno)
	capiDestroyKey(key)
	capiRelease(h)

	st, err := openSystemStore(s.name, createStore)
	require.NoError(t, err)
	ctx, err := newContext(a.Leaf.Raw)
	require.NoError(t, err)
	require.NoError(t, setKeyOf(ctx, ref))
	require.NoError(t, addContext(st, ctx, windows.CERT_STORE_ADD_NEW))
	windows.CertFreeCertificateContext(ctx)
	require.NoError(t, commitAndClose(st))

	id, err := s.Find(thumbprint.Of(a.Leaf))
	require.NoError(t, err)
	signPKCS1(t, id)
	require.NoError(t, s.Remove(thumbprint.Of(a.Leaf)))
	assert.True(t, errors.Is(capiCheck(ref), windows.Errno(ntBadKeyset)))
}

// A certificate that Windows' own PFX import stored (PFXImportCertStore,
// as Import-PfxCertificate uses) signs through the store too.
func TestWindowsPFXImportCertStoreKey(t *testing.T) {
	s := newTestStore(t)
	data, err := os.ReadFile(filepath.Join("..", "testdata", "pfx", "windows-3des.pfx"))
	require.NoError(t, err)
	want := fixtureBundle(t, "windows-3des.pfx")
	password, err := windows.UTF16PtrFromString("certctl-test")
	require.NoError(t, err)
	blob := windows.CryptDataBlob{Size: uint32(len(data)), Data: &data[0]}
	mem, err := windows.PFXImportCertStore(&blob, password, windows.CRYPT_USER_KEYSET)
	require.NoError(t, err)
	leaf, err := findByThumbprint(mem, thumbprint.Of(want.Leaf))
	require.NoError(t, err)
	require.NotNil(t, leaf)
	ref, err := keyOf(leaf)
	require.NoError(t, err)
	require.NotNil(t, ref, "PFXImportCertStore links the key")
	t.Logf("PFXImportCertStore put the key in %s, type %d, key spec %d", ref, ref.provType, ref.keySpec)
	st, err := openSystemStore(s.name, createStore)
	require.NoError(t, err)
	require.NoError(t, addContext(st, leaf, windows.CERT_STORE_ADD_NEW))
	require.NoError(t, commitAndClose(st))
	windows.CertFreeCertificateContext(leaf)
	closeStore(mem)

	id, err := s.Find(thumbprint.Of(want.Leaf))
	require.NoError(t, err)
	assert.True(t, id.HasPrivateKey())
	signPKCS1(t, id)
}

func TestWindowsECDSAUnderWine(t *testing.T) {
	if !isWine() {
		t.Skip("on Windows, TestWindowsConformance imports, creates and signs with ECDSA keys")
	}
	s := newTestStore(t)
	a := mint(t, "certctl ecdsa under wine", "ecdsa", nil)
	_, err := s.Import(a, ImportOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "NCryptImportKey: 0x")
	list, err := s.List()
	require.NoError(t, err)
	assert.Empty(t, list, "a failed import leaves the store as it was")

	before := storedKeys(t)
	for _, kt := range []KeyType{ECDSAP256, ECDSAP384} {
		n := newCertificate("certctl create under wine")
		n.KeyType = kt
		_, err = s.Create(n)
		require.Error(t, err)
		t.Logf("%s: %v", kt, err)
		assert.Contains(t, err.Error(), "NCryptCreatePersistedKey: 0x80090029 (NTE_NOT_SUPPORTED)")
		assert.Contains(t, err.Error(), "choose an RSA key type")
		assert.ErrorIs(t, err, windows.Errno(0x80090029))
	}
	list, err = s.List()
	require.NoError(t, err)
	assert.Empty(t, list, "a failed Create leaves the store as it was")
	assert.Equal(t, before, storedKeys(t), "a failed Create leaves no key behind")
}

// storedKeys lists the names of the key containers certctl made, in
// MS_ENH_RSA_AES_PROV (with a "capi:" prefix) and, where the provider can
// list its keys (not Wine), in the Software KSP (with "cng:").
func storedKeys(t *testing.T) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	const (
		ppEnumContainers = 2          // PP_ENUMCONTAINERS
		cryptFirst       = 1          // CRYPT_FIRST
		nteNoMoreItems   = 0x8009002A // NTE_NO_MORE_ITEMS
	)
	var h windows.Handle
	require.NoError(t, windows.CryptAcquireContext(&h, nil, utf16Ptr(msEnhRSAAESProv), windows.PROV_RSA_AES, windows.CRYPT_VERIFYCONTEXT|windows.CRYPT_SILENT))
	defer capiRelease(h)
	getProvParam := advapi32.NewProc("CryptGetProvParam")
	for flags := uintptr(cryptFirst); ; flags = 0 {
		buf := make([]byte, 1024)
		size := uint32(len(buf))
		r, _, errno := getProvParam.Call(uintptr(h), ppEnumContainers, uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), flags)
		if r == 0 {
			require.ErrorIs(t, errno, windows.ERROR_NO_MORE_ITEMS, "CryptGetProvParam(PP_ENUMCONTAINERS)")
			break
		}
		name := windows.ByteSliceToString(buf[:size])
		if strings.HasPrefix(name, "certctl-") {
			keys["capi:"+name] = true
		}
	}

	prov, err := cngProvider(msKeyStorageProvider)
	require.NoError(t, err)
	defer ncryptFree(prov)
	enumKeys := ncrypt.NewProc("NCryptEnumKeys")
	freeBuffer := ncrypt.NewProc("NCryptFreeBuffer")
	var state uintptr
	defer func() {
		if state != 0 {
			freeBuffer.Call(state)
		}
	}()
	for {
		// NCryptKeyName: pszName, pszAlgid, dwLegacyKeySpec, dwFlags.
		var name *struct {
			name, alg *uint16
			spec      uint32
			flags     uint32
		}
		err := ncryptCall("NCryptEnumKeys", enumKeys, prov, 0, uintptr(unsafe.Pointer(&name)), uintptr(unsafe.Pointer(&state)), ncryptSilentFlag)
		if errors.Is(err, windows.Errno(nteNoMoreItems)) {
			break
		}
		if isWine() && errors.Is(err, windows.Errno(0x80090029)) { // NTE_NOT_SUPPORTED: Wine keeps no CNG keys to list
			break
		}
		require.NoError(t, err)
		n := windows.UTF16PtrToString(name.name)
		freeBuffer.Call(uintptr(unsafe.Pointer(name)))
		if strings.HasPrefix(n, "certctl-") {
			keys["cng:"+n] = true
		}
	}
	return keys
}

func TestWindowsUnsupportedKey(t *testing.T) {
	s := newTestStore(t)
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "certctl ed25519"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	_, err = s.Import(&pfx.Bundle{Leaf: cert, Key: key}, ImportOptions{})
	assert.True(t, errors.Is(err, pfx.ErrUnsupported), "%v", err)
	list, err := s.List()
	require.NoError(t, err)
	assert.Empty(t, list)
}

func TestWindowsRefusesStoreDir(t *testing.T) {
	_, err := Open("My", Options{Dir: `C:\stores`})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrNoStoreDir)
	assert.Contains(t, err.Error(), "CurrentUser system store")
	assert.Contains(t, err.Error(), `C:\stores`)
}

func TestWindowsLocation(t *testing.T) {
	s, err := Open("my", Options{})
	require.NoError(t, err)
	assert.Equal(t, "My", s.Name())
	assert.Equal(t, `CurrentUser\My`, s.Location())
}

// TestWindowsKeylessRootAndCA adds a certificate without a key to the
// user's real Root and CA stores, as Import-Certificate does, and takes it
// out again. Real Windows asks the user to confirm an add to
// CurrentUser\Root in a dialog, so Root is only tried under Wine, which
// does not ask.
func TestWindowsKeylessRootAndCA(t *testing.T) {
	for _, name := range []string{"Root", "CA"} {
		t.Run(name, func(t *testing.T) {
			if name == "Root" && !isWine() {
				t.Skip("real Windows asks the user to confirm an add to CurrentUser\\Root")
			}
			root := mint(t, "certctl keyless "+name, "rsa", nil)
			tp := thumbprint.Of(root.Leaf)
			s, err := Open(name, Options{})
			require.NoError(t, err)
			defer s.Close()
			res, err := s.Import(&pfx.Bundle{Leaf: root.Leaf}, ImportOptions{})
			require.NoError(t, err)
			t.Cleanup(func() { s.Remove(tp) })
			assert.True(t, res.Added)
			assert.False(t, res.Entry.HasPrivateKey)

			s2, err := Open(name, Options{})
			require.NoError(t, err)
			defer s2.Close()
			list, err := s2.List()
			require.NoError(t, err)
			var found *Entry
			for i := range list {
				if list[i].Thumbprint == tp {
					found = &list[i]
				}
			}
			require.NotNil(t, found, "%s lists the certificate", name)
			assert.False(t, found.HasPrivateKey)
			id, err := s2.Find(tp)
			require.NoError(t, err)
			assert.True(t, id.Certificate().Equal(root.Leaf))

			require.NoError(t, s2.Remove(tp))
			_, err = s2.Find(tp)
			assert.ErrorIs(t, err, ErrNotFound)
		})
	}
}

// checkKey opens ref's key, wherever it is.
func checkKey(ref *keyRef) error {
	if ref.isCNG() {
		return cngCheck(ref)
	}
	return capiCheck(ref)
}

// Create generates the key in a container of its own: a CNG key of the
// Software KSP on Windows, a CryptoAPI container under Wine, whose KSP keeps
// no keys. Another process signs with it, it does not export, and Remove
// deletes it.
func TestWindowsCreateKeyContainer(t *testing.T) {
	s := newTestStore(t)
	before := storedKeys(t)
	n := newCertificate("certctl create container")
	e, err := s.Create(n)
	require.NoError(t, err)
	ref := keyOfStored(t, s, e.Thumbprint)
	t.Logf("the key is in %s (type %d, key spec %d)", ref, ref.provType, ref.keySpec)
	assert.True(t, strings.HasPrefix(ref.container, "certctl-"), ref.container)
	kind := "cng:"
	if isWine() {
		kind = "capi:"
		assert.Equal(t, msEnhRSAAESProv, ref.provider)
		assert.Equal(t, uint32(windows.PROV_RSA_AES), ref.provType)
		assert.Equal(t, uint32(atKeyExchange), ref.keySpec)
	} else {
		assert.Equal(t, msKeyStorageProvider, ref.provider)
		assert.True(t, ref.isCNG())
		assert.Zero(t, ref.keySpec)
	}
	want := map[string]bool{kind + ref.container: true}
	for k := range before {
		want[k] = true
	}
	assert.Equal(t, want, storedKeys(t), "one new key container")

	digest := sha256.Sum256([]byte("certctl create, second process"))
	sig := signInOtherProcess(t, s.name, e.Thumbprint, digest[:])
	id, err := s.Find(e.Thumbprint)
	require.NoError(t, err)
	assert.NoError(t, rsa.VerifyPKCS1v15(id.Certificate().PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig))

	_, err = s.Export(e.Thumbprint, true)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrNotExportable)

	require.NoError(t, s.Remove(e.Thumbprint))
	err = checkKey(ref)
	assert.ErrorIs(t, err, windows.Errno(ntBadKeyset), "Remove deletes the key")
	assert.Equal(t, before, storedKeys(t))
}

// A Create that fails after the key is made deletes the key: here the store
// cannot be opened, as its name is longer than a registry key's may be.
func TestWindowsCreateFailureLeavesNoKey(t *testing.T) {
	s := &windowsStore{name: "certctl-test-" + strings.Repeat("x", 300), chainStore: "CA"}
	before := storedKeys(t)
	_, err := s.Create(newCertificate("certctl create failure"))
	require.Error(t, err)
	t.Logf("%v", err)
	assert.Contains(t, err.Error(), "CertOpenStore")
	assert.Equal(t, before, storedKeys(t), "the key is deleted")
}

// The CryptoAPI half of Create, which makes RSA keys where CNG keeps none,
// tested on Windows too: keys sign, and export only when made exportable.
func TestWindowsCreateKeyCAPI(t *testing.T) {
	for _, exportable := range []bool{false, true} {
		t.Run(fmt.Sprintf("exportable=%v", exportable), func(t *testing.T) {
			ref, pub, err := capiCreateRSA(2048, exportable)
			require.NoError(t, err)
			t.Cleanup(func() { capiDelete(ref) })
			assert.Equal(t, 2048, pub.N.BitLen())
			signer := &storedKeySigner{pub: pub, ref: ref}
			digest := sha256.Sum256([]byte("certctl CryptGenKey"))
			sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
			require.NoError(t, err)
			assert.NoError(t, rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig))

			key, err := capiExport(ref)
			if exportable {
				require.NoError(t, err)
				assert.True(t, pub.Equal(key.Public()))
			} else {
				assert.ErrorIs(t, err, ErrNotExportable)
			}
			require.NoError(t, capiDelete(ref))
			assert.ErrorIs(t, capiCheck(ref), windows.Errno(ntBadKeyset))
		})
	}
}

// The CNG half of Create. Under Wine it fails and leaves nothing: the KSP
// makes an RSA key in memory only and cannot open it by name, and makes no
// ECDSA keys.
func TestWindowsCreateKeyCNG(t *testing.T) {
	if isWine() {
		before := storedKeys(t)
		_, _, err := cngCreateKey(RSA2048, false)
		require.Error(t, err)
		t.Logf("RSA: %v", err)
		assert.Contains(t, err.Error(), "did not keep the new key")
		assert.Contains(t, err.Error(), "NCryptOpenKey: 0x80090029 (NTE_NOT_SUPPORTED)")
		_, _, err = cngCreateKey(ECDSAP256, false)
		require.Error(t, err)
		t.Logf("ECDSA: %v", err)
		assert.Contains(t, err.Error(), "NCryptCreatePersistedKey: 0x80090029 (NTE_NOT_SUPPORTED)")
		assert.Equal(t, before, storedKeys(t))
		return
	}
	for _, kt := range []KeyType{RSA2048, ECDSAP256, ECDSAP384} {
		for _, exportable := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s exportable=%v", kt, exportable), func(t *testing.T) {
				ref, pub, err := cngCreateKey(kt, exportable)
				require.NoError(t, err)
				t.Cleanup(func() { cngDelete(ref) })
				got, _ := KeyTypeOf(pub)
				assert.Equal(t, kt, got)
				signer := &storedKeySigner{pub: pub, ref: ref}
				digest := sha256.Sum256([]byte("certctl NCryptCreatePersistedKey"))
				sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
				require.NoError(t, err, "the signer verifies the signature itself")
				if rsaPub, ok := pub.(*rsa.PublicKey); ok {
					assert.NoError(t, rsa.VerifyPKCS1v15(rsaPub, crypto.SHA256, digest[:], sig))
					pss, err := signer.Sign(rand.Reader, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
					require.NoError(t, err, "CNG keys sign RSA-PSS")
					assert.NoError(t, rsa.VerifyPSS(rsaPub, crypto.SHA256, digest[:], pss, nil))
				}

				key, err := cngExport(ref, pub)
				if exportable {
					require.NoError(t, err)
					assert.True(t, pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()))
				} else {
					assert.ErrorIs(t, err, ErrNotExportable)
				}
				require.NoError(t, cngDelete(ref))
				assert.ErrorIs(t, cngCheck(ref), windows.Errno(ntBadKeyset))
			})
		}
	}
}

// TestWindowsStoresAndCreate: a custom store that does not exist is
// ErrStoreNotFound, and is not made, unless Options.Create; once an import
// made it, Stores (CertEnumSystemStore) lists it and it opens in any case.
func TestWindowsStoresAndCreate(t *testing.T) {
	name := testStoreName(t)
	_, err := Open(name, Options{})
	require.ErrorIs(t, err, ErrStoreNotFound)
	assert.Contains(t, err.Error(), name)
	names, err := Stores(Options{})
	require.NoError(t, err)
	assert.NotContains(t, names, name, "Open made nothing")

	s, err := Open(name, Options{Create: true})
	require.NoError(t, err)
	ws := s.(*windowsStore)
	t.Cleanup(func() {
		emptyStore(t, ws)
		deleteSystemStore(t, name)
	})
	list, err := s.List()
	require.NoError(t, err)
	assert.Empty(t, list)
	_, err = s.Import(&pfx.Bundle{Leaf: mint(t, "certctl stores", "rsa", nil).Leaf}, ImportOptions{})
	require.NoError(t, err)

	names, err = Stores(Options{})
	require.NoError(t, err)
	assert.Contains(t, names, name)
	t.Logf("stores: %v", names)
	_, err = Open(strings.ToUpper(name), Options{})
	require.NoError(t, err)
	_, err = Open("Disallowed", Options{})
	require.NoError(t, err, "a well-known store opens without Create")
}
