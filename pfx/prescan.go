package pfx

import (
	"encoding/asn1"
	"errors"
	"fmt"
	"math"
)

// This file walks the outer layers of a PKCS#12 file by hand before
// go-pkcs12 sees it, so that hostile input is rejected cheaply: BER
// indefinite lengths, iteration counts that would make a KDF run for hours,
// algorithms go-pkcs12 cannot handle, and more than one visible key bag.
// The walker only slices the input (no allocation proportional to length
// fields) and has a fixed depth (no recursion).

// DER tags used below.
const (
	tagInteger     = 0x02
	tagOctetString = 0x04
	tagNull        = 0x05
	tagOID         = 0x06
	tagSequence    = 0x30
	tagSet         = 0x31
	tagContext0    = 0xa0 // [0] constructed (EXPLICIT)
	tagContext0Pr  = 0x80 // [0] primitive (IMPLICIT OCTET STRING)
	tagConstrOctet = 0x24 // constructed OCTET STRING: BER only
)

var errTruncated = errors.New("length runs past the end of the data")

// readTLV splits one DER element off the front of b. It returns the
// identifier octet, the contents and the remaining bytes.
func readTLV(b []byte) (tag byte, body, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, errTruncated
	}
	tag = b[0]
	if tag&0x1f == 0x1f {
		return 0, nil, nil, errors.New("high tag numbers are not used in PKCS#12")
	}
	if tag == tagConstrOctet {
		return 0, nil, nil, ErrBER
	}
	l := int(b[1])
	b = b[2:]
	switch {
	case l == 0x80:
		return 0, nil, nil, ErrBER
	case l > 0x80:
		n := l & 0x7f
		if n > 4 { // more than 4 GiB: never valid here (MaxFileSize is far smaller)
			return 0, nil, nil, errors.New("length field too large")
		}
		if len(b) < n {
			return 0, nil, nil, errTruncated
		}
		l = 0
		for _, c := range b[:n] {
			l = l<<8 | int(c)
		}
		b = b[n:]
	}
	if l > len(b) {
		return 0, nil, nil, errTruncated
	}
	return tag, b[:l], b[l:], nil
}

// expect reads one element and checks its tag.
func expect(b []byte, want byte, what string) (body, rest []byte, err error) {
	tag, body, rest, err := readTLV(b)
	if err != nil {
		return nil, nil, err
	}
	if tag != want {
		return nil, nil, fmt.Errorf("%s: unexpected tag 0x%02x", what, tag)
	}
	return body, rest, nil
}

// parseOID parses OID contents; unparsable OIDs are returned as nil.
func parseOID(body []byte) asn1.ObjectIdentifier {
	var oid asn1.ObjectIdentifier
	full := append([]byte{tagOID, byte(len(body))}, body...)
	if len(body) > 127 {
		return nil
	}
	if _, err := asn1.Unmarshal(full, &oid); err != nil {
		return nil
	}
	return oid
}

// parseCount parses a non-negative INTEGER, saturating at math.MaxInt64 so
// that huge values (2^64, 2^1000) never wrap into small ones.
func parseCount(body []byte) (int64, error) {
	if len(body) == 0 {
		return 0, errors.New("empty INTEGER")
	}
	if body[0]&0x80 != 0 {
		return 0, errors.New("negative iteration count")
	}
	for len(body) > 1 && body[0] == 0 {
		body = body[1:]
	}
	if len(body) > 8 || (len(body) == 8 && body[0]&0x80 != 0) {
		return math.MaxInt64, nil
	}
	var n int64
	for _, c := range body {
		n = n<<8 | int64(c)
	}
	return n, nil
}

// iterationLimit is MaxIterations, lowered by the fuzz test: there every
// count up to the cap is a legitimate seconds-long KDF under coverage
// instrumentation, which would starve the fuzzer without finding anything.
var iterationLimit int64 = MaxIterations

// checkCount validates an iteration count INTEGER body and adds it to the
// file's work.
func checkCount(body []byte, where string, info *scanInfo) error {
	n, err := parseCount(body)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if n > iterationLimit {
		return &IterationError{Where: where, Count: n}
	}
	info.work += n
	return nil
}

// scanInfo is what the pre-scan learned about a PKCS#12 file.
type scanInfo struct {
	hasMAC    bool  // macData present
	encrypted bool  // some content is password-encrypted
	keyBags   int   // key bags visible without decryption
	work      int64 // sum of the iteration counts seen
}

// prescan checks the outer layers of a PKCS#12 file. Errors are
// *IterationError, *UnsupportedError, ErrBER, ErrMultipleKeys or a
// malformed error (ErrNotPFX).
func prescan(data []byte) (*scanInfo, error) {
	info := &scanInfo{}
	err := prescanInner(data, info)
	if err == nil {
		return info, nil
	}
	var ie *IterationError
	var ue *UnsupportedError
	if errors.Is(err, ErrBER) || errors.Is(err, ErrMultipleKeys) || errors.As(err, &ie) || errors.As(err, &ue) {
		return nil, err
	}
	return nil, malformed(err, "%v", err)
}

func prescanInner(data []byte, info *scanInfo) error {
	pfxBody, rest, err := expect(data, tagSequence, "PFX")
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return errors.New("trailing data after the PFX structure")
	}
	// version
	ver, pfxBody, err := expect(pfxBody, tagInteger, "PFX version")
	if err != nil {
		return err
	}
	if len(ver) != 1 || ver[0] != 3 {
		return errors.New("PFX version is not 3")
	}
	// authSafe ContentInfo
	ci, pfxBody, err := expect(pfxBody, tagSequence, "authSafe")
	if err != nil {
		return err
	}
	oidBody, ci, err := expect(ci, tagOID, "authSafe content type")
	if err != nil {
		return err
	}
	if oid := parseOID(oidBody); !oid.Equal(oidData) {
		if oid.Equal(oidSignedData) {
			return &UnsupportedError{Algorithm: "public-key integrity mode (signedData)"}
		}
		return &UnsupportedError{Algorithm: "authSafe content type " + oid.String()}
	}
	explicit, _, err := expect(ci, tagContext0, "authSafe content")
	if err != nil {
		return err
	}
	authSafe, _, err := expect(explicit, tagOctetString, "authSafe data")
	if err != nil {
		return err
	}
	// macData OPTIONAL
	if len(pfxBody) > 0 {
		macData, trailing, err := expect(pfxBody, tagSequence, "macData")
		if err != nil {
			return err
		}
		if len(trailing) != 0 {
			return errors.New("trailing data after macData")
		}
		info.hasMAC = true
		if err := checkMAC(macData, info); err != nil {
			return err
		}
	}
	// AuthenticatedSafe ::= SEQUENCE OF ContentInfo
	items, _, err := expect(authSafe, tagSequence, "authenticated safe")
	if err != nil {
		return err
	}
	for len(items) > 0 {
		var item []byte
		if item, items, err = expect(items, tagSequence, "content info"); err != nil {
			return err
		}
		if err := checkContentInfo(item, info); err != nil {
			return err
		}
	}
	if info.keyBags > 1 {
		return wrapf(ErrMultipleKeys, nil, "more than one private key (%d key bags)", info.keyBags)
	}
	return nil
}

// checkMAC checks MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET
// STRING, iterations INTEGER DEFAULT 1 }.
func checkMAC(b []byte, info *scanInfo) error {
	digestInfo, b, err := expect(b, tagSequence, "MAC digest info")
	if err != nil {
		return err
	}
	algID, _, err := expect(digestInfo, tagSequence, "MAC algorithm")
	if err != nil {
		return err
	}
	oidBody, params, err := expect(algID, tagOID, "MAC algorithm")
	if err != nil {
		return err
	}
	oid := parseOID(oidBody)
	pbmac1 := oid.Equal(oidPBMAC1)
	if !pbmac1 && !oidSupported(oid, supportedMACs) {
		return &UnsupportedError{Algorithm: "MAC " + oidName(oid)}
	}
	if pbmac1 {
		if err := checkPBMAC1(params, info); err != nil {
			return err
		}
	}
	if _, b, err = expect(b, tagOctetString, "MAC salt"); err != nil {
		return err
	}
	if len(b) > 0 {
		count, _, err := expect(b, tagInteger, "MAC iterations")
		if err != nil {
			return err
		}
		if err := checkCount(count, "MAC", info); err != nil {
			return err
		}
	}
	return nil
}

// checkPBMAC1 checks PBMAC1-params ::= SEQUENCE { keyDerivationFunc, messageAuthScheme }.
func checkPBMAC1(params []byte, info *scanInfo) error {
	p, _, err := expect(params, tagSequence, "PBMAC1 parameters")
	if err != nil {
		return err
	}
	kdf, p, err := expect(p, tagSequence, "PBMAC1 KDF")
	if err != nil {
		return err
	}
	if err := checkPBKDF2(kdf, "MAC", "PBMAC1", info); err != nil {
		return err
	}
	mac, _, err := expect(p, tagSequence, "PBMAC1 MAC algorithm")
	if err != nil {
		return err
	}
	oidBody, _, err := expect(mac, tagOID, "PBMAC1 MAC algorithm")
	if err != nil {
		return err
	}
	if oid := parseOID(oidBody); !oidSupported(oid, supportedPRFs) {
		return &UnsupportedError{Algorithm: "PBMAC1 with " + oidName(oid)}
	}
	return nil
}

// checkPBKDF2 checks a KDF AlgorithmIdentifier (contents) that must be
// PBKDF2 with an octet-string salt and a supported PRF.
func checkPBKDF2(kdf []byte, where, scheme string, info *scanInfo) error {
	oidBody, kdf, err := expect(kdf, tagOID, scheme+" KDF")
	if err != nil {
		return err
	}
	if oid := parseOID(oidBody); !oid.Equal(oidPBKDF2) {
		return &UnsupportedError{Algorithm: scheme + " with " + oidName(oid)}
	}
	p, _, err := expect(kdf, tagSequence, "PBKDF2 parameters")
	if err != nil {
		return err
	}
	tag, _, p, err := readTLV(p)
	if err != nil {
		return err
	}
	if tag != tagOctetString {
		return &UnsupportedError{Algorithm: scheme + " with a non-octet-string PBKDF2 salt"}
	}
	count, p, err := expect(p, tagInteger, "PBKDF2 iterations")
	if err != nil {
		return err
	}
	if err := checkCount(count, where, info); err != nil {
		return err
	}
	if len(p) > 0 && p[0] == tagInteger { // keyLength OPTIONAL
		if _, _, p, err = readTLV(p); err != nil {
			return err
		}
	}
	if len(p) > 0 { // prf DEFAULT hmacWithSHA1
		prf, _, err := expect(p, tagSequence, "PBKDF2 PRF")
		if err != nil {
			return err
		}
		oidBody, _, err := expect(prf, tagOID, "PBKDF2 PRF")
		if err != nil {
			return err
		}
		if oid := parseOID(oidBody); !oidSupported(oid, supportedPRFs) {
			return &UnsupportedError{Algorithm: scheme + " with PBKDF2-" + oidName(oid)}
		}
	}
	return nil
}

// checkEncryption checks the contents of a password-based encryption
// AlgorithmIdentifier (PKCS#12 PBE or PBES2).
func checkEncryption(algID []byte, where string, info *scanInfo) error {
	oidBody, params, err := expect(algID, tagOID, where+" algorithm")
	if err != nil {
		return err
	}
	oid := parseOID(oidBody)
	switch {
	case oid.Equal(oidPBES2):
		p, _, err := expect(params, tagSequence, "PBES2 parameters")
		if err != nil {
			return err
		}
		kdf, p, err := expect(p, tagSequence, "PBES2 KDF")
		if err != nil {
			return err
		}
		if err := checkPBKDF2(kdf, where, "PBES2", info); err != nil {
			return err
		}
		enc, _, err := expect(p, tagSequence, "PBES2 encryption scheme")
		if err != nil {
			return err
		}
		encOID, _, err := expect(enc, tagOID, "PBES2 encryption scheme")
		if err != nil {
			return err
		}
		if eo := parseOID(encOID); !oidSupported(eo, supportedPBES2Ciphers) {
			return &UnsupportedError{Algorithm: "PBES2 with " + oidName(eo)}
		}
		return nil
	case oidSupported(oid, supportedPBE):
		p, _, err := expect(params, tagSequence, "PBE parameters")
		if err != nil {
			return err
		}
		if _, p, err = expect(p, tagOctetString, "PBE salt"); err != nil {
			return err
		}
		count, _, err := expect(p, tagInteger, "PBE iterations")
		if err != nil {
			return err
		}
		return checkCount(count, where, info)
	default:
		return &UnsupportedError{Algorithm: oidName(oid)}
	}
}

// checkContentInfo checks one ContentInfo of the AuthenticatedSafe.
func checkContentInfo(ci []byte, info *scanInfo) error {
	oidBody, ci, err := expect(ci, tagOID, "content type")
	if err != nil {
		return err
	}
	oid := parseOID(oidBody)
	explicit, _, err := expect(ci, tagContext0, "content")
	if err != nil {
		return err
	}
	switch {
	case oid.Equal(oidData):
		safe, _, err := expect(explicit, tagOctetString, "data")
		if err != nil {
			return err
		}
		return checkSafeContents(safe, info)
	case oid.Equal(oidEncryptedData):
		info.encrypted = true
		ed, _, err := expect(explicit, tagSequence, "encrypted data")
		if err != nil {
			return err
		}
		if _, ed, err = expect(ed, tagInteger, "encrypted data version"); err != nil {
			return err
		}
		eci, _, err := expect(ed, tagSequence, "encrypted content info")
		if err != nil {
			return err
		}
		if _, eci, err = expect(eci, tagOID, "encrypted content type"); err != nil {
			return err
		}
		alg, _, err := expect(eci, tagSequence, "content encryption algorithm")
		if err != nil {
			return err
		}
		return checkEncryption(alg, "certificate encryption", info)
	case oid.Equal(oidEnvelopedData):
		return &UnsupportedError{Algorithm: "public-key privacy mode (envelopedData)"}
	default:
		return &UnsupportedError{Algorithm: "content type " + oidName(oid)}
	}
}

// checkSafeContents walks SafeContents ::= SEQUENCE OF SafeBag, counting
// key bags and checking shrouded key bag encryption parameters.
func checkSafeContents(b []byte, info *scanInfo) error {
	bags, _, err := expect(b, tagSequence, "safe contents")
	if err != nil {
		return err
	}
	for len(bags) > 0 {
		var bag []byte
		if bag, bags, err = expect(bags, tagSequence, "safe bag"); err != nil {
			return err
		}
		oidBody, bag, err := expect(bag, tagOID, "bag type")
		if err != nil {
			return err
		}
		oid := parseOID(oidBody)
		switch {
		case oid.Equal(oidKeyBag):
			info.keyBags++
		case oid.Equal(oidShroudedKeyBag):
			info.keyBags++
			info.encrypted = true
			value, _, err := expect(bag, tagContext0, "key bag value")
			if err != nil {
				return err
			}
			epki, _, err := expect(value, tagSequence, "encrypted private key info")
			if err != nil {
				return err
			}
			alg, _, err := expect(epki, tagSequence, "key encryption algorithm")
			if err != nil {
				return err
			}
			if err := checkEncryption(alg, "key encryption", info); err != nil {
				return err
			}
		}
	}
	return nil
}
