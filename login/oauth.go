package login

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
)

// oauth is certctl's own OAuth 2.0 client, for what azidentity does not
// offer: a confidential client's authorization code and device code
// flows, and refresh tokens that certctl keeps itself. Its requests go
// through the same guard as azidentity's (https only, to the authority,
// never through a redirect) and the same retry bounds.
type oauth struct {
	o  Options
	g  *guard
	pl runtime.Pipeline
}

func newOAuth(o Options) *oauth {
	g := newGuard(o, false)
	opts := o.clientOptions(g)
	return &oauth{o: o, g: g, pl: runtime.NewPipeline("certctl", "v1", runtime.PipelineOptions{}, &opts)}
}

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
// or the client secret.
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
		form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		form.Set("client_assertion", a)
	case c.o.Secret != "":
		form.Set("client_secret", c.o.Secret)
	}
	return nil
}

// post sends form to endpoint and decodes the JSON answer into v. An
// OAuth error answer becomes a *SignInError; nothing of a body that may
// hold a token goes into an error.
func (c *oauth) post(ctx context.Context, endpoint string, form url.Values, v any) error {
	req, err := runtime.NewRequest(ctx, http.MethodPost, endpoint)
	if err != nil {
		return err
	}
	if err := req.SetBody(streaming.NopCloser(strings.NewReader(form.Encode())), "application/x-www-form-urlencoded"); err != nil {
		return err
	}
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

// userTokens is what a person's sign-in, or a refresh token, gave.
type userTokens struct {
	Access  azcore.AccessToken
	Refresh string
	// Account and Tenant come from the ID token, unverified: they are
	// only shown and saved, never trusted.
	Account, Tenant string
}

// redeem sends a token request for form's grant, authenticated as the
// client, and checks the answer.
func (c *oauth) redeem(ctx context.Context, form url.Values) (*userTokens, error) {
	if err := c.authenticate(form); err != nil {
		return nil, err
	}
	var tr tokenResponse
	if err := c.post(ctx, c.tokenEndpoint(), form, &tr); err != nil {
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
