package logintest_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/internal/logintest"
	"github.com/certctl/certctl/internal/testcert"
	"github.com/certctl/certctl/login"
	"github.com/certctl/certctl/pfx"
)

const (
	appID       = "6a0c0000-0000-4000-8000-0000000005a1" // the confidential app of the Secure Application Model
	otherAppID  = "6a0c0000-0000-4000-8000-0000000005a2" // another confidential app
	publicID    = "04b07795-8ddb-461a-bbee-02f9e1bf7b46" // the Azure CLI's public client id, never registered
	redirectURI = "http://localhost:8400/"
	graph       = "https://graph.microsoft.com/.default"
	partner     = "https://api.partnercenter.microsoft.com/.default"
	exchange    = "https://outlook.office365.com/.default"
)

// TestMain doubles as the browser that xdg-open starts in
// TestMSALBrowserFlow: it follows the sign-in page back to MSAL's loopback
// listener.
func TestMain(m *testing.M) {
	if os.Getenv("LOGINTEST_BROWSER") == "1" {
		pemData, err := os.ReadFile(os.Getenv("LOGINTEST_CA"))
		if err == nil {
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(pemData)
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 20 * time.Second}
			err = logintest.Browse(c, os.Args[len(os.Args)-1])
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "fake browser:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// answer is a token endpoint's answer.
type answer struct {
	status       int
	Error        string `json:"error"`
	Description  string `json:"error_description"`
	Codes        []int  `json:"error_codes"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	ClientInfo   string `json:"client_info"`
}

// code is the AADSTS code of a refusal, 0 for none.
func (a answer) code() int {
	if len(a.Codes) == 0 {
		return 0
	}
	return a.Codes[0]
}

// fake is a tenant where appID is a confidential application with a
// certificate, and otherAppID one with a secret.
type fake struct {
	*logintest.Server
	cert   *pfx.Bundle
	client *http.Client // does not follow redirects
}

func newFake(t *testing.T) *fake {
	s := logintest.New(t)
	b := testcert.Mint(t, "certctl partner app", testcert.Options{})
	s.RegisterCertificate(appID, b.Leaf)
	s.RegisterSecret(otherAppID, "other-secret")
	c := s.TLS.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &fake{Server: s, cert: b, client: c}
}

// assertion is a client assertion for appID signed with its certificate,
// as the client builds it.
func (f *fake) assertion(t *testing.T) string {
	t.Helper()
	jwt, err := login.BuildAssertion(certstore.BundleIdentity(f.cert), appID, f.TokenEndpoint(), false, time.Now())
	require.NoError(t, err)
	return jwt
}

// authn is the client authentication of appID, to add to a form.
func (f *fake) authn(t *testing.T) url.Values {
	return url.Values{"client_id": {appID}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {f.assertion(t)}}
}

func (f *fake) token(t *testing.T, form ...url.Values) answer {
	t.Helper()
	all := url.Values{}
	for _, v := range form {
		for k, vs := range v {
			all[k] = vs
		}
	}
	resp, err := f.client.PostForm(f.TokenEndpoint(), all)
	require.NoError(t, err)
	defer resp.Body.Close()
	var a answer
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&a))
	a.status = resp.StatusCode
	return a
}

func pkce() (verifier, challenge string) {
	verifier = strings.Repeat("v", 20) + fmt.Sprint(time.Now().UnixNano()) + strings.Repeat("x", 20)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorize sends the user to the sign-in page and returns where it sends
// them back.
func (f *fake) authorize(t *testing.T, q url.Values) *url.URL {
	t.Helper()
	resp, err := f.client.Get(f.TLS.URL + "/" + f.Tenant + "/oauth2/v2.0/authorize?" + q.Encode())
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	back, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	return back
}

// consent runs the sign-in page for clientID with scope and returns the
// code and its PKCE verifier.
func (f *fake) consent(t *testing.T, clientID, scope string) (code, verifier string) {
	t.Helper()
	verifier, challenge := pkce()
	back := f.authorize(t, url.Values{
		"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {redirectURI}, "scope": {scope},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "state": {"st-1"}, "prompt": {"consent"},
	})
	require.Empty(t, back.Query().Get("error"), back.Query().Get("error_description"))
	assert.Equal(t, "st-1", back.Query().Get("state"))
	return back.Query().Get("code"), verifier
}

func redeem(code, verifier string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}, "redirect_uri": {redirectURI}}
}

func refresh(rt, scope string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {scope}}
}

// signedIn runs the consent of appID with offline_access and returns its
// refresh token.
func (f *fake) signedIn(t *testing.T) string {
	t.Helper()
	code, verifier := f.consent(t, appID, graph+" offline_access openid profile")
	a := f.token(t, redeem(code, verifier), f.authn(t))
	require.Equal(t, http.StatusOK, a.status, a.Description)
	require.NotEmpty(t, a.RefreshToken)
	return a.RefreshToken
}

func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	require.Len(t, parts, 3)
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var c map[string]any
	require.NoError(t, json.Unmarshal(b, &c))
	return c
}

// TestSecureApplicationModel: a confidential app consents with a code,
// then redeems the refresh token for other resources, each time getting a
// new one.
func TestSecureApplicationModel(t *testing.T) {
	f := newFake(t)
	code, verifier := f.consent(t, appID, graph+" offline_access openid profile")
	a := f.token(t, redeem(code, verifier), f.authn(t), url.Values{"client_info": {"1"}})
	require.Equal(t, http.StatusOK, a.status, a.Description)
	assert.True(t, f.IssuedToken(a.AccessToken))
	assert.True(t, f.IssuedRefreshToken(a.RefreshToken))
	assert.NotEmpty(t, a.IDToken)
	assert.NotEmpty(t, a.ClientInfo)
	at := claims(t, a.AccessToken)
	assert.Equal(t, "https://graph.microsoft.com", at["aud"])
	assert.Equal(t, appID, at["appid"])
	assert.Equal(t, f.User, at["upn"])
	assert.Equal(t, f.User, at["preferred_username"])
	assert.Equal(t, f.Tenant, at["tid"])
	assert.NotEmpty(t, at["oid"])
	assert.Equal(t, appID, claims(t, a.IDToken)["aud"])
	auths := f.Authorizations()
	require.Len(t, auths, 1)
	assert.Equal(t, "consent", auths[0].Prompt)
	assert.Equal(t, "S256", auths[0].CodeChallengeMethod)

	rt := a.RefreshToken
	for i, scope := range []string{partner, exchange, f.ResourceManager() + ".default"} {
		a = f.token(t, refresh(rt, scope), f.authn(t))
		require.Equal(t, http.StatusOK, a.status, a.Description)
		assert.Equal(t, strings.TrimSuffix(scope, "/.default"), claims(t, a.AccessToken)["aud"])
		assert.NotEmpty(t, a.IDToken, "the refresh token came with openid consented")
		require.NotEmpty(t, a.RefreshToken)
		assert.NotEqual(t, rt, a.RefreshToken, "each answer carries a new refresh token")
		assert.Equal(t, i+1, f.RefreshTokenRedemptions())
		rt = a.RefreshToken
	}
	subs := f.subscriptions(t, a.AccessToken, f.ResourceManager()+"subscriptions?api-version=2022-12-01")
	assert.Equal(t, http.StatusOK, subs.status)
	assert.Len(t, subs.Value, 1)
}

func TestAuthorizationCodeRefusals(t *testing.T) {
	f := newFake(t)
	const scope = graph + " offline_access openid profile"

	t.Run("PKCE verifier mismatch", func(t *testing.T) {
		code, _ := f.consent(t, appID, scope)
		other, _ := pkce()
		a := f.token(t, redeem(code, other+"x"), f.authn(t))
		assert.Equal(t, "invalid_grant", a.Error)
		assert.Equal(t, 501481, a.code())
		a = f.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}, f.authn(t))
		assert.Equal(t, 54005, a.code(), "a code is used up by its first presentation")
	})
	t.Run("no verifier", func(t *testing.T) {
		code, _ := f.consent(t, appID, scope)
		a := f.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}, f.authn(t))
		assert.Equal(t, 501481, a.code())
	})
	t.Run("code reused", func(t *testing.T) {
		code, verifier := f.consent(t, appID, scope)
		a := f.token(t, redeem(code, verifier), f.authn(t))
		require.Equal(t, http.StatusOK, a.status, a.Description)
		a = f.token(t, redeem(code, verifier), f.authn(t))
		assert.Equal(t, "invalid_grant", a.Error)
		assert.Equal(t, 54005, a.code())
		assert.Contains(t, a.Description, "already redeemed")
	})
	t.Run("code redeemed by another client", func(t *testing.T) {
		code, verifier := f.consent(t, appID, scope)
		a := f.token(t, redeem(code, verifier), url.Values{"client_id": {otherAppID}, "client_secret": {"other-secret"}})
		assert.Equal(t, "invalid_grant", a.Error)
		assert.Equal(t, 700007, a.code())
		a = f.token(t, redeem(code, verifier), f.authn(t))
		assert.Equal(t, 54005, a.code(), "the code was used up by the other client's attempt")
	})
	t.Run("another redirect URI", func(t *testing.T) {
		code, verifier := f.consent(t, appID, scope)
		form := redeem(code, verifier)
		form.Set("redirect_uri", "http://localhost:8401/")
		a := f.token(t, form, f.authn(t))
		assert.Equal(t, "invalid_grant", a.Error)
		assert.Equal(t, 500112, a.code())
	})
	t.Run("unknown code", func(t *testing.T) {
		a := f.token(t, redeem("ac-made-up", "v"), f.authn(t))
		assert.Equal(t, "invalid_grant", a.Error)
		assert.Equal(t, 70000, a.code())
	})
	t.Run("confidential app without client authentication", func(t *testing.T) {
		code, verifier := f.consent(t, appID, scope)
		a := f.token(t, redeem(code, verifier), url.Values{"client_id": {appID}})
		assert.Equal(t, http.StatusBadRequest, a.status)
		assert.Equal(t, "invalid_client", a.Error)
		assert.Equal(t, 7000218, a.code())
		assert.Contains(t, a.Description, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		a = f.token(t, redeem(code, verifier), f.authn(t))
		assert.Equal(t, http.StatusOK, a.status, "a refused client authentication does not use the code up: %s", a.Description)
	})
	t.Run("assertion signed with an unregistered certificate", func(t *testing.T) {
		code, verifier := f.consent(t, appID, scope)
		stranger := testcert.Mint(t, "certctl stranger", testcert.Options{})
		jwt, err := login.BuildAssertion(certstore.BundleIdentity(stranger), appID, f.TokenEndpoint(), false, time.Now())
		require.NoError(t, err)
		a := f.token(t, redeem(code, verifier), url.Values{"client_id": {appID}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {jwt}})
		assert.Equal(t, "invalid_client", a.Error)
		assert.Equal(t, 700027, a.code())
	})
	t.Run("assertion without its type", func(t *testing.T) {
		code, verifier := f.consent(t, appID, scope)
		a := f.token(t, redeem(code, verifier), url.Values{"client_id": {appID}, "client_assertion": {f.assertion(t)}})
		assert.Equal(t, 900144, a.code())
	})
	t.Run("wrong secret", func(t *testing.T) {
		code, verifier := f.consent(t, otherAppID, scope)
		a := f.token(t, redeem(code, verifier), url.Values{"client_id": {otherAppID}, "client_secret": {"guess"}})
		assert.Equal(t, 7000215, a.code())
	})
	t.Run("public client", func(t *testing.T) {
		code, verifier := f.consent(t, publicID, scope)
		a := f.token(t, redeem(code, verifier), url.Values{"client_id": {publicID}, "client_secret": {"anything"}})
		assert.Equal(t, 700025, a.code(), "a public client sends no credential")
		code, verifier = f.consent(t, publicID, scope)
		a = f.token(t, redeem(code, verifier), url.Values{"client_id": {publicID}})
		assert.Equal(t, http.StatusOK, a.status, a.Description)
		assert.NotEmpty(t, a.RefreshToken)
	})
	t.Run("offline_access not asked", func(t *testing.T) {
		code, verifier := f.consent(t, appID, graph)
		a := f.token(t, redeem(code, verifier), f.authn(t))
		require.Equal(t, http.StatusOK, a.status, a.Description)
		assert.NotEmpty(t, a.AccessToken)
		assert.Empty(t, a.RefreshToken, "no offline_access, no refresh token")
		assert.Empty(t, a.IDToken, "no openid, no ID token")
		assert.Empty(t, a.ClientInfo, "client_info was not asked")
	})
	t.Run("GET", func(t *testing.T) {
		resp, err := f.client.Get(f.TokenEndpoint() + "?grant_type=authorization_code")
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		assert.Contains(t, string(body), "AADSTS900561")
	})
}

func TestAuthorizeRefusals(t *testing.T) {
	f := newFake(t)
	_, challenge := pkce()
	base := func() url.Values {
		return url.Values{
			"client_id": {appID}, "response_type": {"code"}, "redirect_uri": {redirectURI}, "scope": {graph + " offline_access"},
			"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "state": {"st-2"},
		}
	}
	for _, tc := range []struct {
		name   string
		change func(url.Values)
		code   string
	}{
		{"plain PKCE", func(q url.Values) { q.Set("code_challenge_method", "plain") }, "AADSTS50149"},
		{"no PKCE method", func(q url.Values) { q.Del("code_challenge_method") }, "AADSTS50149"},
		{"no PKCE", func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, "AADSTS50147"},
		{"short challenge", func(q url.Values) { q.Set("code_challenge", "abc") }, "AADSTS501491"},
		{"no scope", func(q url.Values) { q.Del("scope") }, "AADSTS900144"},
		{"implicit flow", func(q url.Values) { q.Set("response_type", "token") }, "AADSTS70005"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := base()
			tc.change(q)
			back := f.authorize(t, q)
			assert.Equal(t, "localhost:8400", back.Host, "the error goes back to the application")
			assert.Empty(t, back.Query().Get("code"))
			assert.NotEmpty(t, back.Query().Get("error"))
			assert.Contains(t, back.Query().Get("error_description"), tc.code)
			assert.Equal(t, "st-2", back.Query().Get("state"))
		})
	}

	t.Run("redirect URI not on loopback", func(t *testing.T) {
		for _, uri := range []string{"https://evil.example/cb", "ftp://localhost/cb", "http://localhost.evil.example/"} {
			q := base()
			q.Set("redirect_uri", uri)
			resp, err := f.client.Get(f.TLS.URL + "/" + f.Tenant + "/oauth2/v2.0/authorize?" + q.Encode())
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, uri)
			assert.Contains(t, string(body), "AADSTS50011", uri)
		}
	})

	t.Run("form_post", func(t *testing.T) {
		q := base()
		q.Set("response_mode", "form_post")
		q.Set("code_challenge_method", "plain")
		resp, err := f.client.Get(f.TLS.URL + "/" + f.Tenant + "/oauth2/v2.0/authorize?" + q.Encode())
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, string(body), `action="`+redirectURI+`"`)
		assert.Contains(t, string(body), `name="error" value="invalid_request"`)
		assert.Contains(t, string(body), "AADSTS50149")
		assert.NotContains(t, string(body), `name="code"`)
	})
}

func TestRefreshTokenRefusals(t *testing.T) {
	f := newFake(t)

	t.Run("rotation", func(t *testing.T) {
		rt := f.signedIn(t)
		a := f.token(t, refresh(rt, graph), f.authn(t))
		require.Equal(t, http.StatusOK, a.status, a.Description)
		again := f.token(t, refresh(rt, graph), f.authn(t))
		assert.Equal(t, "invalid_grant", again.Error)
		assert.Equal(t, 70000, again.code())
		assert.Contains(t, again.Description, "already redeemed")
		next := f.token(t, refresh(a.RefreshToken, graph), f.authn(t))
		assert.Equal(t, http.StatusOK, next.status, "the new refresh token works: %s", next.Description)
		assert.True(t, f.IssuedRefreshToken(rt), "a redeemed refresh token is still one the fake issued")
	})
	t.Run("wrong assertion", func(t *testing.T) {
		rt := f.signedIn(t)
		stranger := testcert.Mint(t, "certctl stranger", testcert.Options{})
		jwt, err := login.BuildAssertion(certstore.BundleIdentity(stranger), appID, f.TokenEndpoint(), false, time.Now())
		require.NoError(t, err)
		a := f.token(t, refresh(rt, graph), url.Values{"client_id": {appID}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {jwt}})
		assert.Equal(t, "invalid_client", a.Error)
		assert.Equal(t, 700027, a.code())
		replayed := f.authn(t)
		a = f.token(t, refresh(rt, graph), replayed)
		require.Equal(t, http.StatusOK, a.status, "the refused request did not use the refresh token up: %s", a.Description)
		a = f.token(t, refresh(a.RefreshToken, graph), replayed)
		assert.Equal(t, 7000274, a.code(), "an assertion is used once")
	})
	t.Run("no client authentication", func(t *testing.T) {
		rt := f.signedIn(t)
		a := f.token(t, refresh(rt, graph), url.Values{"client_id": {appID}})
		assert.Equal(t, "invalid_client", a.Error)
		assert.Equal(t, 7000218, a.code())
	})
	t.Run("another client", func(t *testing.T) {
		rt := f.signedIn(t)
		a := f.token(t, refresh(rt, graph), url.Values{"client_id": {otherAppID}, "client_secret": {"other-secret"}})
		assert.Equal(t, "invalid_grant", a.Error)
		assert.Equal(t, 700007, a.code())
		a = f.token(t, refresh(rt, graph), url.Values{"client_id": {publicID}})
		assert.Equal(t, 700007, a.code())
		a = f.token(t, refresh(rt, graph), f.authn(t))
		assert.Equal(t, http.StatusOK, a.status, "its own client still can: %s", a.Description)
	})
	t.Run("expired", func(t *testing.T) {
		rt := f.signedIn(t)
		f.ExpireRefreshTokens()
		a := f.token(t, refresh(rt, graph), f.authn(t))
		assert.Equal(t, "invalid_grant", a.Error)
		assert.Equal(t, 700082, a.code())
		assert.Contains(t, a.Description, "expired due to inactivity")
		later := f.signedIn(t)
		a = f.token(t, refresh(later, graph), f.authn(t))
		assert.Equal(t, http.StatusOK, a.status, "a refresh token issued afterwards works: %s", a.Description)
	})
	t.Run("revoked", func(t *testing.T) {
		rt := f.signedIn(t)
		f.RevokeRefreshTokens()
		a := f.token(t, refresh(rt, graph), f.authn(t))
		assert.Equal(t, "invalid_grant", a.Error)
		assert.Equal(t, 50173, a.code())
	})
	t.Run("unknown", func(t *testing.T) {
		a := f.token(t, refresh("rt-made-up", graph), f.authn(t))
		assert.Equal(t, "invalid_grant", a.Error)
		assert.Equal(t, 70000, a.code())
		assert.False(t, f.IssuedRefreshToken("rt-made-up"))
	})
	t.Run("no scope", func(t *testing.T) {
		rt := f.signedIn(t)
		a := f.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, f.authn(t))
		assert.Equal(t, 900144, a.code())
	})
	t.Run("faults apply", func(t *testing.T) {
		rt := f.signedIn(t)
		f.SetFault(logintest.FaultHostileText)
		defer f.SetFault(logintest.NoFault)
		a := f.token(t, refresh(rt, graph), f.authn(t))
		assert.Equal(t, logintest.HostileText, strings.SplitN(strings.TrimPrefix(a.Description, "AADSTS90014: "), " Trace ID", 2)[0])
		f.SetFault(logintest.FaultServerError)
		resp, err := f.client.PostForm(f.TokenEndpoint(), refresh(rt, graph))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	})
}

func TestDeviceCodeIsBoundToItsClient(t *testing.T) {
	f := newFake(t)
	start := func(clientID string) string {
		resp, err := f.client.PostForm(f.TLS.URL+"/"+f.Tenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {clientID}, "scope": {graph + " offline_access openid"}})
		require.NoError(t, err)
		defer resp.Body.Close()
		var dc struct {
			DeviceCode string `json:"device_code"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&dc))
		require.NotEmpty(t, dc.DeviceCode)
		return dc.DeviceCode
	}
	poll := func(code string) url.Values {
		return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {code}}
	}

	code := start(publicID)
	a := f.token(t, poll(code), url.Values{"client_id": {publicID}})
	assert.Equal(t, "authorization_pending", a.Error)
	a = f.token(t, poll(code), url.Values{"client_id": {otherAppID}, "client_secret": {"other-secret"}})
	assert.Equal(t, 700007, a.code())
	a = f.token(t, poll(code), url.Values{"client_id": {publicID}})
	require.Equal(t, http.StatusOK, a.status, a.Description)
	assert.NotEmpty(t, a.RefreshToken)
	a = f.token(t, poll(code), url.Values{"client_id": {publicID}})
	assert.Equal(t, "invalid_grant", a.Error, "a device code is redeemed once")

	code = start(appID)
	a = f.token(t, poll(code), url.Values{"client_id": {appID}})
	assert.Equal(t, 7000218, a.code(), "a confidential app authenticates")
	a = f.token(t, poll(code), f.authn(t))
	assert.Equal(t, "authorization_pending", a.Error)
	a = f.token(t, poll(code), f.authn(t))
	require.Equal(t, http.StatusOK, a.status, a.Description)
	a = f.token(t, refresh(a.RefreshToken, partner), f.authn(t))
	assert.Equal(t, http.StatusOK, a.status, a.Description)
}

// TestOrganizationsEndpoint: a person may sign in through /organizations,
// an application's own token needs its tenant.
func TestOrganizationsEndpoint(t *testing.T) {
	f := newFake(t)
	base := f.TLS.URL + "/organizations/oauth2/v2.0/"
	resp, err := f.client.PostForm(base+"devicecode", url.Values{"client_id": {publicID}, "scope": {graph + " offline_access"}})
	require.NoError(t, err)
	var dc struct {
		DeviceCode string `json:"device_code"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&dc))
	resp.Body.Close()
	post := func(form url.Values) answer {
		resp, err := f.client.PostForm(base+"token", form)
		require.NoError(t, err)
		defer resp.Body.Close()
		var a answer
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&a))
		a.status = resp.StatusCode
		return a
	}
	poll := url.Values{"grant_type": {"device_code"}, "device_code": {dc.DeviceCode}, "client_id": {publicID}}
	assert.Equal(t, "authorization_pending", post(poll).Error)
	a := post(poll)
	require.Equal(t, http.StatusOK, a.status, a.Description)
	assert.Equal(t, f.Tenant, claims(t, a.AccessToken)["tid"])

	a = post(url.Values{"grant_type": {"client_credentials"}, "client_id": {otherAppID}, "client_secret": {"other-secret"}, "scope": {graph}})
	assert.Equal(t, 50059, a.code())
	a = f.token(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {otherAppID}, "client_secret": {"other-secret"}, "scope": {graph + " openid profile offline_access"}})
	require.Equal(t, http.StatusOK, a.status, a.Description)
	assert.Empty(t, a.RefreshToken, "an application's token comes without a refresh token")
	a = f.token(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {otherAppID}, "client_secret": {"other-secret"}, "scope": {"User.Read"}})
	assert.Equal(t, 1002012, a.code())
}

// page is Resource Manager's answer.
type page struct {
	status int
	Value  []struct {
		ID string `json:"subscriptionId"`
	} `json:"value"`
	NextLink string `json:"nextLink"`
	Error    struct {
		Code string `json:"code"`
	} `json:"error"`
}

func (f *fake) subscriptions(t *testing.T, token, u string) page {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := f.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var p page
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&p))
	p.status = resp.StatusCode
	return p
}

func TestSubscriptionPaging(t *testing.T) {
	f := newFake(t)
	var subs []map[string]string
	for i := range 5 {
		subs = append(subs, map[string]string{"subscriptionId": fmt.Sprintf("00000000-0000-4000-8000-00000000000%d", i), "displayName": fmt.Sprint("Sub ", i), "state": "Enabled"})
	}
	f.SetSubscriptions(subs)
	f.SetSubscriptionPageSize(2)
	token := f.UserAccessToken(f.ResourceManager()+".default", time.Hour)

	u := f.ResourceManager() + "subscriptions?api-version=2022-12-01"
	var ids []string
	var links []string
	for u != "" {
		p := f.subscriptions(t, token, u)
		require.Equal(t, http.StatusOK, p.status, p.Error.Code)
		for _, v := range p.Value {
			ids = append(ids, v.ID)
		}
		if p.NextLink != "" {
			links = append(links, p.NextLink)
		}
		u = p.NextLink
		require.LessOrEqual(t, len(links), 5)
	}
	assert.Len(t, ids, 5)
	assert.Equal(t, subs[4]["subscriptionId"], ids[4])
	require.Len(t, links, 2, "three pages")
	for _, l := range links {
		next, err := url.Parse(l)
		require.NoError(t, err)
		assert.Equal(t, "https", next.Scheme)
		assert.Equal(t, strings.TrimPrefix(f.TLS.URL, "https://"), next.Host)
		assert.Equal(t, "2022-12-01", next.Query().Get("api-version"))
		assert.NotEmpty(t, next.Query().Get("$skiptoken"))
	}

	other := f.UserAccessToken(f.ResourceManager()+".default", time.Hour)
	assert.Equal(t, "InvalidSkipToken", f.subscriptions(t, other, links[0]).Error.Code, "the next page needs the same bearer token")
	assert.Equal(t, http.StatusUnauthorized, f.subscriptions(t, "", links[0]).status)

	f.SetSubscriptionPageSize(0)
	p := f.subscriptions(t, token, f.ResourceManager()+"subscriptions?api-version=2022-12-01")
	assert.Len(t, p.Value, 5)
	assert.Empty(t, p.NextLink)
}

func TestResourceManagerChecksTokens(t *testing.T) {
	f := newFake(t)
	list := f.ResourceManager() + "subscriptions?api-version=2022-12-01"
	arm := f.ResourceManager() + ".default"
	for _, tc := range []struct {
		name, token string
		status      int
		code        string
	}{
		{"valid", f.UserAccessToken(arm, time.Hour), http.StatusOK, ""},
		{"valid, double slash scope", f.UserAccessToken(f.ResourceManager()+"/.default", time.Hour), http.StatusOK, ""},
		{"expired", f.UserAccessToken(arm, -time.Minute), http.StatusUnauthorized, "ExpiredAuthenticationToken"},
		{"for Graph", f.UserAccessToken(graph, time.Hour), http.StatusUnauthorized, "InvalidAuthenticationTokenAudience"},
		{"for public Resource Manager", f.UserAccessToken("https://management.core.windows.net//.default", time.Hour), http.StatusUnauthorized, "InvalidAuthenticationTokenAudience"},
		{"for a path below", f.UserAccessToken(f.ResourceManager()+"x/.default", time.Hour), http.StatusUnauthorized, "InvalidAuthenticationTokenAudience"},
		{"not issued", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln", http.StatusUnauthorized, "InvalidAuthenticationToken"},
		{"none", "", http.StatusUnauthorized, "AuthenticationFailed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := f.subscriptions(t, tc.token, list)
			assert.Equal(t, tc.status, p.status)
			assert.Equal(t, tc.code, p.Error.Code)
		})
	}
	token := f.UserAccessToken(arm, time.Hour)
	assert.True(t, f.IssuedToken(token))
	c := claims(t, token)
	assert.Equal(t, f.User, c["upn"])
	assert.Equal(t, "MissingApiVersionParameter", f.subscriptions(t, token, f.ResourceManager()+"subscriptions").Error.Code)
}

// clientOptions point azidentity at the fake.
func clientOptions(s *logintest.Server) azcore.ClientOptions {
	return azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: s.AuthorityHost()},
		Transport: s.TLS.Client(),
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}
}

// TestMSALDeviceCodeAndRefresh: MSAL's device code flow, then tokens for
// other resources through refresh tokens, which it rotates.
func TestMSALDeviceCodeAndRefresh(t *testing.T) {
	s := logintest.New(t)
	var shown string
	cred, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
		ClientOptions: clientOptions(s), DisableInstanceDiscovery: true, TenantID: s.Tenant,
		UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error { shown = m.Message; return nil },
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rec, err := cred.Authenticate(ctx, &policy.TokenRequestOptions{Scopes: []string{s.ResourceManager() + ".default"}})
	require.NoError(t, err)
	assert.Contains(t, shown, "FAKE-CODE")
	assert.Equal(t, s.User, rec.Username)
	for i, scope := range []string{graph, partner} {
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
		require.NoError(t, err)
		assert.Equal(t, strings.TrimSuffix(scope, "/.default"), claims(t, tok.Token)["aud"])
		assert.Equal(t, i+1, s.RefreshTokenRedemptions(), "MSAL keeps the rotated refresh token")
	}
}

// TestMSALBrowserFlow: MSAL's interactive flow (form_post, PKCE, its
// loopback listener) through a browser that xdg-open starts.
func TestMSALBrowserFlow(t *testing.T) {
	s := logintest.New(t)
	bin := t.TempDir()
	ca, err := s.WriteCA(bin)
	require.NoError(t, err)
	exe, err := os.Executable()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(bin, "xdg-open"), []byte("#!/bin/sh\nexec \""+exe+"\" \"$@\"\n"), 0o755))
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("LOGINTEST_BROWSER", "1")
	t.Setenv("LOGINTEST_CA", ca)

	cred, err := azidentity.NewInteractiveBrowserCredential(&azidentity.InteractiveBrowserCredentialOptions{
		ClientOptions: clientOptions(s), DisableInstanceDiscovery: true, TenantID: s.Tenant,
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rec, err := cred.Authenticate(ctx, &policy.TokenRequestOptions{Scopes: []string{s.ResourceManager() + ".default"}})
	require.NoError(t, err)
	assert.Equal(t, s.User, rec.Username)
	auths := s.Authorizations()
	require.Len(t, auths, 1)
	assert.Equal(t, "form_post", auths[0].ResponseMode)
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{exchange}})
	require.NoError(t, err)
	assert.Equal(t, "https://outlook.office365.com", claims(t, tok.Token)["aud"])
	assert.Equal(t, 1, s.RefreshTokenRedemptions())
}
