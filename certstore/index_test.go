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

// current is what idx says of each name.
func current(idx indexFile) map[string]indexEntry {
	m := map[string]indexEntry{}
	for name := range idx.byName {
		m[name], _ = idx.lookup(name)
	}
	return m
}

// values lists m's entries.
func values(m map[string]indexEntry) []indexEntry {
	var out []indexEntry
	for _, ie := range m {
		out = append(out, ie)
	}
	return out
}

func TestIndexRoundTrip(t *testing.T) {
	entries := map[string]indexEntry{
		"A.pfx": sampleEntry("A.pfx", "CN=plain"),
		"B.pfx": sampleEntry("B.pfx", "CN=tab\there, OU=new\nline, O=back\\slash"),
		"C.pfx": sampleEntry("C.pfx", "CN=list, O=comma\\, Inc."),
	}
	c := entries["C.pfx"]
	c.Entry.DNSNames = []string{"a.example", "comma,name", `back\slash`, ""}
	c.Entry.ExtKeyUsages = []string{"1.3.6.1.5.5.7.3.2"}
	entries["C.pfx"] = c
	data := encodeIndex(values(entries))
	idx, err := parseIndex(string(data))
	require.NoError(t, err)
	assert.Equal(t, entries, current(idx))
	assert.Equal(t, data, encodeIndex(values(current(idx))), "the lines come out in name order, whatever the order in")
}

func TestIndexAppends(t *testing.T) {
	d := openDir(t, t.TempDir())
	a, b := sampleEntry("A.pfx", "CN=a"), sampleEntry("B.pfx", "CN=b")
	require.NoError(t, appendIndex(d, map[string]*indexEntry{"A.pfx": &a, "B.pfx": &b}))
	b2 := sampleEntry("B.pfx", "CN=b again")
	require.NoError(t, appendIndex(d, map[string]*indexEntry{"A.pfx": nil, "B.pfx": &b2}))
	idx := loadIndex(d)
	assert.Equal(t, map[string]indexEntry{"B.pfx": b2}, current(idx))
	assert.Equal(t, 4, idx.Lines)
}

func FuzzParseIndex(f *testing.F) {
	f.Add(encodeIndex([]indexEntry{sampleEntry("3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3.pfx", "CN=fuzz")}))
	f.Add([]byte(indexHeader + "../x.pfx\t1\t1\t3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3\t0\t0\t1\tRSA\t01\tCN=a\tCN=b\n"))
	f.Add([]byte(indexHeader + "-\tA.pfx\nA.pfx\t1\t2\t3A5F"))
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		idx, err := parseIndex(string(data))
		if err != nil {
			return
		}
		entries := current(idx)
		for name, ie := range entries {
			// Whatever the index says, it may only name .pfx files in the
			// store folder itself.
			if filepath.Base(name) != name || !isCertFile(name) || ie.Name != name {
				t.Fatalf("index entry %q escapes the store folder", name)
			}
		}
		// What was read writes back and reads again the same.
		again, err := parseIndex(string(encodeIndex(values(entries))))
		if err != nil || len(again.byName) != len(entries) {
			t.Fatalf("index did not round-trip: %v", err)
		}
		for name, ie := range entries {
			if got, _ := again.lookup(name); !reflect.DeepEqual(got, ie) {
				t.Fatalf("entry %q changed on the round trip", name)
			}
		}
	})
}
