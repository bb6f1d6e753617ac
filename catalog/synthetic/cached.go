package synthetic

import (
	"fmt"
	"os"
	"path/filepath"
)

// Version numbers what Write writes: a change to the files it writes for the same Options
// changes it, so that Cached never hands out a catalog an older generator wrote.
// 2: smoke tests reach the service through $(SMOKE_URL), not localhost (a warning per build).
const Version = 2

// complete marks a folder that Cached finished writing.
const complete = ".synthetic-complete"

// Cached returns the folder under dir that holds the catalog for opts, writing it first unless
// an earlier call (of this process or another) completed it. Benchmarks that run on the same
// catalog share one copy: writing 100 000 products takes minutes. The catalog is written into a
// temporary sibling and renamed into place, so a folder Cached returns is always whole.
func Cached(dir string, opts Options) (string, error) {
	opts = opts.withDefaults()
	name := fmt.Sprintf("catalog-%d-products-%d-builds-%d-publishers-seed-%d-v%d", opts.Products, opts.BuildsPerProduct, opts.Publishers, opts.Seed, Version)
	final := filepath.Join(dir, name)
	if _, err := os.Stat(filepath.Join(final, complete)); err == nil {
		return final, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, name+".tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) // gone after the rename, or a failed attempt's leftovers
	if err := Write(tmp, opts); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, complete), nil, 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		// Another process completed it first: use theirs.
		if _, serr := os.Stat(filepath.Join(final, complete)); serr == nil {
			return final, nil
		}
		return "", fmt.Errorf("keeping the synthetic catalog: %w", err)
	}
	return final, nil
}

// BenchDir is the folder benchmarks keep synthetic catalogs in: $MARKETPLACE_BENCH_CATALOGS,
// or "" when unset (each benchmark then writes its own into a temporary folder).
func BenchDir() string { return os.Getenv("MARKETPLACE_BENCH_CATALOGS") }
