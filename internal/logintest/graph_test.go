package logintest_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/internal/testcert"
	"github.com/certctl/certctl/login"
	"github.com/certctl/certctl/pfx"
)

// proofAudience is the aud Graph wants in a proof of possession.
const proofAudience = "00000002-0000-0000-c000-000000000000"

var guid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// graphError is the error of a Graph answer.
type graphError struct {
	Code       string            `json:"code"`
	Message    string            `json:"message"`
	InnerError map[string]string `json:"innerError"`
}

// graphReply is a Graph answer.
type graphReply struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
	err    graphError
}

// graph sends a request to the fake Graph's path (below /v1.0) with a
// bearer token, unless it is empty, and a body: a string as it is, anything
// else as JSON.
func (f *fake) graph(t *testing.T, method, path, token string, body any) graphReply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, f.GraphEndpoint()+"/v1.0"+path, rd)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := f.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	g := graphReply{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &g.body), "%s", raw)
		var e struct {
			Error graphError `json:"error"`
		}
		require.NoError(t, json.Unmarshal(raw, &e))
		g.err = e.Error
	}
	return g
}

// refused checks that a Graph answer is an error with status and code, in
// Graph's shape, and returns its message.
func (g graphReply) refused(t *testing.T, status int, code string) string {
	t.Helper()
	require.Equal(t, status, g.status, "%s", g.raw)
	assert.Equal(t, code, g.err.Code, "%s", g.raw)
	assert.Equal(t, "application/json", g.header.Get("Content-Type"))
	assert.Regexp(t, guid, g.err.InnerError["request-id"])
	assert.Equal(t, g.err.InnerError["request-id"], g.err.InnerError["client-request-id"])
	assert.True(t, strings.HasPrefix(g.err.InnerError["date"], time.Now().UTC().Format("2006-01-02T")), g.err.InnerError["date"])
	return g.err.Message
}

// graphScope asks for a token for the fake Graph.
func (f *fake) graphScope() string { return f.GraphEndpoint() + "/.default" }

// signInWith is a client credentials request for appID's Graph token,
// authenticated with an assertion signed by b, as certctl builds it.
func (f *fake) signInWith(t *testing.T, b *pfx.Bundle) answer {
	t.Helper()
	jwt, err := login.BuildAssertion(certstore.BundleIdentity(b), appID, f.TokenEndpoint(), false, time.Now())
	require.NoError(t, err)
	return f.token(t, url.Values{
		"grant_type": {"client_credentials"}, "client_id": {appID}, "scope": {f.graphScope()},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {jwt},
	})
}

// ownToken is appID's Graph token, got with its registered certificate.
func (f *fake) ownToken(t *testing.T) string {
	t.Helper()
	a := f.signInWith(t, f.cert)
	require.Equal(t, http.StatusOK, a.status, a.Description)
	return a.AccessToken
}

// otherToken is otherAppID's Graph token, got with its secret.
func (f *fake) otherToken(t *testing.T) string {
	t.Helper()
	a := f.token(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {otherAppID}, "client_secret": {"other-secret"}, "scope": {f.graphScope()}})
	require.Equal(t, http.StatusOK, a.status, a.Description)
	return a.AccessToken
}

// assertUnknownToSignIn checks that sign-in refuses b as a certificate
// appID does not have.
func (f *fake) assertUnknownToSignIn(t *testing.T, b *pfx.Bundle, msg string) {
	t.Helper()
	a := f.signInWith(t, b)
	assert.Equal(t, "invalid_client", a.Error, msg)
	assert.Equal(t, 700027, a.code(), msg)
	assert.Contains(t, a.Description, "is not registered on application", msg)
}

func (f *fake) assertSignsIn(t *testing.T, b *pfx.Bundle, msg string) {
	t.Helper()
	a := f.signInWith(t, b)
	assert.Equal(t, http.StatusOK, a.status, "%s: %s", msg, a.Description)
}

// proof is a proof of possession for the application with object id oid:
// signed with key (RS256, or PS256 if the header says so), x5t naming
// cert. edit may change the header and claims before they are signed.
func proof(t *testing.T, key crypto.Signer, cert *x509.Certificate, oid string, edit func(header, claims map[string]any)) string {
	t.Helper()
	now := time.Now()
	sum := sha1.Sum(cert.Raw)
	header := map[string]any{"alg": "RS256", "typ": "JWT", "x5t": base64.RawURLEncoding.EncodeToString(sum[:])}
	claims := map[string]any{"aud": proofAudience, "iss": oid, "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	if edit != nil {
		edit(header, claims)
	}
	h, err := json.Marshal(header)
	require.NoError(t, err)
	c, err := json.Marshal(claims)
	require.NoError(t, err)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	digest := sha256.Sum256([]byte(in))
	rsaKey, ok := key.(*rsa.PrivateKey)
	require.True(t, ok, "proofs are signed with RSA keys")
	var sig []byte
	switch header["alg"] {
	case "PS256":
		sig, err = rsa.SignPSS(rand.Reader, rsaKey, crypto.SHA256, digest[:], nil)
	case "none":
	default:
		sig, err = rsa.SignPKCS1v15(nil, rsaKey, crypto.SHA256, digest[:])
	}
	require.NoError(t, err)
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// proofBy is appID's proof of possession signed by b.
func (f *fake) proofBy(t *testing.T, b *pfx.Bundle, edit func(header, claims map[string]any)) string {
	t.Helper()
	return proof(t, b.Key, b.Leaf, f.ApplicationObjectID(appID), edit)
}

func keyCredential(cert *x509.Certificate) map[string]any {
	return map[string]any{"type": "AsymmetricX509Cert", "usage": "Verify", "key": base64.StdEncoding.EncodeToString(cert.Raw)}
}

func addKeyBody(cert *x509.Certificate, proof string) map[string]any {
	return map[string]any{"keyCredential": keyCredential(cert), "passwordCredential": nil, "proof": proof}
}

func sha1Base64(cert *x509.Certificate) string {
	sum := sha1.Sum(cert.Raw)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// keyCredentials are the keyCredentials of a GET answer.
func keyCredentials(t *testing.T, g graphReply) []map[string]any {
	t.Helper()
	require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
	list, ok := g.body["keyCredentials"].([]any)
	require.True(t, ok, "%s", g.raw)
	var out []map[string]any
	for _, v := range list {
		out = append(out, v.(map[string]any))
	}
	return out
}

func keyIDs(keys []map[string]any) []string {
	var ids []string
	for _, k := range keys {
		ids = append(ids, k["keyId"].(string))
	}
	return ids
}

func TestGraphGetApplication(t *testing.T) {
	f := newFake(t)
	oid := f.ApplicationObjectID(appID)
	assert.Regexp(t, guid, oid)
	assert.Equal(t, oid, f.ApplicationObjectID(appID), "the object id is stable")
	assert.NotEqual(t, appID, oid)
	user := f.UserAccessToken(f.graphScope(), time.Hour)

	creds := f.KeyCredentials(appID)
	require.Len(t, creds, 1)
	leaf := f.cert.Leaf
	sum := sha1.Sum(leaf.Raw)
	assert.Equal(t, strings.ToUpper(hex.EncodeToString(sum[:])), creds[0].Thumbprint)
	assert.Regexp(t, guid, creds[0].KeyID)
	assert.Equal(t, "CN=certctl partner app", creds[0].DisplayName)
	assert.True(t, creds[0].Start.Equal(leaf.NotBefore))
	assert.True(t, creds[0].End.Equal(leaf.NotAfter))
	assert.True(t, creds[0].Certificate.Equal(leaf))

	for _, path := range []string{"/applications/" + oid, "/applications(appId='" + appID + "')", "/applications/" + strings.ToUpper(oid)} {
		g := f.graph(t, http.MethodGet, path, user, nil)
		keys := keyCredentials(t, g)
		assert.Equal(t, oid, g.body["id"], path)
		assert.Equal(t, appID, g.body["appId"], path)
		assert.NotEmpty(t, g.body["displayName"], path)
		require.Len(t, keys, 1, path)
		assert.Equal(t, map[string]any{
			"customKeyIdentifier": sha1Base64(leaf),
			"displayName":         "CN=certctl partner app",
			"endDateTime":         leaf.NotAfter.UTC().Format(time.RFC3339),
			"key":                 nil,
			"keyId":               creds[0].KeyID,
			"startDateTime":       leaf.NotBefore.UTC().Format(time.RFC3339),
			"type":                "AsymmetricX509Cert",
			"usage":               "Verify",
		}, keys[0], path)
	}

	t.Run("$select", func(t *testing.T) {
		g := f.graph(t, http.MethodGet, "/applications/"+oid+"?$select=keyCredentials", user, nil)
		keys := keyCredentials(t, g)
		require.Len(t, keys, 1)
		assert.Equal(t, base64.StdEncoding.EncodeToString(leaf.Raw), keys[0]["key"], "the key comes with $select=keyCredentials")
		assert.Equal(t, oid, g.body["id"])
		assert.NotContains(t, g.body, "appId")
		assert.NotContains(t, g.body, "displayName")

		g = f.graph(t, http.MethodGet, "/applications(appId='"+appID+"')?"+url.Values{"$select": {"id, appId"}}.Encode(), user, nil)
		require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
		assert.Equal(t, appID, g.body["appId"])
		assert.NotContains(t, g.body, "keyCredentials")

		g = f.graph(t, http.MethodGet, "/applications/"+oid+"?$select=keyCredential", user, nil)
		assert.Contains(t, g.refused(t, http.StatusBadRequest, "BadRequest"), "'keyCredential'")
	})

	t.Run("unknown applications", func(t *testing.T) {
		const unknown = "0a0a0a0a-0000-4000-8000-000000000000"
		g := f.graph(t, http.MethodGet, "/applications/"+unknown, user, nil)
		assert.Equal(t, "Resource '"+unknown+"' does not exist or one of its queried reference-property objects are not present.", g.refused(t, http.StatusNotFound, "Request_ResourceNotFound"))
		g = f.graph(t, http.MethodGet, "/applications/"+appID, user, nil)
		g.refused(t, http.StatusNotFound, "Request_ResourceNotFound")
		g = f.graph(t, http.MethodGet, "/applications(appId='"+unknown+"')", user, nil)
		g.refused(t, http.StatusNotFound, "Request_ResourceNotFound")

		// ApplicationObjectID creates the application.
		created := f.ApplicationObjectID(unknown)
		g = f.graph(t, http.MethodGet, "/applications(appId='"+unknown+"')", user, nil)
		assert.Empty(t, keyCredentials(t, g))
		assert.Equal(t, created, g.body["id"])
	})

	t.Run("permission", func(t *testing.T) {
		g := f.graph(t, http.MethodGet, "/applications/"+oid, f.ownToken(t), nil)
		assert.Equal(t, "Insufficient privileges to complete the operation.", g.refused(t, http.StatusForbidden, "Authorization_RequestDenied"), "an application does not read itself without a permission")
		other := f.otherToken(t)
		g = f.graph(t, http.MethodGet, "/applications/"+oid, other, nil)
		g.refused(t, http.StatusForbidden, "Authorization_RequestDenied")
		f.GrantApplicationWrite(otherAppID)
		g = f.graph(t, http.MethodGet, "/applications/"+oid, other, nil)
		assert.Len(t, keyCredentials(t, g), 1)
	})

	t.Run("requests are recorded", func(t *testing.T) {
		before := len(f.Requests())
		f.graph(t, http.MethodGet, "/applications/"+oid, user, nil)
		reqs := f.Requests()
		require.Len(t, reqs, before+1)
		assert.Equal(t, "GET /graph/v1.0/applications/"+oid, reqs[before])
	})

	t.Run("other paths", func(t *testing.T) {
		g := f.graph(t, http.MethodGet, "/me", user, nil)
		assert.Contains(t, g.refused(t, http.StatusBadRequest, "BadRequest"), "'me'")
		g = f.graph(t, http.MethodDelete, "/applications/"+oid, user, nil)
		g.refused(t, http.StatusMethodNotAllowed, "Request_BadRequest")
		g = f.graph(t, http.MethodGet, "/applications/"+oid+"/addKey", user, nil)
		g.refused(t, http.StatusMethodNotAllowed, "Request_BadRequest")
		assert.Len(t, f.KeyCredentials(appID), 1)
	})
}

func TestGraphChecksTokens(t *testing.T) {
	f := newFake(t)
	path := "/applications/" + f.ApplicationObjectID(appID)
	for _, tc := range []struct {
		name, token, message string
	}{
		{"valid", f.UserAccessToken(f.graphScope(), time.Hour), ""},
		{"valid, audience with a trailing slash", f.UserAccessToken(f.GraphEndpoint()+"//.default", time.Hour), ""},
		{"none", "", "Access token is empty."},
		{"not issued", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln", "Access token validation failure."},
		{"expired", f.UserAccessToken(f.graphScope(), -time.Minute), "Lifetime validation failed, the token is expired."},
		{"for the real Graph", f.UserAccessToken(graph, time.Hour), "Access token validation failure. Invalid audience."},
		{"for Resource Manager", f.UserAccessToken(f.ResourceManager()+".default", time.Hour), "Access token validation failure. Invalid audience."},
		{"for a path below", f.UserAccessToken(f.GraphEndpoint()+"/v1.0/.default", time.Hour), "Access token validation failure. Invalid audience."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := f.graph(t, http.MethodGet, path, tc.token, nil)
			if tc.message == "" {
				assert.Len(t, keyCredentials(t, g), 1)
				return
			}
			assert.Equal(t, tc.message, g.refused(t, http.StatusUnauthorized, "InvalidAuthenticationToken"))
			assert.Contains(t, g.header.Get("WWW-Authenticate"), "Bearer")
		})
	}

	t.Run("client-request-id is echoed", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, f.GraphEndpoint()+"/v1.0"+path, nil)
		require.NoError(t, err)
		req.Header.Set("client-request-id", "5a3c0000-0000-4000-8000-000000000001")
		resp, err := f.client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var e struct {
			Error graphError `json:"error"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		assert.Equal(t, "5a3c0000-0000-4000-8000-000000000001", e.Error.InnerError["client-request-id"])
		assert.Equal(t, "5a3c0000-0000-4000-8000-000000000001", resp.Header.Get("client-request-id"))
	})
}

// TestGraphAddKeyReplication: an application adds a certificate with a
// proof from the one it has; sign-in knows the new one only after the
// replication delay, Graph at once.
func TestGraphAddKeyReplication(t *testing.T) {
	f := newFake(t)
	f.SetReplicationDelay(2)
	own := f.ownToken(t)
	next := testcert.Mint(t, "certctl next", testcert.Options{Key: "rsa"})
	f.assertUnknownToSignIn(t, next, "before it is added")

	g := f.graph(t, http.MethodPost, "/applications(appId='"+appID+"')/addKey", own, addKeyBody(next.Leaf, f.proofBy(t, f.cert, nil)))
	require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
	assert.Regexp(t, guid, g.body["keyId"])
	assert.Nil(t, g.body["key"])
	assert.Equal(t, "CN=certctl next", g.body["displayName"])
	assert.Equal(t, sha1Base64(next.Leaf), g.body["customKeyIdentifier"])
	assert.Equal(t, next.Leaf.NotAfter.UTC().Format(time.RFC3339), g.body["endDateTime"])
	creds := f.KeyCredentials(appID)
	require.Len(t, creds, 2)
	assert.Equal(t, g.body["keyId"], creds[1].KeyID)
	assert.True(t, creds[1].Certificate.Equal(next.Leaf))

	// Graph knows the new certificate at once: it proves possession for
	// the next addKey, while sign-in does not know it yet.
	third := testcert.Mint(t, "certctl third", testcert.Options{Key: "rsa"})
	body := addKeyBody(third.Leaf, f.proofBy(t, next, nil))
	body["keyCredential"].(map[string]any)["displayName"] = "rolled by certctl"
	g = f.graph(t, http.MethodPost, "/applications/"+f.ApplicationObjectID(appID)+"/microsoft.graph.addKey", own, body)
	require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
	assert.Equal(t, "rolled by certctl", g.body["displayName"])

	f.assertUnknownToSignIn(t, next, "first request")
	f.assertSignsIn(t, f.cert, "the old certificate signs in meanwhile")
	f.assertUnknownToSignIn(t, next, "second request")
	f.assertSignsIn(t, next, "after the delay")
	f.assertSignsIn(t, next, "and from then on")
	f.assertUnknownToSignIn(t, third, "each credential has its own delay")

	f.SetReplicationDelay(0)
	fourth := testcert.Mint(t, "certctl fourth", testcert.Options{Key: "rsa"})
	g = f.graph(t, http.MethodPost, "/applications/"+f.ApplicationObjectID(appID)+"/addKey", own, addKeyBody(fourth.Leaf, f.proofBy(t, f.cert, nil)))
	require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
	f.assertSignsIn(t, fourth, "no delay")
}

func TestGraphProofRefusals(t *testing.T) {
	f := newFake(t)
	own := f.ownToken(t)
	oid := f.ApplicationObjectID(appID)
	now := time.Now()
	expired := testcert.Mint(t, "certctl expired", testcert.Options{Key: "rsa", NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)})
	f.RegisterCertificate(appID, expired.Leaf)
	ec := testcert.Mint(t, "certctl ecdsa", testcert.Options{Key: "ecdsa"})
	f.RegisterCertificate(appID, ec.Leaf)
	stranger := testcert.Mint(t, "certctl stranger", testcert.Options{Key: "rsa"})
	next := testcert.Mint(t, "certctl next", testcert.Options{Key: "rsa"})
	before := f.KeyCredentials(appID)
	require.Len(t, before, 3)

	valid := f.proofBy(t, f.cert, nil)
	parts := strings.Split(valid, ".")
	header, err := base64.RawURLEncoding.DecodeString(parts[0])
	require.NoError(t, err)
	if len(header)%3 == 0 {
		header = append(header, ' ') // JSON still, and now it needs padding
	}
	padded := base64.URLEncoding.EncodeToString(header)
	require.Contains(t, padded, "=")

	for _, tc := range []struct {
		name, proof, why string
	}{
		{"unregistered certificate", f.proofBy(t, stranger, nil), "is not a key credential of application '" + oid + "'"},
		{"wrong aud", f.proofBy(t, f.cert, func(_, c map[string]any) { c["aud"] = "https://graph.microsoft.com" }), "aud is 'https://graph.microsoft.com'"},
		{"aud as a list", f.proofBy(t, f.cert, func(_, c map[string]any) { c["aud"] = []string{proofAudience} }), "claims are not"},
		{"appId as iss", f.proofBy(t, f.cert, func(_, c map[string]any) { c["iss"] = appID }), "iss is '" + appID + "', not the application's object id"},
		{"lifetime over ten minutes", f.proofBy(t, f.cert, func(_, c map[string]any) {
			c["nbf"], c["exp"] = now.Unix(), now.Add(10*time.Minute+time.Second).Unix()
		}), "lifetime"},
		{"expired", f.proofBy(t, f.cert, func(_, c map[string]any) {
			c["nbf"], c["exp"] = now.Add(-time.Hour).Unix(), now.Add(-50*time.Minute).Unix()
		}), "it is not valid now"},
		{"not yet valid", f.proofBy(t, f.cert, func(_, c map[string]any) {
			c["nbf"], c["exp"] = now.Add(20*time.Minute).Unix(), now.Add(25*time.Minute).Unix()
		}), "it is not valid now"},
		{"exp before nbf", f.proofBy(t, f.cert, func(_, c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() }), "exp is not after nbf"},
		{"no nbf", f.proofBy(t, f.cert, func(_, c map[string]any) { delete(c, "nbf") }), "nbf and exp are required"},
		{"dates as strings", f.proofBy(t, f.cert, func(_, c map[string]any) {
			c["nbf"], c["exp"] = now.Format(time.RFC3339), now.Add(10*time.Minute).Format(time.RFC3339)
		}), "claims are not"},
		{"PS256", f.proofBy(t, f.cert, func(h, _ map[string]any) { h["alg"] = "PS256" }), "alg 'PS256' is not supported"},
		{"alg none", f.proofBy(t, f.cert, func(h, _ map[string]any) { h["alg"] = "none" }), "alg 'none' is not supported"},
		{"no x5t", f.proofBy(t, f.cert, func(h, _ map[string]any) {
			delete(h, "x5t")
			sum := sha256.Sum256(f.cert.Leaf.Raw)
			h["x5t#S256"] = base64.RawURLEncoding.EncodeToString(sum[:])
		}), "has no x5t"},
		{"signed by another key", proof(t, stranger.Key, f.cert.Leaf, oid, nil), "the signature does not verify"},
		{"claims changed after signing", parts[0] + "." + strings.Split(f.proofBy(t, f.cert, func(_, c map[string]any) { c["iss"] = "x" }), ".")[1] + "." + parts[2], "the signature does not verify"},
		{"expired registered certificate", f.proofBy(t, expired, nil), "is not valid now: it is valid from"},
		{"certificate without an RSA key", proof(t, f.cert.Key, ec.Leaf, oid, nil), "does not have an RSA key"},
		{"base64 with padding", padded + "." + parts[1] + "." + parts[2], "header is not base64url"},
		{"two parts", parts[0] + "." + parts[1], "three base64url parts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := f.graph(t, http.MethodPost, "/applications/"+oid+"/addKey", own, addKeyBody(next.Leaf, tc.proof))
			msg := g.refused(t, http.StatusUnauthorized, "Authentication_MissingOrMalformed")
			assert.True(t, strings.HasPrefix(msg, "Access Token missing or malformed. Invalid proof: "), msg)
			assert.Contains(t, msg, tc.why)
			assert.Equal(t, before, f.KeyCredentials(appID), "nothing was added")
		})
	}

	t.Run("no proof", func(t *testing.T) {
		g := f.graph(t, http.MethodPost, "/applications/"+oid+"/addKey", own, addKeyBody(next.Leaf, ""))
		g.refused(t, http.StatusForbidden, "Authorization_RequestDenied")
		assert.Equal(t, before, f.KeyCredentials(appID))
	})

	// The refusals above are of the proofs alone: the same request with a
	// proof at the limits Graph allows (ten minutes, in a window five
	// minutes wide around now) succeeds.
	t.Run("at the limits", func(t *testing.T) {
		p := f.proofBy(t, f.cert, func(_, c map[string]any) {
			c["nbf"], c["exp"] = now.Add(4*time.Minute).Unix(), now.Add(14*time.Minute).Unix()
		})
		g := f.graph(t, http.MethodPost, "/applications/"+oid+"/addKey", own, addKeyBody(next.Leaf, p))
		require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
		assert.Len(t, f.KeyCredentials(appID), 4)
	})
}

func TestGraphAddKeyRefusals(t *testing.T) {
	f := newFake(t)
	own := f.ownToken(t)
	oid := f.ApplicationObjectID(appID)
	next := testcert.Mint(t, "certctl next", testcert.Options{Key: "rsa"})
	p := f.proofBy(t, f.cert, nil)
	before := f.KeyCredentials(appID)
	with := func(change func(kc map[string]any)) map[string]any {
		body := addKeyBody(next.Leaf, p)
		change(body["keyCredential"].(map[string]any))
		return body
	}

	for _, tc := range []struct {
		name string
		body any
		why  string
	}{
		{"not JSON", `{"keyCredential": `, "Invalid request body"},
		{"empty", "", "The request body is empty"},
		{"no keyCredential", map[string]any{"proof": p}, "'keyCredential'"},
		{"unknown parameter", map[string]any{"keyCredential": keyCredential(next.Leaf), "proof": p, "keyId": "x"}, `unknown field "keyId"`},
		{"symmetric key", with(func(kc map[string]any) { kc["type"] = "Symmetric" }), "type 'Symmetric' is not supported"},
		{"signing usage", with(func(kc map[string]any) { kc["usage"] = "Sign" }), "usage 'Sign' is not supported"},
		{"no key", with(func(kc map[string]any) { delete(kc, "key") }), "has no key"},
		{"key not base64", with(func(kc map[string]any) { kc["key"] = "not base64!" }), "the key is not base64"},
		{"key not a certificate", with(func(kc map[string]any) { kc["key"] = base64.StdEncoding.EncodeToString([]byte("hello")) }), "not an X.509 certificate"},
		{"password", map[string]any{"keyCredential": keyCredential(next.Leaf), "passwordCredential": map[string]any{"secretText": "x"}, "proof": p}, "passwordCredential must be null"},
		{"certificate already registered", addKeyBody(f.cert.Leaf, p), "is already a key credential of the application"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := f.graph(t, http.MethodPost, "/applications/"+oid+"/addKey", own, tc.body)
			assert.Contains(t, g.refused(t, http.StatusBadRequest, "Request_BadRequest"), tc.why)
			assert.Equal(t, before, f.KeyCredentials(appID))
		})
	}

	t.Run("unknown application", func(t *testing.T) {
		g := f.graph(t, http.MethodPost, "/applications(appId='0a0a0a0a-0000-4000-8000-000000000000')/addKey", own, addKeyBody(next.Leaf, p))
		g.refused(t, http.StatusNotFound, "Request_ResourceNotFound")
	})

	t.Run("who may", func(t *testing.T) {
		other := f.otherToken(t)
		g := f.graph(t, http.MethodPost, "/applications/"+oid+"/addKey", other, addKeyBody(next.Leaf, p))
		g.refused(t, http.StatusForbidden, "Authorization_RequestDenied")
		assert.Equal(t, before, f.KeyCredentials(appID))
		f.GrantApplicationWrite(otherAppID)
		g = f.graph(t, http.MethodPost, "/applications/"+oid+"/addKey", other, addKeyBody(next.Leaf, p))
		require.Equal(t, http.StatusOK, g.status, "%s", g.raw)

		third := testcert.Mint(t, "certctl third", testcert.Options{Key: "rsa"})
		g = f.graph(t, http.MethodPost, "/applications/"+oid+"/addKey", f.UserAccessToken(f.graphScope(), time.Hour), addKeyBody(third.Leaf, p))
		require.Equal(t, http.StatusOK, g.status, "the user may: %s", g.raw)
		assert.Len(t, f.KeyCredentials(appID), 3)
	})
}

func TestGraphRemoveKey(t *testing.T) {
	f := newFake(t)
	own := f.ownToken(t)
	oid := f.ApplicationObjectID(appID)
	next := testcert.Mint(t, "certctl next", testcert.Options{Key: "rsa"})
	g := f.graph(t, http.MethodPost, "/applications/"+oid+"/addKey", own, addKeyBody(next.Leaf, f.proofBy(t, f.cert, nil)))
	require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
	nextID := g.body["keyId"].(string)
	oldID := f.KeyCredentials(appID)[0].KeyID
	f.assertSignsIn(t, next, "added")
	removeKey := "/applications(appId='" + appID + "')/removeKey"

	g = f.graph(t, http.MethodPost, removeKey, own, map[string]any{"keyId": nextID, "proof": f.proofBy(t, next, nil)})
	assert.Contains(t, g.refused(t, http.StatusBadRequest, "Request_BadRequest"), "signed by the key credential being removed")
	assert.Len(t, f.KeyCredentials(appID), 2)
	f.assertSignsIn(t, next, "not removed")

	stranger := testcert.Mint(t, "certctl stranger", testcert.Options{Key: "rsa"})
	g = f.graph(t, http.MethodPost, removeKey, own, map[string]any{"keyId": nextID, "proof": f.proofBy(t, stranger, nil)})
	g.refused(t, http.StatusUnauthorized, "Authentication_MissingOrMalformed")
	g = f.graph(t, http.MethodPost, removeKey, own, map[string]any{"keyId": nextID, "proof": ""})
	g.refused(t, http.StatusForbidden, "Authorization_RequestDenied")
	g = f.graph(t, http.MethodPost, removeKey, f.otherToken(t), map[string]any{"keyId": nextID, "proof": f.proofBy(t, f.cert, nil)})
	g.refused(t, http.StatusForbidden, "Authorization_RequestDenied")

	const unknown = "0b0b0b0b-0000-4000-8000-000000000000"
	g = f.graph(t, http.MethodPost, removeKey, own, map[string]any{"keyId": unknown, "proof": f.proofBy(t, f.cert, nil)})
	assert.Contains(t, g.refused(t, http.StatusNotFound, "Request_ResourceNotFound"), unknown)
	g = f.graph(t, http.MethodPost, removeKey, own, map[string]any{"keyId": "not-a-guid", "proof": f.proofBy(t, f.cert, nil)})
	assert.Contains(t, g.refused(t, http.StatusBadRequest, "Request_BadRequest"), "not-a-guid")
	assert.Len(t, f.KeyCredentials(appID), 2)

	g = f.graph(t, http.MethodPost, removeKey, own, map[string]any{"keyId": nextID, "proof": f.proofBy(t, f.cert, nil)})
	require.Equal(t, http.StatusNoContent, g.status, "%s", g.raw)
	assert.Empty(t, g.raw)
	creds := f.KeyCredentials(appID)
	require.Len(t, creds, 1)
	assert.Equal(t, oldID, creds[0].KeyID)
	f.assertUnknownToSignIn(t, next, "removed")
	f.assertSignsIn(t, f.cert, "the one that stays")

	g = f.graph(t, http.MethodPost, removeKey, own, map[string]any{"keyId": nextID, "proof": f.proofBy(t, f.cert, nil)})
	g.refused(t, http.StatusNotFound, "Request_ResourceNotFound")
}

func TestGraphPatch(t *testing.T) {
	f := newFake(t)
	f.SetReplicationDelay(1)
	oid := f.ApplicationObjectID(appID)
	byID := "/applications/" + oid
	other := f.otherToken(t)
	before := f.KeyCredentials(appID)
	next := testcert.Mint(t, "certctl next", testcert.Options{Key: "rsa"})
	patch := func(token string, keys ...map[string]any) graphReply {
		t.Helper()
		list := []map[string]any{}
		list = append(list, keys...)
		return f.graph(t, http.MethodPatch, byID, token, map[string]any{"keyCredentials": list})
	}

	g := patch(other, keyCredential(next.Leaf))
	assert.Equal(t, "Insufficient privileges to complete the operation.", g.refused(t, http.StatusForbidden, "Authorization_RequestDenied"))
	g = patch(f.ownToken(t), keyCredential(next.Leaf))
	g.refused(t, http.StatusForbidden, "Authorization_RequestDenied")
	assert.Equal(t, before, f.KeyCredentials(appID), "nothing changed")
	f.assertSignsIn(t, f.cert, "nothing changed")

	f.GrantApplicationWrite(otherAppID)
	unread := keyCredentials(t, f.graph(t, http.MethodGet, byID, other, nil))
	current := keyCredentials(t, f.graph(t, http.MethodGet, byID+"?$select=keyCredentials", other, nil))
	require.Len(t, current, 1)

	g = patch(other, unread[0], keyCredential(next.Leaf))
	assert.Contains(t, g.refused(t, http.StatusBadRequest, "Request_BadRequest"), "keyCredentials[0] has no key")
	changed := keyCredential(next.Leaf)
	changed["keyId"] = current[0]["keyId"]
	g = patch(other, changed)
	assert.Contains(t, g.refused(t, http.StatusBadRequest, "Request_BadRequest"), "Update to existing credential with KeyId")
	g = patch(other, current[0], keyCredential(f.cert.Leaf))
	assert.Contains(t, g.refused(t, http.StatusBadRequest, "Request_BadRequest"), "appears more than once")
	g = f.graph(t, http.MethodPatch, byID, other, map[string]any{"keyCredentials": nil})
	g.refused(t, http.StatusBadRequest, "Request_BadRequest")
	assert.Equal(t, before, f.KeyCredentials(appID), "nothing changed")

	// Keeping what was read and adding a certificate: the kept one is the
	// same credential, known to sign-in at once; the new one replicates.
	g = patch(other, current[0], keyCredential(next.Leaf))
	require.Equal(t, http.StatusNoContent, g.status, "%s", g.raw)
	creds := f.KeyCredentials(appID)
	require.Len(t, creds, 2)
	assert.Equal(t, before[0].KeyID, creds[0].KeyID)
	assert.Regexp(t, guid, creds[1].KeyID)
	assert.Equal(t, "CN=certctl next", creds[1].DisplayName)
	f.assertSignsIn(t, f.cert, "kept")
	f.assertUnknownToSignIn(t, next, "replicating")
	f.assertSignsIn(t, next, "replicated")

	// The user may too, by appId; other properties are ignored. Keeping
	// only the new certificate removes the old one.
	listed := keyCredentials(t, f.graph(t, http.MethodGet, byID+"?$select=keyCredentials", other, nil))
	require.Equal(t, []string{creds[0].KeyID, creds[1].KeyID}, keyIDs(listed))
	g = f.graph(t, http.MethodPatch, "/applications(appId='"+appID+"')", f.UserAccessToken(f.graphScope(), time.Hour),
		map[string]any{"displayName": "renamed", "keyCredentials": []map[string]any{listed[1]}})
	require.Equal(t, http.StatusNoContent, g.status, "%s", g.raw)
	creds = f.KeyCredentials(appID)
	require.Len(t, creds, 1)
	assert.Equal(t, listed[1]["keyId"], creds[0].KeyID)
	f.assertUnknownToSignIn(t, f.cert, "removed by PATCH")
	f.assertSignsIn(t, next, "kept")

	g = f.graph(t, http.MethodPatch, byID, other, map[string]any{"displayName": "renamed again"})
	require.Equal(t, http.StatusNoContent, g.status, "%s", g.raw)
	assert.Len(t, f.KeyCredentials(appID), 1, "a PATCH without keyCredentials leaves them")

	g = patch(other)
	require.Equal(t, http.StatusNoContent, g.status, "%s", g.raw)
	assert.Empty(t, f.KeyCredentials(appID))
	f.assertUnknownToSignIn(t, next, "every credential removed")

	patches := 0
	for _, r := range f.Requests() {
		if strings.HasPrefix(r, "PATCH /graph/v1.0/applications") {
			patches++
		}
	}
	assert.Equal(t, 10, patches)
}
