package login

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/thumbprint"
)

// Method is a way of signing in.
type Method string

// The sign-in methods.
const (
	MethodCertificate      Method = "ServicePrincipalCertificate"
	MethodSecret           Method = "ServicePrincipalSecret"
	MethodManagedIdentity  Method = "ManagedIdentity"
	MethodWorkloadIdentity Method = "WorkloadIdentity"
	MethodDeviceCode       Method = "DeviceCode"
	MethodBrowser          Method = "Browser"
	// MethodRefreshToken redeems a refresh token kept in a file (the
	// Secure Application Model), as a confidential client when the
	// context names a certificate or secret.
	MethodRefreshToken Method = "RefreshToken"
	// MethodAccessToken uses an access token the user gave, as it is.
	MethodAccessToken Method = "AccessToken"
)

// Interactive reports whether the method needs a person.
func (m Method) Interactive() bool { return m == MethodDeviceCode || m == MethodBrowser }

// Subscription is an Azure subscription the account can use.
type Subscription struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	State string `json:"state,omitempty"`
}

// Context is what certctl remembers of the last sign-in, so that
// 'certctl token' can get tokens again. It says where the key or secret
// lives, never what it is: no secret, token or key is ever stored in it.
type Context struct {
	// Name is the context's name: given at sign-in, or made of the
	// account, tenant and environment (DefaultContextName).
	Name        string `json:"name,omitempty"`
	Method      Method `json:"method"`
	Environment string `json:"environment"`
	Tenant      string `json:"tenant"`
	Account     string `json:"account"`
	// ClientID is the application (service principal, workload identity)
	// or the user-assigned managed identity's client id.
	ClientID string `json:"clientId,omitempty"`

	// Where the certificate is: in a store by thumbprint, or in a file.
	Thumbprint           string `json:"thumbprint,omitempty"`
	Store                string `json:"store,omitempty"`
	StoreDir             string `json:"storeDir,omitempty"`
	CertificatePath      string `json:"certificatePath,omitempty"`
	SendCertificateChain bool   `json:"sendCertificateChain,omitempty"`

	// SecretFile is where the client secret was read from, when it was a
	// file; otherwise 'certctl token' reads it from AZURE_CLIENT_SECRET or
	// stdin again.
	SecretFile string `json:"secretFile,omitempty"`
	// ClientSecret says that the application of a refresh-token sign-in
	// authenticates with a client secret (from SecretFile, or given again).
	ClientSecret bool `json:"clientSecret,omitempty"`

	ManagedIdentityResourceID string `json:"managedIdentityResourceId,omitempty"`
	ManagedIdentityObjectID   string `json:"managedIdentityObjectId,omitempty"`

	FederatedTokenFile string `json:"federatedTokenFile,omitempty"`

	// RefreshTokenFile holds the refresh token of a refresh-token sign-in;
	// AccessTokenFile the token of an access-token sign-in, when it came
	// from a file. Never the tokens themselves.
	RefreshTokenFile string `json:"refreshTokenFile,omitempty"`
	AccessTokenFile  string `json:"accessTokenFile,omitempty"`

	Subscription *Subscription `json:"subscription,omitempty"`
	SignedInAt   time.Time     `json:"signedInAt"`
}

// ErrNoContext means nobody has signed in (or the context was removed).
var ErrNoContext = errors.New("not signed in")

// ErrMalformed is matched by the error of a settings file (the contexts,
// registered environments) that is not what certctl writes: not JSON, too
// large, or a field that fails the checks it had when it was saved.
var ErrMalformed = errors.New("malformed settings file")

// maxConfigSize caps a settings file; real ones are a few KiB.
const maxConfigSize = 1 << 20

// ContextError is a saved context that is there but cannot be used.
type ContextError struct {
	Path string
	Err  error
}

func (e *ContextError) Error() string { return "read sign-in context " + e.Path + ": " + e.Err.Error() }
func (e *ContextError) Unwrap() error { return e.Err }

// Validate checks each field as a context certctl wrote has it: a known
// method with what it needs, names and ids of sane length without control
// characters, a thumbprint and store name that parse, absolute paths.
// Errors match ErrMalformed.
func (c *Context) Validate() error {
	bad := func(field, why string) error { return fmt.Errorf("%w: %s %s", ErrMalformed, field, why) }
	switch c.Method {
	case MethodCertificate, MethodSecret, MethodManagedIdentity, MethodWorkloadIdentity, MethodDeviceCode, MethodBrowser,
		MethodRefreshToken, MethodAccessToken:
	default:
		return bad("method", fmt.Sprintf("%.40q is not a sign-in method", c.Method))
	}
	if c.Environment != "" {
		if err := validName(c.Environment); err != nil {
			return bad("environment", err.Error())
		}
	}
	if c.Tenant != "" {
		if err := ValidateTenant(c.Tenant); err != nil {
			return bad("tenant", err.Error())
		}
	}
	// What names a credential is used in requests: no control characters.
	// What a service said (account and subscription names) is only shown,
	// escaped.
	for _, f := range []struct {
		name, value string
		max         int
		shown       bool
	}{
		{"name", c.Name, 256, false},
		{"clientId", c.ClientID, 256, false},
		{"managedIdentityResourceId", c.ManagedIdentityResourceID, 1024, false},
		{"managedIdentityObjectId", c.ManagedIdentityObjectID, 256, false},
		{"account", c.Account, 1024, true},
		{"subscription id", subscriptionField(c, func(s *Subscription) string { return s.ID }), 1024, true},
		{"subscription name", subscriptionField(c, func(s *Subscription) string { return s.Name }), 1024, true},
		{"subscription state", subscriptionField(c, func(s *Subscription) string { return s.State }), 64, true},
	} {
		if err := validText(f.value, f.max, f.shown); err != nil {
			return bad(f.name, err.Error())
		}
	}
	if c.Thumbprint != "" {
		if tp, err := thumbprint.Parse(c.Thumbprint); err != nil || tp.String() != c.Thumbprint {
			return bad("thumbprint", "is not 40 upper-case hexadecimal digits")
		}
		if _, err := certstore.CanonicalName(c.Store); err != nil {
			return bad("store", "is not a store name")
		}
	}
	for _, f := range []struct{ name, value string }{
		{"storeDir", c.StoreDir}, {"certificatePath", c.CertificatePath},
		{"secretFile", c.SecretFile}, {"federatedTokenFile", c.FederatedTokenFile},
		{"refreshTokenFile", c.RefreshTokenFile}, {"accessTokenFile", c.AccessTokenFile},
	} {
		if f.value == "" {
			continue
		}
		if len(f.value) > 4096 || strings.ContainsRune(f.value, 0) || !filepath.IsAbs(f.value) || !utf8.ValidString(f.value) {
			return bad(f.name, "is not an absolute path")
		}
	}
	switch c.Method {
	case MethodCertificate, MethodSecret, MethodWorkloadIdentity, MethodRefreshToken:
		if c.Tenant == "" || c.ClientID == "" {
			return bad(string(c.Method), "needs a tenant and an application id")
		}
	}
	switch {
	case c.Method == MethodCertificate && c.Thumbprint == "" && c.CertificatePath == "":
		return bad(string(c.Method), "needs a thumbprint or a certificate path")
	case c.Method == MethodWorkloadIdentity && c.FederatedTokenFile == "":
		return bad(string(c.Method), "needs a federated token file")
	case c.Method == MethodRefreshToken && c.RefreshTokenFile == "":
		return bad(string(c.Method), "needs a refresh token file")
	}
	return nil
}

// ValidateTenant checks a tenant id or domain: letters, digits, '.', '-'
// and '_', up to 256 characters. Anything else would change the address
// certctl signs in at.
func ValidateTenant(t string) error {
	if t == "" || len(t) > 256 || strings.IndexFunc(t, func(r rune) bool {
		return !(r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) >= 0 {
		return fmt.Errorf("%.80q is not a tenant id or domain (letters, digits, '.', '-' and '_')", t)
	}
	return nil
}

func subscriptionField(c *Context, field func(*Subscription) string) string {
	if c.Subscription == nil {
		return ""
	}
	return field(c.Subscription)
}

// validText accepts UTF-8 text of at most max bytes, and without control
// characters unless it is only shown.
func validText(s string, max int, shown bool) error {
	switch {
	case len(s) > max:
		return fmt.Errorf("is longer than %d bytes", max)
	case !utf8.ValidString(s):
		return errors.New("is not UTF-8")
	case !shown && strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return errors.New("holds control characters")
	}
	return nil
}

// Sources fetch the credentials that a context names but never holds.
type Sources struct {
	// CertificateFile reads the certificate and its key from a PFX or PEM
	// file, asking for its password as the caller does.
	CertificateFile func(path string) (certstore.Identity, error)
	// Secret returns the client secret: from file when the context names
	// one, otherwise from wherever the caller takes it (standard input, the
	// environment).
	Secret func(file string) (string, error)
}

// Options are the sign-in options that sign in again as c did, in env.
// The certificate comes from its store by thumbprint, or from its file
// through src; the secret through src. The caller sets the rest (the
// device code prompt, the clock, the transport).
func (c *Context) Options(env Environment, src Sources) (Options, error) {
	o := Options{
		Method: c.Method, Environment: env, Tenant: c.Tenant, ClientID: c.ClientID,
		SendChain:                 c.SendCertificateChain,
		ManagedIdentityResourceID: c.ManagedIdentityResourceID,
		ManagedIdentityObjectID:   c.ManagedIdentityObjectID,
		FederatedTokenFile:        c.FederatedTokenFile,
	}
	if c.Method == MethodAccessToken {
		o.AccessTokenFile, o.AccountID = c.AccessTokenFile, c.Account
		return o, nil
	}
	o.RefreshTokenFile = c.RefreshTokenFile
	var err error
	switch {
	case c.Thumbprint != "" && (c.Method == MethodCertificate || c.Method == MethodRefreshToken):
		o.Identity, err = findCertificate(c.Store, c.StoreDir, c.Thumbprint)
	case c.CertificatePath != "" && (c.Method == MethodCertificate || c.Method == MethodRefreshToken):
		if src.CertificateFile == nil {
			return o, missing("a certificate file sign-in needs a way to read the file")
		}
		o.Identity, err = src.CertificateFile(c.CertificatePath)
	case c.Method == MethodSecret || c.Method == MethodRefreshToken && (c.ClientSecret || c.SecretFile != ""):
		if src.Secret == nil {
			return o, missing("a client-secret sign-in needs a way to read the secret")
		}
		o.Secret, err = src.Secret(c.SecretFile)
	}
	return o, err
}

// findCertificate finds the certificate with thumbprint tp in a store.
func findCertificate(store, dir, tp string) (certstore.Identity, error) {
	t, err := thumbprint.Parse(tp)
	if err != nil {
		return nil, err
	}
	s, err := certstore.Open(store, certstore.Options{Dir: dir})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Find(t)
}
