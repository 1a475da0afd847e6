package certstore

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"testing"
	"time"

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
	// exportPolicy is set for a backend that keeps a key from leaving
	// the store unless it was made exportable (Windows). The file store
	// keeps keys in files, which always export.
	exportPolicy bool
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

	t.Run("create", func(t *testing.T) {
		testCreate(t, lim, open)
	})
}

// newCertificate is a valid Create request for a certificate valid for a
// year from an hour ago, with the default key type.
func newCertificate(cn string) NewCertificate {
	now := time.Now()
	return NewCertificate{
		Subject:     pkix.Name{CommonName: cn, Organization: []string{"certctl tests"}},
		DNSNames:    []string{"app.certctl.test", "localhost"},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.AddDate(1, 0, 0),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
}

// checkCreated checks that the certificate Create made is what n asked,
// self-signed, with a key of type kt.
func checkCreated(t *testing.T, n NewCertificate, kt KeyType, e Entry, cert *x509.Certificate) {
	t.Helper()
	assert.Equal(t, thumbprint.Of(cert), e.Thumbprint)
	assert.True(t, e.HasPrivateKey)
	if n.RawSubject != nil {
		assert.Equal(t, n.RawSubject, cert.RawSubject, "the subject byte for byte")
	} else {
		assert.Equal(t, n.Subject.String(), cert.Subject.String())
	}
	assert.Equal(t, cert.Subject.String(), e.Subject)
	assert.Equal(t, e.Subject, e.Issuer)
	assert.True(t, bytes.Equal(cert.RawSubject, cert.RawIssuer), "issuer %s is not the subject", cert.Issuer)
	assert.NoError(t, cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature), "self-signed")
	assert.Equal(t, n.DNSNames, cert.DNSNames)
	assert.Equal(t, n.ExtKeyUsage, cert.ExtKeyUsage)
	assert.True(t, cert.NotBefore.Equal(n.NotBefore.Truncate(time.Second)), "NotBefore %v, asked %v", cert.NotBefore, n.NotBefore)
	assert.True(t, cert.NotAfter.Equal(n.NotAfter.Truncate(time.Second)), "NotAfter %v, asked %v", cert.NotAfter, n.NotAfter)
	assert.False(t, cert.IsCA)
	assert.NotZero(t, cert.KeyUsage&x509.KeyUsageDigitalSignature)
	got, ok := KeyTypeOf(cert.PublicKey)
	assert.True(t, ok, "key %s", KeyAlgorithm(cert.PublicKey))
	assert.Equal(t, kt, got)
	switch kt {
	case ECDSAP256:
		assert.Equal(t, x509.ECDSAWithSHA256, cert.SignatureAlgorithm)
	case ECDSAP384:
		assert.Equal(t, x509.ECDSAWithSHA384, cert.SignatureAlgorithm)
	default:
		assert.Equal(t, x509.SHA256WithRSA, cert.SignatureAlgorithm, "PKCS #1 v1.5, which every store's keys make")
	}
}

// rawName is the DER subject CN=cn.
func rawName(t *testing.T, cn string) []byte {
	t.Helper()
	raw, err := asn1.Marshal(pkix.Name{CommonName: cn}.ToRDNSequence())
	require.NoError(t, err)
	return raw
}

// testCreate is Create's part of the conformance suite.
func testCreate(t *testing.T, lim limits, open func(t *testing.T) (s Store, reopen func() Store)) {
	t.Run("default key signs from another handle", func(t *testing.T) {
		s, reopen := open(t)
		n := newCertificate("certctl create")
		e, err := s.Create(n)
		require.NoError(t, err)
		assert.Empty(t, n.KeyType, "Create fills in the default in its own copy")
		require.NoError(t, s.Close())

		s2 := reopen()
		defer s2.Close()
		list, err := s2.List()
		require.NoError(t, err)
		require.Len(t, list, 1)
		assert.Equal(t, e, list[0])
		id, err := s2.Find(e.Thumbprint)
		require.NoError(t, err)
		assert.True(t, id.HasPrivateKey())
		assert.Empty(t, id.Chain())
		checkCreated(t, n, RSA2048, e, id.Certificate())
		verifySigner(t, id, lim)
	})

	t.Run("export only when exportable", func(t *testing.T) {
		s, _ := open(t)
		locked, err := s.Create(newCertificate("certctl create locked"))
		require.NoError(t, err)
		n := newCertificate("certctl create exportable")
		n.Exportable = true
		free, err := s.Create(n)
		require.NoError(t, err)

		b, err := s.Export(locked.Thumbprint, true)
		if lim.exportPolicy {
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrNotExportable)
		} else {
			require.NoError(t, err, "the backend's keys always export")
			assert.True(t, b.Leaf.PublicKey.(*rsa.PublicKey).Equal(b.Key.Public()))
		}
		b, err = s.Export(locked.Thumbprint, false)
		require.NoError(t, err)
		assert.Equal(t, locked.Thumbprint, thumbprint.Of(b.Leaf))
		assert.Nil(t, b.Key)

		b, err = s.Export(free.Thumbprint, true)
		require.NoError(t, err)
		assert.Equal(t, free.Thumbprint, thumbprint.Of(b.Leaf))
		require.NotNil(t, b.Key)
		assert.True(t, b.Leaf.PublicKey.(*rsa.PublicKey).Equal(b.Key.Public()), "the exported key is the certificate's")
		digest := sha256.Sum256([]byte("certctl exported"))
		sig, err := b.Key.Sign(rand.Reader, digest[:], crypto.SHA256)
		require.NoError(t, err)
		assert.NoError(t, rsa.VerifyPKCS1v15(b.Leaf.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig))
	})

	t.Run("ECDSA keys", func(t *testing.T) {
		if lim.noECDSA != "" {
			t.Skip(lim.noECDSA)
		}
		s, _ := open(t)
		for _, kt := range []KeyType{ECDSAP256, ECDSAP384} {
			n := newCertificate("certctl create " + string(kt))
			n.KeyType = kt
			e, err := s.Create(n)
			require.NoError(t, err)
			assert.Equal(t, map[KeyType]string{ECDSAP256: "ECDSA P-256", ECDSAP384: "ECDSA P-384"}[kt], e.KeyAlgorithm)
			id, err := s.Find(e.Thumbprint)
			require.NoError(t, err)
			checkCreated(t, n, kt, e, id.Certificate())
			verifySigner(t, id, lim)
		}
	})

	t.Run("other RSA sizes", func(t *testing.T) {
		if testing.Short() {
			t.Skip("generating RSA 3072 and 4096 keys is slow")
		}
		s, _ := open(t)
		for _, kt := range []KeyType{RSA3072, RSA4096} {
			n := newCertificate("certctl create " + string(kt))
			n.KeyType = kt
			e, err := s.Create(n)
			require.NoError(t, err)
			id, err := s.Find(e.Thumbprint)
			require.NoError(t, err)
			checkCreated(t, n, kt, e, id.Certificate())
			verifySigner(t, id, lim)
		}
	})

	t.Run("invalid requests change nothing", func(t *testing.T) {
		s, _ := open(t)
		for _, tc := range []struct {
			name, field string
			change      func(n *NewCertificate)
		}{
			{"empty subject", "subject", func(n *NewCertificate) { n.Subject = pkix.Name{} }},
			{"no validity", "validity", func(n *NewCertificate) { n.NotAfter = n.NotBefore }},
			{"ends before it starts", "validity", func(n *NewCertificate) { n.NotAfter = n.NotBefore.Add(-time.Second) }},
			{"over 100 years", "validity", func(n *NewCertificate) { n.NotAfter = n.NotBefore.AddDate(101, 0, 0) }},
			{"unknown key type", "key type", func(n *NewCertificate) { n.KeyType = "rsa1024" }},
			{"no extended key usage", "extended key usage", func(n *NewCertificate) { n.ExtKeyUsage = nil }},
			{"raw subject not DER", "subject", func(n *NewCertificate) { n.RawSubject = []byte("CN=certctl") }},
			{"raw subject with trailing bytes", "subject", func(n *NewCertificate) { n.RawSubject = append(rawName(t, "certctl"), 0) }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				n := newCertificate("certctl create " + tc.name)
				tc.change(&n)
				_, err := s.Create(n)
				require.Error(t, err)
				var invalid *InvalidCertificateError
				require.ErrorAs(t, err, &invalid)
				assert.Equal(t, tc.field, invalid.Field, "%v", err)
				list, err := s.List()
				require.NoError(t, err)
				assert.Empty(t, list)
			})
		}

		// The limits themselves are accepted.
		n := newCertificate("certctl create 100 years")
		n.NotAfter = n.NotBefore.Add(MaxValidity)
		n.KeyType = RSA2048
		n.ExtKeyUsage = n.ExtKeyUsage[:1]
		n.DNSNames = nil
		e, err := s.Create(n)
		require.NoError(t, err)
		id, err := s.Find(e.Thumbprint)
		require.NoError(t, err)
		checkCreated(t, n, RSA2048, e, id.Certificate())
	})

	t.Run("raw subject is kept", func(t *testing.T) {
		s, _ := open(t)
		// A subject as another tool wrote it: a PrintableString, where Go
		// would write a UTF8String, and attributes Go does not name.
		raw, err := asn1.Marshal(pkix.RDNSequence{
			{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: asn1.RawValue{Tag: asn1.TagPrintableString, Bytes: []byte("certctl raw subject")}}},
			{{Type: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}, Value: "test"}}, // DC, an IA5String
		})
		require.NoError(t, err)
		n := newCertificate("ignored when RawSubject is set")
		n.RawSubject = raw
		e, err := s.Create(n)
		require.NoError(t, err)
		id, err := s.Find(e.Thumbprint)
		require.NoError(t, err)
		checkCreated(t, n, RSA2048, e, id.Certificate())
		assert.Contains(t, e.Subject, "CN=certctl raw subject")
	})

	t.Run("remove", func(t *testing.T) {
		s, reopen := open(t)
		e, err := s.Create(newCertificate("certctl create remove"))
		require.NoError(t, err)
		require.NoError(t, s.Remove(e.Thumbprint))
		_, err = s.Find(e.Thumbprint)
		assert.ErrorIs(t, err, ErrNotFound)
		s2 := reopen()
		defer s2.Close()
		list, err := s2.List()
		require.NoError(t, err)
		assert.Empty(t, list)
		assert.ErrorIs(t, s2.Remove(e.Thumbprint), ErrNotFound)
	})
}
