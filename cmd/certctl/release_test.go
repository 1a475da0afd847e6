//go:build !windows

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// releaseBinary builds certctl as it is released (releaseBuild, no race
// detector, the commit stamped), once for the whole test run, or returns ""
// when there is no go command. A process of the race-enabled test binary costs several times
// the CPU of a real one, which for hundreds of them is minutes of the
// test run, and races are what the other tests look for.
func releaseBinary(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Logf("no go command, so the test runs the test binary: %v", err)
		return ""
	}
	release.once.Do(func() {
		if release.dir, release.err = os.MkdirTemp("", "certctl-release-"); release.err != nil {
			return
		}
		bin := filepath.Join(release.dir, "certctl")
		if release.err = releaseBuild(goTool, bin, "."); release.err != nil {
			return
		}
		release.bin = bin
	})
	require.NoError(t, release.err)
	return release.bin
}

// releaseBuild builds the package in dir into bin as the README's Install
// section builds a release: CGO_ENABLED=0 (a static binary, which starts
// without the dynamic loader), the urfave_cli_no_docs tag (urfave/cli's
// Markdown and man page writers, which certctl does not use, left out) and
// -ldflags=-s -w (no symbol table or DWARF; stack traces keep their
// names). -buildvcs=auto stamps the commit, as a release build does, even
// where a go env file turns it off.
func releaseBuild(goTool, bin, dir string) error {
	cmd := exec.Command(goTool, "build", "-tags", "urfave_cli_no_docs", "-ldflags=-s -w", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -buildvcs=auto"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w: %s", err, out)
	}
	return nil
}

// release is certctl built once for the tests that run it as released;
// TestMain removes it.
var release struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// removeRelease runs the tests, then removes the certctl they built.
type removeRelease struct{ m *testing.M }

func (r removeRelease) Run() int {
	code := r.m.Run()
	if release.dir != "" {
		os.RemoveAll(release.dir)
	}
	return code
}
