package search_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/synthetic"
	"github.com/hspc/marketplace/generator"
	"github.com/hspc/marketplace/generator/internal/browsertest"
	"github.com/hspc/marketplace/generator/page"
	"github.com/hspc/marketplace/generator/search"
	"github.com/hspc/marketplace/generator/serve"
	"github.com/hspc/marketplace/generator/site"
)

// ---- sites to search ----

type builtSite struct {
	dir     string
	catalog *catalog.Catalog
}

var sites sync.Map // name → *builtSite

// exampleSite is the example catalog built by the generator, with the search outputs.
func exampleSite(t testing.TB) *builtSite {
	t.Helper()
	if s, ok := sites.Load("example"); ok {
		return s.(*builtSite)
	}
	out := filepath.Join(tempDir(t), "example")
	res, err := generator.Build(context.Background(), generator.Options{Root: "../..", Out: out, Verify: generator.VerifySkip})
	if err != nil {
		t.Fatalf("build: %v\n%v", err, res.Diagnostics)
	}
	for _, p := range []string{search.ManifestPath, search.IndexDir} {
		if _, err := os.Stat(filepath.Join(out, p)); err != nil {
			t.Fatalf("the generator did not write %s: %v", p, err)
		}
	}
	s := &builtSite{out, res.Catalog}
	sites.Store("example", s)
	return s
}

// syntheticSite is a synthetic catalog of n products as far as search needs it: the site's
// real search page, 404 page and static files, and the search outputs.
func syntheticSite(t testing.TB, n int) *builtSite {
	t.Helper()
	name := fmt.Sprintf("synthetic-%d", n)
	if s, ok := sites.Load(name); ok {
		return s.(*builtSite)
	}
	c, ds := catalog.Check(synthetic.MapFS(synthetic.Options{Products: n}))
	if ds.HasErrors() {
		t.Fatalf("synthetic catalog: %d errors", ds.Errors())
	}
	out := filepath.Join(tempDir(t), name)
	writeSearchSite(t, out, c)
	s := &builtSite{out, c}
	sites.Store(name, s)
	return s
}

// writeSearchSite writes what searching needs into out: the site's search page, 404 page and
// static files, and both indexes.
func writeSearchSite(t testing.TB, out string, c *catalog.Catalog) {
	t.Helper()
	writeStaticSearch(t, out, c)
	if _, err := search.BuildIndex(context.Background(), filepath.Join(out, search.IndexDir), "", search.Input{Catalog: c}); err != nil {
		t.Fatal(err)
	}
}

// writeStaticSearch is writeSearchSite without the bleve index, which a static host does not
// use: what the browser benchmarks need (the index takes minutes at 100 000 products).
func writeStaticSearch(t testing.TB, out string, c *catalog.Catalog) {
	t.Helper()
	pages, err := site.Pages(site.Input{Catalog: c})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		if p.Path == "search/index.html" || p.Path == "404.html" || strings.HasPrefix(p.Path, "static/") {
			writePage(t, out, p.Path, p.Bytes)
		}
	}
	for _, p := range search.Pages(search.Input{Catalog: c}) {
		writePage(t, out, p.Path, p.Bytes)
	}
}

func writePage(t testing.TB, out, path string, render func() ([]byte, error)) {
	t.Helper()
	data, err := render()
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(out, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tempDir is a folder shared by the tests of this binary, removed after them.
func tempDir(t testing.TB) string {
	dir, err := search.SharedTestDir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// ---- what the page does ----

// requestLog records what the browser fetched: URL, status and bytes on the wire.
type requestLog struct {
	mu    sync.Mutex
	urls  map[network.RequestID]string
	sent  map[network.RequestID]float64 // when the page asked, in milliseconds since the epoch
	reqs  []fetched
	bytes int64
}

type fetched struct {
	url    string
	status int64
	bytes  int64
	sent   float64 // milliseconds since the epoch
}

func listen(ctx context.Context) *requestLog {
	l := &requestLog{urls: map[network.RequestID]string{}, sent: map[network.RequestID]float64{}}
	status := map[network.RequestID]int64{}
	chromedp.ListenTarget(ctx, func(ev any) {
		l.mu.Lock()
		defer l.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			l.urls[ev.RequestID] = ev.Request.URL
			if ev.WallTime != nil {
				l.sent[ev.RequestID] = float64(ev.WallTime.Time().UnixNano()) / 1e6
			}
		case *network.EventResponseReceived:
			status[ev.RequestID] = ev.Response.Status
		case *network.EventLoadingFinished:
			l.reqs = append(l.reqs, fetched{l.urls[ev.RequestID], status[ev.RequestID], int64(ev.EncodedDataLength), l.sent[ev.RequestID]})
			l.bytes += int64(ev.EncodedDataLength)
		}
	})
	return l
}

func (l *requestLog) snapshot() ([]fetched, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.reqs), l.bytes
}

// sentBefore returns the requests the page sent before at (milliseconds since the epoch) that
// have finished, but those to the URLs in after, and their bytes: what a page needed to show
// what it showed at that moment.
func (l *requestLog) sentBefore(at float64, after []string) ([]fetched, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []fetched
	var total int64
	for _, r := range l.reqs {
		if r.sent < at && !slices.Contains(after, r.url) {
			out = append(out, r)
			total += r.bytes
		}
	}
	return out, total
}

// typeAndWait types query into the search box and returns the ID of the first product shown
// once the page shows the results for the whole query.
func typeAndWait(ctx context.Context, pageURL, query string) (first string, err error) {
	err = chromedp.Run(ctx,
		chromedp.Navigate(pageURL),
		chromedp.WaitVisible("#q", chromedp.ByID),
		chromedp.SendKeys("#q", query, chromedp.ByID),
		chromedp.Poll(fmt.Sprintf(`(() => {
			const s = document.getElementById('search-status').textContent;
			const h = document.querySelector('#results .search-hit');
			return s.includes(%q) && h ? h.dataset.id : null;
		})()`, query), &first, chromedp.WithPollingTimeout(30*time.Second)),
	)
	return first, err
}

// TestBrowserFindsTheFHIRServer is the definition of done: on the built example site, a
// person typing "fhir postgres" into the search box sees the FHIR server first, both from a
// plain static file server (search in the browser) and from marketplace serve (the API).
func TestBrowserFindsTheFHIRServer(t *testing.T) {
	ctx := browsertest.Start(t)
	s := exampleSite(t)
	srv, err := serve.New(s.dir, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, tc := range []struct {
		mode    string
		handler http.Handler
	}{
		{"static", http.FileServer(http.Dir(s.dir))},
		{"server", srv.Handler()},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			hs := httptest.NewServer(tc.handler)
			defer hs.Close()
			tctx, cancel := chromedp.NewContext(ctx)
			defer cancel()
			log := listen(tctx)
			var mu sync.Mutex
			var browserErrors []string
			chromedp.ListenTarget(tctx, func(ev any) {
				// Failed loads and Content-Security-Policy violations (serve sends a policy).
				if e, ok := ev.(*cdplog.EventEntryAdded); ok && e.Entry.Level == cdplog.LevelError {
					mu.Lock()
					browserErrors = append(browserErrors, e.Entry.Text)
					mu.Unlock()
				}
			})
			if err := chromedp.Run(tctx, network.Enable(), cdplog.Enable(), network.SetCacheDisabled(true)); err != nil {
				t.Fatal(err)
			}
			first, err := typeAndWait(tctx, hs.URL+"/search/index.html", "fhir postgres")
			if err != nil {
				t.Fatal(err)
			}
			if first != "acme/fhir" {
				t.Errorf("first result %q, want acme/fhir", first)
			}
			var mode string
			if err := chromedp.Run(tctx, chromedp.Evaluate(`window.marketplaceSearch.mode`, &mode)); err != nil {
				t.Fatal(err)
			}
			if mode != tc.mode {
				t.Errorf("the page searched in %q mode, want %q", mode, tc.mode)
			}
			reqs, total := log.snapshot()
			var api, index bool
			for _, r := range reqs {
				api = api || (strings.Contains(r.url, "/api/search?") && strings.Contains(r.url, "q=fhir") && r.status == 200)
				index = index || strings.Contains(r.url, "/api/v1/search.json")
			}
			if tc.mode == "server" && (!api || index) {
				t.Errorf("served site: asked the API %v, loaded the compact index %v", api, index)
			}
			if tc.mode == "static" && (api || !index) {
				t.Errorf("static site: asked the API %v, loaded the compact index %v", api, index)
			}
			t.Logf("%s: first result %s after %d requests, %d bytes", tc.mode, first, len(reqs), total)

			// Facet filters as checkboxes: keep only evaluation licenses.
			var ids []string
			err = chromedp.Run(tctx,
				chromedp.Click(`#facet-license input[value="evaluation"]`, chromedp.ByQuery),
				chromedp.Poll(`(() => {
					const r = document.getElementById('results'), hits = [...r.querySelectorAll('.search-hit')];
					return (r.dataset.query || '').includes('license=evaluation') && hits.length ? hits.map(h => h.dataset.id) : null;
				})()`, &ids, chromedp.WithPollingTimeout(20*time.Second)),
			)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				if s.catalog.IsOpen(s.catalog.Products[id]) {
					t.Errorf("the evaluation filter shows %s", id)
				}
			}

			// Results show the product's logo and an excerpt of its description around the
			// words that matched ("export" is only in descriptions).
			var card struct {
				Logo    bool   `json:"logo"`
				Excerpt string `json:"excerpt"`
			}
			err = chromedp.Run(tctx,
				chromedp.Navigate(hs.URL+"/search/index.html?q=export+fhir"),
				chromedp.Poll(`(() => {
					const h = document.querySelector('#results .search-hit[data-id="acme/fhir"]');
					const img = h && h.querySelector('img.logo'), frag = h && h.querySelector('.card-fragment');
					return img && img.complete && frag ? {logo: img.naturalWidth > 0, excerpt: frag.innerHTML} : null;
				})()`, &card, chromedp.WithPollingTimeout(20*time.Second)),
			)
			if err != nil {
				t.Fatalf("logo and excerpt: %v", err)
			}
			if !card.Logo || !strings.Contains(card.Excerpt, "<mark>") {
				t.Errorf("acme/fhir's result: logo loaded %v, excerpt %q", card.Logo, card.Excerpt)
			}

			// A malformed query says what is wrong, in both modes.
			var problem string
			err = chromedp.Run(tctx,
				chromedp.Navigate(hs.URL+`/search/index.html?q=%22bulk+data`),
				chromedp.Poll(`(() => { const n = document.querySelector('#results .query-error'); return n ? n.textContent : null; })()`, &problem, chromedp.WithPollingTimeout(20*time.Second)),
			)
			if err != nil {
				t.Fatalf("malformed query: %v", err)
			}
			if !strings.Contains(problem, "query:1:1: unterminated phrase") {
				t.Errorf("malformed query: %q", problem)
			}
			mu.Lock()
			for _, e := range browserErrors {
				if !strings.Contains(e, "status of 400") { // the API's answer to the malformed query
					t.Errorf("browser error: %s", e)
				}
			}
			mu.Unlock()
		})
	}
}

// staticResult is what window.marketplaceSearch.staticSearch returns.
type staticResult struct {
	Total int `json:"total"`
	Hits  []struct {
		ID    string  `json:"id"`
		Score float64 `json:"score"`
	} `json:"hits"`
	Facets []search.Facet `json:"facets"`
}

type agreementQuery struct {
	q       string
	filters map[string][]string
}

// agreementQueries are ordinary queries: words, typos, prefixes, stems, required and excluded
// words, field values and facet filters. (Phrases are matched as all their words in the
// browser, which keeps no word positions; bleve checks the order.)
var agreementQueries = []agreementQuery{
	{q: "fhir postgres"}, {q: "fhir"}, {q: "fhir server"}, {q: "postgres"}, {q: "smart app launch"},
	{q: "cds hooks"}, {q: "terminology service"}, {q: "identity provider"}, {q: "scim"}, {q: "oidc"},
	{q: "growth charts"}, {q: "imaging archive"}, {q: "dicom"}, {q: "lab results"}, {q: "patient portal"},
	{q: "hl7 v2 interface engine"}, {q: "fihr"}, {q: "postgress"}, {q: "terminolgy"}, {q: "terminol"},
	{q: "+license:MIT fhir"}, {q: "-fhir imaging"}, {q: "+fhir -postgresql"}, {q: "tag:fhir"},
	{q: "exposes:hl7-fhir-r4"}, {q: "servers monitoring"}, {q: "the of and"}, {q: "zzqxv"}, {q: ""},
	{q: "fhir", filters: map[string][]string{"license_status": {"open"}}},
	{q: "server", filters: map[string][]string{"category": {"fhir-server", "imaging"}, "scim": {"yes"}}},
	{q: "", filters: map[string][]string{"publisher": {"acme", "hspc"}}},
	{q: "fhir server imaging"}, {q: "+fhir +server"}, {q: "fhir^3 server"}, {q: "+server -fhir"}, {q: "name:fhir server"},
	{q: "server data", filters: map[string][]string{"license_status": {"open"}}},
}

// TestBrowserAgreesWithBleve runs the same queries through bleve and through search.js over
// the compact index, in Chromium, for the example catalog and a synthetic one, and expects the
// same totals, the same top ten (products whose bleve scores tie may swap) and the same facet
// counts.
func TestBrowserAgreesWithBleve(t *testing.T) {
	ctx := browsertest.Start(t)
	for _, name := range []string{"example", "synthetic"} {
		t.Run(name, func(t *testing.T) {
			var s *builtSite
			if name == "example" {
				s = exampleSite(t)
			} else {
				s = syntheticSite(t, 2000)
			}
			idx, err := search.Open(s.dir)
			if err != nil {
				t.Fatal(err)
			}
			defer idx.Close()
			hs := httptest.NewServer(http.FileServer(http.Dir(s.dir)))
			defer hs.Close()
			if err := chromedp.Run(ctx, chromedp.Navigate(hs.URL+"/search/index.html"), chromedp.WaitVisible("#q", chromedp.ByID)); err != nil {
				t.Fatal(err)
			}
			// Then again, on the synthetic catalog, with a new index allowed few rows: blocks
			// of postings make the uncertain products known instead.
			rounds := []string{`null`}
			if name == "synthetic" {
				rounds = append(rounds, `(window.marketplaceSearch.staticIndex = null, window.marketplaceSearch.maxRows = 4)`)
			}
			for i, setup := range rounds {
				if err := chromedp.Run(ctx, chromedp.Evaluate(setup, nil)); err != nil {
					t.Fatal(err)
				}
				agree(t, ctx, idx, name, i > 0)
			}
		})
	}
}

// agree runs the agreement queries in the browser and through bleve and compares them; on the
// synthetic catalog it expects most to have found their best from common terms' heads, and
// blocks fetched when few rows were allowed.
func agree(t *testing.T, ctx context.Context, idx *search.Index, name string, fewRows bool) {
	t.Helper()
	for _, aq := range agreementQueries {
		filters, _ := json.Marshal(aq.filters)
		var js staticResult
		expr := fmt.Sprintf(`window.marketplaceSearch.staticSearch(%s, %s, 10)`, jsString(aq.q), filters)
		if err := chromedp.Run(ctx, chromedp.Evaluate(expr, &js, awaitPromise)); err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		want, err := idx.Search(context.Background(), search.Request{Query: aq.q, Filters: aq.filters, Size: 20})
		if err != nil {
			t.Fatal(err)
		}
		compareResults(t, aq, want, &js)
	}
	// On the synthetic catalog, common terms have heads (see static.go): most
	// searches find their best without the terms' whole postings.
	var stats struct{ Bounded, Exhaustive, Rows, Blocks int }
	if err := chromedp.Run(ctx, chromedp.Evaluate(`window.marketplaceSearch.staticIndex.stats`, &stats)); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %+v", name, stats)
	if name == "synthetic" && !fewRows && (stats.Bounded < 10 || stats.Rows == 0) {
		t.Errorf("%d of %d searches found their best from the heads of common terms, with %d rows",
			stats.Bounded, stats.Bounded+stats.Exhaustive, stats.Rows)
	}
	if fewRows && stats.Blocks == 0 {
		t.Errorf("allowed few rows, the browser fetched no blocks (%+v)", stats)
	}
}

func awaitPromise(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// compareResults compares the browser's top ten with bleve's. A product may stand where bleve
// put another whose score is the same to nine digits: such ties are broken by ID in both, but
// sums of the same numbers in another order may differ in the last bit.
func compareResults(t *testing.T, aq agreementQuery, want *search.Result, got *staticResult) {
	t.Helper()
	name := fmt.Sprintf("%q %v", aq.q, aq.filters)
	if got.Total != want.Total {
		t.Errorf("%s: browser finds %d products, bleve %d", name, got.Total, want.Total)
	}
	n := min(10, len(want.Hits))
	if len(got.Hits) != n {
		t.Errorf("%s: browser shows %d, bleve %d", name, len(got.Hits), n)
		return
	}
	for i := range n {
		if got.Hits[i].ID == want.Hits[i].ID {
			continue
		}
		tied := false
		for _, h := range want.Hits {
			if h.ID == got.Hits[i].ID && math.Abs(h.Score-want.Hits[i].Score) <= 1e-9*math.Abs(want.Hits[i].Score) {
				tied = true
			}
		}
		if !tied {
			t.Errorf("%s: #%d is %s in the browser, %s in bleve\n browser %v\n bleve   %v", name, i+1, got.Hits[i].ID, want.Hits[i].ID, hitIDs(got), resultIDs(want))
			return
		}
	}
	gotFacets := map[string]map[string]int{}
	for _, f := range got.Facets {
		gotFacets[f.Field] = map[string]int{}
		for _, v := range f.Values {
			gotFacets[f.Field][v.Value] = v.Count
		}
	}
	for _, f := range want.Facets {
		if len(f.Values) != len(gotFacets[f.Field]) {
			t.Errorf("%s: facet %s has %d values in the browser, %d in bleve", name, f.Field, len(gotFacets[f.Field]), len(f.Values))
			continue
		}
		for _, v := range f.Values {
			if gotFacets[f.Field][v.Value] != v.Count {
				t.Errorf("%s: facet %s=%s counts %d in the browser, %d in bleve", name, f.Field, v.Value, gotFacets[f.Field][v.Value], v.Count)
			}
		}
	}
}

func hitIDs(r *staticResult) []string {
	var out []string
	for _, h := range r.Hits {
		out = append(out, h.ID)
	}
	return out
}

func resultIDs(r *search.Result) []string {
	var out []string
	for _, h := range r.Hits[:min(10, len(r.Hits))] {
		out = append(out, h.ID)
	}
	return out
}

// TestBrowserAnalyzerIsBleves compares search.js's analysis (tokenizer, possessives, lower case,
// stop words, Porter stemmer) with bleve's on every text of the example catalog and of a
// synthetic one, and on words that exercise each step of the stemmer.
func TestBrowserAnalyzerIsBleves(t *testing.T) {
	ctx := browsertest.Start(t)
	s := exampleSite(t)
	hs := httptest.NewServer(http.FileServer(http.Dir(s.dir)))
	defer hs.Close()
	if err := chromedp.Run(ctx, chromedp.Navigate(hs.URL+"/search/index.html"), chromedp.WaitVisible("#q", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	texts := []string{stemmerWords, "Don't STOP: it's the user's and the users' HL7-FHIR_R4 v2.0.1 1,000.5 e.g. a:b",
		"launch.html user’s café—naïve 日本語のテキスト Ärzte-Datenbank ＦＨＩＲ’s ２０２６"}
	for _, c := range []*catalog.Catalog{s.catalog, syntheticSite(t, 2000).catalog} {
		for i, id := range c.SortedProductIDs() {
			if i == 300 {
				break
			}
			p := c.Products[id]
			texts = append(texts, p.Name+" "+p.Summary+" "+strings.Join(p.Tags, " ")+" "+p.Description)
		}
	}
	var got [][]string
	data, _ := json.Marshal(texts)
	if err := chromedp.Run(ctx, chromedp.Evaluate(`(`+string(data)+`).map(t => window.marketplaceSearch.analyze(t))`, &got)); err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		want := search.Analyze(text)
		if !slices.Equal(got[i], want) {
			for k := range min(len(got[i]), len(want)) {
				if got[i][k] != want[k] {
					t.Errorf("text %d: term %d is %q in the browser, %q in bleve", i, k, got[i][k], want[k])
					break
				}
			}
			if len(got[i]) != len(want) {
				t.Errorf("text %d: %d terms in the browser, %d in bleve", i, len(got[i]), len(want))
			}
		}
	}
}

// stemmerWords exercise every rule of the Porter stemmer (from Porter's paper and the
// go-porterstemmer tests).
const stemmerWords = `caresses ponies ties caress cats feed agreed plastered bled motoring sing conflated troubled
sized hopping tanned falling hissing fizzed failing filing happy sky relational conditional rational valenci hesitanci
digitizer conformabli radicalli differentli vileli analogousli vietnamization predication operator feudalism
decisiveness hopefulness callousness formaliti sensitiviti sensibiliti triplicate formative formalize electriciti
electrical hopeful goodness revival allowance inference airliner gyroscopic adjustable defensible irritant
replacement adjustment dependent adoption homologou communism activate angulariti homologous effective bowdlerize
probate rate cease controll roll generalizations oscillators traditional archaeology biology analogies
running runs ran easily fairly databases servers monitoring notifications provisioning authorization`

// TestBrowserRefusesQueriesLikeBleve: search.js refuses the queries that the server refuses,
// with the same message (for an invalid regular expression, the server adds Go's reason).
func TestBrowserRefusesQueriesLikeBleve(t *testing.T) {
	ctx := browsertest.Start(t)
	s := exampleSite(t)
	idx, err := search.Open(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	hs := httptest.NewServer(http.FileServer(http.Dir(s.dir)))
	defer hs.Close()
	if err := chromedp.Run(ctx, chromedp.Navigate(hs.URL+"/search/index.html"), chromedp.WaitVisible("#q", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`fhir "bulk data`, `smart /a(b/`, strings.Repeat("a ", search.MaxQueryClauses+1),
		strings.Repeat("fhir,", search.MaxQueryWords+1), strings.Repeat("ü", search.MaxQueryBytes/2+1),
		`"bulk data" fhir*`, // fine
	} {
		var got string
		expr := fmt.Sprintf(`window.marketplaceSearch.staticSearch(%s, {}, 10).then(() => '', e => e.message)`, jsString(q))
		if err := chromedp.Run(ctx, chromedp.Evaluate(expr, &got, awaitPromise)); err != nil {
			t.Fatal(err)
		}
		_, err := idx.Search(context.Background(), search.Request{Query: q})
		want := ""
		if err != nil {
			want = err.Error()
		}
		if (got == "") != (want == "") || !strings.HasPrefix(want, got) {
			t.Errorf("query %.30q: the browser says %q, the server %q", q, got, want)
		}
	}
}

// TestOneProductChangeRenamesFewShards builds the compact index of a catalog, changes one
// product's summary and builds it again: only the shards whose content changed (those of the
// terms the old and new summaries hold, the product's document shard and its directory, the
// dictionary of document counts) and the manifest differ, every other shard keeps its name and
// page key, and search.js over the new index still agrees with bleve.
func TestOneProductChangeRenamesFewShards(t *testing.T) {
	before := syntheticSite(t, 2000)
	c := before.catalog
	ids := c.SortedProductIDs()
	changed := *c.Products[ids[777]]
	changed.Summary = "Teleradiology gateway that relays DICOM studies and FHIR imaging summaries"
	c2 := &catalog.Catalog{Index: c.Index, Publishers: c.Publishers, Products: maps(c.Products)}
	c2.Products[changed.ID] = &changed

	keys := func(pages []page.Page) map[string]string {
		out := map[string]string{}
		for _, p := range pages {
			out[p.Path] = p.Key
		}
		return out
	}
	k1, k2 := keys(search.Pages(search.Input{Catalog: c})), keys(search.Pages(search.Input{Catalog: c2}))
	if len(k1) < 200 {
		t.Fatalf("only %d shards: the catalog is too small to tell", len(k1))
	}
	var added, removed []string
	for p, k := range k2 {
		old, ok := k1[p]
		switch {
		case !ok:
			added = append(added, p)
		case old != k:
			if p != search.ManifestPath {
				t.Errorf("%s kept its name but not its page key", p)
			}
		}
	}
	for p := range k1 {
		if _, ok := k2[p]; !ok {
			removed = append(removed, p)
		}
	}
	slices.Sort(added)
	t.Logf("%d of %d shards renamed: %v", len(added), len(k2), added)
	if len(added) == 0 || len(added) != len(removed) {
		t.Errorf("%d shards added, %d removed: want as many, and some", len(added), len(removed))
	}
	// The shards of the terms of the summary, the dictionary, the product's document shard, its
	// directory and its common terms' postings (x-*.json); and for each common term of the
	// summary its head, its whole postings and the block of its band.
	if len(added) > 24 {
		t.Errorf("changing one summary renamed %d of %d shards, want at most 24: %v", len(added), len(k2), added)
	}
	if k1[search.ManifestPath] == k2[search.ManifestPath] {
		t.Errorf("the manifest did not change")
	}

	// The new index still searches like bleve, the changed product included.
	out := filepath.Join(t.TempDir(), "synthetic-2000-changed") // its own: the test may run more than once (-count)
	writeSearchSite(t, out, c2)
	idx, err := search.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	ctx := browsertest.Start(t)
	hs := httptest.NewServer(http.FileServer(http.Dir(out)))
	defer hs.Close()
	if err := chromedp.Run(ctx, chromedp.Navigate(hs.URL+"/search/index.html"), chromedp.WaitVisible("#q", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, aq := range []agreementQuery{{q: "teleradiology"}, {q: "dicom studies"}, {q: "fhir imaging"}, {q: "fhir postgres"}, {q: "relays"}} {
		var js staticResult
		expr := fmt.Sprintf(`window.marketplaceSearch.staticSearch(%s, {}, 10)`, jsString(aq.q))
		if err := chromedp.Run(ctx, chromedp.Evaluate(expr, &js, awaitPromise)); err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		want, err := idx.Search(context.Background(), search.Request{Query: aq.q, Size: 20})
		if err != nil {
			t.Fatal(err)
		}
		compareResults(t, aq, want, &js)
		found = found || slices.Contains(hitIDs(&js), changed.ID)
	}
	if !found {
		t.Errorf("the browser does not find %s by its new summary", changed.ID)
	}
}

// TestBrowserPublishersLoadLazily checks the search page of a catalog with many publishers: the
// page lists none of them (at 100 000 products they would be thousands of checkboxes), the
// script shows the most frequent of a query's results, and its field finds any publisher by
// name and filters by it, in the browser and through serve's API.
func TestBrowserPublishersLoadLazily(t *testing.T) {
	s := syntheticSite(t, 2000)
	html, err := os.ReadFile(filepath.Join(s.dir, "search", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), "data-lazy") || strings.Contains(string(html), `name="publisher"`) {
		t.Fatalf("the search page of %d publishers lists them, or is not lazy", len(s.catalog.Publishers))
	}
	// The publisher to find: the last one, which is not among the most frequent shown at first.
	pubs := s.catalog.SortedPublisherIDs()
	pub := pubs[len(pubs)-1]
	name := s.catalog.Publishers[pub].Name
	if name == "" {
		name = pub
	}
	srv, err := serve.New(s.dir, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := browsertest.Start(t)
	for _, tc := range []struct {
		mode    string
		handler http.Handler
	}{
		{"static", http.FileServer(http.Dir(s.dir))},
		{"server", srv.Handler()},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			hs := httptest.NewServer(tc.handler)
			defer hs.Close()
			tctx, cancel := chromedp.NewContext(ctx)
			defer cancel()
			var shown int
			err := chromedp.Run(tctx,
				chromedp.Navigate(hs.URL+"/search/index.html?q=fhir"),
				chromedp.Poll(`(() => { const n = document.querySelectorAll('#facet-publisher label').length; return n > 0 ? n : null; })()`, &shown, chromedp.WithPollingTimeout(20*time.Second)),
			)
			if err != nil {
				t.Fatalf("publishers shown: %v", err)
			}
			if shown > 12 {
				t.Errorf("%d publishers shown at first, want the 12 most frequent at most", shown)
			}
			var ids []string
			err = chromedp.Run(tctx,
				chromedp.Evaluate(fmt.Sprintf(`(() => {
					const inp = document.querySelector('#facet-publisher .facet-find');
					inp.focus();
					inp.value = %s;
					inp.dispatchEvent(new Event('change', {bubbles: true}));
				})()`, jsString(name)), nil),
				chromedp.Poll(fmt.Sprintf(`(() => {
					if (!new URLSearchParams(location.search).getAll('publisher').includes(%s)) return null;
					const cb = document.querySelector('#facet-publisher input[type=checkbox][value=%s]');
					const hits = [...document.querySelectorAll('#results .search-hit')].map(h => h.dataset.id);
					return cb && cb.checked && hits.length ? hits : null;
				})()`, jsString(pub), jsString(pub)), &ids, chromedp.WithPollingTimeout(20*time.Second)),
			)
			if err != nil {
				t.Fatalf("finding publisher %q: %v", name, err)
			}
			for _, id := range ids {
				if !strings.HasPrefix(id, pub+"/") {
					t.Errorf("filtered by publisher %s, the results show %s", pub, id)
				}
			}
		})
	}
}
