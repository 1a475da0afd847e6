//go:build !windows

package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"
)

var updateMan = flag.Bool("update-man", false, "rewrite docs/certctl.1 from 'certctl man'")

// manPage is what 'certctl man' prints.
func manPage(t *testing.T) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	require.Equal(t, 0, runInProcess([]string{"certctl", "man"}, e), stderr.String())
	return stdout.String()
}

var manFile = filepath.Join("..", "..", "docs", "certctl.1")

// TestManPageIsCurrent fails when docs/certctl.1 is not what 'certctl man'
// prints: a command, flag or example changed since it was made.
func TestManPageIsCurrent(t *testing.T) {
	t.Parallel()
	got := manPage(t)
	if *updateMan {
		require.NoError(t, os.WriteFile(manFile, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(manFile)
	require.NoError(t, err)
	if string(want) != got {
		t.Errorf("docs/certctl.1 is not what 'certctl man' prints; regenerate it with\n" +
			"\tgo run ./cmd/certctl man > docs/certctl.1\n" +
			"or\n\tgo test ./cmd/certctl -run TestManPageIsCurrent -update-man")
	}
}

// TestManPageContents: every command, subcommand and flag help shows is in
// the page, with every exit code and environment variable.
func TestManPageContents(t *testing.T) {
	t.Parallel()
	page := manPage(t)
	app := newApp(newEnv())
	n := 0
	var walk func(path string, cmds []*cli.Command)
	walk = func(path string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden {
				assert.NotContains(t, page, c.Name)
				continue
			}
			p := path + " " + c.Name
			n++
			assert.Regexp(t, `(?m)^\.SS "`+regexp.QuoteMeta(roffEscape(p))+`( |")`, page, "no section for %s", p)
			for _, f := range visibleFlags(c.Flags) {
				assert.Contains(t, page, `\fB`+roffEscape(dashes(f.Names()[0])+f.Names()[0])+`\fR`, "%s %s", p, f.Names()[0])
			}
			if _, examples, ok := strings.Cut(c.Description, "Examples:\n"); ok {
				first, _, _ := strings.Cut(strings.TrimSpace(examples), "\n")
				assert.Contains(t, page, "\n"+roffEscape(first)+"\n", "the first example of %s", p)
			}
			walk(p, c.Subcommands)
		}
	}
	walk("certctl", app.Commands)
	assert.Greater(t, n, 25, "the walk is broken")
	for _, f := range app.Flags {
		assert.Contains(t, page, `\fB\-\-`+roffEscape(f.Names()[0])+`\fR`)
	}

	// EXIT STATUS is read from exitcodes.go: each constant and its comment.
	constants := map[string]int{
		"exitOK": exitOK, "exitError": exitError, "exitUsage": exitUsage, "exitNotFound": exitNotFound,
		"exitBadInput": exitBadInput, "exitSignIn": exitSignIn, "exitNetwork": exitNetwork,
		"exitRefused": exitRefused, "exitMatched": exitMatched,
	}
	src, err := os.ReadFile("exitcodes.go")
	require.NoError(t, err)
	statuses := exitStatuses()
	seen := map[string]bool{}
	_, section, _ := strings.Cut(page, ".SH \"EXIT STATUS\"\n")
	section, _, _ = strings.Cut(section, ".SH ")
	for _, s := range statuses {
		assert.Contains(t, section, ".TP\n\\fB"+strconv.Itoa(s.code)+"\\fR\n")
		for i, name := range s.names {
			seen[name] = true
			v, ok := constants[name]
			if assert.True(t, ok, "exitcodes.go has a new constant %s: add it to this test", name) {
				assert.Equal(t, v, s.code, name)
			}
			assert.Contains(t, strings.Join(strings.Fields(section), " "), roffEscape(s.meanings[i][1:]), name)
		}
	}
	for name := range constants {
		assert.True(t, seen[name], "EXIT STATUS misses %s: is its line in exitcodes.go still 'name = N // meaning'?", name)
		assert.Contains(t, string(src), name)
	}

	// Every variable certctl reads, as TestEnvironmentVariablesAreDocumented
	// finds them.
	_, envSection, _ := strings.Cut(page, ".SH ENVIRONMENT\n")
	envSection, _, _ = strings.Cut(envSection, ".SH ")
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	quoted := regexp.MustCompile(`"((?:CERTCTL|AZURE)_[A-Z_]+)"`)
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range quoted.FindAllStringSubmatch(string(b), -1) {
			found++
			assert.Contains(t, envSection, ".TP\n\\fB"+roffEscape(m[1])+"\\fR\n", "ENVIRONMENT misses $%s: add it to otherEnvironment in man.go", m[1])
		}
	}
	assert.Greater(t, found, 5, "the scan is broken")
}

func TestRoffEscape(t *testing.T) {
	t.Parallel()
	var w roffWriter
	w.line(`.TH injected`)
	w.line(`'br`)
	w.line(`a\fBb --flag é ` + "\x1b[2J")
	w.macro("SS", `certctl "x" -y`)
	w.text("para one\nstill one\n\n.not a request\n\nExamples:\n   certctl x --y\n   'z\n     .y\n")
	assert.Equal(t, `\&.TH injected
\&'br
a\efBb \-\-flag \[u00E9] [2J
.SS "certctl \(dqx\(dq \-y"
para one still one
.PP
\&.not a request
.PP
Examples:
.RS 4
.nf
certctl x \-\-y
\&'z
  .y
.fi
.RE
`, w.String())
}

// TestManPageLint has mandoc check the page, and groff when it is there.
func TestManPageLint(t *testing.T) {
	t.Parallel()
	mandoc, err := exec.LookPath("mandoc")
	if err != nil {
		t.Skip("mandoc is not installed (apt-get install mandoc), so the man page is not linted")
	}
	file := filepath.Join(t.TempDir(), "certctl.1")
	require.NoError(t, os.WriteFile(file, []byte(manPage(t)), 0o600))
	out, _ := exec.Command(mandoc, "-T", "lint", "-W", "warning", file).CombinedOutput()
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		// The page has no date on purpose: it is compared with the
		// checked-in copy.
		if l != "" && !strings.Contains(l, "missing date") {
			t.Errorf("mandoc: %s", l)
		}
	}
	out, err = exec.Command(mandoc, "-T", "ascii", file).Output()
	require.NoError(t, err)
	text := regexp.MustCompile(".\b").ReplaceAllString(string(out), "") // bold and underline
	assert.Contains(t, text, "certctl export [options] THUMBPRINT\n")
	assert.Contains(t, text, "  --store-dir value\n")
	assert.Contains(t, text, "certctl import root-ca.crt --store Root\n")
	if groff, err := exec.LookPath("groff"); err == nil {
		out, err := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z", file).CombinedOutput()
		assert.NoError(t, err)
		assert.Empty(t, string(out), "groff warnings")
	}
}
