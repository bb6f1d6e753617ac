package search

import (
	"context"
	"math"
	"testing"

	"github.com/blevesearch/bleve/v2"
)

// TestScoresAreBleves checks that the scores Search computes from the postings it keeps in
// memory are those bleve's own searchers give the same query (to the last bits, which depend on
// the order bleve's disjunction adds its matches in): a query of one
// clause is the disjunction of its leaves' term queries (bleve's coordination and query norm
// included), which bleve runs here through its ordinary search request.
func TestScoresAreBleves(t *testing.T) {
	ix, err := Open(syntheticIndexDir(t, 2000))
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	compared, matched, scored := 0, 0, ix.scored.Load()
	for _, q := range []string{"fhir", "postgres", "imaging", "terminol", "fihr", "name:smart^2", "server", "scim"} {
		p, err := parse(q, ix)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Clauses) != 1 || p.Clauses[0].Kind != kindTerms {
			t.Fatalf("%q: want one clause of terms, got %+v", q, p.Clauses)
		}
		for round := range 2 { // the second time from the postings kept
			res, err := ix.Search(context.Background(), Request{Query: q, Size: 50})
			if err != nil {
				t.Fatal(err)
			}
			req := bleve.NewSearchRequestOptions(p.Clauses[0].bleveQuery(ix), 50, 0, false)
			req.SortBy([]string{"-_score", "_id"})
			want, err := ix.idx.Search(req)
			if err != nil {
				t.Fatal(err)
			}
			matched += res.Total
			if res.Total != int(want.Total) {
				t.Errorf("%q: %d matches, bleve %d", q, res.Total, want.Total)
			}
			for i, h := range res.Hits {
				if i >= len(want.Hits) {
					break
				}
				w := want.Hits[i]
				// The same score at each rank: the products differ only where scores tie.
				if math.Abs(h.Score-w.Score) > 1e-12*w.Score {
					t.Errorf("%q round %d #%d: %s %v, bleve %s %v (diff %g)", q, round, i+1, h.ID, h.Score, w.ID, w.Score, math.Abs(h.Score-w.Score))
					break
				}
				compared++
			}
		}
	}
	if compared < 100 {
		t.Errorf("only %d scores compared", compared)
	}
	if scored = ix.scored.Load() - scored; scored*3 > int64(matched)*2 {
		t.Errorf("%d documents scored for %d matches: the bounded way should score fewer", scored, matched)
	}
}
