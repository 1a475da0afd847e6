//go:build windows

package certstore

// The key blob formats of the Windows store: what a key looks like when it
// goes into CryptoAPI (CryptImportKey) or CNG (NCryptImportKey) and when it
// comes back out through an export. They are plain byte layouts, so they
// are tested under Wine with the rest of the Windows backend.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
)

const (
	// CryptoAPI, wincrypt.h.
	publicKeyBlob   = 0x6        // PUBLICKEYBLOB
	privateKeyBlob  = 0x7        // PRIVATEKEYBLOB
	curBlobVersion  = 2          // CUR_BLOB_VERSION
	calgRSAKeyX     = 0x0000a400 // CALG_RSA_KEYX
	calgRSASign     = 0x00002400 // CALG_RSA_SIGN
	rsa1Magic       = 0x31415352 // "RSA1", RSAPUBKEY.magic of a public key
	rsa2Magic       = 0x32415352 // "RSA2", RSAPUBKEY.magic of a private key
	capiBlobHeadLen = 8 + 12     // sizeof(BLOBHEADER) + sizeof(RSAPUBKEY)

	// CNG, bcrypt.h.
	bcryptRSAPublicMagic      = 0x31415352 // BCRYPT_RSAPUBLIC_MAGIC, "RSA1"
	bcryptRSAFullPrivateMagic = 0x33415352 // BCRYPT_RSAFULLPRIVATE_MAGIC, "RSA3"
	bcryptECDSAPublicP256     = 0x31534345 // BCRYPT_ECDSA_PUBLIC_P256_MAGIC, "ECS1"
	bcryptECDSAPublicP384     = 0x33534345 // BCRYPT_ECDSA_PUBLIC_P384_MAGIC, "ECS3"
	bcryptECDSAPublicP521     = 0x35534345 // BCRYPT_ECDSA_PUBLIC_P521_MAGIC, "ECS5"
	bcryptECDSAPrivateP256    = 0x32534345 // BCRYPT_ECDSA_PRIVATE_P256_MAGIC, "ECS2"
	bcryptECDSAPrivateP384    = 0x34534345 // BCRYPT_ECDSA_PRIVATE_P384_MAGIC, "ECS4"
	bcryptECDSAPrivateP521    = 0x36534345 // BCRYPT_ECDSA_PRIVATE_P521_MAGIC, "ECS6"
)

// errBadBlob is matched by the errors of the blob parsers.
var errBadBlob = errors.New("malformed key blob")

// leBytes writes x little-endian into exactly n bytes, as CryptoAPI blobs
// hold their numbers.
func leBytes(x *big.Int, n int) ([]byte, error) {
	be := x.Bytes()
	if len(be) > n {
		return nil, fmt.Errorf("number of %d bytes does not fit in %d", len(be), n)
	}
	out := make([]byte, n)
	for i, b := range be {
		out[len(be)-1-i] = b
	}
	return out, nil
}

// fromLE reads a little-endian number.
func fromLE(b []byte) *big.Int { return new(big.Int).SetBytes(reversed(b)) }

// reversed returns b in the opposite byte order, as a new slice.
func reversed(b []byte) []byte {
	out := make([]byte, len(b))
	for i, v := range b {
		out[len(b)-1-i] = v
	}
	return out
}

// capiRSAPrivateBlob lays out k as a CryptoAPI PRIVATEKEYBLOB for an
// AT_KEYEXCHANGE key (CALG_RSA_KEYX), which both signs and decrypts as the
// keys of Windows' own PFX import do:
//
//	BLOBHEADER {bType, bVersion, reserved, aiKeyAlg}
//	RSAPUBKEY  {magic "RSA2", bitlen, pubexp}
//	modulus[bitlen/8] prime1[bitlen/16] prime2[bitlen/16]
//	exponent1[bitlen/16] exponent2[bitlen/16] coefficient[bitlen/16]
//	privateExponent[bitlen/8]
//
// with every number little-endian. The caller should clear the blob after
// use.
func capiRSAPrivateBlob(k *rsa.PrivateKey) ([]byte, error) {
	if len(k.Primes) != 2 {
		return nil, fmt.Errorf("RSA key with %d primes: CryptoAPI takes only two-prime keys", len(k.Primes))
	}
	if k.E <= 0 || uint64(k.E) > 0xFFFFFFFF {
		return nil, fmt.Errorf("RSA public exponent %d does not fit CryptoAPI's 32 bits", k.E)
	}
	k.Precompute()
	bits := k.N.BitLen()
	full, half := (bits+7)/8, (bits+15)/16
	blob := make([]byte, capiBlobHeadLen, capiBlobHeadLen+full*2+half*5)
	blob[0] = privateKeyBlob
	blob[1] = curBlobVersion
	binary.LittleEndian.PutUint32(blob[4:], calgRSAKeyX)
	binary.LittleEndian.PutUint32(blob[8:], rsa2Magic)
	binary.LittleEndian.PutUint32(blob[12:], uint32(bits))
	binary.LittleEndian.PutUint32(blob[16:], uint32(k.E))
	p, q := k.Primes[0], k.Primes[1]
	for _, part := range []struct {
		x *big.Int
		n int
	}{
		{k.N, full},
		{p, half},
		{q, half},
		{k.Precomputed.Dp, half},
		{k.Precomputed.Dq, half},
		{k.Precomputed.Qinv, half},
		{k.D, full},
	} {
		le, err := leBytes(part.x, part.n)
		if err != nil {
			return nil, fmt.Errorf("RSA key does not fit a PRIVATEKEYBLOB: %w", err)
		}
		blob = append(blob, le...)
	}
	return blob, nil
}

// parseCAPIRSAPrivateBlob reads a PRIVATEKEYBLOB, as CryptExportKey writes
// it, back into a key, and checks the key.
func parseCAPIRSAPrivateBlob(blob []byte) (*rsa.PrivateKey, error) {
	if len(blob) < capiBlobHeadLen || blob[0] != privateKeyBlob {
		return nil, fmt.Errorf("%w: not a PRIVATEKEYBLOB", errBadBlob)
	}
	if magic := binary.LittleEndian.Uint32(blob[8:]); magic != rsa2Magic {
		return nil, fmt.Errorf("%w: RSAPUBKEY magic 0x%08X, want \"RSA2\"", errBadBlob, magic)
	}
	bits := int(binary.LittleEndian.Uint32(blob[12:]))
	e := binary.LittleEndian.Uint32(blob[16:])
	full, half := (bits+7)/8, (bits+15)/16
	if bits < 512 || bits > 16384 || len(blob) < capiBlobHeadLen+full*2+half*5 {
		return nil, fmt.Errorf("%w: %d bytes for a %d-bit key", errBadBlob, len(blob), bits)
	}
	rest := blob[capiBlobHeadLen:]
	next := func(n int) *big.Int {
		x := fromLE(rest[:n])
		rest = rest[n:]
		return x
	}
	n, p, q := next(full), next(half), next(half)
	next(half) // exponent1, exponent2 and the coefficient are
	next(half) // recomputed from the primes by Precompute.
	next(half)
	d := next(full)
	return checkedRSAKey(n, int(e), d, p, q)
}

// checkedRSAKey assembles a two-prime RSA key and validates it.
func checkedRSAKey(n *big.Int, e int, d, p, q *big.Int) (*rsa.PrivateKey, error) {
	k := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: n, E: e},
		D:         d,
		Primes:    []*big.Int{p, q},
	}
	if err := k.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadBlob, err)
	}
	k.Precompute()
	return k, nil
}

// parseBCryptRSAFullPrivateBlob reads a BCRYPT_RSAFULLPRIVATE_BLOB, as
// NCryptExportKey writes an RSA key of a CNG provider:
//
//	BCRYPT_RSAKEY_BLOB {Magic "RSA3", BitLength, cbPublicExp, cbModulus, cbPrime1, cbPrime2}
//	PublicExponent Modulus Prime1 Prime2 Exponent1 Exponent2 Coefficient PrivateExponent
//
// with every number big-endian; the last five parts have cbPrime1 bytes and
// the private exponent cbModulus bytes.
func parseBCryptRSAFullPrivateBlob(blob []byte) (*rsa.PrivateKey, error) {
	const head = 6 * 4
	if len(blob) < head {
		return nil, fmt.Errorf("%w: too short for a BCRYPT_RSAKEY_BLOB", errBadBlob)
	}
	le := binary.LittleEndian
	if magic := le.Uint32(blob); magic != bcryptRSAFullPrivateMagic {
		return nil, fmt.Errorf("%w: magic 0x%08X, want \"RSA3\"", errBadBlob, magic)
	}
	cbExp, cbMod := int(le.Uint32(blob[8:])), int(le.Uint32(blob[12:]))
	cbP, cbQ := int(le.Uint32(blob[16:])), int(le.Uint32(blob[20:]))
	if cbExp > 8 || cbMod > 2048 || cbP > 1024 || cbQ > 1024 ||
		len(blob) != head+cbExp+cbMod*2+cbP*3+cbQ*2 {
		return nil, fmt.Errorf("%w: sizes do not add up to %d bytes", errBadBlob, len(blob))
	}
	rest := blob[head:]
	next := func(n int) *big.Int {
		x := new(big.Int).SetBytes(rest[:n])
		rest = rest[n:]
		return x
	}
	e := next(cbExp)
	n, p, q := next(cbMod), next(cbP), next(cbQ)
	next(cbP) // exponent1, exponent2 and the coefficient are
	next(cbQ) // recomputed from the primes by Precompute.
	next(cbP)
	d := next(cbMod)
	if !e.IsInt64() || e.Int64() > 0x7FFFFFFF {
		return nil, fmt.Errorf("%w: public exponent too large", errBadBlob)
	}
	return checkedRSAKey(n, int(e.Int64()), d, p, q)
}

// eccCurve maps a curve to the CNG private blob magic and its coordinate
// size.
func eccCurve(c elliptic.Curve) (magic uint32, size int, ok bool) {
	switch c {
	case elliptic.P256():
		return bcryptECDSAPrivateP256, 32, true
	case elliptic.P384():
		return bcryptECDSAPrivateP384, 48, true
	case elliptic.P521():
		return bcryptECDSAPrivateP521, 66, true
	}
	return 0, 0, false
}

// bcryptECCPrivateBlob lays out k as a BCRYPT_ECCPRIVATE_BLOB for an ECDSA
// key of a CNG provider:
//
//	BCRYPT_ECCKEY_BLOB {dwMagic, cbKey}  X[cbKey] Y[cbKey] d[cbKey]
//
// with every number big-endian. The caller should clear the blob after use.
func bcryptECCPrivateBlob(k *ecdsa.PrivateKey) ([]byte, error) {
	magic, size, ok := eccCurve(k.Curve)
	if !ok {
		return nil, fmt.Errorf("ECDSA curve %s: Windows takes P-256, P-384 and P-521", k.Curve.Params().Name)
	}
	pub, err := k.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		return nil, err
	}
	d, err := k.Bytes()
	if err != nil {
		return nil, err
	}
	if len(pub) != 1+2*size || len(d) != size {
		return nil, fmt.Errorf("ECDSA key of unexpected size for %s", k.Curve.Params().Name)
	}
	blob := make([]byte, 8, 8+3*size)
	binary.LittleEndian.PutUint32(blob, magic)
	binary.LittleEndian.PutUint32(blob[4:], uint32(size))
	blob = append(blob, pub[1:]...)
	blob = append(blob, d...)
	clear(d)
	return blob, nil
}

// parseBCryptECCPrivateBlob reads a BCRYPT_ECCPRIVATE_BLOB back into a key
// and checks that its public point belongs to its private scalar.
func parseBCryptECCPrivateBlob(blob []byte) (*ecdsa.PrivateKey, error) {
	if len(blob) < 8 {
		return nil, fmt.Errorf("%w: too short for a BCRYPT_ECCKEY_BLOB", errBadBlob)
	}
	magic := binary.LittleEndian.Uint32(blob)
	size := int(binary.LittleEndian.Uint32(blob[4:]))
	var curve elliptic.Curve
	for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		if m, n, _ := eccCurve(c); m == magic && n == size {
			curve = c
		}
	}
	if curve == nil {
		return nil, fmt.Errorf("%w: magic 0x%08X with %d-byte coordinates is no ECDSA private key of P-256, P-384 or P-521", errBadBlob, magic, size)
	}
	if len(blob) != 8+3*size {
		return nil, fmt.Errorf("%w: %d bytes, want %d", errBadBlob, len(blob), 8+3*size)
	}
	k, err := ecdsa.ParseRawPrivateKey(curve, blob[8+2*size:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadBlob, err)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, append([]byte{4}, blob[8:8+2*size]...))
	if err != nil || !pub.Equal(&k.PublicKey) {
		return nil, fmt.Errorf("%w: public point does not match the private key", errBadBlob)
	}
	return k, nil
}

// The public blobs below are what a key generated inside a provider is read
// back as, to certify it: CryptExportKey's PUBLICKEYBLOB and NCryptExportKey's
// BCRYPT_RSAPUBLIC_BLOB and BCRYPT_ECCPUBLIC_BLOB.

// minRSABits and maxRSABits bound the RSA keys the parsers accept: what the
// Microsoft providers make.
const minRSABits, maxRSABits = 512, 16384

// checkedRSAPublicKey assembles an RSA public key and checks that it is one
// of bits bits with a usable exponent.
func checkedRSAPublicKey(n *big.Int, e uint64, bits int) (*rsa.PublicKey, error) {
	if n.BitLen() != bits {
		return nil, fmt.Errorf("%w: a modulus of %d bits where %d are announced", errBadBlob, n.BitLen(), bits)
	}
	if n.Bit(0) == 0 {
		return nil, fmt.Errorf("%w: even modulus", errBadBlob)
	}
	if e < 3 || e > 0x7FFFFFFF || e%2 == 0 {
		return nil, fmt.Errorf("%w: public exponent %d", errBadBlob, e)
	}
	return &rsa.PublicKey{N: n, E: int(e)}, nil
}

// parseCAPIRSAPublicBlob reads a PUBLICKEYBLOB of an RSA key, as
// CryptExportKey writes it:
//
//	BLOBHEADER {bType, bVersion, reserved, aiKeyAlg}
//	RSAPUBKEY  {magic "RSA1", bitlen, pubexp}
//	modulus[bitlen/8]
//
// with the modulus little-endian.
func parseCAPIRSAPublicBlob(blob []byte) (*rsa.PublicKey, error) {
	if len(blob) < capiBlobHeadLen || blob[0] != publicKeyBlob {
		return nil, fmt.Errorf("%w: not a PUBLICKEYBLOB", errBadBlob)
	}
	le := binary.LittleEndian
	if alg := le.Uint32(blob[4:]); alg != calgRSAKeyX && alg != calgRSASign {
		return nil, fmt.Errorf("%w: algorithm 0x%08X is not RSA", errBadBlob, alg)
	}
	if magic := le.Uint32(blob[8:]); magic != rsa1Magic {
		return nil, fmt.Errorf("%w: RSAPUBKEY magic 0x%08X, want \"RSA1\"", errBadBlob, magic)
	}
	bits := int(le.Uint32(blob[12:]))
	full := (bits + 7) / 8
	if bits < minRSABits || bits > maxRSABits || len(blob) != capiBlobHeadLen+full {
		return nil, fmt.Errorf("%w: %d bytes for a %d-bit public key", errBadBlob, len(blob), bits)
	}
	return checkedRSAPublicKey(fromLE(blob[capiBlobHeadLen:]), uint64(le.Uint32(blob[16:])), bits)
}

// parseBCryptRSAPublicBlob reads a BCRYPT_RSAPUBLIC_BLOB, as NCryptExportKey
// writes the public half of an RSA key:
//
//	BCRYPT_RSAKEY_BLOB {Magic "RSA1", BitLength, cbPublicExp, cbModulus, cbPrime1, cbPrime2}
//	PublicExponent[cbPublicExp] Modulus[cbModulus]
//
// with both numbers big-endian; cbPrime1 and cbPrime2 are 0.
func parseBCryptRSAPublicBlob(blob []byte) (*rsa.PublicKey, error) {
	const head = 6 * 4
	if len(blob) < head {
		return nil, fmt.Errorf("%w: too short for a BCRYPT_RSAKEY_BLOB", errBadBlob)
	}
	le := binary.LittleEndian
	if magic := le.Uint32(blob); magic != bcryptRSAPublicMagic {
		return nil, fmt.Errorf("%w: magic 0x%08X, want \"RSA1\"", errBadBlob, magic)
	}
	bits := int(le.Uint32(blob[4:]))
	cbExp, cbMod := int(le.Uint32(blob[8:])), int(le.Uint32(blob[12:]))
	if bits < minRSABits || bits > maxRSABits || cbExp < 1 || cbExp > 8 || cbMod != (bits+7)/8 ||
		le.Uint32(blob[16:]) != 0 || le.Uint32(blob[20:]) != 0 || len(blob) != head+cbExp+cbMod {
		return nil, fmt.Errorf("%w: sizes do not add up to a %d-bit public key in %d bytes", errBadBlob, bits, len(blob))
	}
	e := new(big.Int).SetBytes(blob[head : head+cbExp])
	if !e.IsUint64() {
		return nil, fmt.Errorf("%w: public exponent too large", errBadBlob)
	}
	return checkedRSAPublicKey(new(big.Int).SetBytes(blob[head+cbExp:]), e.Uint64(), bits)
}

// parseBCryptECCPublicBlob reads a BCRYPT_ECCPUBLIC_BLOB of an ECDSA key, as
// NCryptExportKey writes the public half of one:
//
//	BCRYPT_ECCKEY_BLOB {dwMagic, cbKey}  X[cbKey] Y[cbKey]
//
// with both coordinates big-endian, and checks that the point is on the
// curve.
func parseBCryptECCPublicBlob(blob []byte) (*ecdsa.PublicKey, error) {
	if len(blob) < 8 {
		return nil, fmt.Errorf("%w: too short for a BCRYPT_ECCKEY_BLOB", errBadBlob)
	}
	magic := binary.LittleEndian.Uint32(blob)
	size := int(binary.LittleEndian.Uint32(blob[4:]))
	var curve elliptic.Curve
	for _, c := range []struct {
		magic uint32
		curve elliptic.Curve
	}{
		{bcryptECDSAPublicP256, elliptic.P256()},
		{bcryptECDSAPublicP384, elliptic.P384()},
		{bcryptECDSAPublicP521, elliptic.P521()},
	} {
		if _, n, _ := eccCurve(c.curve); c.magic == magic && n == size {
			curve = c.curve
		}
	}
	if curve == nil {
		return nil, fmt.Errorf("%w: magic 0x%08X with %d-byte coordinates is no ECDSA public key of P-256, P-384 or P-521", errBadBlob, magic, size)
	}
	if len(blob) != 8+2*size {
		return nil, fmt.Errorf("%w: %d bytes, want %d", errBadBlob, len(blob), 8+2*size)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, append([]byte{4}, blob[8:]...))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadBlob, err)
	}
	return pub, nil
}
