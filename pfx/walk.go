package pfx

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
)

// This file is the one reader of PKCS#12 structure. parsePFX walks
// everything that is not encrypted, before any key derivation: it checks
// every algorithm and iteration count, counts the key bags it can see and
// totals the work, so hostile input is refused cheaply. open then verifies
// the MAC and decrypts, checking what it finds inside encrypted safes the
// same way before decrypting it in turn.

// Limits of one file, beyond MaxFileSize and MaxIterations. GnuTLS writes
// one encrypted safe per certificate, so a chain of ten has eleven safes.
const (
	maxSafes = 256
	maxBags  = 4096
)

// MaxTotalIterations caps the sum of the iteration counts of all key
// derivations one PKCS#12 file needs (its MAC, every encrypted safe and
// key; a PKCS#12 PBE derivation counts twice, for its key and its IV). It
// fails with an *IterationError before the derivation that would pass it.
// Most producers need a few tens of thousands; NSS and GnuTLS use
// MaxIterations (600,000) for the MAC and every encryption, and GnuTLS
// encrypts each certificate in a safe of its own, so a GnuTLS file with a
// chain of 14 certificates is the largest that fits (about a second here).
const MaxTotalIterations = 16 * MaxIterations

var (
	oidCertBag         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}
	oidSafeContentsBag = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 6}
	oidX509Cert        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 22, 1}
	oidLocalKeyID      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 21}
)

// pfxFile is a PKCS#12 file as parsePFX reads it.
type pfxFile struct {
	authSafe  []byte   // what the MAC covers
	mac       *macInfo // nil without a MAC
	safes     []*safe
	keyBags   int  // key bags seen so far
	encrypted bool // some content is password-encrypted
	work      int64
}

// safe is one ContentInfo of the authenticated safe.
type safe struct {
	enc  *encryption // nil for a plain safe
	data []byte      // the ciphertext of an encrypted safe
	bags []safeBag   // of a plain safe, or once decrypted
}

// safeBag is a certificate or key bag.
type safeBag struct {
	cert       []byte      // DER certificate of a certBag
	isKey      bool        // keyBag or pkcs8ShroudedKeyBag
	key        []byte      // PrivateKeyInfo, or the ciphertext while keyEnc is set
	keyEnc     *encryption // a shrouded key not yet decrypted
	signer     crypto.Signer
	keyErr     error // signer and keyErr: key, parsed once decrypted
	localKeyID []byte
}

// addWork adds n iterations to the file's total.
func (f *pfxFile) addWork(n int64) error {
	f.work += n
	if f.work > MaxTotalIterations {
		return &IterationError{Where: "all key derivations of the file", Count: f.work, Limit: MaxTotalIterations}
	}
	return nil
}

// parsePFX reads the unencrypted structure of a DER PKCS#12 file. Errors
// are *IterationError, *UnsupportedError, ErrMultipleKeys or a malformed
// error (ErrNotPFX).
func parsePFX(data []byte) (*pfxFile, error) {
	f := &pfxFile{}
	if err := f.parse(data); err != nil {
		return nil, classify(err)
	}
	return f, nil
}

// classify passes typed errors through and reports anything else as
// malformed data.
func classify(err error) error {
	var ie *IterationError
	var ue *UnsupportedError
	var we *wrapErr
	if errors.As(err, &ie) || errors.As(err, &ue) || errors.As(err, &we) {
		return err
	}
	return malformed(err, "%v", err)
}

func (f *pfxFile) parse(data []byte) error {
	pfxBody, rest, err := expect(data, tagSequence, "PFX")
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return errors.New("trailing data after the PFX structure")
	}
	ver, pfxBody, err := expect(pfxBody, tagInteger, "PFX version")
	if err != nil {
		return err
	}
	if len(ver) != 1 || ver[0] != 3 {
		return errors.New("PFX version is not 3")
	}
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
		return &UnsupportedError{Algorithm: "authSafe content type " + oidName(oid)}
	}
	explicit, _, err := expect(ci, tagContext0, "authSafe content")
	if err != nil {
		return err
	}
	if f.authSafe, _, err = expect(explicit, tagOctetString, "authSafe data"); err != nil {
		return err
	}
	// The MAC covers these bytes as they are; what they encode may be BER
	// of its own (NSS writes it so).
	authSafe, err := toDER(f.authSafe)
	if err != nil {
		return err
	}
	if len(pfxBody) > 0 { // macData OPTIONAL
		macData, trailing, err := expect(pfxBody, tagSequence, "macData")
		if err != nil {
			return err
		}
		if len(trailing) != 0 {
			return errors.New("trailing data after macData")
		}
		var work int64
		if f.mac, work, err = parseMAC(macData); err != nil {
			return err
		}
		if err := f.addWork(work); err != nil {
			return err
		}
	}
	// AuthenticatedSafe ::= SEQUENCE OF ContentInfo
	items, rest, err := expect(authSafe, tagSequence, "authenticated safe")
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return errors.New("trailing data after the authenticated safe")
	}
	for len(items) > 0 {
		if len(f.safes) == maxSafes {
			return fmt.Errorf("more than %d safes in the authenticated safe", maxSafes)
		}
		var item []byte
		if item, items, err = expect(items, tagSequence, "content info"); err != nil {
			return err
		}
		s, err := f.parseContentInfo(item)
		if err != nil {
			return err
		}
		f.safes = append(f.safes, s)
	}
	return f.checkKeyCount()
}

func (f *pfxFile) checkKeyCount() error {
	if f.keyBags > 1 {
		return wrapf(ErrMultipleKeys, nil, "more than one private key (%d key bags)", f.keyBags)
	}
	return nil
}

// parseContentInfo reads one ContentInfo of the authenticated safe.
func (f *pfxFile) parseContentInfo(ci []byte) (*safe, error) {
	oidBody, ci, err := expect(ci, tagOID, "content type")
	if err != nil {
		return nil, err
	}
	oid := parseOID(oidBody)
	explicit, _, err := expect(ci, tagContext0, "content")
	if err != nil {
		return nil, err
	}
	switch {
	case oid.Equal(oidData):
		data, rest, err := expect(explicit, tagOctetString, "data")
		if err == nil && len(rest) != 0 {
			err = errors.New("trailing data after the safe")
		}
		if err != nil {
			return nil, err
		}
		if data, err = toDER(data); err != nil {
			return nil, err
		}
		s := &safe{}
		s.bags, err = f.parseSafeContents(data)
		return s, err
	case oid.Equal(oidEncryptedData):
		f.encrypted = true
		alg, ciphertext, err := encryptedContent(explicit)
		if err != nil {
			return nil, err
		}
		enc, work, err := parseEncryption(alg, "certificate encryption")
		if err != nil {
			return nil, err
		}
		return &safe{enc: enc, data: ciphertext}, f.addWork(work)
	case oid.Equal(oidEnvelopedData):
		return nil, &UnsupportedError{Algorithm: "public-key privacy mode (envelopedData)"}
	default:
		return nil, &UnsupportedError{Algorithm: "content type " + oidName(oid)}
	}
}

// encryptedContent reads EncryptedData ::= SEQUENCE { version INTEGER,
// encryptedContentInfo SEQUENCE { contentType, contentEncryptionAlgorithm,
// encryptedContent [0] IMPLICIT OCTET STRING } } and returns the algorithm
// identifier (contents) and the ciphertext.
func encryptedContent(b []byte) (alg, ciphertext []byte, err error) {
	ed, _, err := expect(b, tagSequence, "encrypted data")
	if err != nil {
		return nil, nil, err
	}
	if _, ed, err = expect(ed, tagInteger, "encrypted data version"); err != nil {
		return nil, nil, err
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
	if ciphertext, _, err = octets(eci, "encrypted content"); err != nil {
		return nil, nil, err
	}
	return alg, ciphertext, nil
}

// parseSafeContents reads SafeContents ::= SEQUENCE OF SafeBag, keeping
// certificate and key bags. It accepts nothing but the whole input, so a
// safe decrypted with the wrong password fails here.
func (f *pfxFile) parseSafeContents(b []byte) ([]safeBag, error) {
	seq, rest, err := expect(b, tagSequence, "safe contents")
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, errors.New("trailing data after the safe contents")
	}
	var bags []safeBag
	for n := 0; len(seq) > 0; n++ {
		if n == maxBags {
			return nil, fmt.Errorf("more than %d bags in a safe", maxBags)
		}
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
		sb := safeBag{}
		switch oid := parseOID(oidBody); {
		case oid.Equal(oidCertBag):
			if sb.cert, err = certBagValue(value); err != nil {
				return nil, err
			}
			if sb.cert == nil {
				continue // not an X.509 certificate
			}
		case oid.Equal(oidKeyBag):
			f.keyBags++
			sb.isKey = true
			if sb.key, _, err = readTLVFull(value); err != nil {
				return nil, fmt.Errorf("key bag: %w", err)
			}
		case oid.Equal(oidShroudedKeyBag):
			f.keyBags++
			f.encrypted = true
			sb.isKey = true
			epki, _, err := expect(value, tagSequence, "encrypted private key info")
			if err != nil {
				return nil, err
			}
			alg, epki, err := expect(epki, tagSequence, "key encryption algorithm")
			if err != nil {
				return nil, err
			}
			var work int64
			if sb.keyEnc, work, err = parseEncryption(alg, "key encryption"); err != nil {
				return nil, err
			}
			if err := f.addWork(work); err != nil {
				return nil, err
			}
			if sb.key, _, err = octets(epki, "encrypted private key"); err != nil {
				return nil, err
			}
		case oid.Equal(oidSafeContentsBag):
			return nil, &UnsupportedError{Algorithm: "nested safe contents bag"}
		default:
			continue // CRLs and secrets
		}
		if sb.localKeyID, err = localKeyID(attrs); err != nil {
			return nil, err
		}
		bags = append(bags, sb)
	}
	return bags, nil
}

// readTLVFull reads one element and returns its complete encoding.
func readTLVFull(b []byte) (full, rest []byte, err error) {
	_, _, rest, err = readTLV(b)
	if err != nil {
		return nil, nil, err
	}
	return b[:len(b)-len(rest)], rest, nil
}

// certBagValue reads CertBag ::= SEQUENCE { certId, certValue [0] EXPLICIT
// OCTET STRING } and returns the DER certificate, or nil for a certificate
// type other than X.509.
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
		return nil, nil
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

// openOptions say how much of the file open decrypts.
type openOptions struct {
	checkMAC bool // verify the MAC (and choose the password form by it)
	keys     bool // decrypt shrouded keys
}

// open verifies the MAC and decrypts the encrypted safes (and, with
// o.keys, the keys), returning all bags in file order. Without a MAC the
// password form is the first one that decrypts.
func (f *pfxFile) open(password string, o openOptions) ([]safeBag, error) {
	if err := checkPassword(password); err != nil {
		return nil, err
	}
	variants := passwordVariants(password)
	if f.mac != nil && o.checkMAC {
		var ok []pbePassword
		for _, v := range variants {
			if f.mac.verify(f.authSafe, v) {
				ok = append(ok, v)
				break
			}
		}
		if ok == nil {
			return nil, ErrIncorrectPassword
		}
		variants = ok
	}
	var bags []safeBag
	for _, s := range f.safes {
		if s.enc != nil {
			_, err := tryDecrypt(s.enc, s.data, &variants, func(plain []byte) error {
				var err error
				s.bags, err = f.parseSafeContents(plain)
				return err
			})
			if err != nil {
				return nil, err
			}
			if err := f.checkKeyCount(); err != nil {
				return nil, err
			}
		}
		bags = append(bags, s.bags...)
	}
	if !o.keys {
		return bags, nil
	}
	for i := range bags {
		b := &bags[i]
		if b.keyEnc == nil {
			continue
		}
		plain, err := tryDecrypt(b.keyEnc, b.key, &variants, func(plain []byte) error {
			b.signer, b.keyErr = parsePKCS8(plain)
			if errors.Is(b.keyErr, ErrUnsupported) {
				return nil // decrypted; the key type is the problem
			}
			return b.keyErr
		})
		if err != nil {
			return nil, err
		}
		b.key, b.keyEnc = plain, nil
	}
	return bags, nil
}

// tryDecrypt decrypts ciphertext with each password form in turn until
// the plaintext, rewritten as DER, passes check; the form that works is
// kept for the rest of the file. A failure with every form is the wrong
// password.
func tryDecrypt(enc *encryption, ciphertext []byte, variants *[]pbePassword, check func([]byte) error) ([]byte, error) {
	var lastErr error
	for i, v := range *variants {
		plain, err := enc.decrypt(ciphertext, v)
		if err == nil {
			if plain, err = toDER(plain); err == nil {
				err = check(plain)
			}
		}
		if err == nil {
			*variants = (*variants)[i : i+1]
			return plain, nil
		}
		var ie *IterationError
		var ue *UnsupportedError
		if errors.As(err, &ie) || errors.As(err, &ue) {
			return nil, err
		}
		lastErr = err
	}
	return nil, wrapf(ErrIncorrectPassword, lastErr, "incorrect password")
}

// parsePKCS8 parses a PrivateKeyInfo into a signer.
func parsePKCS8(der []byte) (crypto.Signer, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		if alg := pkcs8Algorithm(der); alg != "" {
			return nil, &UnsupportedError{Algorithm: alg}
		}
		return nil, malformed(err, "private key: %v", err)
	}
	return toSigner(k)
}

// bagContents turns opened bags into the key and the certificates, in file
// order.
func bagContents(bags []safeBag) (crypto.Signer, []*x509.Certificate, error) {
	var key crypto.Signer
	var certs []*x509.Certificate
	for _, b := range bags {
		if b.isKey {
			if key != nil {
				return nil, nil, ErrMultipleKeys
			}
			k, err := b.signer, b.keyErr
			if k == nil && err == nil {
				k, err = parsePKCS8(b.key)
			}
			if err != nil {
				return nil, nil, err
			}
			key = k
			continue
		}
		c, err := parseCertificate(b.cert)
		if err != nil {
			return nil, nil, fmt.Errorf("certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	return key, certs, nil
}
