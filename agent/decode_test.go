package agent

import (
	"bytes"
	"testing"
	"time"

	"github.com/hspc/marketplace/generator/api"
	"github.com/hspc/marketplace/generator/deploy"
)

// TestDecodedCatalogRendersTheSameManifests holds api.Decode to the catalog.json it reads: for
// every build of every example product, the manifests rendered from the decoded catalog are the
// bytes rendered from the repository, so the agent deploys exactly what `marketplace deploy` and
// the site show.
func TestDecodedCatalogRendersTheSameManifests(t *testing.T) {
	c := exampleCatalog(t)
	dec, err := api.Decode(catalogJSON(t, c, "0123456789abcdef0123456789abcdef01234567", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	if dec.Source == nil || dec.Source.Commit != "0123456789abcdef0123456789abcdef01234567" {
		t.Errorf("source: got %+v", dec.Source)
	}
	if got, want := len(dec.Catalog.Products), len(c.Products); got != want {
		t.Fatalf("products: got %d, want %d", got, want)
	}
	builds := 0
	for id, p := range c.Products {
		q := dec.Catalog.Products[id]
		if q == nil {
			t.Errorf("%s is missing from the decoded catalog", id)
			continue
		}
		if len(q.Builds) != len(p.Builds) {
			t.Errorf("%s: got %d builds, want %d", id, len(q.Builds), len(p.Builds))
			continue
		}
		for i := range p.Builds {
			b := &p.Builds[i]
			var qb = q.Builds[0]
			for j := range q.Builds {
				if q.Builds[j].Version == b.Version {
					qb = q.Builds[j]
				}
			}
			for _, format := range deploy.Formats {
				want, err := deploy.Render(format, p, b, nil)
				if err != nil {
					t.Fatalf("%s %s %s: %v", id, b.Version, format, err)
				}
				got, err := deploy.Render(format, q, &qb, nil)
				if err != nil {
					t.Fatalf("%s %s %s from the decoded catalog: %v", id, b.Version, format, err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s %s %s: the decoded catalog renders other manifests", id, b.Version, format)
				}
			}
			builds++
		}
	}
	if builds < 20 {
		t.Errorf("compared %d builds; the example catalog has more", builds)
	}
}
