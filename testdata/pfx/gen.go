//go:build ignore

// gen.go writes the PKCS#12 fixtures that openssl cannot produce. It is run
// by gen.sh as: go run gen.go TMPDIR, where TMPDIR holds the keys and
// certificates gen.sh created. Output goes to the current directory.
//
//   - dotnet-nullpw.pfx: .NET's null password. The MAC and both PBE
//     encryptions (3DES, 2000 iterations) are keyed with a zero-length
//     password, not the empty BMPString (00 00) that openssl writes for
//     -passout pass: (gen.sh checks that).
//   - two-keys.pfx: two shrouded key bags in the plain safe.
//   - two-keys-encrypted.pfx: two (unshrouded) key bags inside the
//     encrypted safe, so only go-pkcs12 can see them.
//   - chain-root-first.pfx: root, intermediate, leaf in that order; the key
//     is the leaf's (go-pkcs12 marks the first certificate with localKeyId).
//   - mismatch.pfx: a certificate with some other key.
package main

import (
	"bytes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"

	"software.sslmate.com/src/go-pkcs12"
)

const password = "certctl-test"

var dir string

func main() {
	dir = os.Args[1]
	check := func(err error) {
		if err != nil {
			fmt.Fprintln(os.Stderr, "gen.go:", err)
			os.Exit(1)
		}
	}
	pw := bmp(password)

	// .NET null password.
	check(os.WriteFile("dotnet-nullpw.pfx", build(
		[][]byte{cert("nullpw.crt").Raw}, [][]byte{key("nullpw.key")}, false, nil, 2000), 0o644))

	// Two keys, visible.
	check(os.WriteFile("two-keys.pfx", build(
		[][]byte{cert("twokeys.crt").Raw}, [][]byte{key("twokeys.key"), key("twokeys2.key")}, false, pw, 2048), 0o644))
	// Two keys, hidden in the encrypted safe.
	check(os.WriteFile("two-keys-encrypted.pfx", build(
		[][]byte{cert("twokeys.crt").Raw}, [][]byte{key("twokeys.key"), key("twokeys2.key")}, true, pw, 2048), 0o644))

	// Root first.
	leafKey, err := x509.ParsePKCS8PrivateKey(key("leaf.key"))
	check(err)
	data, err := pkcs12.Modern.Encode(leafKey, cert("root.crt"), []*x509.Certificate{cert("inter.crt"), cert("leaf.crt")}, password)
	check(err)
	check(os.WriteFile("chain-root-first.pfx", data, 0o644))

	// Mismatch.
	otherKey, err := x509.ParsePKCS8PrivateKey(key("mismatch-other.key"))
	check(err)
	data, err = pkcs12.Modern.Encode(otherKey, cert("mismatch.crt"), nil, password)
	check(err)
	check(os.WriteFile("mismatch.pfx", data, 0o644))
}

func readPEM(name string) []byte {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		panic(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		panic("no PEM in " + name)
	}
	return block.Bytes
}

func cert(name string) *x509.Certificate {
	c, err := x509.ParseCertificate(readPEM(name))
	if err != nil {
		panic(err)
	}
	return c
}

// key returns a PKCS#8 private key (gen.sh writes keys with genpkey).
func key(name string) []byte { return readPEM(name) }

func bmp(s string) []byte {
	var out []byte
	for _, r := range s {
		out = append(out, byte(r>>8), byte(r))
	}
	return append(out, 0, 0)
}

// build writes a PKCS#12 file with 3DES PBE and a SHA-1 MAC, all keyed with
// pw (a BMPString, or nil for the null password). Certificates go into an
// encrypted safe. Keys go shrouded into a plain safe, or, if keysInside,
// as plain key bags into the encrypted safe.
func build(certs, keys [][]byte, keysInside bool, pw []byte, iter int) []byte {
	var certBags, keyBags [][]byte
	for _, c := range certs {
		certBag := der(0x30, der(0x06, oid(1, 2, 840, 113549, 1, 9, 22, 1)), der(0xa0, der(0x04, c)))
		certBags = append(certBags, der(0x30, der(0x06, oid(1, 2, 840, 113549, 1, 12, 10, 1, 3)), der(0xa0, certBag)))
	}
	for _, k := range keys {
		if keysInside {
			certBags = append(certBags, der(0x30, der(0x06, oid(1, 2, 840, 113549, 1, 12, 10, 1, 1)), der(0xa0, k)))
			continue
		}
		alg, ct := encrypt(k, pw, iter)
		epki := der(0x30, alg, der(0x04, ct))
		keyBags = append(keyBags, der(0x30, der(0x06, oid(1, 2, 840, 113549, 1, 12, 10, 1, 2)), der(0xa0, epki)))
	}
	alg, ct := encrypt(der(0x30, certBags...), pw, iter)
	encData := der(0x30, der(0x02, []byte{0}), der(0x30, der(0x06, oid(1, 2, 840, 113549, 1, 7, 1)), alg, der(0x80, ct)))
	items := [][]byte{der(0x30, der(0x06, oid(1, 2, 840, 113549, 1, 7, 6)), der(0xa0, encData))}
	if len(keyBags) > 0 {
		items = append(items, der(0x30, der(0x06, oid(1, 2, 840, 113549, 1, 7, 1)), der(0xa0, der(0x04, der(0x30, keyBags...)))))
	}
	authSafe := der(0x30, items...)

	salt := randBytes(8)
	h := hmac.New(sha1.New, kdf(salt, pw, iter, 3, 20))
	h.Write(authSafe)
	mac := der(0x30,
		der(0x30, der(0x30, der(0x06, oid(1, 3, 14, 3, 2, 26)), der(0x05)), der(0x04, h.Sum(nil))),
		der(0x04, salt), der(0x02, intBytes(iter)))
	return der(0x30, der(0x02, []byte{3}),
		der(0x30, der(0x06, oid(1, 2, 840, 113549, 1, 7, 1)), der(0xa0, der(0x04, authSafe))), mac)
}

// encrypt encrypts with pbeWithSHAAnd3-KeyTripleDES-CBC and returns the
// AlgorithmIdentifier and the ciphertext.
func encrypt(plain, pw []byte, iter int) ([]byte, []byte) {
	salt := randBytes(8)
	k := kdf(salt, pw, iter, 1, 24)
	iv := kdf(salt, pw, iter, 2, 8)
	block, err := des.NewTripleDESCipher(k)
	if err != nil {
		panic(err)
	}
	pad := 8 - len(plain)%8
	buf := append(append([]byte{}, plain...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	alg := der(0x30, der(0x06, oid(1, 2, 840, 113549, 1, 12, 1, 3)), der(0x30, der(0x04, salt), der(0x02, intBytes(iter))))
	return alg, buf
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

func intBytes(n int) []byte {
	var out []byte
	for ; n > 0; n >>= 8 {
		out = append([]byte{byte(n)}, out...)
	}
	if len(out) == 0 || out[0]&0x80 != 0 {
		out = append([]byte{0}, out...)
	}
	return out
}

// kdf is the PKCS#12 KDF (RFC 7292 B.2) with SHA-1. An empty password
// contributes nothing to I, as the RFC specifies.
func kdf(salt, pw []byte, iter int, id byte, size int) []byte {
	const v = 64
	fill := func(p []byte) []byte {
		if len(p) == 0 {
			return nil
		}
		out := make([]byte, v*((len(p)+v-1)/v))
		for i := range out {
			out[i] = p[i%len(p)]
		}
		return out
	}
	D := bytes.Repeat([]byte{id}, v)
	I := append(fill(salt), fill(pw)...)
	var out []byte
	for len(out) < size {
		h := sha1.New()
		h.Write(D)
		h.Write(I)
		A := h.Sum(nil)
		for j := 1; j < iter; j++ {
			s := sha1.Sum(A)
			A = s[:]
		}
		out = append(out, A...)
		B := fill(A)[:v]
		for j := 0; j < len(I); j += v {
			c := 1
			for k := v - 1; k >= 0; k-- {
				s := int(I[j+k]) + int(B[k]) + c
				I[j+k], c = byte(s), s>>8
			}
		}
	}
	return out[:size]
}

func oid(arcs ...int) []byte {
	out := []byte{byte(arcs[0]*40 + arcs[1])}
	for _, v := range arcs[2:] {
		tmp := []byte{byte(v & 0x7f)}
		for v >>= 7; v > 0; v >>= 7 {
			tmp = append([]byte{byte(v&0x7f) | 0x80}, tmp...)
		}
		out = append(out, tmp...)
	}
	return out
}

func der(tag byte, parts ...[]byte) []byte {
	body := bytes.Join(parts, nil)
	n := len(body)
	out := []byte{tag}
	switch {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	case n < 0x10000:
		out = append(out, 0x82, byte(n>>8), byte(n))
	default:
		out = append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, body...)
}
