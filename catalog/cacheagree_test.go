package catalog_test

import (
	"bytes"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/synthetic"
)

// openCounter counts the files opened or read through it.
type openCounter struct {
	fs.FS
	mu     sync.Mutex
	opened map[string]int
}

func (o *openCounter) count(name string) {
	o.mu.Lock()
	o.opened[name]++
	o.mu.Unlock()
}

func (o *openCounter) Open(name string) (fs.File, error) {
	o.count(name)
	return o.FS.Open(name)
}

func (o *openCounter) ReadFile(name string) ([]byte, error) {
	o.count(name)
	return fs.ReadFile(o.FS, name)
}

func (o *openCounter) Stat(name string) (fs.FileInfo, error)  { return fs.Stat(o.FS, name) }
func (o *openCounter) Lstat(name string) (fs.FileInfo, error) { return fs.Lstat(o.FS, name) }
func (o *openCounter) ReadLink(name string) (string, error)   { return fs.ReadLink(o.FS, name) }

// testCatalog is a catalog in memory or on disk that a test edits.
type testCatalog struct {
	fs    fs.FS
	write func(name string, data []byte)
	read  func(name string) []byte
}

func memCatalog(m fstest.MapFS) testCatalog {
	return testCatalog{fs: m,
		write: func(name string, data []byte) { m[name] = &fstest.MapFile{Data: data, Mode: 0o644} },
		read:  func(name string) []byte { return m[name].Data },
	}
}

// diskCatalog writes m to a folder: there files have stamps (size, times, inode), which the
// cache trusts for files left alone long enough (no time at all in this test).
func diskCatalog(t *testing.T, m fstest.MapFS) testCatalog {
	t.Helper()
	root := t.TempDir()
	write := func(name string, data []byte) {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, f := range m {
		write(name, f.Data)
	}
	return testCatalog{fs: os.DirFS(root), write: write,
		read: func(name string) []byte {
			data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
			if err != nil {
				t.Fatal(err)
			}
			return data
		},
	}
}

// exampleCatalog is the repository's own catalog, copied into memory so that tests may edit it.
func exampleCatalog(t *testing.T) fstest.MapFS {
	t.Helper()
	root := os.DirFS("..")
	m := fstest.MapFS{}
	for _, top := range []string{catalog.IndexFile, catalog.ProductsDir} {
		err := fs.WalkDir(root, top, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := fs.ReadFile(root, p)
			m[p] = &fstest.MapFile{Data: data, Mode: 0o644}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// TestCheckCachedIsCheck compares CheckCached with Check — diagnostics with their positions and
// text, and the products — on the example catalog and a synthetic one (which has warnings in
// every product), in memory and on disk: cold, warm, after editing a product file and a logo,
// and with a damaged or truncated cache file. A warm check opens each product file once (to
// hash it) and never again to position its diagnostics; on disk, where files have stamps, it
// opens none.
func TestCheckCachedIsCheck(t *testing.T) {
	defer catalog.SetStampSettle(0)()
	for name, newCatalog := range map[string]func() testCatalog{
		"example":         func() testCatalog { return memCatalog(exampleCatalog(t)) },
		"synthetic":       func() testCatalog { return memCatalog(synthetic.MapFS(synthetic.Options{Products: 60, Publishers: 4})) },
		"example on disk": func() testCatalog { return diskCatalog(t, exampleCatalog(t)) },
		"synthetic on disk": func() testCatalog {
			return diskCatalog(t, synthetic.MapFS(synthetic.Options{Products: 60, Publishers: 4}))
		},
	} {
		t.Run(name, func(t *testing.T) {
			tc := newCatalog()
			fsys := tc.fs
			onDisk := strings.HasSuffix(name, "on disk")
			file := filepath.Join(t.TempDir(), "cache")
			counter := &openCounter{FS: fsys}
			check := func(step string, wantHits int) (note string) {
				t.Helper()
				plain, want := catalog.Check(fsys)
				counter.opened = map[string]int{}
				cache := catalog.OpenCache(file)
				c, got := catalog.CheckCached(counter, cache)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s: diagnostics differ from Check's (-Check +CheckCached):\n%s", step, diff)
				}
				if diff := cmp.Diff(plain.Products, c.Products); diff != "" {
					t.Errorf("%s: products differ from Check's (-Check +CheckCached):\n%s", step, diff)
				}
				if hits, _ := cache.Stats(); wantHits >= 0 && hits != wantHits {
					t.Errorf("%s: %d cache hits, want %d", step, hits, wantHits)
				}
				// (A logo whose findings changed has them positioned by reading its product file.)
				if wantHits == len(c.Products) && step != "one logo edited" {
					want := 1
					if onDisk {
						want = 0
					}
					for _, p := range c.Products {
						if n := counter.opened[p.Path]; n != want {
							t.Errorf("%s: %s opened %d times, want %d", step, p.Path, n, want)
						}
						if logo := path.Join(catalog.ProductsDir, p.Publisher, p.Logo); p.Logo != "" && step != "logo restored" && counter.opened[logo] != want {
							t.Errorf("%s: %s opened %d times, want %d", step, logo, counter.opened[logo], want)
						}
					}
				}
				note = cache.Note()
				if err := cache.Save(); err != nil {
					t.Fatal(err)
				}
				if err := cache.Close(); err != nil {
					t.Fatal(err)
				}
				return note
			}
			plain, _ := catalog.Check(fsys)
			if name == "synthetic" {
				// A reviewed catalog has no warnings; a third of these products get one per
				// build (a smoke test on localhost), so that cached warnings are compared too.
				for i, id := range plain.SortedProductIDs() {
					if p := plain.Products[id]; i%3 == 0 {
						tc.write(p.Path, bytes.ReplaceAll(tc.read(p.Path), []byte(`"$(SMOKE_URL)"`), []byte(`"http://localhost:8080"`)))
					}
				}
				if _, ds := catalog.Check(fsys); len(ds) == 0 {
					t.Fatal("the synthetic catalog should have warnings")
				}
			}
			n := len(plain.Products)
			check("cold", 0)
			check("warm", n)

			// Edit one product file: an unknown key (a positioned warning with a hint), and a
			// logo that is not what its name says.
			ids := plain.SortedProductIDs()
			var edited *catalog.Product
			for _, id := range ids {
				if p := plain.Products[id]; p.Logo != "" {
					edited = p
					break
				}
			}
			if edited == nil {
				t.Fatal("no product with a logo")
			}
			tc.write(edited.Path, bytes.Replace(tc.read(edited.Path), []byte("\nsummary = "), []byte("\nsumary = \"typo\"\nsummary = "), 1))
			check("one product edited", n-1)
			logo := filepath.ToSlash(filepath.Join(catalog.ProductsDir, edited.Publisher, edited.Logo))
			old := tc.read(logo)
			tc.write(logo, []byte("plain text, not an image\n"))
			if _, ds := catalog.Check(fsys); !slices.ContainsFunc(ds, func(d catalog.Diagnostic) bool {
				return d.Path == edited.Path && strings.Contains(d.Message, "by content")
			}) {
				t.Fatalf("a text logo is not reported: %v", ds)
			}
			check("one logo edited", n)
			tc.write(logo, old)
			check("logo restored", n)
			check("warm again", n)

			// A damaged cache file is detected, said, and not trusted: whole when its index or
			// end is damaged, entry by entry when an entry is.
			good, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			for _, bad := range []struct {
				what string
				data []byte
				hits int
			}{
				{"entry damaged", flip(good, 64), n - 1}, // the first entry follows a 57-byte header
				{"strings or index damaged", flip(good, len(good)-40), 0},
				{"trailer damaged", flip(good, len(good)-30), 0},
				{"truncated", good[:len(good)-len(good)/3], 0},
				{"last byte lost", good[:len(good)-1], 0},
				{"empty", nil, 0},
			} {
				if err := os.WriteFile(file, bad.data, 0o644); err != nil {
					t.Fatal(err)
				}
				if note := check(bad.what, bad.hits); !strings.Contains(note, "damaged") {
					t.Errorf("%s cache file: note %q, want one saying it is damaged", bad.what, note)
				}
				if note := check("warm after "+bad.what, n); note != "" {
					t.Errorf("warm after %s: note %q", bad.what, note)
				}
			}
		})
	}
}

// flip returns data with the byte at i changed.
func flip(data []byte, i int) []byte {
	data = bytes.Clone(data)
	data[i] ^= 0x20
	return data
}
