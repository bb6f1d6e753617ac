package search

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/mapping"
	index "github.com/blevesearch/bleve_index_api"
)

// Index is an open search index. It is read-only and safe for concurrent use.
//
// Bleve's searchers find and score the products; Index collects them itself: the best ones in a
// small heap, and the facet counts from a table of every product's keyword values kept in
// memory, since visiting bleve's doc values for each match costs more than the search.
type Index struct {
	idx     bleve.Index
	reader  index.IndexReader
	mapping mapping.IndexMapping

	ids    []string // document number → product ID, sorted
	docOf  []int32  // bleve's internal document number → document number, or -1
	terms  []string // distinct terms of the text fields, sorted
	facets facetIndex
	labels map[string]map[string]string
	// facetLabels names the facets' values, by value number ("" where a value has no label).
	facetLabels []string

	mu        sync.RWMutex
	df        map[[2]string]int   // (field, term) → documents, filled as queries ask
	keywords  map[string][]string // values in use of the keyword fields that are not facets
	hits      map[int32]*Hit      // stored summaries, read as results need them
	texts     [][][]int32         // per phrase field, per document: its analyzed stored text, for phrases: term numbers by position (nil: not yet)
	termIDs   map[string]int32
	descs     map[int32]string // stored descriptions, for highlights
	descBytes int

	smu       sync.Mutex
	scratches []*scratch // for run

	docCount       uint64 // bleve's count of documents, for the idf
	pmu            sync.Mutex
	postings       map[[2]string]*postings // (field, term) → postings, see postingsOf
	phraseSets     map[[2]string][]int32   // (field, phrase) → documents, see phraseDocs
	cachedPostings int
	plans          map[string]*plan // parsed queries, see plan

	// exhaustive makes run score every match, as it does for phrases (for tests: the bounded
	// way, topK, must find the same); scored counts the documents topK scored.
	exhaustive bool
	scored     atomic.Int64

	wmu       sync.RWMutex
	words     map[wordKey][]word // analysed first pieces of hits' texts, see matches
	wordCount int
}

// facetIndex holds the facets in memory: each facet's values in use, numbered one after the
// other across facets, each document's value numbers in one flat array (for filters) and per
// facet (for counting), each value's documents as a bitmap (for counting too: a match set ANDed
// with a value's bitmap, a word at a time), and the counts over every document.
type facetIndex struct {
	values  [][]string // per facet (in Facets order), sorted
	base    []int32    // per facet: the number of its first value
	field   []int32    // value number → facet
	offsets []int32    // document number → start of its values in vals; one more at the end
	vals    []int32    // value numbers
	byFacet []docValues
	bitmaps [][]uint64 // value number → its documents
	full    []int      // value number → documents that have it
}

// docValues is one facet's values of each document.
type docValues struct {
	offsets []int32 // document number → start of its values in vals; one more at the end
	vals    []int32
}

// count adds to counts, per value, the documents of matched (a bitmap of total documents) that
// have it. Every document: the counts kept. More than half of them: the counts kept minus those
// of the others. Otherwise each facet is counted the cheaper of two ways: ANDing each value's
// bitmap with matched, whose cost grows with the number of values (thousands of publishers and
// tags at 100 000 products), or adding up the values of each matched document, whose cost grows
// with the matches. All count the same.
func (f *facetIndex) count(matched []uint64, total int, counts []int) {
	f.countWith(matched, total, counts, &countBufs{})
}

// countBufs are count's working arrays, kept from one search to the next.
type countBufs struct {
	others []uint64
	rest   []int
	list   []int32
}

func (f *facetIndex) countWith(matched []uint64, total int, counts []int, b *countBufs) {
	docs := len(f.offsets) - 1
	switch {
	case total == docs:
		for v, n := range f.full {
			counts[v] += n
		}
	case total*2 > docs:
		others := slices.Grow(b.others[:0], len(matched))[:len(matched)]
		b.others = others
		for w, m := range matched {
			others[w] = ^m
		}
		if r := docs % 64; r != 0 {
			others[len(others)-1] &= 1<<r - 1
		}
		rest := slices.Grow(b.rest[:0], len(counts))[:len(counts)]
		clear(rest)
		b.rest = rest
		f.countSet(others, docs-total, rest, b)
		for v, n := range f.full {
			counts[v] += n - rest[v]
		}
	default:
		f.countSet(matched, total, counts, b)
	}
}

func (f *facetIndex) countSet(matched []uint64, total int, counts []int, b *countBufs) {
	words := 0
	for _, m := range matched {
		if m != 0 {
			words++
		}
	}
	docs := len(f.offsets) - 1
	var list []int32 // the matched documents, listed once if a facet counts by document
	listed := false
	for fi, dv := range f.byFacet {
		values := len(f.values[fi])
		perDoc := 1
		if docs > 0 {
			perDoc = max(1, len(dv.vals)/docs)
		}
		first := int(f.base[fi])
		if total*perDoc < values*words {
			if !listed {
				listed = true
				list = slices.Grow(b.list[:0], total)
				for w, m := range matched {
					for m != 0 {
						list = append(list, int32(w*64+bits.TrailingZeros64(m)))
						m &= m - 1
					}
				}
				b.list = list
			}
			for _, d := range list {
				for _, v := range dv.vals[dv.offsets[d]:dv.offsets[d+1]] {
					counts[v]++
				}
			}
			continue
		}
		for v := first; v < first+values; v++ {
			bm, n := f.bitmaps[v], 0
			for w, m := range matched {
				if m != 0 {
					n += bits.OnesCount64(m & bm[w])
				}
			}
			counts[v] += n
		}
	}
}

// docValues returns a document's value numbers.
func (f *facetIndex) docValues(doc int32) []int32 { return f.vals[f.offsets[doc]:f.offsets[doc+1]] }

// facetOf returns the index of a facet in Facets, or -1.
func facetOf(field string) int { return slices.Index(Facets, field) }

// ErrNoIndex is returned by Open when there is no index.
var ErrNoIndex = errors.New("no search index")

// Open opens the index in dir: an output folder of `marketplace build` (holding search.bleve)
// or the index folder itself. The index is opened read-only, so any number of processes may
// search it while nothing writes to it.
func Open(dir string) (*Index, error) {
	path := dir
	if _, err := os.Stat(filepath.Join(dir, IndexDir)); err == nil {
		path = filepath.Join(dir, IndexDir)
	}
	if _, err := os.Stat(filepath.Join(path, "index_meta.json")); err != nil {
		return nil, fmt.Errorf("%w in %s (build the site with `marketplace build` first)", ErrNoIndex, dir)
	}
	idx, err := bleve.OpenUsing(path, map[string]any{"read_only": true})
	if err != nil {
		return nil, fmt.Errorf("opening the search index %s: %w", path, err)
	}
	ix := &Index{
		idx: idx, mapping: idx.Mapping(), df: map[[2]string]int{}, keywords: map[string][]string{},
		hits: map[int32]*Hit{}, texts: make([][][]int32, len(phraseFields)), termIDs: map[string]int32{}, descs: map[int32]string{},
	}
	if err := ix.load(); err != nil {
		ix.Close()
		return nil, fmt.Errorf("opening the search index %s: %w", path, err)
	}
	return ix, nil
}

func (ix *Index) load() error {
	var m meta
	if data, err := ix.idx.GetInternal(keyMeta); err != nil || json.Unmarshal(data, &m) != nil {
		return errors.New("not a marketplace search index")
	}
	if m != currentMeta() {
		return fmt.Errorf("written by another version of marketplace (index version %d); rebuild the site", m.Version)
	}
	if data, err := ix.idx.GetInternal(keyLabels); err == nil && data != nil {
		if err := json.Unmarshal(data, &ix.labels); err != nil {
			return err
		}
	}
	adv, err := ix.idx.Advanced()
	if err != nil {
		return err
	}
	if ix.reader, err = adv.Reader(); err != nil {
		return err
	}
	if ix.docCount, err = ix.reader.DocCount(); err != nil {
		return err
	}
	ix.postings = map[[2]string]*postings{}
	ix.phraseSets = map[[2]string][]int32{}
	ix.plans = map[string]*plan{}
	ix.words = map[wordKey][]word{}
	if err := ix.loadDocs(); err != nil {
		return err
	}
	var all []string
	for _, f := range TextFields {
		terms, err := ix.fieldTerms(f)
		if err != nil {
			return err
		}
		all = append(all, terms...)
	}
	slices.Sort(all)
	ix.terms = slices.Compact(all)
	return ix.loadFacets()
}

// loadDocs numbers the live documents in ID order.
func (ix *Index) loadDocs() error {
	r, err := ix.reader.DocIDReaderAll()
	if err != nil {
		return err
	}
	defer r.Close()
	type doc struct {
		internal uint64
		id       string
	}
	var docs []doc
	var top uint64
	for {
		iid, err := r.Next()
		if err != nil {
			return err
		}
		if iid == nil {
			break
		}
		id, err := ix.reader.ExternalID(iid)
		if err != nil {
			return err
		}
		docs = append(docs, doc{iid.Value(), id})
		top = max(top, iid.Value())
	}
	slices.SortFunc(docs, func(a, b doc) int { return strings.Compare(a.id, b.id) })
	ix.ids = make([]string, len(docs))
	ix.docOf = make([]int32, top+1)
	for i := range ix.docOf {
		ix.docOf[i] = -1
	}
	for i, d := range docs {
		ix.ids[i] = d.id
		ix.docOf[d.internal] = int32(i)
	}
	return nil
}

// doc returns the document number of a match, or -1.
func (ix *Index) doc(id index.IndexInternalID) int32 {
	if n := id.Value(); n < uint64(len(ix.docOf)) {
		return ix.docOf[n]
	}
	return -1
}

// loadFacets reads the facets' values and the documents that have each.
func (ix *Index) loadFacets() error {
	perDoc := make([][]int32, len(ix.ids))
	f := &ix.facets
	for fi, field := range Facets {
		values, err := ix.fieldTerms(field)
		if err != nil {
			return err
		}
		f.base = append(f.base, int32(len(f.field)))
		var live []string
		for _, v := range values {
			tfr, err := ix.reader.TermFieldReader(context.Background(), []byte(v), field, false, false, false)
			if err != nil {
				return err
			}
			id, any := int32(len(f.field)), false
			for {
				m, err := tfr.Next(nil)
				if err != nil {
					tfr.Close()
					return err
				}
				if m == nil {
					break
				}
				if d := ix.doc(m.ID); d >= 0 {
					perDoc[d] = append(perDoc[d], id)
					any = true
				}
			}
			tfr.Close()
			if any { // after incremental updates the dictionary may keep values no product has
				live = append(live, v)
				f.field = append(f.field, int32(fi))
			}
		}
		f.values = append(f.values, live)
	}
	f.fill(perDoc)
	ix.facetLabels = make([]string, len(f.field))
	for fi, field := range Facets {
		for vi, v := range f.values[fi] {
			ix.facetLabels[int(f.base[fi])+vi] = ix.labels[field][v]
		}
	}
	return nil
}

// fill makes the tables of the facets, whose values are known, from each document's value
// numbers (ascending).
func (f *facetIndex) fill(perDoc [][]int32) {
	f.offsets = make([]int32, 0, len(perDoc)+1)
	f.bitmaps = make([][]uint64, len(f.field))
	f.full = make([]int, len(f.field))
	f.byFacet = make([]docValues, len(f.values))
	words := (len(perDoc) + 63) / 64
	for v := range f.bitmaps {
		f.bitmaps[v] = make([]uint64, words)
	}
	for d, vs := range perDoc {
		f.offsets = append(f.offsets, int32(len(f.vals)))
		f.vals = append(f.vals, vs...)
		for fi := range f.byFacet {
			dv := &f.byFacet[fi]
			dv.offsets = append(dv.offsets, int32(len(dv.vals)))
		}
		for _, v := range vs {
			f.bitmaps[v][d/64] |= 1 << (d % 64)
			f.full[v]++
			dv := &f.byFacet[f.field[v]]
			dv.vals = append(dv.vals, v)
		}
	}
	f.offsets = append(f.offsets, int32(len(f.vals)))
	for fi := range f.byFacet {
		dv := &f.byFacet[fi]
		dv.offsets = append(dv.offsets, int32(len(dv.vals)))
	}
}

func (ix *Index) fieldTerms(field string) ([]string, error) {
	d, err := ix.reader.FieldDict(field)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	var out []string
	for {
		e, err := d.Next()
		if err != nil {
			return nil, err
		}
		if e == nil {
			return out, nil
		}
		out = append(out, e.Term)
	}
}

// Close releases the index.
func (ix *Index) Close() error {
	var err error
	if ix.reader != nil {
		err = ix.reader.Close()
	}
	return cmp.Or(ix.idx.Close(), err)
}

// Documents returns the number of products in the index.
func (ix *Index) Documents() int { return len(ix.ids) }

// docFreq implements dictionary with the live count of documents, which the dictionary's own
// counts are not after incremental updates.
func (ix *Index) docFreq(field, term string) int {
	k := [2]string{field, term}
	ix.mu.RLock()
	n, ok := ix.df[k]
	ix.mu.RUnlock()
	if ok {
		return n
	}
	tfr, err := ix.reader.TermFieldReader(context.Background(), []byte(term), field, false, false, false)
	if err == nil {
		n = int(tfr.Count())
		tfr.Close()
	}
	ix.mu.Lock()
	if len(ix.df) < 1<<20 {
		ix.df[k] = n
	}
	ix.mu.Unlock()
	return n
}

func (ix *Index) textTerms() []string { return ix.terms }

func (ix *Index) keywordValues(field string) []string {
	if fi := facetOf(field); fi >= 0 {
		return ix.facets.values[fi]
	}
	ix.mu.RLock()
	v, ok := ix.keywords[field]
	ix.mu.RUnlock()
	if ok {
		return v
	}
	values, _ := ix.fieldTerms(field)
	values = slices.DeleteFunc(values, func(v string) bool { return ix.docFreq(field, v) == 0 })
	ix.mu.Lock()
	ix.keywords[field] = values
	ix.mu.Unlock()
	return values
}
