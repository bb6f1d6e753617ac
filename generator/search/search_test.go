package search

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/registry"
	"github.com/google/go-cmp/cmp"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/synthetic"
	"github.com/hspc/marketplace/generator/page"
)

// exampleCatalog is the catalog of this repository.
func exampleCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	c, ds := catalog.Check(os.DirFS("../.."))
	if ds.HasErrors() {
		t.Fatalf("the example catalog has errors:\n%v", ds)
	}
	return c
}

var example struct {
	once sync.Once
	dir  string
	idx  *Index
	err  error
}

// exampleIndex is the bleve index of the example catalog, built once per test binary.
func exampleIndex(t testing.TB) *Index {
	t.Helper()
	example.once.Do(func() {
		example.dir, example.err = os.MkdirTemp("", "search-example-")
		if example.err != nil {
			return
		}
		dir := filepath.Join(example.dir, IndexDir)
		if _, example.err = BuildIndex(context.Background(), dir, "", Input{Catalog: exampleCatalog(t)}); example.err != nil {
			return
		}
		example.idx, example.err = Open(dir)
	})
	if example.err != nil {
		t.Fatal(example.err)
	}
	return example.idx
}

var shared struct {
	once sync.Once
	dir  string
	err  error
}

// SharedTestDir returns a folder the tests of this package (internal and external) share for
// what is expensive to build, removed when they end.
func SharedTestDir() (string, error) {
	shared.once.Do(func() { shared.dir, shared.err = os.MkdirTemp("", "search-test-") })
	return shared.dir, shared.err
}

func TestMain(m *testing.M) {
	code := m.Run()
	if example.idx != nil {
		example.idx.Close()
	}
	for _, d := range []string{example.dir, shared.dir} {
		if d != "" {
			os.RemoveAll(d)
		}
	}
	os.Exit(code)
}

func ids(r *Result) []string {
	out := make([]string, len(r.Hits))
	for i, h := range r.Hits {
		out[i] = h.ID
	}
	return out
}

func mustSearch(t *testing.T, idx *Index, req Request) *Result {
	t.Helper()
	r, err := idx.Search(context.Background(), req)
	if err != nil {
		t.Fatalf("search %q: %v", req.Query, err)
	}
	return r
}

// TestRanking checks what a person gets first for realistic queries on the example catalog.
func TestRanking(t *testing.T) {
	idx := exampleIndex(t)
	tests := []struct {
		name  string
		query string
		top   []string // the first hits, in order
	}{
		{"FHIR server on PostgreSQL", "fhir postgres", []string{"acme/fhir", "hspc/fhir-api"}},
		{"the database itself", "postgres", []string{"openhealth/postgres"}},
		{"typo in fhir", "fihr server", []string{"acme/fhir"}},
		{"SMART app", "smart app", []string{"hspc/smart-demo"}},
		{"growth charts, plural and stemmed", "growth charts", []string{"hspc/smart-demo"}},
		{"sepsis decision support", "sepsis alerts", []string{"northwind-labs/sepsis-cds"}},
		{"CDS Hooks services", "cds hooks", []string{"hspc/cds-services", "northwind-labs/sepsis-cds"}},
		{"terminology with a typo", "terminolgy", []string{"northwind-labs/terminology"}},
		{"identity provider", "identity provider", []string{"meridian-systems/identity"}},
		{"SCIM provisioning", "scim provisioning", []string{"meridian-systems/scim-bridge", "meridian-systems/identity"}},
		{"outgoing mail", "smtp relay", []string{"openhealth/smtp-relay"}},
		{"tracing", "opentelemetry collector", []string{"openhealth/otel-collector"}},
		{"LDAP directory", "ldap directory", []string{"openhealth/directory"}},
		{"subscriptions", "fhir subscriptions", []string{"hspc/fhir-subscriptions"}},
		{"a word being typed", "terminol", []string{"northwind-labs/terminology"}},
		{"required license", "+license:MIT relay", []string{"openhealth/smtp-relay"}},
		{"a phrase", `"bulk data"`, []string{"acme/fhir"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustSearch(t, idx, Request{Query: tt.query})
			got := ids(r)
			if len(got) < len(tt.top) || !slices.Equal(got[:len(tt.top)], tt.top) {
				t.Errorf("search %q: got %v, want first %v", tt.query, got, tt.top)
			}
		})
	}
}

func TestNothingMatches(t *testing.T) {
	idx := exampleIndex(t)
	for _, q := range []string{"zzqxv", "+fhir +zzqxv", "license:WTFPL", `"postgres fhir smtp"`, "the of and"} {
		r := mustSearch(t, idx, Request{Query: q})
		if r.Total != 0 || len(r.Hits) != 0 {
			t.Errorf("search %q: got %d hits %v, want none", q, r.Total, ids(r))
		}
		if len(r.Facets) != len(Facets) {
			t.Errorf("search %q: %d facets, want %d", q, len(r.Facets), len(Facets))
		}
	}
}

func TestSyntax(t *testing.T) {
	idx := exampleIndex(t)
	all := mustSearch(t, idx, Request{Query: "", Size: MaxSize})
	if all.Total != idx.Documents() || all.Total < 10 {
		t.Fatalf("empty query: %d of %d products", all.Total, idx.Documents())
	}
	tests := []struct {
		query   string
		want    []string // exactly these, any order; nil: check only that include/exclude hold
		include []string
		exclude []string
	}{
		{query: "+license:MIT", want: []string{"openhealth/smtp-relay"}},
		{query: "license:mit", want: []string{"openhealth/smtp-relay"}}, // case-insensitive values
		{query: "license_status:evaluation", include: []string{"northwind-labs/sepsis-cds"}, exclude: []string{"acme/fhir"}},
		{query: "-fhir", exclude: []string{"acme/fhir", "hspc/fhir-api"}, include: []string{"openhealth/smtp-relay"}},
		{query: "+fhir -postgresql", include: []string{"hspc/smart-demo"}, exclude: []string{"acme/fhir", "openhealth/smtp-relay"}},
		{query: "tag:fhir*", include: []string{"acme/fhir", "hspc/fhir-api"}, exclude: []string{"openhealth/postgres"}},
		{query: "exposes:hl7-fhir-r4", include: []string{"acme/fhir", "hspc/fhir-api"}, exclude: []string{"hspc/smart-demo"}},
		{query: "needs:postgresql", include: []string{"acme/fhir"}, exclude: []string{"openhealth/postgres"}},
		{query: "sso:oidc", include: []string{"acme/fhir"}, exclude: []string{"openhealth/postgres"}},
		{query: "scim:yes", include: []string{"acme/fhir", "meridian-systems/scim-bridge"}, exclude: []string{"openhealth/postgres"}},
		{query: "publisher:openhealth", include: []string{"openhealth/postgres"}, exclude: []string{"acme/fhir"}},
		{query: "version:5.1.0", want: []string{"acme/fhir"}},
		{query: "name:smart", want: []string{"hspc/smart-demo"}},
		{query: `"data bulk"`, want: []string{}},
		{query: "postgre*", include: []string{"openhealth/postgres", "acme/fhir"}},
		{query: "/postgres.*/", include: []string{"openhealth/postgres", "acme/fhir"}},
		{query: "fihr~1", include: []string{"acme/fhir"}},
		// An escaped colon is part of the word, not a field: "smtp:relay" and "name:smart" are
		// single words no product has (name:smart above is a field query).
		{query: `smtp\:relay`, want: []string{}},
		{query: `name\:smart`, want: []string{}},
	}
	for _, tt := range tests {
		r := mustSearch(t, idx, Request{Query: tt.query, Size: MaxSize})
		got := ids(r)
		if tt.want != nil {
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("search %q: got %v, want %v", tt.query, got, want)
			}
		}
		for _, id := range tt.include {
			if !slices.Contains(got, id) {
				t.Errorf("search %q: %s missing from %v", tt.query, id, got)
			}
		}
		for _, id := range tt.exclude {
			if slices.Contains(got, id) {
				t.Errorf("search %q: %s should not match", tt.query, id)
			}
		}
	}
}

func TestLex(t *testing.T) {
	got, err := lex(`+license:MIT -tag:demo "bulk data"^2 fihr~ fhir* name:smart^1.5 /post.*/ a\:b`)
	if err != nil {
		t.Fatal(err)
	}
	want := []token{
		{occur: must, field: "license", text: "MIT", boost: 1, fuzzy: -1},
		{occur: mustNot, field: "tag", text: "demo", boost: 1, fuzzy: -1},
		{text: "bulk data", quoted: true, boost: 2, fuzzy: -1},
		{text: "fihr", boost: 1, fuzzy: 1},
		{text: "fhir*", boost: 1, fuzzy: -1, pattern: true},
		{field: "name", text: "smart", boost: 1.5, fuzzy: -1},
		{text: "post.*", regex: true, boost: 1, fuzzy: -1},
		{text: "a:b", boost: 1, fuzzy: -1},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(token{})); diff != "" {
		t.Errorf("lex (-want +got):\n%s", diff)
	}
}

func TestTypoAndPrefixExpansion(t *testing.T) {
	idx := exampleIndex(t)
	tests := []struct {
		word string
		want string // a term the word must expand to
	}{
		{"postgres", "postgresql"}, // prefix
		{"fihr", "fhir"},           // transposition
		{"terminolgy", "terminolog"},
		{"opentelemetri", "opentelemetri"},
		{"servers", "server"}, // stemming
	}
	for _, tt := range tests {
		var terms []string
		for _, w := range expand(token{text: tt.word, fuzzy: -1, boost: 1}, idx) {
			terms = append(terms, w.term)
		}
		if !slices.Contains(terms, tt.want) {
			t.Errorf("%q expands to %v, want %q among them", tt.word, terms, tt.want)
		}
	}
}

func TestFacetsAndFilters(t *testing.T) {
	idx := exampleIndex(t)
	r := mustSearch(t, idx, Request{Query: "fhir"})
	counts := map[string]map[string]int{}
	for _, f := range r.Facets {
		counts[f.Field] = map[string]int{}
		for _, v := range f.Values {
			counts[f.Field][v.Value] = v.Count
		}
	}
	if counts["category"]["fhir-server"] < 2 {
		t.Errorf("fhir: category counts %v", counts["category"])
	}
	if got := counts["license_status"]["open"] + counts["license_status"]["evaluation"]; got != r.Total {
		t.Errorf("fhir: license_status counts add up to %d, want %d", got, r.Total)
	}
	for _, f := range r.Facets {
		if f.Field == "exposes" {
			for _, v := range f.Values {
				if v.Value == "hl7-fhir-r4" && v.Label != "HL7 FHIR R4" {
					t.Errorf("exposes hl7-fhir-r4 label %q", v.Label)
				}
			}
		}
	}
	filtered := mustSearch(t, idx, Request{Query: "fhir", Filters: map[string][]string{"category": {"fhir-server"}, "license_status": {"open"}}})
	if filtered.Total != counts["category"]["fhir-server"] {
		t.Errorf("filtered total %d, want the category count %d", filtered.Total, counts["category"]["fhir-server"])
	}
	for i, h := range filtered.Hits {
		if h.LicenseStatus != "open" {
			t.Errorf("hit %s is %s", h.ID, h.LicenseStatus)
		}
		// Filters do not change the order of what they keep.
		if i > 0 && filtered.Hits[i-1].Score < h.Score {
			t.Errorf("hits out of order: %v", ids(filtered))
		}
	}
	two := mustSearch(t, idx, Request{Filters: map[string][]string{"publisher": {"acme", "hspc"}}, Size: MaxSize})
	for _, h := range two.Hits {
		if h.Publisher != "acme" && h.Publisher != "hspc" {
			t.Errorf("publisher filter let %s through", h.ID)
		}
	}
}

func TestHighlights(t *testing.T) {
	idx := exampleIndex(t)
	r := mustSearch(t, idx, Request{Query: "fhir postgres", Highlight: true, Size: 1})
	h := r.Hits[0].Highlights
	if !strings.Contains(h["name"], "<mark>FHIR</mark>") || !strings.Contains(h["summary"], "<mark>PostgreSQL</mark>") {
		t.Errorf("highlights %v", h)
	}
	if d := h["description"]; !strings.Contains(d, "<mark>") || len(d) > 2*fragmentLen {
		t.Errorf("description fragment %q", d)
	}
	if s, _ := mark(`<script>alert("fhir")</script>`, map[string]bool{"fhir": true}, 0); strings.Contains(s, "<script") {
		t.Errorf("highlight does not escape: %s", s)
	}
}

// TestIncrementalIndex rebuilds the index after changing, adding and removing products, and
// checks that only those are re-indexed and that the result is the index a full build makes.
func TestIncrementalIndex(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := exampleCatalog(t)
	first := filepath.Join(dir, "1", IndexDir)
	stats, err := BuildIndex(ctx, first, "", Input{Catalog: c})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Reused || stats.Indexed != len(c.Products) {
		t.Fatalf("first build: %+v", stats)
	}

	// Nothing changed: nothing indexed.
	second := filepath.Join(dir, "2", IndexDir)
	if stats, err = BuildIndex(ctx, second, first, Input{Catalog: c}); err != nil {
		t.Fatal(err)
	}
	if !stats.Reused || stats.Indexed != 0 || stats.Deleted != 0 {
		t.Errorf("unchanged rebuild: %+v", stats)
	}

	// One changed, one added, one removed; the images of another now verified.
	changed := exampleCatalog(t)
	fhir := *changed.Products["acme/fhir"]
	fhir.Summary = "Telepathic FHIR R4 server"
	changed.Products["acme/fhir"] = &fhir
	added := *changed.Products["hspc/smart-demo"]
	added.ID, added.Name = "hspc/smart-demo-2", "SMART Growth Chart Demo Two"
	changed.Products[added.ID] = &added
	delete(changed.Products, "openhealth/smtp-relay")
	images := map[string]catalog.ImageStatus{changed.Products["acme/sandbox-emr"].Latest().Digest(): {State: catalog.ImageVerified}}
	in := Input{Catalog: changed, Images: images}
	third := filepath.Join(dir, "3", IndexDir)
	if stats, err = BuildIndex(ctx, third, second, in); err != nil {
		t.Fatal(err)
	}
	if !stats.Reused || stats.Indexed != 3 || stats.Deleted != 1 {
		t.Errorf("rebuild after 3 changes and a removal: %+v, want 3 indexed and 1 deleted", stats)
	}
	fresh := filepath.Join(dir, "fresh", IndexDir)
	if _, err := BuildIndex(ctx, fresh, "", in); err != nil {
		t.Fatal(err)
	}
	a, err := Open(third)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(fresh)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, q := range []string{"telepathic", "fhir postgres", "smtp", "growth chart", "signature:verified", "fihr", "postgre*", ""} {
		ra, rb := mustSearch(t, a, Request{Query: q, Size: MaxSize}), mustSearch(t, b, Request{Query: q, Size: MaxSize})
		if !slices.Equal(ids(ra), ids(rb)) || ra.Total != rb.Total {
			t.Errorf("search %q: incremental %v, fresh %v", q, ids(ra), ids(rb))
			continue
		}
		for i := range ra.Hits {
			if math.Abs(ra.Hits[i].Score-rb.Hits[i].Score) > 1e-9*math.Abs(rb.Hits[i].Score) {
				t.Errorf("search %q: %s scores %v incrementally, %v fresh", q, ra.Hits[i].ID, ra.Hits[i].Score, rb.Hits[i].Score)
			}
		}
		if diff := cmp.Diff(rb.Facets, ra.Facets); diff != "" {
			t.Errorf("search %q: facets differ (-fresh +incremental):\n%s", q, diff)
		}
	}
	if r := mustSearch(t, a, Request{Query: "telepathic"}); r.Total != 1 || r.Hits[0].ID != "acme/fhir" {
		t.Errorf("the changed summary is not found: %v", ids(r))
	}
}

// TestStaleIndexIsRebuilt checks that an index written by another version is not updated but
// replaced.
func TestStaleIndexIsRebuilt(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := exampleCatalog(t)
	prev := filepath.Join(dir, "prev")
	if _, err := BuildIndex(ctx, prev, "", Input{Catalog: c}); err != nil {
		t.Fatal(err)
	}
	// Pretend another version wrote it.
	ix, err := Open(prev)
	if err != nil {
		t.Fatal(err)
	}
	ix.Close()
	if err := rewriteMeta(prev, meta{Version: indexVersion + 1}); err != nil {
		t.Fatal(err)
	}
	stats, err := BuildIndex(ctx, filepath.Join(dir, "next"), prev, Input{Catalog: c})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Reused || stats.Indexed != len(c.Products) {
		t.Errorf("rebuild over a stale index: %+v", stats)
	}
	if _, err := Open(prev); err == nil || !strings.Contains(err.Error(), "another version") {
		t.Errorf("opening a stale index: %v", err)
	}
}

func rewriteMeta(dir string, m meta) error {
	idx, err := bleve.Open(dir)
	if err != nil {
		return err
	}
	data, _ := json.Marshal(m)
	if err := idx.SetInternal(keyMeta, data); err != nil {
		idx.Close()
		return err
	}
	return idx.Close()
}

// TestAnalyzerIsBleves checks the memoized analyzer against bleve's own "en" analyzer.
func TestAnalyzerIsBleves(t *testing.T) {
	en, err := registry.NewCache().AnalyzerNamed("en")
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, d := range documents(Input{Catalog: exampleCatalog(t)}) {
		for _, f := range TextFields {
			texts = append(texts, d.text(f)...)
		}
	}
	texts = append(texts, "Müller’s Ärzte-Datenbank naïve café", "Don't STOP: it's the user's, users' ＇s", "日本語のテキスト", "1,000.5 v2.0 _x_")
	for _, text := range texts {
		var want, got []string
		for _, tok := range en.Analyze([]byte(text)) {
			want = append(want, string(tok.Term)+"@"+itoa(tok.Position))
		}
		for _, tok := range english.Analyze([]byte(text)) {
			got = append(got, string(tok.Term)+"@"+itoa(tok.Position))
		}
		if !slices.Equal(got, want) {
			t.Errorf("analysis of %.60q:\n got %v\nwant %v", text, got, want)
		}
	}
}

// TestCompactIndexHasBlevesStatistics decodes the compact index and checks every term's
// postings (documents, frequencies, field lengths) against the bleve index: with the same
// statistics, the browser computes bleve's scores.
func TestCompactIndexHasBlevesStatistics(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    *catalog.Catalog
	}{
		{"example", exampleCatalog(t)},
		{"synthetic", syntheticCatalog(t, 300)},
		{"synthetic-2000", syntheticCatalog(t, 2000)}, // with heads for the common terms
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Catalog: tc.c}
			var dir string
			if tc.name == "synthetic-2000" {
				dir = syntheticIndexDir(t, 2000)
			} else {
				dir = filepath.Join(t.TempDir(), IndexDir)
				if _, err := BuildIndex(context.Background(), dir, "", in); err != nil {
					t.Fatal(err)
				}
			}
			ix, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer ix.Close()
			m, files := readCompact(t, Pages(in))
			if m.Docs != ix.Documents() {
				t.Fatalf("compact index has %d products, bleve %d", m.Docs, ix.Documents())
			}
			ids := documentIDs(t, m, files)
			rows := documentRows(t, m, files)
			seen, heads := 0, 0
			for n := range m.Terms {
				var sh termShard
				if err := json.Unmarshal(files[m.TermFile(n)], &sh); err != nil {
					t.Fatal(err)
				}
				for k, term := range sh.Terms {
					postings := sh.Postings[k]
					if strings.HasPrefix(postings, "@") {
						heads++
						postings = checkHead(t, term, postings[1:], files, rows, m.Docs)
					}
					v := decodeVarints(postings)
					for i := 0; i < len(v); {
						field, n := TextFields[v[i]], v[i+1]
						i += 2
						if df := ix.docFreq(field, term); df != n {
							t.Errorf("%s:%s: %d documents in the compact index, %d in bleve", field, term, n, df)
						}
						want := blevePostings(t, ix, field, term)
						doc := 0
						for j := 0; j < n; j++ {
							doc += v[i]
							tf, length := v[i+1], v[i+2]
							i += 3
							p, ok := want[ids[doc]]
							norm := float64(float32(1 / math.Sqrt(float64(length))))
							if !ok || p.freq != tf || p.norm != norm {
								t.Errorf("%s:%s in %s: tf %d norm %v, bleve %+v", field, term, ids[doc], tf, norm, p)
							}
						}
						seen++
					}
				}
			}
			if seen < 100 {
				t.Errorf("only %d postings lists checked", seen)
			}
			if tc.name == "synthetic-2000" && heads < 3 {
				t.Errorf("only %d terms with a head", heads)
			}
		})
	}
}

type blevePosting struct {
	freq int
	norm float64
}

func blevePostings(t *testing.T, ix *Index, field, term string) map[string]blevePosting {
	tfr, err := ix.reader.TermFieldReader(context.Background(), []byte(term), field, true, true, false)
	if err != nil {
		t.Fatal(err)
	}
	defer tfr.Close()
	out := map[string]blevePosting{}
	for {
		d, err := tfr.Next(nil)
		if err != nil {
			t.Fatal(err)
		}
		if d == nil {
			return out
		}
		id, err := ix.reader.ExternalID(d.ID)
		if err != nil {
			t.Fatal(err)
		}
		out[id] = blevePosting{int(d.Freq), d.Norm}
	}
}

// readCompact returns the manifest and the shards, by file name, of the compact index.
func readCompact(t *testing.T, pages []page.Page) (Manifest, map[string][]byte) {
	t.Helper()
	var m Manifest
	files := map[string][]byte{}
	for _, p := range pages {
		data, err := p.Render()
		if err != nil {
			t.Fatal(err)
		}
		if p.Path == ManifestPath {
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			continue
		}
		files[strings.TrimPrefix(p.Path, ShardDir+"/")] = data
	}
	for name, data := range m.Inline {
		files[name] = data
	}
	return m, files
}

// checkHead checks a common term's head against its whole postings, which it returns: the
// counts per field, the set of documents, the postings of highest impact (in order) and the
// bound on the others; and the documents' rows, which must hold their postings of the term.
func checkHead(t *testing.T, term, ref string, files map[string][]byte, rows [][]any, docs int) string {
	t.Helper()
	var h headFile
	hash, full := ref[:shardHashLen], ref[shardHashLen:2*shardHashLen]
	counted := decodeVarints(ref[2*shardHashLen:])
	number := counted[0]
	counted = counted[1:]
	if err := json.Unmarshal(files["i-"+hash+".json"], &h); err != nil {
		t.Fatalf("%s: head: %v", term, err)
	}
	var postings string
	if err := json.Unmarshal(files["p-"+full+".json"], &postings); err != nil {
		t.Fatalf("%s: whole postings: %v", term, err)
	}
	type fields struct{ tf, length [4]int32 }
	byDoc := map[int]*fields{}
	v := decodeVarints(postings)
	var counts [4]int
	for i := 0; i < len(v); {
		fi, n := v[i], v[i+1]
		counts[fi] = n
		i += 2
		doc := 0
		for range n {
			doc += v[i]
			if byDoc[doc] == nil {
				byDoc[doc] = &fields{}
			}
			byDoc[doc].tf[fi], byDoc[doc].length[fi] = int32(v[i+1]), int32(v[i+2])
			i += 3
		}
	}
	if !slices.Equal(counted, counts[:]) {
		t.Errorf("%s: term shard counts %v, postings %v", term, counted, counts)
	}
	set := decodeDocSet(h.Docs, docs)
	if len(set) != len(byDoc) {
		t.Errorf("%s: head has %d documents, postings %d", term, len(set), len(byDoc))
	}
	for _, d := range set {
		if byDoc[d] == nil {
			t.Errorf("%s: head has document %d, postings not", term, d)
		}
	}
	top := decodeVarints(h.Top)
	prev, prevDoc := math.Inf(1), -1
	inTop := map[int]bool{}
	for i := 0; i < len(top); {
		d, mask := top[i], top[i+1]
		i += 2
		var f fields
		for fi := range 4 {
			if mask&(1<<fi) != 0 {
				f.tf[fi], f.length[fi] = int32(top[i]), int32(top[i+1])
				i += 2
			}
		}
		if want := byDoc[d]; want == nil || *want != f {
			t.Errorf("%s: head has %d %+v, postings %+v", term, d, f, want)
			continue
		}
		imp := impact(f.tf, f.length, counts, docs) * float64(fieldsOf(f.tf))
		if imp > prev || imp == prev && d < prevDoc {
			t.Errorf("%s: head's postings out of order at %d", term, d)
		}
		prev, prevDoc = imp, d
		inTop[d] = true
	}
	if len(inTop) != min(headPostings, len(byDoc)) {
		t.Errorf("%s: head has %d postings of %d", term, len(inTop), len(byDoc))
	}
	bandOf := map[int]int{}
	if len(h.Blocks) != len(h.Bands) || len(h.BlockBytes) != len(h.Bands) {
		t.Errorf("%s: %d bands, %d blocks", term, len(h.Bands), len(h.Blocks))
	}
	for k, band := range h.Bands {
		inBand := decodeDocSet(band, docs)
		for _, d := range inBand {
			bandOf[d] = k
		}
		// The band's block: its postings, all of them.
		var block string
		if err := json.Unmarshal(files["b-"+h.Blocks[k]+".json"], &block); err != nil {
			t.Fatalf("%s: block %d: %v", term, k, err)
		}
		v, seen := decodeVarints(block), 0
		for i := 0; i < len(v); seen++ {
			d, mask := v[i], v[i+1]
			i += 2
			var f fields
			for fi := range 4 {
				if mask&(1<<fi) != 0 {
					f.tf[fi], f.length[fi] = int32(v[i]), int32(v[i+1])
					i += 2
				}
			}
			if want := byDoc[d]; want == nil || *want != f || !slices.Contains(inBand, d) {
				t.Errorf("%s: block %d has %d %+v, postings %+v", term, k, d, f, want)
			}
		}
		if seen != len(inBand) {
			t.Errorf("%s: block %d has %d postings, its band %d", term, k, seen, len(inBand))
		}
	}
	if len(h.Bounds) != min(len(h.Bands)+1, len(headBands)+1) && len(byDoc) > headPostings {
		t.Errorf("%s: %d bands, %d bounds", term, len(h.Bands), len(h.Bounds))
	}
	for d, f := range byDoc {
		if inTop[d] {
			continue
		}
		k, ok := bandOf[d]
		if !ok {
			k = len(h.Bounds) - 1
		}
		imp, fields := impact(f.tf, f.length, counts, docs), fieldsOf(f.tf)
		if b := h.Bounds[k]; imp*float64(fields) > b[0] || imp > b[1] || float64(fields) > b[2] {
			t.Errorf("%s: document %d has impact %v in %d fields, over its band's bounds %v", term, d, imp, fields, b)
		}
		var b bytes.Buffer
		putFields(&b, f.tf, f.length)
		var got string
		if row := rows[d]; len(row) > 13 {
			got = row[13].(map[int]string)[number]
		}
		if got != b.String() {
			t.Errorf("%s: document %d's row has %v, want %q", term, d, got, b.String())
		}
	}
	return postings
}

func fieldsOf(tf [4]int32) int {
	n := 0
	for _, x := range tf {
		if x > 0 {
			n++
		}
	}
	return n
}

// documentRows returns the rows of the document shards, by document number.
func documentRows(t *testing.T, m Manifest, files map[string][]byte) [][]any {
	var out [][]any
	for n := 0; n*m.DocsPerShard < m.Docs; n++ {
		var dir string
		if err := json.Unmarshal(files[m.DocDir(n/m.ShardsPerDir)], &dir); err != nil {
			t.Fatal(err)
		}
		var rows []any
		if err := json.Unmarshal(files[DocFile(dir, n%m.ShardsPerDir)], &rows); err != nil {
			t.Fatal(err)
		}
		var common []string
		if x := CommonFile(dir, n%m.ShardsPerDir); x != "" {
			if err := json.Unmarshal(files[x], &common); err != nil || len(common) != len(rows) {
				t.Fatalf("%s: %d for %d rows, %v", x, len(common), len(rows), err)
			}
		}
		for k, r := range rows {
			row := r.([]any)
			if common != nil { // the common terms' postings, by the terms' numbers
				byNumber := map[int]string{}
				v, n := decodeVarints(common[k]), 0
				for i := 0; i < len(v); {
					n += v[i]
					start := i + 1
					i += 2
					for fi := range 4 {
						if v[start]&(1<<fi) != 0 {
							i += 2
						}
					}
					var b bytes.Buffer
					for _, x := range v[start:i] {
						putVarint(&b, x)
					}
					byNumber[n] = b.String()
				}
				row = append(row, byNumber)
			}
			out = append(out, row)
		}
	}
	return out
}

func documentIDs(t *testing.T, m Manifest, files map[string][]byte) []string {
	var ids []string
	for n := 0; n*m.DocsPerShard < m.Docs; n++ {
		var dir string
		if err := json.Unmarshal(files[m.DocDir(n/m.ShardsPerDir)], &dir); err != nil {
			t.Fatal(err)
		}
		var rows []any
		if err := json.Unmarshal(files[DocFile(dir, n%m.ShardsPerDir)], &rows); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if row, ok := r.([]any); ok {
				ids = append(ids, row[0].(string))
			}
		}
	}
	return ids
}

var synthetics sync.Map // products → *catalog.Catalog

// syntheticCatalog returns a synthetic catalog of n products, generated once per test binary.
func syntheticCatalog(t testing.TB, n int) *catalog.Catalog {
	t.Helper()
	if c, ok := synthetics.Load(n); ok {
		return c.(*catalog.Catalog)
	}
	c, ds := catalog.Check(synthetic.MapFS(synthetic.Options{Products: n}))
	if ds.HasErrors() {
		t.Fatalf("synthetic catalog: %d errors", ds.Errors())
	}
	synthetics.Store(n, c)
	return c
}

func TestVarints(t *testing.T) {
	var b bytes.Buffer
	nums := []int{0, 1, 31, 32, 33, 1023, 1024, 99999, 1 << 30}
	for _, n := range nums {
		putVarint(&b, n)
	}
	if got := decodeVarints(b.String()); !slices.Equal(got, nums) {
		t.Errorf("round trip: %v, want %v", got, nums)
	}
	set := []int{0, 5, 6, 7, 100, 101}
	for _, n := range []int{102, 10000} {
		if got := decodeDocSet(encodeDocSet(set, n), n); !slices.Equal(got, set) {
			t.Errorf("doc set in %d: %v", n, got)
		}
	}
	var dense []int // all but a few: as the gaps of those missing
	for d := range 10000 {
		if d%97 != 3 {
			dense = append(dense, d)
		}
	}
	if enc := encodeDocSet(dense, 10000); enc[0] != '!' || !slices.Equal(decodeDocSet(enc, 10000), dense) {
		t.Errorf("dense doc set: %.20q…", enc)
	}
}

// decodeDocSet is static/search.js's docSet, for the test.
func decodeDocSet(s string, n int) []int {
	var out []int
	if rest, ok := strings.CutPrefix(s, "!"); ok {
		missing := map[int]bool{}
		for _, d := range decodeDocSet(rest, n) {
			missing[d] = true
		}
		for d := range n {
			if !missing[d] {
				out = append(out, d)
			}
		}
		return out
	}
	if strings.HasPrefix(s, "~") {
		for i, c := range s[1:] {
			bits := strings.IndexRune(varintDigits, c)
			for b := range 6 {
				if bits&(1<<b) != 0 {
					out = append(out, i*6+b)
				}
			}
		}
		return out
	}
	doc := 0
	for _, g := range decodeVarints(s) {
		doc += g
		out = append(out, doc)
	}
	return out
}

// TestSmallCatalogIsInline checks that a small catalog's compact index is one file.
func TestSmallCatalogIsInline(t *testing.T) {
	pages := Pages(Input{Catalog: exampleCatalog(t)})
	if len(pages) != 1 || pages[0].Path != ManifestPath {
		var paths []string
		for _, p := range pages {
			paths = append(paths, p.Path)
		}
		t.Errorf("example catalog: %v, want only %s", paths, ManifestPath)
	}
	big := Pages(Input{Catalog: syntheticCatalog(t, 300)})
	if len(big) < 10 {
		t.Errorf("300 products: %d files, want shards", len(big))
	}
	for _, p := range big {
		if p.Path != ManifestPath && !strings.HasPrefix(p.Path, ShardDir+"/") {
			t.Errorf("unexpected path %s", p.Path)
		}
	}
}

// TestPackedPostings checks that postings packed during the inversion unpack to what was added,
// with large gaps, frequencies and documents, and fields left empty.
func TestPackedPostings(t *testing.T) {
	var lengths [4][]int32
	for fi := range lengths {
		lengths[fi] = make([]int32, 1<<21)
		for d := range lengths[fi] {
			lengths[fi][d] = int32(d%977 + fi)
		}
	}
	want := new([4][]posting)
	var pp packedPostings
	for _, x := range []struct{ fi, doc, tf int32 }{
		{0, 0, 1}, {2, 0, 300}, {0, 1, 2}, {2, 127, 1}, {0, 128, 128}, {0, 1<<21 - 1, 1 << 30},
	} {
		pp.add(int(x.fi), x.doc, x.tf)
		want[x.fi] = append(want[x.fi], posting{x.doc, x.tf, lengths[x.fi][x.doc]})
	}
	got := pp.unpack(&lengths)
	for fi := range got {
		if !slices.Equal(got[fi], want[fi]) {
			t.Errorf("field %d: unpacked %v, want %v", fi, got[fi], want[fi])
		}
	}
	if encodePostings(got) != encodePostings(want) {
		t.Errorf("the unpacked postings encode differently")
	}
}

// TestIndexManyBatches builds an index of more products than a batch holds, on both workers,
// and updates it after changing products that fall in different batches: every product is in
// the index once, with its hash, and only the changed ones are indexed again.
func TestIndexManyBatches(t *testing.T) {
	ctx := context.Background()
	n := 2*batchWorkers*batchSize + batchSize/2 // batches full and one not
	c := syntheticCatalog(t, n)
	dir := t.TempDir()
	first := filepath.Join(dir, "1", IndexDir)
	stats, err := BuildIndex(ctx, first, "", Input{Catalog: c})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Indexed != n || stats.Documents != n {
		t.Fatalf("first build: %+v, want %d indexed", stats, n)
	}
	count := func(path string) (uint64, map[string]string) {
		t.Helper()
		idx, err := bleve.OpenUsing(path, map[string]any{"read_only": true})
		if err != nil {
			t.Fatal(err)
		}
		defer idx.Close()
		docs, err := idx.DocCount()
		if err != nil {
			t.Fatal(err)
		}
		data, err := idx.GetInternal(keyHashes)
		hashes := map[string]string{}
		if err != nil || json.Unmarshal(data, &hashes) != nil {
			t.Fatalf("hashes: %v", err)
		}
		return docs, hashes
	}
	docs, hashes := count(first)
	want := documents(Input{Catalog: c})
	if docs != uint64(n) || len(hashes) != n {
		t.Fatalf("index holds %d documents and %d hashes, want %d", docs, len(hashes), n)
	}
	for _, d := range want {
		if hashes[d.ID] != d.hash() {
			t.Fatalf("hash of %s: %q, want %q", d.ID, hashes[d.ID], d.hash())
		}
	}

	// Change three products, in the first, a middle and the last batch.
	changed, ds := catalog.Check(synthetic.MapFS(synthetic.Options{Products: n}))
	if ds.HasErrors() {
		t.Fatalf("synthetic catalog: %d errors", ds.Errors())
	}
	ids := changed.SortedProductIDs()
	for _, i := range []int{0, n / 2, n - 1} {
		p := *changed.Products[ids[i]]
		p.Summary = "Quuxotic " + p.Summary
		changed.Products[ids[i]] = &p
	}
	second := filepath.Join(dir, "2", IndexDir)
	if stats, err = BuildIndex(ctx, second, first, Input{Catalog: changed}); err != nil {
		t.Fatal(err)
	}
	if !stats.Reused || stats.Indexed != 3 || stats.Deleted != 0 {
		t.Errorf("rebuild after 3 changes: %+v, want 3 indexed", stats)
	}
	if docs, hashes = count(second); docs != uint64(n) || len(hashes) != n {
		t.Fatalf("updated index holds %d documents and %d hashes, want %d", docs, len(hashes), n)
	}
	ix, err := Open(second)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	r := mustSearch(t, ix, Request{Query: "quuxotic", Size: 10})
	if r.Total != 3 {
		t.Errorf(`"quuxotic" finds %d products, want 3`, r.Total)
	}
}
