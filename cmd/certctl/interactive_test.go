//go:build !windows

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// onTerminal runs a shell command line under script(1), which gives it a
// pseudo-terminal, with env added to the environment.
func onTerminal(t *testing.T, env []string, cmdline string) string {
	t.Helper()
	scriptCmd, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) from util-linux is needed to give certctl a terminal")
	}
	cmd := exec.Command(scriptCmd, "-q", "-e", "-c", cmdline, "/dev/null")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader("")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Run(), out.String())
	return out.String()
}

func fakeEnv(t *testing.T, fake *fakeEntra) []string {
	home := filepath.Join(t.TempDir(), "home")
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME="}
	for k, v := range fake.env {
		env = append(env, k+"="+v)
	}
	cmd := exec.Command("certctl", "environment", "add", "Fake", "--authority-host", fake.env["FAKE_AUTHORITY"], "--resource-manager-endpoint", fake.env["FAKE_ARM"])
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	return env
}

// TestBrowserSignIn: with a terminal and no other method, login opens the
// browser (xdg-open on PATH), which signs in at the fake Entra ID.
func TestBrowserSignIn(t *testing.T) {
	t.Parallel()
	fake := startFakeEntra(t)
	env := fakeEnv(t, fake)
	out := onTerminal(t, env, "certctl login --environment Fake --tenant "+fake.env["FAKE_TENANT"])
	assert.Contains(t, out, fake.env["FAKE_USER"]+"  Contoso Production")
	assert.NotContains(t, out, "device code")
}

// TestDeviceCodeWhenNoBrowser: with no browser to open, login falls back to
// the device code flow.
func TestDeviceCodeWhenNoBrowser(t *testing.T) {
	t.Parallel()
	for _, opener := range []string{"xdg-open", "x-www-browser", "www-browser"} {
		for _, dir := range []string{"/usr/bin", "/bin", "/usr/local/bin"} {
			if _, err := os.Stat(filepath.Join(dir, opener)); err == nil {
				t.Skipf("%s is installed here; the test needs a machine without a browser opener", filepath.Join(dir, opener))
			}
		}
	}
	fake := startFakeEntra(t)
	env := fakeEnv(t, fake)
	self, err := exec.LookPath("certctl")
	require.NoError(t, err)
	bin := t.TempDir()
	require.NoError(t, os.Symlink(self, filepath.Join(bin, "certctl")))
	env = append(env, "PATH="+bin+":/usr/bin:/bin")
	out := onTerminal(t, env, "certctl login --environment Fake --tenant "+fake.env["FAKE_TENANT"])
	assert.Contains(t, out, "no browser could be opened")
	assert.Contains(t, out, "signing in with a device code instead")
	assert.Contains(t, out, "enter the code FAKE-CODE")
	assert.Contains(t, out, fake.env["FAKE_USER"]+"  Contoso Production")
}
