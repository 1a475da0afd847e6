// Package english holds the small points of English grammar that messages
// need.
package english

import "unicode"

// A puts "a" or "an" before phrase, by how its first word sounds: "an RSA
// 2048 key", "an ECDSA P-256 key", "an Ed25519 key", "a GET request". A
// word in capitals is read as letters, and the letters F, H, L, M, N, R, S
// and X begin with a vowel sound.
func A(phrase string) string {
	if phrase == "" {
		return "a"
	}
	r := []rune(phrase)
	first := unicode.ToLower(r[0])
	vowel := first == 'a' || first == 'e' || first == 'i' || first == 'o' || first == 'u'
	if acronym(r) {
		switch first {
		case 'a', 'e', 'f', 'h', 'i', 'l', 'm', 'n', 'o', 'r', 's', 'x':
			vowel = true
		default:
			vowel = false
		}
	}
	if vowel {
		return "an " + phrase
	}
	return "a " + phrase
}

// acronym reports whether the first word of r is read letter by letter:
// all its letters are capitals ("RSA", "ECDSA", "X.509").
func acronym(r []rune) bool {
	caps := 0
	for _, c := range r {
		if c == ' ' || c == '-' {
			break
		}
		if unicode.IsLower(c) {
			return false
		}
		if unicode.IsUpper(c) {
			caps++
		}
	}
	return caps > 0
}
