package login

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/internal/logintest"
	"github.com/certctl/certctl/internal/testcert"
)

// TestCredentialsStayOnTheConfiguredHost signs in with each method against
// a fake that tries to lure the credential elsewhere: a 307 or 308 from the
// token endpoint, a discovery document naming a plain-HTTP or foreign token
// endpoint, Resource Manager and the managed identity endpoint redirecting
// to plain HTTP. Each sign-in must fail with an error that names the host
// and says why, the refused request must not be retried, and the fake's
// plain-HTTP catcher (which fails the test on any credential) must see
// nothing that carries one.
func TestCredentialsStayOnTheConfiguredHost(t *testing.T) {
	b := testcert.Mint(t, "certctl guard", testcert.Options{})
	fedFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(fedFile, []byte("federated-oidc-token"), 0o600))

	options := func(s *logintest.Server, m Method) Options {
		o := Options{Method: m, Environment: env(s), Tenant: s.Tenant, ClientID: appID, RoundTripper: s.TLS.Client().Transport}
		switch m {
		case MethodCertificate:
			o.Identity = certstore.BundleIdentity(b)
		case MethodSecret:
			o.Secret = "the-right-secret"
		case MethodWorkloadIdentity:
			o.FederatedTokenFile = fedFile
		case MethodManagedIdentity, MethodDeviceCode:
			o.ClientID = ""
		}
		return o
	}
	for _, tc := range []struct {
		name   string
		method Method
		fault  logintest.Fault
		want   string // in the error, after the refused host
	}{
		{"certificate, 307 from the token endpoint", MethodCertificate, logintest.FaultRedirect307, "a token request never follows a redirect"},
		{"secret, 308 from the token endpoint", MethodSecret, logintest.FaultRedirect308, "a token request never follows a redirect"},
		{"workload identity, 307 from the token endpoint", MethodWorkloadIdentity, logintest.FaultRedirect307, "a token request never follows a redirect"},
		{"secret, cleartext token endpoint in discovery", MethodSecret, logintest.FaultCleartextDiscovery, "which is not https"},
		{"certificate, cleartext token endpoint in discovery", MethodCertificate, logintest.FaultCleartextDiscovery, "which is not https"},
		{"device code, cleartext endpoints in discovery", MethodDeviceCode, logintest.FaultCleartextDiscovery, "which is not https"},
		{"secret, foreign token endpoint in discovery", MethodSecret, logintest.FaultForeignDiscovery, "neither the authority's host"},
		{"certificate, Resource Manager redirects to http", MethodCertificate, logintest.FaultRedirectARM, "only within the same scheme, host and port"},
		{"managed identity, endpoint redirects elsewhere", MethodManagedIdentity, logintest.FaultRedirectMSI, "only within the same scheme, host and port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := logintest.New(t)
			s.RegisterCertificate(appID, b.Leaf)
			s.RegisterSecret(appID, "the-right-secret")
			if tc.method == MethodWorkloadIdentity {
				s.RegisterFederated(appID, "federated-oidc-token")
			}
			if tc.method == MethodManagedIdentity {
				t.Setenv("IDENTITY_ENDPOINT", s.MSI.URL+"/msi/token")
				t.Setenv("IDENTITY_HEADER", s.MSIHeader)
			}
			s.SetFault(tc.fault)
			_, err := SignIn(context.Background(), options(s, tc.method))
			require.Error(t, err)
			var ee *EndpointError
			require.ErrorAs(t, err, &ee, "%v", err)
			assert.ErrorIs(t, err, ErrRefusedEndpoint)
			catcher, _ := url.Parse(s.Catcher.URL)
			refused := catcher.Host
			if tc.fault == logintest.FaultForeignDiscovery {
				refused = strings.TrimPrefix(s.LocalhostURL(), "https://")
			}
			assert.Equal(t, refused, ee.Host)
			assert.Contains(t, err.Error(), refused)
			assert.Contains(t, err.Error(), tc.want)
			assert.LessOrEqual(t, countTokenRequests(s), 1, "a refused request is not retried")
			assert.Empty(t, s.Caught(), "nothing may reach the plain-HTTP catcher")
			t.Logf("%v", err)
		})
	}
}

// TestAliasesAreAccepted: a token endpoint on a host that the environment
// declares as an alias of the authority is used; the same endpoint without
// the alias is refused.
func TestAliasesAreAccepted(t *testing.T) {
	s := logintest.New(t)
	s.RegisterSecret(appID, "the-right-secret")
	s.SetFault(logintest.FaultForeignDiscovery)
	o := Options{Method: MethodSecret, Environment: env(s), Tenant: s.Tenant, ClientID: appID, Secret: "the-right-secret", RoundTripper: s.TLS.Client().Transport}
	o.Environment.Aliases = []string{strings.TrimPrefix(s.LocalhostURL(), "https://")}
	_, err := SignIn(context.Background(), o)
	require.NoError(t, err)
	assert.Empty(t, s.Caught())
}

// TestBuiltinCloudsHaveTheirAliases checks the guard of each built-in cloud
// against Entra ID's published aliases, without a network.
func TestBuiltinCloudsHaveTheirAliases(t *testing.T) {
	e, err := FindEnvironment(t.TempDir(), "AzureCloud")
	require.NoError(t, err)
	g := newGuard(Options{Environment: e}, false)
	for _, host := range []string{"login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net", "LOGIN.MICROSOFTONLINE.COM:443"} {
		assert.True(t, g.authority[canonicalHost(&url.URL{Scheme: "https", Host: host})], host)
	}
	assert.False(t, g.authority[canonicalHost(&url.URL{Scheme: "https", Host: "login.microsoftonline.us"})])
	assert.False(t, g.authority[canonicalHost(&url.URL{Scheme: "https", Host: "login.microsoftonline.com:8443"})])
}

// TestPlainCredentialErrorsAreUnchanged: a refusal by Entra ID itself is
// still a SignInError, not an endpoint refusal.
func TestPlainCredentialErrorsAreUnchanged(t *testing.T) {
	s := logintest.New(t)
	s.RegisterSecret(appID, "the-right-secret")
	o := Options{Method: MethodSecret, Environment: env(s), Tenant: s.Tenant, ClientID: appID, Secret: "wrong", RoundTripper: s.TLS.Client().Transport}
	_, err := Token(context.Background(), o, "")
	assert.True(t, errors.Is(err, ErrSignIn))
	assert.False(t, errors.Is(err, ErrRefusedEndpoint))
}
