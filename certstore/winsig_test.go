//go:build windows

package certstore

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestECDSARawToASN1(t *testing.T) {
	for _, curve := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		t.Run(curve.Params().Name, func(t *testing.T) {
			k, err := ecdsa.GenerateKey(curve, rand.Reader)
			require.NoError(t, err)
			size := (curve.Params().BitSize + 7) / 8
			digest := sha256.Sum256([]byte("certctl"))
			// Enough signatures that some r or s has leading zero bytes,
			// which CNG keeps and ASN.1 drops.
			for i := 0; i < 64; i++ {
				r, s, err := ecdsa.Sign(rand.Reader, k, digest[:])
				require.NoError(t, err)
				raw := append(pad(r, size), pad(s, size)...)
				der, err := ecdsaRawToASN1(raw, &k.PublicKey)
				require.NoError(t, err)
				require.True(t, ecdsa.VerifyASN1(&k.PublicKey, digest[:], der))
			}
			_, err = ecdsaRawToASN1(make([]byte, 2*size-1), &k.PublicKey)
			assert.Error(t, err)
			_, err = ecdsaRawToASN1(make([]byte, 2*size), &k.PublicKey)
			assert.ErrorContains(t, err, "zero")
		})
	}
}

func TestNewSignRequest(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	d256 := make([]byte, 32)
	d512 := make([]byte, 64)

	for _, tc := range []struct {
		name   string
		pub    crypto.PublicKey
		digest []byte
		opts   crypto.SignerOpts
		want   signRequest
		err    string
	}{
		{"PKCS #1 v1.5", &rk.PublicKey, d256, crypto.SHA256, signRequest{hash: crypto.SHA256}, ""},
		{"PSS auto salt is the largest", &rk.PublicKey, d256, &rsa.PSSOptions{Hash: crypto.SHA256}, signRequest{hash: crypto.SHA256, pss: true, saltLen: 256 - 2 - 32}, ""},
		{"PSS salt equals hash", &rk.PublicKey, d512, &rsa.PSSOptions{Hash: crypto.SHA512, SaltLength: rsa.PSSSaltLengthEqualsHash}, signRequest{hash: crypto.SHA512, pss: true, saltLen: 64}, ""},
		{"PSS salt given", &rk.PublicKey, d256, &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: 20}, signRequest{hash: crypto.SHA256, pss: true, saltLen: 20}, ""},
		{"PSS salt too long", &rk.PublicKey, d256, &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: 256}, signRequest{}, "salt length 256"},
		{"ECDSA", &ek.PublicKey, d256, crypto.SHA256, signRequest{hash: crypto.SHA256}, ""},
		{"ECDSA ignores PSS options, as Go's keys do", &ek.PublicKey, d256, &rsa.PSSOptions{Hash: crypto.SHA256}, signRequest{hash: crypto.SHA256}, ""},
		{"digest of the wrong size", &rk.PublicKey, d512, crypto.SHA256, signRequest{}, "digest is 64 bytes"},
		{"no hash", &rk.PublicKey, d256, crypto.Hash(0), signRequest{}, "only digests"},
		{"nil options", &rk.PublicKey, d256, nil, signRequest{}, "no hash given"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := newSignRequest(tc.pub, tc.digest, tc.opts)
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}

	// The salt length the request computes for "auto" is the one Go's
	// verifier finds when it is told to look for any length.
	digest := sha512.Sum512([]byte("certctl"))
	req, err := newSignRequest(&rk.PublicKey, digest[:], &rsa.PSSOptions{Hash: crypto.SHA512})
	require.NoError(t, err)
	sig, err := rsa.SignPSS(rand.Reader, rk, crypto.SHA512, digest[:], &rsa.PSSOptions{SaltLength: req.saltLen})
	require.NoError(t, err)
	assert.NoError(t, rsa.VerifyPSS(&rk.PublicKey, crypto.SHA512, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}))
}

func TestHashAlgorithms(t *testing.T) {
	for h, want := range map[crypto.Hash]uint32{crypto.SHA1: 0x8004, crypto.SHA256: 0x800c, crypto.SHA384: 0x800d, crypto.SHA512: 0x800e} {
		got, ok := capiHashAlg(h)
		assert.True(t, ok)
		assert.Equal(t, want, got, "%v", h)
		name, ok := cngHashAlg(h)
		assert.True(t, ok)
		assert.Equal(t, map[crypto.Hash]string{crypto.SHA1: "SHA1", crypto.SHA256: "SHA256", crypto.SHA384: "SHA384", crypto.SHA512: "SHA512"}[h], name)
	}
	_, ok := capiHashAlg(crypto.SHA3_256)
	assert.False(t, ok)
	_, ok = cngHashAlg(crypto.MD5)
	assert.False(t, ok)
}

// The padding structures are passed to NCryptSignHash by pointer, so their
// layout must be bcrypt.h's: a pointer, then for PSS a ULONG.
func TestPaddingInfoLayout(t *testing.T) {
	var pss bcryptPSSPaddingInfo
	ptr := unsafe.Sizeof(uintptr(0))
	assert.Equal(t, ptr, unsafe.Sizeof(bcryptPKCS1PaddingInfo{}))
	assert.Equal(t, ptr, unsafe.Offsetof(pss.saltLen))
	assert.Equal(t, uintptr(4), unsafe.Sizeof(pss.saltLen))
}
