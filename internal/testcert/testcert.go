// Package testcert mints certificates and keys for tests and benchmarks:
// the one certificate minter of the project's tests.
package testcert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/certctl/certctl/pfx"
)

// Options shape a minted certificate; the zero value is an RSA 2048
// self-signed CA certificate valid from an hour ago for 90 days.
type Options struct {
	// Key is "rsa" (default), "ecdsa" (P-256), "ecdsa-p384" or "ed25519".
	Key string
	// Signer is the certificate's key, instead of a new one of kind Key:
	// a renewal with the same key, or many certificates that share one.
	Signer crypto.Signer
	// Parent signs the certificate; nil makes it self-signed, and a CA.
	Parent *pfx.Bundle
	// IsCA makes a certificate with a Parent a CA too: an intermediate.
	IsCA bool
	// Serial is the serial number; nil picks a random one.
	Serial *big.Int
	// Organization goes into the subject after CN.
	Organization []string
	// NotBefore and NotAfter override the validity period.
	NotBefore, NotAfter time.Time
	// DNSNames, IPAddresses and EmailAddresses become subject alternative
	// names.
	DNSNames       []string
	IPAddresses    []net.IP
	EmailAddresses []string
	// ExtKeyUsage lists the extended key usages; none by default.
	ExtKeyUsage []x509.ExtKeyUsage
}

// Mint makes a certificate with subject CN=cn, its key and its chain, and
// fails the test if it cannot.
func Mint(t testing.TB, cn string, o Options) *pfx.Bundle {
	t.Helper()
	b, err := New(cn, o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// New is Mint for code without a testing.TB, such as a benchmark's
// store builder.
func New(cn string, o Options) (*pfx.Bundle, error) {
	key := o.Signer
	if key == nil {
		var err error
		if key, err = NewKey(o.Key); err != nil {
			return nil, err
		}
	}
	serial := o.Serial
	if serial == nil {
		var err error
		if serial, err = rand.Int(rand.Reader, big.NewInt(1<<62)); err != nil {
			return nil, err
		}
	}
	if o.NotBefore.IsZero() {
		o.NotBefore = time.Now().Add(-time.Hour)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = time.Now().Add(90 * 24 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: o.Organization},
		NotBefore:             o.NotBefore,
		NotAfter:              o.NotAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           o.ExtKeyUsage,
		BasicConstraintsValid: true,
		IsCA:                  o.Parent == nil || o.IsCA,
		DNSNames:              o.DNSNames,
		IPAddresses:           o.IPAddresses,
		EmailAddresses:        o.EmailAddresses,
	}
	issuer, signer := tmpl, key
	var chain []*x509.Certificate
	if o.Parent != nil {
		issuer, signer = o.Parent.Leaf, o.Parent.Key
		chain = append([]*x509.Certificate{o.Parent.Leaf}, o.Parent.Chain...)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, key.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("testcert: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("testcert: %w", err)
	}
	return &pfx.Bundle{Leaf: cert, Key: key, Chain: chain}, nil
}

// NewKey makes a key of kind "rsa" (2048 bits, also for ""), "ecdsa"
// (P-256), "ecdsa-p384" or "ed25519".
func NewKey(kind string) (crypto.Signer, error) {
	switch kind {
	case "", "rsa":
		return rsa.GenerateKey(rand.Reader, 2048)
	case "ecdsa":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ecdsa-p384":
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ed25519":
		_, key, err := ed25519.GenerateKey(rand.Reader)
		return key, err
	}
	return nil, fmt.Errorf("testcert: unknown key kind %q", kind)
}
