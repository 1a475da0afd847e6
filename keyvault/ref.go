// Package keyvault reads certificates with their keys from Azure Key Vault,
// through the Azure SDK's azcertificates and azsecrets clients, and keeps a
// certificate store current with a vault (Sync).
//
// A certificate in Key Vault is three objects of one name: its metadata
// (the certificate, its thumbprint, its policy), a key, and the secret that
// holds the certificate with its private key as PKCS#12 (base64) or PEM.
// certctl reads the metadata to learn which version is current and the
// secret only when the store does not hold that version yet.
//
// Requests go only over https to the vault's host, and only to a vault of
// the signed-in cloud (login.Environment.KeyVaultSuffix). The SDK's
// challenge-based authentication stays on: the vault names the resource to
// ask a token for, and certctl asks Entra ID only for that cloud's Key Vault
// resource, https://SUFFIX. Secret values are held in memory only as long
// as it takes to decode them, and never appear in an error.
//
// The package prints nothing; the caller gives it a credential and a store.
package keyvault

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/certctl/certctl/login"
)

// Kind is what a vault URL names.
type Kind string

// The kinds of object a certificate can be read from.
const (
	// KindCertificate is /certificates/NAME: the certificate's metadata
	// says which secret holds it.
	KindCertificate Kind = "certificates"
	// KindSecret is /secrets/NAME: a secret holding PKCS#12 or PEM, the
	// one behind a certificate or one uploaded as a secret.
	KindSecret Kind = "secrets"
)

// Ref is a certificate or secret in a vault.
type Ref struct {
	// Vault is the vault's URL, https://HOST, without a trailing slash.
	Vault string
	Kind  Kind
	Name  string
	// Version is empty for the current version.
	Version string
}

func (r Ref) String() string {
	s := r.Vault + "/" + string(r.Kind) + "/" + r.Name
	if r.Version != "" {
		s += "/" + r.Version
	}
	return s
}

// ErrBadURL is matched by every *URLError.
var ErrBadURL = errors.New("not a Key Vault URL")

// URLError is a vault URL certctl cannot use.
type URLError struct {
	URL, Problem string
}

func (e *URLError) Error() string {
	return fmt.Sprintf("%.200q is not a Key Vault URL certctl can use: %s", e.URL, e.Problem)
}

// Is makes errors.Is(err, ErrBadURL) true.
func (e *URLError) Is(target error) bool { return target == ErrBadURL }

// ParseRef reads https://VAULT.vault.azure.net/certificates/NAME[/VERSION]
// or the same with /secrets/.
func ParseRef(raw string) (Ref, error) {
	vault, path, err := splitVaultURL(raw)
	if err != nil {
		return Ref{}, err
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 2 || len(parts) > 3 || (parts[0] != string(KindCertificate) && parts[0] != string(KindSecret)) {
		return Ref{}, &URLError{raw, "give https://VAULT.vault.azure.net/certificates/NAME[/VERSION] or .../secrets/NAME[/VERSION]"}
	}
	r := Ref{Vault: vault, Kind: Kind(parts[0]), Name: parts[1]}
	if len(parts) == 3 {
		r.Version = parts[2]
	}
	if err := CheckName(r.Name); err != nil {
		return Ref{}, &URLError{raw, err.Error()}
	}
	if r.Version != "" && !validVersion(r.Version) {
		return Ref{}, &URLError{raw, fmt.Sprintf("version %.80q is not 32 hexadecimal digits, as Key Vault names versions", r.Version)}
	}
	return r, nil
}

// ParseVault reads a vault's URL, https://VAULT.vault.azure.net with or
// without a trailing slash, and returns it without one.
func ParseVault(raw string) (string, error) {
	vault, path, err := splitVaultURL(raw)
	if err != nil {
		return "", err
	}
	if strings.Trim(path, "/") != "" {
		return "", &URLError{raw, "give the vault alone, https://VAULT.vault.azure.net, and the certificates by name"}
	}
	return vault, nil
}

func splitVaultURL(raw string) (vault, path string, err error) {
	u, perr := url.Parse(raw)
	switch {
	case len(raw) > 2048:
		return "", "", &URLError{raw, "longer than 2048 characters"}
	case perr != nil || u.Host == "" || u.Opaque != "":
		return "", "", &URLError{raw, "give a URL such as https://VAULT.vault.azure.net/certificates/NAME"}
	case u.Scheme != "https":
		return "", "", &URLError{raw, "Key Vault is reached only over https"}
	case u.User != nil:
		return "", "", &URLError{u.Redacted(), "leave out the user name and password"}
	case u.RawQuery != "" || u.Fragment != "":
		return "", "", &URLError{raw, "leave out the query and fragment"}
	case u.RawPath != "":
		return "", "", &URLError{raw, "Key Vault names have no percent-encoded characters"}
	}
	return "https://" + strings.ToLower(u.Host), u.Path, nil
}

// CheckName checks a certificate or secret name as Key Vault restricts
// them: 1 to 127 letters, digits and dashes.
func CheckName(name string) error {
	if name == "" || len(name) > 127 || strings.IndexFunc(name, func(r rune) bool {
		return !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) >= 0 {
		return fmt.Errorf("name %.80q is not 1 to 127 letters, digits and dashes, as Key Vault names objects", name)
	}
	return nil
}

func validVersion(v string) bool {
	if len(v) != 32 {
		return false
	}
	for _, r := range v {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}

// ErrWrongCloud is matched by every *CloudError.
var ErrWrongCloud = errors.New("the vault is not in the signed-in cloud")

// CloudError is a vault that is not in the environment certctl signed in
// to. Belongs names the built-in cloud whose vaults the host looks like,
// if any.
type CloudError struct {
	Vault       string
	Environment string
	// Suffix is the environment's vault suffix; empty when it has none.
	Suffix  string
	Belongs string
}

func (e *CloudError) Error() string {
	var s string
	if e.Suffix == "" {
		s = fmt.Sprintf("environment %s has no Key Vault DNS suffix, so certctl cannot tell that %s is one of its vaults", e.Environment, e.Vault)
	} else {
		s = fmt.Sprintf("%s is not a vault of %s, whose vaults are https://NAME.%s", e.Vault, e.Environment, e.Suffix)
	}
	if e.Belongs != "" {
		s += fmt.Sprintf("; it is a vault of %s", e.Belongs)
	}
	return s
}

// Is makes errors.Is(err, ErrWrongCloud) true.
func (e *CloudError) Is(target error) bool { return target == ErrWrongCloud }

// CheckCloud refuses a vault that is not NAME.SUFFIX for env's Key Vault
// suffix: its token would be asked of the wrong cloud, and the vault would
// be asked to take it.
func CheckCloud(vault string, env login.Environment) error {
	host := strings.TrimPrefix(vault, "https://")
	if env.VaultHost(host) {
		return nil
	}
	e := &CloudError{Vault: vault, Environment: env.Name, Suffix: env.KeyVaultSuffix}
	for _, b := range login.BuiltinEnvironments() {
		if b.VaultHost(host) {
			e.Belongs = b.Name
		}
	}
	return e
}
