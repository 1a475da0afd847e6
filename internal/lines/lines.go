// Package lines holds the one rule certctl uses to take the first line of
// a text: a secret read from a file or standard input (editors and echo add
// a line break), or the first line of a service's message.
package lines

import "strings"

// First is s up to its first line break, "\n" or "\r". Nothing else is
// trimmed: a password may begin or end with spaces.
func First(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}
