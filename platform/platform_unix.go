//go:build !windows

package platform

import (
	"fmt"
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

// openNoBlock opens path for reading without waiting for a FIFO's writer.
func openNoBlock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
}

// CheckSecretFile refuses a file that holds a secret (a password, a client
// secret, a key) when a user other than you or root owns it: whoever owns
// it decides what certctl reads as the secret. It reports whether group or
// others may read the file, for the caller to warn about.
func CheckSecretFile(path string, fi os.FileInfo) (readableByOthers bool, err error) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false, nil
	}
	if uid := os.Getuid(); int(st.Uid) != uid && st.Uid != 0 {
		return false, &PermissionError{
			Path:   path,
			Reason: fmt.Sprintf("owned by uid %d, not by you (uid %d) or root, so that user decides what it holds", st.Uid, uid),
			Fix:    fmt.Sprintf("chown %d %s", uid, shellQuote(path)),
		}
	}
	return fi.Mode().Perm()&0o044 != 0, nil
}

// home returns the user's home folder, or an error matching ErrNoHome.
func home() (string, error) {
	h, err := os.UserHomeDir()
	if err != nil || h == "" || !filepath.IsAbs(h) {
		return "", fmt.Errorf("%w: cannot tell where the user's home folder is (is $HOME set?)", ErrNoHome)
	}
	return h, nil
}
