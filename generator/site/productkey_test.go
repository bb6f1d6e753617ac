package site

import (
	"maps"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/synthetic"
	"github.com/hspc/marketplace/theme"
)

// TestProductKeyCoversView: a product page's key is computed from the view's inputs
// (productKey), not from the view. Whatever changes a product's view must change that key, or
// a rebuild would keep a stale page. Each change below is made to a synthetic catalog; for every
// product whose view key changed, its inputs key must have changed too. The changes that reach
// other products' pages (a provider renamed or added, a publisher or interface renamed) must
// change some view, so that the test checks something.
func TestProductKeyCoversView(t *testing.T) {
	base := synthetic.MapFS(synthetic.Options{Products: 80, Seed: 11})
	baseView, baseInputs := productKeys(t, base, nil)

	// A provider: a product exposing an interface that another product depends on.
	c, _ := catalog.Check(base)
	var provider *catalog.Product
	for _, id := range c.SortedProductIDs() {
		p := c.Products[id]
		for _, b := range p.Builds {
			for _, e := range b.Exposes {
				for _, other := range c.Products {
					for _, ob := range other.Builds {
						for _, d := range ob.Dependencies {
							if d.Interface == e.Interface && other.ID != p.ID && provider == nil {
								provider = p
							}
						}
					}
				}
			}
		}
	}
	if provider == nil {
		t.Fatal("the synthetic catalog has no product another depends on")
	}
	edit := func(fsys fstest.MapFS, file string, re, repl string) {
		t.Helper()
		data := string(fsys[file].Data)
		edited := regexp.MustCompile(re).ReplaceAllString(data, repl)
		if edited == data {
			t.Fatalf("%s: %s matched nothing", file, re)
		}
		fsys[file] = &fstest.MapFile{Data: []byte(edited)}
	}
	digests := func() []string {
		var ds []string
		for _, p := range c.Products {
			for _, b := range p.Builds {
				ds = append(ds, b.Digest())
			}
		}
		return ds
	}

	changes := []struct {
		name   string
		files  func(fsys fstest.MapFS)
		input  func(in *Input)
		reachs bool // must change some other product's view
		self   bool // must change the provider's view
	}{
		{name: "provider renamed", reachs: true, files: func(fsys fstest.MapFS) {
			edit(fsys, provider.Path, `(?m)^name = "[^"]*"`, `name = "Zzz Renamed Provider"`)
		}},
		{name: "provider renamed to sort first", reachs: true, files: func(fsys fstest.MapFS) {
			edit(fsys, provider.Path, `(?m)^name = "[^"]*"`, `name = "AAA First"`)
		}},
		{name: "provider's summary changed", files: func(fsys fstest.MapFS) {
			edit(fsys, provider.Path, `(?m)^summary = "`, `summary = "Changed: `)
		}},
		{name: "provider added", reachs: true, files: func(fsys fstest.MapFS) {
			data := strings.Replace(string(fsys[provider.Path].Data), `name = "`, `name = "Aaa Copy of `, 1)
			fsys[strings.TrimSuffix(provider.Path, ".toml")+"-copy.toml"] = &fstest.MapFile{Data: []byte(data)}
		}},
		{name: "provider removed", reachs: true, files: func(fsys fstest.MapFS) {
			delete(fsys, provider.Path)
		}},
		{name: "publisher renamed", reachs: true, files: func(fsys fstest.MapFS) {
			edit(fsys, "products/"+provider.Publisher+"/publisher.toml", `(?m)^name = "[^"]*"`, `name = "Renamed Publisher"`)
		}},
		{name: "interfaces renamed", reachs: true, files: func(fsys fstest.MapFS) {
			edit(fsys, "index.toml", `(?m)^name = "(HL7|FHIR|SMART|CDS)`, `name = "Renamed $1`)
		}},
		{name: "catalog renamed", reachs: true, files: func(fsys fstest.MapFS) {
			edit(fsys, "index.toml", `(?m)^name = "HSP Marketplace`, `name = "Another Marketplace`)
		}},
		{name: "images verified", reachs: true, input: func(in *Input) {
			for _, d := range digests() {
				in.Images[d] = ImageStatus{State: catalog.ImageVerified, Signer: "https://example.org/signer"}
			}
		}},
		{name: "one image failed", self: true, input: func(in *Input) {
			in.Images[provider.Builds[0].Digest()] = ImageStatus{State: catalog.ImageFailed, Detail: "bad"}
		}},
		{name: "history", self: true, input: func(in *Input) {
			in.History = &catalog.History{Commit: "0123456789abcdef0123456789abcdef01234567", Date: day("2026-01-01"),
				Products: map[string]*catalog.ProductHistory{provider.ID: {
					Added: day("2025-01-01"), Changed: day("2025-06-01"),
					Builds: map[string]time.Time{provider.Builds[0].Version: day("2025-06-01")},
					Log:    []catalog.Commit{{Hash: strings.Repeat("a", 40), Date: day("2025-06-01"), Author: "a", Subject: "s"}},
				}}}
		}},
		{name: "logo changed", files: func(fsys fstest.MapFS) {
			for name, f := range fsys {
				if strings.HasSuffix(name, "/logo.svg") {
					fsys[name] = &fstest.MapFile{Data: append([]byte("<!-- changed -->"), f.Data...)}
				}
			}
		}},
	}
	for _, ch := range changes {
		t.Run(ch.name, func(t *testing.T) {
			fsys := maps.Clone(base)
			if ch.files != nil {
				ch.files(fsys)
			}
			view, inputs := productKeys(t, fsys, ch.input)
			reached := 0
			for id, v := range view {
				if baseView[id] == "" {
					continue // a new product
				}
				if v != baseView[id] {
					if id != provider.ID {
						reached++
					}
					if inputs[id] == baseInputs[id] {
						t.Errorf("%s: the view changed but the page's key did not: a rebuild would keep the old page", id)
					}
				}
			}
			if ch.self && view[provider.ID] == baseView[provider.ID] {
				t.Errorf("%s's view did not change: the change does not test what it should", provider.ID)
			}
			if ch.reachs && reached == 0 {
				t.Errorf("no other product's view changed: the change does not test what it should")
			}
			t.Logf("%d other products' views changed", reached)
		})
	}
}

// productKeys returns each product page's key computed from its view and from its inputs.
func productKeys(t *testing.T, fsys fstest.MapFS, edit func(*Input)) (view, inputs map[string]string) {
	t.Helper()
	c, ds := catalog.Check(fsys)
	if ds.HasErrors() {
		t.Fatalf("the catalog does not validate: %v", ds)
	}
	in := Input{Catalog: c, History: &catalog.History{}, Images: map[string]ImageStatus{}, Files: fsys}
	if edit != nil {
		edit(&in)
	}
	th, err := loadTheme(theme.FS)
	if err != nil {
		t.Fatal(err)
	}
	g, err := newGenerator(in, th)
	if err != nil {
		t.Fatal(err)
	}
	view, inputs = map[string]string{}, map[string]string{}
	for _, p := range g.products {
		if p.Sum == "" {
			t.Fatalf("%s was loaded without a Sum", p.ID)
		}
		view[p.ID] = g.productPage(p).Key
		inputs[p.ID] = g.productKey(p)
	}
	return view, inputs
}
