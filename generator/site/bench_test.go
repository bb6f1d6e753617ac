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
	fsys := synthetic.MapFS(synthetic.Options{Products: 1000})
	c, ds := catalog.Check(fsys)
	if ds.HasErrors() {
		b.Fatalf("synthetic catalog: %d errors", ds.Errors())
	}
	pages, err := site.Pages(site.Input{Catalog: c, Files: fsys, Theme: benchTheme()})
	if err != nil {
		b.Fatal(err)
	}
	var products []page.Page
	for _, p := range pages {
		if strings.HasPrefix(p.Path, "products/") && strings.Count(p.Path, "/") == 3 && strings.HasSuffix(p.Path, "/index.html") {
			products = append(products, p)
		}
	}
	if len(products) != 1000 {
		b.Fatalf("%d product pages, want 1000", len(products))
	}
	var bytes int64
	b.ReportAllocs()
	for b.Loop() {
		bytes = 0
		for _, p := range products {
			data, err := p.Bytes()
			if err != nil {
				b.Fatal(err)
			}
			bytes += int64(len(data))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(products)), "µs/page")
	b.ReportMetric(float64(bytes)/float64(len(products)), "B/page")
}

// BenchmarkListingPages renders the listing pages (products index, publishers, categories,
// interfaces: 100 cards a page) of the same catalog: the site's other large share of a build.
func BenchmarkListingPages(b *testing.B) {
	fsys := synthetic.MapFS(synthetic.Options{Products: 1000})
	c, ds := catalog.Check(fsys)
	if ds.HasErrors() {
		b.Fatalf("synthetic catalog: %d errors", ds.Errors())
	}
	pages, err := site.Pages(site.Input{Catalog: c, Files: fsys, Theme: benchTheme()})
	if err != nil {
		b.Fatal(err)
	}
	var listings []page.Page
	for _, p := range pages {
		top, _, _ := strings.Cut(p.Path, "/")
		isProduct := top == "products" && strings.Count(p.Path, "/") == 3
		if strings.HasSuffix(p.Path, ".html") && !isProduct && (top == "products" || top == "publishers" || top == "categories" || top == "interfaces") {
			listings = append(listings, p)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range listings {
			if _, err := p.Bytes(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(listings)), "µs/page")
	b.ReportMetric(float64(len(listings)), "pages")
}

// benchTheme returns the theme folder $MARKETPLACE_BENCH_THEME names, for measuring what a
// change to a template costs, or nil (the embedded theme).
func benchTheme() fs.FS {
	if dir := os.Getenv("MARKETPLACE_BENCH_THEME"); dir != "" {
		return os.DirFS(dir)
	}
	return nil
}
