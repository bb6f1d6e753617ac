package search

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/hspc/marketplace/generator/page"
)

// The compact index lets static/search.js search the catalog in the browser with the same
// terms, statistics and scoring as bleve, downloading only what a query needs:
//
//	api/v1/search.json             manifest: sizes, fields, boosts, expansion rules, shard lists
//	api/v1/search/t-<hash>-<n>.json  terms and their postings, sorted, cut into ranges
//	api/v1/search/d-<hash>-<n>.json  what a result shows of 8 products
//	api/v1/search/f-<hash>.json    one keyword field (a facet): its values and their products
//	api/v1/search/w-<hash>.json    every term and its document count, for typos and wildcards
//
// Products are numbered 0…n-1 in ID order. A term's postings hold, per text field where it
// occurs, the products (as gaps from the previous one), the term's frequency there and the
// field's length in terms (norm = 1/√length, as bleve stores it): each number a varint in the
// 64 URL-safe characters, 5 bits a character, the sixth saying "more follows". File names
// carry a hash of their content (of all the term or document shards together, so that the
// manifest need not list each), so hosts and browsers may cache them for ever; a catalog small
// enough has everything inline in the manifest: one request.

// Tuning of the compact index.
const (
	termShardBytes = 16 << 10 // a term shard is cut once it holds this much
	docsPerShard   = 8        // products per document shard: a result page fetches few bytes
	inlineBytes    = 48 << 10 // catalogs whose whole compact index is smaller go inline
)

// Manifest is api/v1/search.json.
type Manifest struct {
	Schema        int                        `json:"schema"`
	Docs          int                        `json:"docs"`
	Fields        []string                   `json:"fields"`
	Boosts        []float64                  `json:"boosts"`
	PhraseFields  []string                   `json:"phrase_fields"`
	Facets        []string                   `json:"facets"`
	KeywordFields []string                   `json:"keyword_fields"`
	Expand        map[string]float64         `json:"expand"`
	Terms         []string                   `json:"terms"`      // first term of each term shard
	TermFiles     string                     `json:"term_files"` // t-<hash>: shard n is t-<hash>-<n>.json
	DocsPerShard  int                        `json:"docs_per_shard"`
	DocFiles      string                     `json:"doc_files"`   // d-<hash>: shard n is d-<hash>-<n>.json
	FacetFiles    map[string]string          `json:"facet_files"` // keyword field → file
	DictFile      string                     `json:"dict_file"`
	Inline        map[string]json.RawMessage `json:"inline,omitempty"` // file → content
}

// phraseFields are the text fields whose stored text phrases are checked against.
var phraseFields = []string{FieldName, FieldSummary, FieldDescription}

// Pages returns the compact index: the manifest at ManifestPath and its shards under ShardDir.
func Pages(in Input) []page.Page {
	docs := documents(in)
	c := buildCompact(docs)
	files := map[string][]byte{} // name (relative to ShardDir) → content
	add := func(prefix string, v any) string {
		data, err := json.Marshal(v)
		if err != nil {
			panic(fmt.Sprintf("search: encoding the compact index: %v", err))
		}
		name := prefix + "-" + hashBytes(data)[:8] + ".json"
		files[name] = data
		return name
	}
	m := Manifest{
		Schema: manifestSchema, Docs: len(docs), Fields: TextFields, PhraseFields: phraseFields,
		Facets: Facets, KeywordFields: keywordFields, DocsPerShard: docsPerShard,
		Expand: map[string]float64{
			"prefix_min": prefixMin, "prefix_weight": prefixWeight, "max_prefix": maxPrefix,
			"fuzzy_min": fuzzyMin, "fuzzy_min2": fuzzyMin2, "fuzzy_weight1": fuzzyWeight1,
			"fuzzy_weight2": fuzzyWeight2, "max_fuzzy": maxFuzzy, "max_expansions": maxExpansions,
		},
	}
	for _, f := range TextFields {
		m.Boosts = append(m.Boosts, Boosts[f])
	}
	// A set of shards named by the hash of them all: prefix-<hash>-<n>.json.
	addSet := func(prefix string, vs []any) string {
		var all []byte
		datas := make([][]byte, len(vs))
		for i, v := range vs {
			data, err := json.Marshal(v)
			if err != nil {
				panic(fmt.Sprintf("search: encoding the compact index: %v", err))
			}
			datas[i] = data
			all = append(all, data...)
		}
		set := prefix + "-" + hashBytes(all)[:8]
		for i, data := range datas {
			files[fmt.Sprintf("%s-%d.json", set, i)] = data
		}
		return set
	}
	var shards []any
	for _, s := range c.termShards {
		m.Terms = append(m.Terms, s.first)
		shards = append(shards, s)
	}
	m.TermFiles = addSet("t", shards)
	if m.Terms == nil {
		m.Terms = []string{}
	}
	var docShards []any
	for i := 0; i < len(docs); i += docsPerShard {
		var rows [][]any
		for _, d := range docs[i:min(i+docsPerShard, len(docs))] {
			h := d.hit()
			scim := 0
			if h.SCIM {
				scim = 1
			}
			rows = append(rows, []any{h.ID, h.Name, h.Summary, h.Publisher, h.PublisherName, h.Version,
				h.License, h.LicenseStatus, h.Signature, orEmpty(h.SSO), scim, h.Logo, excerptText(d.Description)})
		}
		docShards = append(docShards, rows)
	}
	m.DocFiles = addSet("d", docShards)
	m.FacetFiles = map[string]string{}
	for _, f := range facetData(docs, facetLabels(in)) {
		m.FacetFiles[f.Name] = add("f", f)
	}
	m.DictFile = add("w", c.dict)

	total := 0
	for _, data := range files {
		total += len(data)
	}
	var pages []page.Page
	if total <= inlineBytes {
		m.Inline = map[string]json.RawMessage{}
		for name, data := range files {
			m.Inline[name] = data
		}
	} else {
		for _, name := range slices.Sorted(maps.Keys(files)) {
			pages = append(pages, page.Static(path.Join(ShardDir, name), files[name]))
		}
	}
	data, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("search: encoding the manifest: %v", err))
	}
	return append(pages, page.Static(ManifestPath, data))
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// termShard is one t-*.json file.
type termShard struct {
	first    string
	Terms    []string `json:"t"`
	Postings []string `json:"p"`
}

// dictFile is the w-*.json file.
type dictFile struct {
	Terms []string `json:"t"`
	Freq  []int    `json:"f"` // documents with the term, counted per text field
}

// compact is the compact index before encoding.
type compact struct {
	termShards []termShard
	dict       dictFile
}

// fieldTerms is what a document's text field holds: its terms (by number) with their
// frequencies, and its length.
type fieldTerms struct {
	terms  []int32
	freqs  []int32
	length int32
}

// posting is one document's entry in a term's postings for one field.
type posting struct {
	doc, tf, length int32
}

// buildCompact analyzes every document (in parallel) and inverts the result.
func buildCompact(docs []*document) compact {
	analyzed := make([][]fieldTerms, len(docs))
	var wg sync.WaitGroup
	next := make(chan int, 64)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			var buf []int32
			tc := english.counter()
			for i := range next {
				out := make([]fieldTerms, len(TextFields))
				for fi, f := range TextFields {
					buf = buf[:0]
					for _, v := range docs[i].text(f) {
						buf = tc.termIDs([]byte(v), buf)
					}
					out[fi] = countTerms(buf)
				}
				analyzed[i] = out
			}
		})
	}
	for i := range docs {
		next <- i
	}
	close(next)
	wg.Wait()

	names := english.termNames()
	postings := make([]*[4][]posting, len(names))
	var used []int32
	for doc, fields := range analyzed {
		for fi, ft := range fields {
			for k, t := range ft.terms {
				p := postings[t]
				if p == nil {
					p = new([4][]posting)
					postings[t] = p
					used = append(used, t)
				}
				p[fi] = append(p[fi], posting{int32(doc), ft.freqs[k], ft.length})
			}
		}
	}
	slices.SortFunc(used, func(a, b int32) int { return strings.Compare(names[a], names[b]) })

	var c compact
	var cur termShard
	size := 0
	for _, id := range used {
		t, p := names[id], postings[id]
		enc := encodePostings(p)
		if size > 0 && size+len(t)+len(enc) > termShardBytes {
			c.termShards = append(c.termShards, cur)
			cur, size = termShard{}, 0
		}
		if size == 0 {
			cur.first = t
		}
		cur.Terms = append(cur.Terms, t)
		cur.Postings = append(cur.Postings, enc)
		size += len(t) + len(enc) + 6
		freq := 0
		for _, fp := range p {
			freq += len(fp)
		}
		c.dict.Terms = append(c.dict.Terms, t)
		c.dict.Freq = append(c.dict.Freq, freq)
	}
	if size > 0 {
		c.termShards = append(c.termShards, cur)
	}
	if len(c.termShards) > 0 {
		c.termShards[0].first = "" // the first shard starts at the beginning
	}
	c.dict.Terms = orEmpty(c.dict.Terms)
	if c.dict.Freq == nil {
		c.dict.Freq = []int{}
	}
	return c
}

// countTerms turns a field's terms into distinct terms with their frequencies.
func countTerms(terms []int32) fieldTerms {
	ft := fieldTerms{length: int32(len(terms))}
	sorted := slices.Clone(terms)
	slices.Sort(sorted)
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && sorted[j] == sorted[i] {
			j++
		}
		ft.terms = append(ft.terms, sorted[i])
		ft.freqs = append(ft.freqs, int32(j-i))
		i = j
	}
	return ft
}

// encodePostings encodes a term's postings: per field where it occurs, the field's index and
// the number of postings, then each posting's document gap, frequency and field length.
func encodePostings(p *[4][]posting) string {
	var b bytes.Buffer
	for fi, fp := range p {
		if len(fp) == 0 {
			continue
		}
		putVarint(&b, fi)
		putVarint(&b, len(fp))
		prev := int32(0)
		for _, x := range fp {
			putVarint(&b, int(x.doc-prev))
			putVarint(&b, int(x.tf))
			putVarint(&b, int(x.length))
			prev = x.doc
		}
	}
	return b.String()
}

// varintDigits are the 64 characters of the compact index's varints: URL-safe, and never
// escaped in JSON.
const varintDigits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"

// putVarint writes n, 5 bits a character, low bits first; 32 added says more follows.
func putVarint(b *bytes.Buffer, n int) {
	for n >= 32 {
		b.WriteByte(varintDigits[32|n&31])
		n >>= 5
	}
	b.WriteByte(varintDigits[n])
}

// decodeVarints is the inverse of a sequence of putVarint, for tests.
func decodeVarints(s string) []int {
	var out []int
	n, shift := 0, 0
	for i := 0; i < len(s); i++ {
		v := strings.IndexByte(varintDigits, s[i])
		n |= (v & 31) << shift
		if v < 32 {
			out = append(out, n)
			n, shift = 0, 0
		} else {
			shift += 5
		}
	}
	return out
}

// facetField is an f-*.json file: a keyword field's values (sorted), their labels where they
// have any, and for each the products that have it, as gaps or, where shorter, as a bitmap:
// "~" then 6 products a character.
type facetField struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
	Labels []string `json:"labels,omitempty"`
	Docs   []string `json:"docs"`
}

func facetData(docs []*document, labels map[string]map[string]string) []facetField {
	var out []facetField
	for _, f := range keywordFields {
		byValue := map[string][]int{}
		for i, d := range docs {
			for _, v := range sortedSet(d.facet(f)) {
				byValue[v] = append(byValue[v], i)
			}
		}
		field := facetField{Name: f, Values: slices.Sorted(maps.Keys(byValue)), Docs: []string{}}
		for _, v := range field.Values {
			field.Docs = append(field.Docs, encodeDocSet(byValue[v], len(docs)))
			if l := labels[f]; l != nil {
				field.Labels = append(field.Labels, l[v])
			}
		}
		if field.Values == nil {
			field.Values = []string{}
		}
		out = append(out, field)
	}
	return out
}

// encodeDocSet encodes ascending document numbers as gaps, or as a bitmap when that is shorter.
func encodeDocSet(set []int, n int) string {
	var b bytes.Buffer
	prev := 0
	for _, doc := range set {
		putVarint(&b, doc-prev)
		prev = doc
	}
	if bitmapLen := 1 + (n+5)/6; bitmapLen < b.Len() {
		bits := make([]byte, (n+5)/6)
		for _, doc := range set {
			bits[doc/6] |= 1 << (doc % 6)
		}
		for i, v := range bits {
			bits[i] = varintDigits[v]
		}
		return "~" + string(bits)
	}
	return b.String()
}

// excerptLen bounds the description text a document shard carries for the excerpts of search
// results in the browser: enough for a fragment around a match in the first paragraphs,
// without making the shards the size of the descriptions.
const excerptLen = 600

// excerptText returns the start of a description, cut at a word, for excerpts.
func excerptText(s string) string {
	if len(s) <= excerptLen {
		return s
	}
	cut := excerptLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if i := strings.LastIndexAny(s[:cut], " \n"); i > excerptLen/2 {
		cut = i
	}
	return s[:cut]
}
