package pfx

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// interopDir holds files written by the real producers (NSS, GnuTLS, Java,
// OpenSSL, pyca, .NET), with what OpenSSL says about each in manifest.tsv.
var interopDir = filepath.Join("..", "testdata", "interop")

// interopRow is one line of manifest.tsv.
type interopRow struct {
	file, password string
	key            bool
	leaf           string
	certs          []string
	flags          map[string]string
	producer       string
}

func readManifest(t testing.TB) []interopRow {
	f, err := os.Open(filepath.Join(interopDir, "manifest.tsv"))
	require.NoError(t, err)
	defer f.Close()
	var rows []interopRow
	sc := bufio.NewScanner(f)
	for line := 0; sc.Scan(); line++ {
		if line == 0 || strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		c := strings.Split(sc.Text(), "\t")
		require.Len(t, c, 7, "manifest line %d", line+1)
		r := interopRow{file: c[0], password: c[1], key: c[2] == "yes", leaf: c[3], producer: c[6], flags: map[string]string{}}
		if c[4] != "-" {
			r.certs = strings.Split(c[4], ",")
		}
		for _, fl := range strings.Split(c[5], ",") {
			k, v, _ := strings.Cut(fl, "=")
			if k != "-" {
				r.flags[k] = v
			}
		}
		rows = append(rows, r)
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, rows)
	return rows
}

func (r interopRow) pass(t testing.TB) string {
	if r.password == "-" {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(interopDir, r.password))
	require.NoError(t, err)
	return string(b)
}

func tpOf(c *x509.Certificate) string {
	s := sha1.Sum(c.Raw)
	return strings.ToUpper(hex.EncodeToString(s[:]))
}

func tpsOf(certs []*x509.Certificate) []string {
	var out []string
	for _, c := range certs {
		out = append(out, tpOf(c))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestInteropCorpus reads every file of the corpus and checks what
// OpenSSL says about it: the thumbprints, which certificate has the key,
// the whole chain, the MAC warning; and that an export of it reads back in
// OpenSSL with the same key.
func TestInteropCorpus(t *testing.T) {
	t.Parallel()
	for _, r := range readManifest(t) {
		t.Run(r.file, func(t *testing.T) {
			t.Parallel() // a few files take seconds: 600,000 iterations, as GnuTLS and NSS write them
			data, err := os.ReadFile(filepath.Join(interopDir, r.file))
			require.NoError(t, err)
			pw := r.pass(t)
			if _, bad := r.flags["bad"]; bad {
				_, err := Read(data, pw)
				require.Error(t, err, "%s must be refused", r.file)
				assert.True(t, isSentinel(err), "%v", err)
				t.Logf("refused: %v", err)
				return
			}
			if certFile, ok := r.flags["cert"]; ok {
				certData, err := os.ReadFile(filepath.Join(interopDir, certFile))
				require.NoError(t, err)
				b, err := DecodePEM(certData, data, pw)
				require.NoError(t, err)
				assert.Equal(t, r.leaf, tpOf(b.Leaf), "the key's certificate")
				_, err = DecodePEM(certData, data, "wrong")
				assert.ErrorIs(t, err, ErrIncorrectPassword)
				assertOpenSSLReadsExport(t, b)
				return
			}
			c, err := Read(data, pw)
			require.NoError(t, err)
			assert.Equal(t, r.certs, tpsOf(c.Certificates), "all certificates")
			_, nomac := r.flags["nomac"]
			assert.Equal(t, nomac, c.NoMAC, "no MAC")
			if !r.key {
				assert.Nil(t, c.Key)
				bs, err := c.Bundles()
				require.NoError(t, err)
				assert.Len(t, bs, len(r.certs), "one bundle per certificate")
				return
			}
			require.NotNil(t, c.Key)
			b, err := Decode(data, pw)
			require.NoError(t, err)
			assert.Equal(t, r.leaf, tpOf(b.Leaf), "the certificate with the key")
			assert.Equal(t, r.certs, tpsOf(append([]*x509.Certificate{b.Leaf}, b.Chain...)), "the whole chain")
			if _, ok := r.flags["negserial"]; ok {
				assert.Negative(t, b.Leaf.SerialNumber.Sign(), "a negative serial number")
			}
			if pw != "" && (c.Format == FormatPKCS12) {
				_, err := Decode(data, pw+"x")
				assert.ErrorIs(t, err, ErrIncorrectPassword)
			}
			// As a store file, it lists the same.
			store, err := EncodeStore(b)
			require.NoError(t, err)
			leaf, chain, hasKey, err := ReadStoreCertificates(store, "")
			require.NoError(t, err)
			assert.True(t, hasKey)
			assert.Equal(t, r.leaf, tpOf(leaf))
			assert.Equal(t, r.certs, tpsOf(append(chain, leaf)))
			assertOpenSSLReadsExport(t, b)
		})
	}
}

// assertOpenSSLReadsExport exports b as certctl does and has OpenSSL read
// it back: the same certificates and the same key.
func assertOpenSSLReadsExport(t *testing.T, b *Bundle) {
	t.Helper()
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is needed to read the export back")
	}
	data, err := EncodeExport(b, "export-pw", true)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "export.pfx")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	out, err := exec.Command(openssl, "pkcs12", "-in", path, "-passin", "pass:export-pw", "-nodes").Output()
	require.NoError(t, err)
	var certs []*x509.Certificate
	var keyDER []byte
	for rest := out; ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			require.NoError(t, err)
			certs = append(certs, c)
		case "PRIVATE KEY":
			keyDER = blk.Bytes
		}
	}
	assert.Equal(t, tpsOf(append([]*x509.Certificate{b.Leaf}, b.Chain...)), tpsOf(certs), "OpenSSL reads the same certificates")
	require.NotNil(t, keyDER, "OpenSSL finds the key")
	k, err := x509.ParsePKCS8PrivateKey(keyDER)
	require.NoError(t, err)
	pub, err := x509.MarshalPKIXPublicKey(k.(crypto.Signer).Public())
	require.NoError(t, err)
	want, err := x509.MarshalPKIXPublicKey(b.Key.Public())
	require.NoError(t, err)
	assert.True(t, bytes.Equal(want, pub), "OpenSSL reads the same key")
}
