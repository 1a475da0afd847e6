//go:build !windows

package certstore

import (
	"bytes"
	"errors"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/certctl/certctl/platform"
	"github.com/certctl/certctl/thumbprint"
)

// The index caches what List shows of each store file, so List decrypts only
// files that are new or changed. It is a cache and nothing more: every entry
// is checked against its file's size and modification time on each List, a
// file missing from it is read, and an index that is missing, damaged or of
// another version is rebuilt from the files. It holds no key material.
//
// It is a text file: a header line, then one line per store file with
// tab-separated fields (name, size, mtime, thumbprint, not-before, not-after,
// has-key, key algorithm, serial, subject, issuer, DNS names, extended key
// usages; tabs, newlines and backslashes escaped; a list is its items each
// followed by a comma, commas in an item escaped as \c). Import and Remove
// append lines (a later line for a name replaces an earlier one;
// "-<TAB>name" forgets it), so a change costs the same in a store of ten
// certificates or ten thousand; List rewrites it whole when it has grown
// stale. A line cut short by a crash does not parse and is ignored, and its
// file is read again.

const indexHeader = "certctl-index 3\n"

// indexFields is the number of fields of an entry line.
const indexFields = 13

type indexEntry struct {
	Name    string
	Size    int64
	ModTime int64
	Entry   Entry
}

type indexFile struct {
	Entries map[string]indexEntry
	// Lines is how many entry and removal lines the file holds, to tell
	// when appends have made it worth rewriting.
	Lines int
}

// maxIndexSize bounds what loadIndex reads; a 10,000-certificate index is
// about 2.5 MiB.
const maxIndexSize = 64 << 20

// maxIndexLine bounds one line. Real lines are a few hundred bytes; entries
// whose line would be longer are not written (their files are decoded on
// each listing instead), so an index with a longer line is not certctl's
// and is ignored.
const maxIndexLine = 16 << 10

var errIndex = errors.New("not a certctl index")

// loadIndex reads the store's index. Anything but a regular file of sane
// size and line length (a FIFO, a device, a symlink, a huge file) gives an
// empty index, without waiting or reading it, and List rebuilds it.
func loadIndex(d *platform.Dir) indexFile {
	empty := indexFile{Entries: map[string]indexEntry{}}
	data, _, err := d.ReadFile(indexName, maxIndexSize)
	if err != nil {
		return empty
	}
	idx, err := parseIndex(data)
	if err != nil {
		return empty
	}
	return idx
}

func parseIndex(data []byte) (indexFile, error) {
	rest, ok := bytes.CutPrefix(data, []byte(indexHeader))
	if !ok {
		return indexFile{}, errIndex
	}
	idx := indexFile{Entries: make(map[string]indexEntry, bytes.Count(rest, []byte{'\n'}))}
	for len(rest) > 0 {
		line := rest
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break // cut short by a crash
		}
		if i > maxIndexLine {
			return indexFile{}, errIndex
		}
		line, rest = rest[:i], rest[i+1:]
		idx.Lines++
		if name, ok := bytes.CutPrefix(line, []byte("-\t")); ok {
			delete(idx.Entries, unescape(string(name)))
			continue
		}
		ie, ok := parseIndexLine(string(line))
		if !ok {
			continue
		}
		idx.Entries[ie.Name] = ie
	}
	return idx, nil
}

func parseIndexLine(line string) (indexEntry, bool) {
	f := strings.Split(line, "\t")
	if len(f) != indexFields {
		return indexEntry{}, false
	}
	var ie indexEntry
	var err error
	var ok bool
	ie.Name = unescape(f[0])
	// The index may only name .pfx files in the store folder itself.
	if !isCertFile(ie.Name) || filepath.Base(ie.Name) != ie.Name {
		return indexEntry{}, false
	}
	ints := make([]int64, 4)
	for i, s := range []string{f[1], f[2], f[4], f[5]} {
		if ints[i], err = strconv.ParseInt(s, 10, 64); err != nil {
			return indexEntry{}, false
		}
	}
	ie.Size, ie.ModTime = ints[0], ints[1]
	if ie.Entry.Thumbprint, err = thumbprint.Parse(f[3]); err != nil {
		return indexEntry{}, false
	}
	ie.Entry.NotBefore = time.Unix(ints[2], 0).UTC()
	ie.Entry.NotAfter = time.Unix(ints[3], 0).UTC()
	switch f[6] {
	case "1":
		ie.Entry.HasPrivateKey = true
	case "0":
	default:
		return indexEntry{}, false
	}
	ie.Entry.KeyAlgorithm = unescape(f[7])
	ie.Entry.SerialNumber = unescape(f[8])
	ie.Entry.Subject = unescape(f[9])
	ie.Entry.Issuer = unescape(f[10])
	if ie.Entry.DNSNames, ok = parseList(f[11]); !ok {
		return indexEntry{}, false
	}
	if ie.Entry.ExtKeyUsages, ok = parseList(f[12]); !ok {
		return indexEntry{}, false
	}
	return ie, true
}

// appendIndexLine adds ie's line to b, unless the line would be longer
// than maxIndexLine.
func appendIndexLine(b []byte, ie indexEntry) []byte {
	start := len(b)
	e := ie.Entry
	hasKey := "0"
	if e.HasPrivateKey {
		hasKey = "1"
	}
	for i, s := range []string{
		escape(ie.Name),
		strconv.FormatInt(ie.Size, 10),
		strconv.FormatInt(ie.ModTime, 10),
		e.Thumbprint.String(),
		strconv.FormatInt(e.NotBefore.Unix(), 10),
		strconv.FormatInt(e.NotAfter.Unix(), 10),
		hasKey,
		escape(e.KeyAlgorithm),
		escape(e.SerialNumber),
		escape(e.Subject),
		escape(e.Issuer),
		encodeList(e.DNSNames),
		encodeList(e.ExtKeyUsages),
	} {
		if i > 0 {
			b = append(b, '\t')
		}
		b = append(b, s...)
	}
	if len(b)-start > maxIndexLine {
		return b[:start]
	}
	return append(b, '\n')
}

var (
	escaper   = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)
	unescaper = strings.NewReplacer(`\\`, `\`, `\t`, "\t", `\n`, "\n", `\r`, "\r")
)

func escape(s string) string   { return escaper.Replace(s) }
func unescape(s string) string { return unescaper.Replace(s) }

var (
	itemEscaper   = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`, ",", `\c`)
	itemUnescaper = strings.NewReplacer(`\\`, `\`, `\t`, "\t", `\n`, "\n", `\r`, "\r", `\c`, ",")
)

// encodeList writes a list field: each item escaped and followed by a
// comma, so that an empty list and a list of one empty item differ.
func encodeList(items []string) string {
	if len(items) == 0 {
		return ""
	}
	var b strings.Builder
	for _, it := range items {
		b.WriteString(itemEscaper.Replace(it))
		b.WriteByte(',')
	}
	return b.String()
}

// parseList reads a list field; an empty field is nil.
func parseList(f string) ([]string, bool) {
	if f == "" {
		return nil, true
	}
	if !strings.HasSuffix(f, ",") {
		return nil, false
	}
	items := strings.Split(f[:len(f)-1], ",")
	for i, it := range items {
		items[i] = itemUnescaper.Replace(it)
	}
	return items, true
}

func encodeIndex(entries map[string]indexEntry) []byte {
	names := make([]string, 0, len(entries))
	for name := range entries {
		names = append(names, name)
	}
	sort.Strings(names)
	b := make([]byte, 0, len(indexHeader)+256*len(entries))
	b = append(b, indexHeader...)
	for _, name := range names {
		b = appendIndexLine(b, entries[name])
	}
	return b
}

// saveIndex writes entries as the index, and removes the temporary files
// that writers killed mid-write left behind, unless the folder is not
// private (List does no upkeep where it would refuse to change anything)
// or a writer holds the store's lock: that writer updates the index
// itself, and may be between writing a temporary file and renaming it.
func saveIndex(d *platform.Dir, entries map[string]indexEntry, leftovers []string) error {
	if err := d.CheckPrivate(); err != nil {
		return err
	}
	lock, err := d.Lock(lockName, false)
	if err != nil || lock == nil {
		return err
	}
	defer lock.Unlock()
	for _, name := range leftovers {
		d.Remove(name)
	}
	return d.WriteFileAtomic(indexName, encodeIndex(entries))
}

// appendIndex adds changes to the index (nil forgets a name); the caller
// holds the lock. The lines go out in one write, after a header if the file
// is new.
func appendIndex(d *platform.Dir, changes map[string]*indexEntry) error {
	names := make([]string, 0, len(changes))
	for name := range changes {
		names = append(names, name)
	}
	sort.Strings(names)
	return d.Append(indexName, func(size int64) []byte {
		var b []byte
		if size == 0 {
			b = append(b, indexHeader...)
		}
		for _, name := range names {
			if ie := changes[name]; ie != nil {
				b = appendIndexLine(b, *ie)
			} else {
				b = append(b, "-\t"+escape(name)+"\n"...)
			}
		}
		return b
	})
}
