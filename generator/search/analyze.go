package search

import (
	"fmt"
	"hash/maphash"
	"sync"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/token/porter"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/registry"
)

// AnalyzerName is the analyzer of the text fields: bleve's "en" analyzer (Unicode word
// segmentation, possessive 's removed, lower case, English stop words, Porter stemmer) with its
// token filters memoized. The filters are a pure function of each token, and a catalog's
// vocabulary is small, so a cache turns four filters into one map lookup per token while the
// terms stay exactly bleve's. static/search.js implements the same chain for queries.
const AnalyzerName = "marketplace_en"

func init() {
	err := registry.RegisterAnalyzer(AnalyzerName, func(map[string]any, *registry.Cache) (analysis.Analyzer, error) {
		return english, nil
	})
	if err != nil {
		panic(fmt.Sprintf("search: registering the %s analyzer: %v", AnalyzerName, err))
	}
}

// english is the text fields' analyzer, shared by the bleve index and the compact index.
var english = newCachedAnalyzer()

// cachedAnalyzer is bleve's "en" analyzer with memoized token filters.
type cachedAnalyzer struct {
	tokenizer analysis.Tokenizer
	filters   []analysis.TokenFilter // en's filters, in its order
	seed      maphash.Seed
	shards    [64]struct {
		sync.RWMutex
		m map[string]cachedTerm
	}

	// Every term the analyzer has produced has a number, for code that counts terms.
	idMu  sync.RWMutex
	ids   map[string]int32
	names []string
	bytes [][]byte // names, as bytes
}

type cachedTerm struct {
	term []byte
	str  string // term, as a string shared by every use
	id   int32  // the term's number
	keep bool   // false: a stop word, dropped
}

// maxCached bounds the cache per shard; a long-running server sees few new words.
const maxCached = 1 << 14

func newCachedAnalyzer() *cachedAnalyzer {
	c := registry.NewCache()
	must := func(f analysis.TokenFilter, err error) analysis.TokenFilter {
		if err != nil {
			panic(fmt.Sprintf("search: bleve token filter: %v", err))
		}
		return f
	}
	tok, err := c.TokenizerNamed(unicode.Name)
	if err != nil {
		panic(fmt.Sprintf("search: bleve tokenizer: %v", err))
	}
	a := &cachedAnalyzer{
		tokenizer: asciiTokenizer{general: tok},
		filters: []analysis.TokenFilter{
			must(c.TokenFilterNamed(en.PossessiveName)),
			must(c.TokenFilterNamed(lowercase.Name)),
			must(c.TokenFilterNamed(en.StopName)),
			must(c.TokenFilterNamed(porter.Name)),
		},
		seed: maphash.MakeSeed(),
		ids:  map[string]int32{},
	}
	for i := range a.shards {
		a.shards[i].m = map[string]cachedTerm{}
	}
	return a
}

// Analyze implements analysis.Analyzer. The input is not modified.
func (a *cachedAnalyzer) Analyze(input []byte) analysis.TokenStream {
	tokens := a.tokenizer.Tokenize(input)
	out := tokens[:0]
	for _, t := range tokens {
		term, keep := a.filter(t.Term)
		if !keep {
			continue
		}
		t.Term = term
		out = append(out, t)
	}
	return out
}

// filter returns what en's filters make of one token, and whether they keep it.
func (a *cachedAnalyzer) filter(raw []byte) ([]byte, bool) {
	c := a.lookup(raw)
	return c.term, c.keep
}

// terms appends the terms of text to dst, as shared strings.
func (a *cachedAnalyzer) terms(text string, dst []string) []string {
	for _, t := range a.tokenizer.Tokenize([]byte(text)) {
		if c := a.lookup(t.Term); c.keep {
			dst = append(dst, c.str)
		}
	}
	return dst
}

// termCounter numbers the terms of texts for one goroutine, with a cache of its own in front
// of the analyzer's shared one.
type termCounter struct {
	a     *cachedAnalyzer
	local map[string]int32 // raw word → term number, or -1 for a stop word
}

func (a *cachedAnalyzer) counter() *termCounter {
	return &termCounter{a: a, local: map[string]int32{}}
}

// termIDs appends the numbers of the terms of text to dst. On ASCII text it finds the words
// without making tokens, which is most of the cost of analysis.
func (tc *termCounter) termIDs(text []byte, dst []int32) []int32 {
	add := func(raw []byte) {
		id, ok := tc.local[string(raw)]
		if !ok {
			c := tc.a.lookup(raw)
			id = -1
			if c.keep {
				id = c.id
			}
			tc.local[string(raw)] = id
		}
		if id >= 0 {
			dst = append(dst, id)
		}
	}
	if !isASCII(text) {
		for _, t := range tc.a.tokenizer.Tokenize(text) {
			add(t.Term)
		}
		return dst
	}
	scanASCII(text, func(start, end int) { add(text[start:end]) })
	return dst
}

// termNames returns the terms by number.
func (a *cachedAnalyzer) termNames() []string {
	a.idMu.RLock()
	defer a.idMu.RUnlock()
	return a.names[:len(a.names):len(a.names)]
}

// termBytes returns the terms by number, as bytes nobody may modify.
func (a *cachedAnalyzer) termBytes() [][]byte {
	a.idMu.RLock()
	defer a.idMu.RUnlock()
	return a.bytes[:len(a.bytes):len(a.bytes)]
}

// counters lends termCounters to bleve's analysis workers.
var counters = sync.Pool{New: func() any { return english.counter() }}

func (a *cachedAnalyzer) lookup(raw []byte) cachedTerm {
	s := &a.shards[maphash.Bytes(a.seed, raw)%uint64(len(a.shards))]
	s.RLock()
	c, ok := s.m[string(raw)]
	s.RUnlock()
	if ok {
		return c
	}
	// The filters work in place: give them a copy.
	ts := analysis.TokenStream{&analysis.Token{Term: append([]byte(nil), raw...), Position: 1, Type: analysis.AlphaNumeric}}
	for _, f := range a.filters {
		ts = f.Filter(ts)
	}
	if len(ts) == 1 {
		c.term, c.str, c.keep = append([]byte{}, ts[0].Term...), string(ts[0].Term), true
		a.idMu.Lock()
		id, ok := a.ids[c.str]
		if !ok {
			id = int32(len(a.names))
			a.ids[c.str] = id
			a.names = append(a.names, c.str)
			a.bytes = append(a.bytes, c.term)
		}
		a.idMu.Unlock()
		c.id = id
	}
	s.Lock()
	if len(s.m) < maxCached {
		s.m[string(raw)] = c
	}
	s.Unlock()
	return c
}

// analyze returns the terms of text as the text fields index them, in order.
func analyze(text string) []string { return english.terms(text, nil) }

// Analyze returns the terms the text fields index for text, in order: what a word must become
// to match. static/search.js analyzes queries the same way.
func Analyze(text string) []string { return analyze(text) }
