package appcred_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/certctl/certctl/appcred"
	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/internal/logintest"
	"github.com/certctl/certctl/internal/testcert"
	"github.com/certctl/certctl/login"
)

const appID = "a1c0ce27-0000-4000-8000-0000000000e1"

// setup is a fake tenant whose application appID has one certificate, in a
// file store, and a Graph client that reads as the fake's user (an owner).
func setup(t *testing.T) (*logintest.Server, *appcred.Client, certstore.Store, certstore.Identity) {
	t.Helper()
	fake := logintest.New(t)
	s, err := certstore.Open("My", certstore.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	first := add(t, s, "CN=first")
	fake.RegisterCertificate(appID, first.Certificate())
	token := fake.UserAccessToken(fake.GraphEndpoint()+"/.default", time.Hour)
	c, err := appcred.New(appcred.Options{
		Endpoint:     fake.GraphEndpoint() + "/",
		Token:        func(context.Context) (string, error) { return token, nil },
		RoundTripper: fake.TLS.Client().Transport,
	})
	require.NoError(t, err)
	return fake, c, s, first
}

// add makes a certificate with its key in s.
func add(t *testing.T, s certstore.Store, subject string) certstore.Identity {
	t.Helper()
	b := testcert.Mint(t, strings.TrimPrefix(subject, "CN="), testcert.Options{})
	res, err := s.Import(b, certstore.ImportOptions{})
	require.NoError(t, err)
	id, err := s.Find(res.Entry.Thumbprint)
	require.NoError(t, err)
	return id
}

func thumbprints(keys []logintest.KeyCredential) []string {
	var tps []string
	for _, k := range keys {
		tps = append(tps, k.Thumbprint)
	}
	return tps
}

func TestApplication(t *testing.T) {
	fake, c, _, first := setup(t)
	app, err := c.Application(context.Background(), strings.ToUpper(appID))
	require.NoError(t, err)
	assert.Equal(t, fake.ApplicationObjectID(appID), app.ObjectID)
	require.Len(t, app.Keys, 1)
	k := app.Keys[0]
	assert.True(t, k.HasThumbprint)
	assert.Equal(t, first.Thumbprint(), k.Thumbprint)
	assert.True(t, k.IsCertificate())
	assert.Equal(t, first.Certificate().NotAfter.UTC().Truncate(time.Second), k.End)
	require.NotNil(t, k.Certificate, "the key is read with $select=keyCredentials")

	_, err = c.Application(context.Background(), "00000000-0000-4000-8000-00000000dead")
	assert.ErrorIs(t, err, appcred.ErrApplicationNotFound)
	var ge *appcred.GraphError
	require.ErrorAs(t, err, &ge)
	assert.Equal(t, http.StatusNotFound, ge.Status)
	assert.Equal(t, "Request_ResourceNotFound", ge.Code)

	_, err = c.Application(context.Background(), "x')/../../me")
	assert.ErrorContains(t, err, "is not a GUID")
}

func TestAddRemoveKey(t *testing.T) {
	fake, c, s, first := setup(t)
	ctx := context.Background()
	second := add(t, s, "CN=second")
	app, err := c.Application(ctx, appID)
	require.NoError(t, err)

	k, err := c.AddKey(ctx, app, second.Certificate(), "rotated", appcred.StoreProver{ID: first})
	require.NoError(t, err)
	assert.Equal(t, second.Thumbprint(), k.Thumbprint)
	assert.Equal(t, "rotated", k.DisplayName)
	assert.Equal(t, []string{first.Thumbprint().String(), second.Thumbprint().String()}, thumbprints(fake.KeyCredentials(appID)))

	// Graph refuses a proof signed by a certificate the application
	// does not have, and nothing changes.
	stranger := add(t, s, "CN=stranger")
	third := add(t, s, "CN=third")
	_, err = c.AddKey(ctx, app, third.Certificate(), "", appcred.StoreProver{ID: stranger})
	var ge *appcred.GraphError
	require.ErrorAs(t, err, &ge)
	assert.True(t, ge.ProofRefused(), "%v", err)
	assert.Equal(t, appcred.RequestAddKey, ge.Request)
	assert.Len(t, fake.KeyCredentials(appID), 2)

	// A proof signed with an ECDSA key cannot be made: Graph takes RS256.
	ec, err := s.Import(testcert.Mint(t, "ec", testcert.Options{Key: "ecdsa"}), certstore.ImportOptions{})
	require.NoError(t, err)
	ecID, err := s.Find(ec.Entry.Thumbprint)
	require.NoError(t, err)
	_, err = c.AddKey(ctx, app, third.Certificate(), "", appcred.StoreProver{ID: ecID})
	assert.ErrorIs(t, err, appcred.ErrProofKey)

	// Remove the first with a proof of the second, which stays.
	app, err = c.Application(ctx, appID)
	require.NoError(t, err)
	old, ok := app.Find(first.Thumbprint())
	require.True(t, ok)
	require.NoError(t, c.RemoveKey(ctx, app, old.KeyID, appcred.StoreProver{ID: second}))
	assert.Equal(t, []string{second.Thumbprint().String()}, thumbprints(fake.KeyCredentials(appID)))
	assert.ErrorContains(t, c.RemoveKey(ctx, app, "not-a-guid", appcred.StoreProver{ID: second}), "not a GUID")
}

// TestBootstrap registers a certificate with a PATCH: every credential
// already there is sent back and kept.
func TestBootstrap(t *testing.T) {
	fake, c, s, first := setup(t)
	ctx := context.Background()
	other := add(t, s, "CN=other")
	fake.RegisterCertificate(appID, other.Certificate())
	before := fake.KeyCredentials(appID)
	nw := add(t, s, "CN=new")
	app, err := c.Bootstrap(ctx, appID, nw.Certificate(), "first of its kind")
	require.NoError(t, err)
	after := fake.KeyCredentials(appID)
	require.Len(t, after, 3)
	for i, k := range before {
		assert.Equal(t, k.KeyID, after[i].KeyID, "an existing credential keeps its key id")
		assert.Equal(t, k.Thumbprint, after[i].Thumbprint)
	}
	assert.Equal(t, nw.Thumbprint().String(), after[2].Thumbprint)
	k, ok := app.Find(nw.Thumbprint())
	require.True(t, ok)
	assert.Equal(t, "first of its kind", k.DisplayName)
	_, ok = app.Find(first.Thumbprint())
	assert.True(t, ok)

	// Bootstrapping a certificate that is there already changes nothing.
	_, err = c.Bootstrap(ctx, appID, nw.Certificate(), "")
	require.NoError(t, err)
	assert.Len(t, fake.KeyCredentials(appID), 3)
}

// TestBootstrapRefused: a token that may not update the application gets
// Graph's 403 and nothing changes.
func TestBootstrapRefused(t *testing.T) {
	fake, _, s, _ := setup(t)
	// The application itself, signed in with its certificate, may not
	// read or update applications.
	id := add(t, s, "CN=app")
	fake.RegisterCertificate("a1c0ce27-0000-4000-8000-0000000000e4", id.Certificate())
	o := login.Options{
		Method: login.MethodCertificate, Tenant: fake.Tenant, ClientID: "a1c0ce27-0000-4000-8000-0000000000e4", Identity: id,
		Environment:  login.Environment{Name: "Fake", AuthorityHost: fake.AuthorityHost(), ResourceManager: fake.ResourceManager(), Graph: fake.GraphEndpoint(), Custom: true},
		RoundTripper: fake.TLS.Client().Transport,
	}
	c, err := appcred.New(appcred.Options{
		Endpoint: fake.GraphEndpoint(),
		Token: func(ctx context.Context) (string, error) {
			tok, err := login.Token(ctx, o, fake.GraphEndpoint()+"/.default")
			return tok.Token, err
		},
		RoundTripper: fake.TLS.Client().Transport,
	})
	require.NoError(t, err)
	before := fake.KeyCredentials(appID)
	_, err = c.Bootstrap(context.Background(), appID, add(t, s, "CN=new").Certificate(), "")
	var ge *appcred.GraphError
	require.ErrorAs(t, err, &ge)
	assert.Equal(t, http.StatusForbidden, ge.Status)
	assert.Equal(t, "Authorization_RequestDenied", ge.Code)
	assert.Equal(t, before, fake.KeyCredentials(appID))
}

// TestGraphEndpointRules: Graph is reached only over https at its own host,
// and a redirect of a change is never followed.
func TestGraphEndpointRules(t *testing.T) {
	_, err := appcred.New(appcred.Options{Endpoint: "http://graph.example/", Token: func(context.Context) (string, error) { return "t", nil }})
	assert.ErrorIs(t, err, login.ErrRefusedEndpoint)

	fake, _, _, _ := setup(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, fake.Catcher.URL+r.URL.Path, http.StatusTemporaryRedirect)
	})
	srv := fakeTLS(t, mux)
	c, err := appcred.New(appcred.Options{
		Endpoint:     srv.URL,
		Token:        func(context.Context) (string, error) { return "bearer-that-must-not-leak", nil },
		RoundTripper: srv.Client().Transport,
		Retry:        &login.DefaultRetry,
	})
	require.NoError(t, err)
	_, err = c.Application(context.Background(), appID)
	assert.ErrorIs(t, err, login.ErrRefusedEndpoint)
	assert.Empty(t, fake.Caught())
	assert.False(t, errors.Is(err, appcred.ErrApplicationNotFound))
}

func fakeTLS(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return srv
}
