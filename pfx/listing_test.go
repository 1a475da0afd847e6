package pfx

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/x509"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"software.sslmate.com/src/go-pkcs12"
)

// pkcs12Fixtures returns the names of the PKCS#12 files in testdata/pfx.
func pkcs12Fixtures(t testing.TB) []string {
	t.Helper()
	var names []string
	for _, pattern := range []string{"*.pfx", "*.p12"} {
		m, err := filepath.Glob(filepath.Join("..", "testdata", "pfx", pattern))
		require.NoError(t, err)
		for _, p := range m {
			names = append(names, filepath.Base(p))
		}
	}
	sort.Strings(names)
	require.NotEmpty(t, names)
	return names
}

// rawSet returns the DER encodings of certs, sorted, for comparing sets.
func rawSet(certs []*x509.Certificate) []string {
	out := make([]string, len(certs))
	for i, c := range certs {
		out[i] = string(c.Raw)
	}
	sort.Strings(out)
	return out
}

// assertListsLikeDecode checks ReadStoreCertificates against Decode's bundle.
func assertListsLikeDecode(t *testing.T, data []byte, password string, want *Bundle) {
	t.Helper()
	leaf, chain, hasKey, err := ReadStoreCertificates(data, password)
	require.NoError(t, err)
	assert.Equal(t, want.Leaf.Raw, leaf.Raw, "leaf")
	assert.Equal(t, rawSet(want.Chain), rawSet(chain), "chain")
	assert.True(t, hasKey)
}

// Every fixture Decode accepts lists the same leaf and chain, except those
// ReadStoreCertificates leaves to Decode.
func TestReadStoreCertificatesFixtures(t *testing.T) {
	t.Parallel()
	wantUnsupported := map[string]bool{
		// The key's localKeyId is on the root, which issued the other
		// certificates: only the key tells which is the leaf.
		"chain-root-first.pfx": true,
	}
	listed := 0
	for _, name := range pkcs12Fixtures(t) {
		t.Run(name, func(t *testing.T) {
			data := fixture(t, name)
			password := testPassword
			want, err := Decode(data, password)
			if errors.Is(err, ErrIncorrectPassword) {
				password = ""
				want, err = Decode(data, password)
			}
			if err != nil {
				t.Skipf("Decode refuses %s: %v", name, err)
			}
			_, _, _, lerr := ReadStoreCertificates(data, password)
			if wantUnsupported[name] {
				require.ErrorIs(t, lerr, ErrListUnsupported)
				return
			}
			assertListsLikeDecode(t, data, password, want)
			listed++
		})
	}
	assert.GreaterOrEqual(t, listed, 10, "fixtures listed")
}

func TestReadStoreCertificatesEncodeStore(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"chain-root-first.pfx", "openssl-chain.pfx", "ecdsa-p384.pfx", "rsa4096.pfx", "openssl3-default.pfx"} {
		t.Run(name, func(t *testing.T) {
			b, err := Decode(fixture(t, name), testPassword)
			require.NoError(t, err)
			data, err := EncodeStore(b)
			require.NoError(t, err)
			want, err := Decode(data, "")
			require.NoError(t, err)
			assertListsLikeDecode(t, data, "", want)
			// The store writes the chain in order, and it lists in order.
			_, chain, _, err := ReadStoreCertificates(data, "")
			require.NoError(t, err)
			require.Len(t, chain, len(want.Chain))
			for i := range chain {
				assert.Equal(t, want.Chain[i].Raw, chain[i].Raw)
			}
		})
	}
}

func TestReadStoreCertificatesWithoutKey(t *testing.T) {
	t.Parallel()
	b := mustBundle(t)
	certs := append([]*x509.Certificate{b.Leaf}, b.Chain...)
	// .NET's Root and CA stores: certificates only, 3DES, empty password.
	store, err := pkcs12.LegacyDES.WithIterations(2000).EncodeTrustStore(certs, "")
	require.NoError(t, err)
	export, err := EncodeExport(b, testPassword, false)
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		data     []byte
		password string
	}{
		"nokey.pfx":   {fixture(t, "nokey.pfx"), testPassword},
		"trust store": {store, ""},
		"export":      {export, testPassword},
	} {
		t.Run(name, func(t *testing.T) {
			want, err := DecodeCertificates(tc.data, tc.password)
			require.NoError(t, err)
			leaf, chain, hasKey, err := ReadStoreCertificates(tc.data, tc.password)
			require.NoError(t, err)
			assert.False(t, hasKey)
			assert.Equal(t, want[0].Raw, leaf.Raw)
			assert.Equal(t, rawSet(want[1:]), rawSet(chain))
		})
	}
}

// storeFile is an EncodeStore file of the chain fixture.
func storeFile(t *testing.T) ([]byte, *Bundle) {
	t.Helper()
	b := mustBundle(t)
	data, err := EncodeStore(b)
	require.NoError(t, err)
	want, err := Decode(data, "")
	require.NoError(t, err)
	return data, want
}

// macOf returns the offsets of the MAC digest and the authSafe contents in a
// PFX, and the MAC salt and iteration count.
func macOf(t *testing.T, data []byte) (digest, authSafe, salt []byte, iter int) {
	t.Helper()
	pfxBody, _, err := expect(data, tagSequence, "")
	require.NoError(t, err)
	_, pfxBody, err = expect(pfxBody, tagInteger, "")
	require.NoError(t, err)
	ci, pfxBody, err := expect(pfxBody, tagSequence, "")
	require.NoError(t, err)
	_, ci, err = expect(ci, tagOID, "")
	require.NoError(t, err)
	explicit, _, err := expect(ci, tagContext0, "")
	require.NoError(t, err)
	authSafe, _, err = expect(explicit, tagOctetString, "")
	require.NoError(t, err)
	macData, _, err := expect(pfxBody, tagSequence, "")
	require.NoError(t, err)
	di, macData, err := expect(macData, tagSequence, "")
	require.NoError(t, err)
	_, di, err = expect(di, tagSequence, "")
	require.NoError(t, err)
	digest, _, err = expect(di, tagOctetString, "")
	require.NoError(t, err)
	salt, macData, err = expect(macData, tagOctetString, "")
	require.NoError(t, err)
	count, _, err := expect(macData, tagInteger, "")
	require.NoError(t, err)
	n, err := parseCount(count)
	require.NoError(t, err)
	return digest, authSafe, salt, int(n)
}

// offset returns where sub (a slice of data) starts in data.
func offset(t *testing.T, data, sub []byte) int {
	t.Helper()
	i := bytes.Index(data, sub)
	require.GreaterOrEqual(t, i, 0)
	require.Equal(t, -1, bytes.Index(data[i+1:], sub), "ambiguous")
	return i
}

// resign recomputes the SHA-1 MAC of data with the empty password.
func resign(t *testing.T, data []byte) {
	t.Helper()
	digest, authSafe, salt, iter := macOf(t, data)
	h := hmac.New(sha1.New, pkcs12KDF(sha1.New, 64, salt, bmpPassword(""), iter, 3, 20))
	h.Write(authSafe)
	copy(data[offset(t, data, digest):], h.Sum(nil))
}

func TestReadStoreCertificatesSkipsTheMAC(t *testing.T) {
	t.Parallel()
	data, want := storeFile(t)
	digest, _, _, _ := macOf(t, data)
	bad := bytes.Clone(data)
	bad[offset(t, data, digest)] ^= 0xff
	_, err := Decode(bad, "")
	require.ErrorIs(t, err, ErrIncorrectPassword)
	assertListsLikeDecode(t, bad, "", want)
}

func TestReadStoreCertificatesNeverTouchesTheKey(t *testing.T) {
	t.Parallel()
	data, want := storeFile(t)
	// The shrouded key bag is in the plain safe: find its ciphertext.
	items, err := authSafeItems(data)
	require.NoError(t, err)
	var ciphertext []byte
	for _, item := range items {
		oid, rest, err := expect(item, tagOID, "")
		require.NoError(t, err)
		if !parseOID(oid).Equal(oidData) {
			continue
		}
		explicit, _, err := expect(rest, tagContext0, "")
		require.NoError(t, err)
		safe, _, err := expect(explicit, tagOctetString, "")
		require.NoError(t, err)
		bags, _, err := expect(safe, tagSequence, "")
		require.NoError(t, err)
		bag, _, err := expect(bags, tagSequence, "")
		require.NoError(t, err)
		oid, bag, err = expect(bag, tagOID, "")
		require.NoError(t, err)
		require.True(t, parseOID(oid).Equal(oidShroudedKeyBag))
		value, _, err := expect(bag, tagContext0, "")
		require.NoError(t, err)
		epki, _, err := expect(value, tagSequence, "")
		require.NoError(t, err)
		_, epki, err = expect(epki, tagSequence, "")
		require.NoError(t, err)
		ciphertext, _, err = expect(epki, tagOctetString, "")
		require.NoError(t, err)
	}
	require.NotEmpty(t, ciphertext, "no shrouded key bag in the plain safe")

	for name, at := range map[string]int{"first block": 0, "middle": len(ciphertext) / 2, "padding": len(ciphertext) - 1} {
		t.Run(name, func(t *testing.T) {
			bad := bytes.Clone(data)
			bad[offset(t, data, ciphertext)+at] ^= 0x5a
			resign(t, bad) // so that only the key is wrong
			_, err := Decode(bad, "")
			require.Error(t, err, "Decode must fail on a corrupt key")
			assert.NotErrorIs(t, err, ErrListUnsupported)
			assertListsLikeDecode(t, bad, "", want)
		})
	}
}

func TestReadStoreCertificatesPasswords(t *testing.T) {
	t.Parallel()
	// The null password of .NET is found after the empty BMPString fails.
	data := fixture(t, "dotnet-nullpw.pfx")
	want, err := Decode(data, "")
	require.NoError(t, err)
	assertListsLikeDecode(t, data, "", want)

	// A wrong password: the certificate safe does not decrypt.
	_, _, _, err = ReadStoreCertificates(fixture(t, "windows-3des.pfx"), "wrong")
	assert.ErrorIs(t, err, ErrListUnsupported)
	assert.ErrorIs(t, err, ErrIncorrectPassword)
	_, _, _, err = ReadStoreCertificates(fixture(t, "windows-3des.pfx"), "")
	assert.ErrorIs(t, err, ErrListUnsupported)
	// PBES2 (AES-256): as above.
	_, _, _, err = ReadStoreCertificates(fixture(t, "openssl3-default.pfx"), "wrong")
	assert.ErrorIs(t, err, ErrListUnsupported)

	_, _, _, err = ReadStoreCertificates(fixture(t, "windows-3des.pfx"), "\xff")
	assert.ErrorIs(t, err, ErrPasswordEncoding)
}

func TestReadStoreCertificatesErrors(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		data []byte
		want error
	}{
		"empty":           {nil, ErrNotPFX},
		"too large":       {make([]byte, MaxFileSize+1), ErrTooLarge},
		"pem":             {fixture(t, "combined.pem"), ErrListUnsupported},
		"der certificate": {fixture(t, "cert.cer"), ErrListUnsupported},
		"bad ber":         {toBER(t, fixture(t, "windows-3des.pfx"))[:200], ErrBER},
		"two keys":        {fixture(t, "two-keys.pfx"), ErrMultipleKeys},
		"two hidden keys": {fixture(t, "two-keys-encrypted.pfx"), ErrListUnsupported},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, _, err := ReadStoreCertificates(tc.data, testPassword)
			assert.ErrorIs(t, err, tc.want)
		})
	}

	// Iteration counts are capped before any key derivation.
	data := fixture(t, "windows-3des.pfx")
	huge := patchIterations(t, data, 2000, 0, []byte{0x7f, 0xff, 0xff, 0xff}, 3)
	_, _, _, err := ReadStoreCertificates(huge, testPassword)
	assert.ErrorIs(t, err, ErrTooManyIterations)

	// Only the key can tell which certificate is the leaf: left to Decode.
	// A file without encryption with the localKeyId attributes renamed
	// (9.21 -> 9.20, an attribute nobody reads here).
	b := mustBundle(t)
	plain, err := pkcs12.Passwordless.Encode(b.Key, b.Leaf, b.Chain, "")
	require.NoError(t, err)
	id := der(tagOID, oidBytes(oidLocalKeyID))
	require.Equal(t, 2, bytes.Count(plain, id))
	noIDs := bytes.ReplaceAll(plain, id, der(tagOID, oidBytes([]int{1, 2, 840, 113549, 1, 9, 20})))
	got, err := Decode(noIDs, "")
	require.NoError(t, err)
	require.Equal(t, b.Leaf.Raw, got.Leaf.Raw, "Decode finds the leaf by its key")
	_, _, _, err = ReadStoreCertificates(noIDs, "")
	assert.ErrorIs(t, err, ErrListUnsupported)
	_, _, _, err = ReadStoreCertificates(plain, "")
	assert.NoError(t, err, "with the attributes it lists")
}

func TestReadStoreCertificatesHostile(t *testing.T) {
	t.Parallel()
	hostile, err := filepath.Glob(filepath.Join("..", "testdata", "hostile", "*"))
	require.NoError(t, err)
	for _, p := range hostile {
		if strings.HasSuffix(p, ".md") || strings.HasSuffix(p, ".go") {
			continue
		}
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		_, _, _, err = ReadStoreCertificates(data, "")
		require.Error(t, err, p)
		assert.True(t, isListSentinel(err), "%s: %v", p, err)
	}

	rng := rand.New(rand.NewSource(testSeed(t, 7)))
	for _, name := range pkcs12Fixtures(t) {
		data := fixture(t, name)
		for _, n := range []int{1, 2, 10, len(data) / 2, len(data) - 1} {
			if _, _, _, err := ReadStoreCertificates(data[:n], testPassword); err != nil {
				assert.True(t, isListSentinel(err), "%s[:%d]: %v", name, n, err)
			}
		}
		for i := 0; i < 50; i++ {
			c := bytes.Clone(data)
			c[rng.Intn(len(c))] ^= byte(1 + rng.Intn(255))
			leaf, _, _, err := ReadStoreCertificates(c, testPassword)
			if err != nil {
				assert.True(t, isListSentinel(err), "%s flipped: %v", name, err)
			} else {
				assert.NotNil(t, leaf)
			}
		}
	}
}

func isListSentinel(err error) bool {
	return isSentinel(err) || errors.Is(err, ErrListUnsupported)
}

func FuzzReadStoreCertificates(f *testing.F) {
	for _, name := range pkcs12Fixtures(f) {
		data := fixture(f, name)
		f.Add(data, testPassword)
		f.Add(data, "")
	}
	hostile, err := filepath.Glob(filepath.Join("..", "testdata", "hostile", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range hostile {
		if data, err := os.ReadFile(p); err == nil && !strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, ".md") {
			f.Add(data, "")
		}
	}
	// Above keytool's 10,000 so every fixture still lists.
	iterationLimit = 20000
	f.Cleanup(func() { iterationLimit = MaxIterations })
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		leaf, chain, _, err := ReadStoreCertificates(data, password)
		if err != nil {
			if !isListSentinel(err) {
				t.Fatalf("error matches no sentinel: %v", err)
			}
			return
		}
		if leaf == nil {
			t.Fatal("no error and no leaf")
		}
		for _, c := range chain {
			if c == nil {
				t.Fatal("nil certificate in the chain")
			}
		}
		// A file whose MAC verifies lists what Decode reads.
		if f, err := parsePFX(data); err != nil || f.mac == nil {
			return
		}
		if b, err := Decode(data, password); err == nil && !bytes.Equal(b.Leaf.Raw, leaf.Raw) {
			t.Fatalf("leaf differs from Decode's")
		}
	})
}

// BenchmarkStoreFile compares reading a store file's certificates alone
// with decoding it fully (MAC, both safes, key).
func BenchmarkStoreFile(b *testing.B) {
	data, err := EncodeStore(mustBundle(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("ReadStoreCertificates", func(b *testing.B) {
		for b.Loop() {
			if _, _, _, err := ReadStoreCertificates(data, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Decode", func(b *testing.B) {
		for b.Loop() {
			if _, err := Decode(data, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// authSafeItems returns the contents of the ContentInfos of a DER PKCS#12
// file's authenticated safe.
func authSafeItems(data []byte) ([][]byte, error) {
	f, err := parsePFX(data)
	if err != nil {
		return nil, err
	}
	seq, _, err := expect(f.authSafe, tagSequence, "")
	if err != nil {
		return nil, err
	}
	var items [][]byte
	for len(seq) > 0 {
		var item []byte
		if item, seq, err = expect(seq, tagSequence, ""); err != nil {
			return nil, err
		}
		items = append(items, item)
	}
	return items, nil
}
