package catalog

import (
	"bytes"
	"crypto/sha256"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"
)

// checkCachedAgrees checks that CheckCached, with an empty cache and then with the cache the
// first check filled (through a cache file, to cover the encoding), finds what Check found in
// fsys: the same diagnostics and the same products.
func checkCachedAgrees(t *testing.T, fsys fstest.MapFS, want Diagnostics) {
	t.Helper()
	plain, _ := Check(fsys)
	file := filepath.Join(t.TempDir(), "cache")
	for _, pass := range []string{"cold", "warm"} {
		cache := OpenCache(file)
		c, ds := CheckCached(fsys, cache)
		if diff := cmp.Diff(want, ds); diff != "" {
			t.Errorf("%s cache: diagnostics differ from Check's (-Check +cached):\n%s", pass, diff)
		}
		if diff := cmp.Diff(plain.Products, c.Products); diff != "" {
			t.Errorf("%s cache: products differ from Check's (-Check +cached):\n%s", pass, diff)
		}
		// Files with TOML syntax errors are not kept: every loaded product is.
		hits, _ := cache.Stats()
		if pass == "cold" && hits != 0 || pass == "warm" && hits != len(c.Products) {
			t.Errorf("%s cache: %d hits for %d products", pass, hits, len(c.Products))
		}
		if err := cache.Save(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCacheCodecKeepsMeaning round-trips products whose meaning hangs on what encoding/gob and
// CBOR lose: an empty list against none, a pointer to zero against none.
func TestCacheCodecKeepsMeaning(t *testing.T) {
	zero, one := 0, 1
	released := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	empty := ""
	for _, p := range []*Product{
		{},
		{ID: "acme/x", Publisher: "acme", Path: "products/acme/x.toml", Name: "X", Evaluation: true,
			Identity:   Identity{SSO: []string{}, SCIM: true},
			Categories: []string{}, Screenshots: []Screenshot{{File: "a.png"}},
			Builds: []Build{{
				Version: "1.0.0", Released: &released, Platforms: []string{},
				Tasks:        []Task{{Name: "web", Min: &zero, Max: &one, Memory: &zero, StopTimeout: nil, Command: []string{"", "ü"}}},
				Parameters:   []Parameter{{Name: "A", Default: &empty}},
				Dependencies: []Dependency{{Interface: "fhir", Bind: map[string]string{"B": "url", "A": ""}}, {Bind: map[string]string{}}},
				SmokeTest:    &SmokeTest{},
			}, {}}},
	} {
		ce := &cacheEntry{product: p,
			decoded: []problem{{key: "a.b", msg: "m", line: 3, col: 4, atKey: true, suggested: "c"}},
			checked: []problem{{severity: Warning, rule: 16, msg: "w"}}}
		var e encoder
		encodeEntry(&e, ce)
		got, err := decodeEntry(string(e.buf), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(ce, got, cmp.AllowUnexported(cacheEntry{}, problem{}, fileRef{})); diff != "" {
			t.Errorf("round trip changed the entry (-want +got):\n%s", diff)
		}
		// Every prefix of an entry is damaged data: an error, never a panic.
		for n := range len(e.buf) {
			if _, err := decodeEntry(string(e.buf[:n]), nil, nil); err == nil && n < len(e.buf) {
				t.Errorf("decoding %d of %d bytes: no error", n, len(e.buf))
			}
		}
	}
}

func TestCacheFileDamage(t *testing.T) {
	fsys := overlay(t, readArchive(t, "testdata/base.txtar"), &txtar.Archive{})
	_, want := Check(fsys)
	file := filepath.Join(t.TempDir(), "cache")
	cache := OpenCache(file)
	CheckCached(fsys, cache)
	if err := cache.Save(); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x40
	otherCode := bytes.Clone(good)
	otherCode[len(cacheMagic)] ^= 1
	for name, data := range map[string][]byte{
		"flipped byte": flipped,
		"truncated":    good[:len(good)-7],
		"empty":        {},
		"other code":   otherCode,
		"not a cache":  []byte("hello"),
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
			cache := OpenCache(file)
			_, ds := CheckCached(fsys, cache)
			if diff := cmp.Diff(want, ds); diff != "" {
				t.Errorf("diagnostics differ (-want +got):\n%s", diff)
			}
			if hits, _ := cache.Stats(); hits != 0 {
				t.Errorf("%d hits from a damaged file", hits)
			}
			// The check repairs the file.
			if err := cache.Save(); err != nil {
				t.Fatal(err)
			}
			if repaired, _ := os.ReadFile(file); !bytes.Equal(repaired, good) {
				t.Errorf("Save did not rewrite the damaged file")
			}
		})
	}
}

// TestCacheSeesWhatTheKeyDoesNotHold changes what a product's result depends on beside its own
// content — index.toml, its logo — and expects the warm check to see it.
func TestCacheSeesWhatTheKeyDoesNotHold(t *testing.T) {
	base := readArchive(t, "testdata/base.txtar")
	cache := NewCache()
	fsys := overlay(t, base, &txtar.Archive{})
	if _, ds := CheckCached(fsys, cache); len(ds) > 0 {
		t.Fatalf("base catalog: %v", ds)
	}
	changes := map[string]func(fstest.MapFS){
		"logo removed": func(fsys fstest.MapFS) {
			for name := range fsys {
				if filepath.Base(name) == "logo.svg" {
					delete(fsys, name)
				}
			}
		},
		"interfaces removed": func(fsys fstest.MapFS) {
			fsys[IndexFile] = &fstest.MapFile{Data: []byte("[catalog]\nname = \"T\"\n")}
		},
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			fsys := overlay(t, base, &txtar.Archive{})
			change(fsys)
			_, want := Check(fsys)
			if !want.HasErrors() {
				t.Fatal("the change should cause errors")
			}
			_, got := CheckCached(fsys, cache)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("warm check differs from Check (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCacheConcurrentSaves has several checks share one cache file at once, as builds in
// parallel CI jobs do: the file is whole afterwards and serves the next check.
func TestCacheConcurrentSaves(t *testing.T) {
	fsys := overlay(t, readArchive(t, "testdata/base.txtar"), &txtar.Archive{})
	file := filepath.Join(t.TempDir(), "cache")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				cache := OpenCache(file)
				CheckCached(fsys, cache)
				if err := cache.Save(); err != nil {
					t.Error(err)
				}
				os.WriteFile(file+".x", nil, 0o644) // other files in the folder are left alone
			}
		})
	}
	wg.Wait()
	cache := OpenCache(file)
	c, _ := CheckCached(fsys, cache)
	if hits, misses := cache.Stats(); hits != len(c.Products) || misses != 0 {
		t.Errorf("after concurrent saves: %d hits, %d misses, want %d hits", hits, misses, len(c.Products))
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".tmp-*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// countingFS counts the files opened through it.
type countingFS struct {
	fstest.MapFS
	mu     sync.Mutex
	opened map[string]int
}

func (c *countingFS) Open(name string) (fs.File, error) {
	c.mu.Lock()
	c.opened[name]++
	c.mu.Unlock()
	return c.MapFS.Open(name)
}

// TestCacheAssumeUnchanged is a watcher's check: only the files it says changed are read, and
// the result is the one a full check gives.
func TestCacheAssumeUnchanged(t *testing.T) {
	base := readArchive(t, "testdata/base.txtar")
	fsys := &countingFS{MapFS: overlay(t, base, &txtar.Archive{}), opened: map[string]int{}}
	cache := NewCache()
	c, _ := CheckCached(fsys, cache)
	var product, logo string
	for _, id := range c.SortedProductIDs() {
		if p := c.Products[id]; p.Logo != "" {
			product, logo = p.Path, path.Join(ProductsDir, p.Publisher, p.Logo)
			break
		}
	}
	if product == "" {
		t.Fatal("no product with a logo in the base catalog")
	}
	changed := map[string]bool{}
	unchanged := func(p string) bool { return !changed[p] }

	for _, step := range []struct {
		name   string
		change func()
	}{
		{"product edited", func() {
			data := fsys.MapFS[product].Data
			fsys.MapFS[product] = &fstest.MapFile{Data: bytes.Replace(data, []byte("summary = \""), []byte("summary = \"Edited "), 1)}
			changed = map[string]bool{product: true}
		}},
		{"logo removed", func() {
			delete(fsys.MapFS, logo)
			changed = map[string]bool{logo: true}
		}},
		{"nothing changed", func() { changed = map[string]bool{} }},
	} {
		t.Run(step.name, func(t *testing.T) {
			step.change()
			_, want := Check(fsys.MapFS)
			fsys.opened = map[string]int{}
			cache.AssumeUnchanged(unchanged)
			got2, got := CheckCached(fsys, cache)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("diagnostics differ from a full check (-want +got):\n%s", diff)
			}
			if plain, _ := Check(fsys.MapFS); !cmp.Equal(plain.Products, got2.Products) {
				t.Errorf("products differ from a full check")
			}
			for name := range fsys.opened {
				if strings.HasSuffix(name, ".toml") && name != PublisherFile && !strings.HasSuffix(name, "/"+PublisherFile) && name != IndexFile && !changed[name] && !strings.HasPrefix(name, ".") {
					// Files with problems are read again to position them; the base has none.
					t.Errorf("%s was read, but the watcher said it did not change", name)
				}
			}
		})
	}
}

// TestCacheCodecKeepsSharing: lists that shareBuilds made one stay one through the cache, and
// lists that are equal but were not shared are not merged by it.
func TestCacheCodecKeepsSharing(t *testing.T) {
	one := 1
	tasks := []Task{{Name: "web", Min: &one}}
	p := &Product{Builds: []Build{
		{Version: "1", Tasks: tasks, Platforms: []string{"linux/amd64"}},
		{Version: "2", Tasks: tasks, Platforms: []string{"linux/amd64"}, SmokeTest: &SmokeTest{Task: "web"}},
		{Version: "3", Tasks: []Task{{Name: "web", Min: &one}}},
	}}
	p.Builds[2].SmokeTest = p.Builds[1].SmokeTest
	var e encoder
	encodeEntry(&e, &cacheEntry{product: p})
	got, err := decodeEntry(string(e.buf), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got.product); diff != "" {
		t.Fatalf("round trip changed the product (-want +got):\n%s", diff)
	}
	b := got.product.Builds
	if &b[0].Tasks[0] != &b[1].Tasks[0] || b[1].SmokeTest != b[2].SmokeTest {
		t.Error("shared lists came back apart")
	}
	if &b[0].Tasks[0] == &b[2].Tasks[0] || &b[0].Platforms[0] == &b[1].Platforms[0] {
		t.Error("lists that were apart came back shared")
	}
}

// TestCacheSharesEqualMaps: equal bindings decoded through one scratch are one map; unequal
// ones, and an empty map against none, stay apart.
func TestCacheSharesEqualMaps(t *testing.T) {
	product := func(bind map[string]string) *Product {
		return &Product{Builds: []Build{{Dependencies: []Dependency{{Interface: "pg", Bind: bind}}}}}
	}
	tab := newStringTable()
	var decoded []*Product
	maps := map[string]map[string]string{}
	for _, bind := range []map[string]string{{"A": "url", "B": "user"}, {"B": "user", "A": "url"}, {"A": "url"}, {}, nil} {
		e := encoder{tab: tab}
		encodeEntry(&e, &cacheEntry{product: product(bind)})
		got, err := decodeEntry(string(e.buf), tab.list, maps)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(bind, got.product.Builds[0].Dependencies[0].Bind); diff != "" {
			t.Fatalf("round trip changed the map (-want +got):\n%s", diff)
		}
		decoded = append(decoded, got.product)
	}
	bind := func(i int) map[string]string { return decoded[i].Builds[0].Dependencies[0].Bind }
	same := func(a, b map[string]string) bool {
		return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
	}
	if !same(bind(0), bind(1)) {
		t.Error("equal maps decoded apart")
	}
	if same(bind(0), bind(2)) || same(bind(2), bind(3)) || bind(3) == nil || bind(4) != nil {
		t.Error("unequal maps decoded as one")
	}
}

// TestCacheStamps: on disk, a file left alone long enough has its stamp recorded and is not read
// by the next check; a file whose stamp changed without its content is read again, and that
// alone does not make Save rewrite the cache file.
func TestCacheStamps(t *testing.T) {
	root, _ := writeArchive(t, "testdata/base.txtar")
	fsys := os.DirFS(root)
	file := filepath.Join(t.TempDir(), "cache")
	check := func() (hits int, stamps int, reads int) {
		t.Helper()
		cache := OpenCache(file)
		defer cache.Close()
		c, _ := CheckCached(fsys, cache)
		hits, _ = cache.Stats()
		if err := cache.Save(); err != nil {
			t.Fatal(err)
		}
		return hits, len(cache.nextStamps), len(c.Products)
	}
	defer SetStampSettle(time.Hour)() // just written: not settled
	if _, stamps, _ := check(); stamps != 0 {
		t.Fatalf("%d stamps recorded for files written just now", stamps)
	}
	SetStampSettle(0)
	hits, stamps, n := check()
	if hits != n || stamps < n {
		t.Fatalf("settled files: %d hits, %d stamps for %d products", hits, stamps, n)
	}
	before, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	// Touch one product file: same content, another stamp.
	var touched string
	filepath.WalkDir(filepath.Join(root, ProductsDir), func(p string, d fs.DirEntry, err error) error {
		if touched == "" && err == nil && strings.HasSuffix(p, ".toml") && d.Name() != PublisherFile {
			touched = p
		}
		return err
	})
	later := time.Now().Add(-time.Minute)
	if err := os.Chtimes(touched, later, later); err != nil {
		t.Fatal(err)
	}
	if hits, _, n := check(); hits != n {
		t.Fatalf("after a touch: %d hits for %d products", hits, n)
	}
	after, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Error("one stamp recorded anew rewrote the cache file")
	}
}

// TestAssetSum: once a check has stamped a logo, AssetSum gives its hash and verdict without
// reading it; after the file changes, or with no stamp, it says the file must be read.
func TestAssetSum(t *testing.T) {
	root, names := writeArchive(t, "testdata/base.txtar")
	var logo string
	for _, name := range names {
		if strings.HasSuffix(name, ".svg") && logo == "" {
			logo = name
		}
	}
	if logo == "" {
		t.Fatal("the test catalog has no SVG logo")
	}
	fsys := os.DirFS(root)
	cache := OpenCache(filepath.Join(t.TempDir(), "cache"))
	defer cache.Close()
	if _, _, ok := cache.AssetSum(fsys, logo); ok {
		t.Fatal("an empty cache knows the logo")
	}
	defer SetStampSettle(0)()
	if _, ds := CheckCached(fsys, cache); ds.HasErrors() {
		t.Fatalf("the test catalog has errors: %v", ds)
	}
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(logo)))
	if err != nil {
		t.Fatal(err)
	}
	sum, publishable, ok := cache.AssetSum(fsys, logo)
	if !ok || !publishable || sum != sha256.Sum256(data) {
		t.Fatalf("after a check: ok %v, publishable %v, sum right %v", ok, publishable, sum == sha256.Sum256(data))
	}
	// The same size, another content: the stamp (times) differs, so the file must be read.
	edited := bytes.Replace(data, []byte("<svg"), []byte("<SVG"), 1)
	if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(logo)), edited, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := cache.AssetSum(fsys, logo); ok {
		t.Error("an edited logo is known by its old stamp")
	}
	if _, _, ok := cache.AssetSum(fsys, "products/none/logo.svg"); ok {
		t.Error("a missing file is known")
	}
}

// writeArchive writes the files of a txtar archive into a new folder on disk (stamps need real
// files) and returns it with the files' names.
func writeArchive(t *testing.T, archive string) (root string, names []string) {
	t.Helper()
	root = t.TempDir()
	for _, f := range readArchive(t, archive).Files {
		p := filepath.Join(root, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, f.Name)
	}
	return root, names
}
