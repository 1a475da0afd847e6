package pfx

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"flag"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"software.sslmate.com/src/go-pkcs12"
)

const testPassword = "certctl-test"

var seedFlag = flag.Int64("seed", 0, "seed of the randomised tests, instead of each test's own; $CERTCTL_TEST_SEED does the same for go test ./...")

// testSeed is the seed of a randomised test: -seed, else
// $CERTCTL_TEST_SEED, else the test's own fixed seed def. It logs it, so a
// failure can be replayed.
func testSeed(t testing.TB, def int64) int64 {
	t.Helper()
	seed := *seedFlag
	if v := os.Getenv("CERTCTL_TEST_SEED"); seed == 0 && v != "" {
		var err error
		if seed, err = strconv.ParseInt(v, 10, 64); err != nil {
			t.Fatalf("CERTCTL_TEST_SEED=%q: %v", v, err)
		}
	}
	if seed == 0 {
		seed = def
	}
	t.Logf("random seed %d (replay: go test PKG -run '^%s$' -seed=%d, the flag after the package; or CERTCTL_TEST_SEED=%d)", seed, t.Name(), seed, seed)
	return seed
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "pfx", name))
	require.NoError(t, err)
	return data
}

// sentinels lists every exported sentinel; every error must match one.
var sentinels = []error{
	ErrIncorrectPassword, ErrNoPrivateKey, ErrMultipleKeys, ErrKeyMismatch, ErrNoCertificate,
	ErrNotPFX, ErrBER, ErrTooLarge, ErrTooManyIterations, ErrUnsupported, ErrPasswordEncoding,
}

func isSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func keyDesc(t *testing.T, k any) string {
	t.Helper()
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return "RSA-" + strconv.Itoa(k.N.BitLen())
	case *ecdsa.PrivateKey:
		return "ECDSA-" + k.Curve.Params().Name
	case ed25519.PrivateKey:
		return "Ed25519"
	}
	t.Fatalf("unexpected key type %T", k)
	return ""
}

func cns(certs []*x509.Certificate) []string {
	out := []string{}
	for _, c := range certs {
		out = append(out, c.Subject.CommonName)
	}
	return out
}

func assertBundle(t *testing.T, b *Bundle) {
	t.Helper()
	require.NotNil(t, b)
	require.NotNil(t, b.Leaf)
	require.NotNil(t, b.Key)
	assert.True(t, publicKeyEqual(b.Leaf, b.Key.Public()), "leaf must match key")
	assert.False(t, b.Leaf.IsCA, "leaf must not be a CA")
	if len(b.Chain) > 0 {
		assert.Equal(t, b.Leaf.RawIssuer, b.Chain[0].RawSubject, "chain[0] must be the leaf's issuer")
		require.NoError(t, b.Leaf.CheckSignatureFrom(b.Chain[0]))
	}
}

func TestDecodeFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, password, cn, key string
		chain                   []string
	}{
		{"openssl3-default.pfx", testPassword, "certctl test openssl3-default", "RSA-2048", nil},
		{"openssl-legacy.pfx", testPassword, "certctl test openssl-legacy", "RSA-2048", nil},
		{"windows-3des.pfx", testPassword, "certctl test windows-3des", "RSA-2048", nil},
		{"dotnet-nullpw.pfx", "", "certctl test dotnet-nullpw", "RSA-2048", nil},
		{"empty-password.pfx", "", "certctl test empty-password", "RSA-2048", nil},
		{"passwordless.pfx", "", "certctl test passwordless", "RSA-2048", nil},
		{"passwordless.pfx", "ignored", "certctl test passwordless", "RSA-2048", nil},
		{"keytool.p12", testPassword, "certctl test keytool", "RSA-2048", nil},
		{"chain-root-first.pfx", testPassword, "certctl test chain", "RSA-2048", []string{"certctl test intermediate", "certctl test root"}},
		{"openssl-chain.pfx", testPassword, "certctl test chain", "RSA-2048", []string{"certctl test intermediate", "certctl test root"}},
		{"rsa4096.pfx", testPassword, "certctl test rsa4096", "RSA-4096", nil},
		{"ecdsa-p256.pfx", testPassword, "certctl test ecdsa-p256", "ECDSA-P-256", nil},
		{"ecdsa-p384.pfx", testPassword, "certctl test ecdsa-p384", "ECDSA-P-384", nil},
		{"combined.pem", "", "certctl test combined", "RSA-2048", nil},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.password, func(t *testing.T) {
			b, err := Decode(fixture(t, tt.file), tt.password)
			require.NoError(t, err)
			assertBundle(t, b)
			assert.Equal(t, tt.cn, b.Leaf.Subject.CommonName)
			assert.Equal(t, tt.key, keyDesc(t, b.Key))
			if tt.chain == nil {
				tt.chain = []string{}
			}
			assert.Equal(t, tt.chain, cns(b.Chain))
		})
	}
}

func TestDecodePEMFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct{ cert, key, cn, keyType string }{
		{"cert.pem", "key-pkcs1.pem", "certctl test pem", "RSA-2048"},
		{"cert.pem", "key-pkcs8.pem", "certctl test pem", "RSA-2048"},
		{"ec-cert.pem", "key-sec1.pem", "certctl test ec-pem", "ECDSA-P-256"},
		{"combined.pem", "", "certctl test combined", "RSA-2048"},
	}
	for _, tt := range tests {
		t.Run(tt.cert+"+"+tt.key, func(t *testing.T) {
			var key []byte
			if tt.key != "" {
				key = fixture(t, tt.key)
			}
			b, err := DecodePEM(fixture(t, tt.cert), key, testPassword)
			require.NoError(t, err)
			assertBundle(t, b)
			assert.Equal(t, tt.cn, b.Leaf.Subject.CommonName)
			assert.Equal(t, tt.keyType, keyDesc(t, b.Key))
			assert.Empty(t, b.Chain)
		})
	}
	// key first, certificate second, in one file
	both := append(fixture(t, "key-sec1.pem"), fixture(t, "ec-cert.pem")...)
	b, err := Decode(both, "")
	require.NoError(t, err)
	assert.Equal(t, "certctl test ec-pem", b.Leaf.Subject.CommonName)
}

// The dotnet-nullpw fixture must really use the null password: its SHA-1
// MAC verifies with a zero-length password and not with the empty
// BMPString that openssl writes for -passout pass:.
func TestNullPasswordFixtureIsGenuine(t *testing.T) {
	t.Parallel()
	data := fixture(t, "dotnet-nullpw.pfx")
	var p struct {
		Version  int
		AuthSafe struct {
			Type    asn1.ObjectIdentifier
			Content asn1.RawValue `asn1:"tag:0,explicit"`
		}
		Mac struct {
			Digest struct {
				Alg    asn1.RawValue
				Digest []byte
			}
			Salt       []byte
			Iterations int
		}
	}
	_, err := asn1.Unmarshal(data, &p)
	require.NoError(t, err)
	var content []byte
	_, err = asn1.Unmarshal(p.AuthSafe.Content.Bytes, &content)
	require.NoError(t, err)
	verify := func(pw []byte) bool {
		h := hmac.New(sha1.New, pkcs12KDF(sha1.New, 64, p.Mac.Salt, pw, p.Mac.Iterations, 3, 20))
		h.Write(content)
		return hmac.Equal(h.Sum(nil), p.Mac.Digest.Digest)
	}
	assert.True(t, verify(nil), "null password")
	assert.False(t, verify([]byte{0, 0}), "empty BMPString")
	assert.Equal(t, 2000, p.Mac.Iterations)
}

func TestErrors(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte{0x30}, MaxFileSize+1)
	random := make([]byte, 2048)
	rand.New(rand.NewSource(testSeed(t, 1))).Read(random)
	randomSeq := append([]byte{0x30, 0x82, 0x07, 0xfc}, random[:2044]...)

	tests := []struct {
		name     string
		data     []byte
		password string
		want     error
		contains string
	}{
		{"wrong password", fixture(t, "openssl3-default.pfx"), "wrong", ErrIncorrectPassword, ""},
		{"wrong password legacy", fixture(t, "openssl-legacy.pfx"), "wrong", ErrIncorrectPassword, ""},
		{"empty instead of password", fixture(t, "windows-3des.pfx"), "", ErrIncorrectPassword, ""},
		{"password instead of null", fixture(t, "dotnet-nullpw.pfx"), testPassword, ErrIncorrectPassword, ""},
		{"no key", fixture(t, "nokey.pfx"), testPassword, ErrNoPrivateKey, ""},
		{"DER certificate", fixture(t, "cert.cer"), "", ErrNoPrivateKey, "DER certificate"},
		{"PEM certificate only", fixture(t, "cert.pem"), "", ErrNoPrivateKey, ""},
		{"PEM key only", fixture(t, "key-pkcs8.pem"), "", ErrNoCertificate, ""},
		{"two keys (visible)", fixture(t, "two-keys.pfx"), testPassword, ErrMultipleKeys, ""},
		{"two keys (in encrypted safe)", fixture(t, "two-keys-encrypted.pfx"), testPassword, ErrMultipleKeys, ""},
		{"mismatch", fixture(t, "mismatch.pfx"), testPassword, ErrKeyMismatch, ""},
		{"DSA PKCS#12", fixture(t, "dsa.pfx"), testPassword, ErrUnsupported, "DSA key"},
		{"DSA PEM", append(fixture(t, "cert.pem"), fixture(t, "dsa-key.pem")...), "", ErrUnsupported, "DSA key"},
		{"encrypted PEM key, no password", append(fixture(t, "cert.pem"), fixture(t, "key-encrypted.pem")...), "", ErrIncorrectPassword, ""},
		{"encrypted PEM key, wrong password", append(fixture(t, "cert.pem"), fixture(t, "key-encrypted.pem")...), "wrong", ErrIncorrectPassword, ""},
		{"encrypted PKCS#8 key, wrong password", append(fixture(t, "cert.pem"), fixture(t, "key-pkcs8-encrypted.pem")...), "wrong", ErrIncorrectPassword, ""},
		{"garbage PEM", fixture(t, "garbage.pem"), "", ErrNotPFX, ""},
		{"empty", nil, "", ErrNotPFX, "file is empty"},
		{"random", random, "", ErrNotPFX, ""},
		{"random SEQUENCE", randomSeq, "", ErrNotPFX, ""},
		{"text", []byte("hello, world\n"), "", ErrNotPFX, ""},
		{"BER without end-of-contents", toBER(t, fixture(t, "openssl3-default.pfx"))[:100], testPassword, ErrBER, "malformed BER"},
		{"too large", big, "", ErrTooLarge, ""},
		{"non-BMP password, wrong", fixture(t, "openssl3-default.pfx"), "pässwörd🔑", ErrIncorrectPassword, ""},
		{"password not UTF-8", fixture(t, "openssl3-default.pfx"), "p\xffss", ErrPasswordEncoding, ""},
		{"unsupported MAC", replaceOnce(t, fixture(t, "openssl3-default.pfx"),
			"06096086480165030402 01", "06096086480165030402 05"), testPassword, ErrUnsupported, "MAC SHA-512/224"},
		{"unsupported PBES2 cipher", replaceAll(t, fixture(t, "openssl3-default.pfx"),
			"060960864801650304012a", "060960864801650304012e"), testPassword, ErrUnsupported, "PBES2 with AES-256-GCM"},
		{"unsupported PBE", replaceAll(t, fixture(t, "windows-3des.pfx"),
			"060a2a864886f70d010c0103", "060a2a864886f70d010c0101"), testPassword, ErrUnsupported, "pbeWithSHAAnd128BitRC4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Decode(tt.data, tt.password)
			require.Error(t, err)
			assert.Nil(t, b)
			assert.ErrorIs(t, err, tt.want)
			assert.Contains(t, err.Error(), tt.contains)
			assert.NotContains(t, err.Error(), "pkcs12:")
			if tt.password != "" {
				assert.NotContains(t, err.Error(), tt.password)
			}
			assert.Equal(t, strings.ToLower(err.Error()[:1]), err.Error()[:1], "lower-case message")
			assert.False(t, strings.HasSuffix(err.Error(), "."))
		})
	}
}

func TestDecodePEMErrors(t *testing.T) {
	t.Parallel()
	_, err := DecodePEM(fixture(t, "cert.pem"), fixture(t, "mismatch-key.pem"), "")
	assert.ErrorIs(t, err, ErrKeyMismatch)
	_, err = DecodePEM(fixture(t, "cert.pem"), fixture(t, "dsa-key.pem"), "")
	var ue *UnsupportedError
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, ue.Algorithm, "DSA key")
	_, err = DecodePEM(fixture(t, "cert.pem"), append(fixture(t, "key-pkcs8.pem"), fixture(t, "mismatch-key.pem")...), "")
	assert.ErrorIs(t, err, ErrMultipleKeys)
	_, err = DecodePEM(fixture(t, "cert.pem"), []byte{}, "")
	assert.ErrorIs(t, err, ErrNoPrivateKey)
	_, err = DecodePEM(fixture(t, "garbage.pem"), fixture(t, "key-pkcs8.pem"), "")
	assert.ErrorIs(t, err, ErrNotPFX)
	_, err = DecodePEM(nil, nil, "")
	assert.ErrorIs(t, err, ErrNotPFX)
	// certificate with a valid base64 body that is not a certificate
	_, err = Decode([]byte("-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n"), "")
	assert.ErrorIs(t, err, ErrNotPFX)
}

// --- iteration caps --------------------------------------------------------

// node is a DER element; encapsulated OCTET STRINGs (PKCS#12 nests DER in
// them) are parsed as children too.
type node struct {
	tag      byte
	children []*node
	value    []byte
	encap    bool
}

func parseTree(t *testing.T, b []byte) *node {
	t.Helper()
	tag, body, rest, err := readTLV(b)
	require.NoError(t, err)
	require.Empty(t, rest)
	return parseNode(t, tag, body)
}

func parseNode(t *testing.T, tag byte, body []byte) *node {
	n := &node{tag: tag}
	constructed := tag&0x20 != 0
	if !constructed && tag == tagOctetString && len(body) > 0 && body[0] == tagSequence {
		if _, _, rest, err := readTLV(body); err == nil && len(rest) == 0 {
			constructed, n.encap = true, true
		}
	}
	if !constructed {
		n.value = body
		return n
	}
	for len(body) > 0 {
		tag, b, rest, err := readTLV(body)
		require.NoError(t, err)
		n.children = append(n.children, parseNode(t, tag, b))
		body = rest
	}
	return n
}

func (n *node) encode() []byte {
	if n.children == nil && !n.encap {
		return der(n.tag, n.value)
	}
	var parts [][]byte
	for _, c := range n.children {
		parts = append(parts, c.encode())
	}
	return der(n.tag, parts...)
}

// integers returns INTEGER nodes equal to v, in document order.
func (n *node) integers(v int64) []*node {
	var out []*node
	if n.tag == tagInteger {
		if c, err := parseCount(n.value); err == nil && c == v {
			out = append(out, n)
		}
	}
	for _, c := range n.children {
		out = append(out, c.integers(v)...)
	}
	return out
}

// patchIterations replaces the which-th INTEGER equal to old in data.
func patchIterations(t *testing.T, data []byte, old int64, which int, newValue []byte, wantCount int) []byte {
	t.Helper()
	tree := parseTree(t, data)
	require.Equal(t, data, tree.encode(), "tree round trip")
	ints := tree.integers(old)
	require.Len(t, ints, wantCount)
	ints[which].value = newValue
	return tree.encode()
}

func TestIterationCaps(t *testing.T) {
	t.Parallel()
	pbmac1, err := pkcs12.Modern2026.Encode(mustBundle(t).Key, mustBundle(t).Leaf, nil, testPassword)
	require.NoError(t, err)
	files := []struct {
		name  string
		data  []byte
		iter  int64
		order []string // where each occurrence of iter is checked
	}{
		{"PBES2 (openssl3-default)", fixture(t, "openssl3-default.pfx"), 2048, []string{"certificate encryption", "key encryption", "MAC"}},
		{"PBE 3DES (windows-3des)", fixture(t, "windows-3des.pfx"), 2000, []string{"certificate encryption", "key encryption", "MAC"}},
		{"PBMAC1 (go-pkcs12 Modern2026)", pbmac1, 2048, []string{"certificate encryption", "key encryption", "MAC"}},
	}
	values := []struct {
		name  string
		der   []byte
		count int64
	}{
		{"2^31-1", []byte{0x7f, 0xff, 0xff, 0xff}, 2147483647},
		{"MaxIterations+1", []byte{0x09, 0x27, 0xc1}, MaxIterations + 1},
		{"2^64", []byte{0x01, 0, 0, 0, 0, 0, 0, 0, 0}, 1<<63 - 1},
		{"2^32+1 (wraps to 1 in 32 bits)", []byte{0x01, 0, 0, 0, 1}, 1<<32 + 1},
	}
	for _, f := range files {
		for i, where := range f.order {
			for _, v := range values {
				t.Run(f.name+"/"+where+"/"+v.name, func(t *testing.T) {
					data := patchIterations(t, f.data, f.iter, i, v.der, len(f.order))
					_, err := Decode(data, testPassword)
					require.ErrorIs(t, err, ErrTooManyIterations)
					var ie *IterationError
					require.ErrorAs(t, err, &ie)
					assert.Equal(t, where, ie.Where)
					assert.Equal(t, v.count, ie.Count)
					assert.False(t, NeedsPassword(data))
					_, err = DecodeCertificates(data, testPassword)
					assert.ErrorIs(t, err, ErrTooManyIterations)
				})
			}
		}
	}
	// Exactly MaxIterations passes the pre-scan.
	data := patchIterations(t, fixture(t, "openssl3-default.pfx"), 2048, 2, []byte{0x09, 0x27, 0xc0}, 3)
	_, err = parsePFX(data)
	require.NoError(t, err)
	// A negative count is malformed.
	data = patchIterations(t, fixture(t, "openssl3-default.pfx"), 2048, 2, []byte{0xff}, 3)
	_, err = Decode(data, testPassword)
	require.ErrorIs(t, err, ErrNotPFX)
}

// --- password detection ----------------------------------------------------

func TestNeedsPassword(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"openssl3-default.pfx": true,
		"openssl-legacy.pfx":   true,
		"windows-3des.pfx":     true,
		"keytool.p12":          true,
		"nokey.pfx":            true,
		"empty-password.pfx":   false,
		"dotnet-nullpw.pfx":    false,
		"passwordless.pfx":     false,
		"combined.pem":         false,
		"cert.cer":             false,
	}
	for name, want := range tests {
		assert.Equal(t, want, NeedsPassword(fixture(t, name)), name)
	}
	assert.False(t, NeedsPassword(nil))
	assert.False(t, NeedsPassword([]byte{0x30, 0x80}))
	assert.False(t, NeedsPassword(bytes.Repeat([]byte{0x30}, MaxFileSize+1)))
}

// --- certificates only -----------------------------------------------------

func TestDecodeCertificates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, password string
		want           []string
	}{
		{"nokey.pfx", testPassword, []string{"certctl test nokey"}},
		{"chain-root-first.pfx", testPassword, []string{"certctl test chain", "certctl test intermediate", "certctl test root"}},
		{"openssl3-default.pfx", testPassword, []string{"certctl test openssl3-default"}},
		{"dotnet-nullpw.pfx", "", []string{"certctl test dotnet-nullpw"}},
		{"cert.cer", "", []string{"certctl test pem"}},
		{"cert.pem", "", []string{"certctl test pem"}},
		{"combined.pem", "", []string{"certctl test combined"}},
		{"mismatch.pfx", testPassword, []string{"certctl test mismatch"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			certs, err := DecodeCertificates(fixture(t, tt.file), tt.password)
			require.NoError(t, err)
			assert.Equal(t, tt.want, cns(certs))
		})
	}
	_, err := DecodeCertificates(fixture(t, "nokey.pfx"), "wrong")
	assert.ErrorIs(t, err, ErrIncorrectPassword)
	_, err = DecodeCertificates(fixture(t, "key-pkcs8.pem"), "")
	assert.ErrorIs(t, err, ErrNoCertificate)
	_, err = DecodeCertificates(nil, "")
	assert.ErrorIs(t, err, ErrNotPFX)
}

// --- round trips -----------------------------------------------------------

func mustBundle(t testing.TB) *Bundle {
	t.Helper()
	b, err := Decode(fixture(t, "chain-root-first.pfx"), testPassword)
	require.NoError(t, err)
	return b
}

func assertSameBundle(t *testing.T, want, got *Bundle) {
	t.Helper()
	assert.Equal(t, want.Leaf.Raw, got.Leaf.Raw)
	assert.True(t, publicKeyEqual(want.Leaf, got.Key.Public()))
	require.Len(t, got.Chain, len(want.Chain))
	for i := range want.Chain {
		assert.Equal(t, want.Chain[i].Raw, got.Chain[i].Raw)
	}
}

func TestEncodeStore(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"chain-root-first.pfx", "ecdsa-p384.pfx"} {
		t.Run(name, func(t *testing.T) {
			want, err := Decode(fixture(t, name), testPassword)
			require.NoError(t, err)
			data, err := EncodeStore(want)
			require.NoError(t, err)
			got, err := Decode(data, "")
			require.NoError(t, err)
			assertSameBundle(t, want, got)
			assert.False(t, NeedsPassword(data))

			p, err := parsePFX(data)
			require.NoError(t, err)
			assert.NotNil(t, p.mac)
			assert.Equal(t, 1, p.keyBags)
			assert.Equal(t, 3, len(patchCount(t, data, 2000)), "MAC, certificate and key use 2000 iterations")
			assert.True(t, bytes.Contains(data, oidBytes([]int{1, 2, 840, 113549, 1, 12, 1, 3})), "3DES")

			openssl, err := exec.LookPath("openssl")
			if err != nil {
				t.Skip("openssl not on PATH")
			}
			f := filepath.Join(t.TempDir(), "store.pfx")
			require.NoError(t, os.WriteFile(f, data, 0o600))
			out, err := exec.Command(openssl, "pkcs12", "-in", f, "-passin", "pass:", "-nodes").CombinedOutput()
			require.NoError(t, err, string(out))
			assert.Contains(t, string(out), "BEGIN PRIVATE KEY")
			assert.Equal(t, 1+len(want.Chain), strings.Count(string(out), "BEGIN CERTIFICATE"))
		})
	}
}

func patchCount(t *testing.T, data []byte, v int64) []*node {
	return parseTree(t, data).integers(v)
}

func TestEncodeExport(t *testing.T) {
	t.Parallel()
	want := mustBundle(t)
	data, err := EncodeExport(want, "s3cret", true)
	require.NoError(t, err)
	got, err := Decode(data, "s3cret")
	require.NoError(t, err)
	assertSameBundle(t, want, got)
	_, err = Decode(data, "wrong")
	assert.ErrorIs(t, err, ErrIncorrectPassword)
	assert.True(t, NeedsPassword(data))

	// certificates only
	data, err = EncodeExport(want, "s3cret", false)
	require.NoError(t, err)
	_, err = Decode(data, "s3cret")
	assert.ErrorIs(t, err, ErrNoPrivateKey)
	certs, err := DecodeCertificates(data, "s3cret")
	require.NoError(t, err)
	assert.Equal(t, []string{"certctl test chain", "certctl test intermediate", "certctl test root"}, cns(certs))
	data, err = EncodeExport(&Bundle{Leaf: want.Leaf}, "", false)
	require.NoError(t, err)
	certs, err = DecodeCertificates(data, "")
	require.NoError(t, err)
	assert.Len(t, certs, 1)

	_, err = EncodeExport(want, "pässwörd🔑", true)
	assert.ErrorIs(t, err, ErrPasswordEncoding)
	_, err = EncodeExport(&Bundle{Leaf: want.Leaf}, "x", true)
	assert.ErrorIs(t, err, ErrNoPrivateKey)
	other, err := Decode(fixture(t, "rsa4096.pfx"), testPassword)
	require.NoError(t, err)
	_, err = EncodeExport(&Bundle{Leaf: want.Leaf, Key: other.Key}, "x", true)
	assert.ErrorIs(t, err, ErrKeyMismatch)
	_, err = EncodeStore(nil)
	assert.ErrorIs(t, err, ErrNoCertificate)
}

func TestEncodePEM(t *testing.T) {
	t.Parallel()
	want := mustBundle(t)
	data, err := EncodePEM(want, true)
	require.NoError(t, err)
	assert.Equal(t, 3, bytes.Count(data, []byte("BEGIN CERTIFICATE")))
	assert.Equal(t, 1, bytes.Count(data, []byte("BEGIN PRIVATE KEY")))
	got, err := DecodePEM(data, nil, "")
	require.NoError(t, err)
	assertSameBundle(t, want, got)

	data, err = EncodePEM(want, false)
	require.NoError(t, err)
	assert.NotContains(t, string(data), "PRIVATE KEY")
	certs, err := DecodeCertificates(data, "")
	require.NoError(t, err)
	assert.Equal(t, []string{"certctl test chain", "certctl test intermediate", "certctl test root"}, cns(certs))

	// Ed25519 round trip through PKCS#12 and PEM.
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	tmpl := &x509.Certificate{SerialNumber: want.Leaf.SerialNumber, Subject: want.Leaf.Subject}
	raw, err := x509.CreateCertificate(nil, tmpl, tmpl, key.Public(), key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(raw)
	require.NoError(t, err)
	eb := &Bundle{Leaf: cert, Key: key}
	p, err := EncodeStore(eb)
	require.NoError(t, err)
	got, err = Decode(p, "")
	require.NoError(t, err)
	assert.Equal(t, "Ed25519", keyDesc(t, got.Key))
}

// --- robustness ------------------------------------------------------------

var allFixtures = []struct{ file, password string }{
	{"openssl3-default.pfx", testPassword}, {"openssl-legacy.pfx", testPassword},
	{"windows-3des.pfx", testPassword}, {"dotnet-nullpw.pfx", ""}, {"empty-password.pfx", ""},
	{"passwordless.pfx", ""}, {"keytool.p12", testPassword}, {"chain-root-first.pfx", testPassword},
	{"openssl-chain.pfx", testPassword}, {"rsa4096.pfx", testPassword}, {"ecdsa-p256.pfx", testPassword},
	{"ecdsa-p384.pfx", testPassword}, {"nokey.pfx", testPassword}, {"two-keys.pfx", testPassword},
	{"two-keys-encrypted.pfx", testPassword}, {"mismatch.pfx", testPassword}, {"dsa.pfx", testPassword},
	{"combined.pem", ""}, {"cert.pem", ""}, {"ec-cert.pem", ""}, {"cert.cer", ""}, {"garbage.pem", ""},
	{"key-sec1.pem", ""}, {"key-encrypted.pem", ""},
}

func TestTruncatedAndCorrupt(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(testSeed(t, 42)))
	for _, f := range allFixtures {
		data := fixture(t, f.file)
		offsets := []int{1, 2, 3, 4, 10, len(data) / 4, len(data) / 2, len(data) - 100, len(data) - 20, len(data) - 1}
		for _, n := range offsets {
			if n <= 0 || n >= len(data) {
				continue
			}
			b, err := Decode(data[:n], f.password)
			if err == nil {
				// Only PEM can survive losing its tail (e.g. the last newline).
				require.True(t, strings.HasSuffix(f.file, ".pem"), "%s[:%d] decoded", f.file, n)
				assertBundle(t, b)
			} else {
				assert.True(t, isSentinel(err), "%s[:%d]: %v", f.file, n, err)
			}
			_, err = DecodeCertificates(data[:n], f.password)
			if err != nil {
				assert.True(t, isSentinel(err), "%s[:%d]: %v", f.file, n, err)
			}
			NeedsPassword(data[:n])
		}
		// random byte flips
		for i := 0; i < 20; i++ {
			c := bytes.Clone(data)
			c[rng.Intn(len(c))] ^= byte(1 + rng.Intn(255))
			if _, err := Decode(c, f.password); err != nil {
				assert.True(t, isSentinel(err), "%s flipped: %v", f.file, err)
			}
		}
	}
	for i := 0; i < 200; i++ {
		b := make([]byte, rng.Intn(512))
		rng.Read(b)
		if len(b) > 0 && i%2 == 0 {
			b[0] = 0x30
		}
		_, err := Decode(b, "")
		require.Error(t, err)
		assert.True(t, isSentinel(err), "%v", err)
	}
}

func TestHostileASN1(t *testing.T) {
	t.Parallel()
	tests := map[string][]byte{
		"huge length":        {0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x02, 0x01, 0x03},
		"5-byte length":      {0x30, 0x85, 0x01, 0, 0, 0, 0, 0x02},
		"deep nesting":       bytes.Repeat([]byte{0x30, 0x80}, 10000),
		"nested definite":    nested(5000),
		"high tag":           {0x30, 0x03, 0x1f, 0x81, 0x00},
		"trailing data":      append(fixture(t, "openssl3-default.pfx"), 0),
		"version 2":          {0x30, 0x03, 0x02, 0x01, 0x02},
		"signedData":         der(tagSequence, der(tagInteger, []byte{3}), der(tagSequence, der(tagOID, oidBytes(oidSignedData)))),
		"constructed octets": der(tagSequence, der(tagInteger, []byte{3}), der(tagSequence, der(tagOID, oidBytes(oidData)), der(tagContext0, der(0x24)))),
	}
	for name, data := range tests {
		_, err := Decode(data, "")
		require.Error(t, err, name)
		assert.True(t, isSentinel(err), "%s: %v", name, err)
	}
	_, err := Decode(tests["deep nesting"], "")
	assert.ErrorIs(t, err, ErrBER)
	_, err = Decode(tests["signedData"], "")
	assert.ErrorIs(t, err, ErrUnsupported)
	_, err = Decode(tests["constructed octets"], "")
	assert.ErrorIs(t, err, ErrNotPFX, "BER chunks are read; the empty safe is not")
}

func nested(depth int) []byte {
	b := []byte{0x05, 0x00}
	for i := 0; i < depth; i++ {
		b = der(tagSequence, b)
	}
	return b
}

// toBER re-encodes the outer PFX SEQUENCE with an indefinite length.
func toBER(t testing.TB, data []byte) []byte {
	_, body, _, err := readTLV(data)
	require.NoError(t, err)
	out := append([]byte{0x30, 0x80}, body...)
	return append(out, 0, 0)
}

func hexBytes(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

func replaceOnce(t *testing.T, data []byte, old, new string) []byte {
	o := hexBytes(t, old)
	require.Equal(t, 1, bytes.Count(data, o), "pattern %s", old)
	return bytes.Replace(data, o, hexBytes(t, new), 1)
}

func replaceAll(t *testing.T, data []byte, old, new string) []byte {
	o := hexBytes(t, old)
	require.Positive(t, bytes.Count(data, o), "pattern %s", old)
	return bytes.ReplaceAll(data, o, hexBytes(t, new))
}

func FuzzDecode(f *testing.F) {
	for _, fx := range allFixtures {
		f.Add(fixture(f, fx.file), fx.password)
	}
	f.Add(toBER(f, fixture(f, "openssl3-default.pfx")), testPassword)
	f.Add(berify(f, fixture(f, "openssl-legacy.pfx")), testPassword)
	for _, r := range readManifest(f) {
		data, err := os.ReadFile(filepath.Join(interopDir, r.file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, r.pass(f))
	}
	// Above keytool's 10,000 so every fixture still decodes.
	iterationLimit = 20000
	f.Cleanup(func() { iterationLimit = MaxIterations })
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		b, err := Decode(data, password)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("error matches no sentinel: %v", err)
			}
			return
		}
		if b.Leaf == nil || b.Key == nil || !publicKeyEqual(b.Leaf, b.Key.Public()) {
			t.Fatalf("leaf does not match key")
		}
		_, _ = DecodeCertificates(data, password)
		NeedsPassword(data)
	})
}

func TestWork(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file string
		want int64
	}{
		// OpenSSL 3: MAC 2,048 and the certificate safe's PBKDF2 2,048
		// (the key bag sits in a plain safe, its own 2,048 visible too).
		{"openssl3-default.pfx", 3 * 2048},
		{"cert.pem", 0},
	} {
		got, err := Work(fixture(t, tc.file))
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, tc.file)
	}
	b, err := Decode(fixture(t, "openssl3-default.pfx"), testPassword)
	require.NoError(t, err)
	store, err := EncodeStore(b)
	require.NoError(t, err)
	got, err := Work(store)
	require.NoError(t, err)
	assert.Equal(t, int64(5*2000), got, "a store file: MAC, then key and IV of the certificate safe and of the key bag, at 2,000 each")
}
