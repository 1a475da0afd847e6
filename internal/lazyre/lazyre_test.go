package lazyre

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNew(t *testing.T) {
	re := New(`^a(\d+)$`)
	var wg sync.WaitGroup
	got := make([]any, 8)
	for i := range got {
		wg.Go(func() { got[i] = re() })
	}
	wg.Wait()
	for _, r := range got {
		assert.Same(t, got[0], r, "one compiled expression for every caller")
	}
	assert.Equal(t, []string{"a12", "12"}, re().FindStringSubmatch("a12"))
	bad := New(`(`)
	assert.Panics(t, func() { bad() }, "an expression that does not compile panics on first use, as MustCompile does at start-up")
}
