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
	p := in.Catalog.Products["acme/fhir"]
	if p.Sum == "" {
		t.Fatal("a loaded product has no Sum")
	}
	// A new file is a new Sum; a product changed in memory has none (catalog.Product.Sum), and
	// is keyed by its content.
	p.Sum = strings.Repeat("0", 64)
	afterSum := keys()
	p.Sum, p.Summary = "", "changed"
	afterEdit := keys()
	for path, k := range before {
		for what, after := range map[string]map[string]string{"new Sum": afterSum, "summary changed in memory": afterEdit} {
			changed := after[path] != k
			want := path == ProductPath("acme/fhir") || path == CatalogPath
			if changed != want {
				t.Errorf("%s: %s: key changed = %v, want %v", what, path, changed, want)
			}
		}
	}
}

// TestCatalogUpdateCopiesUnchangedEntries: a rebuild's catalog.json copies the entries of
// products whose documents kept their key from the published catalog.json, encodes the others,
// and encodes everything when the published file is not laid out as it expects.
func TestCatalogUpdateCopiesUnchangedEntries(t *testing.T) {
	in := exampleInput(t)
	catalogPage := func() (page.Page, map[string]string) {
		keys := map[string]string{}
		var cp page.Page
		for _, p := range Pages(in) {
			keys[p.Path] = p.Key
			if p.Path == CatalogPath {
				cp = p
			}
		}
		return cp, keys
	}
	stream := func(p page.Page) string {
		var b bytes.Buffer
		if err := p.Stream(&b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	before, prevKeys := catalogPage()
	published := stream(before)

	// Change one product; mark another's published entry, so that copying it shows.
	changed := in.Catalog.Products["acme/fhir"]
	changed.Summary, changed.Sum = "A changed summary", strings.Repeat("1", 64)
	var other string
	for _, id := range in.Catalog.SortedProductIDs() {
		if id != changed.ID {
			other = id
			break
		}
	}
	mark := func(s string) string {
		from := `{"id":"` + other + `","publisher":`
		if !strings.Contains(s, from) {
			t.Fatalf("no entry of %s in %s", other, s)
		}
		return strings.Replace(s, from, `{"id":"`+other+`","copied":true,"publisher":`, 1)
	}
	after, _ := catalogPage()
	want := stream(after)
	if !strings.Contains(want, "A changed summary") {
		t.Fatal("the changed product's entry is not in the new catalog.json")
	}
	for name, tc := range map[string]struct{ prev, want string }{
		"copied":           {mark(published), mark(want)},
		"older layout":     {strings.Replace(mark(published), `"products":[`+"\n", `"products":[`, 1), want},
		"not catalog.json": {"garbage\n", want},
		"empty":            {"", want},
		"truncated":        {mark(published)[:strings.Index(published, "\n")+20], want},
	} {
		var b bytes.Buffer
		if err := after.Update(&b, strings.NewReader(tc.prev), prevKeys); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b.String() != tc.want {
			t.Errorf("%s: catalog.json is not what was expected:\n%.300s", name, b.String())
		}
		if !json.Valid(b.Bytes()) {
			t.Errorf("%s: catalog.json is not JSON", name)
		}
	}
}
