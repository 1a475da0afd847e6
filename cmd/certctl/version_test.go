//go:build !windows

package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadVersion(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	for _, tc := range []struct {
		name string
		info *debug.BuildInfo
		ok   bool
		want versionJSON
	}{
		{"no build info", nil, false, versionJSON{GoVersion: runtime.Version()}},
		{"go run", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "(devel)"}}, true,
			versionJSON{Version: "(devel)", GoVersion: "go1.26.1"}},
		{"release", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2025-03-04T05:06:07+02:00"},
			{Key: "vcs.modified", Value: "false"},
		}}, true, versionJSON{Version: "v1.2.3", Revision: "0123456789abcdef0123456789abcdef01234567", CommitDate: "2025-03-04T03:06:07Z", Modified: &no, GoVersion: "go1.26.1"}},
		{"dirty", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20250304030607-0123456789ab+dirty"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.modified", Value: "true"},
		}}, true, versionJSON{Version: "v0.0.0-20250304030607-0123456789ab+dirty", Revision: "0123456789abcdef0123456789abcdef01234567", Modified: &yes, GoVersion: runtime.Version()}},
	} {
		tc.want.Platform = runtime.GOOS + "/" + runtime.GOARCH
		assert.Equal(t, tc.want, readVersion(tc.info, tc.ok), tc.name)
	}
}

// TestVersionOfTestBinary: a binary without a recorded module version or
// commit (this one) says "unknown", and its JSON leaves them out.
func TestVersionOfTestBinary(t *testing.T) {
	t.Parallel()
	v := readVersion(debug.ReadBuildInfo())
	if v.Revision != "" {
		t.Skip("this test binary records a commit")
	}
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	require.Equal(t, 0, runInProcess([]string{"certctl", "version"}, e), stderr.String())
	assert.Regexp(t, `(?m)^Commit: +unknown$`, stdout.String())
	assert.Regexp(t, `(?m)^Commit date: +unknown$`, stdout.String())
	assert.Regexp(t, `(?m)^Go: +`+strings.ReplaceAll(runtime.Version(), ".", `\.`)+`$`, stdout.String())

	stdout.Reset()
	require.Equal(t, 0, runInProcess([]string{"certctl", "version", "-o", "json"}, e), stderr.String())
	var got map[string]any
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &got))
	assert.NotContains(t, got, "revision")
	assert.NotContains(t, got, "commitDate")
	assert.Equal(t, runtime.Version(), got["goVersion"])
}

// TestVersionOfBuiltBinary runs certctl built as it is released and checks
// that it reports this checkout's commit and this Go.
func TestVersionOfBuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds certctl")
	}
	t.Parallel()
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout, or no git: %v", err)
	}
	bin := releaseBinary(t)
	if bin == "" {
		t.Skip("no go command to build certctl with")
	}
	out, err := exec.Command(bin, "version", "-o", "json").Output()
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	var v versionJSON
	require.NoError(t, dec.Decode(&v), "%s", out)
	assert.Equal(t, strings.TrimSpace(string(head)), v.Revision)
	assert.Equal(t, runtime.Version(), v.GoVersion)
	assert.Equal(t, runtime.GOOS+"/"+runtime.GOARCH, v.Platform)
	assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`, v.CommitDate)
	if assert.NotNil(t, v.Modified) {
		// As go build does, count untracked files as changes.
		status, err := exec.Command("git", "status", "--porcelain").Output()
		require.NoError(t, err)
		assert.Equal(t, len(status) > 0, *v.Modified, "git status:\n%s", status)
	}
	// The module version names the commit: a tag, or a pseudo-version
	// ending in the commit's first 12 digits.
	assert.Regexp(t, `^v\d+\.\d+\.\d+`, v.Version)
	if regexp.MustCompile(`\d{14}-[0-9a-f]{12}`).MatchString(v.Version) {
		assert.Contains(t, v.Version, v.Revision[:12])
	}

	text, err := exec.Command(bin, "--version").Output()
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^Commit: +`+v.Revision+`( \(modified\))?$`, string(text))
	assert.Regexp(t, `(?m)^Commit date: +`+v.CommitDate+`$`, string(text))
}
