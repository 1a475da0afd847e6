package roots

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/certctl/certctl/internal/testcert"
	"github.com/certctl/certctl/pfx"
)

// TestMain doubles as Go's own root loading, the oracle of
// TestSameRootsAsGo: with ROOTS_TEST_GO=1 it prints the subjects of
// x509.SystemCertPool, which reads SSL_CERT_FILE and SSL_CERT_DIR once
// per process, and exits.
func TestMain(m *testing.M) {
	if os.Getenv("ROOTS_TEST_GO") == "1" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			fmt.Println("error")
			os.Exit(0)
		}
		//lint:ignore SA1019 on Linux the system pool's subjects are all there
		for _, s := range pool.Subjects() {
			fmt.Println(hex.EncodeToString(s))
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// goRoots is what Go itself finds with env: the sorted hex subjects of its
// system pool, or "error".
func goRoots(t *testing.T, env ...string) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(withoutSSL(os.Environ()), append(env, "ROOTS_TEST_GO=1")...)
	out, err := cmd.Output()
	require.NoError(t, err)
	lines := strings.Fields(string(out))
	if len(lines) == 0 {
		return nil
	}
	sort.Strings(lines)
	return lines
}

func withoutSSL(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "SSL_CERT_") {
			out = append(out, kv)
		}
	}
	return out
}

// ourRoots is what load finds with env, in goRoots' form.
func ourRoots(t *testing.T, env ...string) []string {
	t.Helper()
	for _, k := range []string{"SSL_CERT_FILE", "SSL_CERT_DIR"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	s := load(systemSources())
	if s.err != nil {
		return []string{"error"}
	}
	var lines []string
	for _, der := range s.der {
		if c, err := x509.ParseCertificate(der); err == nil {
			lines = append(lines, hex.EncodeToString(c.RawSubject))
		}
	}
	sort.Strings(lines)
	return lines
}

func pemOf(certs ...*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, data, 0o644))
}

// TestSameRootsAsGo: the roots found are Go's, certificate for certificate,
// on this machine's defaults and on layouts that exercise each rule.
func TestSameRootsAsGo(t *testing.T) {
	var cas []*x509.Certificate
	for i := range 6 {
		cas = append(cas, testcert.Mint(t, fmt.Sprintf("certctl roots CA %d", i), testcert.Options{Key: "ecdsa"}).Leaf)
	}
	// Another CA with the name of the first: both are roots.
	cas = append(cas, testcert.Mint(t, "certctl roots CA 0", testcert.Options{Key: "ecdsa"}).Leaf)
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle.pem")
	key := []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
	withHeaders := []byte("-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\n" + strings.TrimPrefix(string(pemOf(cas[5])), "-----BEGIN CERTIFICATE-----\n"))
	write(t, bundle, bytes.Join([][]byte{[]byte("junk before\n"), pemOf(cas[0], cas[1]), key, withHeaders, pemOf(cas[6])}, nil))
	certs := filepath.Join(dir, "certs")
	write(t, filepath.Join(certs, "two.pem"), pemOf(cas[2]))
	write(t, filepath.Join(certs, "dup.pem"), pemOf(cas[0]))
	write(t, filepath.Join(certs, "notes.txt"), []byte("not a certificate"))
	require.NoError(t, os.Mkdir(filepath.Join(certs, "sub"), 0o755))
	outside := filepath.Join(dir, "outside", "three.pem")
	write(t, outside, pemOf(cas[3]))
	require.NoError(t, os.Symlink(outside, filepath.Join(certs, "three.pem")))
	// A hash link to a name in the same folder is skipped, as c_rehash's
	// are; one to a file elsewhere is read.
	require.NoError(t, os.Symlink("two.pem", filepath.Join(certs, "abcd1234.0")))
	hidden := filepath.Join(dir, "hidden")
	write(t, filepath.Join(hidden, "four.pem"), pemOf(cas[4]))
	require.NoError(t, os.Symlink("four.pem", filepath.Join(hidden, "link.0")))
	require.NoError(t, os.Remove(filepath.Join(hidden, "four.pem")))
	unreadable := filepath.Join(dir, "a-folder")
	require.NoError(t, os.Mkdir(unreadable, 0o755))

	for _, tc := range []struct {
		name string
		env  []string
		want int // roots expected; -1: an error
	}{
		{"this machine", nil, 0},
		{"file and folders", []string{"SSL_CERT_FILE=" + bundle, "SSL_CERT_DIR=" + certs + ":" + hidden + ":" + filepath.Join(dir, "missing")}, 5},
		{"folder only", []string{"SSL_CERT_FILE=" + filepath.Join(dir, "missing.pem"), "SSL_CERT_DIR=" + certs}, 3},
		{"nothing there", []string{"SSL_CERT_FILE=" + filepath.Join(dir, "missing.pem"), "SSL_CERT_DIR=" + filepath.Join(dir, "missing")}, 0},
		{"an unreadable file and nothing else", []string{"SSL_CERT_FILE=" + unreadable, "SSL_CERT_DIR=" + filepath.Join(dir, "missing")}, -1},
		{"an unreadable file and a folder", []string{"SSL_CERT_FILE=" + unreadable, "SSL_CERT_DIR=" + certs}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := goRoots(t, tc.env...)
			got := ourRoots(t, tc.env...)
			assert.Equal(t, want, got)
			switch {
			case tc.want == -1:
				assert.Equal(t, []string{"error"}, got)
			case tc.name == "this machine":
				t.Logf("%d roots on this machine", len(got))
			default:
				assert.Len(t, got, tc.want)
			}
		})
	}
}

// server is a TLS server on 127.0.0.1 that presents chain.
func server(t *testing.T, leaf *pfx.Bundle, chain ...*x509.Certificate) string {
	t.Helper()
	der := [][]byte{leaf.Leaf.Raw}
	for _, c := range chain {
		der = append(der, c.Raw)
	}
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	s.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: der, PrivateKey: leaf.Key}}}
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	s.StartTLS()
	t.Cleanup(s.Close)
	return s.URL
}

// get fetches u through rt and returns "ok" or the error's text.
func get(rt http.RoundTripper, u string) string {
	resp, err := (&http.Client{Transport: rt, Timeout: 10 * time.Second}).Get(u)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) {
			return ue.Unwrap().Error()
		}
		return err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// TestVerifiesAsGo: every server is accepted or refused as Go's own
// verification, given the same roots, accepts or refuses it, with the same
// error; and the server's host name is checked also when it is an IP
// address, which TLS does not send.
func TestVerifiesAsGo(t *testing.T) {
	root := testcert.Mint(t, "certctl verify root", testcert.Options{Key: "ecdsa"})
	inter := testcert.Mint(t, "certctl verify intermediate", testcert.Options{Key: "ecdsa", Parent: root, IsCA: true})
	other := testcert.Mint(t, "certctl verify other root", testcert.Options{Key: "ecdsa"})
	loopback := []net.IP{net.ParseIP("127.0.0.1")}
	leaf := testcert.Mint(t, "certctl verify leaf", testcert.Options{Key: "ecdsa", Parent: inter, IPAddresses: loopback, DNSNames: []string{"localhost"}})
	direct := testcert.Mint(t, "certctl verify direct", testcert.Options{Key: "ecdsa", Parent: root, IPAddresses: loopback, DNSNames: []string{"localhost"}})
	ipOnly := testcert.Mint(t, "certctl verify IP only", testcert.Options{Key: "ecdsa", Parent: root, IPAddresses: loopback})
	nameOnly := testcert.Mint(t, "certctl verify name only", testcert.Options{Key: "ecdsa", Parent: root, DNSNames: []string{"localhost"}})
	expired := testcert.Mint(t, "certctl verify expired", testcert.Options{Key: "ecdsa", Parent: root, IPAddresses: loopback, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	stranger := testcert.Mint(t, "certctl verify stranger", testcert.Options{Key: "ecdsa", Parent: other, IPAddresses: loopback})
	pinned := testcert.Mint(t, "certctl verify pinned", testcert.Options{Key: "ecdsa", Parent: other, IPAddresses: loopback})
	selfSigned := testcert.Mint(t, "certctl verify self-signed", testcert.Options{Key: "ecdsa", IPAddresses: loopback})

	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle.pem")
	// other issued stranger and pinned, and is not trusted; pinned is.
	fileRoot := testcert.Mint(t, "certctl verify root in the file", testcert.Options{Key: "ecdsa"})
	fileLeaf := testcert.Mint(t, "certctl verify leaf of the file's root", testcert.Options{Key: "ecdsa", Parent: fileRoot, IPAddresses: loopback})
	write(t, bundle, pemOf(pinned.Leaf, fileRoot.Leaf))
	certs := filepath.Join(dir, "certs")
	write(t, filepath.Join(certs, "root.pem"), pemOf(root.Leaf))
	write(t, filepath.Join(certs, "self.pem"), pemOf(selfSigned.Leaf))
	pool := x509.NewCertPool()
	for _, f := range []string{bundle, filepath.Join(certs, "root.pem"), filepath.Join(certs, "self.pem")} {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		require.True(t, pool.AppendCertsFromPEM(data))
	}
	goTransport := http.DefaultTransport.(*http.Transport).Clone()
	goTransport.TLSClientConfig = &tls.Config{RootCAs: pool}

	// stage: 1 when the file's roots verified the server, so the folders
	// were never read; 2 when they were.
	for _, tc := range []struct {
		name   string
		url    string
		accept bool
		stage  int
	}{
		{"leaf and intermediate, root in a folder", server(t, leaf, inter.Leaf), true, 2},
		{"by name", strings.Replace(server(t, leaf, inter.Leaf), "127.0.0.1", "localhost", 1), true, 2},
		{"intermediate missing", server(t, leaf), false, 2},
		{"issued by the root", server(t, direct), true, 2},
		{"root sent too", server(t, direct, root.Leaf), true, 2},
		{"no IP address for 127.0.0.1", server(t, nameOnly), false, 2},
		{"no name for localhost", strings.Replace(server(t, ipOnly), "127.0.0.1", "localhost", 1), false, 2},
		{"expired", server(t, expired), false, 2},
		{"unknown root", server(t, stranger), false, 2},
		{"a leaf that is itself a root, in the file", server(t, pinned), true, 1},
		{"issued by a root in the file", server(t, fileLeaf), true, 1},
		{"self-signed and trusted", server(t, selfSigned), true, 2},
		{"self-signed, not trusted", server(t, testcert.Mint(t, "certctl verify unknown", testcert.Options{Key: "ecdsa", IPAddresses: loopback})), false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ours := newSet([]string{bundle}, []string{certs})
			want := get(goTransport, tc.url)
			got := get(newHostTransport(func() *set { return ours }), tc.url)
			t.Log(got)
			assert.Equal(t, want, got, "the same answer as Go's verification")
			if tc.accept {
				assert.Equal(t, "ok", got)
			} else {
				assert.Contains(t, got, "tls: failed to verify certificate: x509: ")
			}
			assert.Equal(t, tc.stage, ours.stage, "how far the roots were read")
		})
	}

	// No root at all, because none could be read: Go's error.
	none := newHostTransport(func() *set { return load([]string{dir}, nil) })
	assert.Contains(t, get(none, server(t, direct)), "x509: failed to load system roots and no roots provided")
}
