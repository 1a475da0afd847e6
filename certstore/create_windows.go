//go:build windows

package certstore

import "fmt"

// Create is not there yet on Windows.
func (s *windowsStore) Create(n NewCertificate) (Entry, error) {
	if err := n.check(); err != nil {
		return Entry{}, fmt.Errorf("create a certificate in store %s: %w", s.name, err)
	}
	return Entry{}, fmt.Errorf("create a certificate in store %s: %w", s.name, ErrUnsupported)
}
