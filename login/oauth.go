package login

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
)

// oauth is certctl's own OAuth 2.0 client: an application's own tokens
// (the client credentials grant, with a certificate, a secret or a
// federated token), refresh tokens that certctl keeps itself, and a
// confidential client's authorization code and device code flows, which
// azidentity does not offer. Its requests go through the same guard as
// azidentity's (https only, to the authority, never through a redirect)
// and the same retry bounds.
type oauth struct {
	o  Options
	g  *guard
	pl runtime.Pipeline
}

func newOAuth(o Options) *oauth {
	g := newGuard(o, false)
	opts := o.clientOptions(g)
	return &oauth{o: o, g: g, pl: runtime.NewPipeline("certctl", "v1", runtime.PipelineOptions{PerRetry: []policy.Policy{freshForm{g}}}, &opts)}
}

// formBuilder builds the form of a token request. It is called again for
// each try, so that every try carries a client assertion of its own: a
// retry never replays the assertion (its jti) of the try before.
type formBuilder func() (url.Values, error)

// freshForm is the per-try policy that sets the body of a request from
// its formBuilder, an operation value.
type freshForm struct{ g *guard }

func (p freshForm) Do(req *policy.Request) (*http.Response, error) {
	var build formBuilder
	if req.OperationValue(&build) {
		form, err := build()
		if err != nil {
			return nil, &notRetried{p.g.fail(err)}
		}
		if err := req.SetBody(streaming.NopCloser(strings.NewReader(form.Encode())), "application/x-www-form-urlencoded"); err != nil {
			return nil, &notRetried{err}
		}
	}
	return req.Next()
}

// notRetried stops azcore's retry policy: a form that cannot be built now
// will not be built by trying again.
type notRetried struct{ err error }

func (e *notRetried) Error() string { return e.err.Error() }
func (e *notRetried) Unwrap() error { return e.err }
func (e *notRetried) NonRetriable() {}

// maxTokenResponse bounds a token endpoint's answer; real ones are a few
// KiB.
const maxTokenResponse = 1 << 20

// tokenResponse is a token endpoint's answer.
type tokenResponse struct {
	AccessToken  string          `json:"access_token"`
	TokenType    string          `json:"token_type"`
	ExpiresIn    json.RawMessage `json:"expires_in"` // a number, or a string of one
	RefreshToken string          `json:"refresh_token"`
	IDToken      string          `json:"id_token"`
	Scope        string          `json:"scope"`
}

// userScopes are added to every sign-in of a person: a refresh token and
// an ID token that says who signed in.
const userScopes = "offline_access openid profile"

// tenantOrOrganizations is the tenant a person signs in to: the one given,
// or any work or school account's.
func tenantOrOrganizations(t string) string {
	if t == "" {
		return "organizations"
	}
	return t
}

func (c *oauth) tokenEndpoint() string {
	return c.o.Environment.TokenEndpoint(tenantOrOrganizations(c.o.Tenant))
}

// authenticate adds the client id and, for a confidential client, its
// credential: a client assertion signed through the certificate's signer,
// the client secret, or the workload's federated token, read again each
// time, as the identity provider rotates it. The form is MSAL's.
func (c *oauth) authenticate(form url.Values) error {
	form.Set("client_id", c.o.ClientID)
	switch {
	case c.o.Identity != nil:
		if err := CheckCertificate(c.o.Identity, c.o.now()); err != nil {
			return err
		}
		a, err := BuildAssertion(c.o.Identity, c.o.ClientID, c.o.Environment.TokenEndpoint(c.o.Tenant), c.o.SendChain, c.o.now())
		if err != nil {
			return err
		}
		form.Set("client_assertion_type", jwtBearer)
		form.Set("client_assertion", a)
	case c.o.Secret != "":
		form.Set("client_secret", c.o.Secret)
	case c.o.FederatedTokenFile != "":
		tok, err := readFederatedToken(c.o.FederatedTokenFile)
		if err != nil {
			return err
		}
		form.Set("client_assertion_type", jwtBearer)
		form.Set("client_assertion", tok)
	}
	return nil
}

// jwtBearer is the client_assertion_type of a JWT client assertion.
const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// post sends the form that build makes (again for each try) to endpoint
// and decodes the JSON answer into v. An OAuth error answer becomes a
// *SignInError; nothing of a body that may hold a token goes into an
// error.
func (c *oauth) post(ctx context.Context, endpoint string, build formBuilder, v any) error {
	req, err := runtime.NewRequest(ctx, http.MethodPost, endpoint)
	if err != nil {
		return err
	}
	req.SetOperationValue(build)
	c.g.reset()
	resp, err := c.pl.Do(req)
	if r := c.g.failed(); r != nil {
		return r
	}
	if err != nil {
		return Explain(err, c.o)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fromResponse(resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse+1))
	if err != nil {
		return explainNetwork(err, resp.Request.URL.Host)
	}
	if len(body) > maxTokenResponse || json.Unmarshal(body, v) != nil {
		return &ServiceError{Host: resp.Request.URL.Host, Problem: "sent an answer that is not valid JSON"}
	}
	return nil
}

// staticForm is a formBuilder of a form without a credential that changes.
func staticForm(form url.Values) formBuilder {
	return func() (url.Values, error) { return form, nil }
}

// userTokens is what a person's sign-in, or a refresh token, gave.
type userTokens struct {
	Access  azcore.AccessToken
	Refresh string
	// Account and Tenant come from the ID token, unverified: they are
	// only shown and saved, never trusted.
	Account, Tenant string
}

// redeem sends a token request for form's grant to the endpoint the
// environment names, authenticated as the client, and checks the answer:
// for the interactive flows, which wait for a person anyway.
func (c *oauth) redeem(ctx context.Context, form url.Values) (*userTokens, error) {
	return c.redeemAt(ctx, c.tokenEndpoint(), form)
}

// redeemDiscovered sends a token request for form's grant to the token
// endpoint of the tenant's discovery metadata, which it keeps (see
// metadata.go). Kept metadata that may be stale, because the request
// could not reach its endpoint, is fetched again at once, and the request
// sent again if the endpoint moved.
func (c *oauth) redeemDiscovered(ctx context.Context, form url.Values) (*userTokens, error) {
	m, cached, err := c.metadata(ctx, false)
	if err != nil {
		return nil, err
	}
	tok, err := c.redeemAt(ctx, m.TokenEndpoint, form)
	if err != nil && cached && staleEndpoint(err) {
		fresh, _, ferr := c.metadata(ctx, true)
		if ferr != nil || fresh.TokenEndpoint == m.TokenEndpoint {
			if ferr == nil {
				c.saveMetadata(fresh)
			}
			return nil, err
		}
		m, cached = fresh, false
		tok, err = c.redeemAt(ctx, m.TokenEndpoint, form)
	}
	if err == nil && !cached {
		c.saveMetadata(m)
	}
	return tok, err
}

// staleEndpoint reports whether a token request's failure may mean that
// its endpoint moved: it could not be reached, it redirected, or it is not
// there.
func staleEndpoint(err error) bool {
	var ne *NetworkError
	var ee *EndpointError
	var se *ServiceError
	switch {
	case errors.As(err, &ne), errors.As(err, &ee):
		return true
	case errors.As(err, &se):
		return se.Status == http.StatusNotFound || se.Status == http.StatusMethodNotAllowed || se.Status == http.StatusGone
	}
	return false
}

// redeemAt sends a token request for form's grant to endpoint,
// authenticated as the client, and checks the answer.
func (c *oauth) redeemAt(ctx context.Context, endpoint string, form url.Values) (*userTokens, error) {
	build := func() (url.Values, error) {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		return f, c.authenticate(f)
	}
	var tr tokenResponse
	if err := c.post(ctx, endpoint, build, &tr); err != nil {
		return nil, err
	}
	host := hostOf(c.o.Environment.AuthorityHost)
	if tr.AccessToken == "" {
		return nil, &ServiceError{Host: host, Problem: "answered without an access token"}
	}
	secs, err := strconv.ParseInt(strings.Trim(string(tr.ExpiresIn), `"`), 10, 64)
	if err != nil {
		return nil, &ServiceError{Host: host, Problem: "answered without a valid expires_in"}
	}
	now := c.o.now()
	expires := now.Add(time.Duration(secs) * time.Second)
	if !expires.After(now) {
		return nil, fmt.Errorf("%w (expired %s); check the clock of this machine and of %s", ErrExpiredToken, expires.UTC().Format(time.RFC3339), host)
	}
	ut := &userTokens{Access: azcore.AccessToken{Token: tr.AccessToken, ExpiresOn: expires}, Refresh: tr.RefreshToken}
	var claims struct {
		PreferredUsername string `json:"preferred_username"`
		UPN               string `json:"upn"`
		TID               string `json:"tid"`
	}
	if tr.IDToken != "" {
		jwtClaims(tr.IDToken, &claims)
	} else {
		jwtClaims(tr.AccessToken, &claims)
	}
	ut.Account, ut.Tenant = claims.PreferredUsername, claims.TID
	if ut.Account == "" {
		ut.Account = claims.UPN
	}
	return ut, nil
}

// jwtClaims decodes the claims of a JWT into v without verifying anything:
// for what certctl only shows (the account, the tenant) or checks for the
// user's sake (the expiry of a token the user gave).
func jwtClaims(token string, v any) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return false
	}
	return json.Unmarshal(payload, v) == nil
}

// scopeList is scopes and the user scopes, space-separated.
func scopeList(scopes []string) string {
	return strings.Join(append(append([]string{}, scopes...), userScopes), " ")
}
