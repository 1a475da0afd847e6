package certstore

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/certctl/certctl/internal/testcert"
	"github.com/certctl/certctl/pfx"
	"github.com/certctl/certctl/thumbprint"
)

// mint makes a certificate signed by parent (self-signed when parent is nil)
// with a fresh key of the kind given.
func mint(t testing.TB, cn string, kind string, parent *pfx.Bundle) *pfx.Bundle {
	t.Helper()
	return testcert.Mint(t, cn, testcert.Options{Key: kind, Parent: parent})
}

// limits says what a backend cannot do, and why. The zero value is a
// backend that can do everything the suite checks.
type limits struct {
	// noECDSA is why the backend cannot store ECDSA keys where the suite
	// runs. The suite then uses RSA keys wherever the key type does not
	// matter, and skips the ECDSA cases with this message.
	noECDSA string
	// noPSS is why the RSA keys the backend imports cannot sign RSA-PSS
	// where the suite runs. The suite then checks that a PSS signature
	// fails with ErrPSSUnsupported.
	noPSS string
}

// kind is the key type for cases where the type does not matter: ECDSA,
// whose keys are quick to make, when the backend has it.
func (l limits) kind() string {
	if l.noECDSA != "" {
		return "rsa"
	}
	return "ecdsa"
}

// verifySigner signs a digest through the identity and checks the signature
// with the certificate's public key, as a relying party would.
func verifySigner(t *testing.T, id Identity, lim limits) {
	t.Helper()
	signer, err := id.Signer()
	require.NoError(t, err)
	digest := sha256.Sum256([]byte("certctl conformance"))
	sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	require.NoError(t, err)
	switch pub := id.Certificate().PublicKey.(type) {
	case *rsa.PublicKey:
		assert.NoError(t, rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig))
		pss, err := signer.Sign(rand.Reader, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
		if lim.noPSS != "" {
			require.Error(t, err, "PSS: %s", lim.noPSS)
			assert.True(t, errors.Is(err, ErrPSSUnsupported), "%v", err)
			t.Logf("RSA-PSS fails as expected (%s): %v", lim.noPSS, err)
			return
		}
		require.NoError(t, err)
		assert.NoError(t, rsa.VerifyPSS(pub, crypto.SHA256, digest[:], pss, nil))
	case *ecdsa.PublicKey:
		assert.True(t, ecdsa.VerifyASN1(pub, digest[:], sig))
	default:
		t.Fatalf("unexpected key type %T", pub)
	}
}

// testConformanceWithin is the behaviour every backend must have, within
// the backend's limits (limits{} for none). open returns a fresh, empty
// store each call; reopen opens the same store again, as a second process
// would.
func testConformanceWithin(t *testing.T, lim limits, open func(t *testing.T) (s Store, reopen func() Store)) {
	kind := lim.kind()

	t.Run("empty store lists nothing", func(t *testing.T) {
		s, _ := open(t)
		list, err := s.List()
		require.NoError(t, err)
		assert.Empty(t, list)
	})

	t.Run("import two, find and sign with both from another handle", func(t *testing.T) {
		s, reopen := open(t)
		a := mint(t, "certctl conformance A", "rsa", nil)
		b := mint(t, "certctl conformance B", kind, nil)
		for _, bundle := range []*pfx.Bundle{a, b} {
			res, err := s.Import(bundle, ImportOptions{})
			require.NoError(t, err)
			assert.True(t, res.Added)
			assert.Equal(t, thumbprint.Of(bundle.Leaf), res.Entry.Thumbprint)
			assert.True(t, res.Entry.HasPrivateKey)
		}
		require.NoError(t, s.Close())

		s2 := reopen()
		defer s2.Close()
		list, err := s2.List()
		require.NoError(t, err)
		require.Len(t, list, 2)
		assert.Equal(t, "CN=certctl conformance A", list[0].Subject)
		assert.Equal(t, "CN=certctl conformance B", list[1].Subject)
		assert.Equal(t, "RSA 2048", list[0].KeyAlgorithm)
		assert.Equal(t, KeyAlgorithm(b.Leaf.PublicKey), list[1].KeyAlgorithm)
		for _, bundle := range []*pfx.Bundle{a, b} {
			id, err := s2.Find(thumbprint.Of(bundle.Leaf))
			require.NoError(t, err)
			assert.True(t, id.Certificate().Equal(bundle.Leaf))
			assert.True(t, id.HasPrivateKey())
			verifySigner(t, id, lim)
		}
	})

	t.Run("ECDSA keys sign", func(t *testing.T) {
		if lim.noECDSA != "" {
			t.Skip(lim.noECDSA)
		}
		s, reopen := open(t)
		for _, k := range []string{"ecdsa", "ecdsa-p384"} {
			a := mint(t, "certctl conformance "+k, k, nil)
			_, err := s.Import(a, ImportOptions{})
			require.NoError(t, err)
			s2 := reopen()
			id, err := s2.Find(thumbprint.Of(a.Leaf))
			require.NoError(t, err)
			verifySigner(t, id, lim)
			require.NoError(t, s2.Close())
		}
	})

	t.Run("import is idempotent", func(t *testing.T) {
		s, _ := open(t)
		a := mint(t, "certctl idempotent", kind, nil)
		_, err := s.Import(a, ImportOptions{})
		require.NoError(t, err)
		res, err := s.Import(a, ImportOptions{})
		require.NoError(t, err)
		assert.False(t, res.Added)
		list, err := s.List()
		require.NoError(t, err)
		assert.Len(t, list, 1)
	})

	t.Run("chain is kept", func(t *testing.T) {
		s, _ := open(t)
		root := mint(t, "certctl root", kind, nil)
		leaf := mint(t, "certctl leaf", kind, root)
		_, err := s.Import(leaf, ImportOptions{})
		require.NoError(t, err)
		id, err := s.Find(thumbprint.Of(leaf.Leaf))
		require.NoError(t, err)
		require.Len(t, id.Chain(), 1)
		assert.True(t, id.Chain()[0].Equal(root.Leaf))
		list, err := s.List()
		require.NoError(t, err)
		require.Len(t, list, 1, "chain certificates are not listed as store entries")
	})

	t.Run("remove", func(t *testing.T) {
		s, _ := open(t)
		a := mint(t, "certctl remove A", kind, nil)
		b := mint(t, "certctl remove B", kind, nil)
		for _, bundle := range []*pfx.Bundle{a, b} {
			_, err := s.Import(bundle, ImportOptions{})
			require.NoError(t, err)
		}
		require.NoError(t, s.Remove(thumbprint.Of(a.Leaf)))
		_, err := s.Find(thumbprint.Of(a.Leaf))
		assert.True(t, errors.Is(err, ErrNotFound))
		list, err := s.List()
		require.NoError(t, err)
		require.Len(t, list, 1)
		assert.Equal(t, thumbprint.Of(b.Leaf), list[0].Thumbprint)

		err = s.Remove(thumbprint.Of(a.Leaf))
		assert.True(t, errors.Is(err, ErrNotFound))
		assert.Contains(t, err.Error(), thumbprint.Of(a.Leaf).String())
	})

	t.Run("find unknown thumbprint", func(t *testing.T) {
		s, _ := open(t)
		tp := thumbprint.MustParse("00112233445566778899AABBCCDDEEFF00112233")
		_, err := s.Find(tp)
		require.Error(t, err)
		assert.True(t, errors.Is(err, ErrNotFound))
		assert.Contains(t, err.Error(), tp.String())
		_, err = s.Export(tp, false)
		assert.True(t, errors.Is(err, ErrNotFound))
	})

	t.Run("export", func(t *testing.T) {
		s, _ := open(t)
		a := mint(t, "certctl export", "rsa", nil)
		_, err := s.Import(a, ImportOptions{Exportable: true})
		require.NoError(t, err)
		b, err := s.Export(thumbprint.Of(a.Leaf), true)
		require.NoError(t, err)
		assert.True(t, b.Leaf.Equal(a.Leaf))
		require.NotNil(t, b.Key)
		assert.True(t, a.Key.Public().(*rsa.PublicKey).Equal(b.Key.Public()))

		b, err = s.Export(thumbprint.Of(a.Leaf), false)
		require.NoError(t, err)
		assert.Nil(t, b.Key)
	})

	t.Run("certificates without keys", func(t *testing.T) {
		s, reopen := open(t)
		root := mint(t, "certctl keyless root", kind, nil)
		ca := &pfx.Bundle{Leaf: root.Leaf}
		tp := thumbprint.Of(root.Leaf)
		res, err := s.Import(ca, ImportOptions{})
		require.NoError(t, err)
		assert.True(t, res.Added)
		assert.False(t, res.Entry.HasPrivateKey)
		res, err = s.Import(ca, ImportOptions{})
		require.NoError(t, err)
		assert.False(t, res.Added, "already there")
		require.NoError(t, s.Close())

		s2 := reopen()
		defer s2.Close()
		list, err := s2.List()
		require.NoError(t, err)
		require.Len(t, list, 1)
		assert.Equal(t, tp, list[0].Thumbprint)
		assert.False(t, list[0].HasPrivateKey)
		id, err := s2.Find(tp)
		require.NoError(t, err)
		assert.False(t, id.HasPrivateKey())
		_, err = id.Signer()
		assert.ErrorIs(t, err, ErrNoPrivateKey)
		_, err = s2.Export(tp, true)
		assert.ErrorIs(t, err, ErrNoPrivateKey)
		b, err := s2.Export(tp, false)
		require.NoError(t, err)
		assert.True(t, b.Leaf.Equal(root.Leaf))

		// The key comes later: the same certificate gets it.
		res, err = s2.Import(root, ImportOptions{})
		require.NoError(t, err)
		assert.True(t, res.Entry.HasPrivateKey)
		id, err = s2.Find(tp)
		require.NoError(t, err)
		verifySigner(t, id, lim)
		list, err = s2.List()
		require.NoError(t, err)
		require.Len(t, list, 1)
		assert.True(t, list[0].HasPrivateKey)

		require.NoError(t, s2.Remove(tp))
		list, err = s2.List()
		require.NoError(t, err)
		assert.Empty(t, list)
	})

	t.Run("transactions", func(t *testing.T) {
		testTransactions(t, lim, open)
	})
}
