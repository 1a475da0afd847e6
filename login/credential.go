package login

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
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

	// MethodRefreshToken: the file that holds the refresh token, which
	// each redemption rotates. The client authenticates with Identity or
	// Secret when it has one (a confidential client).
	RefreshTokenFile string

	// MethodAccessToken: the token, or the file that holds it, and the
	// account it belongs to.
	AccessToken     string
	AccessTokenFile string
	AccountID       string

	// MethodDeviceCode: shows the code and the address to enter it at.
	DeviceCodePrompt func(message string)

	// MethodBrowser: opens the sign-in page; nil uses OpenBrowser. When it
	// fails, the sign-in goes on with a device code. RedirectPort is the
	// loopback port of the redirect; 0 takes the first free one from
	// FirstRedirectPort to LastRedirectPort.
	OpenBrowser  func(url string) error
	RedirectPort int
	// Notice tells the person what the sign-in does as it happens, such as
	// falling back to a device code; nil says nothing.
	Notice func(message string)

	// Subscription (an id or a name) is the default subscription SignIn
	// picks; it fails when the account does not have it. With
	// AllowNoSubscriptions, an account without any signs in at tenant
	// level.
	Subscription         string
	AllowNoSubscriptions bool

	// MetadataDir is the folder (the config folder) where the tenant's
	// discovery metadata is kept between sign-ins (metadata.go); "" keeps
	// nothing, and every certificate, secret, workload identity or
	// refresh-token sign-in fetches it first.
	MetadataDir string

	// RoundTripper carries the requests; nil uses roots.Transport, which
	// verifies servers as http.DefaultTransport does, at less cost.
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

// NewCredential returns a credential that gets tokens for any scope as
// Token does, with o, and keeps each until five minutes before it expires,
// as azidentity's credentials do: for clients of the Azure SDK, which ask
// for a token before every request. Its requests follow the rules of
// transport.go, and a request those rules refuse fails GetToken with an
// *EndpointError.
func NewCredential(o Options) (azcore.TokenCredential, error) {
	if o.Method.clientCredentials() {
		if err := checkClientOptions(o); err != nil {
			return nil, err
		}
	}
	return &credential{o: o}, nil
}

// credential is what NewCredential returns.
type credential struct {
	o  Options
	mu sync.Mutex
	// tokens are the tokens got so far, by scope.
	tokens map[string]azcore.AccessToken
}

func (c *credential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if len(opts.Scopes) != 1 {
		return azcore.AccessToken{}, fmt.Errorf("certctl asks a token for one scope at a time, not %d", len(opts.Scopes))
	}
	scope := opts.Scopes[0]
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.tokens[scope]; ok && t.ExpiresOn.Sub(c.o.now()) > 5*time.Minute {
		return t, nil
	}
	t, err := Token(ctx, c.o, scope)
	if err != nil {
		return t, err
	}
	if c.tokens == nil {
		c.tokens = map[string]azcore.AccessToken{}
	}
	c.tokens[scope] = t
	return t, nil
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

// azidentityCredential is the credential of a sign-in that azidentity
// does the work of: a managed identity, or a person with a device code.
func azidentityCredential(o Options, g *guard) (azcore.TokenCredential, error) {
	// Custom clouds have no instance metadata at login.microsoft.com.
	noDiscovery := o.Environment.Custom
	switch o.Method {
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
	}
	return nil, fmt.Errorf("unknown sign-in method %q", o.Method)
}

// clientCredentials reports whether m signs an application in with its
// own credential, the client credentials grant that certctl sends itself.
func (m Method) clientCredentials() bool {
	return m == MethodCertificate || m == MethodSecret || m == MethodWorkloadIdentity
}

// checkClientOptions checks that o has what its client credentials
// sign-in needs, before anything is sent.
func checkClientOptions(o Options) error {
	switch o.Method {
	case MethodCertificate:
		if o.Tenant == "" || o.ClientID == "" || o.Identity == nil {
			return missing("a certificate sign-in needs the tenant, the application id and the certificate")
		}
		return CheckCertificate(o.Identity, o.now())
	case MethodSecret:
		if o.Tenant == "" || o.ClientID == "" || o.Secret == "" {
			return missing("a client-secret sign-in needs the tenant, the application id and the secret")
		}
	case MethodWorkloadIdentity:
		if o.Tenant == "" || o.ClientID == "" || o.FederatedTokenFile == "" {
			return missing("a workload identity sign-in needs the tenant, the application id and the federated token file")
		}
	}
	return nil
}

// clientToken gets an application's own token for scope: the client
// credentials grant, authenticated with o's certificate (a client
// assertion), secret or federated token, sent to the tenant's token
// endpoint from its discovery metadata. Only the credential o's method
// names is sent.
func clientToken(ctx context.Context, o Options, scope string) (azcore.AccessToken, error) {
	if err := checkClientOptions(o); err != nil {
		return azcore.AccessToken{}, err
	}
	switch o.Method {
	case MethodCertificate:
		o.Secret, o.FederatedTokenFile = "", ""
	case MethodSecret:
		o.Identity, o.FederatedTokenFile = nil, ""
	case MethodWorkloadIdentity:
		o.Identity, o.Secret = nil, ""
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scopeList([]string{scope})}}
	if o.Method != MethodSecret {
		// MSAL asks for client_info with an assertion, not with a secret.
		form.Set("client_info", "1")
	}
	ut, err := newOAuth(o).redeemDiscovered(ctx, form)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	return ut.Access, nil
}

// authenticator is what the interactive credentials add: a sign-in that
// reports who signed in.
type authenticator interface {
	Authenticate(context.Context, *policy.TokenRequestOptions) (azidentity.AuthenticationRecord, error)
}

// Result is what a sign-in found out.
type Result struct {
	// Method is how the sign-in went: o.Method, or MethodDeviceCode when a
	// browser sign-in fell back to a device code.
	Method  Method
	Account string
	Tenant  string
	// Subscription is the default subscription: the one asked for, or the
	// first enabled one; nil when there is none.
	Subscription *Subscription
	// Subscriptions are all those the account can see.
	Subscriptions []Subscription
	// Warnings are problems that did not stop the sign-in, such as
	// subscriptions that could not be listed.
	Warnings []string
}

// DefaultBrowserClientID is the application a person signs in to with the
// browser or a device code when no application id is given: the one
// azidentity and the Azure CLI use.
const DefaultBrowserClientID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"

// SignIn signs in with o, gets a Resource Manager token and lists the
// account's subscriptions. The default one is o.Subscription when given,
// else the first enabled one. No subscription at all is an error
// (ErrNoSubscriptions) unless o.AllowNoSubscriptions.
func SignIn(ctx context.Context, o Options) (*Result, error) {
	res := &Result{Method: o.Method, Account: o.ClientID, Tenant: o.Tenant}
	tok, err := signInToken(ctx, &o, res)
	if err != nil {
		return nil, err
	}
	if res.Tenant == "" {
		res.Tenant = tenantOf(tok.Token)
	}
	subs, err := ListSubscriptions(ctx, o, tok.Token)
	var ae *ARMError
	switch {
	case errors.Is(err, ErrRefusedEndpoint):
		return nil, err
	case o.Method == MethodAccessToken && errors.As(err, &ae):
		// Resource Manager is the judge of a token the user gave.
		return nil, fmt.Errorf("%w: %w", ErrAccessTokenUnusable, err)
	case err != nil && o.Subscription != "":
		return nil, err
	case err != nil:
		res.Warnings = append(res.Warnings, err.Error())
		return res, nil
	}
	res.Subscriptions = subs
	if res.Subscription, err = SelectSubscription(subs, o.Subscription); err != nil {
		return nil, err
	}
	if res.Subscription == nil && !o.AllowNoSubscriptions {
		return nil, &NoSubscriptionsError{Account: res.Account, Tenant: res.Tenant}
	}
	return res, nil
}

// signInToken gets the Resource Manager token of a sign-in and fills in
// what it learns of the account.
func signInToken(ctx context.Context, o *Options, res *Result) (azcore.AccessToken, error) {
	scope := o.Environment.ManagementScope()
	switch o.Method {
	case MethodRefreshToken:
		ut, err := redeemRefreshToken(ctx, *o, scope)
		if err != nil {
			return azcore.AccessToken{}, err
		}
		if ut.Account != "" {
			res.Account = ut.Account
		}
		if ut.Tenant != "" {
			res.Tenant = ut.Tenant
		}
		return ut.Access, nil
	case MethodAccessToken:
		if o.AccountID == "" {
			return azcore.AccessToken{}, missing("an access-token sign-in needs the account id")
		}
		res.Account = o.AccountID
		return readAccessToken(*o)
	case MethodCertificate, MethodSecret, MethodWorkloadIdentity:
		return clientToken(ctx, *o, scope)
	case MethodBrowser:
		ut, err := browserSignIn(ctx, o, scope)
		if errors.Is(err, ErrBrowserUnavailable) {
			o.fallBackToDeviceCode(err)
			res.Method = MethodDeviceCode
			break
		}
		if err != nil {
			return azcore.AccessToken{}, err
		}
		res.Account, res.Tenant = ut.Account, ut.Tenant
		return ut.Access, nil
	}

	cred, g, err := newCredential(*o)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	if a, ok := cred.(authenticator); ok {
		rec, err := a.Authenticate(ctx, &policy.TokenRequestOptions{Scopes: []string{scope}})
		if err != nil {
			if r := g.failed(); r != nil {
				return azcore.AccessToken{}, r
			}
			return azcore.AccessToken{}, Explain(err, *o)
		}
		res.Account, res.Tenant = rec.Username, rec.TenantID
	}
	tok, err := getToken(ctx, &guardedCredential{cred, g}, *o, scope)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	if o.Method == MethodManagedIdentity {
		res.Account = managedIdentityAccount(*o)
	}
	return tok, nil
}

// browserSignIn signs a person in with the authorization code flow in the
// browser, to o.ClientID or the default application.
func browserSignIn(ctx context.Context, o *Options, scope string) (*userTokens, error) {
	bo := *o
	if bo.ClientID == "" {
		bo.ClientID = DefaultBrowserClientID
	}
	return newOAuth(bo).authorizationCode(ctx, []string{scope}, bo.RedirectPort, bo.OpenBrowser)
}

// fallBackToDeviceCode turns a browser sign-in whose browser could not be
// opened into a device code sign-in, and says so.
func (o *Options) fallBackToDeviceCode(err error) {
	if o.Notice != nil {
		o.Notice(fmt.Sprintf("%v; signing in with a device code instead", err))
	}
	o.Method = MethodDeviceCode
}

// ErrNoSubscriptions is matched by a sign-in that found no subscription
// and was not allowed to go on without one.
var ErrNoSubscriptions = errors.New("no subscriptions found")

// NoSubscriptionsError names who found no subscription.
type NoSubscriptionsError struct{ Account, Tenant string }

func (e *NoSubscriptionsError) Error() string {
	return fmt.Sprintf("%v for %s in tenant %s", ErrNoSubscriptions, e.Account, e.Tenant)
}

// Is makes errors.Is(err, ErrNoSubscriptions) true.
func (e *NoSubscriptionsError) Is(target error) bool { return target == ErrNoSubscriptions }

// ErrUnknownSubscription is matched when a subscription asked for by id
// or name is not among the account's.
var ErrUnknownSubscription = errors.New("no such subscription")

// UnknownSubscriptionError lists what there is instead.
type UnknownSubscriptionError struct {
	Want      string
	Available []Subscription
}

func (e *UnknownSubscriptionError) Error() string {
	names := make([]string, len(e.Available))
	for i, s := range e.Available {
		names[i] = fmt.Sprintf("%s (%s)", s.Name, s.ID)
	}
	avail := "none"
	if len(names) > 0 {
		avail = strings.Join(names, ", ")
	}
	return fmt.Sprintf("%v %.200q: the account has %s", ErrUnknownSubscription, e.Want, avail)
}

// Is makes errors.Is(err, ErrUnknownSubscription) true.
func (e *UnknownSubscriptionError) Is(target error) bool { return target == ErrUnknownSubscription }

// SelectSubscription picks want, an id or a name (in any case), from subs;
// with want empty, the first enabled one, or nil when there is none.
func SelectSubscription(subs []Subscription, want string) (*Subscription, error) {
	if want == "" {
		for i := range subs {
			if strings.EqualFold(subs[i].State, "Enabled") || subs[i].State == "" {
				return &subs[i], nil
			}
		}
		return nil, nil
	}
	for i := range subs {
		if strings.EqualFold(subs[i].ID, want) {
			return &subs[i], nil
		}
	}
	var found []*Subscription
	for i := range subs {
		if strings.EqualFold(subs[i].Name, want) {
			found = append(found, &subs[i])
		}
	}
	switch len(found) {
	case 0:
		return nil, &UnknownSubscriptionError{Want: want, Available: subs}
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("%w: %d subscriptions are named %.200q; give the id", ErrUnknownSubscription, len(found), want)
}

// Token gets an access token for scope (Resource Manager's when empty).
func Token(ctx context.Context, o Options, scope string) (azcore.AccessToken, error) {
	if scope == "" {
		scope = o.Environment.ManagementScope()
	}
	switch o.Method {
	case MethodRefreshToken:
		ut, err := redeemRefreshToken(ctx, o, scope)
		if err != nil {
			return azcore.AccessToken{}, err
		}
		return ut.Access, nil
	case MethodCertificate, MethodSecret, MethodWorkloadIdentity:
		return clientToken(ctx, o, scope)
	case MethodAccessToken:
		if scope != o.Environment.ManagementScope() {
			return azcore.AccessToken{}, fmt.Errorf("%w: an access-token sign-in has only the token it was given, not one for %.200s", ErrAccessTokenUnusable, scope)
		}
		return readAccessToken(o)
	case MethodBrowser:
		ut, err := browserSignIn(ctx, &o, scope)
		if !errors.Is(err, ErrBrowserUnavailable) {
			if err != nil {
				return azcore.AccessToken{}, err
			}
			return ut.Access, nil
		}
		o.fallBackToDeviceCode(err)
	}
	cred, g, err := newCredential(o)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	return getToken(ctx, &guardedCredential{cred, g}, o, scope)
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
