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

	var mu sync.Mutex
	var problems []string
	report := func(format string, args ...any) {
		mu.Lock()
		problems = append(problems, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError {
				report("console error: %v", ev.Args)
			}
		case *runtime.EventExceptionThrown:
			report("exception: %s", ev.ExceptionDetails.Text)
		case *network.EventResponseReceived:
			// The site's own search script asks for the server API first and falls back to the
			// static index when it is absent: that 404 is expected.
			if ev.Response.Status >= 400 && !strings.Contains(ev.Response.URL, "/api/search") {
				report("HTTP %d for %s", int(ev.Response.Status), ev.Response.URL)
			}
		case *network.EventLoadingFailed:
			if !ev.Canceled {
				report("request failed: %s", ev.ErrorText)
			}
		}
	})

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
		network.Enable(),
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
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Error(p)
	}
	t.Logf("screenshots in %s", shots)
}
