package logintest_test

import (
	"bufio"
	"context"
	"crypto"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/certctl/certctl/internal/logintest"
	"github.com/certctl/certctl/internal/testcert"
	"github.com/certctl/certctl/pfx"
)

// vaultApp is an application that reads the vaults, with a client secret.
const vaultApp = "6a0c0000-0000-4000-8000-0000000005b1"

// vaultFake is a tenant with the vault "contoso", where vaultApp is a
// Key Vault Certificate User, and a transport that reaches the vaults
// through the proxy and trusts what WriteCA writes, as a child process
// with HTTPS_PROXY and SSL_CERT_FILE would.
type vaultFake struct {
	*logintest.Server
	cred      azcore.TokenCredential
	transport *http.Transport
	// retries is the clients' MaxRetries: none unless a test wants them.
	retries int
}

func newVaultFake(t *testing.T) *vaultFake {
	s := logintest.New(t)
	s.RegisterSecret(vaultApp, "vault-secret")
	s.GrantKeyVault("contoso", vaultApp, logintest.KeyVaultCertificateUser)
	cred, err := azidentity.NewClientSecretCredential(s.Tenant, vaultApp, "vault-secret", &azidentity.ClientSecretCredentialOptions{
		ClientOptions: clientOptions(s), DisableInstanceDiscovery: true,
	})
	require.NoError(t, err)
	ca, err := s.WriteCA(t.TempDir())
	require.NoError(t, err)
	pemData, err := os.ReadFile(ca)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pemData))
	proxy, err := url.Parse(s.ProxyURL())
	require.NoError(t, err)
	tr := &http.Transport{Proxy: http.ProxyURL(proxy), TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return &vaultFake{Server: s, cred: cred, transport: tr, retries: -1}
}

func (f *vaultFake) clientOptions() azcore.ClientOptions {
	return azcore.ClientOptions{Transport: &http.Client{Transport: f.transport}, Retry: policy.RetryOptions{MaxRetries: int32(f.retries)}}
}

// certificates is a certificates client of vault; cred nil means f.cred.
func (f *vaultFake) certificates(t *testing.T, vaultURL string, cred azcore.TokenCredential) *azcertificates.Client {
	t.Helper()
	if cred == nil {
		cred = f.cred
	}
	c, err := azcertificates.NewClient(vaultURL, cred, &azcertificates.ClientOptions{ClientOptions: f.clientOptions()})
	require.NoError(t, err)
	return c
}

func (f *vaultFake) secrets(t *testing.T, vaultURL string, cred azcore.TokenCredential) *azsecrets.Client {
	t.Helper()
	if cred == nil {
		cred = f.cred
	}
	c, err := azsecrets.NewClient(vaultURL, cred, &azsecrets.ClientOptions{ClientOptions: f.clientOptions()})
	require.NoError(t, err)
	return c
}

// staticToken is a credential that always gives the same token.
type staticToken string

func (s staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// kvRefusal is the error of a Key Vault answer.
type kvRefusal struct {
	Code       string            `json:"code"`
	Message    string            `json:"message"`
	InnerError map[string]string `json:"innererror"`
}

// refused checks that err is Key Vault's answer with status and code, and
// returns its error.
func refused(t *testing.T, err error, status int, code string) kvRefusal {
	t.Helper()
	var re *azcore.ResponseError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, status, re.StatusCode)
	assert.Equal(t, code, re.ErrorCode)
	raw, err := runtime.Payload(re.RawResponse)
	require.NoError(t, err)
	var body struct{ Error kvRefusal }
	require.NoError(t, json.Unmarshal(raw, &body), "%s", raw)
	return body.Error
}

func sha1Of(cert *x509.Certificate) []byte {
	sum := sha1.Sum(cert.Raw)
	return sum[:]
}

// chained is a leaf certificate for a web server, issued by a CA.
func chained(t *testing.T, key string) *pfx.Bundle {
	ca := testcert.Mint(t, "Contoso CA", testcert.Options{})
	return testcert.Mint(t, "www.contoso.example", testcert.Options{Key: key, Parent: ca, DNSNames: []string{"www.contoso.example"}})
}

func TestKeyVaultCertificateAndSecret(t *testing.T) {
	f := newVaultFake(t)
	b := chained(t, "rsa")
	version := f.PutKeyVaultCertificate("contoso", "web", b, logintest.KeyVaultCertificateOptions{})
	assert.Regexp(t, `^[0-9a-f]{32}$`, version)
	vault := f.VaultURL("contoso")
	assert.Equal(t, "https://contoso.vault.test", vault)
	ctx := context.Background()

	// The SDK's challenge policy checks that the vault's host ends with
	// "." + the challenge resource's host: it is not turned off here.
	cert, err := f.certificates(t, vault, nil).GetCertificate(ctx, "web", "", nil)
	require.NoError(t, err)
	assert.Equal(t, version, cert.ID.Version())
	assert.Equal(t, "web", cert.ID.Name())
	assert.Equal(t, vault+"/certificates/web/"+version, string(*cert.ID))
	assert.Equal(t, vault+"/secrets/web/"+version, string(*cert.SID))
	assert.Equal(t, vault+"/keys/web/"+version, string(*cert.KID))
	assert.Equal(t, sha1Of(b.Leaf), cert.X509Thumbprint)
	assert.Equal(t, b.Leaf.Raw, cert.CER)
	require.NotNil(t, cert.Attributes)
	assert.True(t, *cert.Attributes.Enabled)
	assert.Equal(t, b.Leaf.NotAfter.Unix(), cert.Attributes.Expires.Unix())
	assert.Equal(t, b.Leaf.NotBefore.Unix(), cert.Attributes.NotBefore.Unix())
	assert.WithinDuration(t, time.Now(), *cert.Attributes.Created, 5*time.Second)
	assert.Equal(t, "Recoverable+Purgeable", *cert.Attributes.RecoveryLevel)
	p := cert.Policy
	require.NotNil(t, p)
	assert.True(t, *p.KeyProperties.Exportable)
	assert.Equal(t, azcertificates.KeyTypeRSA, *p.KeyProperties.KeyType)
	assert.EqualValues(t, 2048, *p.KeyProperties.KeySize)
	assert.False(t, *p.KeyProperties.ReuseKey)
	assert.Equal(t, "application/x-pkcs12", *p.SecretProperties.ContentType)
	assert.Equal(t, "CN=www.contoso.example", *p.X509CertificateProperties.Subject)
	assert.Equal(t, "Unknown", *p.IssuerParameters.Name, "an imported certificate's issuer")

	secret, err := f.secrets(t, vault, nil).GetSecret(ctx, "web", "", nil)
	require.NoError(t, err)
	assert.Equal(t, version, secret.ID.Version())
	assert.Equal(t, "application/x-pkcs12", *secret.ContentType)
	assert.True(t, *secret.Managed)
	assert.Equal(t, vault+"/keys/web/"+version, string(*secret.KID))
	data, err := base64.StdEncoding.DecodeString(*secret.Value)
	require.NoError(t, err)
	got, err := pfx.Decode(data, "")
	require.NoError(t, err, "Key Vault's PFX has the empty password")
	assert.True(t, got.Leaf.Equal(b.Leaf))
	assert.True(t, got.Key.(interface{ Equal(crypto.PrivateKey) bool }).Equal(b.Key))
	require.Len(t, got.Chain, 1)
	assert.True(t, got.Chain[0].Equal(b.Chain[0]))

	// The same version, named.
	_, err = f.secrets(t, vault, nil).GetSecret(ctx, "WEB", version, nil)
	require.NoError(t, err, "names are case-insensitive")

	c := f.KeyVaultCounts()
	assert.Equal(t, 3, c.Challenges, "one challenge per client")
	assert.Equal(t, map[string]int{"web": 1}, c.Metadata)
	assert.Equal(t, map[string]int{"web": 2}, c.Secrets)
	assert.Zero(t, c.Refused+c.Throttled)
	f.ResetKeyVaultCounts()
	assert.Equal(t, logintest.KeyVaultCounts{Metadata: map[string]int{}, Secrets: map[string]int{}}, f.KeyVaultCounts())
}

func TestKeyVaultPEMAndNotExportable(t *testing.T) {
	f := newVaultFake(t)
	ctx := context.Background()
	vault := f.VaultURL("contoso")
	certs, secrets := f.certificates(t, vault, nil), f.secrets(t, vault, nil)
	ec := chained(t, "ecdsa")
	f.PutKeyVaultCertificate("contoso", "pem", ec, logintest.KeyVaultCertificateOptions{PEM: true})
	f.PutKeyVaultCertificate("contoso", "locked", ec, logintest.KeyVaultCertificateOptions{NotExportable: true})
	f.PutKeyVaultCertificate("contoso", "locked-pem", ec, logintest.KeyVaultCertificateOptions{NotExportable: true, PEM: true})

	cert, err := certs.GetCertificate(ctx, "pem", "", nil)
	require.NoError(t, err)
	assert.Equal(t, azcertificates.KeyTypeEC, *cert.Policy.KeyProperties.KeyType)
	assert.Equal(t, azcertificates.CurveNameP256, *cert.Policy.KeyProperties.Curve)
	assert.Equal(t, "application/x-pem-file", *cert.Policy.SecretProperties.ContentType)
	secret, err := secrets.GetSecret(ctx, "pem", "", nil)
	require.NoError(t, err)
	assert.Equal(t, "application/x-pem-file", *secret.ContentType)
	assert.True(t, strings.HasPrefix(*secret.Value, "-----BEGIN PRIVATE KEY-----\n"), "the key comes first")
	got, err := pfx.Decode([]byte(*secret.Value), "")
	require.NoError(t, err)
	assert.True(t, got.Leaf.Equal(ec.Leaf))
	assert.Len(t, got.Chain, 1)

	cert, err = certs.GetCertificate(ctx, "locked", "", nil)
	require.NoError(t, err)
	assert.False(t, *cert.Policy.KeyProperties.Exportable)
	secret, err = secrets.GetSecret(ctx, "locked", "", nil)
	require.NoError(t, err)
	data, err := base64.StdEncoding.DecodeString(*secret.Value)
	require.NoError(t, err)
	contents, err := pfx.Read(data, "")
	require.NoError(t, err)
	assert.Nil(t, contents.Key, "a key that is not exportable is not in the secret")
	assert.Len(t, contents.Certificates, 2)

	secret, err = secrets.GetSecret(ctx, "locked-pem", "", nil)
	require.NoError(t, err)
	assert.NotContains(t, *secret.Value, "PRIVATE KEY")
	assert.Equal(t, 2, strings.Count(*secret.Value, "-----BEGIN CERTIFICATE-----"))

	// outContentType converts a certificate's PKCS#12 secret to PEM.
	f.PutKeyVaultCertificate("contoso", "pfx", ec, logintest.KeyVaultCertificateOptions{})
	pemType := azsecrets.ContentTypePEM
	secret, err = secrets.GetSecret(ctx, "pfx", "", &azsecrets.GetSecretOptions{OutContentType: &pemType})
	require.NoError(t, err)
	assert.Equal(t, "application/x-pem-file", *secret.ContentType)
	got, err = pfx.Decode([]byte(*secret.Value), "")
	require.NoError(t, err)
	assert.True(t, got.Leaf.Equal(ec.Leaf))
	pfxType := azsecrets.ContentTypePFX
	_, err = secrets.GetSecret(ctx, "pem", "", &azsecrets.GetSecretOptions{OutContentType: &pfxType})
	refused(t, err, http.StatusBadRequest, "BadParameter")
	f.PutKeyVaultSecret("contoso", "plain", "x", "text/plain")
	_, err = secrets.GetSecret(ctx, "plain", "", &azsecrets.GetSecretOptions{OutContentType: &pemType})
	refused(t, err, http.StatusBadRequest, "BadParameter")
}

func TestKeyVaultVersions(t *testing.T) {
	f := newVaultFake(t)
	ctx := context.Background()
	vault := f.VaultURL("contoso")
	certs, secrets := f.certificates(t, vault, nil), f.secrets(t, vault, nil)
	old, renewed := chained(t, "rsa"), chained(t, "rsa")
	v1 := f.PutKeyVaultCertificate("contoso", "web", old, logintest.KeyVaultCertificateOptions{})
	v2 := f.PutKeyVaultCertificate("contoso", "web", renewed, logintest.KeyVaultCertificateOptions{})
	assert.NotEqual(t, v1, v2)

	current, err := certs.GetCertificate(ctx, "web", "", nil)
	require.NoError(t, err)
	assert.Equal(t, v2, current.ID.Version())
	assert.Equal(t, renewed.Leaf.Raw, current.CER)
	previous, err := certs.GetCertificate(ctx, "web", v1, nil)
	require.NoError(t, err)
	assert.Equal(t, v1, previous.ID.Version())
	assert.Equal(t, old.Leaf.Raw, previous.CER)
	assert.True(t, current.Attributes.Created.After(*previous.Attributes.Created), "versions put in the same second are ordered")

	secret, err := secrets.GetSecret(ctx, "web", v1, nil)
	require.NoError(t, err)
	data, err := base64.StdEncoding.DecodeString(*secret.Value)
	require.NoError(t, err)
	got, err := pfx.Decode(data, "")
	require.NoError(t, err)
	assert.True(t, got.Leaf.Equal(old.Leaf))

	// A plain secret, as "az keyvault secret set --encoding base64
	// --file x.pfx" stores one.
	file, err := pfx.EncodeExport(old, "", true)
	require.NoError(t, err)
	sv := f.PutKeyVaultSecret("contoso", "uploaded", base64.StdEncoding.EncodeToString(file), "application/x-pkcs12")
	secret, err = secrets.GetSecret(ctx, "uploaded", "", nil)
	require.NoError(t, err)
	assert.Equal(t, sv, secret.ID.Version())
	assert.Nil(t, secret.Managed)
	assert.Nil(t, secret.KID)
	assert.Equal(t, "application/x-pkcs12", *secret.ContentType)
	assert.Nil(t, secret.Attributes.Expires)

	unknown := strings.Repeat("0", 32)
	_, err = certs.GetCertificate(ctx, "web", unknown, nil)
	e := refused(t, err, http.StatusNotFound, "CertificateNotFound")
	assert.Contains(t, e.Message, "(name/id) web/"+unknown+" was not found")
	_, err = certs.GetCertificate(ctx, "nope", "", nil)
	e = refused(t, err, http.StatusNotFound, "CertificateNotFound")
	assert.True(t, strings.HasPrefix(e.Message, "A certificate with (name/id) nope was not found in this key vault. If you recently deleted"), e.Message)
	_, err = secrets.GetSecret(ctx, "nope", "", nil)
	e = refused(t, err, http.StatusNotFound, "SecretNotFound")
	assert.True(t, strings.HasPrefix(e.Message, "A secret with (name/id) nope was not found in this key vault."), e.Message)
	_, err = certs.GetCertificate(ctx, "uploaded", "", nil)
	refused(t, err, http.StatusNotFound, "CertificateNotFound")
}

func TestKeyVaultRoles(t *testing.T) {
	f := newVaultFake(t)
	ctx := context.Background()
	f.PutKeyVaultCertificate("contoso", "web", chained(t, "rsa"), logintest.KeyVaultCertificateOptions{})
	f.PutKeyVaultCertificate("fabrikam", "web", chained(t, "rsa"), logintest.KeyVaultCertificateOptions{})

	// No role on fabrikam: every request is refused, whether or not the
	// object exists.
	fabrikam := f.VaultURL("fabrikam")
	_, err := f.certificates(t, fabrikam, nil).GetCertificate(ctx, "web", "", nil)
	e := refused(t, err, http.StatusForbidden, "Forbidden")
	assert.Equal(t, "ForbiddenByRbac", e.InnerError["code"])
	assert.True(t, strings.HasPrefix(e.Message, "Caller is not authorized to perform action on resource.\r\nIf role assignments"), "%q", e.Message)
	assert.Contains(t, e.Message, "\r\nCaller: appid="+vaultApp+";")
	assert.Contains(t, e.Message, "\r\nAction: 'Microsoft.KeyVault/vaults/certificates/read'\r\n")
	assert.Contains(t, e.Message, "/vaults/fabrikam/certificates/web'\r\n")
	assert.Contains(t, e.Message, "\r\nVault: fabrikam;location=westeurope\r\n")
	_, err = f.secrets(t, fabrikam, nil).GetSecret(ctx, "missing", "", nil)
	e = refused(t, err, http.StatusForbidden, "Forbidden")
	assert.Contains(t, e.Message, "\r\nAction: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\n")

	// A reader reads certificates, not secrets; a secrets user the
	// reverse.
	f.GrantKeyVault("fabrikam", vaultApp, logintest.KeyVaultReader)
	_, err = f.certificates(t, fabrikam, nil).GetCertificate(ctx, "web", "", nil)
	require.NoError(t, err)
	_, err = f.secrets(t, fabrikam, nil).GetSecret(ctx, "web", "", nil)
	refused(t, err, http.StatusForbidden, "Forbidden")
	f.GrantKeyVault("fabrikam", vaultApp, logintest.KeyVaultSecretsUser)
	_, err = f.secrets(t, fabrikam, nil).GetSecret(ctx, "web", "", nil)
	require.NoError(t, err, "reader and secrets user together")

	token := f.UserAccessToken(logintest.KeyVaultResource+"/.default", time.Hour)
	f.GrantKeyVault("contoso", f.User, logintest.KeyVaultSecretsUser)
	contoso := f.VaultURL("contoso")
	_, err = f.secrets(t, contoso, staticToken(token)).GetSecret(ctx, "web", "", nil)
	require.NoError(t, err, "a user's grant goes by the user's name")
	_, err = f.certificates(t, contoso, staticToken(token)).GetCertificate(ctx, "web", "", nil)
	e = refused(t, err, http.StatusForbidden, "Forbidden")
	assert.Contains(t, e.Message, "upn="+f.User)
	assert.Equal(t, 4, f.KeyVaultCounts().Refused)
}

func TestKeyVaultChecksTokens(t *testing.T) {
	f := newVaultFake(t)
	ctx := context.Background()
	f.PutKeyVaultCertificate("contoso", "web", chained(t, "rsa"), logintest.KeyVaultCertificateOptions{})
	f.GrantKeyVault("contoso", f.User, logintest.KeyVaultCertificateUser)
	vault := f.VaultURL("contoso")
	for _, tc := range []struct {
		name, token, message string
	}{
		{"for Graph", f.UserAccessToken(f.GraphEndpoint()+"/.default", time.Hour), "AKV10022: Invalid audience. Expected https://vault.test, found: " + f.GraphEndpoint() + "."},
		{"for the public cloud", f.UserAccessToken("https://vault.azure.net/.default", time.Hour), "AKV10022: Invalid audience."},
		{"expired", f.UserAccessToken(logintest.KeyVaultResource+"/.default", -time.Minute), "expired"},
		{"not issued", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln", "AKV10046: Unable to resolve the key used for signature validation. EncodedJwtHeader: 'eyJhbGciOiJIUzI1NiJ9'."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.certificates(t, vault, staticToken(tc.token)).GetCertificate(ctx, "web", "", nil)
			e := refused(t, err, http.StatusUnauthorized, "Unauthorized")
			assert.Contains(t, e.Message, tc.message)
		})
	}
	c := f.KeyVaultCounts()
	assert.Equal(t, 4, c.Refused)
	assert.Equal(t, 4, c.Challenges)
	assert.Empty(t, c.Metadata)
	// With a trailing slash, the audience is Key Vault's too.
	_, err := f.certificates(t, vault, staticToken(f.UserAccessToken(logintest.KeyVaultResource+"//.default", time.Hour))).GetCertificate(ctx, "web", "", nil)
	require.NoError(t, err)
}

// TestKeyVaultRawAPI checks what the SDK does not show: the challenge,
// api-version, paths and methods.
func TestKeyVaultRawAPI(t *testing.T) {
	f := newVaultFake(t)
	version := f.PutKeyVaultCertificate("contoso", "web", chained(t, "rsa"), logintest.KeyVaultCertificateOptions{})
	token, err := f.cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{logintest.KeyVaultResource + "/.default"}})
	require.NoError(t, err)
	client := &http.Client{Transport: f.transport}
	get := func(method, path, bearer string) (*http.Response, kvRefusal) {
		t.Helper()
		req, err := http.NewRequest(method, f.VaultURL("contoso")+path, nil)
		require.NoError(t, err)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var body struct{ Error kvRefusal }
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, &body), "%s", raw)
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		return resp, body.Error
	}

	resp, e := get("GET", "/certificates/web?api-version=7.4", "")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, `Bearer authorization="`+f.TLS.URL+"/"+f.Tenant+`", resource="https://vault.test"`, resp.Header.Get("WWW-Authenticate"))
	assert.Equal(t, kvRefusal{Code: "Unauthorized", Message: "AKV10000: Request is missing a Bearer or PoP token."}, e)

	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/certificates/web?api-version=7.4", http.StatusOK, ""},
		{"GET", "/certificates/web/?api-version=2025-07-01", http.StatusOK, ""},
		{"GET", "/certificates/web/" + strings.ToUpper(version) + "?api-version=7.6", http.StatusOK, ""},
		{"GET", "/secrets/web/?api-version=2026-04-01", http.StatusOK, ""},
		{"GET", "/certificates/web", http.StatusBadRequest, "BadParameter"},
		{"GET", "/certificates/web?api-version=2016-10-01", http.StatusBadRequest, "BadParameter"},
		{"GET", "/certificates/web?api-version=8.0", http.StatusBadRequest, "BadParameter"},
		{"GET", "/certificates/we_b?api-version=7.4", http.StatusBadRequest, "BadParameter"},
		{"DELETE", "/certificates/web?api-version=7.4", http.StatusMethodNotAllowed, "MethodNotAllowed"},
		{"GET", "/certificates?api-version=7.4", http.StatusNotFound, "NotFound"},
		{"GET", "/keys/web?api-version=7.4", http.StatusNotFound, "NotFound"},
		{"GET", "/certificates/web/" + version + "/x?api-version=7.4", http.StatusNotFound, "NotFound"},
	} {
		resp, e := get(tc.method, tc.path, token.Token)
		assert.Equal(t, tc.status, resp.StatusCode, "%s %s: %+v", tc.method, tc.path, e)
		assert.Equal(t, tc.code, e.Code, "%s %s", tc.method, tc.path)
		assert.Empty(t, resp.Header.Get("WWW-Authenticate"), "only a 401 has the challenge")
	}

	// The Key Vault server answers only for its vaults' names.
	resp, err = f.KeyVault.Client().Get(f.KeyVault.URL + "/certificates/web?api-version=7.4")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestKeyVaultThrottling(t *testing.T) {
	f := newVaultFake(t)
	f.retries = 0 // the SDK's default
	f.PutKeyVaultCertificate("contoso", "web", chained(t, "rsa"), logintest.KeyVaultCertificateOptions{})
	certs := f.certificates(t, f.VaultURL("contoso"), nil)
	ctx := context.Background()

	// The challenge is the first request, the authorized one the second.
	f.ThrottleKeyVault(2, http.StatusTooManyRequests)
	start := time.Now()
	_, err := certs.GetCertificate(ctx, "web", "", nil)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), time.Second, "the SDK waits as Retry-After says")
	c := f.KeyVaultCounts()
	assert.Equal(t, 1, c.Throttled)
	assert.Equal(t, 1, c.Challenges)
	assert.Equal(t, 1, c.Metadata["web"])

	f.ThrottleKeyVault(2, http.StatusServiceUnavailable)
	for range 2 {
		_, err = certs.GetCertificate(ctx, "web", "", nil)
		require.NoError(t, err)
	}
	assert.Equal(t, 2, f.KeyVaultCounts().Throttled)

	// Every request throttled: the SDK gives up, with Key Vault's error.
	f.ThrottleKeyVault(1, http.StatusTooManyRequests)
	f.retries = -1
	_, err = f.certificates(t, f.VaultURL("contoso"), nil).GetCertificate(ctx, "web", "", nil)
	e := refused(t, err, http.StatusTooManyRequests, "Throttled")
	assert.Equal(t, "Request was not processed because too many requests were received. Reason: VaultRequestTypeBased", e.Message)

	f.ThrottleKeyVault(0, 0)
	_, err = certs.GetCertificate(ctx, "web", "", nil)
	require.NoError(t, err)
	assert.Equal(t, 4, f.KeyVaultCounts().Metadata["web"])
}

func TestKeyVaultProxy(t *testing.T) {
	f := newVaultFake(t)
	f.VaultURL("contoso")

	// An unknown vault's name does not resolve: the proxy answers 502.
	_, err := f.certificates(t, "https://nowhere.vault.test", nil).GetCertificate(context.Background(), "web", "", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Bad Gateway")

	connect := func(target string) (*http.Response, net.Conn, *bufio.Reader) {
		t.Helper()
		conn, err := net.Dial("tcp", strings.TrimPrefix(f.ProxyURL(), "http://"))
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		_, err = io.WriteString(conn, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n")
		require.NoError(t, err)
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
		require.NoError(t, err)
		return resp, conn, br
	}
	for _, target := range []string{"nowhere.vault.test:443", "contoso.vault.test:8443", "contoso.vault.azure.net:443", "127.0.0.1:443"} {
		resp, _, br := connect(target)
		assert.Equal(t, http.StatusBadGateway, resp.StatusCode, target)
		io.Copy(io.Discard, resp.Body)
		_, err := br.ReadByte()
		assert.ErrorIs(t, err, io.EOF, "%s: the proxy closes the connection", target)
	}

	resp, conn, _ := connect("CONTOSO.vault.test:443")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "200 Connection established", resp.Status)
	pool := x509.NewCertPool()
	pool.AddCert(f.TLS.Certificate())
	tc := tls.Client(conn, &tls.Config{ServerName: "contoso.vault.test", RootCAs: pool})
	require.NoError(t, tc.Handshake(), "the vault's certificate covers its name")

	resp, err = http.Get(f.ProxyURL() + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

// TestKeyVaultConcurrency: many clients at once, each through its own
// tunnel.
func TestKeyVaultConcurrency(t *testing.T) {
	f := newVaultFake(t)
	b := chained(t, "rsa")
	f.PutKeyVaultCertificate("contoso", "web", b, logintest.KeyVaultCertificateOptions{PEM: true})
	vault := f.VaultURL("contoso")
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		client := f.secrets(t, vault, nil)
		wg.Go(func() {
			_, err := client.GetSecret(context.Background(), "web", "", nil)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	c := f.KeyVaultCounts()
	assert.Equal(t, n, c.Secrets["web"])
	assert.Equal(t, n, c.Challenges)
}

// TestKeyVaultTunnelsClose: the end of the test that started the fake
// closes the proxy's tunnels that clients left open, and waits for them.
func TestKeyVaultTunnelsClose(t *testing.T) {
	var conn net.Conn
	t.Run("fake", func(t *testing.T) {
		s := logintest.New(t)
		s.VaultURL("contoso")
		var err error
		conn, err = net.Dial("tcp", strings.TrimPrefix(s.ProxyURL(), "http://"))
		require.NoError(t, err)
		_, err = io.WriteString(conn, "CONNECT contoso.vault.test:443 HTTP/1.1\r\nHost: contoso.vault.test:443\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: http.MethodConnect})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	})
	defer conn.Close()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err := conn.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF)
}
