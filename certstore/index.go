//go:build !windows

package certstore

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/certctl/certctl/platform"
)

// The index caches what List shows of each store file, so List decrypts only
// files that are new or changed. It is a cache and nothing more: every entry
// is checked against its file's size and modification time on each List, a
// file missing from it is read, and an index that is missing, damaged or of
// another version is rebuilt from the files. It holds no key material.

const indexVersion = 1

type indexEntry struct {
	Name    string `json:"name"`
	Size    int64  `json:"size"`
	ModTime int64  `json:"mtime"`
	Entry   Entry  `json:"entry"`
}

type indexFile struct {
	Version int                   `json:"version"`
	List    []indexEntry          `json:"entries"`
	Entries map[string]indexEntry `json:"-"`
}

// maxIndexSize bounds what loadIndex reads; a 10,000-certificate index is
// about 4 MiB.
const maxIndexSize = 64 << 20

// loadIndex reads the index at path; any problem gives an empty index, which
// List then rebuilds.
func loadIndex(path string) indexFile {
	empty := indexFile{Entries: map[string]indexEntry{}}
	f, err := os.Open(path)
	if err != nil {
		return empty
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxIndexSize+1))
	if err != nil || len(data) > maxIndexSize {
		return empty
	}
	idx, err := parseIndex(data)
	if err != nil {
		return empty
	}
	return idx
}

func parseIndex(data []byte) (indexFile, error) {
	var idx indexFile
	if err := json.Unmarshal(data, &idx); err != nil {
		return indexFile{}, err
	}
	if idx.Version != indexVersion {
		return indexFile{}, errIndexVersion
	}
	idx.Entries = make(map[string]indexEntry, len(idx.List))
	for _, ie := range idx.List {
		if !isCertFile(ie.Name) || filepath.Base(ie.Name) != ie.Name {
			continue // never let the index point outside the store folder
		}
		ie.Entry.File = ""
		idx.Entries[ie.Name] = ie
	}
	idx.List = nil
	return idx, nil
}

type indexError string

func (e indexError) Error() string { return string(e) }

const errIndexVersion = indexError("index version not supported")

func encodeIndex(entries map[string]indexEntry) ([]byte, error) {
	idx := indexFile{Version: indexVersion, List: make([]indexEntry, 0, len(entries))}
	for _, ie := range entries {
		ie.Entry.File = "" // derived from the name on reading
		idx.List = append(idx.List, ie)
	}
	sort.Slice(idx.List, func(i, j int) bool { return idx.List[i].Name < idx.List[j].Name })
	return json.Marshal(idx)
}

// saveIndex writes entries as the index unless a writer holds the store's
// lock; that writer updates the index itself.
func (s *fileStore) saveIndex(entries map[string]indexEntry) error {
	lock, err := platform.TryLockFile(filepath.Join(s.dir, lockName))
	if err != nil || lock == nil {
		return err
	}
	defer lock.Unlock()
	return s.writeIndex(entries)
}

func (s *fileStore) writeIndex(entries map[string]indexEntry) error {
	data, err := encodeIndex(entries)
	if err != nil {
		return err
	}
	return platform.WriteFileAtomic(s.dir, indexName, data)
}
