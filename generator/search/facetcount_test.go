package search

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestFacetCountWays checks that the facet counts (whichever way count takes: the counts kept,
// their complement, value bitmaps or documents' values, facet by facet) are those of counting
// each matched document's values, over random facet tables and match sets from empty to full.
func TestFacetCountWays(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var bufs countBufs // reused from round to round, as searches reuse them
	for round := range 200 {
		docs := 1 + r.IntN(700)
		var f facetIndex
		for fi := range 1 + r.IntN(4) {
			f.base = append(f.base, int32(len(f.field)))
			var vs []string
			for v := range 1 + r.IntN(300) {
				vs = append(vs, string(rune('a'+v)))
				f.field = append(f.field, int32(fi))
			}
			f.values = append(f.values, vs)
		}
		perDoc := make([][]int32, docs)
		for d := range docs {
			for fi, vs := range f.values {
				for _, v := range r.Perm(len(vs))[:r.IntN(min(len(vs), 6))] {
					perDoc[d] = append(perDoc[d], f.base[fi]+int32(v))
				}
			}
			slices.Sort(perDoc[d])
		}
		f.fill(perDoc)
		words := (docs + 63) / 64
		matched := make([]uint64, words)
		want := make([]int, len(f.field))
		total := 0
		density := r.Float64()
		if round%10 == 0 {
			density = 1
		}
		for d := range docs {
			if r.Float64() < density {
				matched[d/64] |= 1 << (d % 64)
				total++
				for _, v := range perDoc[d] {
					want[v]++
				}
			}
		}
		got := make([]int, len(f.field))
		f.countWith(matched, total, got, &bufs)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d (%d docs, %d values, %d matched): counted %v, want %v", round, docs, len(f.field), total, got, want)
		}
	}
}

// TestSortByCount checks both ways of ordering facet values: by counting and by sorting.
func TestSortByCount(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var buckets []int32
	for round := range 300 {
		n := r.IntN(500)
		counts := make([]int, n)
		var order []int32
		limit := 1 + r.IntN(20)
		if round%3 == 0 {
			limit = 100000
		}
		for v := range n {
			counts[v] = r.IntN(limit)
			if counts[v] > 0 {
				order = append(order, int32(v))
			}
		}
		want := slices.Clone(order)
		slices.SortStableFunc(want, func(a, b int32) int { return counts[b] - counts[a] })
		if got := sortByCount(order, counts, &buckets); !slices.Equal(got, want) {
			t.Fatalf("round %d: %v, want %v", round, got, want)
		}
	}
}
