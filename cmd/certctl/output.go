package main

import (
	"bufio"
	"encoding/json"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"
)

// writeJSON prints v as indented JSON, the form scripts read.
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(escapeJSON(b), '\n'))
	return err
}

// writeJSONList prints a JSON array with one compact element per line:
// valid JSON for scripts, readable for people, and cheaper than indenting
// a large list.
func writeJSONList[T any](w io.Writer, items []T) error {
	return writeJSONLines(w, len(items), func(b []byte, i int) ([]byte, error) {
		item, err := json.Marshal(items[i])
		return append(b, escapeJSON(item)...), err
	})
}

// writeJSONLines prints the array writeJSONList prints, with element i
// appended by elem, as it goes: nothing but one element is held. It stops
// at the first error of elem.
func writeJSONLines(w io.Writer, n int, elem func(b []byte, i int) ([]byte, error)) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString("[")
	var b []byte
	for i := range n {
		b = b[:0]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n  "...)
		var err error
		if b, err = elem(b, i); err != nil {
			return err
		}
		bw.Write(b)
	}
	if n > 0 {
		bw.WriteString("\n")
	}
	bw.WriteString("]\n")
	return bw.Flush()
}

// table prints aligned columns, two spaces apart, measuring each cell in
// terminal columns (wide East Asian characters take two), so that columns
// stay aligned whatever the script. Every cell goes through escapeText.
type table struct {
	w     io.Writer
	rows  [][]cell
	width int   // the width to fit in; 0: never cut
	flex  []int // the columns cut to fit, in order
}

// tableGap is the space between columns.
const tableGap = 2

// minFlexWidth is the narrowest a column is cut to: narrower says nothing.
const minFlexWidth = 8

func newTable(w io.Writer, header ...string) *table {
	t := &table{w: w}
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

// fit makes the table fit in width columns by cutting the cells of the
// flex columns with "…". A width of 0 turns it off: output that is not a
// terminal is never cut.
func (t *table) fit(width int, flex ...int) {
	t.width, t.flex = width, flex
}

func (t *table) row(cells ...string) {
	row := make([]cell, len(cells))
	for i, c := range cells {
		c = escapeText(c)
		row[i] = cell{c, textWidth(c)}
	}
	t.rows = append(t.rows, row)
}

// cell is a table cell, escaped, with its width in terminal columns.
type cell struct {
	text  string
	width int
}

// textWidth is the width of escaped text in terminal columns.
func textWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return runewidth.StringWidth(s)
		}
	}
	return len(s) // escaped ASCII is all printable: a column each
}

func (t *table) flush() error { return t.printRows(0, nil) }

// printRows prints the rows added so far, then n more that row appends to
// cells. It calls row twice for each, first with measuring set to learn
// the columns' widths, then to print, so that no row is kept in between: a
// long list costs the memory of one row. When measuring, a cell may be any
// text of the same width, such as spaces(n), to skip formatting it.
func (t *table) printRows(n int, row func(i int, cells []string, measuring bool) []string) error {
	var widths []int
	measure := func(i, w int) {
		for len(widths) <= i {
			widths = append(widths, 0)
		}
		widths[i] = max(widths[i], w)
	}
	for _, r := range t.rows {
		for i, c := range r {
			measure(i, c.width)
		}
	}
	var cells []string
	for i := range n {
		cells = row(i, cells[:0], true)
		for j, c := range cells {
			measure(j, textWidth(escapeText(c)))
		}
	}
	limits := t.limits(widths)
	for i, l := range limits {
		if l > 0 {
			widths[i] = l
		}
	}
	bw := bufio.NewWriterSize(t.w, 64<<10)
	var line []byte
	write := func(r []cell) {
		line = line[:0]
		for i, c := range r {
			if limits != nil && limits[i] > 0 && c.width > limits[i] {
				text := runewidth.Truncate(c.text, limits[i], "…")
				c = cell{text, runewidth.StringWidth(text)}
			}
			line = append(line, c.text...)
			if i < len(r)-1 {
				line = append(line, spaces(widths[i]-c.width+tableGap)...)
			}
		}
		line = append(line, '\n')
		bw.Write(line)
	}
	for _, r := range t.rows {
		write(r)
	}
	t.rows = nil
	var r []cell
	for i := range n {
		cells = row(i, cells[:0], false)
		r = r[:0]
		for _, c := range cells {
			c = escapeText(c)
			r = append(r, cell{c, textWidth(c)})
		}
		write(r)
	}
	return bw.Flush()
}

// spaces returns n spaces.
func spaces(n int) string {
	const blank = "                                                                "
	if n <= len(blank) {
		return blank[:max(n, 0)]
	}
	return strings.Repeat(" ", n)
}

// limits returns the width each flex column is cut to (0 for the others).
// It shares out what the fixed columns leave of t.width among the flex
// columns: a column that needs less than an equal share keeps its width,
// and the rest is shared among the others. It returns nil when everything
// fits.
func (t *table) limits(widths []int) []int {
	if t.width <= 0 || len(t.flex) == 0 {
		return nil
	}
	total := tableGap * (len(widths) - 1)
	for _, w := range widths {
		total += w
	}
	if total <= t.width {
		return nil
	}
	left := t.width - total
	for _, i := range t.flex {
		left += widths[i]
	}
	limits := make([]int, len(widths))
	flex := append([]int(nil), t.flex...)
	// Narrowest first, so that a short column gives what it does not use
	// to the longer ones.
	sort.Slice(flex, func(a, b int) bool { return widths[flex[a]] < widths[flex[b]] })
	for n, i := range flex {
		share := max(left/(len(flex)-n), minFlexWidth)
		limits[i] = min(widths[i], share)
		left -= limits[i]
	}
	return limits
}
