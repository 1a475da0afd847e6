package login

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/internal/logintest"
	"github.com/certctl/certctl/internal/testcert"
)

// sinceLast returns the requests s served since the last call.
func sinceLast(s *logintest.Server) func() []string {
	seen := len(s.Requests())
	return func() []string {
		all := s.Requests()
		got := all[seen:]
		seen = len(all)
		return got
	}
}

// nonInteractive are the sign-ins that keep discovery metadata: each
// returns its options against s, with the metadata kept in dir.
func nonInteractive(t *testing.T, s *logintest.Server, dir string) map[string]Options {
	t.Helper()
	b := testcert.Mint(t, "certctl metadata", testcert.Options{})
	s.RegisterCertificate(appID, b.Leaf)
	const secretApp = "0c5a1e2d-0000-4000-8000-00000000b55b"
	s.RegisterSecret(secretApp, "the-metadata-secret")
	const fedApp = "0c5a1e2d-0000-4000-8000-00000000f00f"
	s.RegisterFederated(fedApp, "federated-metadata-token")
	fedFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(fedFile, []byte("federated-metadata-token"), 0o600))

	cert := certOptions(s, certstore.BundleIdentity(b))
	cert.OpenBrowser = func(u string) error { return logintest.Browse(s.TLS.Client(), u) }
	got, err := Consent(context.Background(), ConsentOptions{Options: cert})
	require.NoError(t, err)
	rtFile := filepath.Join(t.TempDir(), "app.rt")
	require.NoError(t, SaveRefreshToken(rtFile, got.RefreshToken))
	refresh := cert
	refresh.Method, refresh.RefreshTokenFile = MethodRefreshToken, rtFile

	rt := s.TLS.Client().Transport
	all := map[string]Options{
		"certificate":       cert,
		"secret":            {Method: MethodSecret, Environment: env(s), Tenant: s.Tenant, ClientID: secretApp, Secret: "the-metadata-secret", RoundTripper: rt},
		"workload identity": {Method: MethodWorkloadIdentity, Environment: env(s), Tenant: s.Tenant, ClientID: fedApp, FederatedTokenFile: fedFile, RoundTripper: rt},
		"refresh token":     refresh,
	}
	for k, o := range all {
		o.MetadataDir = dir
		all[k] = o
	}
	return all
}

// TestTokenInOneRequest: the first sign-in of a tenant reads its discovery
// document and keeps it; every later one makes the token request alone.
func TestTokenInOneRequest(t *testing.T) {
	s := logintest.New(t)
	dir := t.TempDir()
	discovery := "GET /" + s.Tenant + "/v2.0/.well-known/openid-configuration"
	token := "POST /" + s.Tenant + "/oauth2/v2.0/token"
	opts := nonInteractive(t, s, dir)
	names := make([]string, 0, len(opts))
	for name := range opts {
		names = append(names, name)
	}
	sort.Strings(names)
	requests := sinceLast(s)
	for i, name := range names {
		o := opts[name]
		tok, err := Token(context.Background(), o, "")
		require.NoError(t, err, name)
		assert.True(t, s.IssuedToken(tok.Token), name)
		if i == 0 {
			assert.Equal(t, []string{discovery, token}, requests(), "%s: the first sign-in of the tenant reads its metadata", name)
		} else {
			assert.Equal(t, []string{token}, requests(), "%s: the tenant's metadata is kept", name)
		}
		_, err = Token(context.Background(), o, "https://graph.microsoft.com/.default")
		require.NoError(t, err, name)
		assert.Equal(t, []string{token}, requests(), name)
	}

	// The file: 0600, public data only, with the time it was fetched.
	path := filepath.Join(dir, MetadataFile)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, secret := range []string{"the-metadata-secret", "federated-metadata-token", "eyJ", "refresh"} {
		assert.NotContains(t, string(data), secret)
	}
	f := readMetadataFile(dir)
	require.Len(t, f.Authorities, 1)
	m := f.Authorities[0]
	assert.Equal(t, strings.TrimSuffix(s.AuthorityHost(), "/")+"/"+s.Tenant, m.Authority)
	assert.Equal(t, s.TokenEndpoint(), m.TokenEndpoint)
	assert.WithinDuration(t, time.Now(), m.FetchedAt, time.Minute)

	// Without a folder nothing is kept: two requests each time.
	o := opts["secret"]
	o.MetadataDir = ""
	_, err = Token(context.Background(), o, "")
	require.NoError(t, err)
	assert.Equal(t, []string{discovery, token}, requests())
}

// setFetchedAt rewrites the time the kept metadata was fetched.
func setFetchedAt(t *testing.T, dir string, at time.Time) {
	t.Helper()
	f := readMetadataFile(dir)
	require.NotEmpty(t, f.Authorities)
	for i := range f.Authorities {
		f.Authorities[i].FetchedAt = at
	}
	writeMetadataFile(t, dir, f)
}

func writeMetadataFile(t *testing.T, dir string, f metadataFile) {
	t.Helper()
	data, err := json.Marshal(f)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, MetadataFile), data, 0o600))
}

// TestMetadataIsRefreshed: kept metadata older than a day, or from the
// future, is fetched again; so is metadata whose token endpoint moved,
// at the first request that finds it gone.
func TestMetadataIsRefreshed(t *testing.T) {
	s := logintest.New(t)
	dir := t.TempDir()
	o := nonInteractive(t, s, dir)["certificate"]
	discovery := "GET /" + s.Tenant + "/v2.0/.well-known/openid-configuration"
	token := "POST /" + s.Tenant + "/oauth2/v2.0/token"
	_, err := Token(context.Background(), o, "")
	require.NoError(t, err)
	requests := sinceLast(s)

	for _, tc := range []struct {
		name string
		at   time.Time
		want []string
	}{
		{"an hour old", time.Now().Add(-time.Hour), []string{token}},
		{"a day old", time.Now().Add(-MetadataMaxAge - time.Minute), []string{discovery, token}},
		{"from the future", time.Now().Add(time.Hour), []string{discovery, token}},
	} {
		setFetchedAt(t, dir, tc.at)
		_, err := Token(context.Background(), o, "")
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, requests(), tc.name)
		m := readMetadataFile(dir).Authorities[0]
		if len(tc.want) == 2 {
			assert.WithinDuration(t, time.Now(), m.FetchedAt, time.Minute, "%s: the file has the new fetch", tc.name)
		}
	}

	// The service moves its token endpoint: the kept one answers 404, so
	// the document is fetched at once and the request sent again.
	s.MoveTokenEndpoint("/oauth2/v2.1/token")
	moved := "POST /" + s.Tenant + "/oauth2/v2.1/token"
	tok, err := Token(context.Background(), o, "")
	require.NoError(t, err)
	assert.True(t, s.IssuedToken(tok.Token))
	assert.Equal(t, []string{token, discovery, moved}, requests())
	assert.Equal(t, strings.TrimSuffix(s.AuthorityHost(), "/")+"/"+s.Tenant+"/oauth2/v2.1/token", readMetadataFile(dir).Authorities[0].TokenEndpoint)
	_, err = Token(context.Background(), o, "")
	require.NoError(t, err)
	assert.Equal(t, []string{moved}, requests())

	// A refusal by the service is not a moved endpoint: no new fetch.
	bad := o
	bad.Identity = certstore.BundleIdentity(testcert.Mint(t, "certctl unregistered", testcert.Options{}))
	_, err = Token(context.Background(), bad, "")
	var se *SignInError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 700027, se.Code)
	assert.Equal(t, []string{moved}, requests())
}

// TestKeptMetadataIsChecked: metadata read from the file passes the
// checks of a fetched document. An entry that fails them is never used:
// the document is fetched again, and nothing goes where the entry said.
func TestKeptMetadataIsChecked(t *testing.T) {
	s := logintest.New(t)
	dir := t.TempDir()
	o := nonInteractive(t, s, dir)["secret"]
	_, err := Token(context.Background(), o, "")
	require.NoError(t, err)
	good := readMetadataFile(dir).Authorities[0]
	foreign := strings.Replace(good.TokenEndpoint, strings.TrimPrefix(s.TLS.URL, "https://"), strings.TrimPrefix(s.LocalhostURL(), "https://"), 1)
	for _, tc := range []struct {
		name   string
		change func(*Metadata)
	}{
		{"http token endpoint", func(m *Metadata) { m.TokenEndpoint = s.Catcher.URL + "/" + s.Tenant + "/oauth2/v2.0/token" }},
		{"token endpoint on another host", func(m *Metadata) { m.TokenEndpoint = foreign }},
		{"token endpoint with a password", func(m *Metadata) {
			m.TokenEndpoint = strings.Replace(good.TokenEndpoint, "https://", "https://user:pw@", 1)
		}},
		{"no token endpoint", func(m *Metadata) { m.TokenEndpoint = "" }},
		{"no issuer", func(m *Metadata) { m.Issuer = "" }},
		{"issuer on another host", func(m *Metadata) { m.Issuer = s.LocalhostURL() + "/" + s.Tenant + "/v2.0" }},
		{"http device endpoint", func(m *Metadata) { m.DeviceAuthorizationEndpoint = s.Catcher.URL + "/devicecode" }},
	} {
		m := good
		tc.change(&m)
		writeMetadataFile(t, dir, metadataFile{Authorities: []Metadata{m}})
		requests := sinceLast(s)
		tok, err := Token(context.Background(), o, "")
		require.NoError(t, err, tc.name)
		assert.True(t, s.IssuedToken(tok.Token), tc.name)
		assert.Len(t, requests(), 2, "%s: the document is fetched again", tc.name)
		assert.Equal(t, good.TokenEndpoint, readMetadataFile(dir).Authorities[0].TokenEndpoint, "%s: the entry is replaced", tc.name)
	}
	assert.Empty(t, s.Caught(), "nothing may reach the catcher")

	// A file that is not JSON, or that others could change, is not used,
	// and is replaced.
	for _, tc := range []struct {
		name string
		data string
		mode os.FileMode
	}{
		{"not JSON", "{", 0o600},
		{"group-writable", "", 0o620},
	} {
		path := filepath.Join(dir, MetadataFile)
		if tc.data != "" {
			require.NoError(t, os.WriteFile(path, []byte(tc.data), tc.mode))
		}
		require.NoError(t, os.Chmod(path, tc.mode))
		requests := sinceLast(s)
		_, err := Token(context.Background(), o, "")
		require.NoError(t, err, tc.name)
		assert.Len(t, requests(), 2, tc.name)
		fi, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), tc.name)
		assert.Len(t, readMetadataFile(dir).Authorities, 1, tc.name)
	}
}

// TestDiscoveryIsChecked: a fetched document whose issuer or token
// endpoint is not the authority's is refused before any credential is
// sent, and nothing is kept.
func TestDiscoveryIsChecked(t *testing.T) {
	for _, fault := range []logintest.Fault{logintest.FaultForeignIssuer, logintest.FaultForeignDiscovery, logintest.FaultCleartextDiscovery} {
		s := logintest.New(t)
		dir := t.TempDir()
		o := nonInteractive(t, s, dir)["secret"]
		s.SetFault(fault)
		requests := sinceLast(s)
		_, err := Token(context.Background(), o, "")
		require.ErrorIs(t, err, ErrRefusedEndpoint)
		assert.Contains(t, err.Error(), "the discovery document of "+strings.TrimPrefix(s.TLS.URL, "https://"))
		assert.Equal(t, []string{"GET /" + s.Tenant + "/v2.0/.well-known/openid-configuration"}, requests(), "no token request")
		assert.Empty(t, s.Caught())
		_, serr := os.Stat(filepath.Join(dir, MetadataFile))
		assert.True(t, os.IsNotExist(serr), "nothing is kept")
	}
}

// TestRetryWithFreshAssertion: the service fails a token request after it
// used up the request's client assertion. The retry carries an assertion
// of its own, so it is not refused as a replay.
func TestRetryWithFreshAssertion(t *testing.T) {
	s := logintest.New(t)
	b := testcert.Mint(t, "certctl retry", testcert.Options{})
	s.RegisterCertificate(appID, b.Leaf)
	o := certOptions(s, certstore.BundleIdentity(b))
	retry := fastRetry
	o.Retry = &retry
	s.SetFault(logintest.FaultUnavailableOnce)
	tok, err := Token(context.Background(), o, "")
	require.NoError(t, err)
	assert.True(t, s.IssuedToken(tok.Token))
	assert.Equal(t, 2, countTokenRequests(s))
}

// formRecorder keeps the form of every POST it carries.
type formRecorder struct {
	rt    http.RoundTripper
	mu    sync.Mutex
	forms []url.Values
}

func (r *formRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && req.Body != nil {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, err
		}
		r.mu.Lock()
		r.forms = append(r.forms, form)
		r.mu.Unlock()
	}
	return r.rt.RoundTrip(req)
}

func (r *formRecorder) last(t *testing.T) url.Values {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.NotEmpty(t, r.forms)
	return r.forms[len(r.forms)-1]
}

// TestSameRequestAsMSAL: certctl's own token request sends what MSAL,
// through azidentity, sent for the same sign-in: the same fields and
// values, and a client assertion with the same header and claims (only
// its id and times differ).
func TestSameRequestAsMSAL(t *testing.T) {
	s := logintest.New(t)
	b := testcert.Mint(t, "certctl msal", testcert.Options{})
	s.RegisterCertificate(appID, b.Leaf)
	const secretApp = "0c5a1e2d-0000-4000-8000-00000000b55c"
	s.RegisterSecret(secretApp, "the-msal-secret")
	rec := &formRecorder{rt: s.TLS.Client().Transport}
	id := certstore.BundleIdentity(b)
	scope := env(s).ManagementScope()
	copts := azcore.ClientOptions{Cloud: env(s).cloudConfig(), Transport: &http.Client{Transport: rec}}

	for _, tc := range []struct {
		name string
		msal func() (azcore.TokenCredential, error)
		o    Options
	}{
		{"certificate", func() (azcore.TokenCredential, error) {
			return azidentity.NewClientAssertionCredential(s.Tenant, appID, func(context.Context) (string, error) {
				return BuildAssertion(id, appID, env(s).TokenEndpoint(s.Tenant), true, time.Now())
			}, &azidentity.ClientAssertionCredentialOptions{ClientOptions: copts, DisableInstanceDiscovery: true})
		}, Options{Method: MethodCertificate, Environment: env(s), Tenant: s.Tenant, ClientID: appID, Identity: id, SendChain: true, RoundTripper: rec}},
		{"secret", func() (azcore.TokenCredential, error) {
			return azidentity.NewClientSecretCredential(s.Tenant, secretApp, "the-msal-secret", &azidentity.ClientSecretCredentialOptions{ClientOptions: copts, DisableInstanceDiscovery: true})
		}, Options{Method: MethodSecret, Environment: env(s), Tenant: s.Tenant, ClientID: secretApp, Secret: "the-msal-secret", RoundTripper: rec}},
	} {
		cred, err := tc.msal()
		require.NoError(t, err)
		_, err = cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{scope}})
		require.NoError(t, err, tc.name)
		want := rec.last(t)
		_, err = Token(context.Background(), tc.o, scope)
		require.NoError(t, err, tc.name)
		got := rec.last(t)

		assert.ElementsMatch(t, keys(want), keys(got), tc.name)
		for k := range want {
			switch k {
			case "scope":
				assert.ElementsMatch(t, strings.Fields(want.Get(k)), strings.Fields(got.Get(k)), tc.name)
			case "client_assertion":
				wantHeader, wantClaims := jwtParts(t, want.Get(k))
				gotHeader, gotClaims := jwtParts(t, got.Get(k))
				assert.Equal(t, wantHeader, gotHeader, tc.name)
				assert.ElementsMatch(t, keys(wantClaims), keys(gotClaims), tc.name)
				for c := range wantClaims {
					if c != "jti" && c != "nbf" && c != "exp" && c != "iat" {
						assert.Equal(t, wantClaims[c], gotClaims[c], "%s: claim %s", tc.name, c)
					}
				}
				assert.NotEqual(t, wantClaims["jti"], gotClaims["jti"])
			default:
				assert.Equal(t, want[k], got[k], "%s: field %s", tc.name, k)
			}
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func jwtParts(t *testing.T, jwt string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	require.Len(t, parts, 3)
	require.NoError(t, decodeSegment(parts[0], &header))
	require.NoError(t, decodeSegment(parts[1], &claims))
	return header, claims
}

// TestCredentialKeepsTokens: the credential NewCredential returns, which
// the Azure SDK asks before every request, asks the identity service once
// per scope while the token lasts.
func TestCredentialKeepsTokens(t *testing.T) {
	s := logintest.New(t)
	o := nonInteractive(t, s, t.TempDir())["secret"]
	cred, err := NewCredential(o)
	require.NoError(t, err)
	requests := sinceLast(s)
	vault := policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}}
	first, err := cred.GetToken(context.Background(), vault)
	require.NoError(t, err)
	again, err := cred.GetToken(context.Background(), vault)
	require.NoError(t, err)
	assert.Equal(t, first.Token, again.Token)
	_, err = cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}})
	require.NoError(t, err)
	token := "POST /" + s.Tenant + "/oauth2/v2.0/token"
	assert.Equal(t, []string{"GET /" + s.Tenant + "/v2.0/.well-known/openid-configuration", token, token}, requests(), "discovery, then one token request per scope")

	o.Secret = ""
	_, err = NewCredential(o)
	require.ErrorIs(t, err, ErrMissing)
}
