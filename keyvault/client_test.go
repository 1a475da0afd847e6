package keyvault

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/internal/logintest"
	"github.com/certctl/certctl/internal/testcert"
	"github.com/certctl/certctl/login"
	"github.com/certctl/certctl/thumbprint"
)

const testApp = "6a0c0000-0000-4000-8000-0000000005c1"

// vaultTest is the fake tenant with vault "contoso", where testApp reads
// certificates, and what a Client needs to reach it: the environment, a
// credential signing in as testApp, and a transport through the fake's
// proxy that trusts its certificate.
type vaultTest struct {
	fake *logintest.Server
	opts Options
}

func newVaultTest(t *testing.T) *vaultTest {
	t.Helper()
	fake := logintest.New(t)
	fake.RegisterSecret(testApp, "kv-test-secret")
	fake.GrantKeyVault("contoso", testApp, logintest.KeyVaultCertificateUser)
	ca, err := fake.WriteCA(t.TempDir())
	require.NoError(t, err)
	pemData, err := os.ReadFile(ca)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pemData))
	proxy, err := url.Parse(fake.ProxyURL())
	require.NoError(t, err)
	// As HTTPS_PROXY does: the vaults through the proxy, loopback (the
	// fake Entra ID) directly.
	tr := &http.Transport{Proxy: func(r *http.Request) (*url.URL, error) {
		if ip := net.ParseIP(r.URL.Hostname()); ip != nil && ip.IsLoopback() {
			return nil, nil
		}
		return proxy, nil
	}, TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	env := login.Environment{Name: "Fake", AuthorityHost: fake.AuthorityHost(), ResourceManager: fake.ResourceManager(), KeyVaultSuffix: logintest.KeyVaultSuffix, Custom: true}
	signIn := login.Options{Environment: env, Method: login.MethodSecret, Tenant: fake.Tenant, ClientID: testApp, Secret: "kv-test-secret", RoundTripper: tr}
	return &vaultTest{fake: fake, opts: Options{Environment: env, Credential: tokenFunc(func(ctx context.Context, scope string) (azcore.AccessToken, error) {
		return login.Token(ctx, signIn, scope)
	}), RoundTripper: tr}}
}

type tokenFunc func(ctx context.Context, scope string) (azcore.AccessToken, error)

func (f tokenFunc) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return f(ctx, o.Scopes[0])
}

func (v *vaultTest) client(t *testing.T, vault string) *Client {
	t.Helper()
	c, err := New(v.fake.VaultURL(vault), v.opts)
	require.NoError(t, err)
	return c
}

// TestFetch reads a certificate with its key through its metadata, in
// both of Key Vault's forms, and a version that is no longer current.
func TestFetch(t *testing.T) {
	t.Parallel()
	v := newVaultTest(t)
	c := v.client(t, "contoso")
	ctx := context.Background()
	for _, pem := range []bool{false, true} {
		b := testcert.Mint(t, "fetch", testcert.Options{Key: "ecdsa"})
		version := v.fake.PutKeyVaultCertificate("contoso", "fetch", b, logintest.KeyVaultCertificateOptions{PEM: pem})
		got, err := c.Fetch(ctx, Ref{Vault: c.Vault(), Kind: KindCertificate, Name: "fetch"})
		require.NoError(t, err)
		assert.Equal(t, b.Leaf.Raw, got.Bundle.Leaf.Raw)
		assert.True(t, got.Bundle.Key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(b.Key.Public()), "the key is the certificate's")
		assert.Equal(t, version, got.Version)
		assert.Equal(t, thumbprint.Of(b.Leaf), got.Certificate.Thumbprint)
		assert.True(t, got.Certificate.Exportable)
	}
	old := v.fake.PutKeyVaultCertificate("contoso", "fetch", testcert.Mint(t, "fetch old", testcert.Options{Key: "ecdsa"}), logintest.KeyVaultCertificateOptions{})
	v.fake.PutKeyVaultCertificate("contoso", "fetch", testcert.Mint(t, "fetch new", testcert.Options{Key: "ecdsa"}), logintest.KeyVaultCertificateOptions{})
	got, err := c.Fetch(ctx, Ref{Vault: c.Vault(), Kind: KindSecret, Name: "fetch", Version: old})
	require.NoError(t, err)
	assert.Equal(t, "CN=fetch old", got.Bundle.Leaf.Subject.String())
}

// TestScopeIsTheCloudsVault: the credential is asked only for the
// environment's Key Vault resource, whatever the SDK passes on from a
// challenge.
func TestScopeIsTheCloudsVault(t *testing.T) {
	t.Parallel()
	var asked []string
	sc := &scopedCredential{inner: tokenFunc(func(_ context.Context, scope string) (azcore.AccessToken, error) {
		asked = append(asked, scope)
		return azcore.AccessToken{Token: "t", ExpiresOn: time.Now().Add(time.Hour)}, nil
	}), scope: "https://vault.azure.net/.default", vault: "https://contoso.vault.azure.net"}
	_, err := sc.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
	assert.ErrorIs(t, err, login.ErrRefusedEndpoint)
	_, err = sc.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net"}, TenantID: "someone-else"})
	require.NoError(t, err)
	assert.Equal(t, []string{"https://vault.azure.net/.default"}, asked)
}

// TestThrottling: 429 and 503 are retried as Retry-After says; a wait
// longer than the client will make fails at once with the throttling
// answer; and when the time allowed runs out the error says what the
// last try met.
func TestThrottling(t *testing.T) {
	t.Parallel()
	v := newVaultTest(t)
	v.fake.PutKeyVaultCertificate("contoso", "busy", testcert.Mint(t, "busy", testcert.Options{Key: "ecdsa"}), logintest.KeyVaultCertificateOptions{})
	var c *Client
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		// A new client: its challenge passes, its request is throttled
		// once.
		c = v.client(t, "contoso")
		v.fake.ThrottleKeyVault(2, status)
		start := time.Now()
		_, err := c.Certificate(context.Background(), "busy", "")
		require.NoError(t, err, "HTTP %d every other request", status)
		assert.GreaterOrEqual(t, time.Since(start), time.Second, "Retry-After: 1 was waited for")
	}

	v.fake.ThrottleKeyVault(1, http.StatusTooManyRequests)
	o := v.opts
	o.Retry = &policy.RetryOptions{MaxRetries: 5, MaxRetryDelay: 500 * time.Millisecond, ShouldRetry: shouldRetry}
	impatient, err := New(c.Vault(), o)
	require.NoError(t, err)
	start := time.Now()
	_, err = impatient.Certificate(context.Background(), "busy", "")
	var se *ServiceError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, http.StatusTooManyRequests, se.Status)
	assert.Equal(t, time.Second, se.RetryAfter)
	assert.Less(t, time.Since(start), time.Second, "a Retry-After over MaxRetryDelay is not waited for")

	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	_, err = c.Certificate(ctx, "busy", "")
	require.ErrorAs(t, err, &se)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "the last try failed: HTTP 429")
}

// TestVaultNotFound: a vault whose name does not resolve fails at once,
// unretried, as not found. The name is looked up by Go's own resolver,
// asking a DNS server on loopback that answers NXDOMAIN, as Azure's DNS
// does for a vault that does not exist.
func TestVaultNotFound(t *testing.T) {
	t.Parallel()
	v := newVaultTest(t)
	dns := nxdomainServer(t)
	dialer := &net.Dialer{Resolver: &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "udp", dns)
	}}}
	o := v.opts
	o.RoundTripper = &http.Transport{DialContext: dialer.DialContext}
	c, err := New("https://nosuch.vault.test", o)
	require.NoError(t, err)
	start := time.Now()
	_, err = c.Certificate(context.Background(), "web", "")
	assert.ErrorIs(t, err, ErrVaultNotFound)
	var dnsErr *net.DNSError
	assert.ErrorAs(t, err, &dnsErr)
	assert.Contains(t, err.Error(), "there is no vault nosuch.vault.test: its name does not resolve")
	assert.Less(t, time.Since(start), 5*time.Second, "not retried")
}

// nxdomainServer answers every DNS query on a loopback UDP port with
// NXDOMAIN and returns its address.
func nxdomainServer(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true, RCode: dnsmessage.RCodeNameError})
			if b.StartQuestions() != nil || b.Question(q) != nil {
				continue
			}
			if msg, err := b.Finish(); err == nil {
				pc.WriteTo(msg, addr)
			}
		}
	}()
	return pc.LocalAddr().String()
}

// TestSyncConverges: Sync imports the current version, keeps the one
// before, removes older ones it imported and nothing else, and a record
// of a certificate removed behind its back is forgotten.
func TestSyncConverges(t *testing.T) {
	t.Parallel()
	v := newVaultTest(t)
	c := v.client(t, "contoso")
	s, err := certstore.Open("My", certstore.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	defer s.Close()
	mine := testcert.Mint(t, "not from the vault", testcert.Options{Key: "ecdsa"})
	_, err = s.Import(mine, certstore.ImportOptions{})
	require.NoError(t, err)
	rec, err := OpenRecord(s.Location(), ".certctl-keyvault.json")
	require.NoError(t, err)
	defer rec.Close()

	var tps []thumbprint.Thumbprint
	put := func() {
		b := testcert.Mint(t, "sync", testcert.Options{Key: "ecdsa"})
		v.fake.PutKeyVaultCertificate("contoso", "sync", b, logintest.KeyVaultCertificateOptions{})
		tps = append(tps, thumbprint.Of(b.Leaf))
	}
	sync := func() Result {
		t.Helper()
		rs := c.Sync(context.Background(), s, rec, SyncOptions{Names: []string{"sync"}, KeepPrevious: 1})
		require.Len(t, rs, 1)
		require.NoError(t, rs[0].Err)
		return rs[0]
	}
	holds := func() []thumbprint.Thumbprint {
		list, err := s.List()
		require.NoError(t, err)
		var out []thumbprint.Thumbprint
		for _, e := range list {
			out = append(out, e.Thumbprint)
		}
		return out
	}
	for i := 0; i < 4; i++ {
		put()
		r := sync()
		assert.True(t, r.Imported)
		assert.Equal(t, tps[i], r.Thumbprint)
		if i >= 2 {
			assert.Equal(t, []thumbprint.Thumbprint{tps[i-2]}, r.Removed)
		}
		assert.ElementsMatch(t, append([]thumbprint.Thumbprint{thumbprint.Of(mine.Leaf)}, tps[max(0, i-1):i+1]...), holds())
	}
	r := sync()
	assert.False(t, r.Imported)
	assert.Empty(t, r.Removed)

	// Removed by hand: the record forgets it on the next run.
	require.NoError(t, s.Remove(tps[2]))
	sync()
	assert.Len(t, rec.Origins(), 1)
	data, err := os.ReadFile(filepath.Join(s.Location(), ".certctl-keyvault.json"))
	require.NoError(t, err)
	assert.NotContains(t, string(data), tps[2].String())
	assert.False(t, strings.Contains(string(data), "PRIVATE"), "the record holds no key")
}

// TestSyncNameFailsAlone: a name that fails does not stop the others.
func TestSyncNameFailsAlone(t *testing.T) {
	t.Parallel()
	v := newVaultTest(t)
	c := v.client(t, "contoso")
	v.fake.PutKeyVaultCertificate("contoso", "good", testcert.Mint(t, "good", testcert.Options{Key: "ecdsa"}), logintest.KeyVaultCertificateOptions{})
	v.fake.PutKeyVaultCertificate("contoso", "bound", testcert.Mint(t, "bound", testcert.Options{Key: "ecdsa"}), logintest.KeyVaultCertificateOptions{NotExportable: true})
	s, err := certstore.Open("My", certstore.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	defer s.Close()
	rec, err := OpenRecord(s.Location(), ".certctl-keyvault.json")
	require.NoError(t, err)
	defer rec.Close()
	rs := c.Sync(context.Background(), s, rec, SyncOptions{Names: []string{"missing", "bound", "good"}})
	var se *ServiceError
	require.ErrorAs(t, rs[0].Err, &se)
	assert.Equal(t, http.StatusNotFound, se.Status)
	var ne *NotExportableError
	assert.True(t, errors.As(rs[1].Err, &ne), "%v", rs[1].Err)
	assert.NoError(t, rs[2].Err)
	assert.True(t, rs[2].Imported)
}
