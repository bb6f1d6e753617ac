package api

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/synthetic"
)

// TestBuilderDocument checks api/v1/builder.json against its schema and the example catalog.
func TestBuilderDocument(t *testing.T) {
	in := exampleInput(t)
	p := BuilderPage(in.Catalog)
	if p.Path != BuilderPath {
		t.Errorf("path %s", p.Path)
	}
	data, err := p.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := compileSchema(t, "#/$defs/builder").Validate(v); err != nil {
		t.Errorf("builder.json does not match the schema: %v", err)
	}
	var doc Builder
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Products) != len(in.Catalog.Products) || len(doc.Interfaces) != len(in.Catalog.Index.Interfaces) {
		t.Errorf("%d products, %d interfaces; want every one of the catalog", len(doc.Products), len(doc.Interfaces))
	}
	i := slices.IndexFunc(doc.Products, func(p BuilderProduct) bool { return p.ID == "acme/fhir" })
	if i < 0 {
		t.Fatal("no acme/fhir")
	}
	fhir, latest := doc.Products[i], in.Catalog.Products["acme/fhir"].Latest()
	if fhir.Versions[0] != latest.Version || len(fhir.Versions) != len(in.Catalog.Products["acme/fhir"].Builds) {
		t.Errorf("acme/fhir versions %v, want every build newest first (%s)", fhir.Versions, latest.Version)
	}
	var requires []string
	for _, d := range latest.Dependencies {
		if d.IsRequired() {
			requires = append(requires, d.Interface)
		}
	}
	if !slices.Equal(fhir.Requires, requires) || len(fhir.Exposes) != len(latest.Exposes) {
		t.Errorf("acme/fhir exposes %v requires %v; want its newest build's (requires %v)", fhir.Exposes, fhir.Requires, requires)
	}
	if bytes.Contains(data, []byte("\n")) {
		t.Errorf("builder.json is not compact")
	}
}

// BenchmarkBuilderDocument renders builder.json for a synthetic 10 000-product catalog and
// reports its size next to catalog.json's, plain and gzipped: what the environment builder
// downloads before any product is added, against what it would download using catalog.json.
func BenchmarkBuilderDocument(b *testing.B) {
	dir := b.TempDir()
	if err := synthetic.Write(dir, synthetic.Options{Products: 10000}); err != nil {
		b.Fatal(err)
	}
	c, ds := catalog.Check(os.DirFS(dir))
	if ds.HasErrors() {
		b.Fatalf("synthetic catalog: %d errors", ds.Errors())
	}
	var full bytes.Buffer
	for _, p := range Pages(Input{Catalog: c}) {
		if p.Path == CatalogPath {
			if err := p.Stream(&full); err != nil {
				b.Fatal(err)
			}
		}
	}
	var data []byte
	b.ResetTimer()
	for b.Loop() {
		d, err := BuilderPage(c).Bytes()
		if err != nil {
			b.Fatal(err)
		}
		data = d
	}
	b.ReportMetric(float64(len(data)), "builder-bytes")
	b.ReportMetric(float64(gzipped(b, data)), "builder-gzip-bytes")
	b.ReportMetric(float64(full.Len()), "catalog-bytes")
	b.ReportMetric(float64(gzipped(b, full.Bytes())), "catalog-gzip-bytes")
}

func gzipped(b *testing.B, data []byte) int {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(data); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Len()
}
