//go:build !windows

package platform

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

const isWindows = false

// StoreRoot is the folder that holds one sub-folder per certificate store.
//
// On Linux it is the folder .NET uses for its CurrentUser stores, so that
// .NET and PowerShell 7 see what certctl imports and the reverse. On macOS,
// where .NET keeps CurrentUser certificates in the Keychain instead, it is a
// folder of certctl's own with the same layout.
func StoreRoot() (string, error) {
	h, err := home()
	if err != nil {
		return "", err
	}
	if runtime.GOOS == "darwin" {
		return filepath.Join(h, "Library", "Application Support", "certctl", "x509stores"), nil
	}
	return filepath.Join(h, ".dotnet", "corefx", "cryptography", "x509stores"), nil
}

// SyncDir flushes a folder's entries (a rename into it) to disk.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// MkdirPrivate creates dir and its missing parents with mode 0700.
func MkdirPrivate(dir string) error {
	return os.MkdirAll(dir, 0o700)
}

// CheckPrivateDir refuses a folder that another user owns or that group or
// others may write to: whoever can write there can replace a certificate.
func CheckPrivateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		// A symlinked store root is a choice the user made; judge its target.
		if fi, err = os.Stat(dir); err != nil {
			return err
		}
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a folder", dir)
	}
	if err := checkOwner(dir, fi); err != nil {
		return err
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return &PermissionError{
			Path:   dir,
			Reason: fmt.Sprintf("folder mode %04o lets group or others change it", fi.Mode().Perm()),
			Fix:    "chmod 700 " + shellQuote(dir),
		}
	}
	return nil
}

// CheckPrivateFile refuses a key file that is not a regular file of the
// user's own with mode 0600 (or stricter), as .NET and OpenSSH do.
func CheckPrivateFile(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	if err := checkOwner(path, fi); err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return &PermissionError{
			Path:   path,
			Reason: fmt.Sprintf("file mode %04o lets group or others read it", fi.Mode().Perm()),
			Fix:    "chmod 600 " + shellQuote(path),
		}
	}
	return nil
}

func checkOwner(path string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := os.Getuid(); int(st.Uid) != uid {
		return &PermissionError{
			Path:   path,
			Reason: fmt.Sprintf("owned by uid %d, not by you (uid %d)", st.Uid, uid),
			Fix:    fmt.Sprintf("chown %d %s", uid, shellQuote(path)),
		}
	}
	return nil
}

// Lock is an exclusive advisory lock on a file, held until Unlock.
type Lock struct{ f *os.File }

// LockFile takes an exclusive flock(2) on path, creating it with mode 0600,
// and waits for other holders to let go.
func LockFile(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
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
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if err == unix.EWOULDBLOCK || err == unix.EINTR {
			return nil, nil
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// Unlock releases the lock.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor releases the flock
	l.f = nil
	return err
}
