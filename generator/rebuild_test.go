package generator

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/synthetic"
	"github.com/hspc/marketplace/generator/write"
)

// TestRebuildsEqualCleanBuilds edits a synthetic catalog again and again — one product's text,
// a provider's name, a publisher's name, an interface's name, a logo, a product removed and one
// added — and after each edit compares the incremental rebuild with a build from nothing: every
// file must be the same. Pages are keyed by their inputs (catalog.Product.Sum and what comes from
// elsewhere) and catalog.json copies unchanged entries from the published one; this is what
// says that no key leaves out an input.
func TestRebuildsEqualCleanBuilds(t *testing.T) {
	dir := t.TempDir()
	if err := synthetic.Write(dir, synthetic.Options{Products: 60, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	// The rebuilds keep a load cache, as `marketplace build` does: files left alone for a while
	// are then known by their stamps, logos included (catalog.Cache.AssetSum).
	time.Sleep(2100 * time.Millisecond)
	cacheFile := filepath.Join(t.TempDir(), "load-cache")
	out := filepath.Join(t.TempDir(), "public")
	rebuild := func() (*Result, error) {
		cache := catalog.OpenCache(cacheFile)
		defer cache.Close()
		res, err := Build(context.Background(), Options{Root: dir, Out: out, Verify: VerifySkip, LoadCache: cache})
		if err == nil {
			err = cache.Save()
		}
		return res, err
	}
	res, err := rebuild()
	if err != nil {
		t.Fatalf("%v %v", err, res.Diagnostics)
	}
	c := res.Catalog
	// A provider: a product whose interface another product depends on.
	var provider *catalog.Product
	for _, id := range c.SortedProductIDs() {
		for _, b := range c.Products[id].Builds {
			for _, e := range b.Exposes {
				for _, other := range c.Products {
					for _, ob := range other.Builds {
						for _, d := range ob.Dependencies {
							if d.Interface == e.Interface && other.ID != id && provider == nil {
								provider = c.Products[id]
							}
						}
					}
				}
			}
		}
	}
	if provider == nil {
		t.Fatal("no product another depends on")
	}
	ids := c.SortedProductIDs()
	edit := func(rel, re, repl string) {
		t.Helper()
		file := filepath.Join(dir, filepath.FromSlash(rel))
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		edited := regexp.MustCompile(re).ReplaceAll(data, []byte(repl))
		if bytes.Equal(edited, data) {
			t.Fatalf("%s: %s matched nothing", rel, re)
		}
		if err := os.WriteFile(file, edited, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name string
		do   func()
	}{
		{"summary changed", func() { edit(c.Products[ids[3]].Path, `(?m)^summary = "`, `summary = "Changed: `) }},
		{"description changed", func() {
			edit(c.Products[ids[7]].Path, `(?m)^description = """\n`, "description = \"\"\"\nA new first line.\n")
		}},
		{"provider renamed", func() { edit(provider.Path, `(?m)^name = "[^"]*"`, `name = "Aaa Renamed Provider"`) }},
		{"publisher renamed", func() {
			edit(catalog.ProductsDir+"/"+provider.Publisher+"/"+catalog.PublisherFile, `(?m)^name = "[^"]*"`, `name = "Renamed Publisher"`)
		}},
		{"interface renamed", func() { edit(catalog.IndexFile, `(?m)^name = "HL7 FHIR R4"`, `name = "FHIR Release 4"`) }},
		{"logo changed", func() {
			logo := filepath.Join(dir, catalog.ProductsDir, c.Products[ids[5]].Publisher, filepath.FromSlash(c.Products[ids[5]].Logo))
			data, err := os.ReadFile(logo)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(logo, bytes.Replace(data, []byte("<svg"), []byte("<!-- new -->\n<svg"), 1), 0o644)
		}},
		{"product removed", func() { os.Remove(filepath.Join(dir, filepath.FromSlash(c.Products[ids[10]].Path))) }},
		{"product added", func() {
			data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(provider.Path)))
			if err != nil {
				t.Fatal(err)
			}
			copyPath := strings.TrimSuffix(provider.Path, ".toml") + "-two.toml"
			data = bytes.Replace(data, []byte(`name = "`), []byte(`name = "Second `), 1)
			os.WriteFile(filepath.Join(dir, filepath.FromSlash(copyPath)), data, 0o644)
		}},
	}
	for _, step := range steps {
		step.do()
		res, err := rebuild()
		if err != nil {
			t.Fatalf("%s: rebuild: %v %v", step.name, err, res.Diagnostics)
		}
		clean := filepath.Join(t.TempDir(), "public")
		if res, err := Build(context.Background(), Options{Root: dir, Out: clean, Verify: VerifySkip}); err != nil {
			t.Fatalf("%s: clean build: %v %v", step.name, err, res.Diagnostics)
		}
		got, want := readTree(t, out), readTree(t, clean)
		for name, data := range want {
			if strings.HasPrefix(name, "search.bleve/") || name == write.ManifestFile {
				continue // a database whose bytes bleve does not keep stable; the keys
			}
			if g, ok := got[name]; !ok {
				t.Errorf("%s: the rebuild has no %s", step.name, name)
			} else if !bytes.Equal(g, data) {
				t.Errorf("%s: %s differs from a clean build's", step.name, name)
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok && !strings.HasPrefix(name, "search.bleve/") {
				t.Errorf("%s: the rebuild has %s, which a clean build does not", step.name, name)
			}
		}
		t.Logf("%s: %d pages rendered, %d reused", step.name, res.Stats.Rendered, res.Stats.Reused)
	}
}
