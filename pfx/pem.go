package pfx

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"strings"
)

// DecodePEM decodes certificate(s) from certPEM and the private key from
// keyPEM. Keys may be PKCS#1 ("RSA PRIVATE KEY"), PKCS#8 ("PRIVATE KEY")
// or SEC1 ("EC PRIVATE KEY"; a leading "EC PARAMETERS" block is skipped).
// If keyPEM is nil the key must be in certPEM. Encrypted keys
// ("Proc-Type: 4,ENCRYPTED" or "ENCRYPTED PRIVATE KEY") are rejected with
// an *UnsupportedError. Other block types are ignored.
func DecodePEM(certPEM, keyPEM []byte) (*Bundle, error) {
	for _, b := range [][]byte{certPEM, keyPEM} {
		if len(b) > MaxFileSize {
			return nil, ErrTooLarge
		}
	}
	if len(certPEM) == 0 {
		return nil, wrapf(ErrNotPFX, nil, "file is empty")
	}
	certs, keys, err := parsePEM(certPEM, keyPEM == nil)
	if err != nil {
		return nil, err
	}
	if keyPEM != nil {
		if len(keyPEM) == 0 {
			return nil, wrapf(ErrNoPrivateKey, nil, "no private key: the key file is empty")
		}
		var keyCerts []*x509.Certificate
		keyCerts, keys, err = parsePEM(keyPEM, true)
		if err != nil {
			return nil, err
		}
		certs = append(certs, keyCerts...)
	}
	if len(keys) > 1 {
		return nil, ErrMultipleKeys
	}
	if len(certs) == 0 {
		return nil, ErrNoCertificate
	}
	if len(keys) == 0 {
		return nil, ErrNoPrivateKey
	}
	return assemble(keys[0], certs)
}

// parsePEM returns the certificates and (if wantKeys) the private keys in
// data. Data without any PEM block is ErrNotPFX.
func parsePEM(data []byte, wantKeys bool) ([]*x509.Certificate, []crypto.Signer, error) {
	var certs []*x509.Certificate
	var keys []crypto.Signer
	blocks := 0
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		blocks++
		switch block.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, nil, wrapf(ErrNotPFX, err, "invalid certificate in PEM block %d: %v", blocks, err)
			}
			certs = append(certs, c)
		case "RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "DSA PRIVATE KEY":
			if !wantKeys {
				continue
			}
			k, err := parsePEMKey(block, blocks)
			if err != nil {
				return nil, nil, err
			}
			keys = append(keys, k)
		}
	}
	if blocks == 0 {
		if strings.Contains(string(data), "-----BEGIN ") {
			return nil, nil, wrapf(ErrNotPFX, nil, "invalid PEM: no block could be decoded")
		}
		return nil, nil, ErrNotPFX
	}
	return certs, keys, nil
}

func parsePEMKey(block *pem.Block, n int) (crypto.Signer, error) {
	if strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
		return nil, &UnsupportedError{Algorithm: "encrypted PEM private key (Proc-Type: 4,ENCRYPTED); decrypt it first, e.g. with openssl pkey"}
	}
	var k any
	var err error
	switch block.Type {
	case "ENCRYPTED PRIVATE KEY":
		return nil, &UnsupportedError{Algorithm: "encrypted PKCS#8 private key; decrypt it first, e.g. with openssl pkey"}
	case "DSA PRIVATE KEY":
		return nil, &UnsupportedError{Algorithm: "DSA key"}
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
		if err != nil && strings.Contains(err.Error(), "unknown elliptic curve") {
			return nil, &UnsupportedError{Algorithm: "EC key on an unsupported curve" + sec1Curve(block.Bytes)}
		}
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			if alg := pkcs8Algorithm(block.Bytes); alg != "" {
				return nil, &UnsupportedError{Algorithm: alg}
			}
		}
	}
	if err != nil {
		return nil, wrapf(ErrNotPFX, err, "invalid private key in PEM block %d: %v", n, err)
	}
	return toSigner(k)
}

// pkcs8Algorithm names the key algorithm of a PKCS#8 key that
// crypto/x509 could not parse, or returns "" if it is a supported one
// (so the parse error is about the key itself).
func pkcs8Algorithm(der []byte) string {
	var p struct {
		Version int
		Algo    struct {
			Algorithm  asn1.ObjectIdentifier
			Parameters asn1.RawValue `asn1:"optional"`
		}
		Key []byte
	}
	if _, err := asn1.Unmarshal(der, &p); err != nil {
		return ""
	}
	switch p.Algo.Algorithm.String() {
	case "1.2.840.113549.1.1.1", "1.3.101.112": // RSA, Ed25519
		return ""
	case "1.2.840.10045.2.1": // EC: the curve must be the problem
		var curve asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(p.Algo.Parameters.FullBytes, &curve); err == nil {
			return "EC key on curve " + oidName(curve)
		}
		return ""
	}
	if n, ok := oidNames[p.Algo.Algorithm.String()]; ok {
		return fmt.Sprintf("%s (%s)", n, p.Algo.Algorithm)
	}
	return "private key algorithm " + p.Algo.Algorithm.String()
}

// sec1Curve returns " " + the curve name of a SEC1 key, or "".
func sec1Curve(der []byte) string {
	var k struct {
		Version    int
		PrivateKey []byte
		Curve      asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
	}
	if _, err := asn1.Unmarshal(der, &k); err != nil || k.Curve == nil {
		return ""
	}
	return " " + oidName(k.Curve)
}
