package search

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/blevesearch/bleve/v2/search/searcher"
)

// Search runs a search.
func (ix *Index) Search(ctx context.Context, req Request) (*Result, error) {
	start := time.Now()
	size := cmp.Or(req.Size, DefaultSize)
	if size < 0 || size > MaxSize {
		return nil, fmt.Errorf("size %d: want 1 to %d", size, MaxSize)
	}
	from := max(req.From, 0)
	filter, err := ix.filter(req.Filters)
	if err != nil {
		return nil, err
	}
	p, err := parse(req.Query, ix)
	if err != nil {
		return nil, err
	}
	res := &Result{Query: req.Query, Hits: []Hit{}}
	counts := make([]int, len(ix.facets.field))
	best, err := ix.run(ctx, p, filter, from+size, counts, &res.Total)
	if err != nil {
		return nil, fmt.Errorf("searching %q: %w", req.Query, err)
	}
	var terms map[string]bool
	if req.Highlight {
		terms = p.highlightTerms()
	}
	for _, m := range best[min(from, len(best)):] {
		h, err := ix.hit(m.doc)
		if err != nil {
			return nil, err
		}
		h.Score = m.score
		if req.Highlight {
			h.Highlights = ix.highlight(m.doc, h, terms)
		}
		res.Hits = append(res.Hits, h)
	}
	for fi, f := range Facets {
		facet := Facet{Field: f, Values: []FacetValue{}}
		for vi, v := range ix.facets.values[fi] {
			if n := counts[int(ix.facets.base[fi])+vi]; n > 0 {
				facet.Values = append(facet.Values, FacetValue{Value: v, Label: ix.labels[f][v], Count: n})
			}
		}
		sortFacetValues(facet.Values)
		res.Facets = append(res.Facets, facet)
	}
	res.TookMS = ms(time.Since(start))
	return res, nil
}

// match is a scored document.
type match struct {
	doc   int32
	score float64
}

// better reports whether a ranks before b: higher score, then lower document number (ID).
func better(a, b match) bool {
	return a.score > b.score || a.score == b.score && a.doc < b.doc
}

// run evaluates a plan and collects what it finds: the documents filter accepts, counted in
// total and per facet value, and the best n of them, best first.
//
// The plan is a bleve boolean query of disjunctions of term queries, and it is scored as bleve
// scores one: each term query by bleve's TermSearcher (TF-IDF, with the query norm of the whole
// query), a disjunction as the sum of its matches times the fraction matched, the boolean as
// the sum of its must clauses plus that of its should clauses times the fraction matched — and
// one more should clause, matching when all the others do and adding their scores again, so
// that products matching every word come first. Bleve's own disjunction and boolean searchers
// would merge the postings document by document, and search every clause a second time for the
// last one; here each term query runs alone, all of them in parallel, and the sums are made
// over arrays indexed by document. Phrases (a filtered conjunction) and field values (matching
// only) run as whole bleve searchers.
func (ix *Index) run(ctx context.Context, p *plan, filter func(int32) bool, n int, counts []int, total *int) ([]match, error) {
	docs := len(ix.ids)
	type result struct {
		c     *clause
		hit   []bool
		score []float64
	}
	// A task is a searcher whose matches go into a result: a leaf's term searcher (with the
	// number of leaves in its clause), or a whole clause's.
	type task struct {
		s      bsearch.Searcher
		r      *result
		leaves int
		buf    *postingBuf
	}
	var musts, shoulds, nots []*result
	var tasks []*task
	var scratches []*scratch
	defer func() {
		for _, t := range tasks {
			t.s.Close()
			if t.buf != nil {
				postingBufs.Put(t.buf)
			}
		}
		for _, sc := range scratches {
			ix.scratch.Put(sc)
		}
	}()
	weight, emptyShould := 0.0, false
	for i := range p.Clauses {
		c := &p.Clauses[i]
		r := &result{c: c}
		switch {
		case c.Occur == must && c.empty():
			return nil, nil
		case c.Occur == mustNot && c.empty():
			continue
		case c.Occur == should && c.empty():
			emptyShould = true
		case c.Kind == kindTerms && c.Occur != mustNot:
			for _, l := range c.Leaves {
				s, err := searcher.NewTermSearcher(ctx, ix.reader, l.Term, l.Field, max(l.Boost, 0), bsearch.SearcherOptions{})
				if err != nil {
					return nil, err
				}
				tasks = append(tasks, &task{s: s, r: r, leaves: len(c.Leaves)})
				weight += s.Weight()
			}
		default:
			// Exclusions and field values only need to know what matches: bleve then merges
			// bitmaps instead of scoring postings.
			var opts bsearch.SearcherOptions
			if c.Occur == mustNot || c.Kind == kindKeyword {
				opts.Score = "none"
			}
			s, err := c.bleveQuery(ix).Searcher(ctx, ix.reader, ix.mapping, opts)
			if err != nil {
				return nil, err
			}
			tasks = append(tasks, &task{s: s, r: r})
			weight += s.Weight()
			if c.Kind == kindKeyword {
				b := max(c.Boost, minBoost) // the weight of a constant-score query
				weight += b * b
			}
		}
		switch c.Occur {
		case must:
			musts = append(musts, r)
		case mustNot:
			nots = append(nots, r)
		default:
			shoulds = append(shoulds, r)
		}
	}
	if len(musts) == 0 && len(shoulds) > 0 && !slices.ContainsFunc(shoulds, func(r *result) bool { return !r.c.empty() }) {
		return nil, nil // no should clause can match
	}
	norm := 1.0
	if weight > 0 {
		norm = 1 / math.Sqrt(weight)
	}

	// Run the searchers, as many at a time as there are processors.
	var wg sync.WaitGroup
	errs := make([]error, len(tasks))
	next := make(chan int)
	for range min(runtime.GOMAXPROCS(0), len(tasks)) {
		wg.Go(func() {
			for i := range next {
				t := tasks[i]
				t.s.SetQueryNorm(norm)
				t.buf = postingBufs.Get().(*postingBuf)
				errs[i] = ix.drain(ctx, t.s, t.buf)
			}
		})
	}
	for i := range tasks {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	// Sum the leaves of each clause, and apply its coordination factor.
	matchedLeaves := map[*result][]int32{}
	for _, t := range tasks {
		r := t.r
		if r.hit == nil {
			sc := ix.getScratch()
			scratches = append(scratches, sc)
			r.hit, r.score = sc.hit, sc.score
			matchedLeaves[r] = sc.cnt
		}
		if t.leaves == 0 { // a whole clause
			k := max(r.c.Boost, minBoost) * norm
			for i, d := range t.buf.hits {
				r.hit[d] = true
				r.score[d] = t.buf.scores[i]
				if r.c.Kind == kindKeyword {
					r.score[d] = k
				}
			}
			delete(matchedLeaves, r)
			continue
		}
		cnt := matchedLeaves[r]
		for i, d := range t.buf.hits {
			r.hit[d] = true
			r.score[d] += t.buf.scores[i]
			cnt[d]++
		}
	}
	for r, cnt := range matchedLeaves {
		all := float64(len(r.c.Leaves))
		for d, c := range cnt {
			if c > 0 {
				r.score[d] *= float64(c) / all
			}
		}
	}

	bonus := len(shoulds) >= 2 && !emptyShould
	clauses := len(shoulds)
	if bonus {
		clauses++
	}
	matchedSet := make([]uint64, (docs+63)/64)
	// best is a min-heap of the n best so far: best[0] is the worst of them.
	best := make([]match, 0, min(n, docs)) // from+size may exceed the documents: allocate no more
	for d := range docs {
		doc := int32(d)
		score, matched, sum := 0.0, 0, 0.0
		ok := true
		for _, r := range musts {
			if !r.hit[d] {
				ok = false
				break
			}
			score += r.score[d]
		}
		if !ok {
			continue
		}
		for _, r := range shoulds {
			if r.hit != nil && r.hit[d] {
				matched++
				sum += r.score[d]
			}
		}
		switch {
		case len(musts) == 0 && len(shoulds) > 0 && matched == 0:
			continue
		case len(musts) == 0 && len(shoulds) == 0:
			score = 1 // only exclusions: every other product, equally
		}
		if bonus && matched == len(shoulds) {
			matched++
			sum += sum
		}
		if matched > 0 {
			score += sum * float64(matched) / float64(clauses)
		}
		excluded := false
		for _, r := range nots {
			excluded = excluded || r.hit[d]
		}
		if excluded || (filter != nil && !filter(doc)) {
			continue
		}
		*total++
		matchedSet[d/64] |= 1 << (d % 64)
		m := match{doc, score}
		switch {
		case n == 0:
		case len(best) < n:
			best = append(best, m)
			heapUp(best, len(best)-1)
		case better(m, best[0]):
			best[0] = m
			heapDown(best, 0)
		}
	}
	ix.facets.count(matchedSet, *total, counts)
	slices.SortFunc(best, func(a, b match) int {
		if better(a, b) {
			return -1
		}
		return 1
	})
	return best, nil
}

// postingBuf holds what a searcher matched: documents and their scores.
type postingBuf struct {
	hits   []int32
	scores []float64
}

var postingBufs = sync.Pool{New: func() any { return &postingBuf{} }}

// scratch is a clause's per-document arrays, reused from search to search.
type scratch struct {
	hit   []bool
	score []float64
	cnt   []int32
}

func (ix *Index) getScratch() *scratch {
	if sc, ok := ix.scratch.Get().(*scratch); ok {
		clear(sc.hit)
		clear(sc.score)
		clear(sc.cnt)
		return sc
	}
	n := len(ix.ids)
	return &scratch{hit: make([]bool, n), score: make([]float64, n), cnt: make([]int32, n)}
}

// drain runs a searcher to its end, putting the documents it matches and their scores in buf.
func (ix *Index) drain(ctx context.Context, s bsearch.Searcher, buf *postingBuf) error {
	sctx := &bsearch.SearchContext{DocumentMatchPool: bsearch.NewDocumentMatchPool(s.DocumentMatchPoolSize()+1, 0)}
	buf.hits, buf.scores = buf.hits[:0], buf.scores[:0]
	for seen := 0; ; seen++ {
		if seen&1023 == 1023 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		dm, err := s.Next(sctx)
		if err != nil {
			return err
		}
		if dm == nil {
			return nil
		}
		if d := ix.doc(dm.IndexInternalID); d >= 0 {
			score := dm.Score
			if math.IsNaN(score) {
				score = 0
			}
			buf.hits = append(buf.hits, d)
			buf.scores = append(buf.scores, score)
		}
		sctx.DocumentMatchPool.Put(dm)
	}
}

// heapUp and heapDown keep best a min-heap under better.
func heapUp(h []match, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !better(h[p], h[i]) {
			return
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func heapDown(h []match, i int) {
	for {
		l, worst := 2*i+1, i
		if l < len(h) && better(h[worst], h[l]) {
			worst = l
		}
		if r := l + 1; r < len(h) && better(h[worst], h[r]) {
			worst = r
		}
		if worst == i {
			return
		}
		h[i], h[worst] = h[worst], h[i]
		i = worst
	}
}

// filter returns the test of the facet filters, nil when there are none: for each facet named,
// the document has one of the values given.
func (ix *Index) filter(filters map[string][]string) (func(int32) bool, error) {
	f := &ix.facets
	wanted := make([]bool, len(f.field))
	var required uint64 // a bit per facet filtered
	for field, values := range filters {
		if len(values) == 0 {
			continue
		}
		fi := facetOf(field)
		if fi < 0 {
			return nil, fmt.Errorf("no facet %q (facets: %s)", field, strings.Join(Facets, ", "))
		}
		required |= 1 << fi
		for _, v := range values {
			if i, ok := slices.BinarySearch(f.values[fi], v); ok {
				wanted[int(f.base[fi])+i] = true
			}
		}
	}
	if required == 0 {
		return nil, nil
	}
	return func(doc int32) bool {
		var have uint64
		for _, v := range f.docValues(doc) {
			if wanted[v] {
				have |= 1 << f.field[v]
			}
		}
		return have == required
	}, nil
}

// hit returns a document's stored summary.
func (ix *Index) hit(doc int32) (Hit, error) {
	ix.mu.RLock()
	h, ok := ix.hits[doc]
	ix.mu.RUnlock()
	if ok {
		return *h, nil
	}
	text, err := storedText(ix.reader, ix.ids[doc], fieldHit)
	if err != nil {
		return Hit{}, fmt.Errorf("reading %s: %w", ix.ids[doc], err)
	}
	h = &Hit{}
	if err := json.Unmarshal([]byte(text), h); err != nil {
		return Hit{}, fmt.Errorf("reading %s: %w", ix.ids[doc], err)
	}
	ix.mu.Lock()
	ix.hits[doc] = h
	ix.mu.Unlock()
	return *h, nil
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())) / 1000 }

func sortFacetValues(v []FacetValue) {
	slices.SortFunc(v, func(a, b FacetValue) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Value, b.Value))
	})
}

// bleveQuery returns one clause as a bleve query.
func (c *clause) bleveQuery(ix *Index) query.Query {
	switch c.Kind {
	case kindKeyword:
		// Matching scores a constant (see run), whatever the field's norm.
		return leavesQuery(c.Leaves, 0)
	case kindPhrase:
		var disj []query.Query
		for _, f := range c.Fields {
			disj = append(disj, &phraseQuery{ix: ix, field: f, terms: c.Phrase, positions: c.Positions, boost: Boosts[f] * max(c.Boost, minBoost)})
		}
		return query.NewDisjunctionQuery(disj)
	}
	return leavesQuery(c.Leaves, -1)
}

// minBoost keeps a ^0 from zeroing every weight, which would make bleve's query norm infinite.
const minBoost = 1e-3

// leavesQuery returns the disjunction of the leaves' term queries; boost -1 keeps each leaf's.
func leavesQuery(leaves []leaf, boost float64) query.Query {
	disj := make([]query.Query, 0, len(leaves))
	for _, l := range leaves {
		tq := query.NewTermQuery(l.Term)
		tq.SetField(l.Field)
		if boost >= 0 {
			tq.SetBoost(boost)
		} else {
			tq.SetBoost(max(l.Boost, 0))
		}
		disj = append(disj, tq)
	}
	return query.NewDisjunctionQuery(disj)
}
