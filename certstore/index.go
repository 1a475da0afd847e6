//go:build !windows

package certstore

import (
	"encoding/hex"
	"errors"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"

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

// fileMeta is what the index records of a store file to tell whether its
// entry still describes it.
type fileMeta struct {
	Name    string
	Size    int64
	ModTime int64
}

// indexFile is a parsed index. meta and entries are parallel, one element
// per entry line in the file's order; byName gives the position of each
// name's current line. Its strings share the index's text rather than
// each being copied.
type indexFile struct {
	meta    []fileMeta
	entries []Entry
	byName  map[string]int32
	// Lines is how many entry and removal lines the file holds, to tell
	// when appends have made it worth rewriting.
	Lines int
}

// lookup returns name's current entry.
func (idx *indexFile) lookup(name string) (indexEntry, bool) {
	p, ok := idx.byName[name]
	if !ok {
		return indexEntry{}, false
	}
	m := idx.meta[p]
	return indexEntry{Name: m.Name, Size: m.Size, ModTime: m.ModTime, Entry: idx.entries[p]}, true
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
	data, _, err := d.ReadFile(indexName, maxIndexSize)
	if err != nil || len(data) == 0 {
		return indexFile{}
	}
	// The text is used as a string without a copy: nothing writes to data
	// after this, and the entries' strings are slices of it.
	idx, err := parseIndex(unsafe.String(unsafe.SliceData(data), len(data)))
	if err != nil {
		return indexFile{}
	}
	return idx
}

func parseIndex(data string) (indexFile, error) {
	rest, ok := strings.CutPrefix(data, indexHeader)
	if !ok {
		return indexFile{}, errIndex
	}
	n := strings.Count(rest, "\n")
	idx := indexFile{
		meta:    make([]fileMeta, 0, n),
		entries: make([]Entry, 0, n),
		byName:  make(map[string]int32, n),
	}
	for {
		i := strings.IndexByte(rest, '\n')
		if i < 0 {
			break // the end, or a line cut short by a crash
		}
		if i > maxIndexLine {
			return indexFile{}, errIndex
		}
		line := rest[:i]
		rest = rest[i+1:]
		idx.Lines++
		if name, ok := strings.CutPrefix(line, "-\t"); ok {
			delete(idx.byName, unescape(name))
			continue
		}
		m, e, ok := parseIndexLine(line)
		if !ok {
			continue
		}
		idx.byName[m.Name] = int32(len(idx.meta))
		idx.meta = append(idx.meta, m)
		idx.entries = append(idx.entries, e)
	}
	return idx, nil
}

func parseIndexLine(line string) (fileMeta, Entry, bool) {
	var f [indexFields]string
	for i := range indexFields - 1 {
		var ok bool
		if f[i], line, ok = strings.Cut(line, "\t"); !ok {
			return fileMeta{}, Entry{}, false
		}
	}
	if strings.IndexByte(line, '\t') >= 0 {
		return fileMeta{}, Entry{}, false
	}
	f[indexFields-1] = line

	var m fileMeta
	var e Entry
	var err error
	var ok bool
	m.Name = unescape(f[0])
	// The index may only name .pfx files in the store folder itself.
	if !isCertFile(m.Name) || filepath.Base(m.Name) != m.Name {
		return fileMeta{}, Entry{}, false
	}
	var ints [4]int64
	for i, s := range [4]string{f[1], f[2], f[4], f[5]} {
		if ints[i], err = strconv.ParseInt(s, 10, 64); err != nil {
			return fileMeta{}, Entry{}, false
		}
	}
	m.Size, m.ModTime = ints[0], ints[1]
	if e.Thumbprint, ok = parseHexThumbprint(f[3]); !ok {
		return fileMeta{}, Entry{}, false
	}
	e.NotBefore = time.Unix(ints[2], 0).UTC()
	e.NotAfter = time.Unix(ints[3], 0).UTC()
	switch f[6] {
	case "1":
		e.HasPrivateKey = true
	case "0":
	default:
		return fileMeta{}, Entry{}, false
	}
	e.KeyAlgorithm = unescape(f[7])
	e.SerialNumber = unescape(f[8])
	e.Subject = unescape(f[9])
	e.Issuer = unescape(f[10])
	if e.DNSNames, ok = parseList(f[11]); !ok {
		return fileMeta{}, Entry{}, false
	}
	if e.ExtKeyUsages, ok = parseList(f[12]); !ok {
		return fileMeta{}, Entry{}, false
	}
	return m, e, true
}

// parseHexThumbprint reads the thumbprint of an index line: 40 hexadecimal
// digits, as appendIndexLine writes them, and nothing else.
func parseHexThumbprint(s string) (thumbprint.Thumbprint, bool) {
	var tp thumbprint.Thumbprint
	var digits [2 * thumbprint.Size]byte
	if len(s) != len(digits) {
		return tp, false
	}
	copy(digits[:], s)
	_, err := hex.Decode(tp[:], digits[:])
	return tp, err == nil
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

func escape(s string) string { return escaper.Replace(s) }

// unescape undoes escape; most fields have nothing to undo, and come back
// as they are.
func unescape(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	return unescaper.Replace(s)
}

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
		if strings.IndexByte(it, '\\') >= 0 {
			items[i] = itemUnescaper.Replace(it)
		}
	}
	return items, true
}

// encodeIndex writes entries as a whole index, in the order of their
// names.
func encodeIndex(entries []indexEntry) []byte {
	order := make([]int32, len(entries))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(entries[a].Name, entries[b].Name) })
	b := make([]byte, 0, len(indexHeader)+256*len(entries))
	b = append(b, indexHeader...)
	for _, i := range order {
		b = appendIndexLine(b, entries[i])
	}
	return b
}

// saveIndex writes entries as the index, and removes the temporary files
// that writers killed mid-write left behind, unless the folder is not
// private (List does no upkeep where it would refuse to change anything)
// or a writer holds the store's lock: that writer updates the index
// itself, and may be between writing a temporary file and renaming it.
func saveIndex(d *platform.Dir, entries []indexEntry, leftovers []string) error {
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
