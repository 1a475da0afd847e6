package main

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEscapeText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"CN=plain, O=Contoso", "CN=plain, O=Contoso"},
		{"CN=Zoë Ünal 日本", "CN=Zoë Ünal 日本"},
		{"a\x1b[2Jb", `a\x1b[2Jb`},
		{"\x1b]52;c;ZXZpbA==\x07", `\x1b]52;c;ZXZpbA==\x07`},
		{"tab\there\r\nnext", `tab\there\r\nnext`},
		{"del\x7f nul\x00", `del\x7f nul\x00`},
		{"c1 \u009b2J \u0085", `c1 \u009b2J \u0085`},
		{"raw \x9b byte", `raw \x9b byte`},
		{"rtl \u202egnp.exe", `rtl \u202egnp.exe`},
		{"iso \u2066x\u2069 \u202a\u202b\u202c\u202d", `iso \u2066x\u2069 \u202a\u202b\u202c\u202d`},
		{"mark \u200e\u200f\u061c sep \u2028\u2029", `mark \u200e\u200f\u061c sep \u2028\u2029`},
		{"", ""},
	} {
		assert.Equal(t, tc.want, escapeText(tc.in), "%q", tc.in)
	}
}

// rawControls lists what a terminal would act on in out, other than line
// ends: the test's own idea of it, not escapeText's.
func rawControls(out string) []string {
	var found []string
	for _, line := range strings.Split(out, "\n") {
		for j := 0; j < len(line); {
			r, size := utf8.DecodeRuneInString(line[j:])
			bad := r == utf8.RuneError && size == 1 || r < 0x20 || r == 0x7f ||
				r >= 0x80 && r <= 0x9f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
			if bad {
				found = append(found, line)
				break
			}
			j += size
		}
	}
	return found
}

func TestEscapeJSONKeepsTheValue(t *testing.T) {
	t.Parallel()
	in := map[string]string{"s": "C1 \u009b bidi \u202e\u2066 ok é 日本 \x1b"}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	out := escapeJSON(b)
	assert.Empty(t, rawControls(string(out)))
	assert.Contains(t, string(out), `\u009b bidi \u202e\u2066 ok é 日本 \u001b`)
	var back map[string]string
	require.NoError(t, json.Unmarshal(out, &back))
	assert.Equal(t, in, back)
}
