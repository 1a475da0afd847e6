//go:build !windows

package certstore

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/certctl/certctl/thumbprint"
)

func FuzzParseIndex(f *testing.F) {
	e := Entry{
		Thumbprint: thumbprint.MustParse("3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3"),
		Subject:    "CN=fuzz", Issuer: "CN=fuzz", SerialNumber: "01",
		NotBefore: time.Unix(0, 0).UTC(), NotAfter: time.Unix(1e9, 0).UTC(),
		HasPrivateKey: true, KeyAlgorithm: "RSA 2048",
	}
	good, err := encodeIndex(map[string]indexEntry{"3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3.pfx": {Name: "3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3.pfx", Size: 2371, ModTime: 1, Entry: e}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"version":1,"entries":[{"name":"../x.pfx"}]}`))
	f.Add([]byte(`{"version":1,"entries":[{"name":"a.pfx","entry":{"thumbprint":"zz"}}]}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		idx, err := parseIndex(data)
		if err != nil {
			return
		}
		for name, ie := range idx.Entries {
			// Whatever the index says, it may only name .pfx files in the
			// store folder itself.
			if filepath.Base(name) != name || !isCertFile(name) || ie.Name != name {
				t.Fatalf("index entry %q escapes the store folder", name)
			}
		}
		// What was read writes back and reads again the same.
		again, err := encodeIndex(idx.Entries)
		if err != nil {
			t.Fatal(err)
		}
		idx2, err := parseIndex(again)
		if err != nil || len(idx2.Entries) != len(idx.Entries) {
			t.Fatalf("index did not round-trip: %v", err)
		}
	})
}
