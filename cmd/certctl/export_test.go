//go:build !windows

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/certctl/certctl/internal/testcert"
	"github.com/certctl/certctl/pfx"
	"github.com/certctl/certctl/platform"
	"github.com/certctl/certctl/thumbprint"
)

// storeWithOne imports a fresh certificate and key into a new store and
// returns the store folder and the certificate's thumbprint.
func storeWithOne(t *testing.T) (store, tp string) {
	t.Helper()
	dir := t.TempDir()
	b := testcert.Mint(t, "certctl test export", testcert.Options{})
	data, err := pfx.EncodeExport(b, "", true)
	require.NoError(t, err)
	file := filepath.Join(dir, "one.pfx")
	require.NoError(t, os.WriteFile(file, data, 0o600))
	store = filepath.Join(dir, "store")
	_, stderr, code := runCertctl(t, "", "--store-dir", store, "import", file)
	require.Equal(t, 0, code, stderr)
	return store, thumbprint.Of(b.Leaf).String()
}

// TestExportPFXToTerminal: a PFX is binary, so export --out - refuses to
// write one when standard output is a terminal, and writes it to a pipe.
// PEM goes to the terminal.
func TestExportPFXToTerminal(t *testing.T) {
	t.Parallel()
	store, tp := storeWithOne(t)
	export := func(onTerminal bool, args ...string) (stdout, stderr string, code int) {
		var out, errb bytes.Buffer
		e := &env{
			stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
			getenv: func(string) string { return "" }, now: time.Now,
			stdoutIsTerminal: onTerminal,
		}
		code = runInProcess(append([]string{"certctl", "--store-dir", store, "export", tp, "--out", "-"}, args...), e)
		return out.String(), errb.String(), code
	}

	stdout, stderr, code := export(true, "--format", "pfx", "--no-password")
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "certctl: error: --out - --format pfx: standard output is a terminal, and a PFX is binary; redirect it to a file or a pipe, or give --out FILE\n")

	stdout, stderr, code = export(true, "--no-key")
	assert.Equal(t, exitOK, code, stderr)
	assert.True(t, strings.HasPrefix(stdout, "-----BEGIN CERTIFICATE-----\n"), stdout)
	assert.Equal(t, "certctl: wrote the certificate of "+tp+" to standard output\n", stderr)

	stdout, stderr, code = export(false, "--format", "pfx", "--no-password")
	assert.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "certctl: wrote the certificate and private key of "+tp+" to standard output without a password: anyone who can read the file can use the key\n", stderr)
	b, err := pfx.Decode([]byte(stdout), "")
	require.NoError(t, err)
	assert.Equal(t, tp, thumbprint.Of(b.Leaf).String())
}

// TestExportPFXToRealTerminal runs export under script(1), which gives it
// a pseudo-terminal for standard output, to check that certctl notices.
func TestExportPFXToRealTerminal(t *testing.T) {
	t.Parallel()
	scriptCmd, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) from util-linux is needed to give certctl a terminal")
	}
	store, tp := storeWithOne(t)
	cmd := exec.Command(scriptCmd, "-q", "-e", "-c", "certctl --store-dir "+store+" export "+tp+" --out - --format pfx --no-password", "/dev/null")
	cmd.Stdin = strings.NewReader("")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "want exit code %d, got %v; output:\n%s", exitUsage, err, out.String())
	assert.Equal(t, exitUsage, ee.ExitCode(), out.String())
	assert.Contains(t, out.String(), "standard output is a terminal, and a PFX is binary")
}

// TestWriteErrorNamesTheFolder: when the folder goes away between export's
// check and the write, the error names the folder, not the temporary file
// platform.WriteFileAtomic tried to create.
func TestWriteErrorNamesTheFolder(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "gone")
	err := writeError(filepath.Join(dir, "x.crt"), dir, platform.WriteFileAtomic(dir, "x.crt", []byte("x")))
	assert.Equal(t, "folder "+dir+" does not exist; create it first, or give --out a file in an existing folder", err.Error())
	assert.Equal(t, exitBadInput, exitCode(err))
	assert.NotContains(t, err.Error(), platform.TempPrefix)
}
