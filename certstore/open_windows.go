//go:build windows

package certstore

import "fmt"

// openBackend on Windows will open the CurrentUser system store through
// crypt32. Until that backend lands, certctl on Windows says so plainly
// rather than writing a file store that Windows tools would not see.
func openBackend(name string, opts Options) (Store, error) {
	return nil, fmt.Errorf("open store %s: %w: the Windows CurrentUser store backend is not available yet", name, ErrUnsupported)
}
