package pfx

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/x509"
	"sync"

	"software.sslmate.com/src/go-pkcs12"
)

// go-pkcs12's DecodeChain insists on a private key and its other decoders
// are specialised (ToPEM needs exactly two safes and known attributes,
// DecodeTrustStore needs Java's trust attribute), so a certificate-only
// PKCS#12 file cannot be read through its API directly. After DecodeChain
// has verified the original MAC (it reported "private key missing", which
// it only does after the MAC and all decryption succeeded), we add a
// throw-away unencrypted key bag to the plain part of the authenticated
// safe, re-compute the MAC over the modified safe with the same password,
// decode that with DecodeChain and discard the dummy key. The encrypted
// parts are passed through untouched, so go-pkcs12 still does all the
// decryption.

// dummyKeyPKCS8 is a fixed Ed25519 key in PKCS#8 form, made on first use:
// making it at start-up would cost every certctl command 0.7 ms.
var dummyKeyPKCS8 = sync.OnceValue(func() []byte {
	b, err := x509.MarshalPKCS8PrivateKey(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)))
	if err != nil {
		panic(err)
	}
	return b
})

// decodePKCS12CertsOnly returns the certificates of a PKCS#12 file that
// has no private key, in file order. The caller has already run
// decodePKCS12 on data (pre-scan, password check, MAC verification).
func decodePKCS12CertsOnly(data []byte, password string) ([]*x509.Certificate, error) {
	info, err := prescan(data)
	if err != nil {
		return nil, err
	}
	if !info.hasMAC {
		password = ""
	}
	// For the empty password, try the empty BMPString first, then the
	// null (zero-length) password, as go-pkcs12 does for the MAC.
	variants := [][]byte{bmpPassword(password)}
	if password == "" {
		variants = append(variants, nil)
	}
	var lastErr error
	for _, pw := range variants {
		rewritten, err := withDummyKey(data, info.hasMAC, pw)
		if err != nil {
			return nil, err
		}
		_, leaf, cas, err := pkcs12.DecodeChain(rewritten, password)
		if err == nil {
			return append([]*x509.Certificate{leaf}, cas...), nil
		}
		lastErr = mapErr(err)
	}
	return nil, lastErr
}

// bmpPassword encodes password as a zero-terminated BMPString (the caller
// has checked that it has no characters outside the BMP).
func bmpPassword(password string) []byte {
	out := make([]byte, 0, 2*len(password)+2)
	for _, r := range password {
		out = append(out, byte(r>>8), byte(r))
	}
	return append(out, 0, 0)
}

// withDummyKey rebuilds data with a dummy key bag; if mac is true the new
// file gets a SHA-1 MAC (one iteration) keyed with macPassword.
func withDummyKey(data []byte, mac bool, macPassword []byte) ([]byte, error) {
	pfxBody, _, err := expect(data, tagSequence, "PFX")
	if err != nil {
		return nil, malformed(err, "%v", err)
	}
	_, _, pfxBody, _ = readTLV(pfxBody) // version
	ci, _, _ := expect(pfxBody, tagSequence, "authSafe")
	_, _, ci, _ = readTLV(ci) // content type
	explicit, _, _ := expect(ci, tagContext0, "")
	authSafe, _, _ := expect(explicit, tagOctetString, "")
	items, _, _ := expect(authSafe, tagSequence, "")

	keyBag := der(tagSequence, der(tagOID, oidBytes(oidKeyBag)), der(tagContext0, dummyKeyPKCS8()))

	var newItems [][]byte
	added := false
	for len(items) > 0 {
		var item []byte
		_, item, items, err = readTLVFull(items)
		if err != nil {
			return nil, malformed(err, "%v", err)
		}
		if !added {
			if rebuilt, ok := addBagToData(item, keyBag); ok {
				item, added = rebuilt, true
			}
		}
		newItems = append(newItems, item)
	}
	if !added {
		newItems = append(newItems, dataContentInfo(der(tagSequence, keyBag)))
	}
	newAuthSafe := der(tagSequence, newItems...)

	out := [][]byte{
		der(tagInteger, []byte{3}),
		der(tagSequence, der(tagOID, oidBytes(oidData)), der(tagContext0, der(tagOctetString, newAuthSafe))),
	}
	if mac {
		salt := make([]byte, 8)
		key := pkcs12KDFSHA1(salt, macPassword, 1, 3, 20)
		h := hmac.New(sha1.New, key)
		h.Write(newAuthSafe)
		out = append(out, der(tagSequence,
			der(tagSequence,
				der(tagSequence, der(tagOID, oidBytes(oidSHA1)), der(tagNull)),
				der(tagOctetString, h.Sum(nil))),
			der(tagOctetString, salt),
			der(tagInteger, []byte{1})))
	}
	return der(tagSequence, out...), nil
}

// addBagToData appends bag to a plain data ContentInfo (full encoding);
// ok is false for other content types.
func addBagToData(item, bag []byte) ([]byte, bool) {
	body, _, err := expect(item, tagSequence, "")
	if err != nil {
		return nil, false
	}
	oidBody, rest, err := expect(body, tagOID, "")
	if err != nil || !parseOID(oidBody).Equal(oidData) {
		return nil, false
	}
	explicit, _, err := expect(rest, tagContext0, "")
	if err != nil {
		return nil, false
	}
	octets, _, err := expect(explicit, tagOctetString, "")
	if err != nil {
		return nil, false
	}
	bags, _, err := expect(octets, tagSequence, "")
	if err != nil {
		return nil, false
	}
	return dataContentInfo(der(tagSequence, bags, bag)), true
}

func dataContentInfo(safeContents []byte) []byte {
	return der(tagSequence, der(tagOID, oidBytes(oidData)), der(tagContext0, der(tagOctetString, safeContents)))
}

// readTLVFull is readTLV that also returns the complete encoding.
func readTLVFull(b []byte) (tag byte, full, rest []byte, err error) {
	tag, _, rest, err = readTLV(b)
	if err != nil {
		return 0, nil, nil, err
	}
	return tag, b[:len(b)-len(rest)], rest, nil
}

// der encodes a TLV whose contents are the concatenation of parts.
func der(tag byte, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := []byte{tag}
	switch {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	case n < 0x10000:
		out = append(out, 0x82, byte(n>>8), byte(n))
	case n < 0x1000000:
		out = append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		out = append(out, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// oidBytes returns the contents octets of an OID.
func oidBytes(oid []int) []byte {
	out := []byte{byte(oid[0]*40 + oid[1])}
	for _, v := range oid[2:] {
		var tmp []byte
		tmp = append(tmp, byte(v&0x7f))
		for v >>= 7; v > 0; v >>= 7 {
			tmp = append(tmp, byte(v&0x7f)|0x80)
		}
		for i := len(tmp) - 1; i >= 0; i-- {
			out = append(out, tmp[i])
		}
	}
	return out
}

// pkcs12KDFSHA1 is the PKCS#12 key derivation function (RFC 7292,
// appendix B.2) with SHA-1 (u=20, v=64 bytes).
func pkcs12KDFSHA1(salt, password []byte, iterations int, id byte, size int) []byte {
	const v = 64
	fill := func(p []byte) []byte {
		if len(p) == 0 {
			return nil
		}
		n := v * ((len(p) + v - 1) / v)
		out := make([]byte, n)
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
	for len(out) < size {
		h := sha1.New()
		h.Write(D)
		h.Write(I)
		var A [sha1.Size]byte
		h.Sum(A[:0])
		for j := 1; j < iterations; j++ {
			A = sha1.Sum(A[:]) // no allocation in the loop: it runs thousands of times
		}
		out = append(out, A[:]...)
		if len(out) >= size {
			break
		}
		B := fill(A[:])[:v]
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
