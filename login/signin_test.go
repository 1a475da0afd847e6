package login

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/internal/logintest"
	"github.com/certctl/certctl/internal/testcert"
)

// TestBrowserFallsBackToDeviceCode: a browser that cannot be opened is a
// typed error, and the sign-in goes on with a device code, saying so.
func TestBrowserFallsBackToDeviceCode(t *testing.T) {
	s := logintest.New(t)
	var notices, prompts []string
	o := Options{
		Method: MethodBrowser, Environment: env(s), Tenant: s.Tenant, RoundTripper: s.TLS.Client().Transport,
		OpenBrowser:      func(string) error { return errors.New("no display") },
		Notice:           func(m string) { notices = append(notices, m) },
		DeviceCodePrompt: func(m string) { prompts = append(prompts, m) },
	}
	res, err := SignIn(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, MethodDeviceCode, res.Method)
	assert.Equal(t, s.User, res.Account)
	require.Len(t, notices, 1)
	assert.Contains(t, notices[0], "no browser could be opened: no display; signing in with a device code instead")
	require.Len(t, prompts, 1)
	assert.Contains(t, prompts[0], "FAKE-CODE")
}

// TestBrowserSignInWithOpener runs the authorization code flow with an
// opener that browses at once, as a person's browser would.
func TestBrowserSignInWithOpener(t *testing.T) {
	s := logintest.New(t)
	o := Options{
		Method: MethodBrowser, Environment: env(s), Tenant: s.Tenant, RoundTripper: s.TLS.Client().Transport,
		OpenBrowser: func(u string) error { return logintest.Browse(s.TLS.Client(), u) },
	}
	res, err := SignIn(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, MethodBrowser, res.Method)
	assert.Equal(t, s.User, res.Account)
	assert.Equal(t, s.Tenant, res.Tenant)
	a := s.Authorizations()
	require.Len(t, a, 1)
	assert.Equal(t, DefaultBrowserClientID, a[0].ClientID)
	assert.Equal(t, "S256", a[0].CodeChallengeMethod)
}

// TestConsentAndRefresh: a consent by the confidential client gives a
// refresh token; redeeming it rotates the file; the old one is refused.
func TestConsentAndRefresh(t *testing.T) {
	s := logintest.New(t)
	b := testcert.Mint(t, "certctl consent", testcert.Options{})
	s.RegisterCertificate(appID, b.Leaf)
	o := certOptions(s, certstore.BundleIdentity(b))
	o.OpenBrowser = func(u string) error { return logintest.Browse(s.TLS.Client(), u) }
	got, err := Consent(context.Background(), ConsentOptions{Options: o, Scopes: []string{"https://graph.microsoft.com/.default"}})
	require.NoError(t, err)
	assert.Equal(t, s.User, got.Account)
	assert.True(t, s.IssuedRefreshToken(got.RefreshToken))

	file := filepath.Join(t.TempDir(), "app.rt")
	require.NoError(t, SaveRefreshToken(file, got.RefreshToken))
	fi, err := os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	o.Method, o.RefreshTokenFile = MethodRefreshToken, file
	res, err := SignIn(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, s.User, res.Account)
	rotated, err := readRefreshToken(file)
	require.NoError(t, err)
	assert.NotEqual(t, got.RefreshToken, rotated)
	assert.Equal(t, 1, s.RefreshTokenRedemptions())

	// Concurrent redemptions wait for each other on the lock: every one
	// succeeds, each with the token the one before wrote.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = Token(context.Background(), o, "https://graph.microsoft.com/.default")
		}()
	}
	wg.Wait()
	for _, err := range errs {
		assert.NoError(t, err)
	}
	assert.Equal(t, 5, s.RefreshTokenRedemptions())

	// The consented token was redeemed already.
	require.NoError(t, SaveRefreshToken(file, got.RefreshToken))
	_, err = Token(context.Background(), o, "")
	var se *SignInError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 70000, se.Code)
}

// TestAccessToken: the token's exp is read without trusting the token;
// an expired one is refused with its expiry, before any request.
func TestAccessToken(t *testing.T) {
	s := logintest.New(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.txt")
	require.NoError(t, os.WriteFile(good, []byte(s.UserAccessToken(s.ResourceManager()+".default", time.Hour)+"\n"), 0o600))
	o := Options{Method: MethodAccessToken, Environment: env(s), AccessTokenFile: good, AccountID: s.User, RoundTripper: s.TLS.Client().Transport}
	res, err := SignIn(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, s.User, res.Account)
	assert.Equal(t, s.Tenant, res.Tenant)

	expired := filepath.Join(dir, "expired.txt")
	require.NoError(t, os.WriteFile(expired, []byte(s.UserAccessToken(s.ResourceManager()+".default", -time.Hour)), 0o600))
	before := len(s.Requests())
	o.AccessTokenFile = expired
	_, err = SignIn(context.Background(), o)
	var ee *AccessTokenExpiredError
	require.ErrorAs(t, err, &ee)
	assert.WithinDuration(t, time.Now().Add(-time.Hour), ee.Expired, 2*time.Minute)
	assert.Equal(t, before, len(s.Requests()), "no request with an expired token")

	o.AccessTokenFile, o.AccessToken = "", "not.a-jwt"
	_, err = Token(context.Background(), o, "")
	assert.ErrorIs(t, err, ErrAccessTokenUnusable)
}

// TestSubscriptions: every page is read, the default is picked by id or
// name, and an account without any needs AllowNoSubscriptions.
func TestSubscriptions(t *testing.T) {
	s := logintest.New(t)
	b := testcert.Mint(t, "certctl subscriptions", testcert.Options{})
	s.RegisterCertificate(appID, b.Leaf)
	s.SetSubscriptions([]map[string]string{
		{"subscriptionId": "a", "displayName": "Off", "state": "Disabled"},
		{"subscriptionId": "b", "displayName": "Dev", "state": "Enabled"},
		{"subscriptionId": "c", "displayName": "Prod", "state": "Enabled"},
	})
	s.SetSubscriptionPageSize(1)
	o := certOptions(s, certstore.BundleIdentity(b))
	res, err := SignIn(context.Background(), o)
	require.NoError(t, err)
	assert.Len(t, res.Subscriptions, 3)
	assert.Equal(t, "b", res.Subscription.ID, "the first enabled one")

	o.Subscription = "PROD"
	res, err = SignIn(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, "c", res.Subscription.ID)

	o.Subscription = "nowhere"
	_, err = SignIn(context.Background(), o)
	var ue *UnknownSubscriptionError
	require.ErrorAs(t, err, &ue)
	assert.Len(t, ue.Available, 3)

	s.SetSubscriptions(nil)
	o.Subscription = ""
	_, err = SignIn(context.Background(), o)
	assert.ErrorIs(t, err, ErrNoSubscriptions)
	o.AllowNoSubscriptions = true
	res, err = SignIn(context.Background(), o)
	require.NoError(t, err)
	assert.Nil(t, res.Subscription)
}

// TestNamedContexts: several contexts, one current; the file of the
// certctl before named contexts loads; a failed change saves nothing.
func TestNamedContexts(t *testing.T) {
	dir := t.TempDir()
	a := &Context{Method: MethodManagedIdentity, Environment: "AzureCloud", Tenant: "t1", Account: "vm"}
	b := &Context{Name: "deploy", Method: MethodManagedIdentity, Environment: "AzureUSGovernment", Tenant: "t2", Account: "app"}
	require.NoError(t, SaveContext(dir, a))
	require.NoError(t, SaveContext(dir, b))
	cs, err := LoadContexts(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"deploy", "vm/t1"}, cs.Names())
	assert.Equal(t, "deploy", cs.Current)
	got, err := LoadContext(dir, "vm/t1")
	require.NoError(t, err)
	assert.Equal(t, "t1", got.Tenant)
	_, err = LoadContext(dir, "nosuch")
	assert.ErrorIs(t, err, ErrUnknownContext)

	// A change that fails leaves the file as it was.
	before, err := os.ReadFile(filepath.Join(dir, ContextsFile))
	require.NoError(t, err)
	err = UpdateContexts(dir, func(cs *Contexts) error {
		cs.Current = "vm/t1"
		return errors.New("changed my mind")
	})
	require.Error(t, err)
	after, err := os.ReadFile(filepath.Join(dir, ContextsFile))
	require.NoError(t, err)
	assert.Equal(t, before, after)

	// Concurrent saves under the lock: none is lost.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = SaveContext(dir, &Context{Name: string(rune('a' + i)), Method: MethodManagedIdentity, Environment: "AzureCloud", Tenant: "t", Account: "x"})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		assert.NoError(t, err)
	}
	cs, err = LoadContexts(dir)
	require.NoError(t, err)
	assert.Len(t, cs.List, 10)

	// The one context of an older certctl is the current one.
	old := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(old, LegacyContextFile), []byte(`{"method":"ManagedIdentity","environment":"AzureCloud","tenant":"t","account":"vm","signedInAt":"2026-01-01T00:00:00Z"}`), 0o600))
	got, err = LoadContext(old, "")
	require.NoError(t, err)
	assert.Equal(t, "vm/t", got.Name)
	require.NoError(t, UpdateContexts(old, func(*Contexts) error { return nil }))
	_, err = os.Stat(filepath.Join(old, LegacyContextFile))
	assert.ErrorIs(t, err, os.ErrNotExist, "moved into contexts.json")
	got, err = LoadContext(old, "")
	require.NoError(t, err)
	assert.Equal(t, "vm", got.Account)
}
