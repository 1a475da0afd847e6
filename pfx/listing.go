package pfx

import (
	"bytes"
	"crypto/x509"
	"errors"
)

// This file reads the certificates of a PKCS#12 file for listing a store,
// where the MAC is checked by whatever uses the key: it decrypts only the
// safes that hold certificates. It neither verifies the MAC nor decrypts
// (or parses) the private key, which saves two of the three key derivations
// of a store file and the parsing of the key.

// ErrListUnsupported means ReadStoreCertificates cannot read the file
// without the full decoder: a layout where only the key tells the leaf
// apart, a certificate safe that does not decrypt, input that is not
// PKCS#12 and the like. Decode the file with Read instead; it gives the
// definitive answer or error.
var ErrListUnsupported = errors.New("pkcs12 file cannot be listed without decoding its key")

// listUnsupported returns an error matching ErrListUnsupported (and cause,
// when not nil).
func listUnsupported(cause error, format string, args ...any) error {
	return wrapf(ErrListUnsupported, cause, "cannot list without decoding the key: "+format, args...)
}

// ReadStoreCertificates returns the certificates of a PKCS#12 file without
// verifying its MAC and without decrypting its private key: only the
// certificate safes are decrypted. It is meant for listing a store, where
// what it returns is cached and anything that uses the key decodes the file
// again with Read, which verifies the MAC.
//
// hasKey reports whether the file has a key bag (plain or shrouded); the key
// itself is not checked. The leaf is the certificate whose localKeyId
// attribute matches the key bag's or, in a file without a key, the first
// certificate; chain holds the other certificates in file order.
//
// The input goes through the same structure walk as Read (size, BER,
// iteration limits), whose errors it returns as they are. Any other file it
// cannot read fails with an error matching ErrListUnsupported; callers then
// fall back to Read.
func ReadStoreCertificates(data []byte, password string) (leaf *x509.Certificate, chain []*x509.Certificate, hasKey bool, err error) {
	kind, data, err := sniff(data)
	if err != nil {
		return nil, nil, false, err
	}
	if kind != FormatPKCS12 {
		return nil, nil, false, listUnsupported(nil, "not a PKCS#12 file")
	}
	f, err := parsePFX(data)
	if err != nil {
		return nil, nil, false, err
	}
	bags, err := f.open(password, openOptions{})
	if err != nil {
		return nil, nil, false, listUnsupported(err, "%v", err)
	}
	return pickCertificates(bags)
}

// pickCertificates parses the certificates and finds the leaf: the
// certificate whose localKeyId matches the key's, or, with no key, the
// first. When only the key could tell which certificate is the leaf (no
// localKeyId, or the one it names issued another certificate in the file)
// it gives up with ErrListUnsupported.
func pickCertificates(bags []safeBag) (*x509.Certificate, []*x509.Certificate, bool, error) {
	var keyID []byte
	keys, certs := 0, 0
	for _, b := range bags {
		if b.isKey {
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
			if b.isKey {
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
		if b.isKey {
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
