package platform

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLockFileExcludes checks that a second LockFile on the same path
// waits until the first holder unlocks.
func TestLockFileExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	first, err := LockFile(path)
	require.NoError(t, err)

	got := make(chan error, 1)
	var second *Lock
	go func() {
		var err error
		second, err = LockFile(path)
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("a second lock was granted while the first was held (err %v)", err)
	case <-time.After(100 * time.Millisecond):
		// Still waiting, as it must.
	}
	require.NoError(t, first.Unlock())
	select {
	case err := <-got:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the second lock was not granted after the first was released")
	}
	assert.NoError(t, second.Unlock())
	assert.NoError(t, second.Unlock(), "unlocking twice is harmless")
}
