package search

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestFacetCountWays checks that counting facet values document by document gives the counts of
// ANDing value bitmaps, over random facet tables and match sets from empty to full.
func TestFacetCountWays(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 50 {
		docs, values := 1+r.IntN(700), 1+r.IntN(300)
		f := facetIndex{bitmaps: make([][]uint64, values)}
		words := (docs + 63) / 64
		for v := range f.bitmaps {
			f.bitmaps[v] = make([]uint64, words)
		}
		for d := range docs {
			f.offsets = append(f.offsets, int32(len(f.vals)))
			for _, v := range r.Perm(values)[:r.IntN(min(values, 12))] {
				f.vals = append(f.vals, int32(v))
				f.bitmaps[v][d/64] |= 1 << (d % 64)
			}
		}
		f.offsets = append(f.offsets, int32(len(f.vals)))
		matched := make([]uint64, words)
		total := 0
		density := r.Float64()
		for d := range docs {
			if r.Float64() < density {
				matched[d/64] |= 1 << (d % 64)
				total++
			}
		}
		byDoc, byValue, chosen := make([]int, values), make([]int, values), make([]int, values)
		f.countByDocument(matched, byDoc)
		f.countByValue(matched, byValue)
		f.count(matched, total, chosen)
		if !slices.Equal(byDoc, byValue) || !slices.Equal(chosen, byValue) {
			t.Fatalf("round %d (%d docs, %d values, %d matched): by document %v, by value %v, chosen %v", round, docs, values, total, byDoc, byValue, chosen)
		}
	}
}
