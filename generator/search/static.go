package search

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math"
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
//	api/v1/search.json         manifest: sizes, fields, boosts, expansion rules, shard lists
//	api/v1/search/t-<hash>.json  terms and their postings, sorted, cut into ranges
//	api/v1/search/e-<hash>.json  a directory: the hashes of 64 document shards and of their x-*.json
//	api/v1/search/d-<hash>.json  what a result shows of 4 products
//	api/v1/search/f-<hash>.json  one keyword field (a facet): its values and their products
//	api/v1/search/g-<hash>.json  one keyword field's values in chunks: their first values and hashes
//	api/v1/search/h-<hash>.json  a chunk of a keyword field's values, with the hashes of their v-*.json
//	api/v1/search/v-<hash>.json  the products of one value of a keyword field
//	api/v1/search/w-<hash>.json  every term and its document count, for typos and wildcards
//	api/v1/search/i-<hash>.json  a common term's head: its products, and its postings that score most
//	api/v1/search/p-<hash>.json  a common term's whole postings
//	api/v1/search/b-<hash>.json  a block of a common term's postings, by impact (see headFile)
//	api/v1/search/x-<hash>.json  the common terms' postings of the products of a document shard
//
// Products are numbered 0…n-1 in ID order. A term's postings hold, per text field where it
// occurs, the products (as gaps from the previous one), the term's frequency there and the
// field's length in terms (norm = 1/√length, as bleve stores it): each number a varint in the
// 64 URL-safe characters, 5 bits a character, the sixth saying "more follows". File names
// carry a hash of their own content, so hosts and browsers may cache them for ever, and a
// rebuild after a small change renames only the shards it changed; a catalog small enough has
// everything inline in the manifest: one request.
//
// A term whose postings are long (a common term, such as "fhir" in nine products of ten) has,
// in its term shard, "@", the hashes of its head and of its whole postings (p-*.json), then its
// number among the common terms and its number of products per field, instead. The head holds the set of products that have the term
// (for the total and the facet counts), and its postings that score most, by impact (see
// impact), with bounds on the others. The postings of the common terms a product has are in an
// x-*.json file per document shard, named in the directory beside the shard, so that the browser can
// score exactly a product the heads leave uncertain by fetching them. The whole postings stay
// in a file of their own, for what needs them all (phrases, fields).

// Tuning of the compact index.
const (
	// A term shard holds about termShardBytes (see cutAfter; the shard that holds a given term
	// is twice as large on average), and is cut once it holds maxTermShardBytes. (Smaller
	// shards would make a query fetch less, but the manifest lists every one.)
	termShardBytes    = 16 << 10
	maxTermShardBytes = 64 << 10
	docsPerShard      = 4        // products per document shard: a result page fetches few bytes
	shardsPerDir      = 64       // document shards a directory file names: a result page fetches ten
	inlineBytes       = 48 << 10 // catalogs whose whole compact index is smaller go inline
	// A term whose encoded postings are longer than impactBytes, and than twice its head would
	// be, gets a head (see the package comment) holding its headPostings postings that score
	// most.
	impactBytes  = 8 << 10
	headPostings = 512
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
	TermFiles     string                     `json:"term_files"` // the term shards' hashes, shardHashLen characters each: TermFile
	DocsPerShard  int                        `json:"docs_per_shard"`
	ShardsPerDir  int                        `json:"shards_per_dir"`
	DocDirs       string                     `json:"doc_dirs"`     // the document directories' hashes: DocDir
	FacetFiles    map[string]string          `json:"facet_files"`  // keyword field → file
	FacetValues   map[string]string          `json:"facet_values"` // keyword field → its values' file
	DictFile      string                     `json:"dict_file"`
	Inline        map[string]json.RawMessage `json:"inline,omitempty"` // file → content
}

// phraseFields are the text fields whose stored text phrases are checked against.
var phraseFields = []string{FieldName, FieldSummary, FieldDescription}

// Pages returns the compact index: the manifest at ManifestPath and its shards under ShardDir.
//
// Every shard is named by a hash of its own content, and the manifest lists the names (the
// document shards through directory files, which keeps the manifest small at any size): when one
// product changes, only the shards whose content changed get new names, the others keep theirs
// and their page keys, and the writer reuses them.
func Pages(in Input) []page.Page {
	docs := documents(in)
	c := buildCompact(docs)
	files := newShardStore(spillAt) // name (relative to ShardDir) → content
	// add names a shard prefix-<hash>.json and returns the hash.
	add := func(prefix string, v any) string {
		data, err := json.Marshal(v)
		if err != nil {
			panic(fmt.Sprintf("search: encoding the compact index: %v", err))
		}
		h := shardHash(data)
		files.put(prefix+"-"+h+".json", data)
		return h
	}
	m := Manifest{
		Schema: manifestSchema, Docs: len(docs), Fields: TextFields, PhraseFields: phraseFields,
		Facets: Facets, KeywordFields: keywordFields, DocsPerShard: docsPerShard, ShardsPerDir: shardsPerDir,
		Expand: map[string]float64{
			"prefix_min": prefixMin, "prefix_weight": prefixWeight, "max_prefix": maxPrefix,
			"fuzzy_min": fuzzyMin, "fuzzy_min2": fuzzyMin2, "fuzzy_weight1": fuzzyWeight1,
			"fuzzy_weight2": fuzzyWeight2, "max_fuzzy": maxFuzzy, "max_expansions": maxExpansions,
		},
	}
	for _, f := range TextFields {
		m.Boosts = append(m.Boosts, Boosts[f])
	}
	var termFiles strings.Builder
	m.Terms = []string{}
	for _, h := range c.heads {
		postings := c.termShards[h.shard].Postings
		full := add("p", postings[h.index])
		for _, block := range h.head.blocks {
			h.head.Blocks = append(h.head.Blocks, add("b", block))
			h.head.BlockBytes = append(h.head.BlockBytes, len(block)+2)
		}
		var b bytes.Buffer
		putVarint(&b, h.number)
		for _, n := range h.head.counts {
			putVarint(&b, n)
		}
		postings[h.index] = "@" + add("i", h.head) + full + b.String()
	}
	for _, s := range c.termShards {
		m.Terms = append(m.Terms, s.first)
		termFiles.WriteString(add("t", s))
	}
	m.TermFiles = termFiles.String()
	var docFiles, docDirs strings.Builder
	flushDir := func() {
		if docFiles.Len() > 0 {
			docDirs.WriteString(add("e", docFiles.String()))
			docFiles.Reset()
		}
	}
	for i, n := 0, 0; i < len(docs); i, n = i+docsPerShard, n+1 {
		var rows []any
		var common []string
		for _, d := range docs[i:min(i+docsPerShard, len(docs))] {
			h := d.hit()
			scim := 0
			if h.SCIM {
				scim = 1
			}
			row := []any{h.ID, h.Name, h.Summary, h.Publisher, h.PublisherName, h.Version,
				h.License, h.LicenseStatus, h.Signature, orEmpty(h.SSO), scim, h.Logo, excerptText(d.Description)}
			common = append(common, c.common[i+len(rows)].String())
			c.common[i+len(rows)] = commonPostings{} // copied: its buffer can go
			rows = append(rows, row)
		}
		x := noShard
		if slices.ContainsFunc(common, func(x string) bool { return x != "" }) {
			x = add("x", common)
		}
		// The x-*.json name in the directory, not in the shard: the browser needs it for
		// products it does not show, and fetched their shards only to read it.
		docFiles.WriteString(add("d", rows))
		docFiles.WriteString(x)
		if (n+1)%shardsPerDir == 0 {
			flushDir()
		}
	}
	flushDir()
	m.DocDirs = docDirs.String()
	m.FacetFiles, m.FacetValues = map[string]string{}, map[string]string{}
	for _, f := range facetData(docs, facetLabels(in)) {
		m.FacetFiles[f.Name] = "f-" + add("f", f) + ".json"
		// The values alone, in chunks, each value's documents in a file of its own: what a
		// field value in a query or a filter needs, without the whole facet.
		g := valueChunks{Name: f.Name, First: []string{}}
		var chunks strings.Builder
		for i := 0; i < len(f.Values); {
			chunk, size := facetValues{}, 0
			for ; i < len(f.Values) && (size == 0 || size < valueChunkBytes); i++ {
				chunk.Values = append(chunk.Values, f.Values[i])
				if f.Labels != nil {
					chunk.Labels = append(chunk.Labels, f.Labels[i])
					size += len(f.Labels[i])
				}
				docs := "=" + f.Docs[i] // a value of few products: inline
				if len(docs) > inlineValueBytes {
					docs = add("v", f.Docs[i])
				}
				chunk.Docs = append(chunk.Docs, docs)
				size += len(f.Values[i]) + len(docs) + 6
			}
			g.First = append(g.First, chunk.Values[0])
			chunks.WriteString(add("h", chunk))
		}
		g.Chunks = chunks.String()
		m.FacetValues[f.Name] = "g-" + add("g", g) + ".json"
	}
	m.DictFile = "w-" + add("w", c.dict) + ".json"

	var pages []page.Page
	if files.total() <= inlineBytes {
		m.Inline = map[string]json.RawMessage{}
		for _, name := range files.names() {
			data, err := files.get(name)()
			if err != nil {
				panic(fmt.Sprintf("search: %v", err)) // in memory: inlineBytes is below spillAt
			}
			m.Inline[name] = data
		}
	} else {
		names := files.names()
		slices.Sort(names)
		for _, name := range names {
			// The name is a hash of the content: it is the page's key too.
			pages = append(pages, page.Page{Path: path.Join(ShardDir, name), Key: "search-shard:" + name,
				Render: files.get(name)})
		}
	}
	data, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("search: encoding the manifest: %v", err))
	}
	return append(pages, page.Static(ManifestPath, data))
}

// shardHashLen is the length of a shard's content hash in its name and in the manifest's lists.
const shardHashLen = 12

// shardHash returns the hash that names a shard.
func shardHash(data []byte) string { return hashBytes(data)[:shardHashLen] }

// TermFile returns the name of term shard n (relative to ShardDir).
func (m *Manifest) TermFile(n int) string {
	return "t-" + m.TermFiles[n*shardHashLen:(n+1)*shardHashLen] + ".json"
}

// DocDir returns the name of document directory n: the hashes of ShardsPerDir document shards.
func (m *Manifest) DocDir(n int) string {
	return "e-" + m.DocDirs[n*shardHashLen:(n+1)*shardHashLen] + ".json"
}

// DocFile returns the name of document shard k of directory dir. A directory's content is, for
// each of its shards, the shard's hash and its x-*.json's (or noShard).
func DocFile(dir string, k int) string {
	return "d-" + dir[2*k*shardHashLen:(2*k+1)*shardHashLen] + ".json"
}

// CommonFile returns the name of the x-*.json file of document shard k of directory dir, or ""
// when none of its products has a common term.
func CommonFile(dir string, k int) string {
	h := dir[(2*k+1)*shardHashLen : (2*k+2)*shardHashLen]
	if h == noShard {
		return ""
	}
	return "x-" + h + ".json"
}

// noShard stands in a directory for an x-*.json file a document shard does not have.
var noShard = strings.Repeat("-", shardHashLen)

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
	heads      []termHead
	// common holds, per document, its postings of the terms with a head, by their number among
	// them: each the gap from the previous number, then as in a head's postings (without the
	// document) the fields' bits, then the frequency and length in each.
	common []commonPostings
}

// termHead is a term with a head, and where its postings are in the term shards.
type termHead struct {
	shard, index int // where its postings are in the term shards
	number       int // its number among the common terms
	head         *headFile
}

// headFile is an i-*.json file: a common term's head.
type headFile struct {
	counts [4]int // documents per text field (in the term shard)
	Docs   string `json:"docs"` // the documents with the term in any text field (encodeDocSet)
	// The postings of highest impact times fields (see impact), by that then document: each the
	// document, the bits of its fields that have the term, then the frequency and field length
	// in each.
	Top string `json:"top"`
	// The documents not in Top by bands of rank (headBands): each band's documents
	// (encodeDocSet) but the last's, which has the others; and for each band, bounds on its
	// postings: the highest impact times fields, the highest impact, and the most fields.
	Bands  []string     `json:"bands"`
	Bounds [][3]float64 `json:"bounds"`
	// Each band but the last has its postings in a b-*.json file (written as Top is): the
	// files' hashes and sizes. The browser fetches one when more of the band's products are
	// uncertain than fetching their own postings would be worth.
	Blocks     []string `json:"blocks"`
	BlockBytes []int    `json:"block_bytes"`
	blocks     []string // the blocks' content
}

// headBands are the ranks where the bands of a head's other documents end: past headPostings,
// the bounds of documents ranked lower are lower, which leaves fewer products uncertain. The
// band from 2× to 8× headPostings is cut in two: a query whose uncertain products lie in its
// upper half fetches that half's block only. At 100 000 products "dicom archive" fetched
// blocks of 42 KB instead of 74 (the heads grew by 1 KB each), and the first answer 335 KB
// instead of 349; cut in four, or with a band to 16×, it fetched more.
var headBands = []int{headPostings * 2, headPostings * 4, headPostings * 8}

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

// packedPostings is a term's postings while buildCompact inverts the documents: per field,
// each posting's document gap and frequency as binary varints (the field lengths are the
// documents', kept once in buildCompact's lengths). Held as posting structs, with their slices'
// spare room, the postings of 100 000 products were 300 MB at once; packed, a heap profile at
// the static search's peak found 18–31 MB of them.
type packedPostings struct {
	enc  [4][]byte
	last [4]int32 // the last document added to each field
}

// add appends document doc, in which the term occurs tf times in field fi. Documents come in
// increasing order.
func (pp *packedPostings) add(fi int, doc, tf int32) {
	pp.enc[fi] = binary.AppendUvarint(pp.enc[fi], uint64(doc-pp.last[fi]))
	pp.enc[fi] = binary.AppendUvarint(pp.enc[fi], uint64(tf))
	pp.last[fi] = doc
}

// unpack returns the postings, with the field lengths of lengths (by field, then document).
func (pp *packedPostings) unpack(lengths *[4][]int32) *[4][]posting {
	p := new([4][]posting)
	for fi, b := range pp.enc {
		ends := 0 // a varint ends at each byte below 0x80: two a posting
		for _, c := range b {
			if c < 0x80 {
				ends++
			}
		}
		p[fi] = make([]posting, 0, ends/2)
		doc := int32(0)
		for len(b) > 0 {
			gap, n := binary.Uvarint(b)
			tf, m := binary.Uvarint(b[n:])
			b = b[n+m:]
			doc += int32(gap)
			p[fi] = append(p[fi], posting{doc, int32(tf), lengths[fi][doc]})
		}
	}
	return p
}

// analyzeChunk is how many documents buildCompact analyzes ahead of their inversion. What the
// analysis makes of a product (its terms and their frequencies, per field) is several times
// what its postings take once inverted: the analysis of 100 000 products held whole was
// 290 MB.
var analyzeChunk = 2048 // a variable for the tests

// buildCompact analyzes every document (in parallel, a chunk or two ahead) and inverts the
// result (in order, as the chunks are done).
func buildCompact(docs []*document) compact {
	analyzed := make([][]fieldTerms, len(docs))
	chunks := (len(docs) + analyzeChunk - 1) / analyzeChunk
	ready := make([]sync.WaitGroup, chunks) // chunk k is analyzed
	for k := range chunks {
		ready[k].Add(min(analyzeChunk, len(docs)-k*analyzeChunk))
	}
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
				ready[i/analyzeChunk].Done()
			}
		})
	}
	ahead := make(chan struct{}, 2) // chunks handed to the analysis and not yet inverted
	go func() {
		for i := range docs {
			if i%analyzeChunk == 0 {
				ahead <- struct{}{}
			}
			next <- i
		}
		close(next)
	}()

	var postings []*packedPostings // by term number
	var used []int32
	var lengths [4][]int32 // by field, then document
	for fi := range lengths {
		lengths[fi] = make([]int32, len(docs))
	}
	for k := range chunks {
		ready[k].Wait()
		for doc := k * analyzeChunk; doc < min((k+1)*analyzeChunk, len(docs)); doc++ {
			for fi, ft := range analyzed[doc] {
				lengths[fi][doc] = ft.length
				for j, t := range ft.terms {
					if int(t) >= len(postings) {
						postings = append(postings, make([]*packedPostings, int(t)+1-len(postings))...)
					}
					p := postings[t]
					if p == nil {
						p = new(packedPostings)
						postings[t] = p
						used = append(used, t)
					}
					p.add(fi, int32(doc), ft.freqs[j])
				}
			}
			analyzed[doc] = nil // inverted
		}
		<-ahead
	}
	wg.Wait()
	names := english.termNames()
	slices.SortFunc(used, func(a, b int32) int { return strings.Compare(names[a], names[b]) })

	var c compact
	c.common = make([]commonPostings, len(docs))
	var heads sync.WaitGroup
	making := make(chan struct{}, runtime.GOMAXPROCS(0)) // heads being made
	var cur termShard
	size := 0
	for _, id := range used {
		t, p := names[id], postings[id].unpack(&lengths)
		enc := encodePostings(p)
		var head *headFile
		if len(enc) > max(impactBytes, 2*((len(docs)+5)/6+headPostings*8)) {
			// The shard will hold "@" and the head's hash instead. Heads are made beside this
			// loop (what follows needs only to know there is one), on the other cores.
			head = new(headFile)
			making <- struct{}{}
			heads.Go(func() {
				*head = *makeHead(p, len(docs))
				<-making
			})
			addCommon(c.common, len(c.heads), p)
		}
		postings[id] = nil // encoded: its postings can go before the others are
		if size > 0 && (head == nil && len(enc) > termShardBytes || size >= maxTermShardBytes) {
			// A large postings list starts a shard of its own.
			c.termShards = append(c.termShards, cur)
			cur, size = termShard{}, 0
		}
		if size == 0 {
			cur.first = t
		}
		entry := len(t) + len(enc) + 6
		if head != nil {
			c.heads = append(c.heads, termHead{len(c.termShards), len(cur.Terms), len(c.heads), head})
			entry = len(t) + 1 + shardHashLen + 6
		}
		cur.Terms = append(cur.Terms, t)
		cur.Postings = append(cur.Postings, enc)
		size += entry
		if cutAfter(t, entry) {
			c.termShards = append(c.termShards, cur)
			cur, size = termShard{}, 0
		}
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
	heads.Wait()
	return c
}

// impact is how much a document's postings of one term weigh, the same in any query up to a
// factor (the term's weight and the clause's boost, and bleve's query norm): the sum over the
// fields of tf·norm·idf²·boost, as the scores of its leaves add up. A clause's score is the sum
// of its leaves' scores times the number of leaves matched: the postings of a head are ordered
// by impact times the number of fields.
func impact(tf, length [4]int32, counts [4]int, docs int) float64 {
	sum := 0.0
	for fi := range tf {
		if tf[fi] == 0 {
			continue
		}
		idf := 1 + math.Log(float64(docs)/float64(counts[fi]+1))
		norm := float64(float32(1 / math.Sqrt(float64(length[fi]))))
		sum += math.Sqrt(float64(tf[fi])) * norm * idf * idf * Boosts[TextFields[fi]]
	}
	return sum
}

// byDoc calls f for each document with postings in p, in increasing order, with the term's
// frequency and the field's length in each field (0 in a field that has not the term). Each
// field's postings are in increasing document order: this merges them. Maps from document to
// fields, made by makeHead and addCommon for every common term, were half the static search's
// heap at its peak at 100 000 products (heap profile), most of them already garbage.
func byDoc(p *[4][]posting, f func(doc int32, tf, length [4]int32)) {
	var at [4]int
	for {
		doc := int32(math.MaxInt32)
		for fi, fp := range p {
			if at[fi] < len(fp) {
				doc = min(doc, fp[at[fi]].doc)
			}
		}
		if doc == math.MaxInt32 {
			return
		}
		var tf, length [4]int32
		for fi, fp := range p {
			if at[fi] < len(fp) && fp[at[fi]].doc == doc {
				tf[fi], length[fi] = fp[at[fi]].tf, fp[at[fi]].length
				at[fi]++
			}
		}
		f(doc, tf, length)
	}
}

// makeHead makes a common term's head from its postings.
func makeHead(p *[4][]posting, docs int) *headFile {
	type entry struct {
		doc            int32
		tf, length     [4]int32
		impact, weight float64 // weight: impact times fields
		fields         int
	}
	var counts [4]int
	most := 0
	for fi, fp := range p {
		counts[fi] = len(fp)
		most = max(most, len(fp))
	}
	// The entries come in document order, which is the set's; they are ranked by weight, then
	// document, through a slice of 16-byte keys (sorting the 72-byte entries themselves was a
	// fifth of the static search's CPU).
	entries := make([]entry, 0, most)
	set := make([]int, 0, most)
	byDoc(p, func(doc int32, tf, length [4]int32) {
		e := entry{doc: doc, tf: tf, length: length}
		e.impact = impact(e.tf, e.length, counts, docs)
		for _, tf := range e.tf {
			if tf > 0 {
				e.fields++
			}
		}
		e.weight = e.impact * float64(e.fields)
		entries = append(entries, e)
		set = append(set, int(doc))
	})
	type ranked struct {
		weight float64
		at     int32 // in entries, whose order is the documents'
	}
	ranks := make([]ranked, len(entries))
	for i := range entries {
		ranks[i] = ranked{entries[i].weight, int32(i)}
	}
	slices.SortFunc(ranks, func(a, b ranked) int {
		if a.weight != b.weight {
			if a.weight > b.weight {
				return -1
			}
			return 1
		}
		return int(a.at - b.at)
	})
	h := &headFile{counts: counts, Docs: encodeDocSet(set, docs)}
	var b, block bytes.Buffer
	var band []int
	for i, r := range ranks {
		e := &entries[r.at]
		if i < headPostings {
			putVarint(&b, int(e.doc))
			putFields(&b, e.tf, e.length)
			continue
		}
		k := len(h.Bounds) - 1
		if k < 0 || k < len(headBands) && i == headBands[k] {
			if k >= 0 {
				slices.Sort(band)
				h.Bands = append(h.Bands, encodeDocSet(band, docs))
				h.blocks = append(h.blocks, block.String())
				band = band[:0]
				block.Reset()
			}
			h.Bounds = append(h.Bounds, [3]float64{})
			k++
		}
		putVarint(&block, int(e.doc))
		putFields(&block, e.tf, e.length)
		bd := &h.Bounds[k]
		bd[0], bd[1], bd[2] = max(bd[0], e.weight), max(bd[1], e.impact), max(bd[2], float64(e.fields))
		band = append(band, int(e.doc))
	}
	h.Top = b.String()
	if h.Bands == nil {
		h.Bands, h.Blocks, h.BlockBytes = []string{}, []string{}, []int{}
	}
	if h.Bounds == nil {
		h.Bounds = [][3]float64{}
	}
	return h
}

// putFields writes the bits of the fields a document has a term in, then the term's frequency
// and the field's length in each.
func putFields(b *bytes.Buffer, tf, length [4]int32) {
	mask := 0
	for fi := range tf {
		if tf[fi] > 0 {
			mask |= 1 << fi
		}
	}
	putVarint(b, mask)
	for fi := range tf {
		if tf[fi] > 0 {
			putVarint(b, int(tf[fi]))
			putVarint(b, int(length[fi]))
		}
	}
}

// commonPostings is a document's postings of the common terms (see compact.common).
type commonPostings struct {
	b    bytes.Buffer
	last int
}

func (c *commonPostings) String() string { return c.b.String() }

// addCommon adds the postings of common term number n (numbered in ascending order) to the
// documents'.
func addCommon(common []commonPostings, n int, p *[4][]posting) {
	byDoc(p, func(doc int32, tf, length [4]int32) {
		c := &common[doc]
		putVarint(&c.b, n-c.last)
		c.last = n
		putFields(&c.b, tf, length)
	})
}

// cutAfter decides whether a term shard ends after term t, whose entry takes size bytes: the
// decision depends on the term and its own size only (a byte is the last of a shard with
// probability 1/termShardBytes, the bytes of a term deciding together by a hash of the term), so
// shard boundaries do not move when another term's postings change, and a change to one product
// renames the few shards that hold its terms, not every shard after them.
func cutAfter(t string, size int) bool {
	if size >= termShardBytes {
		return true
	}
	sum := sha256.Sum256([]byte(t))
	u := float64(binary.BigEndian.Uint64(sum[:8])) / (1 << 64)
	return u < 1-math.Pow(1-1/float64(termShardBytes), float64(size))
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

// valueChunks is a g-*.json file: a keyword field's values in chunks (h-*.json files), by the
// first value of each chunk and the chunks' hashes.
type valueChunks struct {
	Name   string   `json:"name"`
	First  []string `json:"first"`
	Chunks string   `json:"chunks"`
}

// facetValues is an h-*.json file: some of a keyword field's values (in order), their labels,
// and each one's products: "=" and their encodeDocSet when short, else the hash of the v-*.json
// file holding it.
type facetValues struct {
	Values []string `json:"values"`
	Labels []string `json:"labels,omitempty"`
	Docs   []string `json:"docs"`
}

// inlineValueBytes bounds the products of a value kept in its chunk of values.
const inlineValueBytes = 64

// valueChunkBytes is about the size of a chunk of a keyword field's values: a field value in a
// query loads the one that has it (a catalog of 100 000 products has thousands of licenses).
const valueChunkBytes = 8 << 10

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

// encodeDocSet encodes ascending document numbers as gaps; or, where shorter, as a bitmap,
// "~" then 6 documents a character; or as "!" then the gaps of the documents not in the set
// (a set of nine documents in ten).
func encodeDocSet(set []int, n int) string {
	var b bytes.Buffer
	prev := 0
	for _, doc := range set {
		putVarint(&b, doc-prev)
		prev = doc
	}
	if len(set)*2 > n {
		var c bytes.Buffer
		c.WriteByte('!')
		prev, k := 0, 0
		for doc := range n {
			if k < len(set) && set[k] == doc {
				k++
				continue
			}
			putVarint(&c, doc-prev)
			prev = doc
		}
		if c.Len() < b.Len() && c.Len() < 1+(n+5)/6 {
			return c.String()
		}
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
