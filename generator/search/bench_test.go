package search_test

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/synthetic"
	"github.com/hspc/marketplace/generator"
	"github.com/hspc/marketplace/generator/internal/browsertest"
	"github.com/hspc/marketplace/generator/search"
	"github.com/hspc/marketplace/generator/serve"
)

// The benchmarks run on the synthetic 10 000-product catalog and print their figures beside the
// targets (on 2 cores): the whole `marketplace build` ≤ 10 s wall and ≤ 455 MiB peak; a search
// ≤ 5 ms at the 99th percentile; the browser's first answer after ≤ 300 KB.
//
//	go test -run XXX -bench . ./generator/search/

const benchProducts = 10000

// writeSynthetic writes the synthetic catalog into a new folder (or reuses the one kept in
// $MARKETPLACE_BENCH_CATALOGS) and loads it.
func writeSynthetic(b *testing.B, n int) (string, *catalog.Catalog) {
	b.Helper()
	var dir string
	if keep := synthetic.BenchDir(); keep != "" {
		var err error
		if dir, err = synthetic.Cached(keep, synthetic.Options{Products: n}); err != nil {
			b.Fatal(err)
		}
	} else {
		dir = b.TempDir()
		if err := synthetic.Write(dir, synthetic.Options{Products: n}); err != nil {
			b.Fatal(err)
		}
	}
	c, ds := catalog.Check(os.DirFS(dir))
	if ds.HasErrors() {
		b.Fatalf("synthetic catalog: %d errors", ds.Errors())
	}
	return dir, c
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// threadCPUTime is the CPU time of the calling thread (Linux RUSAGE_THREAD): with the goroutine
// locked to its thread, what one in-process search costs, without bleve's background merging
// or the garbage collector's workers that RUSAGE_SELF would add.
//
// It is read with clock_gettime(CLOCK_THREAD_CPUTIME_ID), which counts nanoseconds, rather than
// getrusage(RUSAGE_THREAD), which counts the scheduler's ticks on some kernels (4 ms at 250 Hz:
// a 1 ms search then reads 0 or 4 ms, and a percentile of such readings says little).
func threadCPUTime() time.Duration {
	const clockThreadCPUTime = 3 // CLOCK_THREAD_CPUTIME_ID
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		const rusageThread = 1
		var ru syscall.Rusage
		syscall.Getrusage(rusageThread, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return time.Duration(ts.Nano())
}

// BenchmarkSearchOutputs10k measures this package's share of a build: the compact index
// (Pages) and a new bleve index, then an incremental update after one product changed.
func BenchmarkSearchOutputs10k(b *testing.B) {
	_, c := writeSynthetic(b, benchProducts)
	in := search.Input{Catalog: c}
	runtime.GC()
	var pagesWall, indexWall, reindexWall, cpu time.Duration
	var files, bytes int
	for b.Loop() {
		dir := b.TempDir()
		c0, t0 := cpuTime(), time.Now()
		pages := search.Pages(in)
		for _, p := range pages {
			data, _ := p.Render()
			files++
			bytes += len(data)
		}
		pagesWall += time.Since(t0)
		t1 := time.Now()
		if _, err := search.BuildIndex(context.Background(), filepath.Join(dir, "1"), "", in); err != nil {
			b.Fatal(err)
		}
		indexWall += time.Since(t1)
		cpu += cpuTime() - c0

		changed := *c.Products[c.SortedProductIDs()[42]]
		changed.Summary += " (revised)"
		c2 := &catalog.Catalog{Index: c.Index, Publishers: c.Publishers, Products: maps(c.Products)}
		c2.Products[changed.ID] = &changed
		t2 := time.Now()
		stats, err := search.BuildIndex(context.Background(), filepath.Join(dir, "2"), filepath.Join(dir, "1"), search.Input{Catalog: c2})
		if err != nil || stats.Indexed != 1 {
			b.Fatalf("reindex: %+v %v", stats, err)
		}
		reindexWall += time.Since(t2)
	}
	n := time.Duration(b.N)
	b.ReportMetric((pagesWall / n).Seconds(), "s-compact")
	b.ReportMetric((indexWall / n).Seconds(), "s-bleve")
	b.ReportMetric((reindexWall / n).Seconds(), "s-reindex1")
	fmt.Printf("search outputs, %d products: compact index %v (%d files, %.1f MB), bleve index %v, CPU %v; rebuild after one change %v\n",
		benchProducts, (pagesWall / n).Round(time.Millisecond), files/b.N, float64(bytes/b.N)/1e6,
		(indexWall / n).Round(time.Millisecond), (cpu / n).Round(time.Millisecond), (reindexWall / n).Round(time.Millisecond))
}

func maps[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// BenchmarkBuild10k runs the whole marketplace build (site, API, feed, badges, deploy
// manifests, compact and bleve search indexes) on the synthetic catalog in a child process
// limited to 2 cores, first from scratch and then again over its own output, and reports wall
// time and peak RSS.
func BenchmarkBuild10k(b *testing.B) {
	root, _ := writeSynthetic(b, benchProducts)
	out := filepath.Join(b.TempDir(), "public")
	for b.Loop() {
		os.RemoveAll(out)
		for _, kind := range []string{"fresh", "rebuild"} {
			wall, rss, stages, err := buildChild(root, out)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(wall.Seconds(), "s-"+kind)
			b.ReportMetric(float64(rss)/(1<<20), "MiB-"+kind)
			fmt.Printf("marketplace build, %d products, 2 cores, %s: %v wall, %d MiB peak RSS (targets ≤ 10 s, ≤ 455 MiB); %s\n",
				benchProducts, kind, wall.Round(10*time.Millisecond), rss>>20, stages)
		}
	}
}

// buildChild runs TestBuildChild in a new process and returns its wall time, peak RSS, and
// the times of its stages as it reports them.
func buildChild(root, out string) (time.Duration, int64, string, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestBuildChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "GOMAXPROCS=2", "SEARCH_BENCH_ROOT="+root, "SEARCH_BENCH_OUT="+out)
	start := time.Now()
	output, err := cmd.CombinedOutput()
	wall := time.Since(start)
	if err != nil || !strings.Contains(string(output), "PASS") {
		return 0, 0, "", fmt.Errorf("build: %v\n%s", err, output)
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	var rss int64
	if ru != nil {
		rss = ru.Maxrss * 1024 // kilobytes on Linux
	}
	var stages string
	if _, after, ok := strings.Cut(string(output), "stages: "); ok {
		stages, _, _ = strings.Cut(after, "\n")
	}
	return wall, rss, stages, nil
}

// TestBuildChild is BenchmarkBuild10k's child: one build, as `marketplace build --no-verify`
// does it. The search outputs are added here when the generator does not write them itself.
func TestBuildChild(t *testing.T) {
	root, out := os.Getenv("SEARCH_BENCH_ROOT"), os.Getenv("SEARCH_BENCH_OUT")
	if root == "" {
		t.Skip("run by BenchmarkBuild10k")
	}
	start := time.Now()
	res, err := generator.Build(context.Background(), generator.Options{Root: root, Out: out, Verify: generator.VerifySkip})
	if err != nil {
		t.Fatal(err)
	}
	built := time.Since(start)
	in := search.Input{Catalog: res.Catalog, Images: res.Images}
	var compact, index time.Duration
	if _, err := os.Stat(filepath.Join(out, search.ManifestPath)); err != nil {
		t0 := time.Now()
		for _, p := range search.Pages(in) {
			writePage(t, out, p.Path, p.Bytes)
		}
		compact = time.Since(t0)
	}
	if _, err := os.Stat(filepath.Join(out, search.IndexDir)); err != nil {
		t0 := time.Now()
		if _, err := search.BuildIndex(context.Background(), filepath.Join(out, search.IndexDir), "", in); err != nil {
			t.Fatal(err)
		}
		index = time.Since(t0)
	}
	if compact+index == 0 {
		t.Logf("stages: generator.Build with the search outputs %v (%d pages)", built.Round(10*time.Millisecond), res.Stats.Pages)
	} else {
		t.Logf("stages: generator.Build %v, then (not yet wired into it) compact index %v and bleve index %v",
			built.Round(10*time.Millisecond), compact.Round(10*time.Millisecond), index.Round(10*time.Millisecond))
	}
}

// benchQueries are what people type: words, several words, typos, words being typed, required
// and excluded words, field values and facet filters.
var benchQueries = []search.Request{
	{Query: "fhir postgres"}, {Query: "fhir server"}, {Query: "dicom archive"}, {Query: "imaging"},
	{Query: "smart app launch"}, {Query: "cds hooks"}, {Query: "terminology service"},
	{Query: "identity provider"}, {Query: "patient portal"}, {Query: "lab results"}, {Query: "hl7 v2 interface engine"},
	{Query: "fhri"}, {Query: "postgress"}, {Query: "radiolog"}, {Query: "+license:MIT fhir"},
	{Query: "-fhir imaging"}, {Query: "tag:dicom"}, {Query: "scim"}, {Query: "oidc"},
	{Query: "fhir", Filters: map[string][]string{"license_status": {"open"}, "category": {"fhir-server"}}},
	{Query: ""}, {Query: `"bulk data"`},
}

// BenchmarkSearch10k measures Index.Search, as `marketplace search` and the API call it, over
// the query set, and reports the 50th and 99th percentiles: without highlights (the command),
// with them (what the API asks for), and through `marketplace serve`'s HTTP API with highlights
// (request parsing, JSON encoding and the loopback round trip included).
func BenchmarkSearch10k(b *testing.B) { benchSearch(b, benchSize(benchProducts)) }

// benchSize is n, or $MARKETPLACE_BENCH_PRODUCTS when set: bench/all -small (CI) runs the 10k
// benchmarks on a small catalog so that their code cannot rot.
func benchSize(n int) int {
	if v, err := strconv.Atoi(os.Getenv("MARKETPLACE_BENCH_PRODUCTS")); err == nil && v > 0 {
		return v
	}
	return n
}

// BenchmarkSearch100k is BenchmarkSearch10k on 100 000 products (issue 14's scale target).
func BenchmarkSearch100k(b *testing.B) { benchSearch(b, 100000) }

func benchSearch(b *testing.B, products int) {
	_, c := writeSynthetic(b, products)
	out := b.TempDir()
	dir := filepath.Join(out, search.IndexDir)
	// With $MARKETPLACE_BENCH_CATALOGS set, the index is kept there too: the next run updates a
	// copy of it (re-indexing only what changed, nothing when the catalog and the code did not)
	// instead of spending minutes on 100 000 products.
	kept := ""
	if keep := synthetic.BenchDir(); keep != "" {
		kept = filepath.Join(keep, fmt.Sprintf("search-index-%d-products", products))
	}
	t0 := time.Now()
	stats, err := search.BuildIndex(context.Background(), dir, kept, search.Input{Catalog: c})
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("search index of %d products built in %v (%d documents indexed)\n", products, time.Since(t0).Round(time.Millisecond), stats.Indexed)
	if kept != "" && (stats.Indexed > 0 || stats.Deleted > 0) {
		tmp := kept + ".new"
		os.RemoveAll(tmp)
		if err := os.CopyFS(tmp, os.DirFS(dir)); err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(kept)
		if err := os.Rename(tmp, kept); err != nil {
			b.Fatal(err)
		}
	}
	// What serves searches does not hold the catalog: drop it, so that the garbage collector's
	// work while searching (counted in the process's CPU time) is that of a search server's heap.
	c = nil
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("live heap before searching: %d MiB\n", ms.HeapAlloc>>20)
	idx, err := search.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer idx.Close()
	srv, err := serve.New(out, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	api := httptest.NewServer(srv.Handler())
	defer api.Close()
	client := api.Client()
	viaAPI := func(q search.Request) error {
		// What the search page asks for (static/search.js).
		v := url.Values{"q": {q.Query}, "highlight": {"1"}, "facet_size": {"100"}}
		for f, vals := range q.Filters {
			for _, val := range vals {
				v.Add("facet", f+":"+val)
			}
		}
		resp, err := client.Get(api.URL + serve.APIPath + "?" + v.Encode())
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", v.Encode(), resp.Status)
		}
		return nil
	}
	for _, mode := range []string{"command", "api-with-highlights", "serve-http-with-highlights"} {
		highlight := mode != "command"
		run := func(q search.Request) error {
			q.Highlight = highlight
			if mode == "serve-http-with-highlights" {
				return viaAPI(q)
			}
			_, err := idx.Search(context.Background(), q)
			return err
		}
		b.Run(mode, func(b *testing.B) {
			for _, q := range benchQueries { // warm the caches, as a long-running server has
				run(q)
			}
			// Wall time per query, and CPU time per query: on a machine shared with other work
			// the wall time's tail is the scheduler's, while CPU time is what the query costs
			// (its wall time on an idle core, the work being sequential). In process, the
			// search runs on this goroutine's thread; through HTTP on the server's goroutines,
			// so the process's CPU time is taken (which includes background work).
			clock := threadCPUTime
			if mode == "serve-http-with-highlights" {
				clock = cpuTime
			}
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var lat, cpu []time.Duration
			i := 0
			for b.Loop() {
				q := benchQueries[i%len(benchQueries)]
				i++
				c0, t0 := clock(), time.Now()
				if err := run(q); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
				cpu = append(cpu, clock()-c0)
			}
			slices.Sort(lat)
			slices.Sort(cpu)
			p := func(d []time.Duration, q float64) time.Duration {
				return d[min(len(d)-1, int(q*float64(len(d))))].Round(time.Microsecond)
			}
			b.ReportMetric(float64(p(lat, 0.5).Microseconds())/1000, "ms-p50")
			b.ReportMetric(float64(p(lat, 0.99).Microseconds())/1000, "ms-p99")
			b.ReportMetric(float64(p(cpu, 0.99).Microseconds())/1000, "cpu-ms-p99")
			fmt.Printf("search %s, %d products, %d queries: wall p50 %v, p99 %v, max %v; CPU p50 %v, p99 %v; load average %s (target p99 ≤ 5 ms)\n",
				mode, products, len(lat), p(lat, 0.5), p(lat, 0.99), p(lat, 1), p(cpu, 0.5), p(cpu, 0.99), loadAverage())
			// One line of bench/all's table: the verdict is on CPU time, wall time on a shared
			// machine being the scheduler's.
			verdict := "met"
			if p(cpu, 0.99) > 5*time.Millisecond {
				verdict = "MISSED"
			}
			fmt.Printf("figure\tsearch p99, %s, %d products\twall p99 %v (p50 %v); CPU p99 %v (p50 %v); load %s\t≤ 5 ms (CPU): %s\n",
				mode, products, p(lat, 0.99), p(lat, 0.5), p(cpu, 0.99), p(cpu, 0.5), loadAverage(), verdict)
		})
	}
}

// loadAverage returns the 1-minute load average: figures taken on a shared machine need it.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return "unknown"
	}
	return f[0]
}

// BenchmarkBrowserFirstAnswer10k opens the search page of the synthetic catalog's site on a
// plain static file server in Chromium and counts what the browser downloads (bytes on the
// wire) until the first results show: the page, its stylesheet and script, the manifest, and
// the shards the query needs. Two ways in: the URL search/index.html?q=… (what the home page's
// search box submits), and typing into the search page. Served as is, and gzip-compressed as
// static hosts commonly serve JSON, HTML, CSS and JavaScript.
func BenchmarkBrowserFirstAnswer10k(b *testing.B) {
	benchBrowserFirstAnswer(b, benchSize(benchProducts))
}

// BenchmarkBrowserFirstAnswer100k is BenchmarkBrowserFirstAnswer10k on 100 000 products.
func BenchmarkBrowserFirstAnswer100k(b *testing.B) { benchBrowserFirstAnswer(b, 100000) }

func benchBrowserFirstAnswer(b *testing.B, benchProducts int) {
	_, c := writeSynthetic(b, benchProducts)
	out := filepath.Join(b.TempDir(), "public")
	writeStaticSearch(b, out, c)
	// The browser's context has a deadline: start it once the site is written (minutes at
	// 100 000 products).
	ctx := browsertest.Start(b)
	plain := httptest.NewServer(http.FileServer(http.Dir(out)))
	defer plain.Close()
	zipped := httptest.NewServer(gzipped(http.FileServer(http.Dir(out))))
	defer zipped.Close()
	queries := []string{"fhir postgres", "dicom archive", "fhri", "+license:MIT imaging"}
	worst := map[string]int64{}
	for b.Loop() {
		for _, sc := range []struct {
			name  string
			base  string
			typed bool
		}{{"url", plain.URL, false}, {"typed", plain.URL, true}, {"url-gzip", zipped.URL, false}} {
			for _, q := range queries {
				tctx, cancel := chromedp.NewContext(ctx)
				log := listen(tctx)
				if err := chromedp.Run(tctx, network.Enable(), network.SetCacheDisabled(true)); err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				var first string
				var at float64
				var after []string
				var err error
				if sc.typed {
					first, at, after, err = answerAt(tctx, sc.base+"/search/index.html", q, true)
				} else {
					first, at, after, err = answerAt(tctx, sc.base+"/search/index.html?q="+url.QueryEscape(q), q, false)
				}
				elapsed := time.Since(t0)
				if err != nil || first == "" {
					b.Fatalf("%s %q: %v", sc.name, q, err)
				}
				// What the page asked for before the answer showed: the facets it loads once the
				// answer is on screen would otherwise count or not by how soon the poll looks.
				reqs, total := log.sentBefore(at, after)
				cancel()
				worst[sc.name] = max(worst[sc.name], total)
				var parts []string
				for _, r := range reqs {
					u := r.url
					if i := strings.Index(u, "/api/v1/"); i >= 0 {
						u = u[i+len("/api/v1/"):]
					} else if i := strings.LastIndex(u, "/"); i >= 0 {
						u = u[i+1:]
					}
					if i := strings.Index(u, "?v="); i >= 0 {
						u = u[:i]
					}
					parts = append(parts, u+" "+strconv.FormatInt(r.bytes/1000, 10))
				}
				fmt.Printf("browser, %d products, %s %q: first answer after %d KB in %d requests, %v (target ≤ 300 KB)\n    KB: %s\n",
					benchProducts, sc.name, q, total/1000, len(reqs), elapsed.Round(time.Millisecond), strings.Join(parts, ", "))
			}
		}
	}
	for _, name := range slices.Sorted(mapKeys(worst)) {
		w := worst[name]
		b.ReportMetric(float64(w)/1000, "KB-max-"+name)
		verdict := "met"
		if w > 300_000 {
			verdict = "MISSED"
		}
		fmt.Printf("figure\tbrowser first answer, %s, %d products\t%d KB transferred at most (%d queries)\t≤ 300 KB: %s\n",
			name, benchProducts, w/1000, len(queries), verdict)
	}
}

// answerAt opens a search page URL (and types query into its box when typed) and returns the
// ID of the first product shown once the page shows the results for query, and when the page
// first showed them (milliseconds since the epoch, as the page's clock says): an observer in the
// page notes the moment, which a poll from outside can only see later.
func answerAt(ctx context.Context, pageURL, query string, typed bool) (first string, at float64, after []string, err error) {
	shown := fmt.Sprintf(`(() => {
		const st = document.getElementById('search-status');
		const h = document.querySelector('#results .search-hit');
		return st && st.textContent.includes(%q) && h ? h.dataset.id : null;
	})()`, query)
	// The page renders the answer and, in the same task, asks for the facets to count: an
	// observer (which runs after that task) notes the time, and fetch notes what the page
	// asked for once the answer was on screen.
	observe := `window.__answerAt = 0;
		window.__afterAnswer = [];
		const shown = () => ` + shown + `;
		const fetch0 = window.fetch;
		window.fetch = function (input) {
			if (shown()) window.__afterAnswer.push(new URL(typeof input === 'string' ? input : input.url, location.href).href);
			return fetch0.apply(this, arguments);
		};
		new MutationObserver(() => {
			if (!window.__answerAt && shown()) window.__answerAt = performance.timeOrigin + performance.now();
		}).observe(document, {subtree: true, childList: true, characterData: true});`
	actions := []chromedp.Action{
		chromedp.ActionFunc(func(ctx context.Context) error {
			_, err := page.AddScriptToEvaluateOnNewDocument(observe).Do(ctx)
			return err
		}),
		chromedp.Navigate(pageURL),
	}
	if typed {
		actions = append(actions, chromedp.WaitVisible("#q", chromedp.ByID), chromedp.SendKeys("#q", query, chromedp.ByID))
	}
	actions = append(actions,
		chromedp.Poll(shown, &first, chromedp.WithPollingTimeout(30*time.Second)),
		chromedp.Evaluate(`window.__answerAt`, &at),
		chromedp.Evaluate(`window.__afterAnswer`, &after))
	err = chromedp.Run(ctx, actions...)
	if err == nil && at == 0 {
		err = fmt.Errorf("the page showed the answer to %q, but its observer did not see it", query)
	}
	return first, at, after, err
}

// gzipped compresses responses for clients that accept it, as static hosts do.
func gzipped(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(rec.Code)
		zw := gzip.NewWriter(w)
		zw.Write(rec.Body.Bytes())
		zw.Close()
	})
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
