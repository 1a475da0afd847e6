//go:build !windows

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExitCodesOfRealFailures runs certctl, in this process, on input that
// really fails: every file of the hostile corpus, every file of the interop
// corpus that OpenSSL refuses, wrong passwords, a certificate that is not
// in the store, a store name and a flag certctl does not know, and a token
// without a sign-in. Each error comes from the code that meets the problem
// and goes through run and exitCode as it does for a user, so the test
// follows the libraries' errors as they change; a table of retyped error
// messages would not. Exit 1 and 6 need a saved sign-in or the network:
// TestSavedStateIsChecked, TestRefusedEndpointExitCode and the scripts
// check them through the certctl binary.
func TestExitCodesOfRealFailures(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	store := filepath.Join(work, "store")
	pwFile := filepath.Join(work, "pw.txt")
	require.NoError(t, os.WriteFile(pwFile, []byte(fixturePassword), 0o600))
	vars := map[string]string{"HOME": filepath.Join(work, "home"), configDirEnv: filepath.Join(work, "config")}
	runIn := func(args ...string) (stdout, stderr string, code int) {
		var out, errb bytes.Buffer
		e := &env{
			stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
			getenv: func(k string) string { return vars[k] }, now: time.Now,
		}
		code = runInProcess(append([]string{"certctl", "--store-dir", store}, args...), e)
		return out.String(), errb.String(), code
	}

	type failure struct {
		name string
		args []string
		code int
	}
	var failures []failure
	hostile, err := filepath.Glob(filepath.Join("..", "..", "testdata", "hostile", "*"))
	require.NoError(t, err)
	for _, p := range hostile {
		if strings.HasSuffix(p, ".md") || strings.HasSuffix(p, ".go") {
			continue
		}
		failures = append(failures, failure{"hostile " + filepath.Base(p), []string{"import", p, "--password-file", pwFile}, exitBadInput})
	}
	manifest, err := os.ReadFile(filepath.Join(interop, "manifest.tsv"))
	require.NoError(t, err)
	bad := 0
	for _, line := range strings.Split(string(manifest), "\n")[1:] {
		c := strings.Split(line, "\t")
		if len(c) == 7 && strings.Contains(","+c[5]+",", ",bad,") {
			bad++
			failures = append(failures, failure{"interop " + c[0], []string{"import", filepath.Join(interop, c[0]), "--store", "Root"}, exitBadInput})
		}
	}
	require.NotZero(t, bad, "manifest.tsv lists no files OpenSSL refuses")
	failures = append(failures,
		failure{"wrong PFX password", []string{"import", filepath.Join(interop, "openssl-default.p12"), "--password-file", pwFile}, exitBadInput},
		failure{"wrong PEM key password", []string{"import", filepath.Join(interop, "leaf.pem"), "--key", filepath.Join(interop, "key-pkcs8-aes256.pem"), "--password-file", pwFile}, exitBadInput},
		failure{"missing password file", []string{"import", filepath.Join(interop, "openssl-default.p12"), "--password-file", filepath.Join(work, "missing.txt")}, exitBadInput},
		failure{"thumbprint of 39 digits", []string{"show", strings.Repeat("A", 39)}, exitBadInput},
		failure{"remove a certificate not in the store", []string{"remove", strings.Repeat("AB", 20)}, exitNotFound},
		failure{"show a certificate not in the store", []string{"show", strings.Repeat("CD", 20)}, exitNotFound},
		failure{"unknown flag", []string{"list", "--no-such-flag"}, exitUsage},
		failure{"bad store name", []string{"list", "--store", "no/such"}, exitUsage},
		failure{"token without a sign-in", []string{"token"}, exitSignIn},
	)
	for _, f := range failures {
		stdout, stderr, code := runIn(f.args...)
		t.Logf("%s: exit %d: %s", f.name, code, strings.TrimSpace(stderr))
		assert.Equal(t, f.code, code, "%s: certctl %s: %s", f.name, strings.Join(f.args, " "), stderr)
		assert.True(t, strings.HasPrefix(stderr, "certctl: error: "), "%s: a clear error on stderr, not %q", f.name, stderr)
		assert.Empty(t, stdout, f.name)
	}
	_, err = os.Stat(filepath.Join(store, "my"))
	assert.True(t, os.IsNotExist(err) || dirIsEmpty(t, filepath.Join(store, "my")), "a failure added nothing to the store")
}

// dirIsEmpty says whether dir holds nothing but certctl's lock and index.
func dirIsEmpty(t *testing.T, dir string) bool {
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".certctl") {
			return false
		}
	}
	return true
}
