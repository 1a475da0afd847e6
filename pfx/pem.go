package pfx

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// DecodePEM decodes certificate(s) from certPEM and the private key from
// keyPEM. Keys may be PKCS#1 ("RSA PRIVATE KEY"), PKCS#8 ("PRIVATE KEY"),
// SEC1 ("EC PRIVATE KEY"; a leading "EC PARAMETERS" block is skipped) or
// encrypted with password: PKCS#8 "ENCRYPTED PRIVATE KEY" (PBES2 with
// PBKDF2 and AES or 3DES, or PKCS#12 PBE) and legacy OpenSSL PEM
// encryption ("Proc-Type: 4,ENCRYPTED" with AES or 3DES). If keyPEM is nil
// the key must be in certPEM. Other block types are ignored.
func DecodePEM(certPEM, keyPEM []byte, password string) (*Bundle, error) {
	for _, b := range [][]byte{certPEM, keyPEM} {
		if len(b) > MaxFileSize {
			return nil, ErrTooLarge
		}
	}
	if len(certPEM) == 0 {
		return nil, wrapf(ErrNotPFX, nil, "file is empty")
	}
	certs, keys, err := parsePEM(certPEM, keyPEM == nil, password)
	if err != nil {
		return nil, err
	}
	if keyPEM != nil {
		if len(keyPEM) == 0 {
			return nil, wrapf(ErrNoPrivateKey, nil, "no private key: the key file is empty")
		}
		var keyCerts []*x509.Certificate
		keyCerts, keys, err = parsePEM(keyPEM, true, password)
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

var pemBegin = []byte("-----BEGIN ")

// parsePEM returns the certificates (including those of PKCS#7 blocks) and,
// if wantKeys, the private keys in data. Data without any PEM block is
// ErrNotPFX, and so is a block that does not decode: it is never skipped.
func parsePEM(data []byte, wantKeys bool, password string) ([]*x509.Certificate, []crypto.Signer, error) {
	var certs []*x509.Certificate
	var keys []crypto.Signer
	blocks := 0
	for rest := data; ; {
		i := bytes.Index(rest, pemBegin)
		if i < 0 {
			break
		}
		rest = rest[i:]
		next := bytes.Index(rest[len(pemBegin):], pemBegin)
		segment := rest
		if next >= 0 {
			segment = rest[:len(pemBegin)+next]
		}
		rest = rest[len(segment):]
		blocks++
		block, _ := pem.Decode(segment)
		if block == nil {
			return nil, nil, wrapf(ErrNotPFX, nil, "invalid PEM: block %d does not decode (bad base64 or no END line)", blocks)
		}
		switch block.Type {
		case "CERTIFICATE", "X509 CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, nil, wrapf(ErrNotPFX, err, "invalid certificate in PEM block %d: %v", blocks, err)
			}
			certs = append(certs, c)
		case "PKCS7", "CERTIFICATE CHAIN":
			d, err := toDER(block.Bytes)
			if err == nil {
				var more []*x509.Certificate
				if more, err = parsePKCS7(d); err == nil {
					if len(more) == 0 {
						return nil, nil, wrapf(ErrNoCertificate, nil, "no certificate in the PKCS#7 data of PEM block %d", blocks)
					}
					certs = append(certs, more...)
					continue
				}
			}
			return nil, nil, wrapf(ErrNotPFX, err, "PEM block %d: %v", blocks, err)
		case "RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "DSA PRIVATE KEY":
			if !wantKeys {
				continue
			}
			k, err := parsePEMKey(block, blocks, password)
			if err != nil {
				return nil, nil, err
			}
			keys = append(keys, k)
		}
	}
	if blocks == 0 {
		return nil, nil, ErrNotPFX
	}
	return certs, keys, nil
}

func parsePEMKey(block *pem.Block, n int, password string) (crypto.Signer, error) {
	der := block.Bytes
	if strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
		var err error
		if der, err = decryptLegacyPEM(block, password); err != nil {
			return nil, err
		}
		k, err := parseKeyDER(block.Type, der)
		if err != nil {
			var ue *UnsupportedError
			if errors.As(err, &ue) {
				return nil, err
			}
			// Legacy encryption has no integrity check: a key that does
			// not parse after decrypting means the wrong password.
			return nil, wrapf(ErrIncorrectPassword, err, "incorrect password")
		}
		return k, nil
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" {
		return decryptPKCS8(der, password)
	}
	k, err := parseKeyDER(block.Type, der)
	if err != nil {
		var ue *UnsupportedError
		if errors.As(err, &ue) {
			return nil, err
		}
		return nil, wrapf(ErrNotPFX, err, "invalid private key in PEM block %d: %v", n, err)
	}
	return k, nil
}

// parseKeyDER parses an unencrypted key of a PEM block type.
func parseKeyDER(blockType string, der []byte) (crypto.Signer, error) {
	var k any
	var err error
	switch blockType {
	case "DSA PRIVATE KEY":
		return nil, &UnsupportedError{Algorithm: "DSA key"}
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(der)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(der)
		if err != nil && strings.Contains(err.Error(), "unknown elliptic curve") {
			return nil, &UnsupportedError{Algorithm: "EC key on an unsupported curve" + sec1Curve(der)}
		}
	default: // PRIVATE KEY
		k, err = x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			if alg := pkcs8Algorithm(der); alg != "" {
				return nil, &UnsupportedError{Algorithm: alg}
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return toSigner(k)
}

// decryptPKCS8 decrypts EncryptedPrivateKeyInfo ::= SEQUENCE {
// encryptionAlgorithm, encryptedData OCTET STRING } (RFC 5208).
func decryptPKCS8(data []byte, password string) (crypto.Signer, error) {
	if err := checkPassword(password); err != nil {
		return nil, err
	}
	d, err := toDER(data)
	if err != nil {
		return nil, err
	}
	epki, _, err := expect(d, tagSequence, "encrypted private key info")
	if err != nil {
		return nil, malformed(err, "%v", err)
	}
	alg, epki, err := expect(epki, tagSequence, "key encryption algorithm")
	if err != nil {
		return nil, malformed(err, "%v", err)
	}
	enc, _, err := parseEncryption(alg, "key encryption")
	if err != nil {
		return nil, classify(err)
	}
	ciphertext, _, err := octets(epki, "encrypted private key")
	if err != nil {
		return nil, malformed(err, "%v", err)
	}
	variants := passwordVariants(password)
	var key crypto.Signer
	var keyErr error // an unsupported key type, once decrypted
	_, err = tryDecrypt(enc, ciphertext, &variants, func(plain []byte) error {
		key, keyErr = parsePKCS8(plain)
		if errors.Is(keyErr, ErrUnsupported) {
			return nil
		}
		return keyErr
	})
	if err != nil {
		return nil, err
	}
	return key, keyErr
}

// legacyPEMCiphers are the DEK-Info ciphers of OpenSSL's legacy PEM
// encryption that are still worth reading.
var legacyPEMCiphers = map[string]struct {
	keyLen int
	block  func([]byte) (cipher.Block, error)
}{
	"DES-EDE3-CBC": {24, newTripleDES},
	"AES-128-CBC":  {16, aes.NewCipher},
	"AES-192-CBC":  {24, aes.NewCipher},
	"AES-256-CBC":  {32, aes.NewCipher},
}

// decryptLegacyPEM decrypts a "Proc-Type: 4,ENCRYPTED" block: the key is
// OpenSSL's EVP_BytesToKey with MD5, one round, and the first 8 bytes of
// the IV as salt.
func decryptLegacyPEM(block *pem.Block, password string) ([]byte, error) {
	alg, ivHex, _ := strings.Cut(block.Headers["DEK-Info"], ",")
	c, ok := legacyPEMCiphers[strings.ToUpper(strings.TrimSpace(alg))]
	if !ok {
		return nil, &UnsupportedError{Algorithm: fmt.Sprintf("PEM encryption %q", alg)}
	}
	iv, err := hex.DecodeString(strings.TrimSpace(ivHex))
	if err != nil || len(iv) < 8 {
		return nil, wrapf(ErrNotPFX, err, "invalid DEK-Info header in an encrypted PEM key")
	}
	var key, prev []byte
	for len(key) < c.keyLen {
		h := md5.New()
		h.Write(prev)
		h.Write([]byte(password))
		h.Write(iv[:8])
		prev = h.Sum(nil)
		key = append(key, prev...)
	}
	b, err := c.block(key[:c.keyLen])
	if err != nil {
		return nil, err
	}
	bs := b.BlockSize()
	if len(iv) != bs || len(block.Bytes) == 0 || len(block.Bytes)%bs != 0 {
		return nil, wrapf(ErrNotPFX, nil, "encrypted PEM key: IV or data is not whole blocks")
	}
	plain := make([]byte, len(block.Bytes))
	cipher.NewCBCDecrypter(b, iv).CryptBlocks(plain, block.Bytes)
	plain, err = unpad(plain, bs)
	if err != nil {
		return nil, wrapf(ErrIncorrectPassword, err, "incorrect password")
	}
	return plain, nil
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
