package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/certctl/certctl/internal/testcert"
	"github.com/certctl/certctl/pfx"
	"github.com/certctl/certctl/thumbprint"
)

func TestEscapeText(t *testing.T) {
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

// hostileCN is a subject that, printed raw, clears the screen, writes the
// clipboard, moves back to the start of the line to print a fake
// thumbprint, sends a C1 CSI and reverses the rest of the row.
const hostileCN = "evil\x1b[2J\x1b]52;c;ZXZpbA==\x07\r00112233445566778899AABBCCDDEEFF00112233 \u009b31m\u202egnp.exe"

func runCertctl(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{
		stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb,
		getenv: func(string) string { return "" }, now: time.Now,
	}
	code = run(append([]string{"certctl"}, args...), e)
	return out.String(), errb.String(), code
}

// TestUntrustedTextIsEscaped imports a certificate whose subject, issuer
// and alternative names hold terminal control sequences, and checks that
// no table, message or error prints them raw, while JSON keeps the exact
// value.
func TestUntrustedTextIsEscaped(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	b := testcert.Mint(t, hostileCN, testcert.Options{
		Key:            "ecdsa",
		DNSNames:       []string{"a\x1b[8mhidden.example"},
		EmailAddresses: []string{"x\x07@example.com"},
	})
	data, err := pfx.EncodeExport(b, "", true)
	require.NoError(t, err)
	file := filepath.Join(dir, "evil\x1b[2J.pfx")
	require.NoError(t, os.WriteFile(file, data, 0o600))
	tp := thumbprint.Of(b.Leaf).String()

	check := func(what, out string) {
		t.Helper()
		assert.Empty(t, rawControls(out), "%s printed raw control characters:\n%q", what, out)
	}
	for _, args := range [][]string{
		{"import", file},
		{"import", file}, // "already in store" names the subject's thumbprint
		{"list"},
		{"show", tp},
		{"thumbprint", file},
		{"import", filepath.Join(dir, "missing\x1b]0;title\x07.pfx")},
		{"show", "\x1b[2J"},
		{"list", "--output", "\x1b[31mred"},
	} {
		stdout, stderr, _ := runCertctl(t, "", append([]string{"--store-dir", store}, args...)...)
		check(strings.Join(args[:1], " ")+" stdout", stdout)
		check(strings.Join(args[:1], " ")+" stderr", stderr)
	}

	stdout, _, code := runCertctl(t, "", "--store-dir", store, "list")
	require.Equal(t, 0, code)
	assert.Contains(t, stdout, `evil\x1b[2J\x1b]52\;c\;ZXZpbA==\x07\r00112233445566778899AABBCCDDEEFF00112233 \u009b31m\u202egnp.exe`)
	stdout, _, _ = runCertctl(t, "", "--store-dir", store, "show", tp)
	assert.Contains(t, stdout, `DNS:a\x1b[8mhidden.example`)
	assert.Contains(t, stdout, `email:x\x07@example.com`)

	// JSON is for programs: valid, and the exact value once decoded.
	stdout, _, code = runCertctl(t, "", "--store-dir", store, "list", "--output", "json")
	require.Equal(t, 0, code)
	check("list --output json", stdout)
	var listed []struct{ Subject string }
	require.NoError(t, json.Unmarshal([]byte(stdout), &listed))
	require.Len(t, listed, 1)
	assert.Equal(t, b.Leaf.Subject.String(), listed[0].Subject)
	stdout, _, _ = runCertctl(t, "", "--store-dir", store, "show", tp, "--output", "json")
	var shown struct{ DNSNames []string }
	require.NoError(t, json.Unmarshal([]byte(stdout), &shown))
	assert.Equal(t, []string{"a\x1b[8mhidden.example"}, shown.DNSNames)
}

func TestEscapeJSONKeepsTheValue(t *testing.T) {
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
