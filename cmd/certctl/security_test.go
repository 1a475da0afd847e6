//go:build !windows

package main

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/certctl/certctl/internal/logintest"
	"github.com/certctl/certctl/internal/testcert"
	"github.com/certctl/certctl/pfx"
	"github.com/certctl/certctl/thumbprint"
)

// signInFixture is a fake tenant, a config folder with it registered as
// the environment Fake, and the openssl3-default certificate imported.
type signInFixture struct {
	fake  *logintest.Server
	env   []string
	work  string
	tp    string
	login []string
}

func newSignInFixture(t *testing.T) *signInFixture {
	fake := startFakeEntra(t)
	f := &signInFixture{fake: fake.server, work: t.TempDir(), tp: fixtureThumbprints(t)["TP_openssl3_default"]}
	f.env = append(os.Environ(), "HOME="+filepath.Join(f.work, "home"), "XDG_CONFIG_HOME=", "CERTCTL_CONFIG_DIR=", "CERTCTL_STORE_DIR="+filepath.Join(f.work, "store"))
	for k, v := range fake.env {
		f.env = append(f.env, k+"="+v)
	}
	pfxFile, err := filepath.Abs(filepath.Join(fixtures, "openssl3-default.pfx"))
	require.NoError(t, err)
	for _, args := range [][]string{
		{"environment", "add", "Fake", "--authority-host", fake.env["FAKE_AUTHORITY"], "--resource-manager-endpoint", fake.env["FAKE_ARM"]},
		{"import", pfxFile, "--password-file", f.write(t, "pw.txt", fixturePassword)},
	} {
		r := f.run(t, "", args...)
		require.Equal(t, 0, r.code, "certctl %v: %s", args, r.stderr)
	}
	f.login = []string{"login", "--service-principal", "--tenant", fake.env["FAKE_TENANT"], "--application-id", appCert, "--thumbprint", f.tp, "--environment", "Fake"}
	return f
}

func (f *signInFixture) write(t *testing.T, name, content string) string {
	p := filepath.Join(f.work, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func (f *signInFixture) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command("certctl", args...)
	cmd.Env, cmd.Dir = f.env, f.work
	cmd.Stdin = strings.NewReader(stdin)
	return finish(t, cmd, nil)
}

// TestServiceTextIsEscaped: subscription names and ids from Resource
// Manager and error text from Entra ID reach the terminal escaped, in the
// login table, context show and the error line.
func TestServiceTextIsEscaped(t *testing.T) {
	t.Parallel()
	f := newSignInFixture(t)
	const hostileName = "Prod\x1b]0;pwned\x07\x1b[2J \u202eevil"
	const hostileID = "11111111-2222-4333-8444-555555555555\r\x1b[1A"
	f.fake.SetSubscriptions([]map[string]string{{"subscriptionId": hostileID, "displayName": hostileName, "state": "Enabled"}})

	r := f.run(t, "", f.login...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, rawControls(r.stdout+r.stderr), "login printed raw controls: %q", r.stdout)
	assert.Contains(t, r.stdout, `Prod\x1b]0;pwned\x07\x1b[2J \u202eevil`)
	assert.Contains(t, r.stdout, `11111111-2222-4333-8444-555555555555\r\x1b[1A`)

	r = f.run(t, "", "context", "show")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, rawControls(r.stdout+r.stderr), "context show printed raw controls: %q", r.stdout)
	assert.Contains(t, r.stdout, `Prod\x1b]0;pwned\x07\x1b[2J \u202eevil`)

	r = f.run(t, "", "context", "show", "--output", "json")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, rawControls(r.stdout))
	var saved struct{ Subscription struct{ Name, ID string } }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &saved))
	assert.Equal(t, hostileName, saved.Subscription.Name)

	f.fake.SetFault(logintest.FaultHostileText)
	r = f.run(t, "", f.login...)
	assert.Equal(t, exitSignIn, r.code)
	assert.Contains(t, r.stderr, `AADSTS90014: Bad request\x1b[2J\x1b]0;pwned\x07 \u202eevil\u009b31m`)
	assert.Empty(t, rawControls(r.stderr), "the error printed raw controls: %q", r.stderr)
}

// TestRefusedEndpointExitCode: a token endpoint that redirects the request
// elsewhere fails login with exit 6 and a message naming the host; the
// fake's catcher fails the test if the assertion arrives there.
func TestRefusedEndpointExitCode(t *testing.T) {
	t.Parallel()
	f := newSignInFixture(t)
	catcher, err := url.Parse(f.fake.Catcher.URL)
	require.NoError(t, err)
	for _, fault := range []logintest.Fault{logintest.FaultRedirect307, logintest.FaultCleartextDiscovery} {
		f.fake.SetFault(fault)
		r := f.run(t, "", f.login...)
		assert.Equal(t, exitNetwork, r.code, r.stderr)
		assert.Contains(t, r.stderr, "certctl: error: ")
		assert.Contains(t, r.stderr, catcher.Host)
		assert.NotContains(t, r.stderr, "\n  ", "one line")
	}
	assert.Empty(t, f.fake.Caught())
}

// TestSecretInputsAreBounded: a secret is read from a regular file or the
// first line of stdin, at most 64 KiB, and never waits on a pipe or device.
func TestSecretInputsAreBounded(t *testing.T) {
	t.Parallel()
	f := newSignInFixture(t)
	pfxFile, err := filepath.Abs(filepath.Join(fixtures, "openssl3-default.pfx"))
	require.NoError(t, err)
	big := f.write(t, "big.txt", strings.Repeat("x", 65<<10))
	fifo := filepath.Join(f.work, "fifo")
	require.NoError(t, exec.Command("mkfifo", fifo).Run())

	zero, err := os.Open("/dev/zero")
	require.NoError(t, err)
	defer zero.Close()
	for _, tc := range []struct {
		name  string
		stdin *os.File
		args  []string
		want  string
	}{
		{"password file /dev/zero", nil, []string{"import", pfxFile, "--password-file", "/dev/zero"}, "--password-file /dev/zero is not a regular file"},
		{"password file FIFO", nil, []string{"import", pfxFile, "--password-file", fifo}, "is not a regular file"},
		{"password file over 64 KiB", nil, []string{"import", pfxFile, "--password-file", big}, "larger than 64 KiB"},
		{"password stdin /dev/zero", zero, []string{"import", pfxFile, "--password-stdin"}, "--password-stdin: the first line of standard input is longer than 64 KiB"},
		{"client secret file /dev/zero", nil, append(f.secretLogin(), "--client-secret-file", "/dev/zero"), "--client-secret-file /dev/zero is not a regular file"},
		{"client secret stdin /dev/zero", zero, append(f.secretLogin(), "--client-secret-stdin"), "--client-secret-stdin: the first line of standard input is longer than 64 KiB"},
		{"federated token file /dev/zero", nil, []string{"login", "--tenant", f.fake.Tenant, "--application-id", appFed, "--federated-token-file", "/dev/zero", "--environment", "Fake"}, "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("certctl", tc.args...)
			cmd.Env, cmd.Dir = f.env, f.work
			if tc.stdin != nil {
				cmd.Stdin = tc.stdin
			}
			start := time.Now()
			r := finish(t, cmd, time.After(60*time.Second))
			require.False(t, r.killed, "certctl was still reading after a minute")
			assert.Equal(t, exitBadInput, r.code, r.stderr)
			assert.Contains(t, r.stderr, tc.want)
			t.Logf("%v: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(r.stderr))
		})
	}
}

func (f *signInFixture) secretLogin() []string {
	return []string{"login", "--service-principal", "--tenant", f.fake.Tenant, "--application-id", appSecret, "--environment", "Fake"}
}

// TestSecretFilePermissions: a secret file that group or others can read
// is used with a warning; one another user owns is refused.
func TestSecretFilePermissions(t *testing.T) {
	t.Parallel()
	f := newSignInFixture(t)
	secret := f.write(t, "secret.txt", fixtureSecret+"\n")
	require.NoError(t, os.Chmod(secret, 0o644))
	r := f.run(t, "", append(f.secretLogin(), "--client-secret-file", secret)...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "certctl: warning: --client-secret-file "+secret+" can be read by group or others (mode 0644)")

	pw := f.write(t, "pw-loose.txt", fixturePassword)
	require.NoError(t, os.Chmod(pw, 0o640))
	pfxFile, err := filepath.Abs(filepath.Join(fixtures, "openssl3-default.pfx"))
	require.NoError(t, err)
	r = f.run(t, "", "thumbprint", pfxFile, "--password-file", pw)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "warning: --password-file "+pw+" can be read by group or others")

	if os.Getuid() != 0 {
		return
	}
	require.NoError(t, os.Chmod(secret, 0o600))
	require.NoError(t, os.Chown(secret, 65534, 65534))
	r = f.run(t, "", append(f.secretLogin(), "--client-secret-file", secret)...)
	assert.NotEqual(t, 0, r.code)
	assert.Contains(t, r.stderr, "refusing --client-secret-file: "+secret+": owned by uid 65534")
	assert.Contains(t, r.stderr, "chown 0 "+secret)

	cert := filepath.Join(f.work, "cert.pfx")
	data, err := os.ReadFile(pfxFile)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cert, data, 0o600))
	require.NoError(t, os.Chown(cert, 65534, 65534))
	r = f.run(t, "", "login", "--service-principal", "--tenant", f.fake.Tenant, "--application-id", appCert, "--certificate-path", cert, "--password-file", f.write(t, "pw.txt", fixturePassword), "--environment", "Fake")
	assert.NotEqual(t, 0, r.code)
	assert.Contains(t, r.stderr, "refusing --certificate-path: "+cert+": owned by uid 65534")
}

// TestSavedStateIsChecked: the context and the registered environments are
// used only if no other user could have written them, and every field is
// checked again on load.
func TestSavedStateIsChecked(t *testing.T) {
	t.Parallel()
	f := newSignInFixture(t)
	r := f.run(t, "", f.login...)
	require.Equal(t, 0, r.code, r.stderr)
	config := filepath.Join(f.work, "home", ".config", "certctl")
	ctxFile := filepath.Join(config, "contexts.json")
	good, err := os.ReadFile(ctxFile)
	require.NoError(t, err)

	// Writable by others: refused, with the chmod that fixes it.
	require.NoError(t, os.Chmod(ctxFile, 0o666))
	r = f.run(t, "", "token")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, ctxFile+": file mode 0666 lets group or others change it; fix it with: chmod 600 "+ctxFile)
	require.NoError(t, os.Chmod(ctxFile, 0o600))
	require.NoError(t, os.Chmod(config, 0o770))
	r = f.run(t, "", "context", "show")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "chmod 700 "+config)
	require.NoError(t, os.Chmod(config, 0o700))

	// Fields are checked again: a plain-http federated token endpoint, a
	// relative path, an unknown method, a huge file.
	var file struct {
		Current  string           `json:"current"`
		Contexts []map[string]any `json:"contexts"`
	}
	require.NoError(t, json.Unmarshal(good, &file))
	require.Len(t, file.Contexts, 1)
	saved := file.Contexts[0]
	for _, tc := range []struct {
		name string
		edit func(map[string]any)
		want string
	}{
		{"unknown method", func(m map[string]any) { m["method"] = "Telepathy" }, `method "Telepathy" is not a sign-in method`},
		{"relative path", func(m map[string]any) { m["method"] = "WorkloadIdentity"; m["federatedTokenFile"] = "token" }, "federatedTokenFile is not an absolute path"},
		{"tenant with a slash", func(m map[string]any) { m["tenant"] = "evil.example/x?" }, "tenant"},
		{"long client id", func(m map[string]any) { m["clientId"] = strings.Repeat("a", 300) }, "clientId is longer than 256 bytes"},
		{"bad thumbprint", func(m map[string]any) { m["thumbprint"] = "XYZ" }, "thumbprint is not 40 upper-case hexadecimal digits"},
	} {
		m := map[string]any{}
		for k, v := range saved {
			m[k] = v
		}
		tc.edit(m)
		b, err := json.Marshal(map[string]any{"current": file.Current, "contexts": []any{m}})
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(ctxFile, b, 0o600))
		r = f.run(t, "", "token")
		assert.Equal(t, exitBadInput, r.code, tc.name)
		assert.Contains(t, r.stderr, ctxFile, tc.name)
		assert.Contains(t, r.stderr, tc.want, tc.name)
	}
	require.NoError(t, os.WriteFile(ctxFile, []byte("{"+strings.Repeat(" ", 2<<20)+"}"), 0o600))
	r = f.run(t, "", "context", "show")
	assert.Equal(t, exitBadInput, r.code)
	assert.Contains(t, r.stderr, "over 1048576 bytes")

	// A registered environment edited to plain http is refused on load:
	// the token is never sent there.
	envFile := filepath.Join(config, "environments.json")
	require.NoError(t, os.WriteFile(ctxFile, good, 0o600))
	envs, err := os.ReadFile(envFile)
	require.NoError(t, err)
	catcher := f.fake.Catcher.URL + "/"
	require.NoError(t, os.WriteFile(envFile, []byte(strings.Replace(string(envs), f.fake.AuthorityHost(), catcher, 1)), 0o600))
	r = f.run(t, "", "token")
	assert.Equal(t, exitBadInput, r.code, r.stderr)
	assert.Contains(t, r.stderr, envFile)
	assert.Contains(t, r.stderr, "give an https URL")
	assert.Empty(t, f.fake.Caught())
}

// hostileCN is a subject that, printed raw, clears the screen, writes the
// clipboard, moves back to the start of the line to print a fake
// thumbprint, sends a C1 CSI and reverses the rest of the row.
const hostileCN = "evil\x1b[2J\x1b]52;c;ZXZpbA==\x07\r00112233445566778899AABBCCDDEEFF00112233 \u009b31m\u202egnp.exe"

func runCertctl(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{
		stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb,
		getenv: func(string) string { return "" }, now: time.Now,
	}
	code = runInProcess(append([]string{"certctl"}, args...), e)
	return out.String(), errb.String(), code
}

// TestUntrustedTextIsEscaped imports a certificate whose subject, issuer
// and alternative names hold terminal control sequences, and checks that
// no table, message or error prints them raw, while JSON keeps the exact
// value.
func TestUntrustedTextIsEscaped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	b := testcert.Mint(t, hostileCN, testcert.Options{
		Key:            "ecdsa",
		DNSNames:       []string{"a\x1b[8mhidden.example"},
		EmailAddresses: []string{"x\x07@example.com"},
	})
	data, err := pfx.EncodeExport(b, "", true)
	require.NoError(t, err)
	file := filepath.Join(dir, "evil\x1b[2J.pfx")
	require.NoError(t, os.WriteFile(file, data, 0o600))
	tp := thumbprint.Of(b.Leaf).String()

	check := func(what, out string) {
		t.Helper()
		assert.Empty(t, rawControls(out), "%s printed raw control characters:\n%q", what, out)
	}
	for _, args := range [][]string{
		{"import", file},
		{"import", file}, // "already in store" names the subject's thumbprint
		{"list"},
		{"show", tp},
		{"thumbprint", file},
		{"import", filepath.Join(dir, "missing\x1b]0;title\x07.pfx")},
		{"show", "\x1b[2J"},
		{"list", "--output", "\x1b[31mred"},
	} {
		stdout, stderr, _ := runCertctl(t, "", append([]string{"--store-dir", store}, args...)...)
		check(strings.Join(args[:1], " ")+" stdout", stdout)
		check(strings.Join(args[:1], " ")+" stderr", stderr)
	}

	stdout, _, code := runCertctl(t, "", "--store-dir", store, "list")
	require.Equal(t, 0, code)
	assert.Contains(t, stdout, `evil\x1b[2J\x1b]52\;c\;ZXZpbA==\x07\r00112233445566778899AABBCCDDEEFF00112233 \u009b31m\u202egnp.exe`)
	stdout, _, _ = runCertctl(t, "", "--store-dir", store, "show", tp)
	assert.Contains(t, stdout, `DNS:a\x1b[8mhidden.example`)
	assert.Contains(t, stdout, `email:x\x07@example.com`)

	// JSON is for programs: valid, and the exact value once decoded.
	stdout, _, code = runCertctl(t, "", "--store-dir", store, "list", "--output", "json")
	require.Equal(t, 0, code)
	check("list --output json", stdout)
	var listed []struct{ Subject string }
	require.NoError(t, json.Unmarshal([]byte(stdout), &listed))
	require.Len(t, listed, 1)
	assert.Equal(t, b.Leaf.Subject.String(), listed[0].Subject)
	stdout, _, _ = runCertctl(t, "", "--store-dir", store, "show", tp, "--output", "json")
	var shown struct{ DNSNames []string }
	require.NoError(t, json.Unmarshal([]byte(stdout), &shown))
	assert.Equal(t, []string{"a\x1b[8mhidden.example"}, shown.DNSNames)
}
