package search

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"

	bsearch "github.com/blevesearch/bleve/v2/search"
)

// result is one clause's matches as run finds them.
type result struct {
	c  *clause
	sc *scratch // the sums per document (the exhaustive way, see run)
	// The bounded way (see topK):
	leaves   []int32     // kindTerms: the clause's leaves, in order, as indexes in runState.leaves
	phrases  []int32     // kindPhrase: the phrase in each of its fields, as indexes in runState.phrases
	task     *task       // kindKeyword, and excluded phrases: the bleve searcher run for the clause
	excluded []*postings // an exclusion of terms: their postings
	set      []uint64    // the documents the clause matches
}

// task is a bleve searcher whose matches make a whole clause's result.
type task struct {
	s   bsearch.Searcher
	r   *result
	buf *postingBuf
}

// leafRun is a term leaf being scored: its postings, boost and idf.
type leafRun struct {
	r          *result
	p          *postings
	boost, idf float64
}

// phraseRun is a phrase in one field: the conjunction of its terms there, checked against the
// stored text.
type phraseRun struct {
	r     *result
	c     *clause
	field string
	terms []leafRun // the phrase's distinct terms, by their document counts
	docs  []int32   // for topK: the documents that have the phrase in the field, ascending
}

// runState is what topK needs of a plan prepared by run.
type runState struct {
	musts, shoulds, nots, results []*result
	leaves                        []leafRun
	phrases                       []phraseRun
	norm                          float64
	bonus                         bool // the extra should clause, matching when every other does
}

// unit is what topK visits the documents of: a term leaf, a phrase in a field, or a clause of
// field values.
type unit struct {
	leaf   int32 // index in runState.leaves, or -1
	phrase int32 // index in runState.phrases, or -1
	r      *result
	max    float64 // the most a document can have from it
	docs   []int32
}

// topK is run's bounded way, for plans without phrases to score (nearly every query): it finds
// the same matches, totals, facet counts and best n, with the same scores to the bit, without
// scoring every match. Which documents match is worked out on bitmaps, a word of 64 documents
// at a time (each clause's documents: the union of its leaves' postings; then the musts
// intersected, or the shoulds united, less the exclusions, filtered), which gives the total and
// the facet counts. The best n then come from scoring documents one at a time, each exactly as
// run sums it (its leaves' scores added in the same order, found in the postings by rank), in
// the spirit of MaxScore: the units (leaves and field-value clauses) are visited by the most
// they can add, highest first, and each one's matching documents not yet scored are scored;
// the visit stops once n are held and a document found only in the units not yet visited could
// not score as much as the n-th, even having the most of every one of them. When a common term
// matches most products, the rare terms and the fields with high boosts fill the best n early,
// and the long postings lists are never walked.
func (ix *Index) topK(ctx context.Context, st *runState, filter []uint64, n int, counts []int, total *int, bufs *runBufs) ([]match, error) {
	docs := len(ix.ids)
	words := (docs + 63) / 64
	newSet := func() []uint64 {
		k := len(bufs.sets)
		if k < cap(bufs.sets) {
			bufs.sets = bufs.sets[:k+1]
		} else {
			bufs.sets = append(bufs.sets, nil)
		}
		s := slices.Grow(bufs.sets[k][:0], words)[:words]
		clear(s)
		bufs.sets[k] = s
		return s
	}
	bufs.sets = bufs.sets[:0]
	for i := range st.phrases {
		pr := &st.phrases[i]
		docs, err := ix.phraseDocs(ctx, pr, bufs)
		if err != nil {
			return nil, err
		}
		pr.docs = docs
	}
	for _, r := range st.results {
		if r.c.Occur == mustNot && r.task == nil && r.excluded == nil {
			continue
		}
		r.set = newSet()
		for _, i := range r.leaves {
			st.leaves[i].p.addTo(r.set)
		}
		for _, i := range r.phrases {
			for _, d := range st.phrases[i].docs {
				r.set[d/64] |= 1 << (d % 64)
			}
		}
		for _, ps := range r.excluded {
			ps.addTo(r.set)
		}
		if t := r.task; t != nil {
			for _, d := range t.buf.hits {
				r.set[d/64] |= 1 << (d % 64)
			}
		}
	}
	matched := slices.Grow(bufs.matched[:0], words)[:words]
	bufs.matched = matched
	switch {
	case len(st.musts) > 0:
		for w := range matched {
			matched[w] = ^uint64(0)
		}
		for _, r := range st.musts {
			if r.set == nil {
				clear(matched)
				break
			}
			for w, m := range r.set {
				matched[w] &= m
			}
		}
	case len(st.shoulds) > 0:
		clear(matched)
		for _, r := range st.shoulds {
			for w, m := range r.set {
				matched[w] |= m
			}
		}
	default:
		for w := range matched {
			matched[w] = ^uint64(0)
		}
	}
	if r := docs % 64; r != 0 {
		matched[words-1] &= 1<<r - 1
	}
	for _, r := range st.nots {
		for w, m := range r.set {
			matched[w] &^= m
		}
	}
	if filter != nil {
		for w, m := range filter {
			matched[w] &= m
		}
	}
	for _, m := range matched {
		*total += bits.OnesCount64(m)
	}
	ix.facets.countWith(matched, *total, counts, &bufs.count)
	if n == 0 || *total == 0 {
		return nil, nil
	}

	best := make([]match, 0, min(n, *total))
	push := func(m match) {
		switch {
		case len(best) < n:
			best = append(best, m)
			heapUp(best, len(best)-1)
		case better(m, best[0]):
			best[0] = m
			heapDown(best, 0)
		}
	}
	if len(st.musts) == 0 && len(st.shoulds) == 0 {
		// Only exclusions: every other product, equally; the first n by number.
		for w, m := range matched {
			for ; m != 0 && len(best) < n; m &= m - 1 {
				push(match{int32(w*64 + bits.TrailingZeros64(m)), 1})
			}
		}
		return sortBest(best), nil
	}

	clauses := len(st.shoulds)
	if st.bonus {
		clauses++
	}
	// value is a clause's score of a document it matches, as run's scratch gives it.
	value := func(r *result, d int32) float64 {
		if r.task != nil {
			return max(r.c.Boost, minBoost) * st.norm
		}
		sum, cnt := 0.0, 0
		if r.c.Kind == kindPhrase {
			for _, i := range r.phrases {
				pr := &st.phrases[i]
				if _, ok := slices.BinarySearch(pr.docs, d); !ok {
					continue
				}
				sum += pr.score(d, st.norm)
				cnt++
			}
			return sum * (float64(cnt) / float64(len(r.c.Fields)))
		}
		for _, i := range r.leaves {
			l := &st.leaves[i]
			k := l.p.find(d)
			if k < 0 {
				continue
			}
			sum += l.score(k, st.norm)
			cnt++
		}
		return sum * (float64(cnt) / float64(len(r.c.Leaves)))
	}
	score := func(d int32) float64 {
		s := 0.0
		for _, r := range st.musts {
			s += value(r, d)
		}
		matched, sum := 0, 0.0
		for _, r := range st.shoulds {
			if r.set != nil && r.set[d/64]&(1<<(d%64)) != 0 {
				matched++
				sum += value(r, d)
			}
		}
		if st.bonus && matched == len(st.shoulds) {
			matched++
			sum += sum
		}
		if matched > 0 {
			s += sum * float64(matched) / float64(clauses)
		}
		return s
	}

	// The units, by the most they can add, highest first.
	units := bufs.units[:0]
	for i := range st.leaves {
		l := &st.leaves[i]
		if len(l.p.docs) > 0 {
			units = append(units, unit{leaf: int32(i), phrase: -1, r: l.r, max: l.maxScore(st.norm), docs: l.p.docs})
		}
	}
	for i := range st.phrases {
		pr := &st.phrases[i]
		if len(pr.docs) > 0 {
			units = append(units, unit{leaf: -1, phrase: int32(i), r: pr.r, max: pr.maxScore(st.norm), docs: pr.docs})
		}
	}
	for _, r := range st.results {
		if r.task != nil && r.c.Occur != mustNot && len(r.task.buf.hits) > 0 {
			units = append(units, unit{leaf: -1, phrase: -1, r: r, max: max(r.c.Boost, minBoost) * st.norm, docs: r.task.buf.hits})
		}
	}
	slices.SortStableFunc(units, func(a, b unit) int {
		switch {
		case a.max > b.max:
			return -1
		case a.max < b.max:
			return 1
		}
		return 0
	})
	bufs.units = units
	// bound is the most a document found only in units[from:] can score, or -Inf when such a
	// document cannot match; a little more than that, for safety against rounding.
	bound := func(from int) float64 {
		left := units[from:]
		in := func(r *result) (sum float64, cnt int) {
			if r.task != nil {
				for _, u := range left {
					if u.r == r {
						return max(r.c.Boost, minBoost) * st.norm, 1
					}
				}
				return 0, 0
			}
			parts, isPhrase := r.leaves, r.c.Kind == kindPhrase
			if isPhrase {
				parts = r.phrases
			}
			for _, i := range parts {
				for _, u := range left {
					if !isPhrase && u.leaf == i || isPhrase && u.phrase == i {
						sum += u.max
						cnt++
						break
					}
				}
			}
			if cnt == 0 {
				return 0, 0
			}
			if isPhrase {
				return sum * (float64(cnt) / float64(len(r.c.Fields))), cnt
			}
			return sum * (float64(cnt) / float64(len(r.c.Leaves))), cnt
		}
		s := 0.0
		for _, r := range st.musts {
			v, cnt := in(r)
			if cnt == 0 {
				return math.Inf(-1)
			}
			s += v
		}
		matched, sum := 0, 0.0
		for _, r := range st.shoulds {
			if v, cnt := in(r); cnt > 0 {
				matched++
				sum += v
			}
		}
		if len(st.musts) == 0 && matched == 0 {
			return math.Inf(-1)
		}
		if st.bonus && matched == len(st.shoulds) {
			matched++
			sum += sum
		}
		if matched > 0 {
			s += sum * float64(matched) / float64(clauses)
		}
		return s*(1+1e-9) + 1e-300
	}
	seen := slices.Grow(bufs.seen[:0], words)[:words]
	clear(seen)
	bufs.seen = seen
	scored := 0
	defer func() { ix.scored.Add(int64(scored)) }()
	visit := func(d int32) {
		w, b := d/64, uint64(1)<<(d%64)
		if matched[w]&b == 0 || seen[w]&b != 0 {
			return
		}
		seen[w] |= b
		scored++
		push(match{d, score(d)})
	}
	for i, u := range units {
		if len(best) == n && bound(i) < best[0].score {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for _, d := range u.docs {
			visit(d)
		}
	}
	return sortBest(best), nil
}

// sortBest orders the best matches, best first.
func sortBest(best []match) []match {
	slices.SortFunc(best, func(a, b match) int {
		if better(a, b) {
			return -1
		}
		return 1
	})
	return best
}

// score is bleve's TermQueryScorer's score of the posting at k (see run), 0 for NaN.
func (l *leafRun) score(k int, norm float64) float64 {
	score := l.rawScore(k, norm)
	if math.IsNaN(score) {
		score = 0
	}
	return score
}

// rawScore is score, NaN kept: a phrase's conjunction sums its terms' scores as they come.
func (l *leafRun) rawScore(k int, norm float64) float64 {
	qw := l.boost * l.idf * norm
	score := l.p.tfn[k] * l.idf
	if qw != 1.0 {
		score = score * qw
	}
	return score
}

// maxScore is the highest score of a posting of the leaf: that of the highest tf·norm, the
// arithmetic being monotonic.
func (l *leafRun) maxScore(norm float64) float64 {
	qw := l.boost * l.idf * norm
	score := l.p.maxTfn * l.idf
	if qw != 1.0 {
		score = score * qw
	}
	if math.IsNaN(score) {
		return math.Inf(1)
	}
	return score
}

// find returns the index of document d in the postings, or -1: with the bitmap, by rank.
func (p *postings) find(d int32) int {
	if p.bits != nil {
		w, b := d/64, uint64(1)<<(d%64)
		m := p.bits[w]
		if m&b == 0 {
			return -1
		}
		return int(p.rank[w]) + bits.OnesCount64(m&(b-1))
	}
	if i, ok := slices.BinarySearch(p.docs, d); ok {
		return i
	}
	return -1
}

// addTo adds the postings' documents to a bitmap.
func (p *postings) addTo(set []uint64) {
	if p.bits != nil {
		for w, m := range p.bits {
			set[w] |= m
		}
		return
	}
	for _, d := range p.docs {
		set[d/64] |= 1 << (d % 64)
	}
}

// sort orders the postings by document number: bleve's order is that of its internal numbers,
// which follow the order documents were added in, not their IDs.
func (p *postings) sort() {
	if slices.IsSorted(p.docs) {
		return
	}
	order := make([]int32, len(p.docs))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(p.docs[a], p.docs[b]) })
	docs, tfn := make([]int32, len(order)), make([]float64, len(order))
	for i, k := range order {
		docs[i], tfn[i] = p.docs[k], p.tfn[k]
	}
	p.docs, p.tfn = docs, tfn
}

// index fills the postings' maximum tf·norm and, for lists of more than one document in
// bitmapEvery of docs, the bitmap of their documents with its ranks.
func (p *postings) index(docs int) {
	for _, t := range p.tfn {
		if t > p.maxTfn || math.IsNaN(t) {
			p.maxTfn = t
		}
	}
	if len(p.docs)*bitmapEvery < docs {
		return
	}
	words := (docs + 63) / 64
	p.bits = make([]uint64, words)
	p.rank = make([]int32, words)
	for _, d := range p.docs {
		p.bits[d/64] |= 1 << (d % 64)
	}
	n := int32(0)
	for w, m := range p.bits {
		p.rank[w] = n
		n += int32(bits.OnesCount64(m))
	}
}

// bitmapEvery: postings lists of at least one document in bitmapEvery have a bitmap (12 bytes
// per 64 documents with its ranks; the list itself takes 12 bytes per document).
const bitmapEvery = 32

// score is a document's score from the phrase in the field, as run sums it: its terms' scores
// added in order; the document has the phrase.
func (pr *phraseRun) score(d int32, norm float64) float64 {
	sum := 0.0
	for i := range pr.terms {
		l := &pr.terms[i]
		sum += l.rawScore(l.p.find(d), norm)
	}
	if math.IsNaN(sum) {
		sum = 0
	}
	return sum
}

// maxScore is the most a document can score from the phrase in the field.
func (pr *phraseRun) maxScore(norm float64) float64 {
	sum := 0.0
	for i := range pr.terms {
		sum += pr.terms[i].maxScore(norm)
	}
	return sum
}

// phraseDocs returns the documents that have a phrase in a field, ascending: those with every
// term of the phrase, checked against their text. They are kept with the postings: a phrase
// searched again costs what a term does.
func (ix *Index) phraseDocs(ctx context.Context, pr *phraseRun, bufs *runBufs) ([]int32, error) {
	key := [2]string{pr.field, phraseKey(pr.c)}
	ix.pmu.Lock()
	docs, ok := ix.phraseSets[key]
	ix.pmu.Unlock()
	if ok {
		return docs, nil
	}
	if len(pr.terms) == 0 {
		return nil, nil
	}
	cands := bufs.phraseDocs[:0]
	for k, d := range pr.terms[0].p.docs {
		if k&4095 == 4095 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		all := true
		for i := 1; i < len(pr.terms) && all; i++ {
			all = pr.terms[i].p.find(d) >= 0
		}
		if all {
			cands = append(cands, d)
		}
	}
	bufs.phraseDocs = cands
	docs = []int32{}
	ix.checkPhrase(cands, pr.field, pr.c.Phrase, pr.c.Positions, &bufs.pending, func(d int32) { docs = append(docs, d) })
	slices.Sort(docs)
	ix.pmu.Lock()
	if ix.cachedPostings+len(docs) > maxCachedPostings {
		clear(ix.postings)
		clear(ix.phraseSets)
		ix.cachedPostings = 0
	}
	ix.phraseSets[key] = docs
	ix.cachedPostings += len(docs)
	ix.pmu.Unlock()
	return docs, nil
}

// phraseKey names a phrase: its terms and their relative positions.
func phraseKey(c *clause) string {
	var b strings.Builder
	for i, t := range c.Phrase {
		fmt.Fprintf(&b, "%d:%s\x00", c.Positions[i], t)
	}
	return b.String()
}
