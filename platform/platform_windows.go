//go:build windows

package platform

import (
	"errors"
	"os"
	"path/filepath"
)

const isWindows = true

// StoreRoot on Windows is where a file store would go. certctl does not use
// it there: its Windows store is the system CurrentUser store, which has no
// folder. It keeps the platform API the same on every system.
func StoreRoot() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil || d == "" {
		return "", errors.Join(ErrNoHome, err)
	}
	return filepath.Join(d, "certctl", "x509stores"), nil
}

// SyncDir is a no-op: Windows cannot open a folder for FlushFileBuffers
// through os.Open, and NTFS journals renames.
func SyncDir(string) error { return nil }

// MkdirPrivate creates dir; the user's profile folder's ACL already limits it
// to the user.
func MkdirPrivate(dir string) error { return os.MkdirAll(dir, 0o700) }

// openNoBlock opens path for reading; opening never blocks on Windows.
func openNoBlock(path string) (*os.File, error) { return os.Open(path) }

// CheckSecretFile accepts any file on Windows, where the profile's ACLs
// protect the user's files.
func CheckSecretFile(path string, fi os.FileInfo) (readableByOthers bool, err error) {
	return false, nil
}

// ReadConfigFile reads dir/name, a regular file of at most max bytes. The
// profile's ACLs keep other users out of the user's folders on Windows.
func ReadConfigFile(dir, name string, max int64) ([]byte, error) {
	data, _, err := ReadSmallFile(filepath.Join(dir, name), max)
	return data, err
}

// WriteConfigFile replaces dir/name with data, creating dir if needed.
func WriteConfigFile(dir, name string, data []byte) error {
	if err := MkdirPrivate(dir); err != nil {
		return err
	}
	return WriteFileAtomic(dir, name, data)
}
