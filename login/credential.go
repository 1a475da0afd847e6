package login

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/platform"
)

// Options say who signs in, where and how. Which fields matter depends on
// the Method.
type Options struct {
	Method      Method
	Environment Environment
	Tenant      string
	// ClientID is the application id (service principal, workload
	// identity) or a user-assigned managed identity's client id.
	ClientID string

	// MethodCertificate.
	Identity  certstore.Identity
	SendChain bool

	// MethodSecret.
	Secret string

	// MethodManagedIdentity, user-assigned by resource or object id.
	ManagedIdentityResourceID string
	ManagedIdentityObjectID   string

	// MethodWorkloadIdentity.
	FederatedTokenFile string

	// MethodDeviceCode: shows the code and the address to enter it at.
	DeviceCodePrompt func(message string)

	// RoundTripper carries the requests; nil uses http.DefaultTransport.
	// Whatever it is, the rules of transport.go apply on top of it.
	RoundTripper http.RoundTripper
	// Now is the clock for assertions; nil uses time.Now.
	Now func() time.Time
	// Retry bounds each request: its tries, the time each may take and
	// the waits between them. Nil uses DefaultRetry.
	Retry *policy.RetryOptions
}

// DefaultRetry bounds every request: a dead endpoint fails in seconds, not
// minutes.
var DefaultRetry = policy.RetryOptions{
	MaxRetries:    2,
	TryTimeout:    10 * time.Second,
	RetryDelay:    500 * time.Millisecond,
	MaxRetryDelay: 2 * time.Second,
}

func (o *Options) clientOptions(g *guard) azcore.ClientOptions {
	return azcore.ClientOptions{
		Cloud:     o.Environment.cloudConfig(),
		Retry:     o.retry(),
		Transport: g,
		Logging:   policy.LogOptions{IncludeBody: false},
	}
}

func (o *Options) retry() policy.RetryOptions {
	if o.Retry != nil {
		return *o.Retry
	}
	return DefaultRetry
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// ErrMissing is matched when an option a method needs is missing.
var ErrMissing = errors.New("missing sign-in option")

func missing(what string) error { return fmt.Errorf("%w: %s", ErrMissing, what) }

// NewCredential returns the azidentity credential for o.Method. Its
// requests follow the rules of transport.go, and a request those rules
// refuse fails GetToken with an *EndpointError.
func NewCredential(o Options) (azcore.TokenCredential, error) {
	cred, g, err := newCredential(o)
	if err != nil {
		return nil, err
	}
	return &guardedCredential{cred, g}, nil
}

// guardedCredential reports the error certctl itself raised (the guard's
// refusal, a token file it could not read) rather than what azidentity
// made of it.
type guardedCredential struct {
	azcore.TokenCredential
	g *guard
}

func (c *guardedCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.g.reset()
	tok, err := c.TokenCredential.GetToken(ctx, opts)
	if err != nil {
		if r := c.g.failed(); r != nil {
			return tok, r
		}
	}
	return tok, err
}

func newCredential(o Options) (azcore.TokenCredential, *guard, error) {
	g := newGuard(o, o.Method == MethodManagedIdentity)
	cred, err := azidentityCredential(o, g)
	return cred, g, err
}

func azidentityCredential(o Options, g *guard) (azcore.TokenCredential, error) {
	// Custom clouds have no instance metadata at login.microsoft.com.
	noDiscovery := o.Environment.Custom
	switch o.Method {
	case MethodCertificate:
		if o.Tenant == "" || o.ClientID == "" || o.Identity == nil {
			return nil, missing("a certificate sign-in needs the tenant, the application id and the certificate")
		}
		if err := CheckCertificate(o.Identity, o.now()); err != nil {
			return nil, err
		}
		audience := o.Environment.TokenEndpoint(o.Tenant)
		assertion := func(context.Context) (string, error) {
			a, err := BuildAssertion(o.Identity, o.ClientID, audience, o.SendChain, o.now())
			if err != nil {
				return "", g.fail(err)
			}
			return a, nil
		}
		return azidentity.NewClientAssertionCredential(o.Tenant, o.ClientID, assertion, &azidentity.ClientAssertionCredentialOptions{
			ClientOptions: o.clientOptions(g), DisableInstanceDiscovery: noDiscovery,
		})
	case MethodSecret:
		if o.Tenant == "" || o.ClientID == "" || o.Secret == "" {
			return nil, missing("a client-secret sign-in needs the tenant, the application id and the secret")
		}
		return azidentity.NewClientSecretCredential(o.Tenant, o.ClientID, o.Secret, &azidentity.ClientSecretCredentialOptions{
			ClientOptions: o.clientOptions(g), DisableInstanceDiscovery: noDiscovery,
		})
	case MethodManagedIdentity:
		opts := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: o.clientOptions(g)}
		n := 0
		if o.ClientID != "" {
			opts.ID, n = azidentity.ClientID(o.ClientID), n+1
		}
		if o.ManagedIdentityResourceID != "" {
			opts.ID, n = azidentity.ResourceID(o.ManagedIdentityResourceID), n+1
		}
		if o.ManagedIdentityObjectID != "" {
			opts.ID, n = azidentity.ObjectID(o.ManagedIdentityObjectID), n+1
		}
		if n > 1 {
			return nil, errors.New("a user-assigned managed identity is named by one of client id, resource id or object id, not several")
		}
		return azidentity.NewManagedIdentityCredential(opts)
	case MethodWorkloadIdentity:
		if o.Tenant == "" || o.ClientID == "" || o.FederatedTokenFile == "" {
			return nil, missing("a workload identity sign-in needs the tenant, the application id and the federated token file")
		}
		// What azidentity's WorkloadIdentityCredential does, with a bounded
		// read: the file is read again for each token, as the identity
		// provider rotates it.
		file := o.FederatedTokenFile
		return azidentity.NewClientAssertionCredential(o.Tenant, o.ClientID, func(context.Context) (string, error) {
			tok, err := readFederatedToken(file)
			if err != nil {
				return "", g.fail(err)
			}
			return tok, nil
		}, &azidentity.ClientAssertionCredentialOptions{
			ClientOptions: o.clientOptions(g), DisableInstanceDiscovery: noDiscovery,
		})
	case MethodDeviceCode:
		prompt := o.DeviceCodePrompt
		return azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
			ClientOptions: o.clientOptions(g), DisableInstanceDiscovery: noDiscovery,
			TenantID: o.Tenant, ClientID: o.ClientID,
			UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
				if prompt != nil {
					prompt(m.Message)
				}
				return nil
			},
		})
	case MethodBrowser:
		return azidentity.NewInteractiveBrowserCredential(&azidentity.InteractiveBrowserCredentialOptions{
			ClientOptions: o.clientOptions(g), DisableInstanceDiscovery: noDiscovery,
			TenantID: o.Tenant, ClientID: o.ClientID,
		})
	}
	return nil, fmt.Errorf("unknown sign-in method %q", o.Method)
}

// authenticator is what the interactive credentials add: a sign-in that
// reports who signed in.
type authenticator interface {
	Authenticate(context.Context, *policy.TokenRequestOptions) (azidentity.AuthenticationRecord, error)
}

// Result is what a sign-in found out.
type Result struct {
	Account      string
	Tenant       string
	Subscription *Subscription
	// Warnings are problems that did not stop the sign-in, such as
	// subscriptions that could not be listed.
	Warnings []string
}

// SignIn signs in with o, gets a Resource Manager token and reads the
// account's default subscription (the first enabled one). No subscription
// is not an error.
func SignIn(ctx context.Context, o Options) (*Result, error) {
	cred, g, err := newCredential(o)
	if err != nil {
		return nil, err
	}
	scope := o.Environment.ManagementScope()
	res := &Result{Account: o.ClientID, Tenant: o.Tenant}
	if a, ok := cred.(authenticator); ok {
		rec, err := a.Authenticate(ctx, &policy.TokenRequestOptions{Scopes: []string{scope}})
		if err != nil {
			if r := g.failed(); r != nil {
				return nil, r
			}
			return nil, Explain(err, o)
		}
		res.Account, res.Tenant = rec.Username, rec.TenantID
	}
	tok, err := getToken(ctx, &guardedCredential{cred, g}, o, scope)
	if err != nil {
		return nil, err
	}
	if o.Method == MethodManagedIdentity {
		res.Account = managedIdentityAccount(o)
	}
	if res.Tenant == "" {
		res.Tenant = tenantOf(tok.Token)
	}
	subs, err := ListSubscriptions(ctx, o, tok.Token)
	if errors.Is(err, ErrRefusedEndpoint) {
		return nil, err
	}
	if err != nil {
		res.Warnings = append(res.Warnings, err.Error())
	}
	for i := range subs {
		if strings.EqualFold(subs[i].State, "Enabled") || subs[i].State == "" {
			res.Subscription = &subs[i]
			break
		}
	}
	return res, nil
}

// Token gets an access token for scope.
func Token(ctx context.Context, o Options, scope string) (azcore.AccessToken, error) {
	cred, err := NewCredential(o)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	if scope == "" {
		scope = o.Environment.ManagementScope()
	}
	return getToken(ctx, cred, o, scope)
}

// ErrExpiredToken means the identity service issued a token that had
// already expired, which no caller could use.
var ErrExpiredToken = errors.New("the identity service issued an access token that has already expired")

func getToken(ctx context.Context, cred azcore.TokenCredential, o Options, scope string) (azcore.AccessToken, error) {
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		return azcore.AccessToken{}, Explain(err, o)
	}
	if !tok.ExpiresOn.After(o.now()) {
		return azcore.AccessToken{}, fmt.Errorf("%w (expired %s); check the clock of this machine and of %s", ErrExpiredToken, tok.ExpiresOn.UTC().Format(time.RFC3339), hostOf(o.Environment.AuthorityHost))
	}
	return tok, nil
}

func managedIdentityAccount(o Options) string {
	switch {
	case o.ClientID != "":
		return "managed identity " + o.ClientID
	case o.ManagedIdentityResourceID != "":
		return "managed identity " + o.ManagedIdentityResourceID
	case o.ManagedIdentityObjectID != "":
		return "managed identity " + o.ManagedIdentityObjectID
	}
	return "system-assigned managed identity"
}

// readFederatedToken reads a workload identity's token file, which must be
// a regular file of at most platform.MaxSecretSize bytes.
func readFederatedToken(path string) (string, error) {
	data, _, err := platform.ReadSmallFile(path, platform.MaxSecretSize)
	if err != nil {
		return "", fmt.Errorf("federated token file: %w", err)
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		return "", fmt.Errorf("federated token file %s is empty", path)
	}
	return tok, nil
}
