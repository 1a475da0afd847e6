package pfx

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the password-based cryptography of PKCS#12 and PKCS#8:
// the PKCS#12 KDF, PBKDF2, the MAC and the ciphers real producers use.
// Every algorithm identifier is read, and its iteration count checked,
// before any key derivation runs.

// pbePassword is the password in the two forms the schemes take.
type pbePassword struct {
	bmp  []byte // PKCS#12 KDF: BMPString with two zero bytes, or nil for .NET's null password
	utf8 []byte // PBES2 and PBMAC1
}

// passwordVariants lists the forms of password to try, in order: the empty
// password also matches .NET's null password.
func passwordVariants(password string) []pbePassword {
	v := []pbePassword{{bmp: bmpPassword(password), utf8: []byte(password)}}
	if password == "" {
		v = append(v, pbePassword{})
	}
	return v
}

// bmpPassword encodes password as PKCS#12 does (RFC 7292, appendix B.1):
// UTF-16 big-endian with a terminating zero. Characters outside the Basic
// Multilingual Plane become surrogate pairs, as OpenSSL and .NET write them.
func bmpPassword(password string) []byte {
	u := utf16.Encode([]rune(password))
	out := make([]byte, 0, 2*len(u)+2)
	for _, c := range u {
		out = append(out, byte(c>>8), byte(c))
	}
	return append(out, 0, 0)
}

// checkPassword rejects a password that is not UTF-8: no producer could
// have used it, and it has no UTF-16 form.
func checkPassword(password string) error {
	if !utf8.ValidString(password) {
		return ErrPasswordEncoding
	}
	return nil
}

// digests the PKCS#12 MAC and PBKDF2 can use, by OID: the hash, its PKCS#12
// KDF block size (v) and, for PBKDF2, its HMAC OID.
type digest struct {
	name string
	new  func() hash.Hash
	v    int
}

var macDigests = map[string]digest{
	"1.3.14.3.2.26":          {"SHA-1", sha1.New, 64},
	"2.16.840.1.101.3.4.2.4": {"SHA-224", sha256.New224, 64},
	"2.16.840.1.101.3.4.2.1": {"SHA-256", sha256.New, 64},
	"2.16.840.1.101.3.4.2.2": {"SHA-384", sha512.New384, 128},
	"2.16.840.1.101.3.4.2.3": {"SHA-512", sha512.New, 128},
}

var hmacDigests = map[string]digest{
	"1.2.840.113549.2.7":  {"HMAC-SHA-1", sha1.New, 64},
	"1.2.840.113549.2.8":  {"HMAC-SHA-224", sha256.New224, 64},
	"1.2.840.113549.2.9":  {"HMAC-SHA-256", sha256.New, 64},
	"1.2.840.113549.2.10": {"HMAC-SHA-384", sha512.New384, 128},
	"1.2.840.113549.2.11": {"HMAC-SHA-512", sha512.New, 128},
}

// pkcs12KDF is the PKCS#12 key derivation function (RFC 7292, appendix
// B.2) with hash h of block size v.
func pkcs12KDF(h func() hash.Hash, v int, salt, password []byte, iterations int, id byte, size int) []byte {
	fill := func(p []byte) []byte {
		if len(p) == 0 {
			return nil
		}
		out := make([]byte, v*((len(p)+v-1)/v))
		for i := range out {
			out[i] = p[i%len(p)]
		}
		return out
	}
	D := make([]byte, v)
	for i := range D {
		D[i] = id
	}
	I := append(fill(salt), fill(password)...)
	var out []byte
	hh := h()
	for len(out) < size {
		hh.Reset()
		hh.Write(D)
		hh.Write(I)
		A := hh.Sum(nil)
		for j := 1; j < iterations; j++ {
			hh.Reset()
			hh.Write(A)
			A = hh.Sum(A[:0])
		}
		out = append(out, A...)
		if len(out) >= size {
			break
		}
		B := fill(A)[:v]
		for j := 0; j < len(I); j += v {
			// I_j = (I_j + B + 1) mod 2^(8v)
			carry := 1
			for k := v - 1; k >= 0; k-- {
				s := int(I[j+k]) + int(B[k]) + carry
				I[j+k] = byte(s)
				carry = s >> 8
			}
		}
	}
	return out[:size]
}

// macInfo is a PKCS#12 MacData, read and checked.
type macInfo struct {
	digest digest // the PKCS#12 KDF MAC's hash
	pbmac1 *pbkdf2Params
	macAlg digest // PBMAC1's HMAC
	value  []byte
	salt   []byte
	iter   int
}

// parseMAC reads MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET
// STRING, iterations INTEGER DEFAULT 1 }.
func parseMAC(b []byte) (*macInfo, int64, error) {
	digestInfo, b, err := expect(b, tagSequence, "MAC digest info")
	if err != nil {
		return nil, 0, err
	}
	algID, digestInfo, err := expect(digestInfo, tagSequence, "MAC algorithm")
	if err != nil {
		return nil, 0, err
	}
	value, _, err := expect(digestInfo, tagOctetString, "MAC value")
	if err != nil {
		return nil, 0, err
	}
	oidBody, params, err := expect(algID, tagOID, "MAC algorithm")
	if err != nil {
		return nil, 0, err
	}
	m := &macInfo{value: value, iter: 1}
	var work int64
	oid := parseOID(oidBody)
	if oid.Equal(oidPBMAC1) {
		if work, err = m.parsePBMAC1(params); err != nil {
			return nil, 0, err
		}
	} else {
		d, ok := macDigests[oid.String()]
		if oid == nil || !ok {
			return nil, 0, &UnsupportedError{Algorithm: "MAC " + oidName(oid)}
		}
		m.digest = d
	}
	if m.salt, b, err = expect(b, tagOctetString, "MAC salt"); err != nil {
		return nil, 0, err
	}
	if len(b) > 0 && m.pbmac1 == nil { // PBMAC1 ignores this field (RFC 9579)
		count, _, err := expect(b, tagInteger, "MAC iterations")
		if err != nil {
			return nil, 0, err
		}
		n, err := checkCount(count, "MAC")
		if err != nil {
			return nil, 0, err
		}
		m.iter = int(n)
		work += n
	} else if m.pbmac1 == nil {
		work++
	}
	return m, work, nil
}

// parsePBMAC1 reads PBMAC1-params ::= SEQUENCE { keyDerivationFunc,
// messageAuthScheme } (RFC 9579).
func (m *macInfo) parsePBMAC1(params []byte) (int64, error) {
	p, _, err := expect(params, tagSequence, "PBMAC1 parameters")
	if err != nil {
		return 0, err
	}
	kdf, p, err := expect(p, tagSequence, "PBMAC1 KDF")
	if err != nil {
		return 0, err
	}
	if m.pbmac1, err = parsePBKDF2(kdf, "MAC", "PBMAC1"); err != nil {
		return 0, err
	}
	mac, _, err := expect(p, tagSequence, "PBMAC1 MAC algorithm")
	if err != nil {
		return 0, err
	}
	oidBody, _, err := expect(mac, tagOID, "PBMAC1 MAC algorithm")
	if err != nil {
		return 0, err
	}
	oid := parseOID(oidBody)
	d, ok := hmacDigests[oid.String()]
	if oid == nil || !ok {
		return 0, &UnsupportedError{Algorithm: "PBMAC1 with " + oidName(oid)}
	}
	m.macAlg = d
	if m.pbmac1.keyLen == 0 {
		return 0, errors.New("PBMAC1 without a PBKDF2 key length")
	}
	return int64(m.pbmac1.iter), nil
}

// verify reports whether the MAC over authSafe verifies with pw.
func (m *macInfo) verify(authSafe []byte, pw pbePassword) bool {
	var mac hash.Hash
	if m.pbmac1 != nil {
		key, err := m.pbmac1.key(pw.utf8, m.pbmac1.keyLen)
		if err != nil {
			return false
		}
		mac = hmac.New(m.macAlg.new, key)
	} else {
		size := m.digest.new().Size()
		key := pkcs12KDF(m.digest.new, m.digest.v, m.salt, pw.bmp, m.iter, 3, size)
		mac = hmac.New(m.digest.new, key)
	}
	mac.Write(authSafe)
	return subtle.ConstantTimeCompare(mac.Sum(nil), m.value) == 1
}

// pbkdf2Params is a PBKDF2 parameter set.
type pbkdf2Params struct {
	salt   []byte
	iter   int
	keyLen int // 0 when absent
	prf    digest
}

// parsePBKDF2 reads a KDF AlgorithmIdentifier (contents) that must be
// PBKDF2 with an octet-string salt and a supported PRF.
func parsePBKDF2(kdf []byte, where, scheme string) (*pbkdf2Params, error) {
	oidBody, kdf, err := expect(kdf, tagOID, scheme+" KDF")
	if err != nil {
		return nil, err
	}
	if oid := parseOID(oidBody); !oid.Equal(oidPBKDF2) {
		return nil, &UnsupportedError{Algorithm: scheme + " with " + oidName(oid)}
	}
	p, _, err := expect(kdf, tagSequence, "PBKDF2 parameters")
	if err != nil {
		return nil, err
	}
	tag, salt, p, err := readTLV(p)
	if err != nil {
		return nil, err
	}
	if tag != tagOctetString {
		return nil, &UnsupportedError{Algorithm: scheme + " with a non-octet-string PBKDF2 salt"}
	}
	count, p, err := expect(p, tagInteger, "PBKDF2 iterations")
	if err != nil {
		return nil, err
	}
	n, err := checkCount(count, where)
	if err != nil {
		return nil, err
	}
	k := &pbkdf2Params{salt: salt, iter: int(n), prf: hmacDigests["1.2.840.113549.2.7"]}
	if len(p) > 0 && p[0] == tagInteger { // keyLength OPTIONAL
		var kl []byte
		if kl, p, err = expect(p, tagInteger, "PBKDF2 key length"); err != nil {
			return nil, err
		}
		l, err := parseCount(kl)
		if err != nil || l < 1 || l > 64 {
			return nil, errors.New("PBKDF2 key length out of range")
		}
		k.keyLen = int(l)
	}
	if len(p) > 0 { // prf DEFAULT hmacWithSHA1
		prf, _, err := expect(p, tagSequence, "PBKDF2 PRF")
		if err != nil {
			return nil, err
		}
		oidBody, _, err := expect(prf, tagOID, "PBKDF2 PRF")
		if err != nil {
			return nil, err
		}
		oid := parseOID(oidBody)
		d, ok := hmacDigests[oid.String()]
		if oid == nil || !ok {
			return nil, &UnsupportedError{Algorithm: scheme + " with PBKDF2-" + oidName(oid)}
		}
		k.prf = d
	}
	return k, nil
}

func (k *pbkdf2Params) key(password []byte, size int) ([]byte, error) {
	return pbkdf2.Key(k.prf.new, string(password), k.salt, k.iter, size)
}

// encryption is a password-based encryption algorithm, read and checked.
type encryption struct {
	name string
	// PKCS#12 PBE (RFC 7292, appendix C): key and IV from the PKCS#12 KDF.
	salt []byte
	iter int
	// PBES2 (RFC 8018): key from PBKDF2, IV in the parameters.
	pbkdf2 *pbkdf2Params
	iv     []byte

	keyLen int
	block  func(key []byte) (cipher.Block, error)
}

var (
	oidPBEWithSHA3DES   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 3}
	oidPBEWithSHARC2128 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 5}
	oidPBEWithSHARC240  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 6}
)

func newTripleDES(key []byte) (cipher.Block, error) { return des.NewTripleDESCipher(key) }

func rc2Block(bits int) func([]byte) (cipher.Block, error) {
	return func(key []byte) (cipher.Block, error) { return newRC2(key, bits), nil }
}

// pbes2Ciphers are the PBES2 encryption schemes real producers use.
var pbes2Ciphers = map[string]struct {
	keyLen int
	block  func([]byte) (cipher.Block, error)
}{
	"2.16.840.1.101.3.4.1.2":  {16, aes.NewCipher},
	"2.16.840.1.101.3.4.1.22": {24, aes.NewCipher},
	"2.16.840.1.101.3.4.1.42": {32, aes.NewCipher},
	"1.2.840.113549.3.7":      {24, newTripleDES},
}

// parseEncryption reads a password-based encryption AlgorithmIdentifier
// (contents): PKCS#12 PBE with 3DES or RC2, or PBES2 with PBKDF2 and AES
// or 3DES. where names it in iteration errors; work is its KDF cost.
func parseEncryption(algID []byte, where string) (enc *encryption, work int64, err error) {
	oidBody, params, err := expect(algID, tagOID, where+" algorithm")
	if err != nil {
		return nil, 0, err
	}
	oid := parseOID(oidBody)
	enc = &encryption{name: oidName(oid)}
	switch {
	case oid.Equal(oidPBES2):
		p, _, err := expect(params, tagSequence, "PBES2 parameters")
		if err != nil {
			return nil, 0, err
		}
		kdf, p, err := expect(p, tagSequence, "PBES2 KDF")
		if err != nil {
			return nil, 0, err
		}
		if enc.pbkdf2, err = parsePBKDF2(kdf, where, "PBES2"); err != nil {
			return nil, 0, err
		}
		scheme, _, err := expect(p, tagSequence, "PBES2 encryption scheme")
		if err != nil {
			return nil, 0, err
		}
		encOID, encParams, err := expect(scheme, tagOID, "PBES2 encryption scheme")
		if err != nil {
			return nil, 0, err
		}
		eo := parseOID(encOID)
		c, ok := pbes2Ciphers[eo.String()]
		if eo == nil || !ok {
			return nil, 0, &UnsupportedError{Algorithm: "PBES2 with " + oidName(eo)}
		}
		if enc.iv, _, err = expect(encParams, tagOctetString, "PBES2 IV"); err != nil {
			return nil, 0, err
		}
		enc.name = "PBES2 with " + oidName(eo)
		enc.keyLen, enc.block = c.keyLen, c.block
		if k := enc.pbkdf2.keyLen; k != 0 && k != c.keyLen {
			return nil, 0, errors.New("PBKDF2 key length does not match the cipher")
		}
		return enc, int64(enc.pbkdf2.iter), nil
	case oid.Equal(oidPBEWithSHA3DES):
		enc.keyLen, enc.block = 24, newTripleDES
	case oid.Equal(oidPBEWithSHARC240):
		enc.keyLen, enc.block = 5, rc2Block(40)
	case oid.Equal(oidPBEWithSHARC2128):
		enc.keyLen, enc.block = 16, rc2Block(128)
	default:
		return nil, 0, &UnsupportedError{Algorithm: oidName(oid)}
	}
	p, _, err := expect(params, tagSequence, "PBE parameters")
	if err != nil {
		return nil, 0, err
	}
	if enc.salt, p, err = expect(p, tagOctetString, "PBE salt"); err != nil {
		return nil, 0, err
	}
	count, _, err := expect(p, tagInteger, "PBE iterations")
	if err != nil {
		return nil, 0, err
	}
	n, err := checkCount(count, where)
	if err != nil {
		return nil, 0, err
	}
	enc.iter = int(n)
	return enc, 2 * n, nil // key and IV are derived separately
}

// errPadding means the plaintext's padding is wrong: the wrong password,
// in a file without a MAC.
var errPadding = errors.New("decryption failed")

// cipher derives the key (and IV) from pw.
func (e *encryption) cipher(pw pbePassword) (cipher.Block, []byte, error) {
	var key, iv []byte
	if e.pbkdf2 != nil {
		var err error
		if key, err = e.pbkdf2.key(pw.utf8, e.keyLen); err != nil {
			return nil, nil, err
		}
		iv = e.iv
	} else {
		key = pkcs12KDF(sha1.New, 64, e.salt, pw.bmp, e.iter, 1, e.keyLen)
	}
	block, err := e.block(key)
	if err != nil {
		return nil, nil, err
	}
	if e.pbkdf2 == nil {
		iv = pkcs12KDF(sha1.New, 64, e.salt, pw.bmp, e.iter, 2, block.BlockSize())
	}
	if len(iv) != block.BlockSize() {
		return nil, nil, fmt.Errorf("%s: the IV is not one block", e.name)
	}
	return block, iv, nil
}

// decrypt decrypts CBC ciphertext with PKCS#7 padding.
func (e *encryption) decrypt(ciphertext []byte, pw pbePassword) ([]byte, error) {
	block, iv, err := e.cipher(pw)
	if err != nil {
		return nil, err
	}
	bs := block.BlockSize()
	if len(ciphertext) == 0 || len(ciphertext)%bs != 0 {
		return nil, errors.New("encrypted content is not a whole number of blocks")
	}
	plain := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ciphertext)
	return unpad(plain, bs)
}

// unpad removes PKCS#7 padding.
func unpad(plain []byte, bs int) ([]byte, error) {
	n := int(plain[len(plain)-1])
	if n == 0 || n > bs || n > len(plain) {
		return nil, errPadding
	}
	for _, c := range plain[len(plain)-n:] {
		if int(c) != n {
			return nil, errPadding
		}
	}
	return plain[:len(plain)-n], nil
}

// encryptPBE3DES encrypts plaintext with pbeWithSHAAnd3-KeyTripleDES-CBC
// and returns the algorithm identifier (full encoding) and ciphertext.
func encryptPBE3DES(plaintext []byte, salt []byte, iter int, pw pbePassword) ([]byte, []byte, error) {
	e := &encryption{salt: salt, iter: iter, keyLen: 24, block: newTripleDES}
	block, iv, err := e.cipher(pw)
	if err != nil {
		return nil, nil, err
	}
	n := 8 - len(plaintext)%8
	padded := append(append([]byte(nil), plaintext...), make([]byte, n)...)
	for i := len(plaintext); i < len(padded); i++ {
		padded[i] = byte(n)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(padded, padded)
	alg := der(tagSequence, der(tagOID, oidBytes(oidPBEWithSHA3DES)),
		der(tagSequence, der(tagOctetString, salt), der(tagInteger, intBytes(iter))))
	return alg, padded, nil
}

// intBytes is the contents of a non-negative DER INTEGER.
func intBytes(n int) []byte {
	var b []byte
	for ; n > 0; n >>= 8 {
		b = append([]byte{byte(n)}, b...)
	}
	if len(b) == 0 || b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	return b
}
