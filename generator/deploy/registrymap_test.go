package deploy

import (
	"os"
	"strings"
	"testing"

	"github.com/hspc/marketplace/catalog"
)

func TestMapImagesRewritesToThePrivateRegistry(t *testing.T) {
	c, ds := catalog.Load(os.DirFS("../.."))
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	p := c.Products["hspc/fhir-api"]
	if p == nil || len(p.Builds) < 2 {
		t.Fatal("the example catalog lacks hspc/fhir-api with two builds")
	}
	b0, b1 := p.Builds[0], p.Builds[1]
	ref, err := catalog.ParseImageRef(b0.Image)
	if err != nil {
		t.Fatal(err)
	}
	m := catalog.NewRegistryMap("registry.hospital.internal/hsp")
	m.Add(ref, "registry.hospital.internal/hsp/"+ref.Repository[strings.Index(ref.Repository, "/")+1:])

	mapped, missing := MapImages(c, m)
	got := mapped.Products["hspc/fhir-api"].Builds[0].Image
	want := "registry.hospital.internal/hsp/" + ref.Repository[strings.Index(ref.Repository, "/")+1:]
	if ref.Tag != "" {
		want += ":" + ref.Tag
	}
	want += "@" + ref.Digest
	if got != want {
		t.Fatalf("mapped image = %s, want %s", got, want)
	}
	if c.Products["hspc/fhir-api"].Builds[0].Image != b0.Image {
		t.Fatal("MapImages changed the catalog it was given")
	}
	if !strings.Contains(strings.Join(missing, " "), b1.Image) {
		t.Errorf("missing = %v, want it to list the unmapped %s", missing, b1.Image)
	}
	for _, format := range Formats {
		out, err := Render(format, mapped.Products["hspc/fhir-api"], &mapped.Products["hspc/fhir-api"].Builds[0], nil)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), "image: "+want) {
			t.Errorf("%s manifest does not pull %s:\n%s", format, want, out)
		}
	}
	if same, _ := MapImages(c, nil); same != c {
		t.Error("MapImages with no map returned another catalog")
	}
}
