package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/thumbprint"
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

// listedJSON is what 'list --output json' wrote through encoding/json
// before appendListedJSON wrote it field by field: the reference the
// output must keep matching byte for byte.
type listedJSON struct {
	Thumbprint    thumbprint.Thumbprint `json:"thumbprint"`
	Subject       string                `json:"subject"`
	Issuer        string                `json:"issuer"`
	SerialNumber  string                `json:"serialNumber"`
	NotBefore     time.Time             `json:"notBefore"`
	NotAfter      time.Time             `json:"notAfter"`
	HasPrivateKey bool                  `json:"hasPrivateKey"`
	KeyAlgorithm  string                `json:"keyAlgorithm"`
	File          string                `json:"file,omitempty"`
	Expired       bool                  `json:"expired"`
	DaysLeft      int                   `json:"daysLeft"`
}

// trickyText is text that JSON and terminals treat specially.
var trickyText = []string{
	"", "CN=plain, O=Example", `CN="quoted" \back\slash`, "CN=<script>&amp;</script>",
	"CN=tab\there\nnew\rline\b\f\x00\x01\x1f\x7f", "CN=\u2028\u2029 separators",
	"CN=\u202eevil\u202c \u2066iso\u2069 \u200e\u200f\u061c", "CN=\u0080\u009b C1",
	"CN=bad \xff\xfe utf-8 \xe2\x82", "CN=証明書 émigré 🔐", "CN=\ufffd replacement",
}

func TestListJSONIsWhatEncodingJSONWrites(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 400 {
		var e certstore.Entry
		for j := range e.Thumbprint {
			e.Thumbprint[j] = byte(rng.IntN(256))
		}
		pick := func() string {
			if rng.IntN(2) == 0 {
				return trickyText[rng.IntN(len(trickyText))]
			}
			b := make([]byte, rng.IntN(40))
			for j := range b {
				b[j] = byte(rng.IntN(256))
			}
			return string(b)
		}
		e.Subject, e.Issuer, e.SerialNumber, e.KeyAlgorithm = pick(), pick(), pick(), pick()
		if i%5 != 0 {
			e.File = pick()
		}
		e.HasPrivateKey = i%2 == 0
		e.NotBefore = time.Unix(rng.Int64N(4e9), int64(rng.IntN(3))*5e8).UTC()
		e.NotAfter = now.Add(time.Duration(rng.Int64N(2e6)-1e6) * time.Minute)
		if i == 0 {
			e.NotAfter = now // expires this very moment
		}
		want, err := json.Marshal(listedJSON{
			Thumbprint: e.Thumbprint, Subject: e.Subject, Issuer: e.Issuer,
			SerialNumber: e.SerialNumber, NotBefore: e.NotBefore, NotAfter: e.NotAfter,
			HasPrivateKey: e.HasPrivateKey, KeyAlgorithm: e.KeyAlgorithm, File: e.File,
			Expired: !now.Before(e.NotAfter), DaysLeft: e.DaysLeft(now),
		})
		require.NoError(t, err)
		got := appendListedJSON(nil, e, now)
		require.Equal(t, string(escapeJSON(want)), string(got), "entry %d: %+v", i, e)
		require.True(t, json.Valid(got))
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range trickyText {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString([]byte("x"), s); string(got) != "x"+string(escapeJSON(want)) {
			t.Fatalf("%q: wrote %s, encoding/json and escapeJSON %s", s, got[1:], escapeJSON(want))
		}
	})
}

// A list too long to keep in memory twice is printed as it is measured:
// the columns line up all the same, and the terminal's width still cuts
// the flexible ones.
func TestTablePrintRows(t *testing.T) {
	rows := [][]string{
		{"A", "CN=short", "yes"},
		{"BB", "CN=証明書テスト and a long tail", "no"},
		{"C\x1b[2J", "CN=\u202eevil", "no"},
	}
	row := func(i int, cells []string, measuring bool) []string {
		if measuring && i == 0 {
			return append(cells, spaces(1), rows[i][1], rows[i][2])
		}
		return append(cells, rows[i]...)
	}
	for _, width := range []int{0, 24} {
		var streamed, kept bytes.Buffer
		st := newTable(&streamed, "ID", "SUBJECT", "KEY")
		st.fit(width, 1)
		require.NoError(t, st.printRows(len(rows), row))
		kt := newTable(&kept, "ID", "SUBJECT", "KEY")
		kt.fit(width, 1)
		for _, r := range rows {
			kt.row(r...)
		}
		require.NoError(t, kt.flush())
		assert.Equal(t, kept.String(), streamed.String())
		assert.NotContains(t, streamed.String(), "\x1b")
		assert.NotContains(t, streamed.String(), "\u202e")
		if width > 0 {
			for _, line := range strings.Split(strings.TrimSuffix(streamed.String(), "\n"), "\n") {
				assert.LessOrEqual(t, runewidth.StringWidth(line), width, line)
			}
		}
	}
}
