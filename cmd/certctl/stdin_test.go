//go:build !windows

package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/certctl/certctl/pfx"
)

// TestThumbprintStdinTooLarge: "thumbprint -" reads no more of standard
// input than readInput reads of a file, and says so as it does.
func TestThumbprintStdinTooLarge(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := runCertctl(t, strings.Repeat("A", pfx.MaxFileSize+1), "thumbprint", "-")
	assert.Equal(t, exitBadInput, code)
	assert.Empty(t, stdout)
	assert.Equal(t, "certctl: error: standard input: file is larger than the 4 MiB limit\n", stderr)
}
