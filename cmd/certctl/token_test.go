//go:build !windows

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/certctl/certctl/login"
	"github.com/certctl/certctl/pfx"
	"github.com/certctl/certctl/thumbprint"
)

// TestTokenOneRequest: once the tenant's discovery metadata is kept in the
// config folder, "certctl token" for a saved certificate or client-secret
// sign-in makes one request, the token POST. Kept metadata older than
// login.MetadataMaxAge is fetched again (and kept again); a one-shot
// "certctl token" with sign-in flags fetches it every time and leaves the
// file as it was.
func TestTokenOneRequest(t *testing.T) {
	t.Parallel()
	fake := startFakeEntra(t)
	dir := t.TempDir()
	m := &machine{t: t, bin: "certctl", store: filepath.Join(dir, "store"), config: filepath.Join(dir, "config")}
	m.env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME=", "CERTCTL_STORE_DIR="+m.store, "CERTCTL_CONFIG_DIR="+m.config)
	for k, v := range fake.env {
		m.env = append(m.env, k+"="+v)
	}
	pwFile, secretFile := filepath.Join(dir, "pw.txt"), filepath.Join(dir, "secret.txt")
	require.NoError(t, os.WriteFile(pwFile, []byte(fixturePassword+"\n"), 0o600))
	require.NoError(t, os.WriteFile(secretFile, []byte(fixtureSecret+"\n"), 0o600))
	fixture := filepath.Join(fixtures, "openssl3-default.pfx")
	data, err := os.ReadFile(fixture)
	require.NoError(t, err)
	bundle, err := pfx.Decode(data, fixturePassword)
	require.NoError(t, err)
	tp := thumbprint.Of(bundle.Leaf).String()

	tenant := fake.server.Tenant
	post := "POST /" + tenant + "/oauth2/v2.0/token"
	discovery := "GET /" + tenant + "/v2.0/.well-known/openid-configuration"
	authority := strings.TrimSuffix(fake.server.AuthorityHost(), "/") + "/" + tenant
	cacheFile := filepath.Join(m.config, login.MetadataFile)

	m.run(0, "environment", "add", "Fake", "--authority-host", fake.server.AuthorityHost(), "--resource-manager-endpoint", fake.server.ResourceManager())
	m.run(0, "import", fixture, "--password-file", pwFile)
	m.run(0, "login", "--service-principal", "--tenant", tenant, "--application-id", appCert, "--thumbprint", tp, "--environment", "Fake", "--context-name", "cert")
	m.run(0, "login", "--service-principal", "--tenant", tenant, "--application-id", appSecret, "--client-secret-file", secretFile, "--environment", "Fake", "--context-name", "secret")

	// token runs certctl token with args and returns the requests the
	// fake Entra ID served meanwhile; the token printed must be one the
	// fake issued.
	token := func(args ...string) []string {
		t.Helper()
		before := len(fake.server.Requests())
		res := m.run(0, append([]string{"token"}, args...)...)
		reqs := fake.server.Requests()[before:]
		assert.True(t, fake.server.IssuedToken(strings.TrimSpace(res.stdout)),
			"certctl token %s printed %q, which Entra ID did not issue: a script would send a bearer token that is refused", strings.Join(args, " "), res.stdout)
		return reqs
	}
	// readCache reads the metadata file, which must be private and hold
	// nothing secret.
	readCache := func(when string) []byte {
		t.Helper()
		fi, err := os.Stat(cacheFile)
		require.NoError(t, err, "%s: certctl keeps no discovery metadata in the config folder, so every certctl token pays a discovery request", when)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "%s: %s has mode %04o: other users could read or change where certctl sends its credentials", when, login.MetadataFile, fi.Mode().Perm())
		data, err := os.ReadFile(cacheFile)
		require.NoError(t, err)
		assert.NotContains(t, string(data), fixtureSecret, "%s: the client secret is written to %s, a file that is meant to hold public data", when, login.MetadataFile)
		assert.NotContains(t, string(data), "eyJ", "%s: a token (JWT) is written to %s, a file that is meant to hold public data", when, login.MetadataFile)
		return data
	}
	// fetchedAt is when the file says the tenant's metadata was fetched.
	fetchedAt := func(data []byte) time.Time {
		t.Helper()
		var f struct {
			Authorities []struct {
				Authority string    `json:"authority"`
				FetchedAt time.Time `json:"fetched_at"`
			} `json:"authorities"`
		}
		require.NoError(t, json.Unmarshal(data, &f), "%s is not the JSON certctl reads back: the next certctl token would fetch the metadata again\n%s", login.MetadataFile, data)
		for _, a := range f.Authorities {
			if a.Authority == authority {
				return a.FetchedAt
			}
		}
		require.Failf(t, "no entry for the tenant", "%s has no entry for %s, so certctl token would fetch the tenant's metadata every time\n%s", login.MetadataFile, authority, data)
		return time.Time{}
	}

	// Logged in: each token is the token request alone.
	for _, name := range []string{"cert", "cert", "secret", "secret"} {
		reqs := token("--context", name)
		assert.Equal(t, []string{post}, reqs,
			"certctl token --context %s after login: want only the token request; a user sees an extra round trip to Entra ID on every token", name)
	}
	data = readCache("after login and token")
	assert.WithinDuration(t, time.Now(), fetchedAt(data), 5*time.Minute, "the metadata login kept is not dated now: certctl would use it too long, or not at all")

	// Metadata older than a day is fetched again, and kept again.
	var doc map[string]any
	require.NoError(t, json.Unmarshal(data, &doc), "%s is not JSON", login.MetadataFile)
	entries, ok := doc["authorities"].([]any)
	require.True(t, ok && len(entries) > 0, "%s has no authorities list: certctl keeps nothing to reuse\n%s", login.MetadataFile, data)
	stale := time.Now().Add(-25 * time.Hour).UTC().Format(time.RFC3339)
	for _, e := range entries {
		entry, ok := e.(map[string]any)
		require.True(t, ok, "an entry of %s is not a JSON object\n%s", login.MetadataFile, data)
		entry["fetched_at"] = stale
	}
	old, err := json.MarshalIndent(doc, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cacheFile, append(old, '\n'), 0o600))
	require.NoError(t, os.Chmod(cacheFile, 0o600))

	reqs := token("--context", "cert")
	assert.Equal(t, []string{discovery, post}, reqs,
		"certctl token with metadata fetched 25 hours ago: want the discovery document fetched again, then the token request; a user would keep using endpoints Entra ID may have moved")
	data = readCache("after metadata expired")
	assert.WithinDuration(t, time.Now(), fetchedAt(data), time.Minute,
		"certctl token fetched the metadata again but did not keep it: every later token would fetch it again")
	reqs = token("--context", "cert")
	assert.Equal(t, []string{post}, reqs,
		"certctl token after the metadata was fetched again: want only the token request; the refreshed metadata is not used")

	// One-shot sign-in flags: nothing kept, nothing read, the file as it was.
	reqs = token("--tenant", tenant, "--application-id", appSecret, "--client-secret-file", secretFile, "--environment", "Fake")
	assert.Equal(t, []string{discovery, post}, reqs,
		"one-shot certctl token with sign-in flags: want the discovery request and the token request, as it keeps nothing between runs")
	after, err := os.ReadFile(cacheFile)
	require.NoError(t, err, "one-shot certctl token removed %s", login.MetadataFile)
	assert.Equal(t, string(data), string(after),
		"one-shot certctl token changed %s: a script that must leave nothing behind wrote to the config folder", login.MetadataFile)
}
