package main

import (
	"bufio"
	"encoding/json"
	"io"
	"strings"
	"text/tabwriter"
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
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString("[")
	for i, item := range items {
		b, err := json.Marshal(item)
		if err != nil {
			return err
		}
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n  ")
		bw.Write(escapeJSON(b))
	}
	if len(items) > 0 {
		bw.WriteString("\n")
	}
	bw.WriteString("]\n")
	return bw.Flush()
}

// table prints aligned columns; every cell goes through escapeText.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		cells[i] = escapeText(c)
	}
	io.WriteString(t.tw, strings.Join(cells, "\t")+"\n")
}

func (t *table) flush() error { return t.tw.Flush() }
