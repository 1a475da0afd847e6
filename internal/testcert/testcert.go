// Package testcert mints certificates and keys for tests.
package testcert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/certctl/certctl/pfx"
)

// Options shape a minted certificate; the zero value is an RSA 2048
// self-signed CA certificate valid from an hour ago for 90 days.
type Options struct {
	// Key is "rsa" (default), "ecdsa" (P-256) or "ecdsa-p384".
	Key string
	// Parent signs the certificate; nil makes it self-signed.
	Parent *pfx.Bundle
	// NotBefore and NotAfter override the validity period.
	NotBefore, NotAfter time.Time
	// DNSNames and EmailAddresses become subject alternative names.
	DNSNames, EmailAddresses []string
}

// Mint makes a certificate with subject CN=cn, its key and its chain.
func Mint(t testing.TB, cn string, o Options) *pfx.Bundle {
	t.Helper()
	var key crypto.Signer
	var err error
	switch o.Key {
	case "", "rsa":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ecdsa":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ecdsa-p384":
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	default:
		t.Fatalf("testcert: unknown key kind %q", o.Key)
	}
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	if o.NotBefore.IsZero() {
		o.NotBefore = time.Now().Add(-time.Hour)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = time.Now().Add(90 * 24 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             o.NotBefore,
		NotAfter:              o.NotAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  o.Parent == nil,
		DNSNames:              o.DNSNames,
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
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &pfx.Bundle{Leaf: cert, Key: key, Chain: chain}
}
