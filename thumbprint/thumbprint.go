// Package thumbprint is the SHA-1 certificate thumbprint as a value type.
//
// A thumbprint is how Windows, .NET, PowerShell and Azure name a certificate:
// 40 hexadecimal digits, the SHA-1 hash of the certificate's DER encoding.
// Parse accepts what people paste from a certificate dialog, a portal or a
// script; String prints it as Windows and .NET do.
//
//	tp, err := thumbprint.Parse("‎3a 5f:...")
//	fmt.Println(tp) // 3A5F...
//
// SHA-1 is used here as a name, not for security: the store never trusts a
// certificate because of its thumbprint. Fingerprint256 is the SHA-256 hash
// that newer tools (and Entra ID's x5t#S256 header) use.
package thumbprint

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Size is the length of a thumbprint in bytes.
const Size = sha1.Size

// Thumbprint is the SHA-1 hash of a certificate's DER encoding.
// The zero value is not the thumbprint of any certificate; IsZero tells.
type Thumbprint [Size]byte

// Fingerprint256 is the SHA-256 hash of a certificate's DER encoding.
type Fingerprint256 [sha256.Size]byte

// ErrInvalid is matched (with errors.Is) by every error Parse returns.
var ErrInvalid = errors.New("invalid thumbprint")

// SyntaxError says what is wrong with a string given to Parse.
type SyntaxError struct {
	// Input is the string as given.
	Input string
	// Digits is the number of hexadecimal digits found.
	Digits int
	// Position is the 1-based character position of the bad character,
	// or 0 when the problem is the length.
	Position int
	// Char is the bad character when Position is set.
	Char rune
}

func (e *SyntaxError) Error() string {
	if e.Position > 0 {
		return fmt.Sprintf("invalid thumbprint %s: character %q at position %d is not a hexadecimal digit", shown(e.Input), e.Char, e.Position)
	}
	return fmt.Sprintf("invalid thumbprint %s: it has %d hexadecimal digits, a SHA-1 thumbprint has %d", shown(e.Input), e.Digits, 2*Size)
}

// maxShown is how many characters of a bad thumbprint an error quotes.
const maxShown = 64

// shown quotes s for an error, cut to maxShown characters: whatever was
// pasted, a message stays one readable line.
func shown(s string) string {
	n := utf8.RuneCountInString(s)
	if n <= maxShown {
		return strconv.Quote(s)
	}
	i := 0
	for range maxShown {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return fmt.Sprintf("%s… (%d characters)", strconv.Quote(s[:i]), n)
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *SyntaxError) Is(target error) bool { return target == ErrInvalid }

// Of returns the thumbprint of cert.
func Of(cert *x509.Certificate) Thumbprint {
	return Thumbprint(sha1.Sum(cert.Raw))
}

// SHA256Of returns the SHA-256 fingerprint of cert.
func SHA256Of(cert *x509.Certificate) Fingerprint256 {
	return Fingerprint256(sha256.Sum256(cert.Raw))
}

// ignored reports whether r is dropped by Parse: separators people type and
// the invisible marks that Windows certificate dialogs and web pages copy
// along with a thumbprint.
func ignored(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', ':', '-',
		'\u00a0', // no-break space
		'\u200b', // zero width space
		'\u200e', // left-to-right mark (the Windows certificate dialog adds it)
		'\u200f', // right-to-left mark
		'\ufeff': // byte order mark / zero width no-break space
		return true
	}
	return false
}

// Parse reads a thumbprint in any case, with or without spaces, colons,
// dashes, a 0x prefix or invisible marks.
func Parse(s string) (Thumbprint, error) {
	var tp Thumbprint
	var digits [2 * Size]byte
	n, extra := 0, 0 // digits kept; digits past the 40th, counted only
	pos := 0         // runes read, for the error's position
	skip := false
	for i, r := range s {
		pos++
		switch {
		case skip:
			skip = false // the x of a 0x prefix
		case ignored(r):
		case r == '0' && n == 0 && i+1 < len(s) && (s[i+1] == 'x' || s[i+1] == 'X'):
			skip = true // a 0x prefix
		case '0' <= r && r <= '9', 'a' <= r && r <= 'f', 'A' <= r && r <= 'F':
			if n < len(digits) {
				digits[n] = byte(r)
				n++
			} else {
				extra++
			}
		default:
			return tp, &SyntaxError{Input: s, Position: pos, Char: r}
		}
	}
	if n+extra != 2*Size {
		return tp, &SyntaxError{Input: s, Digits: n + extra}
	}
	if _, err := hex.Decode(tp[:], digits[:]); err != nil {
		return tp, fmt.Errorf("invalid thumbprint %s: %w", shown(s), err)
	}
	return tp, nil
}

// MustParse is Parse for constants in tests and examples; it panics on error.
func MustParse(s string) Thumbprint {
	tp, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return tp
}

// String returns 40 upper-case hexadecimal digits, as Windows and .NET print
// a thumbprint.
func (t Thumbprint) String() string {
	var b [2 * Size]byte
	return string(t.appendHex(b[:0]))
}

// AppendText implements encoding.TextAppender: it appends the 40 digits
// String returns to b, for output written without a string per value.
func (t Thumbprint) AppendText(b []byte) ([]byte, error) { return t.appendHex(b), nil }

// appendHex appends t's upper-case hexadecimal digits to b.
func (t Thumbprint) appendHex(b []byte) []byte {
	const digits = "0123456789ABCDEF"
	for _, c := range t {
		b = append(b, digits[c>>4], digits[c&0xf])
	}
	return b
}

// IsZero reports whether t is the zero value.
func (t Thumbprint) IsZero() bool { return t == Thumbprint{} }

// MarshalText implements encoding.TextMarshaler, so thumbprints print as
// strings in JSON.
func (t Thumbprint) MarshalText() ([]byte, error) { return t.appendHex(make([]byte, 0, 2*Size)), nil }

// UnmarshalText implements encoding.TextUnmarshaler with the rules of Parse.
func (t *Thumbprint) UnmarshalText(b []byte) error {
	tp, err := Parse(string(b))
	if err != nil {
		return err
	}
	*t = tp
	return nil
}

// String returns 64 upper-case hexadecimal digits.
func (f Fingerprint256) String() string {
	return strings.ToUpper(hex.EncodeToString(f[:]))
}

// MarshalText implements encoding.TextMarshaler.
func (f Fingerprint256) MarshalText() ([]byte, error) { return []byte(f.String()), nil }
