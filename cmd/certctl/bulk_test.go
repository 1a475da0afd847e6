//go:build !windows

package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBulkImportProgress imports many files in one process: progress shows
// on a terminal and nowhere else, and every file ends up in the store.
func TestBulkImportProgress(t *testing.T) {
	t.Parallel()
	paths, tps := mintFiles(t, 24)

	quiet := t.TempDir()
	r := certctl(t, quiet, append([]string{"import"}, paths...)...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stderr, "no progress when stderr is not a terminal")
	assert.Equal(t, 24, strings.Count(r.stdout, "\n"))
	got := listStore(t, quiet)
	for _, tp := range tps {
		assert.Contains(t, got, tp.String())
	}

	scriptCmd, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) from util-linux is needed to give certctl a terminal")
	}
	tty := t.TempDir()
	cmd := exec.Command(scriptCmd, "-q", "-e", "-c", "certctl --store-dir "+tty+" import "+strings.Join(paths, " "), "/dev/null")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Run(), out.String())
	assert.Contains(t, out.String(), "certctl: imported 24/24")
	assert.Len(t, listStore(t, tty), 24)
}
