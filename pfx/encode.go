package pfx

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"

	"software.sslmate.com/src/go-pkcs12"
)

// storeIterations is the iteration count .NET uses for its Linux store files.
const storeIterations = 2000

// EncodeStore encodes b the way .NET writes its Linux certificate store
// files: PKCS#12 with 3DES (pbeWithSHAAnd3-KeyTripleDES-CBC) for
// certificates and key, an HMAC-SHA-1 MAC, 2000 iterations and the empty
// password. The leaf and key come first, then the chain certificates. A
// bundle without a key gives what .NET writes for a certificate without
// one: the certificates alone, in one encrypted safe.
func EncodeStore(b *Bundle) ([]byte, error) {
	if b != nil && b.Key == nil {
		if err := checkBundle(b, false); err != nil {
			return nil, err
		}
		return encodeCertificates(append([]*x509.Certificate{b.Leaf}, b.Chain...), rand.Reader)
	}
	if err := checkBundle(b, true); err != nil {
		return nil, err
	}
	return pkcs12.LegacyDES.WithIterations(storeIterations).Encode(b.Key, b.Leaf, b.Chain, "")
}

// encodeCertificates writes certs as a store file without a key: one
// safe of certificate bags encrypted with pbeWithSHAAnd3-KeyTripleDES-CBC
// and an HMAC-SHA-1 MAC, storeIterations each, under the empty password.
func encodeCertificates(certs []*x509.Certificate, random io.Reader) ([]byte, error) {
	var bags [][]byte
	for _, c := range certs {
		bags = append(bags, der(tagSequence,
			der(tagOID, oidBytes(oidCertBag)),
			der(tagContext0, der(tagSequence,
				der(tagOID, oidBytes(oidX509Cert)),
				der(tagContext0, der(tagOctetString, c.Raw))))))
	}
	salt := make([]byte, 16)
	if _, err := io.ReadFull(random, salt); err != nil {
		return nil, err
	}
	pw := passwordVariants("")[0]
	alg, ciphertext, err := encryptPBE3DES(der(tagSequence, bags...), salt[:8], storeIterations, pw)
	if err != nil {
		return nil, err
	}
	authSafe := der(tagSequence, der(tagSequence,
		der(tagOID, oidBytes(oidEncryptedData)),
		der(tagContext0, der(tagSequence,
			der(tagInteger, []byte{0}),
			der(tagSequence,
				der(tagOID, oidBytes(oidData)),
				alg,
				der(tagContext0Pr, ciphertext))))))
	macSalt := salt[8:]
	key := pkcs12KDF(sha1.New, 64, macSalt, pw.bmp, storeIterations, 3, sha1.Size)
	mac := hmac.New(sha1.New, key)
	mac.Write(authSafe)
	return der(tagSequence,
		der(tagInteger, []byte{3}),
		der(tagSequence, der(tagOID, oidBytes(oidData)), der(tagContext0, der(tagOctetString, authSafe))),
		der(tagSequence,
			der(tagSequence,
				der(tagSequence, der(tagOID, oidBytes(oidSHA1)), der(tagNull)),
				der(tagOctetString, mac.Sum(nil))),
			der(tagOctetString, macSalt),
			der(tagInteger, intBytes(storeIterations)))), nil
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
	if err := checkEncodePassword(password); err != nil {
		return nil, err
	}
	if !withKey {
		certs := append([]*x509.Certificate{b.Leaf}, b.Chain...)
		return pkcs12.Modern.EncodeTrustStore(certs, password)
	}
	return pkcs12.Modern.Encode(b.Key, b.Leaf, b.Chain, password)
}

// legacyIterations is the iteration count of EncodeExportLegacy, for both
// the encryption keys and the MAC key: OpenSSL's default
// (PKCS12_DEFAULT_ITER). go-pkcs12's LegacyDES alone derives the MAC key
// with a single iteration, which lets a password be guessed at the cost of
// one hash per try.
const legacyIterations = 2048

// EncodeExportLegacy encodes b for "certctl export --legacy", for readers
// that know neither AES nor SHA-256 in a PFX (Windows Server 2016 and
// earlier, Java 8): PKCS#12 with 3DES (pbeWithSHAAnd3-KeyTripleDES-CBC) for
// certificates and key and an HMAC-SHA-1 MAC, 2048 iterations each
// (go-pkcs12's LegacyDES encoder), protected with password. 3DES and SHA-1
// are weak; the file is only as safe as its password.
//
// If withKey is false the file holds only the certificates (leaf first),
// written as EncodeExport writes them.
func EncodeExportLegacy(b *Bundle, password string, withKey bool) ([]byte, error) {
	if err := checkBundle(b, withKey); err != nil {
		return nil, err
	}
	if err := checkPassword(password); err != nil {
		return nil, err
	}
	enc := pkcs12.LegacyDES.WithIterations(legacyIterations)
	if !withKey {
		certs := append([]*x509.Certificate{b.Leaf}, b.Chain...)
		return enc.EncodeTrustStore(certs, password)
	}
	return enc.Encode(b.Key, b.Leaf, b.Chain, password)
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

// checkEncodePassword refuses what go-pkcs12 cannot write: it encodes
// passwords as UCS-2, without surrogate pairs.
func checkEncodePassword(password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	for _, r := range password {
		if r > 0xFFFF {
			return wrapf(ErrPasswordEncoding, nil, "the password has characters outside the Basic Multilingual Plane (such as emoji): certctl reads such files but cannot write them; choose another password")
		}
	}
	return nil
}
