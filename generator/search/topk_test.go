package search

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTopKIsExhaustive checks that the bounded way of finding the best matches (topK) gives
// what scoring every match gives: the same hits in the same order with the same scores to the
// bit, totals, facet counts and highlights, for queries of every kind of clause, filters, pages
// and sizes; and that it does score fewer documents than match, on a catalog large enough for
// common terms to match thousands of products.
func TestTopKIsExhaustive(t *testing.T) {
	dir := syntheticIndexDir(t, 2000)
	bounded, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer bounded.Close()
	exhaustive, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer exhaustive.Close()
	exhaustive.exhaustive = true
	queries := []string{
		"fhir", "fhir postgres", "fhir server", "dicom archive", "imaging", "smart app launch", "cds hooks",
		"terminology service", "identity provider", "patient portal", "lab results", "hl7 v2 interface engine",
		"fhri", "postgress", "radiolog", "+license:MIT fhir", "-fhir imaging", "tag:dicom", "scim", "oidc", "",
		"+fhir +server", "+fhir -server", "fhir^3 server^0.5", "name:smart^2 launch", "fhir tag:dicom",
		"-tag:demo", "-fhir", "+fhir tag:fhir", "server~2", "post*", "/fhi.*/", "fhir server imaging dicom portal",
		"+license_status:open fhir", "fhir^0", "zzzunknown", "fhir zzzunknown", "+zzzunknown fhir", `-"bulk data" fhir`,
		`"bulk data"`, `"fhir server" imaging`, `+"smart app" launch`, `"data"`, `"bulk data" -fhir`, `"bulk data" "fhir server"`,
		`summary:"fhir server"`, `"fhir server"^2 dicom`, `+"no such phrase" fhir`, `"server fhir"`,
	}
	filters := []map[string][]string{
		nil,
		{"license_status": {"open"}},
		{"license_status": {"open"}, "category": {"fhir-server"}},
		{"category": {"fhir-server", "imaging"}},
		{"category": {"no-such-category"}},
	}
	pages := []struct{ from, size int }{{0, 10}, {0, 1}, {10, 10}, {0, 50}, {190, 10}, {0, MaxSize}}
	before := bounded.scored.Load()
	matched, compared := 0, 0
	for _, q := range queries {
		for fi, f := range filters {
			for _, pg := range pages {
				if fi > 0 && pg.size != 10 {
					continue
				}
				req := Request{Query: q, Filters: f, From: pg.from, Size: pg.size, Highlight: true, FacetSize: 20}
				got, err := bounded.Search(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				want, err := exhaustive.Search(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				got.TookMS, want.TookMS = 0, 0
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s: bounded and exhaustive differ (-exhaustive +bounded):\n%s", describeRequest(req), diff)
				}
				matched += got.Total
				compared++
			}
		}
	}
	scored := int(bounded.scored.Load() - before)
	t.Logf("%d searches: %d matches, %d documents scored", compared, matched, scored)
	if scored*2 > matched {
		t.Errorf("the bounded way scored %d documents for %d matches: it should score far fewer", scored, matched)
	}
}

func describeRequest(r Request) string {
	return fmt.Sprintf("%q filters %v from %d size %d", r.Query, r.Filters, r.From, r.Size)
}

var syntheticIndexes sync.Map // products → *syntheticIndex

type syntheticIndex struct {
	once sync.Once
	dir  string
	err  error
}

// syntheticIndexDir returns the folder of the bleve index of the synthetic catalog of n
// products, built once per test binary.
func syntheticIndexDir(t testing.TB, n int) string {
	t.Helper()
	v, _ := syntheticIndexes.LoadOrStore(n, &syntheticIndex{})
	si := v.(*syntheticIndex)
	si.once.Do(func() {
		shared, err := SharedTestDir()
		if err != nil {
			si.err = err
			return
		}
		si.dir = filepath.Join(shared, fmt.Sprintf("bleve-synthetic-%d", n), IndexDir)
		_, si.err = BuildIndex(context.Background(), si.dir, "", Input{Catalog: syntheticCatalog(t, n)})
	})
	if si.err != nil {
		t.Fatal(si.err)
	}
	return si.dir
}
