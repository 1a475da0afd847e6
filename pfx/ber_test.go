package pfx

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

func TestToDER(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ ber, der string }{
		"DER is returned as it is": {"30 03 02 01 03", "30 03 02 01 03"},
		"indefinite SEQUENCE":      {"30 80 02 01 03 00 00", "30 03 02 01 03"},
		"nested indefinite": {"30 80 30 80 04 02 aa bb 00 00 a0 80 05 00 00 00 00 00",
			"30 0a 30 04 04 02 aa bb a0 02 05 00"},
		"OCTET STRING in chunks": {"24 80 04 02 aa bb 04 01 cc 00 00", "04 03 aa bb cc"},
		"chunks of chunks":       {"24 0a 04 01 aa 24 80 04 01 bb 00 00", "04 02 aa bb"},
		"non-minimal length":     {"30 81 03 02 01 03", "30 03 02 01 03"},
		"long contents keep their bytes": {"24 80 04 81 80 " + strings.Repeat("5a", 128) + " 00 00",
			"04 81 80 " + strings.Repeat("5a", 128)},
		// [0] constructed stays constructed: only the reader knows whether
		// it is EXPLICIT or an IMPLICIT string.
		"implicit constructed string": {"a0 80 04 01 aa 04 01 bb 00 00", "a0 06 04 01 aa 04 01 bb"},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := toDER(unhex(t, tc.ber))
			require.NoError(t, err)
			assert.Equal(t, hex.EncodeToString(unhex(t, tc.der)), hex.EncodeToString(got))
		})
	}
	in := unhex(t, "30 03 02 01 03")
	out, err := toDER(in)
	require.NoError(t, err)
	assert.Same(t, &in[0], &out[0], "DER input is not copied")
}

func TestToDERMalformed(t *testing.T) {
	t.Parallel()
	deep := append(bytes.Repeat([]byte{0x30, 0x80}, maxBERDepth+2), bytes.Repeat([]byte{0, 0}, maxBERDepth+2)...)
	many := []byte{0x30, 0x80}
	for range maxBERElements {
		many = append(many, 0x05, 0x00)
	}
	many = append(many, 0, 0)
	for name, tc := range map[string]struct {
		in   []byte
		want error
	}{
		"no end-of-contents":           {unhex(t, "30 80 02 01 03"), ErrBER},
		"end-of-contents cut":          {unhex(t, "30 80 02 01 03 00"), ErrBER},
		"indefinite primitive":         {unhex(t, "04 80 aa 00 00"), ErrNotPFX},
		"chunk of another type":        {unhex(t, "24 80 02 01 03 00 00"), ErrBER},
		"truncated inside indefinite":  {unhex(t, "30 80 04 05 aa 00 00"), ErrBER},
		"trailing data":                {unhex(t, "30 80 00 00 05"), ErrBER},
		"nested too deep":              {deep, ErrBER},
		"too many elements":            {many, ErrBER},
		"truncated DER is not BER":     {unhex(t, "30 05 02 01"), ErrNotPFX},
		"end-of-contents at top level": {unhex(t, "00 00"), ErrNotPFX},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := toDER(tc.in)
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.want)
			assert.ErrorIs(t, err, ErrNotPFX, "every malformed input is also ErrNotPFX")
		})
	}
}

// TestBERPFX: a PKCS#12 file rewritten with indefinite lengths and its
// OCTET STRINGs in chunks, as NSS writes it, reads like the DER original.
func TestBERPFX(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"openssl3-default.pfx", "windows-3des.pfx", "openssl-legacy.pfx"} {
		data := fixture(t, name)
		want, err := Decode(data, testPassword)
		require.NoError(t, err)
		ber := berify(t, data)
		require.NotEqual(t, data, ber)
		got, err := Decode(ber, testPassword)
		require.NoError(t, err, name)
		assertSameBundle(t, want, got)
		_, err = Decode(ber, "wrong")
		assert.ErrorIs(t, err, ErrIncorrectPassword, "the MAC is checked over the same bytes")
	}
}

// berify re-encodes every constructed element of data with an indefinite
// length and splits every OCTET STRING of more than 16 bytes into chunks
// of 16, which is what the ASN.1 of PKCS#12 allows and NSS does.
func berify(t testing.TB, data []byte) []byte {
	var out []byte
	for len(data) > 0 {
		tag, body, rest, err := readTLV(data)
		require.NoError(t, err)
		switch {
		case tag == tagOctetString && len(body) > 16:
			out = append(out, 0x24, 0x80)
			for len(body) > 0 {
				n := min(16, len(body))
				out = append(out, der(tagOctetString, body[:n])...)
				body = body[n:]
			}
			out = append(out, 0, 0)
		case tag&0x20 != 0:
			out = append(out, tag, 0x80)
			out = append(out, berify(t, body)...)
			out = append(out, 0, 0)
		default:
			full, _, _ := readTLVFull(data)
			out = append(out, full...)
		}
		data = rest
	}
	return out
}
