//go:build !windows

package main

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/internal/logintest"
	"github.com/certctl/certctl/login"
	"github.com/certctl/certctl/thumbprint"
)

// rotation is a machine with a certificate due for rotation: the store,
// the config folder and a fake tenant of its own, where application app
// has the certificate and a saved sign-in uses it.
type rotation struct {
	t       *testing.T
	fake    *logintest.Server
	app     string
	env     []string
	store   string
	config  string
	current string
}

func newRotation(t *testing.T, replicationDelay int) *rotation {
	t.Helper()
	fake := logintest.New(t)
	dir := t.TempDir()
	ca, err := fake.WriteCA(dir)
	require.NoError(t, err)
	r := &rotation{
		t: t, fake: fake, app: "a1c0ce27-0000-4000-8000-0000000000d1",
		store: filepath.Join(dir, "store"), config: filepath.Join(dir, "config"),
	}
	r.env = append(os.Environ(),
		"SSL_CERT_FILE="+ca, "SSL_CERT_DIR="+dir,
		"CERTCTL_STORE_DIR="+r.store, "CERTCTL_CONFIG_DIR="+r.config, "HOME="+dir,
	)
	r.run(0, "environment", "add", "Fake", "--authority-host", fake.AuthorityHost(), "--resource-manager-endpoint", fake.ResourceManager(), "--graph-endpoint", fake.GraphEndpoint())
	// Twenty days left: due, with the default 30.
	out := r.run(0, "new", "--subject", "CN=rotate-bot, O=Contoso", "--dns-name", "bot.contoso.example", "--valid-days", "20")
	r.current = thumbprintPattern.FindString(out)
	require.NotEmpty(t, r.current)
	// The certificate was registered on the app long ago; the app may
	// read and update itself in Graph (Application.ReadWrite.OwnedBy, as
	// its own owner).
	fake.RegisterCertificate(r.app, r.certificate(r.current))
	fake.GrantApplicationWrite(r.app)
	fake.SetReplicationDelay(replicationDelay)
	r.run(0, "login", "--service-principal", "--tenant", fake.Tenant, "--application-id", r.app, "--thumbprint", r.current, "--environment", "Fake", "--context-name", "deploy")
	return r
}

// certctl runs certctl with the machine's settings.
func (r *rotation) certctl(args ...string) *exec.Cmd {
	cmd := exec.Command("certctl", args...)
	cmd.Env = r.env
	return cmd
}

// run runs certctl, checks its exit code and returns its stdout.
func (r *rotation) run(want int, args ...string) string {
	r.t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := r.certctl(args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	got := 0
	if ee, ok := err.(*exec.ExitError); ok {
		got = ee.ExitCode()
	} else {
		require.NoError(r.t, err)
	}
	require.Equal(r.t, want, got, "certctl %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), stdout.String(), stderr.String())
	return stdout.String()
}

func (r *rotation) certificate(tp string) *x509.Certificate {
	r.t.Helper()
	s, err := certstore.Open("My", certstore.Options{Dir: r.store})
	require.NoError(r.t, err)
	defer s.Close()
	t, err := thumbprint.Parse(tp)
	require.NoError(r.t, err)
	id, err := s.Find(t)
	require.NoError(r.t, err)
	return id.Certificate()
}

// storeThumbprints lists the thumbprints in the store.
func (r *rotation) storeThumbprints() []string {
	r.t.Helper()
	s, err := certstore.Open("My", certstore.Options{Dir: r.store})
	require.NoError(r.t, err)
	defer s.Close()
	list, err := s.List()
	require.NoError(r.t, err)
	var tps []string
	for _, e := range list {
		tps = append(tps, e.Thumbprint.String())
	}
	return tps
}

// registered lists the thumbprints the fake holds for the app.
func (r *rotation) registered() []string {
	var tps []string
	for _, k := range r.fake.KeyCredentials(r.app) {
		tps = append(tps, k.Thumbprint)
	}
	return tps
}

// contextThumbprint is the certificate the saved sign-in uses.
func (r *rotation) contextThumbprint() string {
	r.t.Helper()
	c, err := login.LoadContext(r.config, "deploy")
	require.NoError(r.t, err)
	return c.Thumbprint
}

// count counts the fake's requests whose method and path end with suffix.
func (r *rotation) count(suffix string) int {
	n := 0
	for _, req := range r.fake.Requests() {
		if strings.HasSuffix(req, suffix) {
			n++
		}
	}
	return n
}

var rotateArgs = []string{"rotate", "--application-id", "a1c0ce27-0000-4000-8000-0000000000d1", "--remove-old"}

// TestRotate rotates a certificate through the binary against the fake
// Entra ID and Graph, and checks each step where it lands: the store, the
// application's credentials, sign-in and the saved context.
func TestRotate(t *testing.T) {
	t.Parallel()
	r := newRotation(t, 2)
	cur := r.current
	out := r.run(0, append(rotateArgs, "--thumbprint", cur)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 7, out)
	newTP := thumbprintPattern.FindString(lines[1])
	require.NotEmpty(t, newTP)
	require.NotEqual(t, cur, newTP)
	for i, want := range []string{
		`^1/7 check +done +` + cur + ` has 19 days left, at most 30: rotating$`,
		`^2/7 create +done +made ` + newTP + ` CN=rotate-bot,O=Contoso in store My, valid until \d{4}-\d\d-\d\d$`,
		`^3/7 register +done +added ` + newTP + ` to application ` + r.app + `$`,
		// Entra ID knew the new certificate only at the third try.
		`^4/7 sign-in +done +signed in with ` + newTP + ` \(3 tries\)$`,
		`^5/7 repoint +done +pointed saved sign-in deploy at ` + newTP + `$`,
		`^6/7 unregister +done +removed ` + cur + ` \(key id [0-9a-f-]{36}\) from application ` + r.app + `$`,
		`^7/7 remove-old +done +deleted ` + cur + ` from store My$`,
	} {
		assert.Regexp(t, regexp.MustCompile(want), lines[i])
	}

	// The new certificate: same subject, names, key type and validity
	// length, in the store with its key; the old one gone from the store
	// and from the application.
	nw := r.certificate(newTP)
	assert.Equal(t, "CN=rotate-bot,O=Contoso", nw.Subject.String())
	assert.Equal(t, []string{"bot.contoso.example"}, nw.DNSNames)
	assert.Equal(t, 20*24*60*60.0, nw.NotAfter.Sub(nw.NotBefore).Seconds())
	assert.Equal(t, []string{newTP}, r.storeThumbprints())
	assert.Equal(t, []string{newTP}, r.registered())
	assert.Equal(t, newTP, r.contextThumbprint())
	assert.Equal(t, 1, r.count("POST /graph/v1.0/applications/"+r.fake.ApplicationObjectID(r.app)+"/addKey"))
	assert.Equal(t, 1, r.count("POST /graph/v1.0/applications/"+r.fake.ApplicationObjectID(r.app)+"/removeKey"))
	// The saved sign-in works with the new certificate.
	assert.Regexp(t, `^eyJ`, r.run(0, "token"))

	// Run again: the old certificate is gone from the store.
	r.run(3, append(rotateArgs, "--thumbprint", cur)...)
	// Rotating the new one is not due yet with --days-before 10.
	out = r.run(0, append(rotateArgs, "--thumbprint", newTP, "--days-before", "10")...)
	assert.Regexp(t, `^1/7 check +skipped +`+newTP+` has 19 days left, more than 10: nothing to do\n$`, out)
}

// TestRotateKilled kills the rotation after each step's line, checks that
// the saved sign-in still works, and runs the same command again: it
// finishes the rotation without making a third certificate.
func TestRotateKilled(t *testing.T) {
	t.Parallel()
	for step := 1; step <= 6; step++ {
		t.Run(fmt.Sprintf("after step %d", step), func(t *testing.T) {
			t.Parallel()
			r := newRotation(t, 1)
			cmd := r.certctl(append(rotateArgs, "--thumbprint", r.current)...)
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			prefix := fmt.Sprintf("%d/7 ", step)
			sc := bufio.NewScanner(stdout)
			var seen []string
			for sc.Scan() {
				seen = append(seen, sc.Text())
				if strings.HasPrefix(sc.Text(), prefix) {
					cmd.Process.Signal(syscall.SIGKILL)
					break
				}
			}
			go func() { // drain, so the process is never blocked on the pipe
				for sc.Scan() {
				}
			}()
			cmd.Wait()
			require.True(t, len(seen) >= step, "the rotation ended before step %d: %v\n%s", step, seen, stderr.String())

			// Whatever step it died in, the saved sign-in works.
			assert.Regexp(t, `^eyJ`, r.run(0, "token"))

			// The same command finishes the rotation, unless the kill
			// came after the last step, which removed the old
			// certificate from the store: then there is nothing to
			// finish, and the old thumbprint is not found.
			if slices.Contains(r.storeThumbprints(), r.current) {
				out := r.run(0, append(rotateArgs, "--thumbprint", r.current)...)
				assert.Contains(t, out, "7/7 remove-old")
			} else {
				require.Equal(t, 6, step, "the old certificate left the store before step 7")
				r.run(3, append(rotateArgs, "--thumbprint", r.current)...)
			}
			store := r.storeThumbprints()
			require.Len(t, store, 1, "no third certificate, and the old one removed")
			newTP := store[0]
			assert.NotEqual(t, r.current, newTP)
			assert.Equal(t, []string{newTP}, r.registered())
			assert.Equal(t, newTP, r.contextThumbprint())
			assert.Regexp(t, `^eyJ`, r.run(0, "token"))
		})
	}
}

// TestRotateSignInFails: a new certificate that cannot sign in (here, in a
// tenant that does not exist) stops the rotation at step 4 at once, not
// after two minutes of retries, with the old certificate still registered
// and used; the same command with the right tenant finishes.
func TestRotateSignInFails(t *testing.T) {
	t.Parallel()
	r := newRotation(t, 0)
	out := r.run(5, append(rotateArgs, "--thumbprint", r.current, "--tenant", "nosuch.example")...)
	assert.Contains(t, out, "3/7 register")
	assert.NotContains(t, out, "4/7")
	assert.Len(t, r.registered(), 2)
	assert.Equal(t, r.current, r.contextThumbprint())
	assert.Regexp(t, `^eyJ`, r.run(0, "token"))

	out = r.run(0, append(rotateArgs, "--thumbprint", r.current)...)
	assert.Regexp(t, `(?m)^2/7 create +already done`, out)
	assert.Regexp(t, `(?m)^3/7 register +already done`, out)
	assert.Len(t, r.registered(), 1)
	assert.NotEqual(t, r.current, r.contextThumbprint())
}
