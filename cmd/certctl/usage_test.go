package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestClosest(t *testing.T) {
	names := []string{"list", "ls", "show", "remove", "rm", "import", "environment", "export"}
	for _, tc := range []struct {
		typed string
		want  []string
	}{
		{"lsit", []string{"list"}},
		{"remvoe", []string{"remove"}},
		{"imprt", []string{"import"}},
		{"env", []string{"environment"}},
		{"SHOW", []string{"show"}},
		{"xyzzy", nil},
		{"e", nil},
		{"exprot", []string{"export"}},
	} {
		assert.Equal(t, tc.want, closest(tc.typed, names), tc.typed)
	}
}

func TestEditDistance(t *testing.T) {
	assert.Equal(t, 0, editDistance("list", "list"))
	assert.Equal(t, 1, editDistance("lsit", "list"))
	assert.Equal(t, 1, editDistance("lst", "list"))
	assert.Equal(t, 2, editDistance("abc", "cab"))
	assert.Equal(t, 3, editDistance("", "abc"))
	assert.Equal(t, 1, editDistance("証明", "証明書"))
}

func TestOrList(t *testing.T) {
	assert.Equal(t, "", orList(nil))
	assert.Equal(t, "a", orList([]string{"a"}))
	assert.Equal(t, "a or b", orList([]string{"a", "b"}))
	assert.Equal(t, "a, b or c", orList([]string{"a", "b", "c"}))
}
