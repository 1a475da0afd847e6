// Package pfx converts between certificate files and a Bundle: a leaf
// certificate, its private key and the rest of its chain.
//
// Reading:
//
//   - Decode reads a PKCS#12 (.pfx/.p12) or PEM file, detecting the format
//     from the bytes, and returns a Bundle whose Leaf matches its Key.
//   - DecodePEM reads a certificate PEM and a separate key PEM.
//   - DecodeCertificates returns just the certificates (no key required),
//     also from a DER .cer file; use it to print thumbprints.
//   - NeedsPassword tells a CLI whether to prompt for a PKCS#12 password.
//
// Writing:
//
//   - EncodeStore writes a file the way .NET writes its Linux
//     CurrentUser store (3DES, SHA-1 MAC, 2000 iterations, empty password).
//   - EncodeExport writes a password-protected AES-256 PKCS#12 file.
//   - EncodePEM writes certificates and optionally a PKCS#8 key.
//
// PKCS#12 work is delegated to software.sslmate.com/src/go-pkcs12, but
// every PKCS#12 input is first pre-scanned by this package: inputs larger
// than MaxFileSize, BER (indefinite-length) encodings, MAC or KDF iteration
// counts above MaxIterations, algorithms go-pkcs12 cannot handle and more
// than one visible key bag are rejected before any key derivation runs.
// One limit remains: bags inside an encrypted SafeContents cannot be seen
// before it is decrypted, so the iteration count of a key bag stored inside
// an encrypted safe (an unusual layout; OpenSSL, Windows, .NET and Java put
// shrouded keys in a plain safe) is not checked in advance.
//
// Errors are lower-case, carry no file name, never contain the password and
// match one of the Err* sentinels with errors.Is. Callers add context, e.g.
// fmt.Errorf("import %s: %w", name, err).
package pfx

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"software.sslmate.com/src/go-pkcs12"
)

// Bundle is a certificate with its private key and the rest of its chain.
type Bundle struct {
	// Leaf is the certificate whose public key matches Key.
	Leaf *x509.Certificate
	// Key is an *rsa.PrivateKey, *ecdsa.PrivateKey or ed25519.PrivateKey.
	// It is nil only in bundles built by callers from DecodeCertificates.
	Key crypto.Signer
	// Chain holds the other certificates: the leaf's issuer first, then
	// its issuer and so on as far as the chain can be followed by subject
	// and key identifier, then the remaining certificates in file order.
	// Exact duplicates are dropped.
	Chain []*x509.Certificate
}

// MaxFileSize is the largest input, in bytes, that the decoders accept.
// Larger input fails with ErrTooLarge.
const MaxFileSize = 4 << 20

// MaxIterations caps every MAC and KDF iteration count in a PKCS#12 file.
// A larger count fails with an *IterationError (ErrTooManyIterations)
// before any key derivation runs, so a hostile file cannot make the CLI
// spin for hours.
//
// The value is 600,000: the OWASP 2023 recommendation for
// PBKDF2-HMAC-SHA-256, so a file exported by a careful tool still loads,
// and about a second of work per KDF on a slow machine. Real-world
// producers use far less (OpenSSL 2,048, Windows 2,000, Java 10,000).
// .NET's X509CertificateLoader allows 300,000 per KDF (and 1,000,000 in
// total); certctl is a little more permissive per KDF and relies on
// go-pkcs12 running at most one MAC and three KDFs per file.
const MaxIterations = 600000

// Work is the key-derivation work of decoding data: the sum of the MAC and
// KDF iteration counts visible before anything is decrypted (a key bag
// inside an encrypted safe adds its own count once decrypted). Callers that
// decode many files use it to cap the total. It runs only the bounded
// pre-scan; PEM and DER input cost nothing, and input the pre-scan refuses
// returns its error.
func Work(data []byte) (int64, error) {
	kind, err := sniff(data)
	if err != nil || kind != kindPKCS12 {
		return 0, err
	}
	info, err := prescan(data)
	if err != nil {
		return 0, err
	}
	return info.work, nil
}

// Decode decodes a PKCS#12 file or a PEM file (certificate(s) and an
// unencrypted private key in one file), detecting the format from the
// bytes.
//
// password is used for PKCS#12 only. An empty password also matches
// files protected with .NET's null password (a zero-length password
// rather than the empty BMPString) and files without a MAC. Encrypted PEM
// keys are rejected with an *UnsupportedError.
//
// The leaf is the certificate matching the key, wherever it is in the
// file; see Bundle for the chain order.
func Decode(data []byte, password string) (*Bundle, error) {
	kind, err := sniff(data)
	if err != nil {
		return nil, err
	}
	switch kind {
	case kindPEM:
		return DecodePEM(data, nil)
	case kindDERCert:
		return nil, wrapf(ErrNoPrivateKey, nil, "no private key: the file is a DER certificate (.cer), not PKCS#12")
	}
	key, certs, err := decodePKCS12(data, password)
	if err != nil {
		return nil, err
	}
	return assemble(key, certs)
}

// DecodeCertificates returns the certificates in a PKCS#12 file (which
// needs password), a PEM file or a DER certificate (.cer), without
// requiring a private key. When the file has a key, the certificate
// matching it comes first, followed by the chain as in Bundle; otherwise
// the certificates are in file order.
func DecodeCertificates(data []byte, password string) ([]*x509.Certificate, error) {
	kind, err := sniff(data)
	if err != nil {
		return nil, err
	}
	var key crypto.Signer
	var certs []*x509.Certificate
	switch kind {
	case kindDERCert:
		c, err := x509.ParseCertificate(data)
		if err != nil {
			return nil, wrapf(ErrNotPFX, err, "invalid DER certificate: %v", err)
		}
		return []*x509.Certificate{c}, nil
	case kindPEM:
		var keys []crypto.Signer
		certs, keys, err = parsePEM(data, true)
		if err != nil {
			return nil, err
		}
		if len(keys) == 1 {
			key = keys[0]
		}
	case kindPKCS12:
		key, certs, err = decodePKCS12(data, password)
		if errors.Is(err, ErrNoPrivateKey) {
			certs, err = decodePKCS12CertsOnly(data, password)
		}
		if err != nil {
			return nil, err
		}
	}
	if len(certs) == 0 {
		return nil, ErrNoCertificate
	}
	if key != nil {
		if b, err := assemble(key, certs); err == nil {
			return append([]*x509.Certificate{b.Leaf}, b.Chain...), nil
		}
	}
	return certs, nil
}

// NeedsPassword reports whether data is a PKCS#12 file whose MAC does not
// verify with the empty or the null password, i.e. whether a CLI should
// ask for one. It returns false for anything else, including files that
// Decode will reject (too large, malformed, too many iterations): Decode
// then reports the real problem. It runs no KDF on a file that fails the
// pre-scan.
func NeedsPassword(data []byte) bool {
	if len(data) == 0 || len(data) > MaxFileSize || data[0] != tagSequence {
		return false
	}
	info, err := prescan(data)
	if err != nil || !info.hasMAC {
		return false
	}
	_, _, _, err = pkcs12.DecodeChain(data, "")
	return errors.Is(err, pkcs12.ErrIncorrectPassword)
}

type fileKind int

const (
	kindPKCS12 fileKind = iota
	kindPEM
	kindDERCert
)

// sniff classifies data: a DER SEQUENCE is PKCS#12 unless it parses as a
// certificate; text with a PEM header is PEM.
func sniff(data []byte) (fileKind, error) {
	if len(data) == 0 {
		return 0, wrapf(ErrNotPFX, nil, "file is empty")
	}
	if len(data) > MaxFileSize {
		return 0, ErrTooLarge
	}
	if data[0] == tagSequence {
		if isDERCertificate(data) {
			return kindDERCert, nil
		}
		return kindPKCS12, nil
	}
	if bytes.Contains(data, []byte("-----BEGIN ")) {
		return kindPEM, nil
	}
	return 0, ErrNotPFX
}

// isDERCertificate reports whether data looks like an X.509 certificate:
// SEQUENCE { SEQUENCE (tbsCertificate) ... }, whereas a PFX starts with
// SEQUENCE { INTEGER 3 ... }.
func isDERCertificate(data []byte) bool {
	body, _, err := expect(data, tagSequence, "")
	if err != nil || len(body) == 0 || body[0] != tagSequence {
		return false
	}
	_, err = x509.ParseCertificate(data)
	return err == nil
}

// checkPassword rejects passwords PKCS#12 cannot encode as a BMPString.
func checkPassword(password string) error {
	if !utf8.ValidString(password) {
		return wrapf(ErrPasswordEncoding, nil, "password is not valid UTF-8")
	}
	for _, r := range password {
		if r > 0xFFFF {
			return ErrPasswordEncoding
		}
	}
	return nil
}

// decodePKCS12 pre-scans data, runs go-pkcs12 and returns the key and all
// certificates in file order.
func decodePKCS12(data []byte, password string) (crypto.Signer, []*x509.Certificate, error) {
	if err := checkPassword(password); err != nil {
		return nil, nil, err
	}
	info, err := prescan(data)
	if err != nil {
		return nil, nil, err
	}
	if !info.hasMAC && password != "" {
		if info.encrypted {
			// go-pkcs12 only accepts MAC-less files with the empty password.
			return nil, nil, &UnsupportedError{Algorithm: "password-encrypted PKCS#12 without a MAC"}
		}
		password = "" // nothing is encrypted: the password is irrelevant
	}
	k, leaf, cas, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		return nil, nil, mapErr(err)
	}
	key, err := toSigner(k)
	if err != nil {
		return nil, nil, err
	}
	return key, append([]*x509.Certificate{leaf}, cas...), nil
}

// mapErr translates go-pkcs12 errors into this package's sentinels.
func mapErr(err error) error {
	msg := err.Error()
	var nie pkcs12.NotImplementedError
	switch {
	case errors.Is(err, pkcs12.ErrIncorrectPassword):
		return ErrIncorrectPassword
	case errors.Is(err, pkcs12.ErrDecryption), strings.Contains(msg, "decryption error, incorrect padding"):
		return ErrIncorrectPassword
	case strings.Contains(msg, "expected exactly one key bag"):
		return ErrMultipleKeys
	case strings.Contains(msg, "private key missing"):
		return ErrNoPrivateKey
	case strings.Contains(msg, "certificate missing"):
		return ErrNoCertificate
	case strings.Contains(msg, "cannot be encoded in UCS-2"):
		return ErrPasswordEncoding
	case errors.As(err, &nie):
		return &UnsupportedError{Algorithm: cleanMsg(nie)}
	case strings.Contains(msg, "unknown algorithm: "):
		// x509.ParsePKCS8PrivateKey: "... private key with unknown algorithm: 1.2.840.10040.4.1"
		oid := msg[strings.LastIndex(msg, "unknown algorithm: ")+len("unknown algorithm: "):]
		if n, ok := oidNames[oid]; ok {
			return &UnsupportedError{Algorithm: n + " (" + oid + ")"}
		}
		return &UnsupportedError{Algorithm: "private key algorithm " + oid}
	case strings.Contains(msg, "is not supported"), strings.Contains(msg, "unsupported elliptic curve"):
		return &UnsupportedError{Algorithm: cleanMsg(err)}
	}
	return malformed(err, "%s", cleanMsg(err))
}

// toSigner accepts the key types crypto/x509 returns that can sign.
func toSigner(k any) (crypto.Signer, error) {
	s, ok := k.(crypto.Signer)
	if !ok || k == nil {
		return nil, &UnsupportedError{Algorithm: keyTypeName(k)}
	}
	return s, nil
}

func keyTypeName(k any) string {
	switch k := k.(type) {
	case nil:
		return "missing key"
	case *ecdh.PrivateKey:
		return fmt.Sprint(k.Curve()) + " key"
	default:
		return fmt.Sprintf("key type %T", k)
	}
}

// publicKeyEqual reports whether the certificate's public key equals pub.
func publicKeyEqual(cert *x509.Certificate, pub crypto.PublicKey) bool {
	eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(cert.PublicKey)
}

// assemble picks the leaf matching key out of certs (file order) and
// orders the rest as described on Bundle.
func assemble(key crypto.Signer, certs []*x509.Certificate) (*Bundle, error) {
	if key == nil {
		return nil, ErrNoPrivateKey
	}
	if len(certs) == 0 {
		return nil, ErrNoCertificate
	}
	certs = dedupe(certs)
	leaf := -1
	for i, c := range certs {
		if publicKeyEqual(c, key.Public()) {
			if leaf == -1 || (certs[leaf].IsCA && !c.IsCA) {
				leaf = i
			}
		}
	}
	if leaf == -1 {
		return nil, ErrKeyMismatch
	}
	return &Bundle{Leaf: certs[leaf], Key: key, Chain: orderChain(certs, leaf)}, nil
}

func dedupe(certs []*x509.Certificate) []*x509.Certificate {
	seen := make(map[string]bool, len(certs))
	out := make([]*x509.Certificate, 0, len(certs))
	for _, c := range certs {
		if !seen[string(c.Raw)] {
			seen[string(c.Raw)] = true
			out = append(out, c)
		}
	}
	return out
}

// orderChain returns certs without certs[leaf]: the issuer chain of the
// leaf first (matched by subject name and, when both are present, by
// authority/subject key identifier; signatures are not verified), then the
// rest in file order. Linear in the number of certificates.
func orderChain(certs []*x509.Certificate, leaf int) []*x509.Certificate {
	bySubject := make(map[string][]int)
	for i, c := range certs {
		bySubject[string(c.RawSubject)] = append(bySubject[string(c.RawSubject)], i)
	}
	used := make([]bool, len(certs))
	used[leaf] = true
	chain := make([]*x509.Certificate, 0, len(certs)-1)
	cur := certs[leaf]
	for {
		next := -1
		for _, i := range bySubject[string(cur.RawIssuer)] {
			c := certs[i]
			if used[i] {
				continue
			}
			if len(cur.AuthorityKeyId) > 0 && len(c.SubjectKeyId) > 0 && !bytes.Equal(cur.AuthorityKeyId, c.SubjectKeyId) {
				continue
			}
			next = i
			break
		}
		if next == -1 {
			break
		}
		used[next] = true
		chain = append(chain, certs[next])
		cur = certs[next]
	}
	for i, c := range certs {
		if !used[i] {
			chain = append(chain, c)
		}
	}
	return chain
}
