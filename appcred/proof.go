package appcred

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/internal/english"
	"github.com/certctl/certctl/thumbprint"
)

// Graph's addKey and removeKey want a proof of possession: a JWT signed
// with the key of a certificate the application already has, saying who it
// is for (the Azure AD Graph's application id as audience, the application
// object as issuer) and valid for at most ten minutes.

// GraphAudience is the audience of a proof of possession.
const GraphAudience = "00000002-0000-0000-c000-000000000000"

// ProofLifetime is how long a proof is valid: Graph takes at most ten
// minutes.
const ProofLifetime = 10 * time.Minute

// Prover signs proofs of possession.
type Prover interface {
	// Proof signs a proof for the application object objectID, valid from
	// now.
	Proof(objectID string, now time.Time) (string, error)
	// Thumbprint is the thumbprint of the certificate that signs.
	Thumbprint() thumbprint.Thumbprint
}

// ErrProofKey is matched when a certificate cannot sign proofs.
var ErrProofKey = errors.New("certificate cannot sign a proof of possession")

// StoreProver signs proofs with a certificate's key in a store, which never
// leaves it.
type StoreProver struct{ ID certstore.Identity }

// Thumbprint is the thumbprint of the certificate that signs.
func (p StoreProver) Thumbprint() thumbprint.Thumbprint { return p.ID.Thumbprint() }

// Proof signs a proof with RS256, the algorithm Graph takes.
func (p StoreProver) Proof(objectID string, now time.Time) (string, error) {
	cert := p.ID.Certificate()
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return "", fmt.Errorf("%w: %s has %s key, and Microsoft Graph takes proofs signed with RSA (RS256)", ErrProofKey, p.ID.Thumbprint(), english.A(certstore.KeyAlgorithm(cert.PublicKey)))
	}
	signer, err := p.ID.Signer()
	if err != nil {
		return "", fmt.Errorf("sign a proof with %s: %w", p.ID.Thumbprint(), err)
	}
	return signProof(signer, cert, objectID, now)
}

// signProof makes and signs the JWT.
func signProof(signer crypto.Signer, cert *x509.Certificate, objectID string, now time.Time) (string, error) {
	tp := thumbprint.Of(cert)
	header, err := json.Marshal(map[string]string{
		"alg": "RS256",
		"typ": "JWT",
		"x5t": base64.RawURLEncoding.EncodeToString(sha1Sum(cert.Raw)),
		"kid": tp.String(),
	})
	if err != nil {
		return "", err
	}
	nbf := now.Unix()
	claims, err := json.Marshal(map[string]any{
		"aud": GraphAudience,
		"iss": objectID,
		"nbf": nbf,
		"exp": nbf + int64(ProofLifetime/time.Second),
	})
	if err != nil {
		return "", err
	}
	in := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(claims)
	digest := sha256.Sum256([]byte(in))
	sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("sign a proof with %s: %w", tp, err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
