package generator

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/hspc/marketplace/generator/internal/browsertest"
	"github.com/hspc/marketplace/generator/serve"
)

var exampleOut struct {
	once sync.Once
	dir  string
	err  error
}

// builtExample is the example catalog built once for the browser tests that only read it.
func builtExample(t *testing.T) string {
	t.Helper()
	exampleOut.once.Do(func() {
		tmp, err := os.MkdirTemp("", "generator-browser-")
		if err != nil {
			exampleOut.err = err
			return
		}
		exampleOut.dir = filepath.Join(tmp, "public")
		_, exampleOut.err = Build(context.Background(), Options{Root: "..", Out: exampleOut.dir, Verify: VerifyOffline})
	})
	if exampleOut.err != nil {
		t.Fatalf("build: %v", exampleOut.err)
	}
	return exampleOut.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if exampleOut.dir != "" {
		os.RemoveAll(filepath.Dir(exampleOut.dir))
	}
	os.Exit(code)
}

// staticHost serves dir as a plain static host does: files as they are, 404.html for anything
// missing.
func staticHost(dir string) http.Handler {
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(r.URL.Path))); err != nil {
			data, _ := os.ReadFile(filepath.Join(dir, "404.html"))
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			w.Write(data)
			return
		}
		files.ServeHTTP(w, r)
	})
}

// hosts are the two ways the built site is served: a static host, and marketplace serve.
func hosts(t *testing.T, dir string) map[string]*httptest.Server {
	t.Helper()
	srv, err := serve.New(dir, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	out := map[string]*httptest.Server{
		"static": httptest.NewServer(staticHost(dir)),
		"serve":  httptest.NewServer(srv.Handler()),
	}
	for _, hs := range out {
		t.Cleanup(hs.Close)
	}
	return out
}

// tab opens a new browser tab that reports its problems.
func tab(t *testing.T, ctx context.Context) (context.Context, *watcher) {
	t.Helper()
	tctx, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	w := watch(tctx)
	if err := chromedp.Run(tctx, network.Enable(), cdplog.Enable(), network.SetCacheDisabled(true)); err != nil {
		t.Fatal(err)
	}
	return tctx, w
}

// TestNotFoundPageOnAnyHost opens a missing page deep in the site, on a static host and under
// marketplace serve (whose responses carry the Content-Security-Policy): the 404 page is
// styled, its links lead to pages of the same host, and nothing fails or breaks the policy.
func TestNotFoundPageOnAnyHost(t *testing.T) {
	ctx := browsertest.Start(t)
	dir := builtExample(t)
	for name, hs := range hosts(t, dir) {
		t.Run(name, func(t *testing.T) {
			tctx, w := tab(t, ctx)
			w.allow = func(url string, status int64) bool {
				return status == 404 && strings.Contains(url, "/no/such/deep/page")
			}
			var styled bool
			var links []string
			err := chromedp.Run(tctx,
				chromedp.Navigate(hs.URL+"/no/such/deep/page.html"),
				chromedp.WaitVisible("main h1", chromedp.ByQuery),
				// The theme's stylesheet is applied: the header is laid out as a flex row.
				chromedp.Evaluate(`getComputedStyle(document.querySelector('.header-inner')).display === 'flex' && document.styleSheets.length > 0 && document.styleSheets[0].cssRules.length > 50`, &styled),
				chromedp.Evaluate(`[...document.querySelectorAll('a[href]')].map(a => a.href).filter(h => !h.includes('#'))`, &links),
			)
			if err != nil {
				t.Fatal(err)
			}
			if !styled {
				t.Error("the 404 page is not styled")
			}
			if len(links) < 5 {
				t.Fatalf("the 404 page has %d links", len(links))
			}
			for _, l := range links {
				if !strings.HasPrefix(l, hs.URL+"/") {
					t.Errorf("the 404 page links away from the host: %s", l)
					continue
				}
				resp, err := http.Get(l)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("the 404 page's link %s: %s", l, resp.Status)
				}
			}
			// The search form leads to the search page, which finds the FHIR server.
			var action, first string
			if err := chromedp.Run(tctx, chromedp.Evaluate(`document.querySelector('main form[role=search]').action`, &action)); err != nil {
				t.Fatal(err)
			}
			if action != hs.URL+"/search/index.html" {
				t.Errorf("the 404 page's search form goes to %s", action)
			}
			err = chromedp.Run(tctx,
				chromedp.Navigate(action+"?q=fhir+postgres"),
				chromedp.Poll(`(() => { const h = document.querySelector('#results .search-hit'); return h ? h.dataset.id : null; })()`, &first, chromedp.WithPollingTimeout(30*time.Second)),
			)
			if err != nil {
				t.Fatal(err)
			}
			if first != "acme/fhir" {
				t.Errorf("search from the 404 page: first %q", first)
			}
			w.check(t)
		})
	}
}

// TestSearchOpenedFromDisk opens search/index.html from file://, as a person who double-clicks
// it does: browsers let such a page load nothing, so it says how to serve the folder, without
// a script error.
func TestSearchOpenedFromDisk(t *testing.T) {
	ctx := browsertest.Start(t)
	dir := builtExample(t)
	tctx, w := tab(t, ctx)
	var notice string
	err := chromedp.Run(tctx,
		chromedp.Navigate("file://"+filepath.ToSlash(filepath.Join(dir, "search", "index.html"))+"?q=fhir"),
		chromedp.Poll(`(() => { const n = document.querySelector('#results .search-unavailable'); return n ? n.textContent : null; })()`, &notice, chromedp.WithPollingTimeout(20*time.Second)),
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"served over HTTP", "marketplace serve -d public"} {
		if !strings.Contains(notice, want) {
			t.Errorf("the notice on file:// lacks %q: %s", want, notice)
		}
	}
	w.check(t)
}

// TestNarrowScreen opens a product page with a wide Markdown table at 390 px, a phone's width:
// the page itself does not scroll sideways, and what is wider than the screen (the table, the
// section tabs) scrolls inside its own box with a visible cue at the edge that has more.
func TestNarrowScreen(t *testing.T) {
	ctx := browsertest.Start(t)
	dir := builtExample(t)
	hs := httptest.NewServer(staticHost(dir))
	defer hs.Close()
	tctx, w := tab(t, ctx)
	type box struct {
		Sel       string `json:"sel"`
		Scroll    int    `json:"scroll"`
		Client    int    `json:"client"`
		Overflow  string `json:"overflow"`
		Cue       bool   `json:"cue"`
		PageWidth int    `json:"page"`
	}
	var boxes []box
	err := chromedp.Run(tctx,
		emulation.SetDeviceMetricsOverride(390, 844, 3, true),
		chromedp.Navigate(hs.URL+"/products/acme/fhir/index.html"),
		chromedp.WaitVisible("main h1", chromedp.ByQuery),
		chromedp.Evaluate(`['.tabs-inner', '.prose table'].map(sel => {
			const el = document.querySelector(sel), cs = getComputedStyle(el);
			return {sel, scroll: el.scrollWidth, client: el.clientWidth, overflow: cs.overflowX,
				cue: cs.backgroundImage.includes('radial-gradient') && cs.backgroundAttachment.includes('local'),
				page: document.documentElement.scrollWidth};
		})`, &boxes),
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range boxes {
		if b.PageWidth > 390 {
			t.Errorf("the page is %d px wide at 390 px", b.PageWidth)
		}
		if b.Scroll <= b.Client {
			t.Errorf("%s: %d px of content in %d px: the test needs it wider than the screen", b.Sel, b.Scroll, b.Client)
		}
		if b.Overflow != "auto" && b.Overflow != "scroll" {
			t.Errorf("%s: overflow-x %s", b.Sel, b.Overflow)
		}
		if !b.Cue {
			t.Errorf("%s scrolls sideways without a visible cue", b.Sel)
		}
	}
	w.check(t)
}
