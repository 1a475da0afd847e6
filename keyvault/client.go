package keyvault

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/certctl/certctl/login"
	"github.com/certctl/certctl/pfx"
	"github.com/certctl/certctl/thumbprint"
)

// Options configure a Client.
type Options struct {
	// Environment is the cloud the credential signs in to; the vault must
	// be one of its vaults.
	Environment login.Environment
	// Credential gets the tokens. It is asked only for the scope
	// https://SUFFIX/.default of the environment's vault suffix.
	Credential azcore.TokenCredential
	// RoundTripper carries the requests; nil uses login.ServiceClient's
	// default, which honours HTTPS_PROXY and verifies servers as
	// http.DefaultTransport does. Requests go only over https to the
	// vault's host, whatever it is.
	RoundTripper http.RoundTripper
	// Retry bounds the retries of each request; nil uses DefaultRetry.
	Retry *policy.RetryOptions
}

// DefaultRetry retries what Key Vault asks to be retried (429 and 503,
// waiting as Retry-After says) and other transient failures, with
// exponential backoff between tries. The bound on the total time is the
// caller's context (--timeout): the retries stop when it ends. A
// Retry-After longer than a minute is not waited for: the request fails
// with the throttling answer. A vault name that does not resolve, and a
// certificate that does not verify, are not retried.
var DefaultRetry = policy.RetryOptions{
	MaxRetries:    30,
	TryTimeout:    30 * time.Second,
	RetryDelay:    time.Second,
	MaxRetryDelay: time.Minute,
	ShouldRetry:   shouldRetry,
}

func shouldRetry(resp *http.Response, err error) bool {
	if err != nil {
		var dns *net.DNSError
		var cv *tls.CertificateVerificationError
		return !(errors.As(err, &dns) && dns.IsNotFound) && !errors.As(err, &cv) && !errors.Is(err, login.ErrRefusedEndpoint)
	}
	switch resp.StatusCode {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// Client reads one vault's certificates and secrets.
type Client struct {
	vault   string
	certs   *azcertificates.Client
	secrets *azsecrets.Client
	last    *lastTry
}

// New makes a Client for vault (https://HOST). It refuses a vault that is
// not one of o.Environment's (a *CloudError).
func New(vault string, o Options) (*Client, error) {
	if o.Credential == nil {
		return nil, errors.New("keyvault: no credential")
	}
	if err := CheckCloud(vault, o.Environment); err != nil {
		return nil, err
	}
	hc, err := login.ServiceClient(vault, o.RoundTripper)
	if err != nil {
		return nil, err
	}
	retry := DefaultRetry
	if o.Retry != nil {
		retry = *o.Retry
	}
	cred := &scopedCredential{inner: o.Credential, scope: "https://" + o.Environment.KeyVaultSuffix + "/.default", vault: vault}
	last := &lastTry{inner: hc}
	copts := azcore.ClientOptions{Transport: last, Retry: retry, Logging: policy.LogOptions{IncludeBody: false}}
	certs, err := azcertificates.NewClient(vault, cred, &azcertificates.ClientOptions{ClientOptions: copts})
	if err != nil {
		return nil, err
	}
	secrets, err := azsecrets.NewClient(vault, cred, &azsecrets.ClientOptions{ClientOptions: copts})
	if err != nil {
		return nil, err
	}
	return &Client{vault: vault, certs: certs, secrets: secrets, last: last}, nil
}

// lastTry remembers how the last request that failed went, to say why the
// retries did not succeed when the time allowed runs out.
type lastTry struct {
	inner policy.Transporter
	mu    sync.Mutex
	what  string
}

func (l *lastTry) Do(req *http.Request) (*http.Response, error) {
	resp, err := l.inner.Do(req)
	what := ""
	switch {
	case err != nil && req.Context().Err() == nil:
		what = err.Error()
	case err == nil && resp.StatusCode >= 400 && resp.StatusCode != http.StatusUnauthorized:
		what = fmt.Sprintf("HTTP %d", resp.StatusCode)
		if code := resp.Header.Get("x-ms-error-code"); code != "" {
			what += " " + code
		}
	}
	if what != "" {
		l.mu.Lock()
		l.what = what
		l.mu.Unlock()
	}
	return resp, err
}

func (l *lastTry) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.what
}

// Vault is the vault's URL.
func (c *Client) Vault() string { return c.vault }

// scopedCredential hands the inner credential only the cloud's Key Vault
// scope. The SDK takes the scope from the vault's challenge and checks only
// that the vault's host is under the scope's host; a vault answering with
// another resource (Resource Manager, Graph) would otherwise get a token
// that is good elsewhere.
type scopedCredential struct {
	inner azcore.TokenCredential
	scope string
	vault string
}

func (s *scopedCredential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if len(o.Scopes) != 1 || !strings.EqualFold(strings.TrimSuffix(o.Scopes[0], "/.default"), strings.TrimSuffix(s.scope, "/.default")) {
		return azcore.AccessToken{}, &login.EndpointError{Host: strings.TrimPrefix(s.vault, "https://"), Reason: fmt.Sprintf("refused to get a token for %.200q that %s asked for: certctl gets tokens only for %s", strings.Join(o.Scopes, " "), s.vault, s.scope)}
	}
	// The tenant of the challenge is not passed on: certctl signs in to
	// the tenant of the saved sign-in, and a vault of another tenant
	// refuses that token, which says so.
	tok, err := s.inner.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{s.scope}})
	if err != nil {
		return tok, &signInError{err}
	}
	return tok, nil
}

// signInError is the credential's failure, which the caller gets as it
// is: the vault was never asked.
type signInError struct{ err error }

func (e *signInError) Error() string { return e.err.Error() }
func (e *signInError) Unwrap() error { return e.err }

// Certificate is what a vault says of one version of a certificate.
type Certificate struct {
	Name, Version string
	Thumbprint    thumbprint.Thumbprint
	// Leaf is the certificate, without its key.
	Leaf *x509.Certificate
	// Exportable is false when the certificate's policy keeps its key in
	// the vault: its secret then holds the certificate alone.
	Exportable bool
	// ContentType is the form of its secret: application/x-pkcs12 or
	// application/x-pem-file.
	ContentType string
	Created     time.Time
	Enabled     bool
	// SecretVersion is the version of the secret that holds it.
	SecretVersion string
}

// Certificate reads a certificate's metadata: the current version when
// version is empty.
func (c *Client) Certificate(ctx context.Context, name, version string) (*Certificate, error) {
	resp, err := c.certs.GetCertificate(ctx, name, version, nil)
	if err != nil {
		return nil, c.explain(OpCertificate, name, err)
	}
	out := &Certificate{Name: name, Exportable: true, Enabled: true}
	if resp.ID != nil {
		out.Version = resp.ID.Version()
	}
	if resp.SID != nil {
		out.SecretVersion = resp.SID.Version()
	}
	if resp.ContentType != nil {
		out.ContentType = *resp.ContentType
	}
	if p := resp.Policy; p != nil {
		if p.KeyProperties != nil && p.KeyProperties.Exportable != nil {
			out.Exportable = *p.KeyProperties.Exportable
		}
		if out.ContentType == "" && p.SecretProperties != nil && p.SecretProperties.ContentType != nil {
			out.ContentType = *p.SecretProperties.ContentType
		}
	}
	if a := resp.Attributes; a != nil {
		if a.Created != nil {
			out.Created = *a.Created
		}
		if a.Enabled != nil {
			out.Enabled = *a.Enabled
		}
	}
	if out.Leaf, err = x509.ParseCertificate(resp.CER); err != nil {
		return nil, &ServiceError{Op: OpCertificate, Vault: c.vault, Name: name, Message: "the vault answered with a certificate that does not parse"}
	}
	out.Thumbprint = thumbprint.Of(out.Leaf)
	if len(resp.X509Thumbprint) > 0 && !strings.EqualFold(fmt.Sprintf("%X", resp.X509Thumbprint), out.Thumbprint.String()) {
		return nil, &ServiceError{Op: OpCertificate, Vault: c.vault, Name: name, Message: "the vault answered with a thumbprint that is not its certificate's"}
	}
	return out, nil
}

// Fetched is a certificate with its key as a vault holds it.
type Fetched struct {
	Bundle *pfx.Bundle
	// Name and Version are the secret's; for a certificate read by a
	// certificate URL, the certificate's.
	Name, Version string
	// Certificate is the metadata, when the certificate was read through
	// it (a certificate URL, or Sync).
	Certificate *Certificate
}

// Fetch reads what ref names, with its key: for a certificate URL the
// metadata first, then the secret of that version, checked to hold that
// certificate.
func (c *Client) Fetch(ctx context.Context, ref Ref) (*Fetched, error) {
	if ref.Kind == KindSecret {
		b, version, err := c.secretBundle(ctx, ref.Name, ref.Version, nil)
		if err != nil {
			return nil, err
		}
		return &Fetched{Bundle: b, Name: ref.Name, Version: version}, nil
	}
	meta, err := c.Certificate(ctx, ref.Name, ref.Version)
	if err != nil {
		return nil, err
	}
	return c.FetchCertificate(ctx, meta)
}

// FetchCertificate reads the secret behind meta, checked to hold that
// certificate with its key.
func (c *Client) FetchCertificate(ctx context.Context, meta *Certificate) (*Fetched, error) {
	if !meta.Exportable {
		return nil, &NotExportableError{Vault: c.vault, Name: meta.Name}
	}
	version := meta.SecretVersion
	if version == "" {
		version = meta.Version
	}
	b, _, err := c.secretBundle(ctx, meta.Name, version, meta)
	if err != nil {
		return nil, err
	}
	if thumbprint.Of(b.Leaf) != meta.Thumbprint {
		return nil, &ServiceError{Op: OpSecret, Vault: c.vault, Name: meta.Name, Message: fmt.Sprintf("the secret of version %s holds certificate %s, not %s as the certificate's metadata says", version, thumbprint.Of(b.Leaf), meta.Thumbprint)}
	}
	return &Fetched{Bundle: b, Name: meta.Name, Version: meta.Version, Certificate: meta}, nil
}

// secretBundle reads a secret and decodes the certificate and key in it.
// meta, when known, tells a key kept in the vault from a secret that is no
// certificate.
func (c *Client) secretBundle(ctx context.Context, name, version string, meta *Certificate) (*pfx.Bundle, string, error) {
	resp, err := c.secrets.GetSecret(ctx, name, version, nil)
	if err != nil {
		return nil, "", c.explain(OpSecret, name, err)
	}
	if resp.ID != nil {
		version = resp.ID.Version()
	}
	var value, contentType string
	if resp.Value != nil {
		value = *resp.Value
	}
	if resp.ContentType != nil {
		contentType = *resp.ContentType
	}
	data, err := secretData(value, contentType)
	if err != nil {
		return nil, "", &SecretFormatError{Vault: c.vault, Name: name, ContentType: contentType, Problem: err.Error()}
	}
	contents, err := pfx.Read(data, "")
	clear(data)
	if err != nil {
		if errors.Is(err, pfx.ErrIncorrectPassword) {
			return nil, "", &SecretFormatError{Vault: c.vault, Name: name, ContentType: contentType, Problem: "its PKCS#12 file has a password; Key Vault keeps PKCS#12 without one (upload it with 'az keyvault certificate import --password', which takes the password off)"}
		}
		return nil, "", &SecretFormatError{Vault: c.vault, Name: name, ContentType: contentType, Problem: err.Error()}
	}
	if contents.Key == nil {
		if (meta != nil && !meta.Exportable) || (resp.Managed != nil && *resp.Managed) {
			return nil, "", &NotExportableError{Vault: c.vault, Name: name}
		}
		return nil, "", &SecretFormatError{Vault: c.vault, Name: name, ContentType: contentType, Problem: "it holds certificates but no private key"}
	}
	bundles, err := contents.Bundles()
	if err != nil {
		return nil, "", &SecretFormatError{Vault: c.vault, Name: name, ContentType: contentType, Problem: err.Error()}
	}
	return bundles[0], version, nil
}

// secretData is the file a secret's value holds: PKCS#12 in base64, or
// PEM text.
func secretData(value, contentType string) ([]byte, error) {
	ct := strings.ToLower(strings.TrimSpace(contentType))
	switch {
	case ct == "application/x-pem-file" || strings.Contains(value, "-----BEGIN"):
		return []byte(value), nil
	case ct == "application/x-pkcs12" || ct == "":
		data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
		if err != nil {
			return nil, errors.New("its value is not base64, as Key Vault keeps PKCS#12")
		}
		return data, nil
	}
	return nil, fmt.Errorf("its content type %.80q is neither application/x-pkcs12 nor application/x-pem-file", contentType)
}

// Operations, as errors name them.
const (
	OpCertificate = "read certificate"
	OpSecret      = "read secret"
)

// ServiceError is an answer of Key Vault that is not what was asked, or a
// vault that could not be reached.
type ServiceError struct {
	Op, Vault, Name string
	// Status is the HTTP status; 0 when no answer came.
	Status int
	// Code is Key Vault's error code (Forbidden, CertificateNotFound,
	// Throttled, ...) and InnerCode its inner one (ForbiddenByRbac, ...).
	Code, InnerCode string
	// Message is Key Vault's message, or what went wrong; it is the
	// service's text, to be escaped before it reaches a terminal.
	Message string
	// RetryAfter is the wait a throttled answer asked for.
	RetryAfter time.Duration
	Err        error
}

func (e *ServiceError) Error() string {
	what := fmt.Sprintf("%s %s of %s", e.Op, e.Name, e.Vault)
	switch e.Status {
	case 0:
		return fmt.Sprintf("%s: %s", what, e.Message)
	case http.StatusUnauthorized:
		return fmt.Sprintf("%s: the vault refused the token of the saved sign-in (%s: %.300s)", what, e.Code, e.Message)
	case http.StatusForbidden:
		role, perm := "Key Vault Secrets User", "Get on secrets"
		if e.Op == OpCertificate {
			role, perm = "Key Vault Certificate User", "Get on certificates and secrets"
		}
		return fmt.Sprintf("%s: the signed-in identity may not: give it the role %q on the vault (Azure RBAC), or, if the vault uses access policies, an access policy with %s (%s: %.300s)", what, role, perm, e.Code, e.Message)
	case http.StatusNotFound:
		return fmt.Sprintf("%s: the vault has no %s named %s (%s)", what, strings.TrimPrefix(e.Op, "read "), e.Name, e.Code)
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return fmt.Sprintf("%s: Key Vault is throttling or unavailable and still was after retries (HTTP %d %s, asked to wait %s)", what, e.Status, e.Code, e.RetryAfter)
	}
	return fmt.Sprintf("%s: HTTP %d %s: %.300s", what, e.Status, e.Code, e.Message)
}

func (e *ServiceError) Unwrap() error { return e.Err }

// ErrVaultNotFound means the vault's host name does not exist.
var ErrVaultNotFound = errors.New("no such vault")

// NotExportableError is a certificate whose key the vault does not let out.
type NotExportableError struct{ Vault, Name string }

func (e *NotExportableError) Error() string {
	return fmt.Sprintf("certificate %s of %s has a key that is not exportable: Key Vault keeps it and gives out the certificate alone, which cannot sign in; make it with an exportable key policy (\"exportable\": true) and a new version", e.Name, e.Vault)
}

// SecretFormatError is a secret that holds no certificate with a key
// certctl can read.
type SecretFormatError struct {
	Vault, Name, ContentType, Problem string
}

func (e *SecretFormatError) Error() string {
	return fmt.Sprintf("secret %s of %s holds no certificate with a key certctl can read: %s", e.Name, e.Vault, e.Problem)
}

// explain turns an SDK error into a *ServiceError, or passes on the
// guard's refusal and the context's end.
func (c *Client) explain(op, name string, err error) error {
	var re *azcore.ResponseError
	var dns *net.DNSError
	var ee *login.EndpointError
	var se *signInError
	switch {
	case errors.As(err, &se):
		return se.err
	case errors.As(err, &ee):
		return err
	case errors.As(err, &re):
		se := &ServiceError{Op: op, Vault: c.vault, Name: name, Status: re.StatusCode, Code: re.ErrorCode}
		if re.RawResponse != nil {
			se.Message, se.InnerCode = errorBody(re.RawResponse)
			if d, ok := retryAfter(re.RawResponse.Header.Get("Retry-After")); ok {
				se.RetryAfter = d
			}
		}
		return se
	case errors.As(err, &dns) && dns.IsNotFound:
		return &ServiceError{Op: op, Vault: c.vault, Name: name, Message: fmt.Sprintf("there is no vault %s: its name does not resolve; check the vault's name and cloud", strings.TrimPrefix(c.vault, "https://")), Err: fmt.Errorf("%w: %w", ErrVaultNotFound, err)}
	case errors.Is(err, context.DeadlineExceeded):
		msg := "gave up: the time allowed ran out"
		if last := c.last.String(); last != "" {
			msg += fmt.Sprintf(" while retrying; the last try failed: %.300s", last)
		}
		return &ServiceError{Op: op, Vault: c.vault, Name: name, Message: msg, Err: err}
	}
	return &ServiceError{Op: op, Vault: c.vault, Name: name, Message: fmt.Sprintf("could not reach the vault: %v", err), Err: err}
}

// errorBody reads Key Vault's error message and inner code from an error
// answer's body: {"error":{"code":..,"message":..,"innererror":{"code":..}}}.
func errorBody(resp *http.Response) (message, inner string) {
	body, err := runtime.Payload(resp)
	if err != nil {
		return "", ""
	}
	var e struct {
		Error struct {
			Message    string `json:"message"`
			InnerError struct {
				Code string `json:"code"`
			} `json:"innererror"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "", ""
	}
	return e.Error.Message, e.Error.InnerError.Code
}

// retryAfter reads a Retry-After header in seconds or as an HTTP date.
func retryAfter(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t).Round(time.Second), true
	}
	return 0, false
}
