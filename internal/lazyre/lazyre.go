// Package lazyre compiles a package's regular expressions on first use
// rather than at start-up: every certctl process initializes every
// package, and most commands never match most expressions.
package lazyre

import (
	"regexp"
	"sync"
)

// New returns a function that compiles expr the first time it is called,
// panicking as regexp.MustCompile does if it does not compile, and returns
// the same *regexp.Regexp every time. It is safe for concurrent use.
func New(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
