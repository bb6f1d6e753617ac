package search

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hspc/marketplace/catalog"
)

// The store gives back exactly what it was given, from memory or from its file, and leaves
// nothing in the temporary folder; without a usable temporary folder it keeps everything in
// memory.
func TestShardStore(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tmp     func(t *testing.T) string
		spilled bool
	}{
		{"spills", func(t *testing.T) string { return t.TempDir() }, true},
		{"no temporary folder", func(t *testing.T) string { return filepath.Join(t.TempDir(), "missing") }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := tc.tmp(t)
			t.Setenv("TMPDIR", tmp)
			s := newShardStore(100)
			want := map[string]string{}
			for i := range 40 {
				name := fmt.Sprintf("d-%02d.json", i)
				data := fmt.Sprintf(`["shard %d", %q]`, i, string(make([]byte, i)))
				s.put(name, []byte(data))
				s.put(name, []byte(data)) // names are content hashes: the same name, the same data
				want[name] = data
			}
			if (s.file != nil) != tc.spilled {
				t.Fatalf("spilled = %v, want %v", s.file != nil, tc.spilled)
			}
			if s.cannot == tc.spilled {
				t.Errorf("cannot = %v after %d puts, want %v: a store that could not spill stops trying", s.cannot, len(want), !tc.spilled)
			}
			if tc.spilled && len(s.mem) != 0 {
				t.Errorf("%d files still in memory after spilling", len(s.mem))
			}
			total := 0
			for _, d := range want {
				total += len(d)
			}
			if s.total() != total {
				t.Errorf("total = %d, want %d (each name counted once)", s.total(), total)
			}
			names := s.names()
			slices.Sort(names)
			if len(names) != len(want) {
				t.Fatalf("names = %v", names)
			}
			for _, name := range names {
				read := s.get(name)
				for range 2 {
					got, err := read()
					if err != nil || string(got) != want[name] {
						t.Fatalf("%s = %q, %v; want %q", name, got, err, want[name])
					}
				}
			}
			if entries, err := os.ReadDir(tmp); err == nil && len(entries) != 0 {
				t.Errorf("left in the temporary folder: %v", entries)
			}
		})
	}
}

// A compact index whose files were spilled to disk is the same, file for file, as one held in
// memory.
func TestSpilledPagesAreTheSame(t *testing.T) {
	c := syntheticCatalog(t, 300)
	inMemory := pagesByKey(t, c)
	defer func(at int) { spillAt = at }(spillAt)
	spillAt = 0
	t.Setenv("TMPDIR", t.TempDir())
	spilled := pagesByKey(t, c)
	if len(inMemory) < 10 {
		t.Fatalf("only %d pages: the index went inline, and nothing was spilled", len(inMemory))
	}
	if len(spilled) != len(inMemory) {
		t.Fatalf("%d pages spilled, %d in memory", len(spilled), len(inMemory))
	}
	for k, v := range inMemory {
		if spilled[k] != v {
			t.Errorf("%s differs when spilled", k)
		}
	}
}

// TestChunkedAnalysisIsTheSame: analyzing and inverting the products a chunk at a time (two
// chunks ahead, the last one short) makes the same index as doing it whole, and the heads of
// the common terms (2000 products have some), made beside the inversion, come out the same
// however the goroutines ran.
func TestChunkedAnalysisIsTheSame(t *testing.T) {
	c := syntheticCatalog(t, 2000)
	whole := pagesByKey(t, c)
	heads := 0
	for k := range whole {
		if strings.Contains(k, "/i-") {
			heads++
		}
	}
	if heads == 0 {
		t.Fatal("no heads: the test does not cover them")
	}
	defer func(n int) { analyzeChunk = n }(analyzeChunk)
	analyzeChunk = 7
	chunked := pagesByKey(t, c)
	if len(whole) < 10 || len(chunked) != len(whole) {
		t.Fatalf("%d pages chunked, %d whole", len(chunked), len(whole))
	}
	for k, v := range whole {
		if chunked[k] != v {
			t.Errorf("%s differs when analyzed in chunks", k)
		}
	}
}

// pagesByKey returns the static search of c: content by path and key.
func pagesByKey(t *testing.T, c *catalog.Catalog) map[string]string {
	out := map[string]string{}
	for _, p := range Pages(Input{Catalog: c}) {
		data, err := p.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		out[p.Path+" "+p.Key] = string(data)
	}
	return out
}
