package search

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/blevesearch/bleve/v2/mapping"
	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/blevesearch/bleve/v2/search/searcher"
	index "github.com/blevesearch/bleve_index_api"
)

// phraseQuery matches the documents whose stored field holds the phrase's terms at the
// phrase's relative positions. The index keeps no term positions (they would double the cost
// of indexing), so candidates come from the conjunction of the terms, scored like it, and are
// checked against their stored text, analyzed once and kept.
type phraseQuery struct {
	ix        *Index
	field     string
	terms     []string
	positions []int
	boost     float64
}

func (q *phraseQuery) Searcher(ctx context.Context, i index.IndexReader, m mapping.IndexMapping, options bsearch.SearcherOptions) (bsearch.Searcher, error) {
	var qs []query.Query
	for _, t := range sortedSet(q.terms) {
		tq := query.NewTermQuery(t)
		tq.SetField(q.field)
		tq.SetBoost(q.boost)
		qs = append(qs, tq)
	}
	s, err := query.NewConjunctionQuery(qs).Searcher(ctx, i, m, options)
	if err != nil {
		return nil, err
	}
	return searcher.NewFilteringSearcher(ctx, s, func(_ *bsearch.SearchContext, d *bsearch.DocumentMatch) bool {
		doc := q.ix.doc(d.IndexInternalID)
		return doc >= 0 && q.ix.hasPhrase(doc, q.field, q.terms, q.positions)
	}), nil
}

// hasPhrase reports whether a document's field has terms at the relative positions given.
func (ix *Index) hasPhrase(doc int32, field string, terms []string, positions []int) bool {
	fi := slices.Index(phraseFields, field)
	if fi < 0 {
		return false
	}
	ix.mu.RLock()
	var seq []int32
	if ix.texts[fi] != nil {
		seq = ix.texts[fi][doc]
	}
	ok := seq != nil
	want := make([]int32, len(terms))
	for i, t := range terms {
		if id, ok := ix.termIDs[t]; ok {
			want[i] = id
		} else {
			want[i] = -2 // a term no text has yet: it cannot match
		}
	}
	ix.mu.RUnlock()
	if !ok {
		var text string
		switch field {
		case FieldName, FieldSummary:
			h, err := ix.hit(doc)
			if err != nil {
				return false
			}
			text = h.Name
			if field == FieldSummary {
				text = h.Summary
			}
		default:
			var err error
			if text, err = ix.description(doc); err != nil {
				return false
			}
		}
		ix.mu.Lock()
		for _, t := range english.Analyze([]byte(text)) {
			id, ok := ix.termIDs[string(t.Term)]
			if !ok {
				id = int32(len(ix.termIDs))
				ix.termIDs[string(t.Term)] = id
			}
			for len(seq) < t.Position-1 {
				seq = append(seq, -1) // a stop word's place
			}
			seq = append(seq, id)
		}
		if seq == nil {
			seq = []int32{}
		}
		if ix.texts[fi] == nil {
			ix.texts[fi] = make([][]int32, len(ix.ids))
		}
		ix.texts[fi][doc] = seq
		for i, t := range terms {
			if id, ok := ix.termIDs[t]; ok {
				want[i] = id
			}
		}
		ix.mu.Unlock()
	}
	return seqHasPhrase(seq, want, positions)
}

// seqHasPhrase reports whether an analysed text (term numbers by position) has the terms want
// at the relative positions given.
func seqHasPhrase(seq, want []int32, positions []int) bool {
	for s := range seq {
		if seq[s] != want[0] {
			continue
		}
		ok := true
		for j := 1; j < len(want) && ok; j++ {
			p := s + positions[j]
			ok = p < len(seq) && seq[p] == want[j]
		}
		if ok {
			return true
		}
	}
	return false
}

// checkPhrase calls found for each of docs whose field has the phrase: first those whose
// text was analysed already, checked under one read lock with the phrase's term numbers looked
// up once, then the others, by hasPhrase, which analyses them.
func (ix *Index) checkPhrase(docs []int32, field string, terms []string, positions []int, pending *[]int32, found func(int32)) {
	fi := slices.Index(phraseFields, field)
	if fi < 0 {
		return
	}
	*pending = (*pending)[:0]
	want := make([]int32, len(terms))
	ix.mu.RLock()
	for i, t := range terms {
		if id, ok := ix.termIDs[t]; ok {
			want[i] = id
		} else {
			want[i] = -2 // a term no text has yet: it cannot match a text analysed already
		}
	}
	texts := ix.texts[fi]
	var hits []int32
	for _, d := range docs {
		var seq []int32
		if texts != nil {
			seq = texts[d]
		}
		switch {
		case seq == nil:
			*pending = append(*pending, d)
		case seqHasPhrase(seq, want, positions):
			hits = append(hits, d)
		}
	}
	ix.mu.RUnlock()
	for _, d := range hits {
		found(d)
	}
	for _, d := range *pending {
		if ix.hasPhrase(d, field, terms, positions) {
			found(d)
		}
	}
}

// storedText returns a stored field of a document.
func storedText(r index.IndexReader, id, field string) (string, error) {
	doc, err := r.Document(id)
	if err != nil || doc == nil {
		return "", cmp.Or(err, fmt.Errorf("no document %s", id))
	}
	var text string
	doc.VisitFields(func(f index.Field) {
		if f.Name() == field {
			text = string(f.Value())
		}
	})
	return text, nil
}
