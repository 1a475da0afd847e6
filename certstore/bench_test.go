//go:build !windows

package certstore

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/certctl/certctl/internal/benchstore"
)

// The benchmarks below measure the file store on stores of 10 to 10,000
// certificates written as .NET writes them (see internal/benchstore). BENCHMARKS.md
// has the targets, the commands and the results. "Warm" means the index is
// up to date; "cold" means there is none, so every file is decrypted (the
// files themselves are in the operating system's cache either way).

var benchSizes = []int{10, 100, 1000, 10000}

// benchList opens the store at root and lists it, checking the count.
func benchList(b *testing.B, root string, want int) {
	s, err := Open(benchstore.StoreName, Options{Dir: root})
	if err != nil {
		b.Fatal(err)
	}
	list, err := s.List()
	if err != nil {
		b.Fatal(err)
	}
	if len(list) != want {
		b.Fatalf("listed %d certificates, want %d", len(list), want)
	}
	s.Close()
}

// benchPerCert adds the time per certificate.
func benchPerCert(b *testing.B, n int) {
	if b.N > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/cert")
	}
}

// BenchmarkList is Open + List. warm: the index is current (targets 1a and
// 6); cold: no index, every file is read (targets 1b and 6); cold-procs=N
// runs the cold list at 10,000 with GOMAXPROCS=N (target 1c).
func BenchmarkList(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("warm/n=%d", n), func(b *testing.B) {
			root := benchstore.Store(b, n)
			benchList(b, root, n) // writes the index
			for b.Loop() {
				benchList(b, root, n)
			}
			benchPerCert(b, n)
		})
	}
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("cold/n=%d", n), func(b *testing.B) {
			benchColdList(b, n)
		})
	}
	for _, procs := range []int{1, 2} {
		b.Run(fmt.Sprintf("cold-procs=%d/n=10000", procs), func(b *testing.B) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			benchColdList(b, 10000)
		})
	}
}

func benchColdList(b *testing.B, n int) {
	root := benchstore.Store(b, n)
	for b.Loop() {
		b.StopTimer()
		benchstore.DropIndex(b, root)
		b.StartTimer()
		benchList(b, root, n)
	}
	benchPerCert(b, n)
}

// BenchmarkFind is Open + Find by thumbprint, which also decodes the file
// with its key (targets 2 and 6). The index is warm, as it is after any
// list.
func BenchmarkFind(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			root := benchstore.Store(b, n)
			tps := benchstore.Thumbprints(b, root)
			benchList(b, root, n)
			i := 0
			for b.Loop() {
				s, err := Open(benchstore.StoreName, Options{Dir: root})
				if err != nil {
					b.Fatal(err)
				}
				id, err := s.Find(tps[i%len(tps)])
				if err != nil {
					b.Fatal(err)
				}
				if !id.HasPrivateKey() {
					b.Fatal("no private key")
				}
				s.Close()
				i += 7919 // a prime: spread over the store
			}
		})
	}
}
