package generator

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/hspc/marketplace/generator/internal/browsertest"
)

// TestSiteInBrowser loads the built example site in a real browser from a plain static file
// server, follows links from the home page to a product and on to its publisher, and fails on
// any console error, script exception or failed request. Screenshots go to t.ArtifactDir().
func TestSiteInBrowser(t *testing.T) {
	ctx := browsertest.Start(t)
	out := filepath.Join(t.TempDir(), "public")
	if res, err := Build(context.Background(), Options{Root: "..", Out: out, Verify: VerifyOffline}); err != nil {
		t.Fatalf("build: %v %v", err, res.Diagnostics)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(out)))
	defer srv.Close()

	w := watch(ctx)

	shots := t.ArtifactDir()
	shot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var buf []byte
			if err := chromedp.FullScreenshot(&buf, 80).Do(ctx); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name+".jpg"), buf, 0o644)
		})
	}
	var title, productH1, publisherH1, productURL, publisherURL string
	err := chromedp.Run(ctx,
		network.Enable(), cdplog.Enable(),
		chromedp.Navigate(srv.URL+"/index.html"),
		chromedp.WaitVisible("main", chromedp.ByQuery),
		chromedp.Title(&title),
		shot("home"),
		chromedp.Click(`main a[href*="products/acme/fhir/"]`, chromedp.ByQuery),
		chromedp.WaitVisible("main h1", chromedp.ByQuery),
		chromedp.Location(&productURL),
		chromedp.Text("main h1", &productH1, chromedp.ByQuery),
		shot("product"),
		chromedp.Click(`main a[href*="publishers/acme/"]`, chromedp.ByQuery),
		chromedp.WaitVisible("main h1", chromedp.ByQuery),
		chromedp.Location(&publisherURL),
		chromedp.Text("main h1", &publisherH1, chromedp.ByQuery),
		shot("publisher"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(title, "HSP Marketplace") {
		t.Errorf("home title = %q", title)
	}
	if !strings.Contains(productURL, "/products/acme/fhir/") || strings.TrimSpace(productH1) != "Acme FHIR Server" {
		t.Errorf("product page: %s, h1 %q", productURL, productH1)
	}
	if !strings.Contains(publisherURL, "/publishers/acme/") || !strings.Contains(publisherH1, "Acme Health") {
		t.Errorf("publisher page: %s, h1 %q", publisherURL, publisherH1)
	}
	// The search page on a static host: it finds out that there is no search API without a
	// request that fails, and searches in the browser.
	var first string
	err = chromedp.Run(ctx,
		chromedp.Navigate(srv.URL+"/search/index.html?q=fhir"),
		chromedp.Poll(`(() => { const h = document.querySelector('#results .search-hit'); return h ? h.dataset.id : null; })()`, &first, chromedp.WithPollingTimeout(30*time.Second)),
		shot("search"),
	)
	if err != nil {
		t.Fatal(err)
	}
	w.check(t)
	t.Logf("screenshots in %s", shots)
}

// watcher collects what a page should never do: console errors (including the browser's own,
// such as failed loads and Content-Security-Policy violations), script exceptions, HTTP errors
// and failed requests.
type watcher struct {
	mu       sync.Mutex
	problems []string
	allow    func(url string, status int64) bool // HTTP errors that are expected
}

func watch(ctx context.Context) *watcher {
	w := &watcher{allow: func(string, int64) bool { return false }}
	report := func(format string, args ...any) {
		w.mu.Lock()
		w.problems = append(w.problems, fmt.Sprintf(format, args...))
		w.mu.Unlock()
	}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError {
				report("console error: %v", ev.Args)
			}
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.LevelError {
				w.mu.Lock()
				allowed := strings.Contains(ev.Entry.Text, "status of 404") && w.allow(ev.Entry.URL, 404)
				w.mu.Unlock()
				if !allowed {
					report("browser error: %s (%s)", ev.Entry.Text, ev.Entry.URL)
				}
			}
		case *runtime.EventExceptionThrown:
			report("exception: %s", ev.ExceptionDetails.Text)
		case *network.EventResponseReceived:
			w.mu.Lock()
			allowed := w.allow(ev.Response.URL, ev.Response.Status)
			w.mu.Unlock()
			if ev.Response.Status >= 400 && !allowed {
				report("HTTP %d for %s", int(ev.Response.Status), ev.Response.URL)
			}
		case *network.EventLoadingFailed:
			if !ev.Canceled {
				report("request failed: %s", ev.ErrorText)
			}
		}
	})
	return w
}

func (w *watcher) check(t *testing.T) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range w.problems {
		t.Error(p)
	}
	w.problems = nil
}
