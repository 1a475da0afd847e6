//go:build !windows

package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/internal/testcert"
	"github.com/certctl/certctl/login"
)

// completionFixture is a store folder holding one certificate in My and
// one in a store of its own, and a config folder with a registered
// environment and a saved sign-in.
type completionFixture struct {
	h                *handlers
	storeDir, config string
	my, mine         string // thumbprints
}

func newCompletionFixture(t *testing.T) *completionFixture {
	t.Helper()
	f := &completionFixture{storeDir: t.TempDir(), config: t.TempDir()}
	put := func(store, cn string) string {
		s, err := certstore.Open(store, certstore.Options{Dir: f.storeDir, Create: true})
		require.NoError(t, err)
		defer s.Close()
		got, err := s.Import(testcert.Mint(t, cn, testcert.Options{Key: "ecdsa"}), certstore.ImportOptions{})
		require.NoError(t, err)
		return got.Entry.Thumbprint.String()
	}
	f.my = put("My", "completion my")
	f.mine = put("Mine", "completion \x1b[2Jmine")
	require.NoError(t, login.AddEnvironment(f.config, login.Environment{
		Name: "StackHub", AuthorityHost: "https://login.stack.test/", ResourceManager: "https://management.stack.test/",
	}))
	require.NoError(t, login.UpdateContexts(f.config, func(cs *login.Contexts) error {
		cs.List = append(cs.List, &login.Context{Name: "ci", Method: login.MethodSecret, Environment: login.DefaultEnvironment, Tenant: "contoso.test", ClientID: "a1c0ce27-0000-4000-8000-00000000c0de", Account: "ci-bot"})
		cs.Current = "ci"
		return nil
	}))
	vars := map[string]string{"CERTCTL_STORE_DIR": f.storeDir, configDirEnv: f.config}
	f.h = &handlers{env: &env{getenv: func(k string) string { return vars[k] }}}
	return f
}

// complete runs the candidate function on a command line as the shell
// splits it; the last word is the one being completed.
func (f *completionFixture) complete(line ...string) ([]string, compDirective) {
	cands, dir := f.h.complete(newApp(f.h.env), line)
	values := make([]string, len(cands))
	for i, c := range cands {
		values[i] = c.value
	}
	return values, dir
}

func TestCompletionCandidates(t *testing.T) {
	t.Parallel()
	f := newCompletionFixture(t)
	other := t.TempDir()
	for _, tc := range []struct {
		line        []string
		want        []string // exactly these, in order
		contains    []string // at least these
		notContains []string
		dir         compDirective
	}{
		{line: []string{""}, contains: []string{"import", "list", "ls", "environment", "version", "completion", "man"}, notContains: []string{completeCommandName}, dir: compNoFiles},
		{line: []string{"ve"}, want: []string{"version"}, dir: compNoFiles},
		{line: []string{"LI"}, want: []string{"list"}, dir: compNoFiles},
		{line: []string{"environment", ""}, want: []string{"list", "add", "remove"}, dir: compNoFiles},
		{line: []string{"app", "credential", "a"}, want: []string{"add"}, dir: compNoFiles},
		{line: []string{"list", "--"}, contains: []string{"--store", "--store-dir", "--output", "--expiring-within", "--fail-if-any", "--help"}, notContains: []string{"--version", "-o"}, dir: compNoFiles},
		{line: []string{"list", "-"}, contains: []string{"-o", "--output"}, dir: compNoFiles},
		{line: []string{"--"}, contains: []string{"--store-dir", "--output", "--version"}, dir: compNoFiles},
		{line: []string{"show", ""}, want: []string{f.my}, dir: compNoFiles},
		{line: []string{"show", strings.ToLower(f.my[:4])}, want: []string{f.my}, dir: compNoFiles},
		{line: []string{"show", "0000"}, want: []string{}, dir: compNoFiles},
		{line: []string{"export", "--store", "Mine", ""}, want: []string{f.mine}, dir: compNoFiles},
		{line: []string{"remove", "--store=mine", ""}, want: []string{f.mine}, dir: compNoFiles},
		{line: []string{"--store-dir", other, "show", ""}, want: []string{}, dir: compNoFiles},
		{line: []string{"show", "--store-dir=" + other, ""}, want: []string{}, dir: compNoFiles},
		{line: []string{"rotate", "--thumbprint", ""}, want: []string{f.my}, dir: compNoFiles},
		{line: []string{"app", "credential", "add", "--store", "Mine", "--proof-thumbprint", ""}, want: []string{f.mine}, dir: compNoFiles},
		{line: []string{"list", "--store", ""}, want: append(append([]string{}, certstore.StoreNames...), "mine"), dir: compNoFiles},
		{line: []string{"list", "--store=R"}, want: []string{"--store=Root"}, dir: compNoFiles},
		{line: []string{"list", "--store-dir", ""}, want: []string{}, dir: compDirs},
		{line: []string{"list", "--output", ""}, want: []string{"table", "json"}, dir: compNoFiles},
		{line: []string{"login", "--environment", ""}, want: []string{"AzureCloud", "AzureChinaCloud", "AzureUSGovernment", "StackHub"}, dir: compNoFiles},
		{line: []string{"environment", "remove", ""}, want: []string{"StackHub"}, dir: compNoFiles},
		{line: []string{"token", "--context", ""}, want: []string{"ci"}, dir: compNoFiles},
		{line: []string{"context", "use", ""}, want: []string{"ci"}, dir: compNoFiles},
		{line: []string{"import", ""}, want: []string{}, dir: compFiles},
		{line: []string{"import", "a.pfx", ""}, want: []string{}, dir: compFiles},
		{line: []string{"thumbprint", ""}, want: []string{}, dir: compFiles},
		{line: []string{"export", "--out", ""}, want: []string{}, dir: compFiles},
		{line: []string{"import", "--password-file", ""}, want: []string{}, dir: compFiles},
		{line: []string{"list", ""}, want: []string{}, dir: compNoFiles},
		{line: []string{"export", f.my, ""}, want: []string{}, dir: compNoFiles},
		{line: []string{"show", f.my, ""}, want: []string{f.my}, dir: compNoFiles}, // THUMBPRINT...
		{line: []string{"nosuch", ""}, want: []string{}, dir: compNoFiles},
	} {
		got, dir := f.complete(tc.line...)
		name := fmt.Sprintf("%q", tc.line)
		if tc.want != nil {
			assert.Equal(t, tc.want, append([]string{}, got...), name)
		}
		for _, w := range tc.contains {
			assert.Contains(t, got, w, name)
		}
		for _, w := range tc.notContains {
			assert.NotContains(t, got, w, name)
		}
		assert.Equal(t, tc.dir, dir, "directive for %s", name)
	}
}

// TestCompletionOutput runs the hidden command as the shell scripts do:
// candidates with their descriptions escaped, then the directive.
func TestCompletionOutput(t *testing.T) {
	t.Parallel()
	f := newCompletionFixture(t)
	var stdout, stderr bytes.Buffer
	f.h.env.stdout, f.h.env.stderr = &stdout, &stderr
	code := runInProcess([]string{"certctl", completeCommandName, "--", "show", "--store", "Mine", ""}, f.h.env)
	assert.Equal(t, 0, code)
	assert.Equal(t, f.mine+"\tCN=completion \\x1b[2Jmine\n:4\n", stdout.String())
	assert.Empty(t, stderr.String())

	var b bytes.Buffer
	writeCandidates(&b, []candidate{{"a\x1b]52;c;x\x07b", "line\nbreak\ttab"}, {"\u202eplain", ""}}, compFiles)
	assert.Equal(t, "a\\x1b]52;c;x\\x07b\tline\\nbreak\\ttab\n\\u202eplain\n:0\n", b.String())
}

// TestCompletionFailsQuietly: a store or config folder that cannot be
// read gives no candidates, no error and exit status 0.
func TestCompletionFailsQuietly(t *testing.T) {
	t.Parallel()
	f := newCompletionFixture(t)
	notDir := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(notDir, []byte("x"), 0o600))
	vars := map[string]string{"CERTCTL_STORE_DIR": notDir, configDirEnv: notDir}
	f.h.env.getenv = func(k string) string { return vars[k] }
	for _, line := range [][]string{
		{"show", ""}, {"list", "--store", ""}, {"login", "--environment", ""}, {"token", "--context", ""},
		{"show", "--store", "bad/name", ""},
	} {
		var stdout, stderr bytes.Buffer
		f.h.env.stdout, f.h.env.stderr = &stdout, &stderr
		code := runInProcess(append([]string{"certctl", completeCommandName, "--"}, line...), f.h.env)
		assert.Equal(t, 0, code, "%q", line)
		if line[0] == "list" {
			// The well-known names need no store.
			assert.Contains(t, stdout.String(), "TrustedPeople\n", "%q", line)
		} else {
			assert.Equal(t, ":4\n", stdout.String(), "%q", line)
		}
		assert.Empty(t, stderr.String(), "%q", line)
	}
}

// TestCompletionWritesNothing: completing thumbprints leaves the store as
// it was, and does not create a store folder that is not there.
func TestCompletionWritesNothing(t *testing.T) {
	t.Parallel()
	f := newCompletionFixture(t)
	f.complete("show", "") // the index is current from here on
	before := treeDigest(t, f.storeDir)
	for _, line := range [][]string{{"show", ""}, {"export", "--store", "Mine", ""}, {"list", "--store", ""}, {"show", "--store", "Root", ""}} {
		f.complete(line...)
	}
	assert.Equal(t, before, treeDigest(t, f.storeDir))

	missing := filepath.Join(t.TempDir(), "none")
	f.complete("show", "--store-dir", missing, "")
	f.complete("list", "--store-dir", missing, "--store", "")
	_, err := os.Stat(missing)
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

// treeDigest is the name, size, time and SHA-256 of every file under dir.
func treeDigest(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %d %s %x\n", path, info.Size(), info.ModTime(), sha256.Sum256(data))
		return nil
	})
	require.NoError(t, err)
	return b.String()
}

func TestCompletionScriptUnknownShell(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	assert.Equal(t, exitUsage, runInProcess([]string{"certctl", "completion", "tcsh"}, e))
	assert.Empty(t, stdout.String())
	assert.Contains(t, stderr.String(), `unknown shell "tcsh": use bash, zsh, fish, powershell`)
}
