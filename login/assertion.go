package login

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/internal/english"
	"github.com/certctl/certctl/thumbprint"
)

// assertionLifetime is how long a client assertion is valid; MSAL uses ten
// minutes too.
const assertionLifetime = 10 * time.Minute

// ErrCertificateUnusable means the certificate cannot sign in: not RSA, or
// outside its validity period.
var ErrCertificateUnusable = errors.New("certificate cannot be used to sign in")

// CheckCertificate refuses, before any network call, a certificate that
// Entra ID would refuse: Entra ID accepts RSA keys only, and only within the
// certificate's validity period.
func CheckCertificate(id certstore.Identity, now time.Time) error {
	cert := id.Certificate()
	tp := thumbprint.Of(cert)
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return fmt.Errorf("%w: certificate %s has %s key, and Entra ID accepts only RSA keys for client assertions; create an RSA certificate for the application", ErrCertificateUnusable, tp, english.A(certstore.KeyAlgorithm(cert.PublicKey)))
	}
	if now.Before(cert.NotBefore) {
		return fmt.Errorf("%w: certificate %s is not valid until %s (valid %s to %s)", ErrCertificateUnusable, tp, cert.NotBefore.UTC().Format(time.RFC3339), cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.After(cert.NotAfter) {
		return fmt.Errorf("%w: certificate %s expired on %s (valid %s to %s); upload a new certificate to the application and import it", ErrCertificateUnusable, tp, cert.NotAfter.UTC().Format(time.RFC3339), cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339))
	}
	if !id.HasPrivateKey() {
		return fmt.Errorf("%w: certificate %s: %w", ErrCertificateUnusable, tp, certstore.ErrNoPrivateKey)
	}
	return nil
}

// assertionClaims are the claims Entra ID requires of a client assertion.
type assertionClaims struct {
	Audience  string `json:"aud"`
	Issuer    string `json:"iss"`
	Subject   string `json:"sub"`
	ID        string `json:"jti"`
	NotBefore int64  `json:"nbf"`
	IssuedAt  int64  `json:"iat"`
	Expires   int64  `json:"exp"`
}

// BuildAssertion makes the client assertion for clientID: a JWT signed with
// RSASSA-PSS and SHA-256 (PS256) through the identity's Signer, with the
// certificate's SHA-256 hash in x5t#S256, as MSAL builds it. A key that can
// only make PKCS #1 v1.5 signatures (a Windows CryptoAPI key where CNG cannot
// open it) signs RS256 instead, which Entra ID also accepts. With sendChain
// the header also carries the certificate chain (x5c), which subject name
// and issuer registration needs.
func BuildAssertion(id certstore.Identity, clientID, audience string, sendChain bool, now time.Time) (string, error) {
	signer, err := id.Signer()
	if err != nil {
		return "", err
	}
	cert := id.Certificate()
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	claims, err := json.Marshal(assertionClaims{
		Audience:  audience,
		Issuer:    clientID,
		Subject:   clientID,
		ID:        hex.EncodeToString(jti),
		NotBefore: now.Unix(),
		IssuedAt:  now.Unix(),
		Expires:   now.Add(assertionLifetime).Unix(),
	})
	if err != nil {
		return "", err
	}
	sign := func(alg string, opts crypto.SignerOpts) (string, error) {
		header := map[string]any{
			"alg":      alg,
			"typ":      "JWT",
			"x5t#S256": b64(sha256Sum(cert.Raw)),
		}
		if sendChain {
			x5c := []string{base64.StdEncoding.EncodeToString(cert.Raw)}
			for _, c := range id.Chain() {
				x5c = append(x5c, base64.StdEncoding.EncodeToString(c.Raw))
			}
			header["x5c"] = x5c
		}
		h, err := json.Marshal(header)
		if err != nil {
			return "", err
		}
		signingInput := b64(h) + "." + b64(claims)
		digest := sha256.Sum256([]byte(signingInput))
		sig, err := signer.Sign(rand.Reader, digest[:], opts)
		if err != nil {
			return "", err
		}
		return signingInput + "." + b64(sig), nil
	}
	jwt, err := sign("PS256", &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
	if errors.Is(err, certstore.ErrPSSUnsupported) {
		jwt, err = sign("RS256", crypto.SHA256)
	}
	if err != nil {
		return "", fmt.Errorf("sign the client assertion with certificate %s: %w", thumbprint.Of(cert), err)
	}
	return jwt, nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}
