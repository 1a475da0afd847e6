package pfx

import (
	"crypto/x509"
	"encoding/pem"
	"errors"

	"software.sslmate.com/src/go-pkcs12"
)

// storeIterations is the iteration count .NET uses for its Linux store files.
const storeIterations = 2000

// EncodeStore encodes b the way .NET writes its Linux certificate store
// files: PKCS#12 with 3DES (pbeWithSHAAnd3-KeyTripleDES-CBC) for
// certificates and key, an HMAC-SHA-1 MAC, 2000 iterations and the empty
// password. The leaf and key come first, then the chain certificates.
func EncodeStore(b *Bundle) ([]byte, error) {
	if err := checkBundle(b, true); err != nil {
		return nil, err
	}
	return pkcs12.LegacyDES.WithIterations(storeIterations).Encode(b.Key, b.Leaf, b.Chain, "")
}

// EncodeExport encodes b for "certctl export": PKCS#12 with AES-256-CBC
// (PBES2, PBKDF2-HMAC-SHA-256) and an HMAC-SHA-256 MAC (go-pkcs12's
// Modern encoder), protected with password.
//
// If withKey is false the file holds only the certificates (leaf first).
// It is written with go-pkcs12's trust-store encoder, which marks each
// certificate with Java's trusted-certificate attribute
// (2.16.840.1.113894.746875.1.1) and uses its subject as friendly name;
// other readers ignore the attribute.
func EncodeExport(b *Bundle, password string, withKey bool) ([]byte, error) {
	if err := checkBundle(b, withKey); err != nil {
		return nil, err
	}
	if err := checkPassword(password); err != nil {
		return nil, err
	}
	if !withKey {
		certs := append([]*x509.Certificate{b.Leaf}, b.Chain...)
		return pkcs12.Modern.EncodeTrustStore(certs, password)
	}
	return pkcs12.Modern.Encode(b.Key, b.Leaf, b.Chain, password)
}

// EncodePEM writes the leaf and then the chain as CERTIFICATE blocks and,
// if withKey is true, the key as a PKCS#8 "PRIVATE KEY" block.
func EncodePEM(b *Bundle, withKey bool) ([]byte, error) {
	if err := checkBundle(b, withKey); err != nil {
		return nil, err
	}
	var out []byte
	for _, c := range append([]*x509.Certificate{b.Leaf}, b.Chain...) {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if withKey {
		der, err := x509.MarshalPKCS8PrivateKey(b.Key)
		if err != nil {
			return nil, &UnsupportedError{Algorithm: keyTypeName(b.Key)}
		}
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})...)
	}
	return out, nil
}

// checkBundle validates b before encoding.
func checkBundle(b *Bundle, needKey bool) error {
	if b == nil || b.Leaf == nil {
		return ErrNoCertificate
	}
	for _, c := range b.Chain {
		if c == nil {
			return errors.New("nil certificate in chain")
		}
	}
	if !needKey {
		return nil
	}
	if b.Key == nil {
		return ErrNoPrivateKey
	}
	if !publicKeyEqual(b.Leaf, b.Key.Public()) {
		return ErrKeyMismatch
	}
	return nil
}
