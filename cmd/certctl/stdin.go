package main

import (
	"fmt"
	"io"

	"github.com/certctl/certctl/pfx"
)

// stdinArg is the FILE argument that means standard input, and stdinName
// how messages call it.
const (
	stdinArg  = "-"
	stdinName = "standard input"
)

// readStdinInput reads a certificate or key file from standard input, with
// readInput's bound: it never reads more than pfx.MaxFileSize+1 bytes, and
// fails with the same error when there are more.
func readStdinInput(e *env) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(e.stdin, pfx.MaxFileSize+1))
	if err != nil {
		return nil, badInput(fmt.Errorf("read %s: %w", stdinName, err))
	}
	if len(data) > pfx.MaxFileSize {
		return nil, badInput(fmt.Errorf("%s: %w", stdinName, pfx.ErrTooLarge))
	}
	return data, nil
}
