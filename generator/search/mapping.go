package search

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	bdoc "github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/registry"
	index "github.com/blevesearch/bleve_index_api"
)

// newMapping returns the index mapping: text fields analyzed in English (the description also
// stored, for phrases and highlights), keyword fields indexed as single terms, the hit summary
// (which has the name and summary) stored only, nothing dynamic and no _all field. There are
// no term vectors: they would double the cost of indexing, and phrases and highlights are
// checked against the stored text of the documents concerned instead.
func newMapping() *mapping.IndexMappingImpl {
	im := bleve.NewIndexMapping()
	im.DefaultAnalyzer = AnalyzerName
	im.IndexDynamic, im.StoreDynamic, im.DocValuesDynamic = false, false, false

	dm := bleve.NewDocumentStaticMapping()
	for _, f := range TextFields {
		fm := bleve.NewTextFieldMapping()
		fm.Analyzer = AnalyzerName
		fm.Store = f == FieldDescription
		fm.IncludeTermVectors = false
		fm.IncludeInAll = false
		fm.DocValues = false
		dm.AddFieldMappingsAt(f, fm)
	}
	for _, f := range keywordFields {
		fm := bleve.NewKeywordFieldMapping()
		fm.Analyzer = keyword.Name
		fm.Store = false
		fm.IncludeInAll = false
		fm.IncludeTermVectors = false
		fm.DocValues = false
		fm.SkipFreqNorm = true
		dm.AddFieldMappingsAt(f, fm)
	}
	stored := bleve.NewTextFieldMapping()
	stored.Index, stored.Store, stored.IncludeInAll, stored.DocValues = false, true, false, false
	dm.AddFieldMappingsAt(fieldHit, stored)
	dm.AddSubDocumentMapping("_all", bleve.NewDocumentDisabledMapping())
	im.DefaultMapping = dm
	return im
}

// keywordAnalyzer indexes a keyword field's value as one term.
var keywordAnalyzer = func() analysis.Analyzer {
	a, err := registry.NewCache().AnalyzerNamed(keyword.Name)
	if err != nil {
		panic(fmt.Sprintf("search: bleve's keyword analyzer: %v", err))
	}
	return a
}()

// bleveDocument returns d as the mapping would make it, built directly: walking a map by
// reflection costs more than the fields are worth.
func (d *document) bleveDocument() *bdoc.Document {
	doc := bdoc.NewDocument(d.ID)
	add := func(name string, values []string, multi bool, opts index.FieldIndexingOptions, a analysis.Analyzer) {
		for i, v := range values {
			var ap []uint64
			if multi {
				ap = []uint64{uint64(i)}
			}
			doc.AddField(bdoc.NewTextFieldCustom(name, ap, []byte(v), opts, a))
		}
	}
	for _, f := range TextFields {
		opts := index.IndexField
		if f == FieldDescription { // name and summary are in the hit summary
			opts |= index.StoreField
		}
		for i, v := range d.text(f) {
			var ap []uint64
			if f == FieldKeywords {
				ap = []uint64{uint64(i)}
			}
			doc.AddField(&countedField{name: f, ap: ap, value: []byte(v), opts: opts})
		}
	}
	for _, f := range keywordFields {
		// Field values only filter: no frequencies or norms. Facets are counted from the
		// postings (see Index.loadFacets), so there are no doc values either.
		add(f, d.facet(f), isMulti(f), index.IndexField|index.SkipFreqNorm, keywordAnalyzer)
	}
	hit, _ := json.Marshal(d.hit())
	add(fieldHit, []string{string(hit)}, false, index.StoreField, nil)
	return doc
}

// isMulti reports whether a keyword field holds a list.
func isMulti(field string) bool {
	switch field {
	case "category", "tag", "exposes", "needs", "sso", fieldVersion:
		return true
	}
	return false
}

// countedField is a text field given to bleve analyzed by counting terms (termCounter):
// bleve's own TextField would make a token, with offsets and a position, for each word only to
// count them. The terms, frequencies and lengths are the same; there are no locations, which
// only term vectors would keep.
type countedField struct {
	name   string
	ap     []uint64
	value  []byte
	opts   index.FieldIndexingOptions
	length int
	freqs  index.TokenFrequencies
}

func (f *countedField) Name() string                        { return f.name }
func (f *countedField) ArrayPositions() []uint64            { return f.ap }
func (f *countedField) Options() index.FieldIndexingOptions { return f.opts }
func (f *countedField) Value() []byte                       { return f.value }
func (f *countedField) NumPlainTextBytes() uint64           { return uint64(len(f.value)) }
func (f *countedField) EncodedFieldType() byte              { return 't' }
func (f *countedField) AnalyzedLength() int                 { return f.length }

func (f *countedField) AnalyzedTokenFrequencies() index.TokenFrequencies { return f.freqs }

func (f *countedField) Size() int {
	return 64 + len(f.name) + len(f.value) + 8*len(f.ap) + 48*len(f.freqs)
}

func (f *countedField) Analyze() {
	tc := counters.Get().(*termCounter)
	ids := tc.termIDs(f.value, nil)
	counters.Put(tc)
	f.length = len(ids)
	slices.Sort(ids)
	terms := english.termBytes()
	names := english.termNames()
	f.freqs = make(index.TokenFrequencies, len(ids)/2+1)
	for i := 0; i < len(ids); {
		j := i + 1
		for j < len(ids) && ids[j] == ids[i] {
			j++
		}
		tf := &index.TokenFreq{Term: terms[ids[i]]}
		tf.SetFrequency(j - i)
		f.freqs[names[ids[i]]] = tf
		i = j
	}
}
