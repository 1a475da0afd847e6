// Package platform holds what differs by operating system and is not a
// certificate store: default folders, atomic file replacement, permission
// checks and file locks.
//
// Each function has one implementation per platform, in platform_unix.go and
// platform_windows.go; what is shared lives here.
package platform

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ErrNoHome is returned when the user's home folder cannot be found, as in
// some containers that run without $HOME.
var ErrNoHome = errors.New("no home folder")

// ErrUnsafePermissions is matched by every *PermissionError.
var ErrUnsafePermissions = errors.New("unsafe permissions")

// PermissionError names a folder or file that others can read or change, and
// the command that fixes it, in the manner of OpenSSH's StrictModes.
type PermissionError struct {
	Path   string
	Reason string
	Fix    string
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("%s: %s; fix it with: %s", e.Path, e.Reason, e.Fix)
}

// Is makes errors.Is(err, ErrUnsafePermissions) true.
func (e *PermissionError) Is(target error) bool { return target == ErrUnsafePermissions }

// ConfigDir is the folder for certctl's own settings (the sign-in context and
// registered clouds): os.UserConfigDir()/certctl.
func ConfigDir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoHome, err)
	}
	return filepath.Join(d, "certctl"), nil
}

// WriteFileAtomic replaces dir/name with data so that a crash leaves either
// the old file or the new one, never a part of either: it writes a temporary
// file in dir, syncs it, renames it over name and syncs dir. The file gets
// mode 0600. Temporary files are named TempPrefix*TempSuffix, which neither
// .NET nor certctl reads as a certificate.
func WriteFileAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, TempPrefix+"*"+TempSuffix)
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil && !isWindows {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	return SyncDir(dir)
}

// TempPrefix and TempSuffix frame the names of WriteFileAtomic's temporary
// files.
const (
	TempPrefix = ".certctl-"
	TempSuffix = ".tmp"
)

// MaxSecretSize caps what certctl reads as one secret: a password, a client
// secret, a federated token. Real ones are far smaller; /dev/zero is not.
const MaxSecretSize = 64 << 10

var (
	// ErrNotRegular means a path that must be a regular file is a pipe, a
	// device, a socket or a folder.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge means a file is larger than what certctl reads of it.
	ErrTooLarge = errors.New("file too large")
)

// ReadSmallFile reads path if it is a regular file of at most max bytes.
// It never blocks opening a FIFO and never reads more than max+1 bytes, so
// a pipe, /dev/zero or a huge file fails at once with an error matching
// ErrNotRegular or ErrTooLarge. It also returns what it learned of the
// file, for permission checks.
func ReadSmallFile(path string, max int64) ([]byte, os.FileInfo, error) {
	f, err := openNoBlock(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s: %w (a pipe, device or folder)", path, ErrNotRegular)
	}
	data, err := readAtMost(f, path, fi.Size(), max)
	return data, fi, err
}

// readAtMost reads the regular file f of the given size, failing with
// ErrTooLarge rather than reading more than max bytes (it may have grown).
func readAtMost(f *os.File, path string, size, max int64) ([]byte, error) {
	if size > max {
		return nil, fmt.Errorf("%s: %w: over %d bytes", path, ErrTooLarge, max)
	}
	// One buffer of the size the file had, and a byte more to see EOF (or
	// growth) without a second allocation: io.ReadAll would double its
	// buffer on the way, touching twice the memory.
	data := make([]byte, 0, size+1)
	for {
		n, err := f.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if int64(len(data)) > max {
			return nil, fmt.Errorf("%s: %w: over %d bytes", path, ErrTooLarge, max)
		}
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)] // it grew while we read
		}
	}
}
