package thumbprint

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const want = "3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3"

func TestParseAccepts(t *testing.T) {
	for name, in := range map[string]string{
		"upper":             want,
		"lower":             strings.ToLower(want),
		"spaces":            "3a 5f 0c 2b 9e 8d 7a 6f 5e 4d 3c 2b 1a 09 f8 e7 d6 c5 b4 a3",
		"colons":            "3A:5F:0C:2B:9E:8D:7A:6F:5E:4D:3C:2B:1A:09:F8:E7:D6:C5:B4:A3",
		"0x prefix":         "0x" + want,
		"0X prefix":         "0X" + strings.ToLower(want),
		"windows dialog":    "\u200e3a 5f 0c 2b 9e 8d 7a 6f 5e 4d 3c 2b 1a 09 f8 e7 d6 c5 b4 a3",
		"rtl mark":          want + "\u200f",
		"bom":               "\ufeff" + want,
		"zero width spaces": "3A5F\u200b0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3",
		"surrounding space": "  " + want + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			tp, err := Parse(in)
			require.NoError(t, err)
			assert.Equal(t, want, tp.String())
		})
	}
}

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct {
		name, in, msg string
		pos           int
	}{
		{"empty", "", "it has 0 hexadecimal digits, a SHA-1 thumbprint has 40", 0},
		{"39 digits", want[:39], "it has 39 hexadecimal digits", 0},
		{"41 digits", want + "0", "it has 41 hexadecimal digits", 0},
		{"sha256", strings.Repeat("AB", 32), "it has 64 hexadecimal digits", 0},
		{"bad char", "3A5G" + want[4:], `character 'G' at position 4`, 4},
		{"bad char after mark", "\u200e3A5G" + want[4:], `character 'G' at position 5`, 5},
		{"0x in the middle", "3A0x5F", `character 'x' at position 4`, 4},
		{"unicode", "3A5F\u00e9", `position 5`, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.in)
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrInvalid))
			assert.Contains(t, err.Error(), tc.msg)
			var se *SyntaxError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tc.pos, se.Position)
		})
	}
}

func TestJSON(t *testing.T) {
	tp := MustParse(want)
	b, err := json.Marshal(map[string]Thumbprint{"t": tp})
	require.NoError(t, err)
	assert.Equal(t, `{"t":"`+want+`"}`, string(b))
	var back map[string]Thumbprint
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, tp, back["t"])
	assert.Error(t, json.Unmarshal([]byte(`{"t":"12"}`), &back))
}

func FuzzParse(f *testing.F) {
	f.Add(want)
	f.Add("\u200e3a 5f 0c 2b 9e 8d 7a 6f 5e 4d 3c 2b 1a 09 f8 e7 d6 c5 b4 a3")
	f.Add("0x" + want)
	f.Add("3A5G")
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q): error %v does not match ErrInvalid", s, err)
			}
			return
		}
		// What Parse accepts must round-trip through String.
		again, err := Parse(tp.String())
		if err != nil || again != tp {
			t.Fatalf("Parse(%q) = %v, but Parse(String()) = %v, %v", s, tp, again, err)
		}
	})
}

func TestLongInputIsCutInErrors(t *testing.T) {
	long := strings.Repeat("AB", 5000)
	_, err := Parse(long)
	require.Error(t, err)
	assert.Less(t, len(err.Error()), 200, err.Error())
	assert.Contains(t, err.Error(), "… (10000 characters)")
	assert.Contains(t, err.Error(), "it has 10000 hexadecimal digits")
	_, err = Parse(strings.Repeat("A", 100) + "G")
	assert.Contains(t, err.Error(), "position 101")
	assert.Less(t, len(err.Error()), 200)
}

func TestTextForms(t *testing.T) {
	tp := MustParse("3a5f0c2b9e8d7a6f5e4d3c2b1a09f8e7d6c5b4a3")
	const want = "3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3"
	assert.Equal(t, want, tp.String())
	text, err := tp.MarshalText()
	require.NoError(t, err)
	assert.Equal(t, want, string(text))
	appended, err := tp.AppendText([]byte("tp="))
	require.NoError(t, err)
	assert.Equal(t, "tp="+want, string(appended))
	js, err := json.Marshal(map[string]Thumbprint{"t": tp})
	require.NoError(t, err)
	assert.JSONEq(t, `{"t":"`+want+`"}`, string(js))
}
