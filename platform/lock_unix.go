//go:build !windows

package platform

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// LockFile takes an exclusive lock on path, a lock file created with mode
// 0600 if needed, waiting for another holder to release it. The lock is
// advisory: it keeps out other certctl processes, which all take it before
// they touch what it guards. It is released by Unlock or when the process
// ends.
func LockFile(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
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
