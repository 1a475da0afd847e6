//go:build windows

package platform

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
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

// CheckPrivateDir accepts any folder: Windows protects user folders with ACLs,
// which the profile already sets.
func CheckPrivateDir(dir string) error {
	_, err := os.Stat(dir)
	return err
}

// CheckPrivateFile accepts any regular file, for the reason CheckPrivateDir
// gives.
func CheckPrivateFile(path string) error {
	_, err := os.Stat(path)
	return err
}

// Lock is an exclusive lock on a file, held until Unlock.
type Lock struct{ f *os.File }

// LockFile takes an exclusive LockFileEx lock on path, creating it, and waits
// for other holders to let go.
func LockFile(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	ol := new(windows.Overlapped)
	if err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, ol); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: LockFileEx: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// TryLockFile is LockFile without the wait: it returns a nil Lock and no error
// when another holder has the lock.
func TryLockFile(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	ol := new(windows.Overlapped)
	err = windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if err != nil {
		f.Close()
		if err == windows.ERROR_LOCK_VIOLATION {
			return nil, nil
		}
		return nil, fmt.Errorf("lock %s: LockFileEx: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// Unlock releases the lock.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the handle releases the lock
	l.f = nil
	return err
}
