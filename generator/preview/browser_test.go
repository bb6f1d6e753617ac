package preview

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/hspc/marketplace/generator/internal/browsertest"
)

// TestPreviewInBrowser opens a product page of the preview in headless Chromium, edits the
// product's TOML file and waits for the open page to reload by itself and show the change; then
// saves an error and waits for the overlay listing it at its file:line:col; then fixes it.
func TestPreviewInBrowser(t *testing.T) {
	ctx := browsertest.Start(t)
	root := copyExample(t)
	_, base := start(t, root)
	file := filepath.Join(root, "products", "acme", "fhir.toml")

	var mu sync.Mutex
	var problems []string
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("console error: %v", ev.Args))
				mu.Unlock()
			}
		case *runtime.EventExceptionThrown:
			mu.Lock()
			problems = append(problems, "exception: "+ev.ExceptionDetails.Text)
			mu.Unlock()
		}
	})
	// shot keeps a picture of the page. The page may be reloading under the test's feet (a
	// save can reach the watcher as two events), when Chromium has no layout to picture for a
	// moment ("Cannot take screenshot with 0 width"): it is tried again.
	shot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var buf []byte
			var err error
			for range 50 {
				if err = chromedp.FullScreenshot(&buf, 80).Do(ctx); err == nil {
					return os.WriteFile(filepath.Join(t.ArtifactDir(), name+".jpg"), buf, 0o644)
				}
				time.Sleep(20 * time.Millisecond)
			}
			return err
		})
	}
	// waitJS evaluates expr in the page until it is true. The page reloads under the test's
	// feet, so an evaluation that fails because the page is navigating is tried again.
	waitJS := func(expr string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			deadline := time.Now().Add(30 * time.Second)
			var err error
			for time.Now().Before(deadline) {
				var ok bool
				if err = chromedp.Evaluate(expr, &ok).Do(ctx); err == nil && ok {
					return nil
				}
				time.Sleep(10 * time.Millisecond)
			}
			return fmt.Errorf("%s still false after 30 s (last error: %v)", expr, err)
		})
	}
	waitText := func(sel, want string) chromedp.Action {
		return waitJS(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.textContent.includes(%q); })()`, sel, want))
	}
	var lead string
	if err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/products/acme/fhir/index.html"),
		chromedp.WaitVisible("main h1", chromedp.ByQuery),
		chromedp.Text(".page-head .lead, main .lead", &lead, chromedp.ByQuery),
		// The event stream is open before the file changes.
		waitJS(`document.documentElement.dataset.previewLive === "open"`),
	); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(lead, "FHIR R4 server on PostgreSQL") {
		t.Fatalf("product page lead = %q", lead)
	}

	start := time.Now()
	edit(t, file, "FHIR R4 server on PostgreSQL", "FHIR R4 server (edited in the preview) on PostgreSQL")
	if err := chromedp.Run(ctx, waitText("main", "FHIR R4 server (edited in the preview) on PostgreSQL"), shot("edited")); err != nil {
		t.Fatalf("the open page did not reload with the change: %v", err)
	}
	t.Logf("saved change visible in the open page after %s", time.Since(start).Round(time.Millisecond))

	edit(t, file, "memory = 2048", `memory = "lots"`)
	var overlay string
	if err := chromedp.Run(ctx,
		waitText("#marketplace-preview-overlay", "products/acme/fhir.toml:57:12: error: memory: got string \"lots\", want integer"),
		chromedp.Text("#marketplace-preview-overlay", &overlay, chromedp.ByQuery),
		shot("overlay"),
	); err != nil {
		t.Fatalf("no overlay with the error: %v", err)
	}
	if !strings.Contains(overlay, "1 error in the catalog") {
		t.Errorf("overlay: %q", overlay)
	}

	edit(t, file, `memory = "lots"`, "memory = 2048")
	if err := chromedp.Run(ctx,
		waitJS(`!document.getElementById("marketplace-preview-overlay") && document.readyState === "complete"`),
		waitText("main", "FHIR R4 server (edited in the preview) on PostgreSQL"),
	); err != nil {
		t.Fatalf("the overlay stayed after the fix: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Error(p)
	}
}
