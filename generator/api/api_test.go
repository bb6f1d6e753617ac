package api

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/generator/page"
)

func exampleInput(t *testing.T) Input {
	t.Helper()
	c, ds := catalog.Check(os.DirFS("../.."))
	if ds.HasErrors() {
		t.Fatalf("example catalog invalid: %v", ds)
	}
	fhir := c.Products["acme/fhir"]
	latest := fhir.Latest()
	when := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return Input{
		Catalog: c,
		History: &catalog.History{
			Commit: strings.Repeat("ab", 20), Date: when,
			Products: map[string]*catalog.ProductHistory{"acme/fhir": {
				Added: when, Changed: when,
				Log: []catalog.Commit{{Hash: strings.Repeat("cd", 20), Date: when, Author: "J Doe", Subject: "acme/fhir: add 5.1.0"}},
			}},
		},
		Images: map[string]catalog.ImageStatus{latest.Digest(): {State: catalog.ImageVerified, Signer: "products/acme/cosign.pub"}},
	}
}

func render(t *testing.T, pages []page.Page) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, p := range pages {
		data, err := p.Bytes()
		if err != nil {
			t.Fatalf("%s: %v", p.Path, err)
		}
		out[p.Path] = data
	}
	return out
}

func compileSchema(t *testing.T, ref string) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(JSONSchema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("catalog.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("catalog.schema.json" + ref)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOutputMatchesSchema(t *testing.T) {
	in := exampleInput(t)
	files := render(t, Pages(in))
	catalogSchema := compileSchema(t, "")
	productSchema := compileSchema(t, "#/$defs/product")
	if len(files) != len(in.Catalog.Products)+1 {
		t.Errorf("%d files, want one per product and catalog.json", len(files))
	}
	for name, data := range files {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s := productSchema
		if name == CatalogPath {
			s = catalogSchema
		}
		if err := s.Validate(v); err != nil {
			t.Errorf("%s does not match the schema: %v", name, err)
		}
	}
}

func TestCatalogContent(t *testing.T) {
	in := exampleInput(t)
	files := render(t, Pages(in))
	var doc Catalog
	if err := json.Unmarshal(files[CatalogPath], &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != 1 || doc.Source == nil || doc.Source.Commit != strings.Repeat("ab", 20) {
		t.Errorf("schema/source = %d %+v", doc.Schema, doc.Source)
	}
	var fhir *Product
	for i := range doc.Products {
		if doc.Products[i].ID == "acme/fhir" {
			fhir = &doc.Products[i]
		}
	}
	if fhir == nil {
		t.Fatal("acme/fhir missing")
	}
	if fhir.Builds[0].Version != fhir.Latest || fhir.Builds[0].Signature.State != catalog.ImageVerified {
		t.Errorf("latest build = %+v", fhir.Builds[0])
	}
	for _, b := range fhir.Builds[1:] {
		if b.Signature.State != catalog.ImageUnchecked {
			t.Errorf("build %s signature = %+v, want unchecked", b.Version, b.Signature)
		}
	}
	if fhir.LicenseStatus != "open" || fhir.Added == nil || fhir.Changelog != nil {
		t.Errorf("license_status %q, added %v, changelog in catalog.json %v", fhir.LicenseStatus, fhir.Added, fhir.Changelog)
	}
	web := fhir.Builds[0].Tasks[0]
	if web.Min < 2 || web.Memory != 2048 || web.StopTimeout == 0 || web.Max < web.Min {
		t.Errorf("web task = %+v", web)
	}
	var evaluation int
	for _, p := range doc.Products {
		if p.LicenseStatus == "evaluation" {
			evaluation++
		}
	}
	if evaluation == 0 {
		t.Error("no product with an evaluation license in the example")
	}

	var one Product
	if err := json.Unmarshal(files[ProductPath("acme/fhir")], &one); err != nil {
		t.Fatal(err)
	}
	if len(one.Changelog) != 1 {
		t.Errorf("product document changelog = %v", one.Changelog)
	}
}

func TestKeysFollowContent(t *testing.T) {
	in := exampleInput(t)
	keys := func() map[string]string {
		m := map[string]string{}
		for _, p := range Pages(in) {
			m[p.Path] = p.Key
		}
		return m
	}
	before := keys()
	in.Catalog.Products["acme/fhir"].Summary = "changed"
	after := keys()
	for path, k := range before {
		changed := after[path] != k
		want := path == ProductPath("acme/fhir") || path == CatalogPath
		if changed != want {
			t.Errorf("%s: key changed = %v, want %v", path, changed, want)
		}
	}
}
