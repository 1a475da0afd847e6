package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mattn/go-runewidth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// columnStarts returns the terminal column where each cell of line starts,
// cells being two or more spaces apart.
func columnStarts(line string) []int {
	var starts []int
	col, spaces := 0, 2
	for _, r := range line {
		if r != ' ' && spaces >= 2 {
			starts = append(starts, col)
		}
		if r == ' ' {
			spaces++
		} else {
			spaces = 0
		}
		col += runewidth.RuneWidth(r)
	}
	return starts
}

func TestTableAlignsWideCharacters(t *testing.T) {
	var out bytes.Buffer
	tb := newTable(&out, "NAME", "ISSUER", "KEY")
	tb.row("CN=証明書テスト", "CN=발급자", "yes")
	tb.row("CN=plain ascii name", "CN=x", "no")
	tb.row("CN=émigré", "CN=日本", "no")
	require.NoError(t, tb.flush())
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, 4)
	want := columnStarts(lines[0])
	require.Len(t, want, 3)
	for _, l := range lines[1:] {
		assert.Equal(t, want, columnStarts(l), "%q", l)
	}
}

func TestTableFitsTheWidth(t *testing.T) {
	long := "CN=" + strings.Repeat("long name ", 12)
	for _, width := range []int{80, 100, 120} {
		var out bytes.Buffer
		tb := newTable(&out, "THUMBPRINT", "SUBJECT", "ISSUER", "KEY")
		tb.fit(width, 1, 2)
		tb.row(strings.Repeat("A", 40), long, "CN=short", "yes")
		tb.row(strings.Repeat("B", 40), "CN=証明書"+strings.Repeat("テスト", 10), "CN=tiny", "no")
		require.NoError(t, tb.flush())
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		for _, l := range lines {
			assert.LessOrEqual(t, runewidth.StringWidth(l), width, "%q", l)
		}
		// The short issuer is not cut, and the columns stay aligned.
		assert.Contains(t, lines[1], "CN=short  yes")
		assert.Contains(t, lines[1], "…")
		assert.Equal(t, columnStarts(lines[0]), columnStarts(lines[1]))
		assert.Equal(t, columnStarts(lines[0]), columnStarts(lines[2]))
	}

	// What fits is never cut, and width 0 never cuts.
	for _, width := range []int{0, 200} {
		var out bytes.Buffer
		tb := newTable(&out, "SUBJECT", "KEY")
		tb.fit(width, 0)
		tb.row(long, "yes")
		require.NoError(t, tb.flush())
		assert.Contains(t, out.String(), long)
		assert.NotContains(t, out.String(), "…")
	}
}
