package roots

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// The places Go reads on Linux (crypto/x509/root_linux.go): the first of
// certFiles that can be read, and every file of every certDirectories.
// SSL_CERT_FILE replaces the list of files, SSL_CERT_DIR (folders separated
// by ':') the list of folders.
var (
	certFiles = []string{
		"/etc/ssl/certs/ca-certificates.crt",
		"/etc/pki/tls/certs/ca-bundle.crt",
		"/etc/ssl/ca-bundle.pem",
		"/etc/pki/tls/cacert.pem",
		"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
		"/etc/ssl/cert.pem",
	}
	certDirectories = []string{
		"/etc/ssl/certs",
		"/etc/pki/tls/certs",
	}
)

// systemSources are the files and folders Go would read, from the
// environment or its defaults.
func systemSources() (files, dirs []string) {
	files, dirs = certFiles, certDirectories
	if f := os.Getenv("SSL_CERT_FILE"); f != "" {
		files = []string{f}
	}
	if d := os.Getenv("SSL_CERT_DIR"); d != "" {
		dirs = strings.Split(d, ":")
	}
	return files, dirs
}

// set is the system's roots, read as they are needed but never parsed
// all: the DER of each certificate, once.
type set struct {
	files, dirs []string

	mu sync.Mutex
	// stage is how far the sources have been read: 0 nothing, 1 the
	// file, 2 the folders too.
	stage int
	der   [][]byte
	seen  map[[sha256.Size]byte]bool
	// firstErr is the first error of a source that exists but could not be
	// read; err is set to it once everything is read and no root was
	// found.
	firstErr, err error
}

func newSet(files, dirs []string) *set {
	return &set{files: files, dirs: dirs, seen: map[[sha256.Size]byte]bool{}}
}

// load reads every root of files and dirs, as Go does: the first file of
// files that can be read, then every entry of every folder of dirs,
// except symbolic links to a name in the same folder (the hash links of
// c_rehash). A file or folder that does not exist is skipped; any other
// error is kept, and reported if no root is found at all.
func load(files, dirs []string) *set {
	s := newSet(files, dirs)
	s.readTo(2)
	return s
}

// readTo reads the sources up to stage; the caller holds s.mu or owns s.
func (s *set) readTo(stage int) {
	if s.stage < 1 && stage >= 1 {
		s.stage = 1
		for _, file := range s.files {
			data, err := os.ReadFile(file)
			if err == nil {
				s.add(data)
				break
			}
			if s.firstErr == nil && !os.IsNotExist(err) {
				s.firstErr = err
			}
		}
	}
	if s.stage < 2 && stage >= 2 {
		s.stage = 2
		for _, dir := range s.dirs {
			entries, err := os.ReadDir(dir)
			if err != nil {
				if s.firstErr == nil && !os.IsNotExist(err) {
					s.firstErr = err
				}
				continue
			}
			for _, e := range entries {
				if sameDirSymlink(dir, e) {
					continue
				}
				if data, err := os.ReadFile(dir + "/" + e.Name()); err == nil {
					s.add(data)
				}
			}
		}
		if len(s.der) == 0 && s.firstErr != nil {
			s.err = s.firstErr
		}
	}
}

func sameDirSymlink(dir string, e fs.DirEntry) bool {
	if e.Type()&fs.ModeSymlink == 0 {
		return false
	}
	target, err := os.Readlink(filepath.Join(dir, e.Name()))
	return err == nil && !strings.Contains(target, "/")
}

// add keeps the certificates of PEM data: blocks of type CERTIFICATE
// without headers, as x509.CertPool.AppendCertsFromPEM takes them.
func (s *set) add(data []byte) {
	for len(data) > 0 {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return
		}
		if block.Type != "CERTIFICATE" || len(block.Headers) != 0 {
			continue
		}
		sum := sha256.Sum256(block.Bytes)
		if !s.seen[sum] {
			s.seen[sum] = true
			s.der = append(s.der, block.Bytes)
		}
	}
}

// pool holds the roots that could take part in a chain of presented: those
// whose subject is the issuer of a presented certificate, and the leaf
// itself if it is a root. x509.Certificate.Verify looks for a parent only
// by the issuer's name (RawIssuer equal to the parent's RawSubject), and
// takes a leaf found among the roots as a chain of its own; a root outside
// this pool is never either, so Verify decides with the pool exactly as
// with every root. A root whose DER merely contains the bytes of an issuer
// name is parsed too, which changes nothing. Roots that do not parse are
// left out, as x509.CertPool.AppendCertsFromPEM leaves them out.
func (s *set) pool(presented []*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, der := range s.der {
		if !candidate(der, presented) {
			continue
		}
		if c, err := x509.ParseCertificate(der); err == nil {
			p.AddCert(c)
		}
	}
	return p
}

func candidate(der []byte, presented []*x509.Certificate) bool {
	if len(presented) > 0 && bytes.Equal(der, presented[0].Raw) {
		return true
	}
	for _, c := range presented {
		if len(c.RawIssuer) > 0 && bytes.Contains(der, c.RawIssuer) {
			return true
		}
	}
	return false
}

// verify checks the certificates a server presented for host as
// crypto/tls does when it verifies them itself, and returns its error:
// *tls.CertificateVerificationError.
//
// It tries the roots of the file first, and reads the folders only if
// those do not do. More roots never turn a verified chain into a refusal
// (x509 accepts the server if any chain holds), so a server the file's
// roots verify is one that every root verifies; and one they refuse is
// verified again with every root, as Go would.
func (s *set) verify(host string, presented []*x509.Certificate, now time.Time) error {
	if len(presented) == 0 {
		return errors.New("tls: server presented no certificate")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readTo(1)
	err := s.verifyWith(host, presented, now)
	if err != nil && s.stage < 2 {
		s.readTo(2)
		err = s.verifyWith(host, presented, now)
	}
	if s.err != nil {
		err = x509.SystemRootsError{Err: s.err}
	}
	if err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: presented, Err: err}
	}
	return nil
}

func (s *set) verifyWith(host string, presented []*x509.Certificate, now time.Time) error {
	opts := x509.VerifyOptions{
		Roots:         s.pool(presented),
		CurrentTime:   now,
		DNSName:       host,
		Intermediates: x509.NewCertPool(),
	}
	for _, c := range presented[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := presented[0].Verify(opts)
	return err
}

// hostTransport sends each host's requests through a transport of its
// own, whose TLS configuration names the host: crypto/tls tells
// VerifyConnection the name it sent in SNI, which is empty for an IP
// address, so the name to verify is fixed in the configuration instead.
type hostTransport struct {
	roots func() *set
	now   func() time.Time

	mu    sync.Mutex
	hosts map[string]*http.Transport
}

func newHostTransport(roots func() *set) *hostTransport {
	return &hostTransport{roots: roots, now: time.Now, hosts: map[string]*http.Transport{}}
}

func (t *hostTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" {
		return http.DefaultTransport.RoundTrip(req)
	}
	return t.forHost(req.URL.Hostname()).RoundTrip(req)
}

// CloseIdleConnections closes the idle connections of every host.
func (t *hostTransport) CloseIdleConnections() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, h := range t.hosts {
		h.CloseIdleConnections()
	}
}

func (t *hostTransport) forHost(host string) *http.Transport {
	t.mu.Lock()
	defer t.mu.Unlock()
	if h, ok := t.hosts[host]; ok {
		return h
	}
	h := http.DefaultTransport.(*http.Transport).Clone()
	h.TLSClientConfig = &tls.Config{
		ServerName: host,
		// Not insecure: VerifyConnection verifies the server as crypto/tls
		// would, with the roots that can matter.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return t.roots().verify(host, cs.PeerCertificates, t.now())
		},
	}
	t.hosts[host] = h
	return h
}

var system = sync.OnceValue(func() *set { return newSet(systemSources()) })

var shared = sync.OnceValue(func() *hostTransport { return newHostTransport(system) })

func transport() http.RoundTripper { return shared() }
