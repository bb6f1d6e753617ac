package search

import (
	"slices"
	"testing"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/synthetic"
)

// TestFragmentFromPieces checks that a description fragment made from the text analysed piece by
// piece is the one made from the whole text analysed at once, over the synthetic catalog's
// descriptions and terms drawn from them (early, middle and late in the text, and absent).
func TestFragmentFromPieces(t *testing.T) {
	c, ds := catalog.Check(synthetic.MapFS(synthetic.Options{Products: 60, BuildsPerProduct: 1}))
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	checked := 0
	for _, id := range c.SortedProductIDs() {
		text := c.Products[id].Description
		tokens := english.Analyze([]byte(text))
		if len(tokens) < 10 {
			continue
		}
		var whole []span
		for _, pick := range []int{0, len(tokens) / 2, len(tokens) - 1} {
			terms := map[string]bool{string(tokens[pick].Term): true, "zzznotaword": true}
			whole = whole[:0]
			for _, tok := range tokens {
				if terms[string(tok.Term)] {
					whole = append(whole, span{tok.Start, tok.End})
				}
			}
			pieces := matches(text, terms, fragmentLen)
			// The pieces' spans are the whole text's, up to where analysis stopped.
			if len(pieces) == 0 || !slices.Equal(pieces, whole[:len(pieces)]) {
				t.Fatalf("%s: spans of %v differ: pieces %v, whole %v", id, terms, pieces, whole)
			}
			got, _ := mark(text, terms, fragmentLen)
			want, _ := fragment(text, whole, fragmentLen)
			if got != want {
				t.Errorf("%s, %v:\npieces: %s\nwhole:  %s", id, terms, got, want)
			}
			checked++
		}
	}
	if checked < 100 {
		t.Errorf("only %d fragments checked", checked)
	}
}

// BenchmarkFragment compares a highlighted description fragment made from pieces with one made
// from the whole text analysed (what a highlighted search did for each hit).
func BenchmarkFragment(b *testing.B) {
	c, _ := catalog.Check(synthetic.MapFS(synthetic.Options{Products: 50, BuildsPerProduct: 1}))
	var texts []string
	for _, p := range c.Products {
		texts = append(texts, p.Description)
	}
	terms := map[string]bool{"fhir": true, "server": true}
	b.Run("pieces", func(b *testing.B) {
		for b.Loop() {
			for _, t := range texts {
				mark(t, terms, fragmentLen)
			}
		}
	})
	b.Run("whole", func(b *testing.B) {
		for b.Loop() {
			for _, t := range texts {
				fragment(t, matches(t, terms, 0), fragmentLen)
			}
		}
	})
}
