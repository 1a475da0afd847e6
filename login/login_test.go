package login

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/internal/logintest"
	"github.com/certctl/certctl/internal/testcert"
	"github.com/certctl/certctl/pfx"
)

const appID = "0c5a1e2d-0000-4000-8000-00000000a99a"

// TestMain doubles as the browser that xdg-open would start, so the
// browser flow runs for real: OpenBrowser starts xdg-open with the
// authorize URL, and the "browser" follows the fake's redirect back to the
// loopback listener.
func TestMain(m *testing.M) {
	if os.Getenv("CERTCTL_TEST_BROWSER") == "1" {
		if err := fakeBrowser(os.Args[len(os.Args)-1]); err != nil {
			os.Stderr.WriteString("fake browser: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func fakeBrowser(u string) error {
	pemData, err := os.ReadFile(os.Getenv("CERTCTL_TEST_CA"))
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemData)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 20 * time.Second}
	return logintest.Browse(c, u)
}

func env(s *logintest.Server) Environment {
	return Environment{Name: "Fake", AuthorityHost: s.AuthorityHost(), ResourceManager: s.ResourceManager(), Custom: true}
}

func certOptions(s *logintest.Server, id certstore.Identity) Options {
	return Options{
		Method: MethodCertificate, Environment: env(s), Tenant: s.Tenant, ClientID: appID,
		Identity: id, RoundTripper: s.TLS.Client().Transport,
	}
}

func TestCertificateSignIn(t *testing.T) {
	s := logintest.New(t)
	b := testcert.Mint(t, "certctl login app", testcert.Options{})
	s.RegisterCertificate(appID, b.Leaf)

	res, err := SignIn(context.Background(), certOptions(s, certstore.BundleIdentity(b)))
	require.NoError(t, err)
	assert.Equal(t, appID, res.Account)
	assert.Equal(t, s.Tenant, res.Tenant)
	require.NotNil(t, res.Subscription)
	assert.Equal(t, "Contoso Production", res.Subscription.Name)
	assert.Empty(t, res.Warnings)
	assert.Contains(t, s.Requests(), "POST /"+s.Tenant+"/oauth2/v2.0/token")
}

func TestCertificateFromFileStore(t *testing.T) {
	s := logintest.New(t)
	b := testcert.Mint(t, "certctl stored app", testcert.Options{})
	s.RegisterCertificate(appID, b.Leaf)
	st, err := certstore.Open("My", certstore.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	res, err := st.Import(b, certstore.ImportOptions{})
	require.NoError(t, err)
	id, err := st.Find(res.Entry.Thumbprint)
	require.NoError(t, err)

	tok, err := Token(context.Background(), certOptions(s, id), "")
	require.NoError(t, err)
	assert.True(t, s.IssuedToken(tok.Token))
}

func TestSendCertificateChain(t *testing.T) {
	s := logintest.New(t)
	root := testcert.Mint(t, "certctl root", testcert.Options{})
	leaf := testcert.Mint(t, "certctl chained app", testcert.Options{Parent: root})
	s.RegisterCertificate(appID, leaf.Leaf)
	o := certOptions(s, certstore.BundleIdentity(leaf))
	o.SendChain = true
	_, err := SignIn(context.Background(), o)
	require.NoError(t, err)

	jwt, err := BuildAssertion(certstore.BundleIdentity(leaf), appID, s.TokenEndpoint(), true, time.Now())
	require.NoError(t, err)
	var header struct {
		Alg string   `json:"alg"`
		X5c []string `json:"x5c"`
	}
	require.NoError(t, decodeSegment(strings.Split(jwt, ".")[0], &header))
	assert.Equal(t, "PS256", header.Alg)
	assert.Len(t, header.X5c, 2)
}

func TestCertificateRefusals(t *testing.T) {
	s := logintest.New(t)
	registered := testcert.Mint(t, "certctl registered", testcert.Options{})
	s.RegisterCertificate(appID, registered.Leaf)

	t.Run("not registered", func(t *testing.T) {
		other := testcert.Mint(t, "certctl unregistered", testcert.Options{})
		_, err := SignIn(context.Background(), certOptions(s, certstore.BundleIdentity(other)))
		var se *SignInError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, 700027, se.Code)
	})

	t.Run("tampered signature", func(t *testing.T) {
		// The certificate is registered, but the signature is made with
		// another key: the fake verifies it and refuses.
		forger := testcert.Mint(t, "certctl forger", testcert.Options{})
		id := forgedIdentity{Identity: certstore.BundleIdentity(registered), key: forger.Key}
		_, err := SignIn(context.Background(), certOptions(s, id))
		var se *SignInError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, 50012, se.Code)
	})

	t.Run("tampered claims", func(t *testing.T) {
		jwt, err := BuildAssertion(certstore.BundleIdentity(registered), appID, s.TokenEndpoint(), false, time.Now())
		require.NoError(t, err)
		parts := strings.Split(jwt, ".")
		parts[1] = b64([]byte(`{"aud":"` + s.TokenEndpoint() + `","iss":"` + appID + `","sub":"` + appID + `","jti":"x","nbf":0,"exp":9999999999}`))
		assert.Contains(t, postAssertion(t, s, strings.Join(parts, ".")), "AADSTS50012")
	})

	t.Run("replayed assertion", func(t *testing.T) {
		jwt, err := BuildAssertion(certstore.BundleIdentity(registered), appID, s.TokenEndpoint(), false, time.Now())
		require.NoError(t, err)
		assert.Contains(t, postAssertion(t, s, jwt), "access_token")
		assert.Contains(t, postAssertion(t, s, jwt), "AADSTS7000274")
	})

	t.Run("wrong audience", func(t *testing.T) {
		jwt, err := BuildAssertion(certstore.BundleIdentity(registered), appID, "https://login.microsoftonline.com/x/oauth2/v2.0/token", false, time.Now())
		require.NoError(t, err)
		assert.Contains(t, postAssertion(t, s, jwt), "AADSTS700212")
	})

	t.Run("expired certificate, refused before any request", func(t *testing.T) {
		old := testcert.Mint(t, "certctl expired", testcert.Options{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
		s.RegisterCertificate(appID, old.Leaf)
		before := len(s.Requests())
		_, err := SignIn(context.Background(), certOptions(s, certstore.BundleIdentity(old)))
		require.ErrorIs(t, err, ErrCertificateUnusable)
		assert.Contains(t, err.Error(), "expired on")
		assert.Len(t, s.Requests(), before, "no request may be made")
	})

	t.Run("expired certificate, refused by the service", func(t *testing.T) {
		old := testcert.Mint(t, "certctl expired 2", testcert.Options{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
		s.RegisterCertificate(appID, old.Leaf)
		o := certOptions(s, certstore.BundleIdentity(old))
		o.Now = func() time.Time { return old.Leaf.NotAfter.Add(-time.Hour) } // a machine with a wrong clock
		_, err := SignIn(context.Background(), o)
		var se *SignInError
		require.ErrorAs(t, err, &se)
		assert.Contains(t, []int{700027, 700024}, se.Code)
	})

	t.Run("ECDSA, refused before any request", func(t *testing.T) {
		ec := testcert.Mint(t, "certctl ec", testcert.Options{Key: "ecdsa"})
		before := len(s.Requests())
		_, err := SignIn(context.Background(), certOptions(s, certstore.BundleIdentity(ec)))
		require.ErrorIs(t, err, ErrCertificateUnusable)
		assert.Contains(t, err.Error(), "ECDSA P-256 key")
		assert.Len(t, s.Requests(), before)
	})

	t.Run("unknown application", func(t *testing.T) {
		o := certOptions(s, certstore.BundleIdentity(registered))
		o.ClientID = "99999999-0000-4000-8000-000000000000"
		_, err := SignIn(context.Background(), o)
		var se *SignInError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, 700016, se.Code)
	})

	t.Run("unknown tenant", func(t *testing.T) {
		o := certOptions(s, certstore.BundleIdentity(registered))
		o.Tenant = "nosuchtenant.example"
		_, err := SignIn(context.Background(), o)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "90002")
	})
}

// forgedIdentity signs with a key that is not the certificate's.
type forgedIdentity struct {
	certstore.Identity
	key crypto.Signer
}

func (f forgedIdentity) Signer() (crypto.Signer, error) { return f.key, nil }

func postAssertion(t *testing.T, s *logintest.Server, jwt string) string {
	t.Helper()
	resp, err := s.TLS.Client().PostForm(s.TokenEndpoint(), url.Values{
		"grant_type": {"client_credentials"}, "client_id": {appID}, "scope": {s.ResourceManager() + ".default"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {jwt},
	})
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func TestClientSecret(t *testing.T) {
	s := logintest.New(t)
	s.RegisterSecret(appID, "the-right-secret")
	o := Options{Method: MethodSecret, Environment: env(s), Tenant: s.Tenant, ClientID: appID, Secret: "the-right-secret", RoundTripper: s.TLS.Client().Transport}
	res, err := SignIn(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, appID, res.Account)

	o.Secret = "a-wrong-secret"
	_, err = SignIn(context.Background(), o)
	var se *SignInError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 7000215, se.Code)
	assert.NotContains(t, err.Error(), "a-wrong-secret")
}

func TestManagedIdentity(t *testing.T) {
	for _, tc := range []struct {
		name    string
		o       Options
		account string
	}{
		{"system-assigned", Options{}, "system-assigned managed identity"},
		{"user-assigned by client id", Options{ClientID: "5e1f0000-0000-4000-8000-00000000000c"}, "managed identity 5e1f0000-0000-4000-8000-00000000000c"},
		{"user-assigned by resource id", Options{ManagedIdentityResourceID: "/subscriptions/x/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id"}, "managed identity /subscriptions/x/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A server per case: MSAL caches managed identity tokens per
			// process and resource, and each server is another resource.
			s := logintest.New(t)
			t.Setenv("IDENTITY_ENDPOINT", s.MSI.URL+"/msi/token")
			t.Setenv("IDENTITY_HEADER", s.MSIHeader)
			o := tc.o
			o.Method, o.Environment, o.RoundTripper = MethodManagedIdentity, env(s), s.TLS.Client().Transport
			res, err := SignIn(context.Background(), o)
			require.NoError(t, err)
			assert.Equal(t, tc.account, res.Account)
			assert.Equal(t, s.Tenant, res.Tenant)
			require.NotNil(t, res.Subscription)
		})
	}
}

func TestWorkloadIdentity(t *testing.T) {
	s := logintest.New(t)
	s.RegisterFederated(appID, "federated-oidc-token")
	file := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(file, []byte("federated-oidc-token"), 0o600))
	o := Options{Method: MethodWorkloadIdentity, Environment: env(s), Tenant: s.Tenant, ClientID: appID, FederatedTokenFile: file, RoundTripper: s.TLS.Client().Transport}
	res, err := SignIn(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, appID, res.Account)

	require.NoError(t, os.WriteFile(file, []byte("some-other-token"), 0o600))
	o.Environment.ResourceManager = s.ResourceManager() + "x/" // a scope with no cached token
	_, err = SignIn(context.Background(), o)
	var se *SignInError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 700213, se.Code)
}

func TestDeviceCode(t *testing.T) {
	s := logintest.New(t)
	var shown string
	o := Options{Method: MethodDeviceCode, Environment: env(s), Tenant: s.Tenant, RoundTripper: s.TLS.Client().Transport, DeviceCodePrompt: func(m string) { shown = m }}
	res, err := SignIn(context.Background(), o)
	require.NoError(t, err)
	assert.Contains(t, shown, "FAKE-CODE")
	assert.Equal(t, s.User, res.Account)
	assert.Equal(t, s.Tenant, res.Tenant)
}

func TestBrowser(t *testing.T) {
	s := logintest.New(t)
	bin := t.TempDir()
	ca, err := s.WriteCA(bin)
	require.NoError(t, err)
	exe, err := os.Executable()
	require.NoError(t, err)
	script := "#!/bin/sh\nexec \"" + exe + "\" \"$@\"\n"
	require.NoError(t, os.WriteFile(filepath.Join(bin, "xdg-open"), []byte(script), 0o755))
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("CERTCTL_TEST_BROWSER", "1")
	t.Setenv("CERTCTL_TEST_CA", ca)

	o := Options{Method: MethodBrowser, Environment: env(s), Tenant: s.Tenant, RoundTripper: s.TLS.Client().Transport}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := SignIn(ctx, o)
	require.NoError(t, err)
	assert.Equal(t, s.User, res.Account)
}

func TestNetworkErrorNamesHost(t *testing.T) {
	e := Environment{Name: "Dead", AuthorityHost: "https://127.0.0.1:1/", ResourceManager: "https://127.0.0.1:1/arm/", Custom: true}
	b := testcert.Mint(t, "certctl dead", testcert.Options{})
	start := time.Now()
	_, err := SignIn(context.Background(), Options{Method: MethodCertificate, Environment: e, Tenant: "t", ClientID: appID, Identity: certstore.BundleIdentity(b)})
	var ne *NetworkError
	require.ErrorAs(t, err, &ne)
	assert.Equal(t, "127.0.0.1:1", ne.Host)
	assert.True(t, strings.HasPrefix(err.Error(), "cannot reach 127.0.0.1:1: dial tcp"), err.Error())
	t.Logf("failed after %v: %v", time.Since(start), err)
}

func TestEnvironments(t *testing.T) {
	dir := t.TempDir()
	all, err := Environments(dir)
	require.NoError(t, err)
	require.Len(t, all, 3)
	e, err := FindEnvironment(dir, "azurechinacloud")
	require.NoError(t, err)
	assert.Equal(t, "https://login.chinacloudapi.cn/", e.AuthorityHost)
	assert.Equal(t, "https://management.chinacloudapi.cn/.default", e.ManagementScope())

	require.NoError(t, AddEnvironment(dir, Environment{Name: "Stack", AuthorityHost: "https://adfs.local.azurestack.external/adfs", ResourceManager: "https://management.local.azurestack.external"}))
	e, err = FindEnvironment(dir, "stack")
	require.NoError(t, err)
	assert.True(t, e.Custom)
	assert.Equal(t, "https://adfs.local.azurestack.external/adfs", e.AuthorityHost, "paths are kept as given")
	fi, err := os.Stat(filepath.Join(dir, environmentsFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	assert.ErrorContains(t, AddEnvironment(dir, Environment{Name: "Plain", AuthorityHost: "http://x/", ResourceManager: "https://y/"}), FieldAuthorityHost)
	assert.ErrorContains(t, AddEnvironment(dir, Environment{Name: "AzureCloud", AuthorityHost: "https://x/", ResourceManager: "https://y/"}), "built in")
	_, err = FindEnvironment(dir, "Nowhere")
	assert.ErrorIs(t, err, ErrUnknownEnvironment)
	require.NoError(t, RemoveEnvironment(dir, "Stack"))
	_, err = FindEnvironment(dir, "Stack")
	assert.ErrorIs(t, err, ErrUnknownEnvironment)
}

func TestContextFile(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadContext(dir, "")
	require.ErrorIs(t, err, ErrNoContext)
	c := &Context{Method: MethodCertificate, Environment: "AzureCloud", Tenant: "t", Account: appID, ClientID: appID, Thumbprint: "3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3", Store: "My"}
	require.NoError(t, SaveContext(dir, c))
	fi, err := os.Stat(filepath.Join(dir, ContextsFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	back, err := LoadContext(dir, "")
	require.NoError(t, err)
	assert.Equal(t, c.Thumbprint, back.Thumbprint)
	assert.Equal(t, appID+"/t", back.Name, "named after account and tenant")
	removeCurrent := func(cs *Contexts) error { _, err := cs.Remove(""); return err }
	require.NoError(t, UpdateContexts(dir, removeCurrent))
	require.ErrorIs(t, UpdateContexts(dir, removeCurrent), ErrNoContext)
	_, err = LoadContext(dir, "")
	require.ErrorIs(t, err, ErrNoContext)
}

func TestPEMKeyNeverInAssertion(t *testing.T) {
	b := testcert.Mint(t, "certctl secrecy", testcert.Options{})
	jwt, err := BuildAssertion(certstore.BundleIdentity(b), appID, "https://x/t/oauth2/v2.0/token", true, time.Now())
	require.NoError(t, err)
	keyPEM, err := pfx.EncodePEM(b, true)
	require.NoError(t, err)
	block, _ := pem.Decode(keyPEM[strings.Index(string(keyPEM), "-----BEGIN PRIVATE KEY"):])
	require.NotNil(t, block)
	for _, part := range strings.Split(jwt, ".") {
		raw, _ := decodeRaw(part)
		assert.False(t, strings.Contains(string(raw), string(block.Bytes[40:80])))
	}
	assert.False(t, errors.Is(err, ErrSignIn))
}

// pkcs1OnlyIdentity stands for a Windows CryptoAPI key that cannot make
// RSA-PSS signatures.
type pkcs1OnlyIdentity struct{ certstore.Identity }

func (p pkcs1OnlyIdentity) Signer() (crypto.Signer, error) {
	s, err := p.Identity.Signer()
	return pkcs1OnlySigner{s}, err
}

type pkcs1OnlySigner struct{ crypto.Signer }

func (s pkcs1OnlySigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if _, ok := opts.(*rsa.PSSOptions); ok {
		return nil, certstore.ErrPSSUnsupported
	}
	return s.Signer.Sign(r, digest, opts)
}

func TestPKCS1OnlyKeySignsRS256(t *testing.T) {
	s := logintest.New(t)
	b := testcert.Mint(t, "certctl capi", testcert.Options{})
	s.RegisterCertificate(appID, b.Leaf)
	id := pkcs1OnlyIdentity{certstore.BundleIdentity(b)}
	jwt, err := BuildAssertion(id, appID, s.TokenEndpoint(), false, time.Now())
	require.NoError(t, err)
	var header struct{ Alg string }
	require.NoError(t, decodeSegment(strings.Split(jwt, ".")[0], &header))
	assert.Equal(t, "RS256", header.Alg)
	_, err = SignIn(context.Background(), certOptions(s, id))
	require.NoError(t, err, "the fake verifies the RS256 signature")
}
