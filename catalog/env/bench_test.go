package env_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/env"
	"github.com/hspc/marketplace/catalog/synthetic"
)

// BenchmarkResolve10k resolves an environment of 50 services against a 10 000-product synthetic
// catalog, with no externals: many required dependencies go unprovided, so the catalog is searched
// for candidates (transitively), the expensive path. It reports services resolved per second.
func BenchmarkResolve10k(b *testing.B) {
	opts := synthetic.Options{Products: 10000}
	c, ds := catalog.Load(synthetic.MapFS(opts))
	if ds.HasErrors() {
		b.Fatalf("the synthetic catalog has %d errors", ds.Errors())
	}
	const services = 50
	var text strings.Builder
	for i, id := range synthetic.ProductIDs(opts)[:services] {
		fmt.Fprintf(&text, "[[services]]\nname = \"s%d\"\nproduct = %q\n\n", i, id)
	}
	e, ds := env.Load("bench.toml", []byte(text.String()))
	if e == nil {
		b.Fatal(ds)
	}
	res, _ := env.Resolve(c, e, nil, env.Options{})
	if len(res.Services) != services {
		b.Fatalf("%d services resolved, want %d", len(res.Services), services)
	}
	b.ReportAllocs()
	for b.Loop() {
		env.Resolve(c, e, nil, env.Options{})
	}
	b.ReportMetric(float64(services)*float64(b.N)/b.Elapsed().Seconds(), "services/s")
	b.ReportMetric(float64(len(res.Missing)), "missing")
}
