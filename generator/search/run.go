package search

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
)

// Search runs a search.
func (ix *Index) Search(ctx context.Context, req Request) (*Result, error) {
	start := time.Now()
	size := cmp.Or(req.Size, DefaultSize)
	if size < 0 || size > MaxSize {
		return nil, fmt.Errorf("size %d: want 1 to %d", size, MaxSize)
	}
	from := max(req.From, 0)
	bufs := runBufPool.Get().(*runBufs)
	defer runBufPool.Put(bufs)
	filter, err := ix.filter(req.Filters, bufs)
	if err != nil {
		return nil, err
	}
	p, err := ix.plan(req.Query)
	if err != nil {
		return nil, err
	}
	res := &Result{Query: req.Query, Hits: []Hit{}}
	counts := slices.Grow(bufs.counts[:0], len(ix.facets.field))[:len(ix.facets.field)]
	clear(counts)
	bufs.counts = counts
	best, err := ix.run(ctx, p, filter, from+size, counts, &res.Total, bufs)
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
	// Each facet's values counted, most first, then by value: the value numbers follow the
	// values' order, so sorting the numbers by count compares no strings.
	var order, buckets []int32
	for fi, f := range Facets {
		base := int(ix.facets.base[fi])
		order = order[:0]
		for vi := range ix.facets.values[fi] {
			if counts[base+vi] > 0 {
				order = append(order, int32(base+vi))
			}
		}
		order = sortByCount(order, counts, &buckets)
		if req.FacetSize > 0 && len(order) > req.FacetSize {
			order = order[:req.FacetSize]
		}
		facet := Facet{Field: f, Values: make([]FacetValue, len(order))}
		for i, v := range order {
			facet.Values[i] = FacetValue{Value: ix.facets.values[fi][int(v)-base], Label: ix.facetLabels[v], Count: counts[v]}
		}
		res.Facets = append(res.Facets, facet)
	}
	res.TookMS = ms(time.Since(start))
	return res, nil
}

// sortByCount orders value numbers (ascending) by their counts, most first, the numbers of
// equal counts staying in order: by counting when the counts are small next to the values (the
// thousands of publishers, each with a few products), else by sorting.
func sortByCount(order []int32, counts []int, buckets *[]int32) []int32 {
	top := 0
	for _, v := range order {
		top = max(top, counts[v])
	}
	if top > 4*len(order)+64 {
		slices.SortFunc(order, func(a, b int32) int { return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(a, b)) })
		return order
	}
	// starts[c] is where the values counted c begin, in the order of counts, most first.
	starts := slices.Grow((*buckets)[:0], top+2)[:top+2]
	clear(starts)
	for _, v := range order {
		starts[top-counts[v]+1]++
	}
	for i := 1; i < len(starts); i++ {
		starts[i] += starts[i-1]
	}
	out := make([]int32, len(order))
	for _, v := range order {
		k := top - counts[v]
		out[starts[k]] = v
		starts[k]++
	}
	*buckets = starts
	copy(order, out)
	return order
}

// plan returns a query parsed, from the plans kept when it was parsed before: analysing the
// words and expanding them (prefixes, typos) is the same work every time, and the index does
// not change while it is open.
func (ix *Index) plan(q string) (*plan, error) {
	ix.pmu.Lock()
	p, ok := ix.plans[q]
	ix.pmu.Unlock()
	if ok {
		return p, nil
	}
	p, err := parse(q, ix)
	if err != nil {
		return nil, err
	}
	ix.pmu.Lock()
	if len(ix.plans) >= maxPlans {
		clear(ix.plans)
	}
	ix.plans[q] = p
	ix.pmu.Unlock()
	return p, nil
}

// maxPlans bounds the parsed queries kept.
const maxPlans = 4096

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
// scores one: each term query as bleve's TermSearcher does (TF-IDF, with the query norm of the
// whole query), a disjunction as the sum of its matches times the fraction matched, the boolean
// as the sum of its must clauses plus that of its should clauses times the fraction matched —
// and one more should clause, matching when all the others do and adding their scores again, so
// that products matching every word come first. Bleve's own disjunction and boolean searchers
// would merge the postings document by document, and search every clause a second time for the
// last one; here each term query is scored from its postings (kept in memory, as tf·norm per
// document, by postingsOf), with the same arithmetic as bleve's scorer. Field values (matching
// only) run as whole bleve searchers. Once the clauses are prepared, topK finds the matches on
// bitmaps and scores only the documents that may rank among the best n; the exhaustive way,
// kept for tests (Index.exhaustive), sums every match's scores over arrays indexed by document
// that only the documents matched touch, phrases being filtered conjunctions of their terms.
func (ix *Index) run(ctx context.Context, p *plan, filter []uint64, n int, counts []int, total *int, bufs *runBufs) ([]match, error) {
	docs := len(ix.ids)
	var phrases []phraseRun
	var musts, shoulds, nots []*result
	var tasks []*task
	var leaves []leafRun
	var results []*result
	defer func() {
		for _, t := range tasks {
			t.s.Close()
			if t.buf != nil {
				postingBufs.Put(t.buf)
			}
		}
		for _, r := range results {
			if r.sc != nil {
				ix.putScratch(r.sc)
			}
		}
	}()
	docTotal := float64(ix.docCount)
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
		case c.Kind == kindTerms && c.Occur == mustNot:
			// An exclusion only needs to know what matches: the postings kept say it. Its
			// weight counts in the query norm as that of bleve's searcher for it, which is
			// made (not run) for it.
			for _, l := range c.Leaves {
				ps, err := ix.postingsOf(ctx, l.Field, l.Term)
				if err != nil {
					return nil, err
				}
				r.excluded = append(r.excluded, ps)
			}
			s, err := c.bleveQuery(ix).Searcher(ctx, ix.reader, ix.mapping, bsearch.SearcherOptions{Score: "none"})
			if err != nil {
				return nil, err
			}
			weight += s.Weight()
			s.Close()
		case c.Kind == kindPhrase && c.Occur != mustNot:
			// Scored as bleve's searcher for it scores: per field, a conjunction of the
			// phrase's distinct terms (summed in the order of their document counts, as
			// bleve's conjunction orders its searchers) filtered by the stored text, and the
			// disjunction of the fields.
			for _, f := range c.Fields {
				pr := phraseRun{r: r, c: c, field: f}
				for _, t := range sortedSet(c.Phrase) {
					ps, err := ix.postingsOf(ctx, f, t)
					if err != nil {
						return nil, err
					}
					boost := Boosts[f] * max(c.Boost, minBoost)
					idf := 1.0 + math.Log(docTotal/float64(ps.count+1.0))
					w := boost * idf
					weight += w * w
					pr.terms = append(pr.terms, leafRun{r: r, p: ps, boost: boost, idf: idf})
				}
				slices.SortStableFunc(pr.terms, func(a, b leafRun) int { return cmp.Compare(a.p.count, b.p.count) })
				r.phrases = append(r.phrases, int32(len(phrases)))
				phrases = append(phrases, pr)
			}
		case c.Kind == kindTerms:
			for _, l := range c.Leaves {
				ps, err := ix.postingsOf(ctx, l.Field, l.Term)
				if err != nil {
					return nil, err
				}
				// bleve's TermQueryScorer: idf, and the weight its TermSearcher reports.
				boost := max(l.Boost, 0)
				idf := 1.0 + math.Log(docTotal/float64(ps.count+1.0))
				w := boost * idf
				weight += w * w
				r.leaves = append(r.leaves, int32(len(leaves)))
				leaves = append(leaves, leafRun{r: r, p: ps, boost: boost, idf: idf})
			}
		default:
			// Exclusions (of phrases) and field values only need to know what matches: bleve
			// then merges bitmaps instead of scoring postings.
			var opts bsearch.SearcherOptions
			if c.Occur == mustNot || c.Kind == kindKeyword {
				opts.Score = "none"
			}
			s, err := c.bleveQuery(ix).Searcher(ctx, ix.reader, ix.mapping, opts)
			if err != nil {
				return nil, err
			}
			tasks = append(tasks, &task{s: s, r: r})
			r.task = tasks[len(tasks)-1]
			weight += s.Weight()
			if c.Kind == kindKeyword {
				b := max(c.Boost, minBoost) // the weight of a constant-score query
				weight += b * b
			}
		}
		results = append(results, r)
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

	// Run the bleve searchers, as many at a time as there are processors.
	if len(tasks) > 0 {
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
	}
	if !ix.exhaustive {
		// The best n found without scoring every match (see topK).
		return ix.topK(ctx, &runState{musts: musts, shoulds: shoulds, nots: nots, leaves: leaves, phrases: phrases,
			results: results, norm: norm, bonus: len(shoulds) >= 2 && !emptyShould}, filter, n, counts, total, bufs)
	}
	for _, r := range nots {
		for _, ps := range r.excluded {
			if r.sc == nil {
				r.sc = ix.getScratch()
			}
			for _, d := range ps.docs {
				r.sc.set(d, 0)
			}
		}
	}
	for _, t := range tasks {
		r := t.r
		r.sc = ix.getScratch()
		k := max(r.c.Boost, minBoost) * norm
		for i, d := range t.buf.hits {
			score := t.buf.scores[i]
			if r.c.Kind == kindKeyword {
				score = k
			}
			r.sc.set(d, score)
		}
	}

	// Score the leaves, summing those of each clause, and apply its coordination factor.
	for i, l := range leaves {
		if i&7 == 7 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		r := l.r
		if r.sc == nil {
			r.sc = ix.getScratch()
		}
		// bleve's TermQueryScorer.Score: tf·norm·idf, times the query weight.
		qw := l.boost * l.idf * norm
		for k, d := range l.p.docs {
			score := l.p.tfn[k] * l.idf
			if qw != 1.0 {
				score = score * qw
			}
			if math.IsNaN(score) {
				score = 0
			}
			r.sc.add(d, score)
		}
	}
	for _, pr := range phrases {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		conj := ix.getScratch()
		for _, l := range pr.terms {
			qw := l.boost * l.idf * norm
			for k, d := range l.p.docs {
				score := l.p.tfn[k] * l.idf
				if qw != 1.0 {
					score = score * qw
				}
				conj.add(d, score)
			}
		}
		r := pr.r
		if r.sc == nil {
			r.sc = ix.getScratch()
		}
		all := int32(len(pr.terms))
		cands := bufs.phraseDocs[:0]
		for _, d := range conj.touched {
			if conj.cnt[d] == all {
				cands = append(cands, d)
			}
		}
		bufs.phraseDocs = cands
		ix.checkPhrase(cands, pr.field, pr.c.Phrase, pr.c.Positions, &bufs.pending, func(d int32) {
			score := conj.score[d]
			if math.IsNaN(score) {
				score = 0
			}
			r.sc.add(d, score)
		})
		ix.putScratch(conj)
	}
	for _, r := range results {
		switch {
		case r.sc == nil || r.c.Occur == mustNot:
		case r.c.Kind == kindTerms:
			r.sc.leaves = float64(len(r.c.Leaves))
		case r.c.Kind == kindPhrase:
			r.sc.leaves = float64(len(r.c.Fields))
		}
	}

	bonus := len(shoulds) >= 2 && !emptyShould
	clauses := len(shoulds)
	if bonus {
		clauses++
	}
	words := (docs + 63) / 64
	matchedSet := slices.Grow(bufs.matched[:0], words)[:words]
	clear(matchedSet)
	bufs.matched = matchedSet
	// best is a min-heap of the n best so far: best[0] is the worst of them.
	best := make([]match, 0, min(n, docs)) // from+size may exceed the documents: allocate no more
	consider := func(d int32) {
		score, matched, sum := 0.0, 0, 0.0
		for _, r := range musts {
			if r.sc == nil || r.sc.cnt[d] == 0 {
				return
			}
			score += r.sc.value(d)
		}
		for _, r := range shoulds {
			if r.sc != nil && r.sc.cnt[d] > 0 {
				matched++
				sum += r.sc.value(d)
			}
		}
		switch {
		case len(musts) == 0 && len(shoulds) > 0 && matched == 0:
			return
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
		for _, r := range nots {
			if r.sc != nil && r.sc.cnt[d] > 0 {
				return
			}
		}
		if filter != nil && filter[d/64]&(1<<(d%64)) == 0 {
			return
		}
		*total++
		matchedSet[d/64] |= 1 << (d % 64)
		m := match{d, score}
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
	// The candidates: the documents of the must clause that matches fewest, or those of any
	// should clause (each once), or every document. The order does not matter: ties are
	// broken by document number.
	switch {
	case len(musts) > 0:
		var fewest *result
		for _, r := range musts {
			if r.sc == nil {
				return nil, nil
			}
			if fewest == nil || len(r.sc.touched) < len(fewest.sc.touched) {
				fewest = r
			}
		}
		for _, d := range fewest.sc.touched {
			consider(d)
		}
	case len(shoulds) > 0:
		for i, r := range shoulds {
			if r.sc == nil {
				continue
			}
			for _, d := range r.sc.touched {
				seen := false
				for _, e := range shoulds[:i] {
					if e.sc != nil && e.sc.cnt[d] > 0 {
						seen = true
						break
					}
				}
				if !seen {
					consider(d)
				}
			}
		}
	default:
		for d := range int32(docs) {
			consider(d)
		}
	}
	ix.facets.countWith(matchedSet, *total, counts, &bufs.count)
	slices.SortFunc(best, func(a, b match) int {
		if better(a, b) {
			return -1
		}
		return 1
	})
	return best, nil
}

// runBufs are a search's working arrays, kept from one search to the next: allocating them
// (tens of kilobytes at 100 000 products) made the garbage collector a good part of the cost.
type runBufs struct {
	counts    []int
	matched   []uint64
	count     countBufs
	filter    []uint64
	filterAny []uint64
	seen      []uint64
	sets      [][]uint64 // the clauses' documents, see topK
	units     []unit
	// A phrase's documents to check, and those whose text is not analysed yet.
	phraseDocs, pending []int32
}

var runBufPool = sync.Pool{New: func() any { return &runBufs{} }}

// postingBuf holds what a searcher matched: documents and their scores.
type postingBuf struct {
	hits   []int32
	scores []float64
}

var postingBufs = sync.Pool{New: func() any { return &postingBuf{} }}

// scratch is a clause's per-document sums, reused from search to search: only the entries of
// the documents touched are set, and reset afterwards.
type scratch struct {
	score   []float64
	cnt     []int32 // leaves matched; > 0: the clause matches
	touched []int32 // documents with cnt > 0
	leaves  float64 // a clause of term leaves: their number, for the coordination factor; or 0
}

// value returns the clause's score of a document it matches: a clause of term leaves scores
// the sum of those matched times the fraction of them matched (bleve's disjunction).
func (sc *scratch) value(d int32) float64 {
	if sc.leaves == 0 {
		return sc.score[d]
	}
	return sc.score[d] * (float64(sc.cnt[d]) / sc.leaves)
}

func (sc *scratch) add(d int32, score float64) {
	if sc.cnt[d] == 0 {
		sc.touched = append(sc.touched, d)
	}
	sc.cnt[d]++
	sc.score[d] += score
}

func (sc *scratch) set(d int32, score float64) {
	if sc.cnt[d] == 0 {
		sc.touched = append(sc.touched, d)
	}
	sc.cnt[d] = 1
	sc.score[d] = score
}

func (sc *scratch) reset() {
	for _, d := range sc.touched {
		sc.score[d], sc.cnt[d] = 0, 0
	}
	sc.touched = sc.touched[:0]
	sc.leaves = 0
}

// getScratch and putScratch keep a few scratches for the next searches. (A sync.Pool would
// drop them at every garbage collection, and clearing new ones costs more than a search.)
func (ix *Index) getScratch() *scratch {
	ix.smu.Lock()
	if n := len(ix.scratches); n > 0 {
		sc := ix.scratches[n-1]
		ix.scratches = ix.scratches[:n-1]
		ix.smu.Unlock()
		return sc
	}
	ix.smu.Unlock()
	n := len(ix.ids)
	return &scratch{score: make([]float64, n), cnt: make([]int32, n)}
}

func (ix *Index) putScratch(sc *scratch) {
	sc.reset()
	ix.smu.Lock()
	if len(ix.scratches) < maxScratches {
		ix.scratches = append(ix.scratches, sc)
	}
	ix.smu.Unlock()
}

// maxScratches bounds the scratches kept: 12 bytes a product each.
const maxScratches = 16

// postings is a term's postings list in one field, as scoring needs it: bleve's count of
// documents (for the idf), and each live document's number with its tf·norm — the first
// product of bleve's TermQueryScorer, so that scores computed from it are bleve's to the bit.
type postings struct {
	count uint64
	docs  []int32
	tfn   []float64
	// For topK (see index):
	maxTfn float64
	bits   []uint64 // the documents, for long lists
	rank   []int32  // per word of bits: the documents before it
}

// maxCachedPostings bounds the postings kept in memory (12 bytes each): about 50 MB.
const maxCachedPostings = 4 << 20

// postingsOf returns a term's postings in a field, read from bleve once and kept.
func (ix *Index) postingsOf(ctx context.Context, field, term string) (*postings, error) {
	k := [2]string{field, term}
	ix.pmu.Lock()
	ps, ok := ix.postings[k]
	ix.pmu.Unlock()
	if ok {
		return ps, nil
	}
	tfr, err := ix.reader.TermFieldReader(ctx, []byte(term), field, true, true, false)
	if err != nil {
		return nil, err
	}
	defer tfr.Close()
	ps = &postings{count: tfr.Count()}
	var tfd index.TermFieldDoc
	for seen := 0; ; seen++ {
		if seen&4095 == 4095 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		m, err := tfr.Next(&tfd)
		if err != nil {
			return nil, err
		}
		if m == nil {
			break
		}
		if d := ix.doc(m.ID); d >= 0 {
			ps.docs = append(ps.docs, d)
			ps.tfn = append(ps.tfn, math.Sqrt(float64(m.Freq))*m.Norm)
		}
	}
	ps.sort()
	ps.index(len(ix.ids))
	ix.pmu.Lock()
	if ix.cachedPostings+len(ps.docs)+len(ps.bits) > maxCachedPostings {
		clear(ix.postings) // start again: simpler than an LRU, and as bounded
		clear(ix.phraseSets)
		ix.cachedPostings = 0
	}
	ix.postings[k] = ps
	ix.cachedPostings += len(ps.docs) + len(ps.bits)
	ix.pmu.Unlock()
	return ps, nil
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

// filter returns the documents the facet filters accept, as a bitmap, nil when there are none:
// for each facet named, the documents that have one of the values given.
func (ix *Index) filter(filters map[string][]string, bufs *runBufs) ([]uint64, error) {
	f := &ix.facets
	words := (len(ix.ids) + 63) / 64
	var out, any []uint64
	for _, field := range slices.Sorted(maps.Keys(filters)) {
		values := filters[field]
		if len(values) == 0 {
			continue
		}
		fi := facetOf(field)
		if fi < 0 {
			return nil, fmt.Errorf("no facet %q (facets: %s)", field, strings.Join(Facets, ", "))
		}
		if out == nil {
			out = slices.Grow(bufs.filter[:0], words)[:words]
			bufs.filter = out
			for w := range out {
				out[w] = ^uint64(0)
			}
			any = slices.Grow(bufs.filterAny[:0], words)[:words]
			bufs.filterAny = any
		}
		clear(any)
		for _, v := range values {
			if i, ok := slices.BinarySearch(f.values[fi], v); ok {
				for w, m := range f.bitmaps[int(f.base[fi])+i] {
					any[w] |= m
				}
			}
		}
		for w, m := range any {
			out[w] &= m
		}
	}
	return out, nil
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
