//go:build windows

package certstore

// What a crypto.Signer over a Windows key has to translate: Go's signing
// options into the hash and padding that CryptoAPI and CNG take, and their
// signatures into Go's encoding. Plain data, so it lives in an untagged file
// and is tested on every platform.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
)

// signRequest is what one Sign call asks for.
type signRequest struct {
	hash crypto.Hash
	// pss is set for RSA-PSS, with the salt length in bytes.
	pss     bool
	saltLen int
}

// newSignRequest checks a Sign call for the public key pub and resolves
// Go's salt length constants.
func newSignRequest(pub crypto.PublicKey, digest []byte, opts crypto.SignerOpts) (signRequest, error) {
	if opts == nil {
		return signRequest{}, errors.New("no hash given (crypto.SignerOpts is nil)")
	}
	req := signRequest{hash: opts.HashFunc()}
	if req.hash == 0 {
		return signRequest{}, errors.New("the Windows key storage providers sign only digests; unhashed input is not supported")
	}
	if req.hash.Size() != len(digest) {
		return signRequest{}, fmt.Errorf("digest is %d bytes, %v needs %d", len(digest), req.hash, req.hash.Size())
	}
	pssOpts, isPSS := opts.(*rsa.PSSOptions)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if !isPSS {
			return req, nil
		}
		req.pss = true
		// The largest salt that fits: emLen - hLen - 2, as rsa.SignPSS
		// uses for PSSSaltLengthAuto.
		max := (k.N.BitLen()-1+7)/8 - 2 - req.hash.Size()
		switch s := pssOpts.SaltLength; {
		case s == rsa.PSSSaltLengthAuto:
			req.saltLen = max
		case s == rsa.PSSSaltLengthEqualsHash:
			req.saltLen = req.hash.Size()
		case s > 0 && s <= max:
			req.saltLen = s
		default:
			return signRequest{}, fmt.Errorf("PSS salt length %d does not fit a %d-bit key", s, k.N.BitLen())
		}
		return req, nil
	case *ecdsa.PublicKey:
		return req, nil // only the hash counts, as for Go's own ECDSA keys
	default:
		return signRequest{}, fmt.Errorf("unsupported key type %T", pub)
	}
}

// capiHashAlg is the CryptoAPI ALG_ID of a hash, for CryptCreateHash.
func capiHashAlg(h crypto.Hash) (uint32, bool) {
	switch h {
	case crypto.SHA1:
		return 0x8004, true // CALG_SHA1
	case crypto.SHA256:
		return 0x800c, true // CALG_SHA_256
	case crypto.SHA384:
		return 0x800d, true // CALG_SHA_384
	case crypto.SHA512:
		return 0x800e, true // CALG_SHA_512
	}
	return 0, false
}

// cngHashAlg is the CNG algorithm name of a hash, for the pszAlgId of the
// padding info.
func cngHashAlg(h crypto.Hash) (string, bool) {
	switch h {
	case crypto.SHA1:
		return "SHA1", true // BCRYPT_SHA1_ALGORITHM
	case crypto.SHA256:
		return "SHA256", true // BCRYPT_SHA256_ALGORITHM
	case crypto.SHA384:
		return "SHA384", true // BCRYPT_SHA384_ALGORITHM
	case crypto.SHA512:
		return "SHA512", true // BCRYPT_SHA512_ALGORITHM
	}
	return "", false
}

// bcryptPKCS1PaddingInfo is BCRYPT_PKCS1_PADDING_INFO.
type bcryptPKCS1PaddingInfo struct {
	algID *uint16 // pszAlgId
}

// bcryptPSSPaddingInfo is BCRYPT_PSS_PADDING_INFO.
type bcryptPSSPaddingInfo struct {
	algID   *uint16 // pszAlgId
	saltLen uint32  // cbSalt
}

// ecdsaRawToASN1 turns the r||s signature of CNG, two big-endian numbers of
// the curve's size, into the ASN.1 SEQUENCE { r, s } that Go and X.509 use.
func ecdsaRawToASN1(raw []byte, pub *ecdsa.PublicKey) ([]byte, error) {
	size := (pub.Curve.Params().BitSize + 7) / 8
	if len(raw) != 2*size {
		return nil, fmt.Errorf("ECDSA signature of %d bytes, want %d for %s", len(raw), 2*size, pub.Curve.Params().Name)
	}
	r := new(big.Int).SetBytes(raw[:size])
	s := new(big.Int).SetBytes(raw[size:])
	if r.Sign() == 0 || s.Sign() == 0 {
		return nil, errors.New("ECDSA signature with a zero component")
	}
	return asn1.Marshal(struct{ R, S *big.Int }{r, s})
}
