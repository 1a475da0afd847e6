// Package pfx reads and writes certificate files: a Bundle is a leaf
// certificate, its private key and the rest of its chain.
//
// Reading:
//
//   - Read reads any certificate file, detecting the format from the bytes:
//     PKCS#12 (.pfx, .p12), PEM (certificates, keys, PKCS#7), PKCS#7
//     (.p7b, .p7c) and DER certificates (.cer, .crt, .der). BER input (as
//     NSS writes it) is rewritten as DER first. It returns the key, if any,
//     the certificates and whether a PKCS#12 file lacked a MAC.
//   - Decode reads a file with a private key into a Bundle.
//   - DecodePEM reads a certificate PEM and a separate key PEM.
//   - DecodeCertificates returns just the certificates, leaf first.
//   - ReadStoreCertificates lists a store file without its key or MAC.
//
// Writing:
//
//   - EncodeStore writes a file the way .NET writes its Linux
//     CurrentUser store (3DES, SHA-1 MAC, 2000 iterations, empty password).
//   - EncodeExport writes a password-protected AES-256 PKCS#12 file.
//   - EncodePEM writes certificates and optionally a PKCS#8 key.
//
// PKCS#12 files are read by this package's own walker (walk.go), which
// checks every algorithm, iteration count and size before the key
// derivation that would use it: inputs larger than MaxFileSize, iteration
// counts above MaxIterations or adding up to more than MaxTotalIterations,
// more than one key, and algorithms outside what real producers use are
// refused. It reads what OpenSSL (including -legacy and -nomac), Windows,
// .NET, Java keytool, NSS, GnuTLS and pyca write: PKCS#12 PBE with 3DES or
// RC2, PBES2 with PBKDF2 and AES or 3DES, HMAC MACs with SHA-1 and SHA-2
// and PBMAC1. Passwords are UTF-16 for PKCS#12 key derivation, with
// characters outside the BMP as surrogate pairs, and UTF-8 for PBES2.
// Writing PKCS#12 with a key is left to software.sslmate.com/src/go-pkcs12.
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
	"fmt"
)

// Bundle is a certificate with its private key and the rest of its chain.
type Bundle struct {
	// Leaf is the certificate whose public key matches Key.
	Leaf *x509.Certificate
	// Key is an *rsa.PrivateKey, *ecdsa.PrivateKey or ed25519.PrivateKey.
	// It is nil for a certificate without a key.
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
// total); certctl is a little more permissive per KDF, and caps the
// total with MaxTotalIterations.
const MaxIterations = 600000

// Format is the kind of file Read found.
type Format int

// Formats Read tells apart.
const (
	FormatPKCS12 Format = iota
	FormatPEM
	FormatDER   // one DER certificate
	FormatPKCS7 // a degenerate PKCS#7 SignedData (a .p7b or .p7c bundle)
)

func (f Format) String() string {
	return [...]string{"PKCS#12", "PEM", "DER certificate", "PKCS#7"}[f]
}

// Contents is what a certificate file holds.
type Contents struct {
	Format Format
	// Key is the file's private key, or nil.
	Key crypto.Signer
	// Certificates are the file's certificates in file order, exact
	// duplicates dropped.
	Certificates []*x509.Certificate
	// NoMAC is true for a PKCS#12 file without a MAC: nothing checked
	// that it is the file its producer wrote.
	NoMAC bool
}

// Bundles splits c into what a store holds: with a key, one bundle of the
// certificate matching it and the rest as its chain; without one, a bundle
// without a key for every certificate.
func (c *Contents) Bundles() ([]*Bundle, error) {
	if c.Key != nil {
		b, err := assemble(c.Key, c.Certificates)
		if err != nil {
			return nil, err
		}
		return []*Bundle{b}, nil
	}
	if len(c.Certificates) == 0 {
		return nil, ErrNoCertificate
	}
	out := make([]*Bundle, len(c.Certificates))
	for i, cert := range c.Certificates {
		out[i] = &Bundle{Leaf: cert}
	}
	return out, nil
}

// Work is the key-derivation work of decoding data: the sum of the MAC and
// KDF iteration counts visible before anything is decrypted (a key bag
// inside an encrypted safe adds its own count once decrypted). Callers that
// decode many files use it to cap the total. It runs only the bounded
// structure walk; other formats cost nothing, and input the walk refuses
// returns its error.
func Work(data []byte) (int64, error) {
	kind, data, err := sniff(data)
	if err != nil || kind != FormatPKCS12 {
		return 0, err
	}
	f, err := parsePFX(data)
	if err != nil {
		return 0, err
	}
	return f.work, nil
}

// Read reads a certificate file of any format Read knows, detecting it from
// the bytes (never from the file name).
//
// password decrypts PKCS#12 files and encrypted PEM keys (PKCS#8
// "ENCRYPTED PRIVATE KEY" and legacy "Proc-Type: 4,ENCRYPTED"). An empty
// password also matches .NET's null password. A PKCS#12 file without a MAC
// is read with Contents.NoMAC set; with such a file a wrong password shows
// only as content that does not decrypt, reported as ErrIncorrectPassword.
func Read(data []byte, password string) (*Contents, error) {
	kind, data, err := sniff(data)
	if err != nil {
		return nil, err
	}
	c := &Contents{Format: kind}
	switch kind {
	case FormatPEM:
		var keys []crypto.Signer
		if c.Certificates, keys, err = parsePEM(data, true, password); err != nil {
			return nil, err
		}
		if len(keys) > 1 {
			return nil, ErrMultipleKeys
		}
		if len(keys) == 1 {
			c.Key = keys[0]
		}
	case FormatDER:
		cert, err := parseCertificate(data)
		if err != nil {
			return nil, err
		}
		c.Certificates = []*x509.Certificate{cert}
	case FormatPKCS7:
		if c.Certificates, err = parsePKCS7(data); err != nil {
			return nil, err
		}
	case FormatPKCS12:
		f, err := parsePFX(data)
		if err != nil {
			return nil, err
		}
		bags, err := f.open(password, openOptions{checkMAC: true, keys: true})
		if err != nil {
			return nil, err
		}
		if c.Key, c.Certificates, err = bagContents(bags); err != nil {
			return nil, err
		}
		c.NoMAC = f.mac == nil
	}
	c.Certificates = dedupe(c.Certificates)
	if len(c.Certificates) == 0 {
		if kind == FormatPKCS7 {
			return nil, wrapf(ErrNoCertificate, nil, "no certificate: the PKCS#7 file holds none")
		}
		return nil, ErrNoCertificate
	}
	return c, nil
}

// Decode reads a file with a private key (PKCS#12 or PEM) into a Bundle:
// the leaf is the certificate matching the key, wherever it is in the
// file; see Bundle for the chain order. A file without a key fails with
// ErrNoPrivateKey.
func Decode(data []byte, password string) (*Bundle, error) {
	c, err := Read(data, password)
	if err != nil {
		return nil, err
	}
	if c.Key == nil {
		if c.Format == FormatDER {
			return nil, wrapf(ErrNoPrivateKey, nil, "no private key: the file is a DER certificate (.cer)")
		}
		return nil, ErrNoPrivateKey
	}
	return assemble(c.Key, c.Certificates)
}

// DecodeCertificates returns the certificates of any file Read reads,
// without requiring a private key. When the file has a key, the
// certificate matching it comes first, followed by the chain as in Bundle;
// otherwise the certificates are in file order.
func DecodeCertificates(data []byte, password string) ([]*x509.Certificate, error) {
	c, err := Read(data, password)
	if err != nil {
		return nil, err
	}
	if c.Key != nil {
		if b, err := assemble(c.Key, c.Certificates); err == nil {
			return append([]*x509.Certificate{b.Leaf}, b.Chain...), nil
		}
	}
	return c.Certificates, nil
}

// NeedsPassword reports whether data is a PKCS#12 file whose MAC does not
// verify with the empty or the null password, i.e. whether a CLI should
// ask for one. It returns false for anything else, including files that
// Read will reject and files without a MAC. It runs no KDF on a file that
// fails the structure walk.
func NeedsPassword(data []byte) bool {
	kind, data, err := sniff(data)
	if err != nil || kind != FormatPKCS12 {
		return false
	}
	f, err := parsePFX(data)
	if err != nil || f.mac == nil {
		return false
	}
	for _, v := range passwordVariants("") {
		if f.mac.verify(f.authSafe, v) {
			return false
		}
	}
	return true
}

// sniff classifies data and returns it as DER when it is ASN.1.
func sniff(data []byte) (Format, []byte, error) {
	if len(data) == 0 {
		return 0, nil, wrapf(ErrNotPFX, nil, "file is empty")
	}
	if len(data) > MaxFileSize {
		return 0, nil, ErrTooLarge
	}
	if data[0] == tagSequence {
		d, err := toDER(data)
		if err != nil {
			return 0, nil, err
		}
		body, _, err := expect(d, tagSequence, "file")
		if err != nil || len(body) == 0 {
			return 0, nil, ErrNotPFX
		}
		switch body[0] {
		case tagSequence:
			return FormatDER, d, nil
		case tagInteger:
			return FormatPKCS12, d, nil
		case tagOID:
			if oidBody, _, err := expect(body, tagOID, ""); err == nil && parseOID(oidBody).Equal(oidSignedData) {
				return FormatPKCS7, d, nil
			}
		}
		return 0, nil, ErrNotPFX
	}
	if bytes.Contains(data, []byte("-----BEGIN ")) {
		return FormatPEM, data, nil
	}
	return 0, nil, ErrNotPFX
}

// parseCertificate parses one DER certificate.
func parseCertificate(der []byte) (*x509.Certificate, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, wrapf(ErrNotPFX, err, "invalid certificate: %v", err)
	}
	return c, nil
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
