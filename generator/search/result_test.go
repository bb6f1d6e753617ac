package search

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// TestAppendJSONIsMarshal checks that Result.AppendJSON writes the bytes json.Marshal does: for
// the results of ordinary queries, with highlights (HTML), and for a result of awkward strings
// and numbers.
func TestAppendJSONIsMarshal(t *testing.T) {
	ix := exampleIndex(t)
	var results []*Result
	for _, q := range []string{"fhir postgres", "fhir", "", "scim", "+license:MIT fhir", "zzqxv", `"bulk data"`} {
		for _, hl := range []bool{false, true} {
			res, err := ix.Search(context.Background(), Request{Query: q, Highlight: hl, Size: 50})
			if err != nil {
				t.Fatal(err)
			}
			results = append(results, res)
		}
	}
	results = append(results, &Result{
		Query: "a\"b\\c<d>e&f\n\r\t\b\f\x01\x7f é \u2028\u2029 \xff end", Total: -3, TookMS: 1e-9,
		Hits: []Hit{
			{ID: "x", Score: 1e21, SSO: []string{"oidc", "saml2"}, SCIM: true, Highlights: map[string]string{"summary": "<mark>a</mark>", "name": "n"}},
			{ID: "y", Score: 0.000001, Version: "1.0", Logo: "l.svg"},
			{ID: "z", Score: 123456789.125},
			{ID: "w", Score: math.SmallestNonzeroFloat64},
		},
		Facets: []Facet{{Field: "f", Values: []FacetValue{{Value: "v", Label: "L", Count: 2}, {Value: "w", Count: 0}}}, {Field: "g"}},
	}, &Result{})
	for _, r := range results {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("AppendJSON differs from json.Marshal:\n got %s\nwant %s", got, want)
		}
	}
}

// TestFacetSize checks that FacetSize keeps the most frequent values of each facet, as the full
// counts order them.
func TestFacetSize(t *testing.T) {
	ix := exampleIndex(t)
	all, err := ix.Search(context.Background(), Request{Query: "fhir"})
	if err != nil {
		t.Fatal(err)
	}
	few, err := ix.Search(context.Background(), Request{Query: "fhir", FacetSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	cut := 0
	for i, f := range all.Facets {
		want := f.Values[:min(2, len(f.Values))]
		if got := few.Facets[i].Values; !slices.Equal(got, want) {
			t.Errorf("facet %s: %v, want %v", f.Field, got, want)
		}
		if len(f.Values) > 2 {
			cut++
		}
	}
	if cut == 0 {
		t.Errorf("no facet has more than 2 values: nothing checked")
	}
}

// TestConcurrentSearches runs searches from several goroutines on one index, as serve does,
// and expects each the answer it gets alone: the postings, parsed queries, analysed words and
// working arrays an index keeps are shared safely. (Run with -race.)
func TestConcurrentSearches(t *testing.T) {
	dir := filepath.Join(t.TempDir(), IndexDir)
	if _, err := BuildIndex(context.Background(), dir, "", Input{Catalog: syntheticCatalog(t, 300)}); err != nil {
		t.Fatal(err)
	}
	queries := []Request{
		{Query: "fhir postgres", Highlight: true}, {Query: "fhir"}, {Query: `"bulk data"`, Highlight: true},
		{Query: "-fhir imaging"}, {Query: "+license:MIT fhir", FacetSize: 3}, {Query: ""},
		{Query: "server", Filters: map[string][]string{"scim": {"yes"}}}, {Query: "fhri", Highlight: true},
	}
	alone, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	for _, q := range queries {
		res, err := alone.Search(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		res.TookMS = 0
		want = append(want, res.AppendJSON(nil))
	}
	alone.Close()
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := range 40 {
				k := (g + i) % len(queries)
				res, err := ix.Search(context.Background(), queries[k])
				if err != nil {
					t.Error(err)
					return
				}
				res.TookMS = 0
				if got := res.AppendJSON(nil); !bytes.Equal(got, want[k]) {
					t.Errorf("%q concurrently: %s\nalone: %s", queries[k].Query, got, want[k])
					return
				}
			}
		})
	}
	wg.Wait()
}
