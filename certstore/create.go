package certstore

// Certificates made inside the store: Store.Create generates a key where it
// will live and a self-signed certificate for it, as New-SelfSignedCertificate
// does on Windows, so that the private key never exists anywhere else.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// KeyType is a kind of key Create can make.
type KeyType string

// The key types Create makes. RSA2048 is what Entra ID service principals
// are usually given.
const (
	RSA2048   KeyType = "rsa2048"
	RSA3072   KeyType = "rsa3072"
	RSA4096   KeyType = "rsa4096"
	ECDSAP256 KeyType = "ecdsa-p256"
	ECDSAP384 KeyType = "ecdsa-p384"
)

// KeyTypes lists the key types Create makes, the default first.
var KeyTypes = []KeyType{RSA2048, RSA3072, RSA4096, ECDSAP256, ECDSAP384}

// ErrUnknownKeyType is matched by the error of ParseKeyType and Create for
// a key type not in KeyTypes.
var ErrUnknownKeyType = errors.New("unknown key type")

// ParseKeyType reads a key type as KeyTypes spell it, in any case.
func ParseKeyType(s string) (KeyType, error) {
	for _, kt := range KeyTypes {
		if strings.EqualFold(string(kt), s) {
			return kt, nil
		}
	}
	return "", fmt.Errorf("%w %q", ErrUnknownKeyType, s)
}

// KeyTypeOf is the key type of a public key, and false for a key Create
// does not make (an RSA key of another size, Ed25519, P-521).
func KeyTypeOf(pub crypto.PublicKey) (KeyType, bool) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch k.N.BitLen() {
		case 2048:
			return RSA2048, true
		case 3072:
			return RSA3072, true
		case 4096:
			return RSA4096, true
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return ECDSAP256, true
		case elliptic.P384():
			return ECDSAP384, true
		}
	}
	return "", false
}

// rsaBits is the size of an RSA key type, and false for the others.
func (kt KeyType) rsaBits() (int, bool) {
	switch kt {
	case RSA2048:
		return 2048, true
	case RSA3072:
		return 3072, true
	case RSA4096:
		return 4096, true
	}
	return 0, false
}

// curve is the curve of an ECDSA key type.
func (kt KeyType) curve() (elliptic.Curve, bool) {
	switch kt {
	case ECDSAP256:
		return elliptic.P256(), true
	case ECDSAP384:
		return elliptic.P384(), true
	}
	return nil, false
}

// MaxValidity is the longest validity Create accepts: 100 years.
const MaxValidity = 100 * 365 * 24 * time.Hour

// NewCertificate describes the self-signed certificate Create makes.
type NewCertificate struct {
	// Subject is the certificate's subject and issuer; it must name
	// something.
	Subject pkix.Name
	// RawSubject, when set, is the subject in DER, used as it is instead
	// of Subject: a rotation keeps the old certificate's subject byte for
	// byte.
	RawSubject []byte
	// DNSNames go into the subject alternative name extension.
	DNSNames []string
	// NotBefore and NotAfter bound its validity; NotAfter must be later,
	// by at most MaxValidity.
	NotBefore, NotAfter time.Time
	// ExtKeyUsage are its extended key usages; at least one.
	ExtKeyUsage []x509.ExtKeyUsage
	// KeyType is the key to generate; empty means RSA2048.
	KeyType KeyType
	// Exportable lets the key leave the store again through Export, as
	// ImportOptions.Exportable does for an import.
	Exportable bool
}

// InvalidCertificateError says why Create refused a NewCertificate; Field
// names what is wrong: "subject", "validity", "key type" or "extended key
// usage".
type InvalidCertificateError struct {
	Field  string
	Reason string
	// Err is the sentinel behind it, if any: ErrUnknownKeyType.
	Err error
}

func (e *InvalidCertificateError) Error() string {
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason)
}

// Unwrap returns Err.
func (e *InvalidCertificateError) Unwrap() error { return e.Err }

// check refuses what Create must not make, and fills in the default key
// type.
func (n *NewCertificate) check() error {
	if n.KeyType == "" {
		n.KeyType = RSA2048
	}
	kt, err := ParseKeyType(string(n.KeyType))
	if err != nil {
		return &InvalidCertificateError{Field: "key type", Reason: fmt.Sprintf("%q is not one of %s", n.KeyType, joinKeyTypes()), Err: ErrUnknownKeyType}
	}
	n.KeyType = kt
	if len(n.RawSubject) > 0 {
		var rdn pkix.RDNSequence
		if rest, err := asn1.Unmarshal(n.RawSubject, &rdn); err != nil || len(rest) > 0 || len(rdn) == 0 {
			return &InvalidCertificateError{Field: "subject", Reason: "it is not a DER name"}
		}
	} else if len(n.Subject.ToRDNSequence()) == 0 {
		return &InvalidCertificateError{Field: "subject", Reason: "it is empty"}
	}
	switch d := n.NotAfter.Sub(n.NotBefore); {
	case d <= 0:
		return &InvalidCertificateError{Field: "validity", Reason: "it ends before it starts"}
	case d > MaxValidity+24*time.Hour: // leap days
		return &InvalidCertificateError{Field: "validity", Reason: "it is longer than 100 years"}
	}
	if len(n.ExtKeyUsage) == 0 {
		return &InvalidCertificateError{Field: "extended key usage", Reason: "none is given"}
	}
	return nil
}

func joinKeyTypes() string {
	s := make([]string, len(KeyTypes))
	for i, kt := range KeyTypes {
		s[i] = string(kt)
	}
	return strings.Join(s, ", ")
}

// selfSign makes n's certificate for the public key pub, signed by signer,
// which holds its private key wherever that lives. RSA certificates are
// signed with PKCS #1 v1.5, which every store's keys can make.
func selfSign(n NewCertificate, pub crypto.PublicKey, signer crypto.Signer) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var info struct {
		Algorithm pkix.AlgorithmIdentifier
		Key       asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &info); err != nil {
		return nil, err
	}
	skid := sha1.Sum(info.Key.Bytes) // RFC 5280 4.2.1.2, method 1
	usage := x509.KeyUsageDigitalSignature
	if _, ok := pub.(*rsa.PublicKey); ok {
		usage |= x509.KeyUsageKeyEncipherment
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial.Add(serial, big.NewInt(1)),
		Subject:               n.Subject,
		RawSubject:            n.RawSubject,
		DNSNames:              n.DNSNames,
		NotBefore:             n.NotBefore.UTC().Truncate(time.Second),
		NotAfter:              n.NotAfter.UTC().Truncate(time.Second),
		KeyUsage:              usage,
		ExtKeyUsage:           n.ExtKeyUsage,
		BasicConstraintsValid: true,
		SubjectKeyId:          skid[:],
		AuthorityKeyId:        skid[:],
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("sign the certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}
