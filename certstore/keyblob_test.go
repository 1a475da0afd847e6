//go:build windows

package certstore

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pad returns x big-endian in exactly n bytes.
func pad(x *big.Int, n int) []byte { return x.FillBytes(make([]byte, n)) }

func TestCAPIRSAPrivateBlob(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	blob, err := capiRSAPrivateBlob(k)
	require.NoError(t, err)

	// BLOBHEADER and RSAPUBKEY, as wincrypt.h lays them out.
	assert.Equal(t, []byte{0x07, 0x02, 0x00, 0x00, 0x00, 0xa4, 0x00, 0x00}, blob[:8], "PRIVATEKEYBLOB, CUR_BLOB_VERSION, CALG_RSA_KEYX")
	assert.Equal(t, "RSA2", string(blob[8:12]))
	assert.Equal(t, uint32(2048), binary.LittleEndian.Uint32(blob[12:]))
	assert.Equal(t, uint32(65537), binary.LittleEndian.Uint32(blob[16:]))
	require.Len(t, blob, 20+256*2+128*5)

	// Each part little-endian, in order.
	parts := [][]byte{
		pad(k.N, 256), pad(k.Primes[0], 128), pad(k.Primes[1], 128),
		pad(k.Precomputed.Dp, 128), pad(k.Precomputed.Dq, 128), pad(k.Precomputed.Qinv, 128),
		pad(k.D, 256),
	}
	off := 20
	for i, p := range parts {
		assert.Equal(t, reversed(p), blob[off:off+len(p)], "part %d", i)
		off += len(p)
	}

	back, err := parseCAPIRSAPrivateBlob(blob)
	require.NoError(t, err)
	assert.True(t, k.Equal(back))
}

func TestCAPIRSAPrivateBlobRefuses(t *testing.T) {
	//lint:ignore SA1019 a three-prime key is what this test needs: one CryptoAPI cannot take
	k, err := rsa.GenerateMultiPrimeKey(rand.Reader, 3, 1024)
	require.NoError(t, err)
	_, err = capiRSAPrivateBlob(k)
	assert.ErrorContains(t, err, "3 primes")

	k, err = rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	blob, err := capiRSAPrivateBlob(k)
	require.NoError(t, err)

	for name, mutate := range map[string]func(b []byte) []byte{
		"short":       func(b []byte) []byte { return b[:len(b)-1] },
		"public blob": func(b []byte) []byte { b[0] = 0x06; return b },
		"magic RSA1":  func(b []byte) []byte { b[11] = '1'; return b },
		"bad prime":   func(b []byte) []byte { b[20+128] ^= 1; return b },
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseCAPIRSAPrivateBlob(mutate(append([]byte(nil), blob...)))
			assert.True(t, errors.Is(err, errBadBlob), "%v", err)
		})
	}
}

// rsaFullPrivateBlob lays out BCRYPT_RSAFULLPRIVATE_BLOB as bcrypt.h
// describes it, independently of the parser under test.
func rsaFullPrivateBlob(k *rsa.PrivateKey) []byte {
	k.Precompute()
	mod, half := (k.N.BitLen()+7)/8, (k.N.BitLen()+15)/16
	e := big.NewInt(int64(k.E)).Bytes()
	b := binary.LittleEndian.AppendUint32(nil, 0x33415352) // "RSA3"
	for _, v := range []int{k.N.BitLen(), len(e), mod, half, half} {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	b = append(b, e...)
	for _, p := range [][]byte{
		pad(k.N, mod), pad(k.Primes[0], half), pad(k.Primes[1], half),
		pad(k.Precomputed.Dp, half), pad(k.Precomputed.Dq, half), pad(k.Precomputed.Qinv, half),
		pad(k.D, mod),
	} {
		b = append(b, p...)
	}
	return b
}

func TestParseBCryptRSAFullPrivateBlob(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	blob := rsaFullPrivateBlob(k)
	assert.Equal(t, "RSA3", string(blob[:4]))
	back, err := parseBCryptRSAFullPrivateBlob(blob)
	require.NoError(t, err)
	assert.True(t, k.Equal(back))

	_, err = parseBCryptRSAFullPrivateBlob(blob[:len(blob)-1])
	assert.True(t, errors.Is(err, errBadBlob), "%v", err)
	bad := append([]byte(nil), blob...)
	bad[len(bad)-1] ^= 1 // private exponent
	_, err = parseBCryptRSAFullPrivateBlob(bad)
	assert.True(t, errors.Is(err, errBadBlob), "%v", err)
}

func TestBCryptECCPrivateBlob(t *testing.T) {
	for _, tc := range []struct {
		curve elliptic.Curve
		magic string
		size  int
	}{
		{elliptic.P256(), "ECS2", 32},
		{elliptic.P384(), "ECS4", 48},
		{elliptic.P521(), "ECS6", 66},
	} {
		t.Run(tc.curve.Params().Name, func(t *testing.T) {
			k, err := ecdsa.GenerateKey(tc.curve, rand.Reader)
			require.NoError(t, err)
			blob, err := bcryptECCPrivateBlob(k)
			require.NoError(t, err)
			assert.Equal(t, tc.magic, string(blob[:4]))
			assert.Equal(t, uint32(tc.size), binary.LittleEndian.Uint32(blob[4:]))
			require.Len(t, blob, 8+3*tc.size)
			pub, err := k.PublicKey.Bytes()
			require.NoError(t, err)
			d, err := k.Bytes()
			require.NoError(t, err)
			assert.Equal(t, pub[1:], blob[8:8+2*tc.size], "X || Y")
			assert.Equal(t, d, blob[8+2*tc.size:], "d")

			back, err := parseBCryptECCPrivateBlob(blob)
			require.NoError(t, err)
			assert.True(t, k.Equal(back))

			other, err := ecdsa.GenerateKey(tc.curve, rand.Reader)
			require.NoError(t, err)
			otherBlob, err := bcryptECCPrivateBlob(other)
			require.NoError(t, err)
			copy(blob[8+2*tc.size:], otherBlob[8+2*tc.size:]) // d of another key
			_, err = parseBCryptECCPrivateBlob(blob)
			assert.True(t, errors.Is(err, errBadBlob), "%v", err)
		})
	}

	k, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	require.NoError(t, err)
	_, err = bcryptECCPrivateBlob(k)
	assert.ErrorContains(t, err, "P-224")
}

func TestReversed(t *testing.T) {
	assert.Equal(t, []byte{3, 2, 1}, reversed([]byte{1, 2, 3}))
	assert.Equal(t, []byte{}, reversed([]byte{}))
	le, err := leBytes(big.NewInt(0x0102), 4)
	require.NoError(t, err)
	assert.Equal(t, []byte{2, 1, 0, 0}, le)
	assert.Equal(t, int64(0x0102), fromLE(le).Int64())
	_, err = leBytes(big.NewInt(0x010203), 2)
	assert.Error(t, err)
}

// capiRSAPublicBlob lays out a PUBLICKEYBLOB as wincrypt.h describes it,
// independently of the parser under test.
func capiRSAPublicBlob(k *rsa.PublicKey, alg uint32) []byte {
	b := []byte{0x06, 0x02, 0x00, 0x00}
	b = binary.LittleEndian.AppendUint32(b, alg)
	b = append(b, "RSA1"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(k.N.BitLen()))
	b = binary.LittleEndian.AppendUint32(b, uint32(k.E))
	return append(b, reversed(pad(k.N, (k.N.BitLen()+7)/8))...)
}

func TestParseCAPIRSAPublicBlob(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	for _, alg := range []uint32{0xa400, 0x2400} { // CALG_RSA_KEYX, CALG_RSA_SIGN
		back, err := parseCAPIRSAPublicBlob(capiRSAPublicBlob(&k.PublicKey, alg))
		require.NoError(t, err)
		assert.True(t, k.PublicKey.Equal(back))
	}

	blob := capiRSAPublicBlob(&k.PublicKey, 0xa400)
	require.Len(t, blob, 20+256)
	for name, mutate := range map[string]func(b []byte) []byte{
		"short":          func(b []byte) []byte { return b[:len(b)-1] },
		"long":           func(b []byte) []byte { return append(b, 0) },
		"header only":    func(b []byte) []byte { return b[:20] },
		"private blob":   func(b []byte) []byte { b[0] = 0x07; return b },
		"magic RSA2":     func(b []byte) []byte { b[11] = '2'; return b },
		"DSA":            func(b []byte) []byte { b[5] = 0x22; return b }, // CALG_DSS_SIGN
		"bit length":     func(b []byte) []byte { b[12] = 1; return b },   // 2049
		"even exponent":  func(b []byte) []byte { b[16] = 0; return b },   // 65536
		"small modulus":  func(b []byte) []byte { b[len(b)-1] = 0; return b },
		"even modulus":   func(b []byte) []byte { b[20] &^= 1; return b },
		"empty":          func(b []byte) []byte { return nil },
		"zero bit count": func(b []byte) []byte { b[12], b[13] = 0, 0; return b },
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseCAPIRSAPublicBlob(mutate(append([]byte(nil), blob...)))
			assert.True(t, errors.Is(err, errBadBlob), "%v", err)
		})
	}
}

// rsaPublicBlob lays out BCRYPT_RSAPUBLIC_BLOB as bcrypt.h describes it,
// independently of the parser under test.
func rsaPublicBlob(k *rsa.PublicKey) []byte {
	mod := (k.N.BitLen() + 7) / 8
	e := big.NewInt(int64(k.E)).Bytes()
	b := binary.LittleEndian.AppendUint32(nil, 0x31415352) // "RSA1"
	for _, v := range []int{k.N.BitLen(), len(e), mod, 0, 0} {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	b = append(b, e...)
	return append(b, pad(k.N, mod)...)
}

func TestParseBCryptRSAPublicBlob(t *testing.T) {
	for _, bits := range []int{2048, 3072} {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		require.NoError(t, err)
		blob := rsaPublicBlob(&k.PublicKey)
		assert.Equal(t, "RSA1", string(blob[:4]))
		require.Len(t, blob, 24+3+bits/8)
		back, err := parseBCryptRSAPublicBlob(blob)
		require.NoError(t, err)
		assert.True(t, k.PublicKey.Equal(back))
	}

	// What Wine 8's NCryptExportKey wrote for a 2048-bit key, up to the
	// modulus: "RSA1", 2048 bits, a 3-byte exponent, a 256-byte modulus.
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	blob := rsaPublicBlob(&k.PublicKey)
	head, err := hex.DecodeString("525341310008000003000000000100000000000000000000010001")
	require.NoError(t, err)
	assert.Equal(t, head, blob[:len(head)])

	for name, mutate := range map[string]func(b []byte) []byte{
		"short":         func(b []byte) []byte { return b[:len(b)-1] },
		"long":          func(b []byte) []byte { return append(b, 0) },
		"header only":   func(b []byte) []byte { return b[:24] },
		"empty":         func(b []byte) []byte { return nil },
		"private magic": func(b []byte) []byte { b[3] = '3'; return b },
		"primes":        func(b []byte) []byte { b[16] = 128; return b },
		"bit length":    func(b []byte) []byte { b[4] = 1; return b }, // 2049
		"exponent size": func(b []byte) []byte { b[8] = 9; return b },
		"even exponent": func(b []byte) []byte { b[24+2] = 0; return b }, // 0x010000
		"small modulus": func(b []byte) []byte { b[24+3] = 0; return b },
		"even modulus":  func(b []byte) []byte { b[len(b)-1] &^= 1; return b },
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseBCryptRSAPublicBlob(mutate(append([]byte(nil), blob...)))
			assert.True(t, errors.Is(err, errBadBlob), "%v", err)
		})
	}
}

func TestParseBCryptECCPublicBlob(t *testing.T) {
	for _, tc := range []struct {
		curve elliptic.Curve
		magic string
		size  int
	}{
		{elliptic.P256(), "ECS1", 32},
		{elliptic.P384(), "ECS3", 48},
		{elliptic.P521(), "ECS5", 66},
	} {
		t.Run(tc.curve.Params().Name, func(t *testing.T) {
			k, err := ecdsa.GenerateKey(tc.curve, rand.Reader)
			require.NoError(t, err)
			pub, err := k.PublicKey.Bytes()
			require.NoError(t, err)
			blob := append([]byte(tc.magic), 0, 0, 0, 0)
			binary.LittleEndian.PutUint32(blob[4:], uint32(tc.size))
			blob = append(blob, pub[1:]...) // X || Y
			back, err := parseBCryptECCPublicBlob(blob)
			require.NoError(t, err)
			assert.True(t, k.PublicKey.Equal(back))

			for name, mutate := range map[string]func(b []byte) []byte{
				"short":         func(b []byte) []byte { return b[:len(b)-1] },
				"long":          func(b []byte) []byte { return append(b, 0) },
				"header only":   func(b []byte) []byte { return b[:8] },
				"private magic": func(b []byte) []byte { b[3]++; return b },
				"ECDH magic":    func(b []byte) []byte { b[2] = 'K'; return b }, // BCRYPT_ECDH_PUBLIC_*
				"size":          func(b []byte) []byte { b[4]++; return b },
				"off the curve": func(b []byte) []byte { b[len(b)-1] ^= 1; return b },
			} {
				t.Run(name, func(t *testing.T) {
					_, err := parseBCryptECCPublicBlob(mutate(append([]byte(nil), blob...)))
					assert.True(t, errors.Is(err, errBadBlob), "%v", err)
				})
			}
		})
	}
	_, err := parseBCryptECCPublicBlob([]byte{1, 2, 3})
	assert.True(t, errors.Is(err, errBadBlob), "%v", err)
}
