package synthetic_test

import (
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/synthetic"
)

// BenchmarkCheck10k measures `marketplace validate` on a 10 000-product catalog read from disk,
// as real use reads it. The catalog is written once, outside the timed loop; the first, untimed
// Check also warms the file cache.
func BenchmarkCheck10k(b *testing.B) {
	const products = 10000
	dir := b.TempDir()
	if err := synthetic.Write(dir, synthetic.Options{Products: products}); err != nil {
		b.Fatal(err)
	}
	fsys := os.DirFS(dir)
	b.SetBytes(tomlBytes(b, fsys))
	if _, ds := catalog.Check(fsys); ds.HasErrors() {
		b.Fatalf("the synthetic catalog has %d errors:\n%s", ds.Errors(), diagnostics(ds))
	}
	b.ReportAllocs()
	for b.Loop() {
		catalog.Check(fsys)
	}
	b.ReportMetric(float64(products)*float64(b.N)/b.Elapsed().Seconds(), "products/s")
}

// tomlBytes returns the total size of the TOML files in fsys, the bytes Check parses.
func tomlBytes(b *testing.B, fsys fs.FS) int64 {
	var n int64
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".toml") {
			return err
		}
		info, err := d.Info()
		n += info.Size()
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}
