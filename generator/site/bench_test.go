package site_test

import (
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/synthetic"
	"github.com/hspc/marketplace/generator/page"
	"github.com/hspc/marketplace/generator/site"
)

// BenchmarkProductPages renders the product pages of a synthetic 1 000-product catalog (three
// builds each), the largest share of a full build's CPU: templating and Markdown.
func BenchmarkProductPages(b *testing.B) {
	products := benchPages(b, func(p string) bool {
		return strings.HasPrefix(p, "products/") && strings.Count(p, "/") == 3 && strings.HasSuffix(p, "/index.html")
	})
	if len(products) != 1000 {
		b.Fatalf("%d product pages, want 1000", len(products))
	}
	bytes := renderAll(b, products)
	b.ReportMetric(float64(bytes)/float64(len(products)), "B/page")
}

// BenchmarkListingPages renders the listing pages (products index, publishers, categories,
// interfaces: 100 cards a page) of the same catalog: the site's other large share of a build.
func BenchmarkListingPages(b *testing.B) {
	listings := benchPages(b, func(p string) bool {
		top, _, _ := strings.Cut(p, "/")
		isProduct := top == "products" && strings.Count(p, "/") == 3
		return strings.HasSuffix(p, ".html") && !isProduct && (top == "products" || top == "publishers" || top == "categories" || top == "interfaces")
	})
	renderAll(b, listings)
	b.ReportMetric(float64(len(listings)), "pages")
}

// benchPages plans the site of a synthetic 1 000-product catalog and returns the pages whose
// path keep accepts.
func benchPages(b *testing.B, keep func(path string) bool) []page.Page {
	fsys := synthetic.MapFS(synthetic.Options{Products: 1000})
	c, ds := catalog.Check(fsys)
	if ds.HasErrors() {
		b.Fatalf("synthetic catalog: %d errors", ds.Errors())
	}
	pages, err := site.Pages(site.Input{Catalog: c, Files: fsys, Theme: benchTheme()})
	if err != nil {
		b.Fatal(err)
	}
	var kept []page.Page
	for _, p := range pages {
		if keep(p.Path) {
			kept = append(kept, p)
		}
	}
	return kept
}

// renderAll renders pages in the benchmark's loop, reports the time a page, and returns the
// bytes of one round.
func renderAll(b *testing.B, pages []page.Page) (bytes int64) {
	b.ReportAllocs()
	for b.Loop() {
		bytes = 0
		for _, p := range pages {
			data, err := p.Bytes()
			if err != nil {
				b.Fatal(err)
			}
			bytes += int64(len(data))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(pages)), "µs/page")
	return bytes
}

// benchTheme returns the theme folder $MARKETPLACE_BENCH_THEME names, for measuring what a
// change to a template costs, or nil (the embedded theme).
func benchTheme() fs.FS {
	if dir := os.Getenv("MARKETPLACE_BENCH_THEME"); dir != "" {
		return os.DirFS(dir)
	}
	return nil
}
