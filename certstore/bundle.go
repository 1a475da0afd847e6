package certstore

import (
	"crypto"
	"crypto/x509"

	"github.com/certctl/certctl/pfx"
	"github.com/certctl/certctl/thumbprint"
)

// BundleIdentity is an Identity over a decoded file that is not in a store,
// for sign-in with --certificate-path.
func BundleIdentity(b *pfx.Bundle) Identity { return bundleIdentity{b} }

type bundleIdentity struct{ b *pfx.Bundle }

func (id bundleIdentity) Thumbprint() thumbprint.Thumbprint { return thumbprint.Of(id.b.Leaf) }
func (id bundleIdentity) Certificate() *x509.Certificate    { return id.b.Leaf }
func (id bundleIdentity) Chain() []*x509.Certificate        { return id.b.Chain }
func (id bundleIdentity) HasPrivateKey() bool               { return id.b.Key != nil }

func (id bundleIdentity) Signer() (crypto.Signer, error) {
	if id.b.Key == nil {
		return nil, ErrNoPrivateKey
	}
	return id.b.Key, nil
}
