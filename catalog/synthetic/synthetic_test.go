package synthetic_test

import (
	"bytes"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/synthetic"
)

func TestDeterministic(t *testing.T) {
	opts := synthetic.Options{Products: 120, Seed: 7}
	a, b := synthetic.MapFS(opts), synthetic.MapFS(opts)
	if !equalFS(a, b) {
		t.Fatal("two catalogs generated from the same options differ")
	}
	c := synthetic.MapFS(synthetic.Options{Products: 120, Seed: 8})
	if equalFS(a, c) {
		t.Fatal("catalogs generated from seeds 7 and 8 are equal, want different")
	}
}

func TestWriteMatchesMapFS(t *testing.T) {
	opts := synthetic.Options{Products: 60, Seed: 3}
	dir := t.TempDir()
	if err := synthetic.Write(dir, opts); err != nil {
		t.Fatal(err)
	}
	onDisk := map[string][]byte{}
	err := fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		onDisk[p], err = fs.ReadFile(os.DirFS(dir), p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	m := synthetic.MapFS(opts)
	if got, want := slices.Sorted(maps.Keys(onDisk)), slices.Sorted(maps.Keys(m)); !slices.Equal(got, want) {
		t.Fatalf("Write wrote files %v, MapFS has %v", got, want)
	}
	for p, f := range m {
		if !bytes.Equal(onDisk[p], f.Data) {
			t.Errorf("%s: Write and MapFS differ", p)
		}
	}
}

func TestShape(t *testing.T) {
	opts := synthetic.Options{Products: 230, BuildsPerProduct: 2, Publishers: 9, Seed: 1}
	c, ds := catalog.Load(synthetic.MapFS(opts))
	if ds.HasErrors() {
		t.Fatalf("loading the synthetic catalog:\n%s", diagnostics(ds))
	}
	if got := len(c.Products); got != opts.Products {
		t.Errorf("got %d products, want %d", got, opts.Products)
	}
	if got := len(c.Publishers); got != opts.Publishers {
		t.Errorf("got %d publishers, want %d", got, opts.Publishers)
	}
	for _, id := range synthetic.ProductIDs(opts) {
		p := c.Products[id]
		if p == nil {
			t.Errorf("ProductIDs lists %s, which the catalog does not have", id)
			continue
		}
		if len(p.Builds) != opts.BuildsPerProduct {
			t.Errorf("%s: got %d builds, want %d", id, len(p.Builds), opts.BuildsPerProduct)
		}
		for _, b := range p.Builds {
			if n := len(b.Parameters); n < 4 || n > 6 {
				t.Errorf("%s %s: got %d parameters, want 4 to 6", id, b.Version, n)
			}
		}
	}
	if got := len(synthetic.ProductIDs(synthetic.Options{})); got != 10000 {
		t.Errorf("default options: got %d products, want 10000", got)
	}
}

// TestValid checks the promise benchmarks rely on: a synthetic catalog has no errors.
func TestValid(t *testing.T) {
	for _, seed := range []int64{0, 1, 2} {
		_, ds := catalog.Check(synthetic.MapFS(synthetic.Options{Products: 200, Seed: seed}))
		if ds.HasErrors() {
			t.Errorf("seed %d: catalog.Check found %d errors:\n%s", seed, ds.Errors(), diagnostics(ds))
		}
	}
}

// equalFS reports whether a and b hold the same files with the same bytes.
func equalFS(a, b fs.FS) bool {
	files := func(fsys fs.FS) map[string][]byte {
		m := map[string][]byte{}
		fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				m[p], _ = fs.ReadFile(fsys, p)
			}
			return nil
		})
		return m
	}
	return maps.EqualFunc(files(a), files(b), bytes.Equal)
}

func diagnostics(ds catalog.Diagnostics) string {
	var b strings.Builder
	ds.Write(&b, "text")
	return b.String()
}

func TestCached(t *testing.T) {

	dir := t.TempDir()
	opts := synthetic.Options{Products: 30}
	first, err := synthetic.Cached(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(first, "index.toml")); err != nil {
		t.Fatal(err)
	}
	// A second call reuses the folder: a file added to it stays.
	marker := filepath.Join(first, "kept")
	os.WriteFile(marker, nil, 0o644)
	second, err := synthetic.Cached(dir, opts)
	if err != nil || second != first {
		t.Fatalf("second call: %s, %v; want %s", second, err, first)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the cached catalog was written again")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d entries in the cache folder, want 1 (no temporary leftovers)", len(entries))
	}
}
