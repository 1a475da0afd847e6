package pfx

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"errors"
)

// This file reads the certificates of a PKCS#12 file for listing a store,
// where the MAC is checked by whatever uses the key: it decrypts only the
// safes that hold certificates. It neither verifies the MAC nor decrypts
// (or parses) the private key, which saves two of the three key derivations
// of a store file and the parsing of the key.

// ErrListUnsupported means ReadStoreCertificates cannot read the file
// without the full decoder: an encryption algorithm it does not implement,
// a layout where only the key tells the leaf apart, a certificate safe that
// does not decrypt, PEM input and the like. Decode the file with Decode or
// DecodeCertificates instead; they give the definitive answer or error.
var ErrListUnsupported = errors.New("pkcs12 file cannot be listed without decoding its key")

var (
	oidCertBag      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}
	oidX509Cert     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 22, 1}
	oidLocalKeyID   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 21}
	oidPBE3DES      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 3}
	oidHMACSHA1     = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA256   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA512   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	errListPadding  = errors.New("certificate safe does not decrypt")
	errListNotSafes = errors.New("decrypted certificate safe is not a SafeContents")
)

// listUnsupported returns an error matching ErrListUnsupported (and cause,
// when not nil).
func listUnsupported(cause error, format string, args ...any) error {
	return wrapf(ErrListUnsupported, cause, "cannot list without decoding the key: "+format, args...)
}

// ReadStoreCertificates returns the certificates of a PKCS#12 file without
// verifying its MAC and without decrypting its private key: only the
// certificate safes are decrypted. It is meant for listing a store, where
// what it returns is cached and anything that uses the key decodes the file
// again with Decode, which verifies the MAC.
//
// hasKey reports whether the file has a key bag (plain or shrouded); the key
// itself is not checked. The leaf is the certificate whose localKeyId
// attribute matches the key bag's or, in a file without a key, the first
// certificate; chain holds the other certificates in file order.
//
// It reads what .NET, Windows, OpenSSL and go-pkcs12 write: plain safes,
// and certificate safes encrypted with pbeWithSHAAnd3-KeyTripleDES-CBC or
// PBES2 (PBKDF2 with HMAC-SHA-1, -256 or -512, AES-CBC). With the empty
// password the empty BMPString is tried first, then .NET's null password.
//
// The input goes through the same pre-scan as Decode (size, BER and
// iteration limits), whose errors it returns as they are. Any other file it
// cannot read fails with an error matching ErrListUnsupported; callers then
// fall back to Decode or DecodeCertificates.
func ReadStoreCertificates(data []byte, password string) (leaf *x509.Certificate, chain []*x509.Certificate, hasKey bool, err error) {
	kind, err := sniff(data)
	if err != nil {
		return nil, nil, false, err
	}
	if kind != kindPKCS12 {
		return nil, nil, false, listUnsupported(nil, "not a PKCS#12 file")
	}
	if err := checkPassword(password); err != nil {
		return nil, nil, false, err
	}
	info, err := prescan(data)
	if err != nil {
		return nil, nil, false, err
	}
	if !info.hasMAC && info.encrypted && password != "" {
		// Decode refuses this too; let it say so.
		return nil, nil, false, listUnsupported(nil, "encrypted file without a MAC")
	}

	items, err := authSafeItems(data)
	if err != nil {
		return nil, nil, false, listUnsupported(err, "%v", err)
	}
	if len(items) == 0 || len(items) > 2 {
		// go-pkcs12 reads one or two; keep to what Decode accepts.
		return nil, nil, false, listUnsupported(nil, "%d items in the authenticated safe", len(items))
	}

	// Password variants for the PKCS#12 KDF, in the order to try them.
	variants := [][]byte{bmpPassword(password)}
	if password == "" {
		variants = append(variants, nil)
	}

	var bags []listBag
	for _, item := range items {
		safe, err := openContentInfo(item, &variants, password)
		if err != nil {
			return nil, nil, false, err
		}
		bags = append(bags, safe...)
	}
	return pickCertificates(bags)
}

// listBag is a SafeBag as the listing reads it.
type listBag struct {
	cert       []byte // DER certificate of a certBag
	key        bool   // keyBag or pkcs8ShroudedKeyBag
	localKeyID []byte
}

// authSafeItems returns the ContentInfos of the AuthenticatedSafe (full
// encodings). The pre-scan has already checked the outer structure.
func authSafeItems(data []byte) ([][]byte, error) {
	pfxBody, _, err := expect(data, tagSequence, "PFX")
	if err != nil {
		return nil, err
	}
	if _, pfxBody, err = expect(pfxBody, tagInteger, "PFX version"); err != nil {
		return nil, err
	}
	ci, _, err := expect(pfxBody, tagSequence, "authSafe")
	if err != nil {
		return nil, err
	}
	if _, ci, err = expect(ci, tagOID, "authSafe content type"); err != nil {
		return nil, err
	}
	explicit, _, err := expect(ci, tagContext0, "authSafe content")
	if err != nil {
		return nil, err
	}
	authSafe, _, err := expect(explicit, tagOctetString, "authSafe data")
	if err != nil {
		return nil, err
	}
	seq, rest, err := expect(authSafe, tagSequence, "authenticated safe")
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, errors.New("trailing data after the authenticated safe")
	}
	var items [][]byte
	for len(seq) > 0 {
		var item []byte
		if item, seq, err = expect(seq, tagSequence, "content info"); err != nil {
			return nil, err
		}
		items = append(items, item)
	}
	return items, nil
}

// openContentInfo returns the bags of one ContentInfo (its contents),
// decrypting an encryptedData safe. When a password variant fails on an
// encrypted safe, the remaining variants are tried and the one that works
// is kept for the next safes.
func openContentInfo(ci []byte, variants *[][]byte, password string) ([]listBag, error) {
	oidBody, ci, err := expect(ci, tagOID, "content type")
	if err != nil {
		return nil, listUnsupported(err, "%v", err)
	}
	explicit, _, err := expect(ci, tagContext0, "content")
	if err != nil {
		return nil, listUnsupported(err, "%v", err)
	}
	switch oid := parseOID(oidBody); {
	case oid.Equal(oidData):
		safe, rest, err := expect(explicit, tagOctetString, "data")
		if err == nil && len(rest) != 0 {
			err = errors.New("trailing data after the safe")
		}
		if err != nil {
			return nil, listUnsupported(err, "%v", err)
		}
		bags, err := parseSafeContents(safe)
		if err != nil {
			return nil, listUnsupported(err, "%v", err)
		}
		return bags, nil
	case oid.Equal(oidEncryptedData):
		alg, ciphertext, err := encryptedContent(explicit)
		if err != nil {
			return nil, listUnsupported(err, "%v", err)
		}
		var lastErr error
		for i, pw := range *variants {
			plain, err := decryptSafe(alg, ciphertext, pw, password)
			if err != nil && !errors.Is(err, errListPadding) {
				return nil, err // not a matter of the password
			}
			var bags []listBag
			if err == nil {
				if bags, err = parseSafeContents(plain); err != nil {
					err = errListNotSafes
				}
			}
			if err == nil {
				*variants = (*variants)[i : i+1]
				return bags, nil
			}
			lastErr = err
		}
		return nil, listUnsupported(errors.Join(ErrIncorrectPassword, lastErr), "%v", lastErr)
	default:
		return nil, listUnsupported(nil, "content type %s", oidName(oid))
	}
}

// encryptedContent reads EncryptedData ::= SEQUENCE { version INTEGER (0),
// encryptedContentInfo SEQUENCE { contentType, contentEncryptionAlgorithm,
// encryptedContent [0] IMPLICIT OCTET STRING } } and returns the algorithm
// identifier (contents) and the ciphertext.
func encryptedContent(b []byte) (alg, ciphertext []byte, err error) {
	ed, _, err := expect(b, tagSequence, "encrypted data")
	if err != nil {
		return nil, nil, err
	}
	ver, ed, err := expect(ed, tagInteger, "encrypted data version")
	if err != nil {
		return nil, nil, err
	}
	if len(ver) != 1 || ver[0] != 0 {
		return nil, nil, errors.New("encrypted data version is not 0")
	}
	eci, _, err := expect(ed, tagSequence, "encrypted content info")
	if err != nil {
		return nil, nil, err
	}
	if _, eci, err = expect(eci, tagOID, "encrypted content type"); err != nil {
		return nil, nil, err
	}
	if alg, eci, err = expect(eci, tagSequence, "content encryption algorithm"); err != nil {
		return nil, nil, err
	}
	if ciphertext, _, err = expect(eci, tagContext0Pr, "encrypted content"); err != nil {
		return nil, nil, err
	}
	return alg, ciphertext, nil
}

// decryptSafe decrypts ciphertext with the algorithm alg (identifier
// contents). pw is the password as the PKCS#12 KDF takes it (a BMPString or
// nil); PBES2 takes password as UTF-8 instead. A wrong password gives
// errListPadding; an algorithm it does not implement gives an error
// matching ErrListUnsupported.
func decryptSafe(alg, ciphertext, pw []byte, password string) ([]byte, error) {
	oidBody, params, err := expect(alg, tagOID, "encryption algorithm")
	if err != nil {
		return nil, listUnsupported(err, "%v", err)
	}
	var block cipher.Block
	var iv []byte
	switch oid := parseOID(oidBody); {
	case oid.Equal(oidPBE3DES):
		salt, iter, err := pbeParams(params)
		if err != nil {
			return nil, listUnsupported(err, "%v", err)
		}
		key := pkcs12KDFSHA1(salt, pw, iter, 1, 24)
		iv = pkcs12KDFSHA1(salt, pw, iter, 2, 8)
		if block, err = des.NewTripleDESCipher(key); err != nil {
			return nil, listUnsupported(err, "%v", err)
		}
	case oid.Equal(oidPBES2):
		if block, iv, err = pbes2Cipher(params, password); err != nil {
			return nil, listUnsupported(err, "%v", err)
		}
	default:
		return nil, listUnsupported(nil, "certificates encrypted with %s", oidName(oid))
	}
	bs := block.BlockSize()
	if len(ciphertext) == 0 || len(ciphertext)%bs != 0 {
		return nil, listUnsupported(nil, "encrypted content is not a whole number of blocks")
	}
	plain := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ciphertext)
	n := int(plain[len(plain)-1])
	if n == 0 || n > bs {
		return nil, errListPadding
	}
	for _, c := range plain[len(plain)-n:] {
		if int(c) != n {
			return nil, errListPadding
		}
	}
	return plain[:len(plain)-n], nil
}

// pbeParams reads pkcs-12PbeParams ::= SEQUENCE { salt OCTET STRING,
// iterations INTEGER }.
func pbeParams(b []byte) (salt []byte, iter int, err error) {
	p, _, err := expect(b, tagSequence, "PBE parameters")
	if err != nil {
		return nil, 0, err
	}
	if salt, p, err = expect(p, tagOctetString, "PBE salt"); err != nil {
		return nil, 0, err
	}
	count, _, err := expect(p, tagInteger, "PBE iterations")
	if err != nil {
		return nil, 0, err
	}
	iter, err = iterations(count)
	return salt, iter, err
}

// iterations parses an iteration count, which the pre-scan has already
// checked; it checks again so that this code stands on its own.
func iterations(body []byte) (int, error) {
	n, err := parseCount(body)
	if err != nil {
		return 0, err
	}
	if n < 1 {
		return 0, errors.New("iteration count below 1")
	}
	if n > iterationLimit {
		return 0, &IterationError{Where: "certificate encryption", Count: n}
	}
	return int(n), nil
}

// pbes2Cipher reads PBES2-params ::= SEQUENCE { keyDerivationFunc
// (PBKDF2), encryptionScheme (AES-CBC with its IV) } and derives the key from
// password as UTF-8, as go-pkcs12 and Windows do.
func pbes2Cipher(params []byte, password string) (cipher.Block, []byte, error) {
	p, _, err := expect(params, tagSequence, "PBES2 parameters")
	if err != nil {
		return nil, nil, err
	}
	kdf, p, err := expect(p, tagSequence, "PBES2 KDF")
	if err != nil {
		return nil, nil, err
	}
	enc, _, err := expect(p, tagSequence, "PBES2 encryption scheme")
	if err != nil {
		return nil, nil, err
	}

	// The cipher first, for the key length.
	encOID, encParams, err := expect(enc, tagOID, "PBES2 encryption scheme")
	if err != nil {
		return nil, nil, err
	}
	var keyLen int
	switch eo := parseOID(encOID); {
	case eo.Equal(oidAES128CBC):
		keyLen = 16
	case eo.Equal(oidAES192CBC):
		keyLen = 24
	case eo.Equal(oidAES256CBC):
		keyLen = 32
	default:
		return nil, nil, errors.New("PBES2 with " + oidName(eo))
	}
	iv, _, err := expect(encParams, tagOctetString, "PBES2 IV")
	if err != nil {
		return nil, nil, err
	}
	if len(iv) != aes.BlockSize {
		return nil, nil, errors.New("PBES2 IV is not one AES block")
	}

	kdfOID, kdf, err := expect(kdf, tagOID, "PBES2 KDF")
	if err != nil {
		return nil, nil, err
	}
	if !parseOID(kdfOID).Equal(oidPBKDF2) {
		return nil, nil, errors.New("PBES2 with " + oidName(parseOID(kdfOID)))
	}
	kp, _, err := expect(kdf, tagSequence, "PBKDF2 parameters")
	if err != nil {
		return nil, nil, err
	}
	salt, kp, err := expect(kp, tagOctetString, "PBKDF2 salt")
	if err != nil {
		return nil, nil, err
	}
	count, kp, err := expect(kp, tagInteger, "PBKDF2 iterations")
	if err != nil {
		return nil, nil, err
	}
	iter, err := iterations(count)
	if err != nil {
		return nil, nil, err
	}
	if len(kp) > 0 && kp[0] == tagInteger { // keyLength OPTIONAL
		var kl []byte
		if kl, kp, err = expect(kp, tagInteger, "PBKDF2 key length"); err != nil {
			return nil, nil, err
		}
		if n, err := parseCount(kl); err != nil || n != int64(keyLen) {
			return nil, nil, errors.New("PBKDF2 key length does not match the cipher")
		}
	}
	prf := sha1.New
	if len(kp) > 0 { // prf DEFAULT hmacWithSHA1
		alg, _, err := expect(kp, tagSequence, "PBKDF2 PRF")
		if err != nil {
			return nil, nil, err
		}
		prfOID, _, err := expect(alg, tagOID, "PBKDF2 PRF")
		if err != nil {
			return nil, nil, err
		}
		switch po := parseOID(prfOID); {
		case po.Equal(oidHMACSHA1):
		case po.Equal(oidHMACSHA256):
			prf = sha256.New
		case po.Equal(oidHMACSHA512):
			prf = sha512.New
		default:
			return nil, nil, errors.New("PBKDF2 with " + oidName(po))
		}
	}
	key, err := pbkdf2.Key(prf, password, salt, iter, keyLen)
	if err != nil {
		return nil, nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, nil, err
	}
	return block, iv, nil
}

// parseSafeContents reads SafeContents ::= SEQUENCE OF SafeBag, keeping
// certificate bags (undecoded), key bags and their localKeyId. It accepts
// nothing but the whole input, so a safe decrypted with the wrong password
// fails here.
func parseSafeContents(b []byte) ([]listBag, error) {
	seq, rest, err := expect(b, tagSequence, "safe contents")
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, errors.New("trailing data after the safe contents")
	}
	var bags []listBag
	for len(seq) > 0 {
		var bag []byte
		if bag, seq, err = expect(seq, tagSequence, "safe bag"); err != nil {
			return nil, err
		}
		oidBody, bag, err := expect(bag, tagOID, "bag type")
		if err != nil {
			return nil, err
		}
		value, bag, err := expect(bag, tagContext0, "bag value")
		if err != nil {
			return nil, err
		}
		var attrs []byte
		if len(bag) > 0 {
			if attrs, bag, err = expect(bag, tagSet, "bag attributes"); err != nil {
				return nil, err
			}
		}
		if len(bag) != 0 {
			return nil, errors.New("trailing data in a safe bag")
		}
		lb := listBag{}
		switch oid := parseOID(oidBody); {
		case oid.Equal(oidCertBag):
			if lb.cert, err = certBagValue(value); err != nil {
				return nil, err
			}
		case oid.Equal(oidKeyBag), oid.Equal(oidShroudedKeyBag):
			lb.key = true
		default:
			continue // CRLs, secrets, nested safes: Decode ignores them too
		}
		if lb.localKeyID, err = localKeyID(attrs); err != nil {
			return nil, err
		}
		bags = append(bags, lb)
	}
	return bags, nil
}

// certBagValue reads CertBag ::= SEQUENCE { certId (x509Certificate),
// certValue [0] EXPLICIT OCTET STRING } and returns the DER certificate.
func certBagValue(b []byte) ([]byte, error) {
	cb, _, err := expect(b, tagSequence, "certificate bag")
	if err != nil {
		return nil, err
	}
	idBody, cb, err := expect(cb, tagOID, "certificate type")
	if err != nil {
		return nil, err
	}
	if !parseOID(idBody).Equal(oidX509Cert) {
		return nil, errors.New("certificate bag of type " + oidName(parseOID(idBody)))
	}
	explicit, _, err := expect(cb, tagContext0, "certificate value")
	if err != nil {
		return nil, err
	}
	cert, _, err := expect(explicit, tagOctetString, "certificate value")
	return cert, err
}

// localKeyID returns the value of the localKeyId attribute in a SET OF
// PKCS12Attribute (contents), or nil.
func localKeyID(attrs []byte) ([]byte, error) {
	for len(attrs) > 0 {
		var attr []byte
		var err error
		if attr, attrs, err = expect(attrs, tagSequence, "bag attribute"); err != nil {
			return nil, err
		}
		oidBody, attr, err := expect(attr, tagOID, "bag attribute type")
		if err != nil {
			return nil, err
		}
		values, _, err := expect(attr, tagSet, "bag attribute values")
		if err != nil {
			return nil, err
		}
		if !parseOID(oidBody).Equal(oidLocalKeyID) {
			continue
		}
		id, _, err := expect(values, tagOctetString, "local key id")
		if err != nil {
			return nil, err
		}
		return id, nil
	}
	return nil, nil
}

// pickCertificates parses the certificates and finds the leaf: the
// certificate whose localKeyId matches the key's, or, with no key, the
// first. When only the key could tell which certificate is the leaf (no
// localKeyId, or the one it names issued another certificate in the file)
// it gives up with ErrListUnsupported.
func pickCertificates(bags []listBag) (*x509.Certificate, []*x509.Certificate, bool, error) {
	var keyID []byte
	keys, certs := 0, 0
	for _, b := range bags {
		if b.key {
			keys++
			keyID = b.localKeyID
		} else {
			certs++
		}
	}
	if keys > 1 {
		return nil, nil, false, listUnsupported(ErrMultipleKeys, "%d key bags", keys)
	}
	if certs == 0 {
		return nil, nil, false, listUnsupported(ErrNoCertificate, "no certificate")
	}
	leafIdx := -1
	switch {
	case keys == 0 || certs == 1:
		leafIdx = 0
	case len(keyID) > 0:
		i := 0
		for _, b := range bags {
			if b.key {
				continue
			}
			if bytes.Equal(b.localKeyID, keyID) {
				if leafIdx != -1 {
					return nil, nil, false, listUnsupported(nil, "more than one certificate has the key's local key id")
				}
				leafIdx = i
			}
			i++
		}
	}
	if leafIdx == -1 {
		return nil, nil, false, listUnsupported(nil, "no certificate has the key's local key id")
	}
	parsed := make([]*x509.Certificate, 0, certs)
	for _, b := range bags {
		if b.key {
			continue
		}
		c, err := x509.ParseCertificate(b.cert)
		if err != nil {
			return nil, nil, false, listUnsupported(err, "certificate: %v", err)
		}
		parsed = append(parsed, c)
	}
	leaf := parsed[leafIdx]
	if keys == 1 && certs > 1 {
		// A producer may put the key's localKeyId on the wrong certificate
		// (go-pkcs12 puts it on whichever it is given as the leaf). A
		// certificate that issued another one in the file is a CA whose
		// key the file is unlikely to hold: leave it to Decode, which
		// matches the key itself.
		for i, c := range parsed {
			if i != leafIdx && bytes.Equal(c.RawIssuer, leaf.RawSubject) && !bytes.Equal(c.Raw, leaf.Raw) {
				return nil, nil, false, listUnsupported(nil, "the certificate with the key's local key id issued another certificate in the file")
			}
		}
	}
	chain := make([]*x509.Certificate, 0, certs-1)
	for i, c := range parsed {
		if i != leafIdx {
			chain = append(chain, c)
		}
	}
	return leaf, chain, keys == 1, nil
}
