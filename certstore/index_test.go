//go:build !windows

package certstore

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/certctl/certctl/thumbprint"
)

func sampleEntry(name, subject string) indexEntry {
	return indexEntry{Name: name, Size: 2371, ModTime: 1764524400123456789, Entry: Entry{
		Thumbprint: thumbprint.MustParse("3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3"),
		Subject:    subject, Issuer: "CN=issuer, O=Example\\, Inc.", SerialNumber: "01AB",
		NotBefore: time.Unix(1700000000, 0).UTC(), NotAfter: time.Unix(1800000000, 0).UTC(),
		HasPrivateKey: true, KeyAlgorithm: "RSA 2048",
	}}
}

func TestIndexRoundTrip(t *testing.T) {
	entries := map[string]indexEntry{
		"A.pfx": sampleEntry("A.pfx", "CN=plain"),
		"B.pfx": sampleEntry("B.pfx", "CN=tab\there, OU=new\nline, O=back\\slash"),
	}
	idx, err := parseIndex(encodeIndex(entries))
	require.NoError(t, err)
	assert.Equal(t, entries, idx.Entries)
}

func TestIndexAppends(t *testing.T) {
	d := openDir(t, t.TempDir())
	a, b := sampleEntry("A.pfx", "CN=a"), sampleEntry("B.pfx", "CN=b")
	require.NoError(t, appendIndex(d, map[string]*indexEntry{"A.pfx": &a, "B.pfx": &b}))
	b2 := sampleEntry("B.pfx", "CN=b again")
	require.NoError(t, appendIndex(d, map[string]*indexEntry{"A.pfx": nil, "B.pfx": &b2}))
	idx := loadIndex(d)
	assert.Equal(t, map[string]indexEntry{"B.pfx": b2}, idx.Entries)
	assert.Equal(t, 4, idx.Lines)
}

func FuzzParseIndex(f *testing.F) {
	f.Add(encodeIndex(map[string]indexEntry{"3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3.pfx": sampleEntry("3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3.pfx", "CN=fuzz")}))
	f.Add([]byte(indexHeader + "../x.pfx\t1\t1\t3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3\t0\t0\t1\tRSA\t01\tCN=a\tCN=b\n"))
	f.Add([]byte(indexHeader + "-\tA.pfx\nA.pfx\t1\t2\t3A5F"))
	f.Add([]byte(`{"version":1}`))
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
		again, err := parseIndex(encodeIndex(idx.Entries))
		if err != nil || len(again.Entries) != len(idx.Entries) {
			t.Fatalf("index did not round-trip: %v", err)
		}
		for name, ie := range idx.Entries {
			if !reflect.DeepEqual(again.Entries[name], ie) {
				t.Fatalf("entry %q changed on the round trip", name)
			}
		}
	})
}
