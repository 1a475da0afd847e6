package main

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// escapeText makes untrusted text (certificate fields, names and errors from
// services, file names) safe to print on a terminal. Every human-readable
// printer passes its text through it: table cells, messages, errors, hints
// and the token line. A certificate subject could otherwise clear the screen
// (ESC [2J), set the window title or write the clipboard (OSC 52), move the
// cursor back over a row (\r) or reverse what follows (U+202E), making a row
// show a thumbprint that is not the certificate's.
//
// It replaces, with a visible escape:
//   - C0 controls and DEL, as \t, \n, \r or \xNN;
//   - C1 controls U+0080 to U+009F, as \u0080 ... \u009f;
//   - bytes that are not UTF-8 (a lone 0x9b is CSI to some terminals), as \xNN;
//   - the bidirectional embeddings, overrides and isolates U+202A to U+202E
//     and U+2066 to U+2069, the marks U+200E, U+200F and U+061C, and the
//     line and paragraph separators U+2028 and U+2029, as \uNNNN.
//
// Everything else, including other non-ASCII text, is kept. JSON output does
// not use it: the JSON encoder escapes what JSON must.
func escapeText(s string) string {
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] < 0x7f {
		i++
	}
	if i == len(s) {
		return s // printable ASCII, the common case
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// unsafeRune reports the non-ASCII code points escapeText escapes.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f: // C1 controls
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // bidi embeddings, overrides, isolates
		return true
	case r == 0x200e, r == 0x200f, r == 0x061c: // bidi marks
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	}
	return false
}

// escapeJSON rewrites the code points escapeText escapes as \uNNNN in
// encoded JSON, which encoding/json leaves raw (it escapes C0 controls
// itself). Such code points only occur inside JSON strings, so the result
// is the same JSON value, and a terminal showing it acts on nothing.
func escapeJSON(b []byte) []byte {
	i := 0
	for i < len(b) && b[i] < utf8.RuneSelf {
		i++
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	out = append(out, b[:i]...)
	for i < len(b) {
		if b[i] < utf8.RuneSelf {
			out = append(out, b[i])
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if unsafeRune(r) {
			out = fmt.Appendf(out, `\u%04x`, r)
		} else {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}

// appendJSONString appends s as a JSON string exactly as encoding/json
// writes it (HTML-safe: <, > and & as \u003c, \u003e, \u0026; other C0
// controls as \b, \f, \n, \r, \t or \u00NN; bytes that are not UTF-8 as
// \ufffd; U+2028 and U+2029 escaped) and as escapeJSON then rewrites it
// (the code points escapeText escapes, as \uNNNN). It is for output
// written field by field rather than through json.Marshal.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case unsafeRune(r): // U+2028 and U+2029 among them
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
