//go:build !windows

package platform

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Dir is an open folder, for the file store (which exists where Windows'
// system store does not). Every file in it is opened, created, renamed and
// removed relative to the open handle (openat and friends), so a folder
// swapped for another after it was opened and checked is never used, and
// never through a symlink: each open has O_NOFOLLOW, a new file has
// O_EXCL, and opens never wait on a FIFO (O_NONBLOCK).
type Dir struct {
	f    *os.File
	fd   int
	path string // the real path it was opened at, for messages
}

// FileStat is what Dir.Stat and Dir.ReadFile tell of a file.
type FileStat struct {
	Mode    fs.FileMode
	Size    int64
	ModTime int64 // nanoseconds since the epoch
	UID     uint32
}

// Regular reports whether the file is a regular file (not a symlink, FIFO,
// device, socket or folder).
func (s FileStat) Regular() bool { return s.Mode.IsRegular() }

func fileStat(st *unix.Stat_t) FileStat {
	mode := fs.FileMode(st.Mode & 0o777)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	default:
		mode |= fs.ModeDevice
	}
	if st.Mode&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return FileStat{Mode: mode, Size: st.Size, ModTime: st.Mtim.Nano(), UID: st.Uid}
}

// OpenDir opens the folder at path. Symlinks in path itself are resolved
// first (a symlinked store root is a choice the user made, and its parents
// are judged by CheckPrivate); the folder found is then opened with
// O_NOFOLLOW, so it cannot be swapped for a link in between. A missing
// folder gives an error matching fs.ErrNotExist.
func OpenDir(path string) (*Dir, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Open(real, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	for err == unix.EINTR {
		fd, err = unix.Open(real, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: real, Err: err}
	}
	return &Dir{f: os.NewFile(uintptr(fd), real), fd: fd, path: real}, nil
}

// Path is the real path of the folder.
func (d *Dir) Path() string { return d.path }

// Join is the path of name in the folder, for messages.
func (d *Dir) Join(name string) string { return filepath.Join(d.path, name) }

// Close closes the folder.
func (d *Dir) Close() error { return d.f.Close() }

// CheckPrivate refuses a folder that someone else could change, in the
// manner of OpenSSH's StrictModes: the folder itself must be yours and not
// writable by group or others, and each folder above it must be owned by
// you or root and not writable by group or others, unless it is sticky (as
// /tmp is). Whoever can write to a folder can replace what is inside it.
// The error is a *PermissionError that names the folder and the fix.
func (d *Dir) CheckPrivate() error {
	var st unix.Stat_t
	if err := unix.Fstat(d.fd, &st); err != nil {
		return &fs.PathError{Op: "stat", Path: d.path, Err: err}
	}
	fi := fileStat(&st)
	if uid := uint32(os.Getuid()); fi.UID != uid {
		return &PermissionError{
			Path:   d.path,
			Reason: fmt.Sprintf("owned by uid %d, not by you (uid %d)", fi.UID, uid),
			Fix:    fmt.Sprintf("chown %d %s", uid, shellQuote(d.path)),
		}
	}
	if fi.Mode.Perm()&0o022 != 0 {
		return &PermissionError{
			Path:   d.path,
			Reason: fmt.Sprintf("folder mode %04o lets group or others change it", fi.Mode.Perm()),
			Fix:    "chmod 700 " + shellQuote(d.path),
		}
	}
	return CheckParents(d.path)
}

// CheckParents checks each folder above path (which must have no symlinks
// in it) as CheckPrivate does.
func CheckParents(path string) error {
	uid := uint32(os.Getuid())
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		var st unix.Stat_t
		if err := unix.Lstat(dir, &st); err != nil {
			return &fs.PathError{Op: "lstat", Path: dir, Err: err}
		}
		fi := fileStat(&st)
		switch {
		case !fi.Mode.IsDir():
			return fmt.Errorf("%s is not a folder (was it replaced by a link?)", dir)
		case fi.UID != uid && fi.UID != 0:
			return &PermissionError{
				Path:   dir,
				Reason: fmt.Sprintf("a folder above %s is owned by uid %d, not by you (uid %d) or root, so that user can replace what is inside it", path, fi.UID, uid),
				Fix:    fmt.Sprintf("chown %d %s", uid, shellQuote(dir)),
			}
		case fi.Mode.Perm()&0o022 != 0 && fi.Mode&fs.ModeSticky == 0:
			return &PermissionError{
				Path:   dir,
				Reason: fmt.Sprintf("a folder above %s has mode %04o, which lets group or others replace what is inside it", path, fi.Mode.Perm()),
				Fix:    "chmod go-w " + shellQuote(dir),
			}
		}
		if next := filepath.Dir(dir); next == dir {
			return nil
		}
	}
}

// Stat describes name without following a symlink.
func (d *Dir) Stat(name string) (FileStat, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return FileStat{}, &fs.PathError{Op: "stat", Path: d.Join(name), Err: err}
	}
	return fileStat(&st), nil
}

// Names lists the names of the folder's entries, in no particular order.
// Each call reads through a handle of its own, so calls may run at the same
// time. Use Stat to learn what each one is.
func (d *Dir) Names() ([]string, error) {
	fd, err := unix.Openat(d.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: d.path, Err: err}
	}
	f := os.NewFile(uintptr(fd), d.path)
	defer f.Close()
	return f.Readdirnames(-1)
}

// openFile opens name with O_NOFOLLOW, O_NONBLOCK and O_CLOEXEC added to
// flags, and refuses anything but a regular file.
func (d *Dir) openFile(name string, flags int, perm uint32) (*os.File, FileStat, error) {
	path := d.Join(name)
	fd, err := unix.Openat(d.fd, name, flags|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, perm)
	for err == unix.EINTR {
		fd, err = unix.Openat(d.fd, name, flags|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, perm)
	}
	if err != nil {
		if err == unix.ELOOP || err == unix.EMLINK {
			return nil, FileStat{}, fmt.Errorf("%s: %w (a symlink is never followed)", path, ErrNotRegular)
		}
		return nil, FileStat{}, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, FileStat{}, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	fi := fileStat(&st)
	if !fi.Regular() {
		f.Close()
		return nil, FileStat{}, fmt.Errorf("%s: %w (a pipe, device or folder)", path, ErrNotRegular)
	}
	return f, fi, nil
}

// ReadFile reads name, a regular file of at most max bytes; anything else
// fails at once (ErrNotRegular, ErrTooLarge) without reading it.
func (d *Dir) ReadFile(name string, max int64) ([]byte, FileStat, error) {
	f, fi, err := d.openFile(name, unix.O_RDONLY, 0)
	if err != nil {
		return nil, FileStat{}, err
	}
	defer f.Close()
	data, err := readAtMost(f, d.Join(name), fi.Size, max)
	if err != nil {
		return nil, FileStat{}, err
	}
	return data, fi, nil
}

// Append adds data at the end of name, creating it with mode 0600. write
// gets the file's size before the write, so a caller can start a new file
// with a header.
func (d *Dir) Append(name string, data func(size int64) []byte) error {
	f, fi, err := d.openFile(name, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data(fi.Size))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// WriteFileAtomic replaces name with data as the package's WriteFileAtomic
// does, relative to the open folder: a new temporary file (O_EXCL), fsync,
// renameat over name, fsync of the folder.
func (d *Dir) WriteFileAtomic(name string, data []byte) (err error) {
	var f *os.File
	var tmp string
	for range 100 {
		tmp = TempPrefix + randomName() + TempSuffix
		f, _, err = d.openFile(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o600)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			unix.Unlinkat(d.fd, tmp, 0)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = unix.Renameat(d.fd, tmp, d.fd, name); err != nil {
		return &fs.PathError{Op: "rename", Path: d.Join(name), Err: err}
	}
	return d.Sync()
}

func randomName() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return fmt.Sprint(time.Now().UnixNano())
	}
	return hex.EncodeToString(b)
}

// Remove deletes name (never a folder).
func (d *Dir) Remove(name string) error {
	if err := unix.Unlinkat(d.fd, name, 0); err != nil {
		return &fs.PathError{Op: "remove", Path: d.Join(name), Err: err}
	}
	return nil
}

// Sync flushes the folder's entries (renames and removals) to disk.
func (d *Dir) Sync() error {
	if err := unix.Fsync(d.fd); err != nil {
		return fmt.Errorf("sync %s: %w", d.path, err)
	}
	return nil
}

// Lock takes an exclusive flock(2) on name, a regular file created with
// mode 0600 if needed. With wait false it returns a nil Lock and no error
// when another holder has the lock.
func (d *Dir) Lock(name string, wait bool) (*Lock, error) {
	f, _, err := d.openFile(name, unix.O_RDWR|unix.O_CREAT, 0o600)
	if err != nil {
		return nil, err
	}
	how := unix.LOCK_EX
	if !wait {
		how |= unix.LOCK_NB
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR || !wait {
			break
		}
	}
	if err != nil {
		f.Close()
		if !wait && (err == unix.EWOULDBLOCK || err == unix.EINTR) {
			return nil, nil
		}
		return nil, fmt.Errorf("lock %s: %w", d.Join(name), err)
	}
	return &Lock{f: f}, nil
}

// CheckPrivate refuses a file that holds a key when it is not yours or
// group or others may read it, as .NET and OpenSSH do. path names it in
// the error.
func (s FileStat) CheckPrivate(path string) error {
	if uid := uint32(os.Getuid()); s.UID != uid {
		return &PermissionError{
			Path:   path,
			Reason: fmt.Sprintf("owned by uid %d, not by you (uid %d)", s.UID, uid),
			Fix:    fmt.Sprintf("chown %d %s", uid, shellQuote(path)),
		}
	}
	if s.Mode.Perm()&0o077 != 0 {
		return &PermissionError{
			Path:   path,
			Reason: fmt.Sprintf("file mode %04o lets group or others read it", s.Mode.Perm()),
			Fix:    "chmod 600 " + shellQuote(path),
		}
	}
	return nil
}

// Lock is an exclusive advisory lock on a file, held until Unlock.
type Lock struct{ f *os.File }

// Unlock releases the lock.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor releases the flock
	l.f = nil
	return err
}

// ReadConfigFile reads dir/name, a settings file that certctl trusts
// (the sign-in context, registered clouds): only if no other user could
// have written it. The folder must pass CheckPrivate, and the file must be
// a regular file of yours, not writable by group or others, of at most max
// bytes; it is opened without following a symlink. A missing folder or
// file gives an error matching fs.ErrNotExist; an unsafe one a
// *PermissionError that names it and the fix.
func ReadConfigFile(dir, name string, max int64) ([]byte, error) {
	d, err := OpenDir(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if err := d.CheckPrivate(); err != nil {
		return nil, err
	}
	data, st, err := d.ReadFile(name, max)
	if err != nil {
		return nil, err
	}
	path := d.Join(name)
	if uid := uint32(os.Getuid()); st.UID != uid {
		return nil, &PermissionError{
			Path:   path,
			Reason: fmt.Sprintf("owned by uid %d, not by you (uid %d), so that user decides what certctl does with it", st.UID, uid),
			Fix:    fmt.Sprintf("chown %d %s", uid, shellQuote(path)),
		}
	}
	if st.Mode.Perm()&0o022 != 0 {
		return nil, &PermissionError{
			Path:   path,
			Reason: fmt.Sprintf("file mode %04o lets group or others change it", st.Mode.Perm()),
			Fix:    "chmod 600 " + shellQuote(path),
		}
	}
	return data, nil
}

// WriteConfigFile replaces dir/name with data (mode 0600), creating dir
// (mode 0700) if needed, and refuses a folder ReadConfigFile would refuse
// to read from.
func WriteConfigFile(dir, name string, data []byte) error {
	if err := MkdirPrivate(dir); err != nil {
		return err
	}
	d, err := OpenDir(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.CheckPrivate(); err != nil {
		return err
	}
	return d.WriteFileAtomic(name, data)
}
