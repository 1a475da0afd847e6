package pfx

import (
	"crypto/x509"
	"errors"
	"fmt"
)

// maxPKCS7Certificates caps the certificates of one PKCS#7 bundle; a
// Windows root program export has about 500.
const maxPKCS7Certificates = 4096

// parsePKCS7 returns the certificates of a DER PKCS#7 ContentInfo holding
// SignedData (RFC 5652), as Windows, OpenSSL (crl2pkcs7) and CAs write
// certificate bundles (.p7b, .p7c). Signatures, if any, are not verified:
// the file is only a container.
func parsePKCS7(data []byte) ([]*x509.Certificate, error) {
	certs, err := pkcs7Certificates(data)
	if err != nil {
		var we *wrapErr
		if errors.As(err, &we) {
			return nil, err
		}
		return nil, wrapf(ErrNotPFX, err, "corrupt or truncated PKCS#7 data: %v", err)
	}
	return certs, nil
}

func pkcs7Certificates(data []byte) ([]*x509.Certificate, error) {
	ci, rest, err := expect(data, tagSequence, "PKCS#7 content info")
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, errors.New("trailing data after the PKCS#7 structure")
	}
	oidBody, ci, err := expect(ci, tagOID, "PKCS#7 content type")
	if err != nil {
		return nil, err
	}
	if !parseOID(oidBody).Equal(oidSignedData) {
		return nil, fmt.Errorf("PKCS#7 content type %s is not signed data", oidName(parseOID(oidBody)))
	}
	explicit, _, err := expect(ci, tagContext0, "PKCS#7 content")
	if err != nil {
		return nil, err
	}
	sd, _, err := expect(explicit, tagSequence, "signed data")
	if err != nil {
		return nil, err
	}
	if _, sd, err = expect(sd, tagInteger, "signed data version"); err != nil {
		return nil, err
	}
	if _, sd, err = expect(sd, tagSet, "digest algorithms"); err != nil {
		return nil, err
	}
	if _, sd, err = expect(sd, tagSequence, "encapsulated content"); err != nil {
		return nil, err
	}
	if len(sd) == 0 || sd[0] != tagContext0 {
		return nil, nil // no certificates
	}
	set, _, err := expect(sd, tagContext0, "certificates")
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for len(set) > 0 {
		var tag byte
		var full []byte
		if tag, _, _, err = readTLV(set); err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(certs)+1, err)
		}
		if full, set, err = readTLVFull(set); err != nil {
			return nil, err
		}
		if tag != tagSequence {
			continue // attribute certificates and other choices
		}
		if len(certs) == maxPKCS7Certificates {
			return nil, fmt.Errorf("more than %d certificates", maxPKCS7Certificates)
		}
		c, err := parseCertificate(full)
		if err != nil {
			return nil, wrapf(ErrNotPFX, err, "certificate %d of the PKCS#7 data: %v", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	return certs, nil
}
