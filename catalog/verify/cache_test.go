package verify

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// signedCatalog pushes n signed images, one product each, and returns the catalog.
func signedCatalog(t *testing.T, f *fixture, n int) *testCatalog {
	t.Helper()
	c := newTestCatalog(f.key.pub, "")
	for i := range n {
		ref := f.reg.push(t, fmt.Sprintf("acme/app%d", i), makeImage(t, okImage()))
		sign(t, ref, f.key.signer, signOpts{})
		c.addProduct(fmt.Sprintf("app%d", i), build{version: "1.0.0", image: ref.String()})
	}
	return c
}

func TestCacheWarmRunSendsNoRequest(t *testing.T) {
	f := newFixture(t)
	c := signedCatalog(t, f, 20)
	// One unsigned build: its signatures are asked for again on every run, since the publisher
	// may have signed it since.
	unsigned := f.reg.push(t, "acme/unsigned", makeImage(t, okImage()))
	c.addProduct("unsigned", build{version: "1.0.0", image: unsigned.String()})
	cat := c.load(t)
	opts := f.options()
	opts.CacheDir = t.TempDir()

	f.reg.requests.Store(0)
	cold, coldDiags := Verify(context.Background(), c.files, cat, nil, opts)
	coldRequests := f.reg.requests.Load()
	if coldRequests == 0 || cold.Requests != coldRequests {
		t.Fatalf("cold run: %d requests counted by the test, %d by the report", coldRequests, cold.Requests)
	}

	f.reg.requests.Store(0)
	warm, warmDiags := Verify(context.Background(), c.files, cat, []string{"acme/app0", "acme/app7", "acme/app19"}, opts)
	if n := f.reg.requests.Load(); n != 0 {
		t.Errorf("warm run of signed images sent %d registry requests, want 0", n)
	}
	if warm.Cached != 3 {
		t.Errorf("warm run: %d images from the cache, want 3", warm.Cached)
	}

	f.reg.requests.Store(0)
	all, allDiags := Verify(context.Background(), c.files, cat, nil, opts)
	if n := f.reg.requests.Load(); n == 0 || n > 3 {
		t.Errorf("warm run with one unsigned image sent %d requests, want only its signature lookup", n)
	}
	if diff := cmp.Diff(lines(coldDiags, nil), lines(allDiags, nil)); diff != "" {
		t.Errorf("warm diagnostics differ from cold ones (-cold +warm):\n%s", diff)
	}
	if len(coldDiags) != 1 || len(warmDiags) != 0 {
		t.Errorf("want one diagnostic (the unsigned build) cold and none for the signed subset, got:\n%s---\n%s", diagText(coldDiags), diagText(warmDiags))
	}

	// The same inputs write the same bytes, whether from the registry or the cache.
	d1, d2 := t.TempDir(), t.TempDir()
	if err := cold.WriteMaterial(d1); err != nil {
		t.Fatal(err)
	}
	if err := all.WriteMaterial(d2); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(d1)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 21 {
		t.Errorf("wrote %d material files, want 21", len(entries))
	}
	for _, e := range entries {
		a, _ := os.ReadFile(filepath.Join(d1, e.Name()))
		b, err := os.ReadFile(filepath.Join(d2, e.Name()))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs between a cold and a warm run", e.Name())
		}
	}
}

// TestCacheIsChecked checks that a corrupted cache entry is fetched again, not believed.
func TestCacheIsChecked(t *testing.T) {
	f := newFixture(t)
	c := signedCatalog(t, f, 1)
	cat := c.load(t)
	opts := f.options()
	opts.CacheDir = t.TempDir()
	if _, ds := Verify(context.Background(), c.files, cat, nil, opts); len(ds) > 0 {
		t.Fatalf("cold run:\n%s", diagText(ds))
	}
	entries, _ := os.ReadDir(opts.CacheDir)
	if len(entries) != 1 {
		t.Fatalf("cache has %d files, want 1", len(entries))
	}
	file := filepath.Join(opts.CacheDir, entries[0].Name())
	data, _ := os.ReadFile(file)
	// The layer size in the cached manifest: a changed manifest no longer hashes to the digest.
	data = bytes.Replace(data, []byte(`\"size\":`), []byte(`\"size\":9`), 1)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f.reg.requests.Store(0)
	if _, ds := Verify(context.Background(), c.files, cat, nil, opts); len(ds) > 0 {
		t.Fatalf("run with a corrupted cache:\n%s", diagText(ds))
	}
	if f.reg.requests.Load() == 0 {
		t.Error("a corrupted cache entry was used without asking the registry")
	}
}
