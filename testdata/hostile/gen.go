//go:build ignore

// gen writes the hostile-input corpus: files that certctl must refuse with a
// clear error, quickly, leaving the store as it was. Run from this folder:
//
//	go run gen.go
package main

import (
	"bytes"
	"encoding/asn1"
	"log"
	"math/rand"
	"os"
)

func main() {
	good, err := os.ReadFile("../pfx/openssl3-default.pfx")
	if err != nil {
		log.Fatal(err)
	}
	write := func(name string, b []byte) {
		if err := os.WriteFile(name, b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	write("empty.pfx", nil)
	for name, n := range map[string]int{
		"truncated-1.pfx":      1,
		"truncated-16.pfx":     16,
		"truncated-100.pfx":    100,
		"truncated-half.pfx":   len(good) / 2,
		"truncated-last-1.pfx": len(good) - 1,
	} {
		write(name, good[:n])
	}
	r := rand.New(rand.NewSource(2026))
	random := make([]byte, 4096)
	r.Read(random)
	write("random.bin", random)

	// The same file with its MAC iteration count raised to 2^31-1.
	var pfx struct {
		Version  int
		AuthSafe asn1.RawValue
		MacData  struct {
			Mac        asn1.RawValue
			Salt       []byte
			Iterations int
		}
	}
	if _, err := asn1.Unmarshal(good, &pfx); err != nil {
		log.Fatal(err)
	}
	pfx.MacData.Iterations = 1<<31 - 1
	patched, err := asn1.Marshal(pfx)
	if err != nil {
		log.Fatal(err)
	}
	write("mac-iterations-2147483647.pfx", patched)

	// 10,000 nested SEQUENCEs, each with a long-form length.
	nested := []byte{0x05, 0x00}
	for i := 0; i < 10000; i++ {
		n := len(nested)
		nested = append([]byte{0x30, 0x84, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, nested...)
	}
	write("nested.der", nested)

	// A SEQUENCE that claims 2 GiB.
	write("huge-length.der", []byte{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01, 0x03})

	// PEM armour around garbage, and a key that is not the certificate's.
	write("garbage-inside.pem", []byte("-----BEGIN CERTIFICATE-----\n!!this is not base64!!\n-----END CERTIFICATE-----\n"))
	cert, _ := os.ReadFile("../pfx/cert.pem")
	key, _ := os.ReadFile("../pfx/mismatch-key.pem")
	write("mismatched-key.pem", bytes.Join([][]byte{cert, key}, nil))
}
